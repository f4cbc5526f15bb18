"""Train the logged runs of the code behind the paper's figures, and the ablation that says which of its
differences from the paper's text matter; print each as a markdown table.

    python experiments/paper/reference/run.py epoch --data-dir /path/to/mnist            # 3 x ~25 min, 2 cores
    python experiments/paper/reference/run.py ablation --data-dir /path/to/mnist --seeds 0 1
    python experiments/paper/reference/run.py epoch --data-dir /path/to/mnist --epochs 4 --fast    # Figs 2-3
    python experiments/paper/reference/run.py replaced --data-dir /path/to/mnist --fast            # Fig 4
    python experiments/paper/reference/run.py seeds --data-dir /path/to/mnist --fast --seeds $(seq 0 14)

``--fast`` trains with the layer-wise fixed point (``engine = "fixedpoint"``, ``n_free = 40``: 40 exact layer
sweeps instead of 500 Euler steps in the free phase; the nudge's 8 steps unchanged), 4-5 min an epoch instead of
25-45 (docs/performance.md).

Every run is a neurosim run file under --out (default runs/reference), trained by neurosim.sweep.run_point: a
complete file is kept, an interrupted one resumes from its last epoch, so the same command continues a stopped
study. ``epoch --epochs 5`` trains on (the files hold every epoch). Runs go one after another: two BLAS jobs on
2 cores slow each other several-fold.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from neurosim.config import load_config, make_config
from neurosim.store import load_run
from neurosim.sweep import is_complete, run_point, summary
from neurosim.training import train

HERE = Path(__file__).resolve().parent

#: The reference implementation's logged errors (train, test) after each epoch of 60,000 examples, per network.
LOGGED = {
    "small-world": {1: (22.8, 12.4), 2: (11.5, 11.2), 3: (9.6, 8.2), 5: (7.6, 6.5), 10: (5.4, 5.2)},
    "layered-per-layer": {1: (23.3, 11.3)},
    "layered-one-rate": {1: (36.4, 19.8)},
}

#: Ablation rows: (name, base configuration, changes from it). One difference from the reference at a time, and
#: the paper's text with all of them.
TEXT_TOPOLOGY = {"intralayer": True, "rewire_n": None, "rewire_p": 0.08, "intra_init": 0.05}
ABLATION = [
    ("reference", "small-world", {}),
    ("weak nudge", "small-world", {"nudge": "weak"}),
    ("beta always +1", "small-world", {"random_sign": False}),
    ("paper-text topology (intralayer, p = .08, skips U[-.05, .05])", "small-world", TEXT_TOPOLOGY),
    ("no persistent states", "small-world", {"persistent": False}),
    ("paper's text: all four", "small-world",
     {"nudge": "weak", "random_sign": False, "persistent": False, **TEXT_TOPOLOGY}),
    ("per-layer rates, reference (biases at rate 1)", "layered-per-layer", {}),
    ("per-layer rates, biases at their layer's rate", "layered-per-layer", {"bias_lr": None}),
]


#: The fast setting (``--fast``): the layer-wise fixed point's 40 free sweeps instead of 500 Euler steps.
FAST = {"engine": "fixedpoint", "n_free": 40}

#: Figure 4's replaced connections at 500 wide: the paper's axis runs 0-100,000 (of 897,000 adjacent-layer ones).
REPLACED = (0, 5000, 10000, 25000, 50000, 75000, 100000)


def values(network: str, data_dir: str, **changes) -> dict:
    """The configuration of a reference network (its TOML here) with ``changes``, as plain values."""
    config = load_config(HERE / f"{network}.toml", data_dir=data_dir).to_dict()
    config.update(changes)
    return config


def run_dir(args) -> Path:
    """Where a study's run files go: fast and Euler runs apart, and one folder per seed but 0."""
    out = args.out / "fast" if args.fast else args.out
    return out if args.seed == 0 else out / f"seed{args.seed}"


def train_one(name: str, config: dict, path: Path) -> dict:
    """Train ``config`` into ``path`` (:func:`neurosim.sweep.run_point`: a complete file is kept, an interrupted one
    resumed), or, where ``path`` holds a complete run of fewer epochs than ``config`` asks for, train that run on
    to them (as ``neurosim train --resume PATH --epochs N`` does; its other settings are the file's). Returns the
    run's summary."""
    run = load_run(path) if path.exists() and is_complete(path) else None
    more = run is not None and run.epochs_done < config["epochs"]
    started = time.perf_counter()
    print(f"{time.strftime('%H:%M:%S')} {name}: {path}"
          + (f", epochs {run.epochs_done + 1}-{config['epochs']}" if more else ""), flush=True)
    if more:
        result = summary(train(make_config(**{**run.config, "epochs": config["epochs"]}), out=path, run=run,
                               progress=False))
    else:
        result = run_point(config, str(path))
    print(f"{time.strftime('%H:%M:%S')}   done in {time.perf_counter() - started:.0f} s: test error "
          f"{100 * result['test_error']:.2f} %, {int(result['silent_outputs'])} silent outputs", flush=True)
    return result


def finished_summary(path: Path) -> dict | None:
    """The summary of the complete run at ``path``, or None where there is none (``--table-only``: train nothing)."""
    run = load_run(path) if path.exists() else None
    return summary(run) if run is not None and run.complete else None


def epoch_table(args) -> None:
    rows = []
    for network in args.networks:
        path = run_dir(args) / f"{network}.h5"
        train_one(network, values(network, args.data_dir, epochs=args.epochs, seed=args.seed,
                                  **(FAST if args.fast else {})), path)
        run = load_run(path)
        for epoch, train_err, test_err, silent, seconds in zip(
            run.history["epoch"], run.history["train_error"], run.history["test_error"],
            run.history["silent_outputs"], run.history["train_seconds"],
        ):
            logged = LOGGED[network].get(epoch)
            ref = f"{logged[0]:.1f} / {logged[1]:.1f}" if logged else "—"
            rows.append(f"| {network} | {epoch} | {100 * train_err:.1f} / {100 * test_err:.1f} | {ref} | {int(silent)} "
                        f"| {seconds / 60:.1f} |")
    print("\n| network | epoch | neurosim: train / test error (%) | reference code's log | silent outputs "
          "| training minutes |\n|---|---|---|---|---|---|")
    print("\n".join(rows))


def replaced_table(args) -> None:
    """Figure 4: the small-world network's errors after one epoch against the number of replaced connections."""
    rows = []
    for n in args.counts:
        path = run_dir(args) / "replaced" / f"replaced-{n}.h5"
        changes = {"rewire_n": n, "epochs": 1, "seed": args.seed, "n_test": args.n_test, **(FAST if args.fast else {})}
        result = train_one(f"{n} replaced", values("small-world", args.data_dir, **changes), path)
        rows.append(f"| {n:,} | {100 * result['train_error']:.1f} | {100 * result['test_error']:.1f} "
                    f"| {int(result['silent_outputs'])} |")
    print("\n| replaced connections | training error after one epoch (%) | test error (%) | silent outputs |"
          "\n|---|---|---|---|")
    print("\n".join(rows))


def ablation_table(args) -> None:
    rows = []
    for number, (name, network, changes) in enumerate(ABLATION, 1):
        if args.rows and number not in args.rows:
            continue
        cells = []
        for seed in args.seeds:
            config = values(network, args.data_dir, n_train=args.n_train, n_test=args.n_test, epochs=1,
                            seed=seed, **changes)
            slug = name.split(" (")[0].replace(" ", "-").replace(":", "").replace("'", "").replace("+", "plus")
            path = args.out / "ablation" / f"{slug}-seed{seed}.h5"
            if args.table_only:
                result = finished_summary(path)
                if result is None:
                    cells.append("not run")
                    continue
            else:
                result = train_one(f"{name}, seed {seed}", config, path)
            cells.append(f"{100 * result['train_error']:.1f} / {100 * result['test_error']:.1f} "
                         f"/ {int(result['silent_outputs'])}")
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    header = " | ".join(f"seed {s}: train / test (%) / silent" for s in args.seeds)
    print(f"\n| {args.n_train} examples, one epoch | {header} |\n|---" + "|---" * len(args.seeds) + "|")
    print("\n".join(rows))


#: How close to the reference's logged error (percentage points) counts as reproducing it (issue 18).
WITHIN = 3.0


def seed_spread(errors, logged: float, points: float = WITHIN) -> dict:
    """How a first epoch's errors (%) over seeds sit around the reference's one logged value (%): median, quartiles
    (numpy's linear percentiles), range, how many seeds lie within ``points`` of ``logged`` and how many below it."""
    errors = np.asarray(errors, dtype=float)
    if errors.size == 0:
        raise ValueError("no finished runs to summarise")
    q1, median, q3 = np.percentile(errors, [25, 50, 75])
    return {"n": int(errors.size), "min": float(errors.min()), "q1": float(q1), "median": float(median),
            "q3": float(q3), "max": float(errors.max()),
            "within": int(np.sum(np.abs(errors - logged) <= points)), "below": int(np.sum(errors < logged))}


def seeds_table(args) -> None:
    """One network's first epoch at many seeds, beside the reference's logged seed: is the log inside the spread?"""
    out = (args.out / "fast" if args.fast else args.out) / "seeds"
    tag = args.network + ("-fixed-sign" if args.fixed_sign else "")
    rows, errors = [], {"train": [], "test": []}
    for seed in args.seeds:
        path = out / f"{tag}-seed{seed}.h5"
        if args.table_only:
            result = finished_summary(path)
            if result is None:
                rows.append(f"| {seed} | not run | | |")
                continue
        else:
            changes = {"epochs": 1, "seed": seed, **(FAST if args.fast else {}),
                       **({"random_sign": False} if args.fixed_sign else {})}
            result = train_one(f"{tag}, seed {seed}", values(args.network, args.data_dir, **changes), path)
        errors["train"].append(100 * result["train_error"])
        errors["test"].append(100 * result["test_error"])
        rows.append(f"| {seed} | {errors['train'][-1]:.1f} | {errors['test'][-1]:.1f} "
                    f"| {int(result['silent_outputs'])} |")
    print(f"\n| {tag}: seed | training error (%) | test error (%) | silent outputs |\n|---|---|---|---|")
    print("\n".join(rows))
    for kind, logged in zip(("train", "test"), LOGGED[args.network][1]):
        if errors[kind]:
            s = seed_spread(errors[kind], logged)
            print(f"{kind}: {s['n']} seeds, {s['min']:.1f}-{s['max']:.1f} %, median {s['median']:.1f} %, quartiles "
                  f"{s['q1']:.1f}-{s['q3']:.1f} %; the log's {logged} %: {s['within']} within {WITHIN:g} points, "
                  f"{s['below']} below it")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="study", required=True)
    for name in ("epoch", "replaced", "ablation", "seeds"):
        p = sub.add_parser(name)
        p.add_argument("--data-dir", required=True, help="directory with the four MNIST IDX files")
        p.add_argument("--out", type=Path, default=Path("runs/reference"), help="where the run files go")
    for name in ("epoch", "replaced", "seeds"):
        sub.choices[name].add_argument("--fast", action="store_true", help="the layer-wise fixed point, 40 sweeps")
    for name in ("epoch", "replaced"):
        sub.choices[name].add_argument("--seed", type=int, default=0)
    sub.choices["replaced"].add_argument("--counts", type=int, nargs="+", default=list(REPLACED),
                                         help=f"replaced connections [{' '.join(map(str, REPLACED))}]")
    sub.choices["replaced"].add_argument("--n-test", type=int, default=10000)
    sub.choices["epoch"].add_argument("--networks", nargs="+", default=list(LOGGED), choices=list(LOGGED))
    sub.choices["epoch"].add_argument("--epochs", type=int, default=1, help="epochs of 60,000 examples [1]")
    sub.choices["ablation"].add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    sub.choices["ablation"].add_argument("--n-train", type=int, default=10000)
    sub.choices["ablation"].add_argument("--n-test", type=int, default=2000)
    sub.choices["ablation"].add_argument("--rows", type=int, nargs="+", help="train only these rows (1 = first)")
    sub.choices["ablation"].add_argument("--table-only", action="store_true",
                                         help="tabulate the runs already complete, train none")
    sub.choices["seeds"].add_argument("--network", default="layered-one-rate", choices=list(LOGGED))
    sub.choices["seeds"].add_argument("--seeds", type=int, nargs="+", default=list(range(5)))
    sub.choices["seeds"].add_argument("--fixed-sign", action="store_true", help="beta always +1 (--no-random-sign)")
    sub.choices["seeds"].add_argument("--table-only", action="store_true",
                                      help="tabulate the runs already complete, train none")
    args = parser.parse_args(argv)
    {"epoch": epoch_table, "replaced": replaced_table, "ablation": ablation_table,
     "seeds": seeds_table}[args.study](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
