"""Figures (PNG, matplotlib without a screen) of bit-depth studies."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .atomic import save_figure  # noqa: E402
from .settings import setting_text  # noqa: E402
from .store import flat_settings  # noqa: E402

COLOURS = {"layered": "tab:red", "layered-per-layer": "tab:blue", "small-world": "tab:green"}
LINES = {"nearest": "-", "stochastic": "--"}


def _colour(topology: str) -> str:
    return COLOURS.get(topology, "tab:gray")


def error_vs_bits(results, out: str | Path, title: str = "") -> Path:
    """Test error (last epoch; mean over seeds, bars from the lowest to the highest seed) against weight bits,
    one panel per learning rule, one colour per topology, solid for nearest and dashed for stochastic rounding;
    the ideal machine as a dotted horizontal line in the topology's colour."""
    rules = list(dict.fromkeys(r.point.rule for r in results))
    ncols = min(2, len(rules))
    nrows = -(-len(rules) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5 * ncols + 2.2, 4.2 * nrows), sharey=True, squeeze=False)
    all_bits = sorted({r.point.bits for r in results if r.point.bits})
    for ax in axes.flat[len(rules):]:
        ax.set_visible(False)
    for ax, rule in zip(axes.flat, rules):
        _error_panel(ax, [r for r in results if r.point.rule == rule])
        ax.set_xlabel("weight bits")
        if all_bits:
            ax.set_xticks(all_bits)
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        ax.set_title(rule, fontsize=10)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="center right")
    for row in axes:
        row[0].set_ylabel("test error (%)")
    fig.suptitle((title or "Test error against weight bits")
                 + "\n(mean over seeds; bars from the lowest to the highest seed)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1 - 2.0 / (5 * ncols + 2.2), 1))
    save_figure(fig, out, dpi=120)
    plt.close(fig)
    return Path(out)


def _error_panel(ax, results) -> None:
    topologies = sorted({r.point.topology for r in results}, key=lambda t: list(COLOURS).index(t)
                        if t in COLOURS else 99)
    for topo in topologies:
        ideal = [r.row["test_error"] for r in results if r.point.topology == topo and r.point.bits == 0]
        if ideal:
            ax.axhline(100 * np.mean(ideal), color=_colour(topo), linestyle=":", linewidth=1.2,
                       label=f"{topo}, ideal")
        for rounding in LINES:
            rows = [r.row for r in results if r.point.topology == topo and r.point.rounding == rounding]
            bits = sorted({row["bits"] for row in rows})
            if not bits:
                continue
            errors = [[100 * row["test_error"] for row in rows if row["bits"] == b] for b in bits]
            mean = np.array([np.mean(e) for e in errors])
            spread = np.array([[mean[k] - min(e), max(e) - mean[k]] for k, e in enumerate(errors)]).T
            ax.errorbar(bits, mean, yerr=spread, color=_colour(topo), linestyle=LINES[rounding], marker="o",
                        markersize=4, capsize=2, label=f"{topo}, {rounding}")


def update_vs_step(results, out: str | Path, title: str = "") -> Path:
    """Per topology, the median over batches of each layer pair's RMS update (eq 20) in the ideal run, beside
    the weight step of every bit depth studied (horizontal lines): a pair whose update lies below half a step
    loses its updates under nearest rounding."""
    ideal = [r for r in results if r.point.bits == 0 and len(r.rate_rms)]
    steps = sorted({(r.point.bits, r.weight_step) for r in results if r.point.bits})
    panels = list(dict.fromkeys((r.point.rule, r.point.topology) for r in ideal))
    if not panels:
        raise ValueError("no ideal run with per-layer rates in the study: the update sizes come from ideal runs")
    ncols = min(3, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4 * ncols, 4.2 * nrows), sharey=True, squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, (rule, topo) in zip(axes.flat, panels):
        rms = np.concatenate([r.rate_rms for r in ideal if (r.point.rule, r.point.topology) == (rule, topo)])
        pairs = np.arange(rms.shape[1])
        median = np.nanmedian(rms, axis=0)
        low, high = np.nanpercentile(rms, 10, axis=0), np.nanpercentile(rms, 90, axis=0)
        ax.errorbar(pairs, median, yerr=[median - low, high - median], color=_colour(topo), marker="o",
                    capsize=3, label="RMS update (median, 10-90 %)")
        for bits, step in steps:
            ax.axhline(step, color="gray", linewidth=0.8, linestyle="--")
            ax.text(pairs[-1] + 0.1, step, f"{bits} bit", fontsize=7, va="center", color="gray")
        ax.set_yscale("log")
        ax.set_xticks(pairs, [f"L{k}-L{k + 1}" for k in pairs])
        ax.set_xlim(-0.3, pairs[-1] + 0.8)
        ax.set_title(topo if rule == "eqprop" else f"{rule}, {topo}", fontsize=10)
        ax.set_xlabel("layer pair (input side first)")
        ax.grid(alpha=0.3, which="both")
    for row in axes:
        row[0].set_ylabel("weight change per batch")
    handles, labels = axes[0][0].get_legend_handles_labels()  # below the panels, where it hides no point
    fig.legend(handles, labels, fontsize=7, loc="lower center", frameon=False)
    fig.suptitle(title or "Each layer pair's RMS update beside the weight step", fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    save_figure(fig, out, dpi=120)
    plt.close(fig)
    return Path(out)


#: How the x axis of Figure 4 and the run labels name the rewired connections, by rewiring mode.
REWIRED = {"replace": "replaced", "add": "added"}


def distinct_parts(names) -> dict[str, str]:
    """Each run name with the ``key=value`` parts that every name shares left out (a sweep names its runs by all
    their settings, most of them the same: ``"rule=eqprop, bits=2, seed=0"`` and ``"rule=eqprop, bits=8,
    seed=0"`` become ``"bits=2"`` and ``"bits=8"``). A name that is not such a list, or a single name, stays."""
    names = list(names)
    split = {name: re.split(r", (?=[A-Za-z_][\w.]*=)", name) for name in names}
    if len(names) < 2 or not all(all("=" in part for part in parts) for parts in split.values()):
        return {name: name for name in names}
    shared = set.intersection(*(set(parts) for parts in split.values()))
    return {name: ", ".join(part for part in parts if part not in shared) or name for name, parts in split.items()}


def run_titles(runs: dict) -> dict[str, str]:
    """A title for each run (name -> :class:`~neurosim.store.Run`) that says what sets it apart: its name less
    the parts every name shares (:func:`distinct_parts`), the settings in which the runs' configurations differ
    (``lr=0.01, seed=3``) where the name does not already say them, and its topology where the topologies differ."""
    names = distinct_parts(runs)
    flats = {name: flat_settings(run.config) for name, run in runs.items()}
    keys = sorted({k for flat in flats.values() for k in flat} - {"data_dir"})
    differing = [k for k in keys if len({repr(flat.get(k)) for flat in flats.values()}) > 1]
    topologies = {name: _topology_note(run) for name, run in runs.items()}
    titles = {}
    for name in runs:
        parts = [f"{k.split('.')[-1]}={setting_text(flats[name].get(k))}" for k in differing]
        parts = [p for p in parts if p not in names[name]]
        title = names[name] + (f": {', '.join(parts)}" if parts else "")
        titles[name] = title + (f" ({topologies[name]})" if len(set(topologies.values())) > 1 else "")
    return titles


def _topology_note(run) -> str:
    t = run.topology
    if not t.get("n_rewired"):
        return t["kind"]
    removed = f", removed after epoch {t['skip_removed_after']}" if t.get("skip_removed_after") else ""
    return f"{t['kind']}, {t['n_rewired']} {REWIRED.get(t.get('mode'), 'rewired')}{removed}"


def error_curves(runs: dict, out: str | Path) -> Path:
    """The paper's Figure 2: error per epoch, training solid and test dotted, one colour per run (``runs``: name
    -> :class:`~neurosim.store.Run`); percentages on a linear axis from 0, whole epochs, one legend entry per run
    beside the plot."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(9, 4.5))
    handles, top, epochs = [], 0.0, []
    labels = run_titles(runs)
    for k, (name, run) in enumerate(runs.items()):
        h, colour = run.history, f"C{k % 10}"
        train, test = 100 * np.asarray(h["train_error"]), 100 * np.asarray(h["test_error"])
        ax.plot(h["epoch"], train, color=colour, marker="o" if len(train) == 1 else None)
        ax.plot(h["epoch"], test, color=colour, linestyle=":", marker="o" if len(test) == 1 else None)
        handles.append(Line2D([], [], color=colour, label=textwrap.fill(labels[name], 60)))
        top = max([top, *train, *test])
        epochs += list(h["epoch"])
    handles += [Line2D([], [], color="0.3", label="training error"),
                Line2D([], [], color="0.3", linestyle=":", label="test error")]
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if epochs and min(epochs) == max(epochs):  # one epoch: its one tick, with room around it
        ax.set_xlim(min(epochs) - 0.5, min(epochs) + 0.5)
        ax.set_xticks([min(epochs)])
    ax.set_ylabel("error (%)")
    ax.set_ylim(0, min(100, 1.08 * top) if top > 0 else 100)
    ax.grid(alpha=0.3)
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title("Training (solid) and test (dotted) error", fontsize=10)
    fig.tight_layout()
    save_figure(fig, out, dpi=120)
    plt.close(fig)
    return Path(out)


#: Panels in a row of :func:`layer_rates`' grid.
PANELS_PER_ROW = 4


def layer_rates(runs: dict, smoothed: dict, out: str | Path, applied: dict | None = None) -> Path:
    """The paper's Figure 3: each layer pair's training rate (eq 20) smoothed over batches (eq 21; ``smoothed``:
    name -> (batches, rates (M, pairs))), log scale, one panel per run. ``applied``: name -> the smoothed
    rates of the changes the weight store made (M, pairs), drawn dashed beside the proposed ones, or None for a
    run without hardware models (they are the same)."""
    from matplotlib.lines import Line2D

    applied = applied or {}
    columns = min(len(runs), PANELS_PER_ROW)  # a grid of panels: ten runs are not one 5,000-pixel row
    rows = -(-len(runs) // columns)
    fig, grid = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.6 * rows + 0.5), sharey=True, squeeze=False)
    axes = grid.reshape(1, -1)
    for spare in axes[0][len(runs):]:
        spare.set_visible(False)
    labels, any_positive = run_titles(runs), False
    for k, (ax, (name, run)) in enumerate(zip(axes[0], runs.items())):
        batches, rates = smoothed[name]
        made = applied.get(name)
        for pair in range(rates.shape[1]):
            line, = ax.plot(batches, rates[:, pair], label=f"L{pair}-L{pair + 1}", linewidth=1)
            if made is not None:
                ax.plot(batches, np.where(made[:, pair] > 0, made[:, pair], np.nan), color=line.get_color(),
                        linestyle="--", linewidth=1)
        positive = bool(np.any(rates > 0))
        any_positive |= positive
        if not positive:  # e.g. at too few bits, where the weights stay at zero
            ax.text(0.5, 0.5, "every correction is zero", transform=ax.transAxes, ha="center", va="center")
        if k + columns >= len(runs):  # the lowest panel of its column
            ax.set_xlabel("batch")
        if k % columns == 0:
            ax.set_ylabel("RMS weight correction per batch")
        ax.set_title(textwrap.fill(labels[name], 40), fontsize=9)
        ax.grid(alpha=0.3, which="both")
    if any_positive:
        axes[0][0].set_yscale("log")  # once all panels are drawn: shared, and some panel has positive rates
    handles, _ = axes[0][0].get_legend_handles_labels()
    if any(v is not None for v in applied.values()):
        handles += [Line2D([], [], color="0.3", label="proposed"),
                    Line2D([], [], color="0.3", linestyle="--", label="applied by the store")]
    fig.legend(handles=handles, fontsize=7, loc="lower center", ncol=len(handles), frameon=False)  # off the curves
    fig.tight_layout(rect=(0, 0.4 / fig.get_figheight(), 1, 1))
    save_figure(fig, out, dpi=120)
    plt.close(fig)
    return Path(out)


def error_vs_replaced(replaced: np.ndarray, errors: np.ndarray, out: str | Path, mode: str = "replace") -> Path:
    """The paper's Figure 4: training error after the first epoch against the number of replaced (or, ``mode``
    "add", added) connections, log-scale error."""
    order = np.argsort(replaced)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(np.asarray(replaced)[order], 100 * np.asarray(errors)[order], marker="o")
    ax.set_xlabel(f"{REWIRED.get(mode, 'rewired')} connections")
    ax.set_ylabel("training error after one epoch (%)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    save_figure(fig, out, dpi=120)
    plt.close(fig)
    return Path(out)


def error_vs_time(times, errors: dict, out: str | Path, title: str = "") -> Path:
    """``neurosim evaluate``'s figure: test error (%) against the time after programming (seconds, logarithmic;
    t = 0 drawn at the left edge); ``errors``: label -> (chips, times) array, each chip a thin line, their mean
    thick, one colour per label."""
    times = np.asarray(times, dtype=float)
    shown = np.where(times > 0, times, min(times[times > 0].min() / 10, 1.0) if np.any(times > 0) else 1.0)
    fig, ax = plt.subplots(figsize=(6, 4))
    top = 0.0
    for (label, rows), colour in zip(errors.items(), plt.rcParams["axes.prop_cycle"].by_key()["color"] * 4):
        rows = 100 * np.atleast_2d(rows)
        top = max(top, rows.max())
        for row in rows:
            ax.plot(shown, row, color=colour, alpha=0.3, linewidth=0.8)
        ax.plot(shown, rows.mean(axis=0), color=colour, marker="o", linewidth=2,
                label=f"{label}: mean of {len(rows)} chip{'s' if len(rows) > 1 else ''}")
    ax.set_xscale("log")
    labels = {1.0: "1 s", 60.0: "1 min", 3600.0: "1 h", 86400.0: "1 d", 604800.0: "1 w", 31557600.0: "1 y"}
    ticks = [t for t in labels if shown.min() <= t <= shown.max() * 1.01]
    if np.any(times == 0):
        ticks = [shown.min(), *[t for t in ticks if t > shown.min()]]
    ax.set_xticks(ticks, [("0" if t == shown.min() and np.any(times == 0) else labels.get(t, f"{t:g} s"))
                          for t in ticks])
    ax.set_xlabel("time after programming")
    ax.set_ylabel("test error (%)")
    ax.set_ylim(0, 100.0 if top > 80 else top * 1.2 + 1)
    ax.minorticks_off()
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, out, dpi=120)
    plt.close(fig)
    return Path(out)
