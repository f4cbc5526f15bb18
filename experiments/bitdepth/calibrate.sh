#!/bin/sh
# Is the study's data size enough? The ideal network of each topology (study.toml) trained on the study's
# N_TRAIN examples and on all 60,000, for the same EPOCHS, tested on all 10,000 test examples.
# About 10 min on 2 CPU cores. MNIST_DIR: the directory of the four IDX files.
set -e
MNIST_DIR=${MNIST_DIR:-../shared/data/mnist}
N_TRAIN=${N_TRAIN:-20000}
EPOCHS=${EPOCHS:-3}
OUT=${OUT:-runs/bitdepth-calibrate}
HERE=$(dirname "$0")
mkdir -p "$OUT"
for n in "$N_TRAIN" 60000; do
    for topology in layered layered-per-layer small-world; do
        case $topology in
            layered) extra="--topology layered" ;;
            layered-per-layer) extra="--topology layered --lr .128,.032,.008,.002" ;;
            small-world) extra="--topology small-world --rewire-p 0.1" ;;
        esac
        neurosim train --config "$HERE/study.toml" --data-dir "$MNIST_DIR" --n-train "$n" --n-test 10000 \
            --epochs "$EPOCHS" $extra --quiet -o "$OUT/$topology-$n.h5" --overwrite
    done
done
