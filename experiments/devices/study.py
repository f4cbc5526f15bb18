"""The study users come for, on devices (issue 40): the published kind of small-world network and the per-layer
layered one, 784-128-128-128-10 (the bit-depth study's, experiments/bitdepth/study.toml), trained in situ on
modelled devices, and the ideal-trained network programmed onto the same chips.

    python experiments/devices/study.py --data-dir ../shared/data/mnist              # about 45 min on 2 cores
    python experiments/devices/study.py --data-dir ../shared/data/mnist --tables     # tables and figures only

Three parts, each point one run file under --out/<part> (a sweep grid of explicit rows: resumable, collected into
sweep.csv), both topologies each:

1. presets: the ideal machine and every device preset fitted to published devices (neurosim.hardware.PROVENANCE);
2. asymmetry: a soft-bounds device of 1,000 states whose up steps are (1 + beta) / (1 - beta) times its down steps,
   beta = 0, 0.2, 0.4, 0.6;
3. states: a constant-step device of 100, 400 and 1,600 states (dw_min = 0.02, 0.005, 0.00125), symmetric;
4. pairs: every device preset again with single-sided pairs (hardware.pair: each device only potentiated, the
   pair refreshed near saturation), beside the presets part's differential pairs.

Every device point writes with stochastic pulse counts (the pulse-coincidence scheme of analog training; nearest
rounding drops every update below half a step). Then each topology's ideal run is programmed onto one chip of
every preset and evaluated from rest (neurosim.evaluate_on_chips, chip seed 0): train ideal then program, against
train on the chip. Results: a markdown table per part on stdout (test and training error, and the applied / proposed
RMS: the smallest ratio, over the layer pairs, of the RMS change the devices made to the RMS change the rule
proposed, eq 20; above 1 where the devices' own spread adds change), study.md, and figures under --out.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import neurosim.plots  # noqa: F401 (matplotlib without a screen)
from neurosim.atomic import save_figure, write_text_atomically
from neurosim.config import load_config
from neurosim.chips import evaluate_on_chips
from neurosim.hardware import PRESETS
from neurosim.metrics import applied_share
from neurosim.store import load_run
from neurosim.sweep import Grid, collect, is_complete, point_file, run_point, stored_points

HERE = Path(__file__).resolve().parent
BASE = HERE.parent / "bitdepth" / "study.toml"

#: The two topologies: (label, settings).
TOPOLOGIES = {
    "layered-per-layer": {"topology": "layered", "lr": [0.128, 0.032, 0.008, 0.002], "rewire_p": None},
    "small-world": {"topology": "small-world", "lr": [0.02], "rewire_p": 0.1},
}
STOCHASTIC = {"storage": {"rounding": "stochastic"}}
DEVICE_PRESETS = [name for name, hardware in PRESETS.items() if hardware.response.active]
ASYMMETRY = (0.0, 0.2, 0.4, 0.6)
STATES = (100, 400, 1600)


def parts() -> dict[str, list[tuple[str, dict]]]:
    """Each part's hardware settings: (label, hardware table)."""
    return {
        "presets": [("ideal", {"preset": "ideal"})]
        + [(name, {"preset": name, **STOCHASTIC}) for name in DEVICE_PRESETS],
        "asymmetry": [(f"beta {beta:g}", {**STOCHASTIC, "response": {"model": "soft-bounds", "dw_min": 0.002,
                                                                      "up_down": beta}})
                      for beta in ASYMMETRY],
        "states": [(f"{states} states", {**STOCHASTIC, "response": {"model": "constant", "dw_min": 2.0 / states}})
                   for states in STATES],
        "pairs": [(f"{name}, single-sided", {"preset": name, **STOCHASTIC, "pair": {"scheme": "single-sided"}})
                  for name in DEVICE_PRESETS],
    }


def grid(part: str, base: dict, out: Path) -> tuple[Grid, list[tuple[str, str]]]:
    """The part's grid of explicit rows (topology x hardware) and each row's (topology, hardware label)."""
    rows, labels = [], []
    for topology, settings in TOPOLOGIES.items():
        for label, hardware in parts()[part]:
            rows.append(tuple((*settings.items(), ("hardware", hardware))))
            labels.append((topology, label))
    return Grid.of_rows(base, rows, out / part), labels


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--n-train", type=int, default=20_000)
    parser.add_argument("--n-test", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--out", default="runs/device-study")
    parser.add_argument("--tables", action="store_true", help="only the tables and figures of finished points")
    parser.add_argument("--parts", default=",".join(parts()), help="the parts to train (the others: tables only)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    base = load_config(BASE, data_dir=args.data_dir, n_train=args.n_train, n_test=args.n_test,
                       epochs=args.epochs).to_dict()
    results, report = {}, []
    for part in parts():
        sweep, labels = grid(part, base, out)
        sweep.out.mkdir(parents=True, exist_ok=True)
        stored = stored_points(sweep.out)
        for point, (topology, label) in zip(sweep.points(), labels):
            path = point_file(sweep.out, point, stored)
            if not args.tables and part in args.parts.split(",") and not is_complete(path):
                print(f"{part}: {topology}, {label}: training", flush=True)
                run_point(point.values, str(path))
            if is_complete(path):
                run = load_run(path)
                share = applied_share(run.rate_rms, run.applied_rms) if run.applied_rms else [1.0]
                results[part, topology, label] = (100 * run.history["test_error"][-1],
                                                  100 * run.history["train_error"][-1], path, float(np.nanmin(share)))
        collect(sweep)
        report.append(table(part, labels, results))
    report.append(programmed(results, args.data_dir, args.n_test))
    text = "\n\n".join(report) + "\n"
    print(text)
    write_text_atomically(out / "study.md", text, "table")
    figures(results, out)
    return 0


def table(part: str, labels, results) -> str:
    """A markdown table of one part: test (training) error per hardware, one column per topology."""
    hardware = list(dict.fromkeys(label for _, label in labels))
    lines = [f"### {part}", "", "| hardware | " + " | ".join(f"{t}: test (train) error %, applied / proposed RMS"
                                                           for t in TOPOLOGIES) + " |",
             "|---|" + "---|" * len(TOPOLOGIES)]
    for label in hardware:
        cells = [f"{results[part, t, label][0]:.2f} ({results[part, t, label][1]:.2f}), {results[part, t, label][3]:.2f}"
                 if (part, t, label) in results else "—" for t in TOPOLOGIES]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def programmed(results, data_dir: str, n_test: int) -> str:
    """Each topology's ideal run programmed onto one chip of every device preset (chip seed 0), beside the same
    preset trained in situ."""
    lines = ["### train ideal, then program (one chip each), against train on the chip", "",
             "| preset | " + " | ".join(f"{t}: programmed / in situ, test error %" for t in TOPOLOGIES) + " |",
             "|---|" + "---|" * len(TOPOLOGIES)]
    ideal = {t: load_run(results["presets", t, "ideal"][2]) for t in TOPOLOGIES if ("presets", t, "ideal") in results}
    for name in DEVICE_PRESETS:
        cells = []
        for t in TOPOLOGIES:
            if t not in ideal or ("presets", t, name) not in results:
                cells.append("—")
                continue
            chip = evaluate_on_chips(ideal[t], {"preset": name, **STOCHASTIC}, data_dir=data_dir, n_test=n_test)
            results["programmed", t, name] = (100 * float(chip.errors[0, 0]), np.nan, None, np.nan)
            cells.append(f"{100 * chip.errors[0, 0]:.2f} / {results['presets', t, name][0]:.2f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def figures(results, out: Path) -> None:
    """presets.png (in situ and programmed, per topology), pairs.png (single-sided against differential pairs),
    asymmetry.png and states.png (error against beta and against states)."""
    colours = {"layered-per-layer": "tab:blue", "small-world": "tab:green"}
    names = ["ideal", *DEVICE_PRESETS]
    bars_and_marks(results, colours, names, ("presets", "trained on the chip", lambda n: n),
                   ("programmed", "trained ideal, programmed", lambda n: n), "784-128-128-128-10 on device presets",
                   out / "presets.png")
    bars_and_marks(results, colours, DEVICE_PRESETS, ("pairs", "single-sided pairs", lambda n: f"{n}, single-sided"),
                   ("presets", "differential pairs", lambda n: n),
                   "784-128-128-128-10 trained on each preset: single-sided against differential pairs",
                   out / "pairs.png")
    for part, xs, label in (("asymmetry", ASYMMETRY, "up-down asymmetry beta (up / down = (1+beta)/(1-beta))"),
                            ("states", STATES, "device states (range / step)")):
        fig, ax = plt.subplots(figsize=(6, 4))
        keys = [f"beta {x:g}" for x in xs] if part == "asymmetry" else [f"{x} states" for x in xs]
        for t in TOPOLOGIES:
            ax.plot(xs, [results.get((part, t, k), (np.nan,))[0] for k in keys], marker="o", color=colours[t],
                    label=t)
            if ("presets", t, "ideal") in results:
                ax.axhline(results["presets", t, "ideal"][0], color=colours[t], linestyle="--", linewidth=1,
                           label=f"{t}, ideal machine")
        if part == "states":
            ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("test error, %")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        save_figure(fig, out / f"{part}.png", dpi=120)
        plt.close(fig)
    (out / "results.json").write_text(json.dumps({" / ".join(k): [v[0], v[1], v[3]] for k, v in results.items()},
                                                 indent=1))


def bars_and_marks(results, colours: dict, names: list, bars: tuple, marks: tuple, title: str, path: Path) -> None:
    """A horizontal bar per (name, topology) of the test error of ``bars`` = (part, legend, name -> label), each with
    a mark at ``marks``' error, written to ``path``."""
    fig, ax = plt.subplots(figsize=(9, 4.5))
    y = np.arange(len(names))
    for k, t in enumerate(TOPOLOGIES):
        (bar_part, bar_legend, bar_label), (mark_part, mark_legend, mark_label) = bars, marks
        ax.barh(y + (k - 0.5) * 0.4, [results.get((bar_part, t, bar_label(n)), (np.nan,))[0] for n in names],
                height=0.4, color=colours[t], label=f"{t}, {bar_legend}")
        ax.scatter([results.get((mark_part, t, mark_label(n)), (np.nan,))[0] for n in names], y + (k - 0.5) * 0.4,
                   color="black", marker="x" if k else "+", zorder=3, label=f"{t}, {mark_legend}")
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.axvline(90, color="gray", linestyle=":")
    ax.set_xlim(0, 100)
    ax.set_xlabel("test error, %")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
