"""Two bit-depth studies of the same rules side by side (issue 41): test error against weight bits, one panel per
rule the studies share, one line per study and rounding (mean over seeds, bars from the lowest to the highest seed).

    python experiments/rules/compare_studies.py docs/results/bitdepth-matching.csv "rule parameters in floating point" \\
        docs/results/bitdepth-rule-devices.csv "rule parameters on the devices" -o docs/results/bitdepth-rule-devices.png

Made for the rules' own parameters on the devices (neurosim bitdepth --rule-devices) against the same study with them
in floating point; any two study.csv files of the same settings compare so.
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import neurosim.plots  # noqa: F401 (matplotlib without a screen)
from neurosim.atomic import save_figure


def errors(path) -> dict:
    """{(rule, rounding, bits): [test error % per seed]} of one study.csv (bits 0: the ideal run)."""
    out = defaultdict(list)
    for row in csv.DictReader(open(path)):
        out[row["rule"], row["rounding"], int(row["bits"])].append(100 * float(row["test_error"]))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("first")
    parser.add_argument("first_label")
    parser.add_argument("second")
    parser.add_argument("second_label")
    parser.add_argument("-o", "--out", required=True)
    args = parser.parse_args(argv)
    studies = [(errors(args.first), args.first_label, "tab:blue"), (errors(args.second), args.second_label, "tab:red")]
    rules = [r for r in dict.fromkeys(k[0] for k in studies[1][0]) if any(k[0] == r for k in studies[0][0])]
    fig, axes = plt.subplots(1, len(rules), figsize=(3.6 * len(rules), 3.8), sharey=True, squeeze=False)
    for ax, rule in zip(axes[0], rules):
        for cells, label, colour in studies:
            for rounding, style in (("stochastic", "-"), ("nearest", ":")):
                bits = sorted(b for (r, ro, b) in cells if r == rule and ro == rounding and b)
                values = [cells[rule, rounding, b] for b in bits]
                mean = [np.mean(v) for v in values]
                spread = np.array([[m - min(v), max(v) - m] for m, v in zip(mean, values)]).T
                ax.errorbar(bits, mean, yerr=spread, color=colour, linestyle=style, marker="o", markersize=3,
                            capsize=2, label=f"{label}, {rounding}")
            ideal = [v for (r, _, b), v in cells.items() if r == rule and b == 0]
            if ideal:
                ax.axhline(np.mean(ideal[0]), color=colour, linestyle="--", linewidth=0.8)
        ax.set_title(rule, fontsize=10)
        ax.set_xlabel("weight bits")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("test error, % (dashed: ideal)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=4)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    save_figure(fig, Path(args.out), dpi=120)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
