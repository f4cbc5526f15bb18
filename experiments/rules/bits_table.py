"""One table of every rule's test error against weight bits, from the study.csv files of bit-depth studies (issue 41):
mean over seeds per rule, topology, rounding and bit depth, and the fewest bits within 1 and 5 points of the
rule's ideal (mean over seeds; that depth and every larger one studied).

    python experiments/rules/bits_table.py docs/results/bitdepth-mnist.csv docs/results/bitdepth-rules.csv ...

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
    """{(rule, topology, rounding, bits): [test error % per seed]} and the (rule, topology) pairs in file order."""
    cells, order = defaultdict(list), []
    for path in paths:
        for row in csv.DictReader(open(path)):
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("studies", nargs="+", help="study.csv files")
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
