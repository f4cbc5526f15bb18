"""A bit-depth study's points and what each finished one left (:class:`StudyPoint`, :class:`PointResult`), read
from a run file, and the figures of points that vary weight bits.

Below both the sweep (which draws these figures for any grid with a bits axis) and the bit-depth study
(:mod:`neurosim.bitdepth`, which makes its points a sweep grid): neither needs the other for them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .build import store_of
from .config import make_config
from . import metrics
from .settings import setting_text
from .store import Run, flat_settings

#: The rounding a table shows for a point with ideal storage (0 bits), whose updates are written exactly whatever
#: its ``rounding`` field says: one word in study.csv and sweep.csv alike.
EXACT = "exact"


@dataclass(frozen=True, order=True)
class StudyPoint:
    """One training of the study. ``bits`` = 0: ideal storage (``rounding`` is then :data:`EXACT`)."""

    topology: str
    bits: int
    rounding: str
    seed: int
    rule: str = "eqprop"

    @property
    def key(self) -> str:
        return f"{self.rule}/{self.legacy_key}"

    @property
    def legacy_key(self) -> str:
        """The key without the rule, as study files written before the rule axis name their EqProp points."""
        return f"{self.topology}/{'ideal' if self.bits == 0 else f'{self.bits}bit'}/{self.rounding}/seed{self.seed}"


@dataclass
class PointResult:
    """What one finished point left: its configuration, per-epoch history and per-batch rates (eq 20) of the
    intended and applied updates, the store's weight step, the wall time and its run file's name (``file``; "" for
    a point of an earlier study file)."""

    point: StudyPoint
    config: dict
    history: dict
    rate_batches: np.ndarray
    rate_rms: np.ndarray
    applied_rms: np.ndarray
    weight_step: float
    seconds: float
    file: str = ""

    @property
    def row(self) -> dict:
        h = self.history
        return {
            "rule": self.point.rule,
            "topology": self.point.topology,
            "bits": self.point.bits,
            "rounding": self.point.rounding,
            "seed": self.point.seed,
            "weight_step": self.weight_step,
            "test_error": float(h["test_error"][-1]),
            "train_error": float(h["train_error"][-1]),
            "best_test_error": float(np.min(h["test_error"])),
            "applied_share": self.applied_share,
            "lost_pairs": " ".join(f"{k}-{k + 1}" for k in self.lost_pairs),
            "seconds": self.seconds,
            "file": self.file,
        }

    @property
    def applied_share(self) -> float:
        """The smallest share, over the layer pairs, of the rule's proposed change that the weight store applied
        (:func:`~neurosim.metrics.applied_share`; 1 for an ideal store, NaN where nothing was recorded)."""
        if self.rate_rms.size == 0:
            return float("nan")
        share = metrics.applied_share(self.rate_rms, self.applied_rms)
        return float(np.nanmin(share)) if np.any(np.isfinite(share)) else float("nan")

    @property
    def lost_pairs(self) -> list[int]:
        """The layer pairs whose weights never changed although the rule proposed changes: every update was below
        what the store can write (:func:`~neurosim.metrics.lost_update_pairs`). Such a point never learned there."""
        return metrics.lost_update_pairs(self.rate_rms, self.applied_rms)


COLUMNS = ("rule", "topology", "bits", "rounding", "seed", "weight_step", "test_error", "train_error", "best_test_error",
           "applied_share", "lost_pairs", "seconds", "file")


def result_from_run(run: Run) -> PointResult:
    """A finished run file as a study point (its topology ``layered-per-layer`` when it has per-layer rates)."""
    config = make_config(**run.config)
    topology = config.topology
    if topology == "layered" and len(config.lr) > 1:
        topology = "layered-per-layer"
    storage = config.hardware.storage
    point = StudyPoint(topology, storage.bits, storage.rounding if storage.bits else EXACT, config.seed,
                       config.rule)
    return PointResult(
        point=point,
        config=config.to_dict(),
        history={k: np.asarray(v) for k, v in run.history.items()},
        rate_batches=np.asarray(run.rate_batches),
        rate_rms=np.asarray(run.rate_rms),
        applied_rms=np.asarray(run.applied_rms),
        weight_step=store_of(config).step,
        seconds=float(np.sum(run.history["train_seconds"]) + np.sum(run.history["test_seconds"])),
    )


def figure_title(run: Run) -> str:
    """The bit-depth figures' title from one of their runs: data set, layer sizes as trained (a configuration
    may leave them to the data set) and epochs, e.g. ``digits, 64-64-64-10, 3 epochs``."""
    epochs = run.config["epochs"]
    sizes = "-".join(map(str, run.network.sizes))
    return f"{run.config['dataset']}, {sizes}, {epochs} epoch{'' if epochs == 1 else 's'}"


def figure_groups(results: list[PointResult]) -> list[tuple[str, list[PointResult]]]:
    """The results split by the settings the bit-depth figures do not show, as (caption, results) pairs.

    The figures show a point's rule (panel), topology (colour), bits (x), rounding (line) and pool its seeds (mean
    and range). A setting that differs between two points equal in all of these but the seed (``n_free`` in a
    sweep over bits and ``n_free``, say) would be pooled with the seeds; instead each of its values gets figures of
    its own, captioned ``n_free=20`` (dotted names by their last part). Settings that follow from the topology,
    as a study's per-layer rates do, differ only between points of different topologies and split nothing. One
    group with caption "" when nothing needs splitting."""
    flats = [flat_settings(r.config) for r in results]
    alike = {}  # the points one figure would draw as one (rule, topology, bits, rounding), seeds pooled
    for r, flat in zip(results, flats):
        alike.setdefault((r.point.rule, r.point.topology, r.point.bits, r.point.rounding), []).append(flat)
    names = sorted({n for flat in flats for n in flat} - {"seed"})
    split = [n for n in names if any(len({repr(f.get(n)) for f in same}) > 1 for same in alike.values())]
    groups: dict[str, list[PointResult]] = {}
    for r, flat in zip(results, flats):
        caption = ", ".join(f"{n.split('.')[-1]}={setting_text(flat.get(n))}" for n in split)
        groups.setdefault(caption, []).append(r)
    return list(groups.items())


#: The names :func:`bitdepth_figures` writes: ``sweep-error.png``, ``sweep-updates-2.png``, ...
FIGURE_NAME = re.compile(r"sweep-(error|updates)(-\d+)?\.png")


def bitdepth_figures(out: Path, runs: dict[str, Run]) -> None:
    """The bit-depth figures of the finished ``runs``: ``<out>/sweep-error.png`` (test error against weight bits,
    :func:`neurosim.plots.error_vs_bits`) and, where an ideal point is among them, ``<out>/sweep-updates.png``
    (each layer pair's update beside the weight step, :func:`neurosim.plots.update_vs_step`). Where the runs
    differ in a setting the figures do not show (:func:`figure_groups`), one pair per value of it instead,
    ``sweep-error-1.png``, ``sweep-updates-1.png``, ... in the order of the runs, each titled with its value.
    Earlier figures of these names (:data:`FIGURE_NAME`) in ``out`` are removed first, no other file."""
    from .plots import error_vs_bits, update_vs_step  # matplotlib: imported only to draw

    for old in out.glob("sweep-*.png"):
        if FIGURE_NAME.fullmatch(old.name):
            old.unlink()
    groups = figure_groups([result_from_run(run) for run in runs.values()])
    title = figure_title(next(iter(runs.values())))
    for k, (caption, results) in enumerate(groups, 1):
        suffix = f"-{k}" if len(groups) > 1 else ""
        heading = f"{title}, {caption}" if caption else title
        error_vs_bits(results, out / f"sweep-error{suffix}.png", heading)
        if any(r.point.bits == 0 for r in results):
            update_vs_step(results, out / f"sweep-updates{suffix}.png", heading)
