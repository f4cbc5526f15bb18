"""Fewer iterations for the same equilibrium: the effect of a residual tolerance and of warm starts.

    python benchmarks/iterations.py --data-dir ../shared/data/mnist

For each task, three trainings that differ only in how the free phase ends and starts:
  fixed      the paper's fixed step counts (n_free steps from s = 0);
  tol        stop a phase once max|ds| < tol (at most n_free steps);
  tol+warm   the same, each example's free phase starting at its previous free equilibrium.
Prints, per run: free+nudged iterations per epoch, training seconds per epoch, and the test error of every epoch.
"""

from __future__ import annotations

import argparse

import numpy as np

from neurosim.config import make_config
from neurosim.train import train

VARIANTS = {"fixed": dict(), "tol": dict(tol=1e-3), "tol+warm": dict(tol=1e-3, persistent=True)}


def tasks(data_dir):
    yield "digits, small-world 64-64-64-10, n_free 100, 30 epochs", dict(epochs=30)
    if data_dir:
        yield "MNIST 5,000 / 2,000, small-world 784-100-100-100-10, n_free 500, 5 epochs", dict(
            dataset="mnist", data_dir=data_dir, n_train=5000, n_test=2000, sizes=(784, 100, 100, 100, 10),
            n_free=500, lr=(0.02,), epochs=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", help="MNIST directory (the MNIST task is skipped without it)")
    args = parser.parse_args()
    print("| task | variant | iterations / epoch | s / epoch (train) | test error by epoch (last) |")
    print("|---|---|---|---|---|")
    for task, settings in tasks(args.data_dir):
        for variant, extra in VARIANTS.items():
            run = train(make_config(**settings, **extra), progress=False)
            h = run.history
            errors = ", ".join(f"{100 * e:.1f}" for e in h["test_error"])
            print(f"| {task} | {variant} | {np.mean(h['iterations']):,.0f} | {np.mean(h['train_seconds']):.1f} | "
                  f"{errors} ({100 * h['test_error'][-1]:.2f} %) |", flush=True)


if __name__ == "__main__":
    main()
