"""Fewer iterations for the same equilibrium: the effect of a residual tolerance and of warm starts.

    python benchmarks/iterations.py --data-dir ../shared/data/mnist

For each small-world task, three trainings that differ only in how the free phase ends and starts:
  fixed      the paper's fixed step counts (n_free steps from s = 0);
  tol        stop a phase once max|ds| < tol (at most n_free steps);
  tol+warm   the same, each example's free phase starting at its previous free equilibrium.
For the layered task (no intralayer connections), the Euler engine against the layer-wise fixed point:
  fixed, tol as above; fixedpoint+tol: exact layer-wise sweeps (at most 100 free / 8 nudged), stopped at tol.
Prints, per run: free+nudged iterations (sweeps for fixedpoint) per epoch, training seconds per epoch, and the
test error of every epoch. ``--tasks`` picks tasks by number (default all).
"""

from __future__ import annotations

import argparse

import numpy as np

from neurosim.config import make_config
from neurosim.training import train

VARIANTS = {"fixed": dict(), "tol": dict(tol=1e-3), "tol+warm": dict(tol=1e-3, persistent=True)}
ENGINES = {"fixed": dict(), "tol": dict(tol=1e-3), "fixedpoint+tol": dict(engine="fixedpoint", n_free=100, tol=1e-3)}


def tasks(data_dir):
    """(title, settings, variants) of every task; the MNIST tasks only with a data directory."""
    yield "digits, small-world 64-64-64-10, n_free 100, 30 epochs", dict(epochs=30), VARIANTS
    if data_dir:
        mnist = dict(dataset="mnist", data_dir=data_dir, n_train=5000, n_test=2000, n_free=500, epochs=5)
        yield "MNIST 5,000 / 2,000, small-world 784-100-100-100-10, n_free 500, 5 epochs", dict(
            mnist, sizes=(784, 100, 100, 100, 10), lr=(0.02,)), VARIANTS
        yield "MNIST 5,000 / 2,000, layered 784-100-100-100-10, per-layer rates, n_free 500, 5 epochs", dict(
            mnist, topology="layered", sizes=(784, 100, 100, 100, 10), lr=(0.128, 0.032, 0.008, 0.002)), ENGINES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", help="MNIST directory (the MNIST task is skipped without it)")
    parser.add_argument("--tasks", nargs="+", type=int, help="task numbers to run, from 1")
    args = parser.parse_args()
    print("| task | variant | iterations / epoch | s / epoch (train) | test error by epoch (last) |")
    print("|---|---|---|---|---|")
    for number, (task, settings, variants) in enumerate(tasks(args.data_dir), start=1):
        if args.tasks and number not in args.tasks:
            continue
        for variant, extra in variants.items():
            run = train(make_config(**{**settings, **extra}), progress=False)
            h = run.history
            errors = ", ".join(f"{100 * e:.1f}" for e in h["test_error"])
            print(f"| {task} | {variant} | {np.mean(h['iterations']):,.0f} | {np.mean(h['train_seconds']):.1f} | "
                  f"{errors} ({100 * h['test_error'][-1]:.2f} %) |", flush=True)


if __name__ == "__main__":
    main()
