"""One table of every rule's test error against weight bits, from the study.csv files of bit-depth studies (issue 41):
mean over seeds per rule, topology, rounding and bit depth, and the fewest bits within 1 and 5 points of the
rule's ideal (mean over seeds; that depth and every larger one studied).

    python experiments/rules/bits_table.py docs/results/bitdepth-mnist.csv docs/results/bitdepth-rules.csv ...
    python experiments/rules/bits_table.py STUDY.csv:eqprop OTHER.csv ... --figure fewest-bits.png
        # STUDY.csv:eqprop keeps that file's eqprop rows only; --figure also draws the fewest bits per rule

Rows keep the order the files give the rules in. A file's rows are its study's settings: tables of studies made
with other settings (sizes, examples, epochs, rates) are not comparable cell by cell; say so beside the table.
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict

import numpy as np

STOCHASTIC = (2, 4, 6, 8, 10, 12)
NEAREST = (8, 10, 12)


def read(paths) -> tuple[dict, list]:
    """{(rule, topology, rounding, bits): [test error % per seed]} and the (rule, topology) pairs in file order.
    A path ``study.csv:eqprop,bp`` keeps only those rules' rows of the file."""
    cells, order = defaultdict(list), []
    for spec in paths:
        path, _, only = str(spec).partition(":")
        for row in csv.DictReader(open(path)):
            if only and row["rule"] not in only.split(","):
                continue
            key = (row["rule"], row["topology"])
            if key not in order:
                order.append(key)
            cells[(*key, row["rounding"], int(row["bits"]))].append(100 * float(row["test_error"]))
    return cells, order


def fewest(cells, rule, topology, rounding, margin) -> str:
    """The fewest bits b whose mean error, and every larger depth's, is within ``margin`` of the ideal mean."""
    ideal = cells.get((rule, topology, "exact", 0))
    if not ideal:
        return "—"
    depths = sorted(b for (ru, t, ro, b) in cells if (ru, t, ro) == (rule, topology, rounding) and b)
    best = None
    for b in reversed(depths):
        if np.mean(cells[(rule, topology, rounding, b)]) > np.mean(ideal) + margin:
            break
        best = b
    return "none" if best is None else str(best)


def fewest_figure(cells, order, path) -> None:
    """The fewest bits of every (rule, topology) as a dot chart, one row each: within 1 point (filled) and 5 points
    (open) of the ideal, stochastic (circles) and nearest rounding (squares); "none" right of 12 bits."""
    import matplotlib.pyplot as plt

    import neurosim.plots  # noqa: F401 (matplotlib without a screen)
    from neurosim.atomic import save_figure

    beyond = max(STOCHASTIC) + 2
    fig, ax = plt.subplots(figsize=(6.4, 0.55 * len(order) + 1.3))
    styles = {("stochastic", 1): dict(marker="o", color="C0", label="stochastic, within 1 point"),
              ("stochastic", 5): dict(marker="o", mfc="none", color="C0", label="stochastic, within 5 points"),
              ("nearest", 1): dict(marker="s", color="C3", label="nearest, within 1 point"),
              ("nearest", 5): dict(marker="s", mfc="none", color="C3", label="nearest, within 5 points")}
    offsets = {("stochastic", 1): -0.27, ("stochastic", 5): -0.09, ("nearest", 1): 0.09, ("nearest", 5): 0.27}
    for (rounding, margin), style in styles.items():
        ys, xs = [], []
        for row, (rule, topology) in enumerate(order):
            bits = fewest(cells, rule, topology, rounding, margin)
            if bits != "—":
                ys.append(row + offsets[rounding, margin])
                xs.append(beyond if bits == "none" else int(bits))
        ax.plot(xs, ys, linestyle="none", markersize=6, **style)
    ax.set_yticks(range(len(order)), [f"{rule} ({topology})" for rule, topology in order])
    ax.invert_yaxis()
    ticks = list(range(2, max(STOCHASTIC) + 1, 2))
    ax.set_xticks(ticks + [beyond], [str(t) for t in ticks] + ["none\n≤ 12"])
    ax.set_xlim(1, beyond + 1)
    ax.set_xlabel("fewest weight bits near the ideal (and every depth above)")
    ax.grid(axis="x", alpha=0.3)
    fig.legend(fontsize=8, loc="lower center", ncol=2)
    fig.tight_layout(rect=(0, 0.09, 1, 1))
    save_figure(fig, path)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("studies", nargs="+", help="study.csv files")
    parser.add_argument("--figure", help="also draw the fewest bits per rule to this PNG")
    args = parser.parse_args(argv)
    cells, order = read(args.studies)
    shown = lambda key: f"{np.mean(cells[key]):.1f}" if cells.get(key) else "—"  # noqa: E731
    head = (["rule", "topology", "ideal"] + [f"{b} stoch." for b in STOCHASTIC] + [f"{b} nearest" for b in NEAREST]
            + ["fewest bits ≤ 1 / 5 points, stoch.", "nearest"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for rule, topology in order:
        values = ([shown((rule, topology, "exact", 0))] + [shown((rule, topology, "stochastic", b)) for b in STOCHASTIC]
                  + [shown((rule, topology, "nearest", b)) for b in NEAREST])
        bits = [f"{fewest(cells, rule, topology, r, 1)} / {fewest(cells, rule, topology, r, 5)}"
                for r in ("stochastic", "nearest")]
        lines.append(f"| {rule} | {topology} | " + " | ".join(values + bits) + " |")
    print("\n".join(lines))
    if args.figure:
        fewest_figure(cells, order, args.figure)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
