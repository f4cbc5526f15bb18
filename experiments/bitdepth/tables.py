"""Markdown tables of a bit-depth study (its directory, or a study file of an earlier neurosim): test error (mean
over seeds, and the seeds' range) per rule,
topology, rounding and bit depth.

    python experiments/bitdepth/tables.py STUDY [--bits 4,6,8,0]
"""

import argparse
from collections import defaultdict

import numpy as np

from neurosim.bitdepth import read_study


def table(results, rule: str, bits: list[int]) -> str:
    cells = defaultdict(list)
    for r in results:
        if r.point.rule == rule:
            cells[(r.point.topology, r.point.rounding, r.point.bits)].append(100 * r.row["test_error"])
    rows = sorted({(t, ro) for t, ro, b in cells if b}, key=lambda k: (k[0], k[1]))
    head = "| topology | rounding | " + " | ".join("ideal" if b == 0 else f"{b} bits" for b in bits) + " |"
    lines = [head, "|---|---|" + "---|" * len(bits)]
    for topology, rounding in rows:
        values = []
        for b in bits:
            e = cells.get((topology, "exact" if b == 0 else rounding, b), [])
            values.append("—" if not e else f"{np.mean(e):.1f}" + (f" ({min(e):.1f}–{max(e):.1f})" if len(e) > 1 else ""))
        lines.append(f"| {topology} | {rounding} | " + " | ".join(values) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study")
    parser.add_argument("--bits", default="2,3,4,6,8,10,12,0")
    args = parser.parse_args()
    results = read_study(args.study)
    bits = [int(b) for b in args.bits.split(",")]
    seeds = sorted({r.point.seed for r in results})
    print(f"test error (%), mean over seeds {seeds} (range)\n")
    for rule in dict.fromkeys(r.point.rule for r in results):
        print(f"### {rule}\n\n{table(results, rule, bits)}\n")


if __name__ == "__main__":
    main()
