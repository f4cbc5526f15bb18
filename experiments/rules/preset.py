"""Every rule trained in situ on one device preset, beside the same run on ideal hardware (issue 41): which rule
keeps its error on a real device's pulse response.

    python experiments/rules/preset.py --data-dir ../shared/data/mnist [--preset ecram-tang2018]   # about 15 min

The bit-depth study's settings (experiments/bitdepth/run.sh: MNIST, the first 10,000 training and 2,000 test
examples, 3 epochs, 784-128-128-10, batch 20, seed 0, one rate 0.05), the layered topology, the rules on the
feedforward net under the default output error (matching; runs of the squared error before it are other points); erbp at its rate 0.003
and s2m at 0.1 on 784-128-10 (it needs three layers), as in experiments/rules/mnist.py. On the device, updates are
pulse trains with stochastic pulse counts (nearest rounding drops every update below half a step). Each point one
run file under --out (a sweep grid of explicit rows: resumable, collected into sweep.csv); a markdown table on
stdout and in --out/preset.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from neurosim.atomic import write_text_atomically
from neurosim.config import make_config
from neurosim.store import load_run
from neurosim.sweep import Grid, collect, is_complete, trained_points

BASE = dict(dataset="mnist", n_train=10_000, n_test=2_000, sizes=[784, 128, 128, 10], topology="layered",
            epochs=3, batch_size=20, seed=0, lr=[0.05])
#: rule -> its settings beside BASE.
RULES = {"eqprop": {}, "bp": {}, "fa": {}, "dfa": {}, "bfa": {}, "bdfa": {}, "sg": {}, "csg": {},
         "erbp": {"lr": [0.003]}, "s2m": {"lr": [0.1], "sizes": [784, 128, 10]}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--preset", default="ecram-tang2018")
    parser.add_argument("--out", default="runs/rules-preset")
    parser.add_argument("--tables", action="store_true", help="only the table of finished runs")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    hardware = {"ideal": {"preset": "ideal"},
                args.preset: {"preset": args.preset, "storage": {"rounding": "stochastic"}}}
    rows, labels = [], []
    for rule, settings in RULES.items():
        for label, table in hardware.items():
            rows.append((("rule", rule), ("lr", settings.get("lr", BASE["lr"])),
                         ("sizes", settings.get("sizes", BASE["sizes"])), ("hardware", table)))
            labels.append((rule, label))
    sweep = Grid.of_rows(make_config(**BASE, data_dir=args.data_dir).to_dict(), rows, out)
    errors = {}
    for _, (rule, label), path in trained_points(sweep, labels, train=not args.tables):
        if is_complete(path):
            h = load_run(path).history
            errors[rule, label] = (100 * h["test_error"][-1], 100 * h["train_error"][-1])
    collect(sweep)
    lines = [f"| rule | ideal: test (train) error % | {args.preset}: test (train) error % | change, points |",
             "|---|---|---|---|"]
    for rule in RULES:
        cells = [f"{errors[rule, label][0]:.1f} ({errors[rule, label][1]:.1f})" if (rule, label) in errors else "—"
                 for label in hardware]
        change = (f"{errors[rule, args.preset][0] - errors[rule, 'ideal'][0]:+.1f}"
                  if all((rule, label) in errors for label in hardware) else "—")
        lines.append(f"| {rule} | " + " | ".join(cells) + f" | {change} |")
    text = "\n".join(lines) + "\n"
    print(text)
    write_text_atomically(out / "preset.md", text, "table")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
