#!/usr/bin/env bash
# Train with added skip connections, remove them after 4 of 8 epochs, train on; beside the same network that keeps
# them and the same network that never had them. Usage: skip-removal.sh MNIST_DIR [OUT_DIR]
set -euo pipefail
mnist=${1:?usage: skip-removal.sh MNIST_DIR [OUT_DIR]}
out=${2:-runs/skip-removal}
config=$(dirname "$0")/skip-removal.toml
mkdir -p "$out"
# the two runs share nothing but the data: run them side by side, one core each
OMP_NUM_THREADS=1 neurosim train --config "$config" --data-dir "$mnist" --rewire-p 0 -o "$out/never.h5" --quiet &
OMP_NUM_THREADS=1 neurosim train --config "$config" --data-dir "$mnist" --epochs 4 -o "$out/kept.h5" --quiet
# branch after epoch 4: one copy removes its skip connections, the other keeps them
OMP_NUM_THREADS=1 neurosim train --resume "$out/kept.h5" -o "$out/removed.h5" --remove-skip-after 4 --epochs 8 --quiet &
OMP_NUM_THREADS=1 neurosim train --resume "$out/kept.h5" --epochs 8 --quiet
wait
neurosim report "$out/never.h5" "$out/kept.h5" "$out/removed.h5" -o "$out/report"
