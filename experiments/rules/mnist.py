"""Every learning rule on MNIST, 784-500-10, the full 60,000 / 10,000 split (issue 41): test error per epoch and
seconds per epoch, for docs/rules.md's table beside the numbers the rules' papers report.

    python experiments/rules/mnist.py --data-dir ../shared/data/mnist                 # about 40 min on 2 cores
    python experiments/rules/mnist.py --data-dir ../shared/data/mnist --tables        # the table of finished runs
    python experiments/rules/mnist.py --data-dir ../shared/data/mnist --output-error squared    # the first table

Each rule is one run file under --out (a sweep grid of explicit rows: resumable, collected into sweep.csv).
Settings: batch 20, seed 0, float32, weights initialised as every neurosim run, for --epochs (10) unless said.
- bp, fa, dfa, bfa, bdfa, sg, csg (the feedforward net): one rate 0.1; their own learned parameters at the default
  rule_lr 0.01; the output error --output-error (matching, the hard sigmoid's matching loss under which no output
  unit dies, by default; squared: EqProp's cost, what the first table of docs/rules.md used).
- eqprop: the layered energy-based network of the same sizes (Scellier & Bengio 2017's one-hidden-layer network),
  the layer-wise fixed point (20 free sweeps, 4 nudged), per-layer rates 0.1 and 0.05 as that paper, a random sign
  of beta with beta 0.5 (the fixed point's weak nudge needs 1 - beta > 0).
- erbp: rate 0.003, the default neurons (0.1 s per example); s2m: rate 0.1, the default sampling (CD-1, p = 0.5,
  10 steps per prediction); both for --slow-epochs (1), their epochs taking 7-15 min here.
The rates of erbp and s2m are the best of three tried on 2,000 examples (erbp 3e-4, 1e-3, 3e-3; s2m 0.01, 0.03,
0.1); no other rate was tuned per rule.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from neurosim.atomic import write_text_atomically
from neurosim.config import make_config
from neurosim.store import load_run
from neurosim.sweep import Grid, collect, is_complete, trained_points

BASE = dict(dataset="mnist", sizes=[784, 500, 10], topology="layered", batch_size=20, seed=0, persistent=False,
            rate_every=50)
FEEDFORWARD = {"lr": [0.1]}  # and the default rule_lr, 0.01
#: rule -> the settings it trains with beside BASE.
RULES = {
    "eqprop": {"lr": [0.1, 0.05], "beta": 0.5, "random_sign": True, "nudge": "weak", "intralayer": False,
               "engine": {"name": "fixedpoint", "n_free": 20, "n_nudged": 4}},
    **{rule: FEEDFORWARD for rule in ("bp", "fa", "dfa", "bfa", "bdfa", "sg", "csg")},
    "erbp": {"lr": [0.003]},
    "s2m": {"lr": [0.1]},
}
#: The rules whose epochs take minutes here (--slow-epochs): the spiking and the sampling machines.
SLOW = ("erbp", "s2m")


def grid(base: dict, out: Path, rules, epochs: dict) -> Grid:
    """One explicit row per rule: its name, epochs and settings."""
    return Grid.of_rows(base, [(("rule", rule), ("epochs", epochs[rule]), *RULES[rule].items()) for rule in rules],
                        out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--slow-epochs", type=int, default=1, help=f"epochs of {', '.join(SLOW)}")
    parser.add_argument("--rules", default=",".join(RULES))
    parser.add_argument("--output-error", default="matching", help="of the rules on the feedforward net")
    parser.add_argument("--out", default="runs/rules-mnist")
    parser.add_argument("--tables", action="store_true", help="only the table of finished runs")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rules = args.rules.split(",")
    lines = ["| rule | epochs | train error % | test error % (best epoch) | s per epoch (train + test) |",
             "|---|---|---|---|---|"]
    epochs = {rule: args.slow_epochs if rule in SLOW else args.epochs for rule in rules}
    base = make_config(**BASE, data_dir=args.data_dir, output_error=args.output_error).to_dict()
    sweep = grid(base, out, rules, epochs)
    for _, rule, path in trained_points(sweep, rules, train=not args.tables):
        if is_complete(path):
            h = load_run(path).history
            test = 100 * np.asarray(h["test_error"])
            seconds = np.mean(np.asarray(h["train_seconds"]) + np.asarray(h["test_seconds"]))
            lines.append(f"| {rule} | {len(test)} | {100 * h['train_error'][-1]:.2f} | {test[-1]:.2f} "
                         f"({test.min():.2f}, epoch {int(np.argmin(test)) + 1}) | {seconds:.0f} |")
    collect(sweep)
    text = "\n".join(lines) + "\n"
    print(text)
    write_text_atomically(out / "rules.md", text, "table")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
