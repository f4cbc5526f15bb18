#!/bin/sh
# The bit-depth study on the training that works (docs/hardware.md, "The bit-depth study"): MNIST, all 60,000
# training and 10,000 test examples, 784-128-128-128-10 (study.toml), EPOCHS epochs, three topologies:
#   1. weights: bits 2, 3, 4, 6, 8, 10, 12 and ideal, nearest and stochastic rounding, SEEDS;
#   2. ranges: one weight range per crossbar (per-array.toml) against one range for the chip sized the same way
#      (w_max 0.5, the largest array's), 4 and 6 bits, both roundings, seed 0 (the main study has w_max 1);
#   3. readout: the ADC's bits 2, 4 and 6 at 10-bit weights with stochastic rounding, seed 0.
# Each part is a resumable study directory under OUT: the same command goes on after a stop. About 1 h 25 min on
# 2 CPU cores. MNIST_DIR: the directory of the four IDX files. Tables: experiments/bitdepth/tables.py.
set -e
MNIST_DIR=${MNIST_DIR:-../shared/data/mnist}
OUT=${OUT:-runs/bitdepth-study}
SEEDS=${SEEDS:-0,1}
EPOCHS=${EPOCHS:-2}
HERE=$(dirname "$0")
study() {
    neurosim bitdepth --config "$HERE/study.toml" --data-dir "$MNIST_DIR" --n-test 10000 --epochs "$EPOCHS" \
        --rewire-p 0.1 --per-layer-lr .128,.032,.008,.002 --quiet "$@"
}
study --bits 2,3,4,6,8,10,12,0 --roundings nearest,stochastic --seeds "$SEEDS" -o "$OUT/weights"
study --bits 4,6 --roundings nearest,stochastic --seeds 0 --hardware "$HERE/per-array.toml" -o "$OUT/per-array"
study --bits 4,6 --roundings nearest,stochastic --seeds 0 --w-max 0.5 -o "$OUT/w-max-0.5"
for adc in 2 4 6; do
    study --bits 10 --roundings stochastic --seeds 0 --adc-bits "$adc" -o "$OUT/adc-$adc"
done
