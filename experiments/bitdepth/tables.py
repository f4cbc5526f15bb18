"""Markdown tables of a bit-depth study: errors per rule, topology, rounding and bit depth (mean over seeds and
the seeds' range), the fewest bits within 1 and 5 points of ideal, and the update sizes against the weight step.

    python experiments/bitdepth/tables.py STUDY [--bits 4,6,8,0]      # one study directory (or an older file)
    python experiments/bitdepth/tables.py --root runs/bitdepth-study   # every part of experiments/bitdepth/study.sh

Errors are in %: ``test`` is the test set after the last epoch (one sample: with a rate of .02 it moves by
points from batch to batch), ``train`` the free-phase predictions made during the last epoch (smooth).
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

from neurosim.bitdepth import PointResult, read_study
from neurosim.metrics import applied_share

METRICS = {"test": "test_error", "train": "train_error"}


def errors(results: list[PointResult], metric: str) -> dict:
    """{(rule, topology, rounding, bits): {seed: error in %}}; the ideal points under rounding "exact"."""
    cells = defaultdict(dict)
    for r in results:
        p = r.point
        cells[(p.rule, p.topology, p.rounding, p.bits)][p.seed] = 100 * r.row[METRICS[metric]]
    return cells


def summary_cell(values: list[float]) -> str:
    if not values:
        return "—"
    return f"{np.mean(values):.1f}" + (f" ({min(values):.1f}–{max(values):.1f})" if len(values) > 1 else "")


def table(results: list[PointResult], rule: str, bits: list[int], metric: str = "test") -> str:
    """Error per topology and rounding (rows) and bit depth (columns): mean over seeds (range)."""
    cells = errors(results, metric)
    rows = sorted({(t, ro) for ru, t, ro, b in cells if ru == rule and b})
    head = "| topology | rounding | " + " | ".join("ideal" if b == 0 else f"{b} bits" for b in bits) + " |"
    lines = [head, "|---|---|" + "---|" * len(bits)]
    for topology, rounding in rows:
        values = [summary_cell(list(cells.get((rule, topology, "exact" if b == 0 else rounding, b), {}).values()))
                  for b in bits]
        lines.append(f"| {topology} | {rounding} | " + " | ".join(values) + " |")
    return "\n".join(lines)


def fewest_bits(cells: dict, rule: str, topology: str, rounding: str, margin: float) -> dict[int, int | None]:
    """Per seed, the fewest weight bits b such that b and every larger depth studied end within ``margin``
    points of that seed's ideal run (None: no depth does)."""
    ideal = cells.get((rule, topology, "exact", 0), {})
    depths = sorted(b for ru, t, ro, b in cells if (ru, t, ro) == (rule, topology, rounding) and b)
    found = {}
    for seed, reference in ideal.items():
        best = None
        for b in reversed(depths):
            e = cells[(rule, topology, rounding, b)].get(seed)
            if e is None or e > reference + margin:
                break
            best = b
        found[seed] = best
    return found


def bits_cell(per_seed: dict[int, int | None]) -> str:
    if not per_seed:
        return "—"
    values = ["none" if b is None else str(b) for b in per_seed.values()]
    if len(set(values)) == 1:
        return values[0]
    return f"{' / '.join(values)} (seeds {', '.join(map(str, per_seed))})"


def designer_table(results: list[PointResult], rule: str = "eqprop") -> str:
    """The answer a designer reads first: per topology and rounding, the fewest bits within 1 and 5 points of
    ideal, on the test error and on the training error, each seed on its own."""
    by_metric = {m: errors(results, m) for m in METRICS}
    rows = sorted({(t, ro) for ru, t, ro, b in by_metric["test"] if ru == rule and b})
    lines = ["| topology | rounding | ideal: test / train (%) | within 1 point: test | train "
             "| within 5 points: test | train |", "|---|---|---|---|---|---|---|"]
    for topology, rounding in rows:
        ideal = [summary_cell(list(by_metric[m].get((rule, topology, "exact", 0), {}).values())) for m in METRICS]
        found = [bits_cell(fewest_bits(by_metric[m], rule, topology, rounding, margin))
                 for margin in (1.0, 5.0) for m in METRICS]
        lines.append(f"| {topology} | {rounding} | {' / '.join(ideal)} | " + " | ".join(found) + " |")
    return "\n".join(lines)


def update_table(results: list[PointResult], bits: list[int], rule: str = "eqprop") -> str:
    """The ideal runs' update sizes per layer pair (eq 20, median over the recorded batches, mean over seeds),
    their spread (deep pairs' largest over smallest), and the largest depth whose half step exceeds each pair's
    median update (nearest rounding loses most of that pair's updates there and below), each depth's step the
    study's own (its points' weight store)."""
    ideal = defaultdict(list)
    for r in results:
        if r.point.rule == rule and r.point.bits == 0 and r.rate_rms.size:
            ideal[r.point.topology].append(np.nanmedian(r.rate_rms, axis=0))
    steps = {r.point.bits: r.weight_step for r in results if r.point.bits in bits and r.point.bits}
    lines = []
    for topology, medians in sorted(ideal.items()):
        rms = np.mean(medians, axis=0)
        lost = [max((b for b, step in steps.items() if step / 2 > r), default=None) for r in rms]
        deep = rms[:-1]
        lines.append(f"| {topology} | " + " | ".join(f"{r:.2e}" for r in rms) + f" | {deep.max() / deep.min():.1f} | "
                     + " | ".join("—" if b is None else f"≤ {b}" for b in lost) + " |")
    n = len(next(iter(ideal.values()))[0]) if ideal else 0
    pairs = [f"L{k}-L{k + 1}" for k in range(n)]
    head = ("| topology | " + " | ".join(f"RMS update {p}" for p in pairs) + " | deep pairs' spread | "
            + " | ".join(f"lost at {p}" for p in pairs) + " |")
    return "\n".join([head, "|---|" + "---|" * (2 * n + 1)] + lines)


def applied_table(results: list[PointResult], rounding: str, rule: str = "eqprop") -> str:
    """The share of each pair's proposed update the store applied (eq 20 of the applied over the proposed
    changes, summed over the recorded batches), per topology and bit depth, mean over seeds."""
    shares = defaultdict(list)
    for r in results:
        p = r.point
        if p.rule == rule and p.rounding == rounding and r.rate_rms.size:
            shares[(p.topology, p.bits)].append(applied_share(r.rate_rms, r.applied_rms))
    if not shares:
        return ""
    n = len(next(iter(shares.values()))[0])
    lines = ["| topology | bits | " + " | ".join(f"L{k}-L{k + 1}" for k in range(n)) + " |", "|---|---|" + "---|" * n]
    for (topology, b), values in sorted(shares.items()):
        lines.append(f"| {topology} | {b} | " + " | ".join(
            "no update" if np.isnan(v) else f"{100 * v:.0f} %" for v in np.mean(values, axis=0)) + " |")
    return "\n".join(lines)


def variants_table(parts: dict[str, list[PointResult]], metric: str = "test") -> str:
    """One row per topology, rounding and bit depth, one column per study part (e.g. weight ranges), seed mean."""
    cells = {name: errors(results, metric) for name, results in parts.items()}
    keys = sorted({(t, ro, b) for c in cells.values() for ru, t, ro, b in c if b})
    lines = ["| topology | rounding | bits | " + " | ".join(parts) + " |", "|---|---|---|" + "---|" * len(parts)]
    for t, ro, b in keys:
        if not all(any(k[1:] == (t, ro, b) for k in c) for c in cells.values()):
            continue
        values = [summary_cell([v for k, s in c.items() if k[1:] == (t, ro, b) for v in s.values()])
                  for c in cells.values()]
        lines.append(f"| {t} | {ro} | {b} | " + " | ".join(values) + " |")
    return "\n".join(lines)


def readout_table(root: Path, reference: list[PointResult], metric: str = "test") -> str:
    """The ADC's bits (the study's adc-N parts) against the same weights with an ideal readout."""
    parts = sorted((int(d.name.split("-")[1]), d) for d in root.glob("adc-*") if any(d.glob("point-*.h5")))
    if not parts:
        return ""
    columns = {f"{n} ADC bits": read_study(d) for n, d in parts}
    seeds = {r.point.seed for rs in columns.values() for r in rs}
    bits = {r.point.bits for rs in columns.values() for r in rs}
    columns["ideal ADC"] = [r for r in reference if r.point.seed in seeds and r.point.bits in bits]
    return variants_table(columns, metric)


def study_report(results: list[PointResult], bits: list[int]) -> str:
    seeds = sorted({r.point.seed for r in results})
    out = [f"seeds {seeds}; errors in % (mean over seeds, range)"]
    for rule in dict.fromkeys(r.point.rule for r in results):
        for metric in METRICS:
            out.append(f"### {rule}: {metric} error\n\n{table(results, rule, bits, metric)}")
        out.append(f"### {rule}: fewest weight bits\n\n{designer_table(results, rule)}")
        out.append(f"### {rule}: update sizes of the ideal runs\n\n{update_table(results, bits, rule)}")
        for rounding in ("nearest", "stochastic"):
            applied = applied_table(results, rounding, rule)
            if applied:
                out.append(f"### {rule}: share of the proposed update applied, {rounding} rounding\n\n{applied}")
    return "\n\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", nargs="?", help="a study directory (or a study file of an earlier neurosim)")
    parser.add_argument("--root", type=Path, help="the output of experiments/bitdepth/study.sh: all its parts")
    parser.add_argument("--bits", default="2,3,4,6,8,10,12,0")
    args = parser.parse_args()
    bits = [int(b) for b in args.bits.split(",")]
    if args.root is None and args.study is None:
        parser.error("give a STUDY or --root")
    if args.root is None:
        print(study_report(read_study(args.study), bits))
        return
    weights = read_study(args.root / "weights")
    print(f"## Weights\n\n{study_report(weights, bits)}\n")
    parts = {}
    for name, label in (("w-max-0.5", "one range 0.5"), ("per-array", "a range per array")):
        if any((args.root / name).glob("point-*.h5")):
            parts[label] = read_study(args.root / name)
    if parts:
        seeds = {r.point.seed for rs in parts.values() for r in rs}
        parts = {"one range 1 (the weights part)": [r for r in weights if r.point.seed in seeds], **parts}
        for metric in METRICS:
            print(f"## Weight ranges: {metric} error\n\n{variants_table(parts, metric)}\n")
    for metric in METRICS:
        readout = readout_table(args.root, weights, metric)
        if readout:
            print(f"## Readout bits: {metric} error\n\n{readout}\n")


if __name__ == "__main__":
    main()
