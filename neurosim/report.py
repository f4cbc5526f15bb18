"""Reports of training runs (``neurosim report``): the paper's figures and a markdown summary.

From one or more run files: error curves (Figure 2), each layer pair's training rate over batches (eq 20, smoothed
by eq 21; Figure 3) and its spread (eqs 22-23), and, when the runs differ in their number of rewired connections,
the training error after one epoch of the small-world runs against that number (Figure 4). The summary lists each run's topology with
its characteristic path length L and clustering coefficient C (of the topology as generated, before any removal of
its layer-skipping connections, which the summary notes).
"""

from __future__ import annotations

import dataclasses

from pathlib import Path

import numpy as np

from .atomic import write_text_atomically
from .metrics import applied_share, final_results, moving_average, spread, total_correction
from .plots import error_curves, error_vs_replaced, layer_rates
from .store import Run

#: Half-width n of eq 21's window, in recorded batches.
SMOOTHING = 25


def smoothed_rates(run: Run, n: int = SMOOTHING) -> tuple[np.ndarray, np.ndarray]:
    """Eq 21 over a run's eq-20 record: (batches, smoothed rates (M, pairs))."""
    rms = np.asarray(run.rate_rms, dtype=np.float64).reshape(-1, len(run.network.sizes) - 1)
    return np.asarray(run.rate_batches), moving_average(rms, n)


def smoothed_applied(run: Run, n: int = SMOOTHING) -> np.ndarray | None:
    """Eq 21 over the changes the weight store applied (M, pairs), or None where they equal the proposed ones
    (no hardware models)."""
    proposed, applied = (np.asarray(a, dtype=np.float64) for a in (run.rate_rms, run.applied_rms))
    if applied.shape != proposed.shape or np.array_equal(applied, proposed):
        return None
    return moving_average(applied.reshape(-1, len(run.network.sizes) - 1), n)


def hardware_label(hardware: dict | None) -> str:
    """A run's hardware settings in a few words: ``ideal``, or each group's non-default fields
    (``storage bits=4 rounding=stochastic``)."""
    from .hardware import Hardware, load_hardware

    if not hardware:
        return "ideal"
    settings, default = load_hardware(hardware), Hardware()
    if settings.ideal:
        return "ideal"
    parts = []
    for group in dataclasses.fields(settings):
        ours, theirs = getattr(settings, group.name), getattr(default, group.name)
        if type(ours) is not type(theirs):  # another model of the group (a pulse response): against its defaults
            theirs = type(ours)()
            changed = [f"model={ours.model}"]
        else:
            changed = []
        changed += [f"{f.name}={getattr(ours, f.name)}" for f in dataclasses.fields(ours)
                    if not (changed and f.name == "model") and getattr(ours, f.name) != getattr(theirs, f.name)]
        if changed:
            parts.append(f"{group.name} " + " ".join(changed))
    return "; ".join(parts)


def run_summary(name: str, run: Run) -> dict:
    """The numbers the summary reports of one run."""
    t, h = run.topology, run.history
    rms = np.asarray(run.rate_rms, dtype=np.float64).reshape(-1, len(run.network.sizes) - 1)
    total = total_correction(rms)
    return {
        "run": name,
        "topology": t["kind"],
        "sizes": "-".join(map(str, t["sizes"])),
        "rewired": int(t["n_rewired"]),
        "mode": t["mode"],
        "skips_removed_after": int(t.get("skip_removed_after", 0)),
        "L": float(t["path_length"]),
        "C": float(t["clustering"]),
        "lr": ", ".join(f"{r:g}" for r in run.config["lr"]),
        "hardware": hardware_label(run.config.get("hardware")),
        "nudge": run.config.get("nudge", "weak") + (" ±β" if run.config.get("random_sign") else ""),
        "epochs": run.epochs_done,
        **final_results(h),
        "first_epoch_train_error": float(h["train_error"][0]) if run.epochs_done else float("nan"),
        "spread": spread(total),
        "deepest_over_shallowest": _ratio(total[0], total[-1]) if len(total) > 1 else float("nan"),
        "applied": applied_share(rms, np.asarray(run.applied_rms, dtype=np.float64).reshape(rms.shape))
        if len(run.applied_rms) == len(rms) and len(rms) else np.full(rms.shape[1], np.nan),
    }


def write_report(runs: dict[str, Run], out_dir: str | Path, smoothing: int = SMOOTHING) -> list[Path]:
    """Write the figures and ``summary.md`` for ``runs`` (name -> run) to ``out_dir``; returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [error_curves(runs, out_dir / "errors.png")]
    recorded = {name: run for name, run in runs.items() if run.rate_rms}
    if recorded:
        smoothed = {name: smoothed_rates(run, smoothing) for name, run in recorded.items()}
        applied = {name: smoothed_applied(run, smoothing) for name, run in recorded.items()}
        written.append(layer_rates(recorded, smoothed, out_dir / "rates.png", applied))
    rows = [run_summary(name, run) for name, run in runs.items()]
    rewired = [r for r in rows if r["topology"] == "small-world"]
    modes = {r["mode"] for r in rewired if r["rewired"]}
    if len({r["rewired"] for r in rewired}) > 1:  # Figure 4 compares small-world runs only
        written.append(error_vs_replaced(np.array([r["rewired"] for r in rewired]),
                                         np.array([r["first_epoch_train_error"] for r in rewired]),
                                         out_dir / "replaced.png", modes.pop() if len(modes) == 1 else "mixed"))
    written.append(_summary(rows, [p.name for p in written], out_dir / "summary.md", smoothing))
    return written


def _rewired(row: dict) -> str:
    removed = row["skips_removed_after"]
    return f"{row['rewired']} ({row['mode']}" + (f"; skips removed after epoch {removed})" if removed else ")")


def _shares(shares: np.ndarray) -> str:
    return " / ".join("—" if np.isnan(v) else f"{100 * v:.0f} %" for v in shares)


def _count(value: float) -> str:
    return "—" if np.isnan(value) else f"{value:.0f}"


def _summary(rows: list[dict], figures: list[str], path: Path, smoothing: int) -> Path:
    lines = [
        "# neurosim report", "",
        "| run | topology | sizes | rewired | L | C | lr | nudge | hardware | epochs | train error | test error | best test | silent outputs | spread (eq 23) | first pair / output pair | applied |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['run']} | {r['topology']} | {r['sizes']} | {_rewired(r)} | {r['L']:.4f} | "
            f"{r['C']:.4f} | {r['lr']} | {r['nudge']} | {r['hardware']} | {r['epochs']} | {100 * r['train_error']:.2f} % | "
            f"{100 * r['test_error']:.2f} % | {100 * r['best_test_error']:.2f} % | {_count(r['silent_outputs'])} | "
            f"{r['spread']:.3g} | {r['deepest_over_shallowest']:.3g} | {_shares(r['applied'])} |")
    lines += ["", "Spread (eq 23): the summed RMS corrections (eq 22) of the faster deep layer pairs over the slower, "
              "the output pair left out; silent outputs: output units below 1 mV on every test example "
              "after the last epoch (— in run files older than the count); first pair / output pair: the "
              f"input-side pair's total correction over the output pair's; applied: the share of each pair's proposed "
              "update (input side first) that the weight store applied, as RMS (all 100 % without hardware models; "
              f"above 100 % under stochastic rounding, its noise). Rates in rates.png are smoothed over ±{smoothing} "
              "recorded batches (eq 21).", ""]
    lines += [f"![{name}]({name})" for name in figures]
    write_text_atomically(path, "\n".join(lines) + "\n", "report")
    return path


def _ratio(a: float, b: float) -> float:
    """a / b, NaN where it is not a number (b zero, or both infinite: an update whose squares overflowed)."""
    return float(a / b) if 0 < b < np.inf else float("nan")
