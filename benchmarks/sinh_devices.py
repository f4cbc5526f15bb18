"""Sinh devices on the paper's network: each row's drive as two products against the sum over every device.

    python benchmarks/sinh_devices.py --data-dir ../shared/data/mnist [--batch 20] [--sweeps 5]

The published small-world 784-500-500-500-10 (89,700 connections rewired, none within a layer) at its
initialisation, behind op-amps of gain 10^4 with devices of sinh I-V (V0 = 0.25 V, V_read = 1 V), inputs the first
MNIST test images (uniform random pixels without --data-dir). Printed side by side, measured in one run: seconds
of one evaluation of every row's drive (the ODE engine's right-hand side; its matrices built beforehand) and of a
free phase of a few fixed-point sweeps (building the matrices included), by each summation
(:mod:`neurosim.crossbars.sinh`), with the largest difference between their results and the ratio.
"""

from __future__ import annotations

import argparse
import time
from unittest import mock

import numpy as np

from neurosim import topology
from neurosim.circuit import Circuit
from neurosim.crossbars import OpAmpCrossbar
from neurosim.crossbars.sinh import DeviceCoupling, SummedRows
from neurosim.data import load_dataset
from neurosim.engines import FixedPoint, Phase
from neurosim.network import from_graph


def timed(call, repeats: int = 1):
    started = time.perf_counter()
    for _ in range(repeats):
        out = call()
    return (time.perf_counter() - started) / repeats, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", help="MNIST directory (random inputs without it)")
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--sweeps", type=int, default=5, help="fixed-point sweeps timed")
    args = parser.parse_args()

    sizes = (784, 500, 500, 500, 10)
    net = from_graph(topology.small_world(sizes, n=89_700, intralayer=False, seed=0), seed=0, dtype=np.dtype("float32"))
    if args.data_dir:
        x = load_dataset("mnist", args.data_dir, n_train=1, n_test=args.batch).x_test.astype(np.float32)
    else:
        x = np.random.default_rng(0).uniform(size=(args.batch, sizes[0])).astype(np.float32)
    circuit = Circuit(crossbar=OpAmpCrossbar(gain=1e4, sinh_v0=0.25, v_read=1.0))
    coupling = DeviceCoupling(net, x, circuit, circuit.crossbar, -1.0)
    r = np.random.default_rng(1).uniform(size=(args.batch, net.n_free))
    every = np.arange(net.n_free)
    products, sums = coupling.rows(every), SummedRows(coupling, every)
    split_s, split = timed(lambda: products.given(r)(r), 3)
    summed_s, summed = timed(lambda: sums.given(r)(r))
    print(f"small-world {'-'.join(map(str, sizes))}, {len(coupling.devices.g):,} devices, batch {args.batch}, "
          f"op-amp A = 1e4, sinh V0 = 0.25 V, V_read = 1 V\n")
    print("| what | two products, s | sum over devices, s | sum / products | max abs difference, V |")
    print("|---|---|---|---|---|")
    print(f"| every row's drive, one evaluation | {split_s:.4f} | {summed_s:.3f} | {summed_s / split_s:.0f} | "
          f"{np.abs(split - summed).max():.1e} |", flush=True)
    engine = FixedPoint(circuit=circuit, n_free=args.sweeps)
    s0 = np.zeros((args.batch, net.n_free), dtype=np.float32)
    fast_s, fast = timed(lambda: engine.relax(net, x, s0, Phase()))
    with mock.patch("neurosim.crossbars.sinh.SplitRows", SummedRows):
        slow_s, slow = timed(lambda: engine.relax(net, x, s0, Phase()))
    print(f"| {args.sweeps} fixed-point sweeps of the free phase | {fast_s:.2f} | {slow_s:.1f} | "
          f"{slow_s / fast_s:.0f} | {np.abs(fast.state - slow.state).max():.1e} |")


if __name__ == "__main__":
    main()
