"""Every rule trained in situ on device presets, each beside the same run on ideal hardware (issue 41): which rule
keeps its error on a real device's pulse response.

    python experiments/rules/preset.py --data-dir ../shared/data/mnist [--presets ecram-tang2018]   # about 15 min
    python experiments/rules/preset.py --data-dir ../shared/data/mnist --presets capacitor-li2018,ecram-mo-kim2019 \
        --seeds 0,1 --out runs/rules-presets          # several presets and seeds: one ideal run per rule and seed

The bit-depth study's settings (experiments/bitdepth/run.sh: MNIST, the first 10,000 training and 2,000 test
examples, 3 epochs, 784-128-128-10, batch 20, one rate 0.05; seeds --seeds, 0 by default), the layered topology, the rules on the
feedforward net under the default output error (matching; runs of the squared error before it are other points); erbp at its rate 0.003
and s2m at 0.1 on 784-128-10 (it needs three layers), as in experiments/rules/mnist.py. On the device, updates are
pulse trains with stochastic pulse counts (nearest rounding drops every update below half a step). Each point one
run file under --out (a sweep grid of explicit rows: resumable, collected into sweep.csv); a markdown table on
stdout and in --out/preset.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from neurosim.atomic import write_text_atomically
from neurosim.config import make_config
from neurosim.hardware import HardwareError, load_hardware
from neurosim.store import load_run
from neurosim.sweep import Grid, collect, is_complete, trained_points

BASE = dict(dataset="mnist", n_train=10_000, n_test=2_000, sizes=[784, 128, 128, 10], topology="layered",
            epochs=3, batch_size=20, seed=0, lr=[0.05])
#: rule -> its settings beside BASE.
RULES = {"eqprop": {}, "bp": {}, "fa": {}, "dfa": {}, "bfa": {}, "bdfa": {}, "sg": {}, "csg": {},
         "erbp": {"lr": [0.003]}, "s2m": {"lr": [0.1], "sizes": [784, 128, 10]}}


def row_table(errors: dict, presets, seeds) -> str:
    """Markdown: per rule, the ideal run's test (train) error % and each preset's test error % with its change in
    points from ideal in brackets (means over ``seeds``; with several seeds, the seeds' smallest and largest change
    too); ``errors`` (rule, hardware label, seed) -> (test %, train %)."""
    head = ["rule", "ideal: test (train) error %"] + [f"{preset}: test % (change)" for preset in presets]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def found(rule, label):
        runs = [errors[rule, label, seed] for seed in seeds if (rule, label, seed) in errors]
        return runs if len(runs) == len(seeds) else None

    for rule in RULES:
        ideal = found(rule, "ideal")
        cells = ["—" if ideal is None else
                 f"{np.mean([r[0] for r in ideal]):.1f} ({np.mean([r[1] for r in ideal]):.1f})"]
        for preset in presets:
            runs = found(rule, preset)
            if runs is None:
                cells.append("—")
                continue
            cell = f"{np.mean([r[0] for r in runs]):.1f}"
            if ideal is not None:
                changes = [r[0] - i[0] for r, i in zip(runs, ideal)]
                spread = f"; {min(changes):+.1f} to {max(changes):+.1f}" if len(seeds) > 1 else ""
                cell += f" ({np.mean(changes):+.1f}{spread})"
            cells.append(cell)
        lines.append(f"| {rule} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--presets", "--preset", default="ecram-tang2018",
                        help="device presets, comma-separated (each beside the one ideal run)")
    parser.add_argument("--seeds", default="0", help="seeds, comma-separated (the table shows their mean)")
    parser.add_argument("--out", default="runs/rules-preset")
    parser.add_argument("--tables", action="store_true", help="only the table of finished runs")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    presets = args.presets.split(",")
    seeds = [int(seed) for seed in args.seeds.split(",")]
    for preset in presets:
        try:
            load_hardware(preset)  # an unknown name stops here, in one line, before anything trains
        except HardwareError as error:
            parser.error(str(error))
    hardware = {"ideal": {"preset": "ideal"},
                **{preset: {"preset": preset, "storage": {"rounding": "stochastic"}} for preset in presets}}
    rows, labels = [], []
    for rule, settings in RULES.items():
        for label, table in hardware.items():
            for seed in seeds:
                rows.append((("rule", rule), ("lr", settings.get("lr", BASE["lr"])),
                             ("sizes", settings.get("sizes", BASE["sizes"])), ("hardware", table), ("seed", seed)))
                labels.append((rule, label, seed))
    sweep = Grid.of_rows(make_config(**BASE, data_dir=args.data_dir).to_dict(), rows, out)
    errors = {}
    for _, key, path in trained_points(sweep, labels, train=not args.tables):
        if is_complete(path):
            h = load_run(path).history
            errors[key] = (100 * h["test_error"][-1], 100 * h["train_error"][-1])
    collect(sweep)
    text = row_table(errors, presets, seeds)
    print(text)
    write_text_atomically(out / "preset.md", text, "table")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
