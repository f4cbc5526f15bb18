"""The paper's three networks (Table 1) on MNIST: seconds per epoch and errors.

    python benchmarks/paper_mnist.py --data-dir ../shared/data/mnist --n-train 5000 --epochs 1

Networks (784-500-500-500-10, eps 0.5, beta 1, N_free 500, N_weakly-clamped 8, batch 20):
  layered, per-layer rates .128/.032/.008/.002 | layered, one rate .02 | small-world p = 8 %, one rate .02.
Each run is written to --out-dir (one HDF5 run file per network) for `neurosim info` and later reports.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from neurosim.config import make_config
from neurosim.metrics import spread, total_correction
from neurosim.training import train

TABLE_1 = {
    "layered-per-layer-rates": dict(topology="layered", lr=(0.128, 0.032, 0.008, 0.002)),
    "layered-one-rate": dict(topology="layered", lr=(0.02,)),
    "small-world": dict(topology="small-world", rewire_p=0.08, lr=(0.02,)),
}
COMMON = dict(eps=0.5, beta=1.0, n_free=500, n_nudged=8, batch_size=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True, help="directory with the MNIST IDX files")
    parser.add_argument("--n-train", type=int, default=5000)
    parser.add_argument("--n-test", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--networks", nargs="+", default=list(TABLE_1), choices=list(TABLE_1))
    parser.add_argument("--sizes", default="784-500-500-500-10", help="layer sizes (Table 1: 784-500-500-500-10)")
    parser.add_argument("--out-dir", default="runs/paper_mnist")
    args = parser.parse_args()

    rows = []
    for name in args.networks:
        config = make_config(
            dataset="mnist",
            data_dir=args.data_dir,
            n_train=args.n_train,
            n_test=args.n_test,
            epochs=args.epochs,
            dtype=args.dtype,
            device=args.device,
            seed=args.seed,
            sizes=tuple(int(v) for v in args.sizes.split("-")),
            **COMMON,
            **TABLE_1[name],
        )
        started = time.perf_counter()
        run = train(config, out=Path(args.out_dir) / f"{name}-{args.sizes}.h5")
        wall = time.perf_counter() - started
        h = run.history
        rms = np.asarray(run.rate_rms)
        rows.append((name, run, wall, rms))
        print(
            f"{name}: {np.mean(h['train_seconds']):.1f} s/epoch training, {np.mean(h['test_seconds']):.1f} s test "
            f"evaluation, {wall:.1f} s in all; train error {100 * h['train_error'][-1]:.2f} %, test error "
            f"{100 * h['test_error'][-1]:.2f} %; max free residual {max(h['free_residual_max']):.2e}",
            flush=True,
        )
    print()
    print(f"MNIST, {args.sizes}, {args.n_train} training / {args.n_test} test examples, {args.epochs} epoch(s), "
          f"{args.dtype}, {args.device}")
    print("| network | s/epoch (train) | s (test eval) | train error | test error | free residual (max) |"
          " RMS dW per pair, input side first (eq 20, mean) | spread (eq 23) | L | C |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, run, wall, rms in rows:
        h, t = run.history, run.topology
        per_pair = ", ".join(f"{v:.1e}" for v in np.nanmean(rms, axis=0))
        print(
            f"| {name} | {np.mean(h['train_seconds']):.0f} | {np.mean(h['test_seconds']):.0f} | "
            f"{100 * h['train_error'][-1]:.2f} % | {100 * h['test_error'][-1]:.2f} % | "
            f"{max(h['free_residual_max']):.1e} | {per_pair} | {spread(total_correction(rms)):.1f} | "
            f"{t['path_length']:.3f} | {t['clustering']:.3f} |"
        )


if __name__ == "__main__":
    main()
