#!/usr/bin/env bash
# Figures 2 and 3 at a scale that runs on 2 CPU cores in under an hour: the three Table 1 networks with hidden
# layers of 128 instead of 500 (784-128-128-128-10), 20,000 training and 10,000 test examples, 6 epochs; every
# other setting is Table 1's. Usage: fig2-small.sh MNIST_DIR [OUT_DIR] [EPOCHS]
set -euo pipefail
mnist=${1:?usage: fig2-small.sh MNIST_DIR [OUT_DIR] [EPOCHS]}
out=${2:-runs/fig2-small}
epochs=${3:-6}
here=$(dirname "$0")
mkdir -p "$out"
for net in layered-one-rate layered-per-layer small-world; do
    OMP_NUM_THREADS=1 neurosim train --config "$here/$net.toml" --data-dir "$mnist" --sizes 784-128-128-128-10 \
        --n-train 20000 --epochs "$epochs" -o "$out/$net.h5" --quiet &
done
wait
neurosim report "$out/layered-one-rate.h5" "$out/layered-per-layer.h5" "$out/small-world.h5" -o "$out/report"
