#!/bin/sh
# The bit-depth study of docs/hardware.md and docs/rules.md: MNIST, 784-128-128-10, 10,000 training and 2,000
# test examples, 3 epochs, seeds 0 and 1, EqProp on three topologies and the baselines on the layered ones.
# About 1 h 15 min on 2 CPU cores. MNIST_DIR: the directory of the four IDX files.
set -e
MNIST_DIR=${MNIST_DIR:-../shared/data/mnist}
neurosim bitdepth --dataset mnist --data-dir "$MNIST_DIR" --n-train 10000 --n-test 2000 \
    --sizes 784-128-128-10 --epochs 3 --bits 2,3,4,6,8,10,12,0 --rules eqprop,bp,fa,dfa --seeds 0,1 \
    -o runs/bitdepth-mnist
python experiments/bitdepth/tables.py runs/bitdepth-mnist
