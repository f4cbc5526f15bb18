"""Warm starts and stopping on a residual, on the published small-world network with the fast setting, alone and
together: one second epoch four ways from the same first epoch, side by side in one run.

    python benchmarks/warm_starts.py --data-dir ../shared/data/mnist --out-dir runs/warm    # ~25 min on 2 cores

In a first epoch warm starts change nothing (every example is seen once, so its start is zero either way;
docs/reproduction.md): their effect needs a second epoch. The first epoch is trained once (``--sweeps`` fixed-point
sweeps, the reference configuration's warm starts; kept in ``OUT_DIR/epoch1.h5`` and reused when it is there);
then each variant continues a copy of it for epoch 2:

- ``warm``: each example's free phase starts at its previous free equilibrium (train and test), ``--sweeps``;
- ``cold``: every free phase starts at zero (train and test), ``--sweeps``;
- ``warm + tol`` / ``cold + tol``: the same, each phase stopped once the batch's largest change in a sweep falls
  below ``--tol`` (checked every 5 sweeps, at most ``--sweeps``).

Printed per variant: the mean free-phase sweeps per batch, the training seconds of epoch 2, the running training
error of epoch 2, the test error after it (its free phases with the same start and stop), the same network's
test error with every test phase started at zero (for the warm variants: what the warm test starts change), and
the median and largest free residual per batch. Variants run one after another: two BLAS jobs on 2 cores slow
each other.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from neurosim.build import network_and_controller
from neurosim.config import load_config, make_config
from neurosim.data import load_dataset
from neurosim.store import load_run
from neurosim.training import evaluate, train

REFERENCE = Path(__file__).resolve().parent.parent / "experiments" / "paper" / "reference"


def variant(first: Path, data, warm: bool, tol: float) -> dict:
    """Epoch 2 of a copy of the run in ``first``: warm or cold starts, stopped at ``tol`` (0: all sweeps)."""
    run = load_run(first)
    engine = {**run.config["engine"], "tol": tol}
    config = make_config(**{**run.config, "epochs": 2, "persistent": warm, "engine": engine})
    run = train(config, run=run, data=data, progress=False)
    batches = len(run.batches["free_steps"]) // 2  # the batches of epoch 2 follow those of epoch 1
    residual = np.asarray(run.batches["free_residual"][batches:])
    h = run.history
    net, controller = network_and_controller(config, run)
    from_zero = evaluate(controller, net, data.x_test.astype(config.dtype), data.y_test).error
    return dict(sweeps=float(np.mean(run.batches["free_steps"][batches:])), seconds=h["train_seconds"][1],
                train_error=h["train_error"][1], test_error=h["test_error"][1], test_seconds=h["test_seconds"][1],
                test_from_zero=from_zero, residual_median=float(np.median(residual)),
                residual_max=float(residual.max()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True, help="directory with the MNIST IDX files")
    parser.add_argument("--out-dir", required=True, help="where the first epoch's run file is kept")
    parser.add_argument("--network", default="small-world", choices=["small-world", "layered-per-layer"])
    parser.add_argument("--sweeps", type=int, default=40, help="free-phase sweeps (the most, with a tolerance)")
    parser.add_argument("--tol", type=float, default=1e-2, help="the tolerance of the '+ tol' variants")
    parser.add_argument("--n-train", type=int, default=60_000)
    parser.add_argument("--n-test", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not args.tol > 0:
        parser.error(f"--tol {args.tol}: give a tolerance > 0 (the variants without one run all sweeps)")

    data = load_dataset("mnist", args.data_dir, args.n_train, args.n_test)
    first = Path(args.out_dir) / f"{args.network}-epoch1.h5"
    if first.exists():
        print(f"{time.strftime('%H:%M:%S')} epoch 1 from {first}", flush=True)
    else:
        first.parent.mkdir(parents=True, exist_ok=True)
        print(f"{time.strftime('%H:%M:%S')} epoch 1 -> {first} ...", flush=True)
        config = load_config(REFERENCE / f"{args.network}.toml", data_dir=args.data_dir, n_train=args.n_train,
                             n_test=args.n_test, epochs=1, seed=args.seed, engine="fixedpoint", n_free=args.sweeps)
        train(config, out=first, data=data, progress=False)
    results = {}
    for warm in (True, False):
        for tol in (0.0, args.tol):
            name = ("warm" if warm else "cold") + (f" + tol {tol:g}" if tol else "")
            print(f"{time.strftime('%H:%M:%S')} epoch 2, {name} ...", flush=True)
            results[name] = r = variant(first, data, warm, tol)
            print(f"  {r['sweeps']:.1f} sweeps a batch, {r['seconds']:.0f} s; train / test error "
                  f"{100 * r['train_error']:.1f} / {100 * r['test_error']:.1f} %", flush=True)
    print(f"\n{args.network}, fixed point, at most {args.sweeps} sweeps, epoch 2 of {args.n_train} (test on "
          f"{args.n_test}), seed {args.seed}")
    print("| epoch 2 | free sweeps per batch (mean) | training s | train error | test error | test s | "
          "test error, the same network from zero starts | free residual per batch: median / max |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['sweeps']:.1f} | {r['seconds']:.0f} | {100 * r['train_error']:.1f} % | "
              f"{100 * r['test_error']:.1f} % | {r['test_seconds']:.1f} | {100 * r['test_from_zero']:.1f} % | "
              f"{r['residual_median']:.2g} / {r['residual_max']:.2g} |")


if __name__ == "__main__":
    main()
