#!/bin/sh
# MNIST trained in situ on each crossbar (docs/spice.md, "Training on each crossbar"): the ODE engine simulates the
# circuit in both phases. 784-100-10 layered, weak nudge beta = 1, 10,000 training examples (one epoch), test on the
# first 2,000; ~1 s per batch of 20 on 2 cores, so ~9 min per circuit. Runs are resumable: a finished one is kept.
#   sh experiments/circuit/mnist_crossbars.sh [OUT_DIR] [CIRCUIT...]   (circuits: ideal passive passive-trim opamp2 opamp4)
set -e
out=${1:-runs/mnist-crossbar}; shift 2>/dev/null || true
circuits=${*:-ideal passive passive-trim opamp2 opamp4}
mkdir -p "$out"
for c in $circuits; do
  case $c in
    ideal) flags="--crossbar ideal" ;;
    passive) flags="--crossbar passive" ;;
    passive-trim) flags="--crossbar passive --gain-trim" ;;
    opamp2) flags="--crossbar opamp --opamp-gain 100" ;;
    opamp4) flags="--crossbar opamp --opamp-gain 10000" ;;
    *) echo "unknown circuit $c" >&2; exit 2 ;;
  esac
  [ -f "$out/$c.h5" ] && { echo "$c: kept $out/$c.h5"; continue; }
  echo "== $c ($flags)"
  neurosim train --dataset mnist --data-dir "${MNIST_DIR:-../shared/data/mnist}" --engine ode --topology layered \
    --sizes 784-100-10 --n-train 10000 --n-test 2000 --epochs 1 --lr 0.1,0.05 --t-max 60 --seed 0 $flags \
    --out "$out/$c.h5"
done
