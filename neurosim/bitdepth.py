"""The bit-depth study: how many bits a weight needs, per topology and rounding (``neurosim bitdepth``).

A study is a grid of points, rule x topology x weight bits x rounding x seed, each one training run of a base
configuration. The rules are EqProp and the feedforward baselines of :mod:`neurosim.rules` (on the layered
topologies only). The topologies are ``layered`` (one learning rate), ``layered-per-layer`` (one rate per pair of
layers, :func:`per_layer_rates`) and ``small-world``. Bits 0 is the ideal machine (run once per topology and
seed: rounding does not apply). The runs of one seed share topology, initial weights (before programming) and
data order: only the hardware differs.

Results go to one HDF5 file, rewritten atomically after every point, so a stopped study keeps every finished
point and a rerun skips them::

    /                        attrs: format ("neurosim-bitdepth"), base_config (JSON), created
    /points                  one row per finished point: topology, bits, rounding, seed (the grid),
                             weight_step (the store's step; 0 ideal), test_error, train_error (last epoch),
                             best_test_error, seconds
    /runs/<point key>        attrs config (JSON); history/<field> per epoch; rates/{batch, rms, applied}

and :func:`write_table` / :mod:`neurosim.plots` make the CSV table and the figures.
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
from tqdm.auto import tqdm

from .config import ConfigError, TrainConfig, make_config, resolved_sizes
from .data import Dataset, load_dataset
from .rules import RULES
from .store import HISTORY_FIELDS, Run, RunFileError, write_atomically
from .build import store_of
from .train import train

FORMAT = "neurosim-bitdepth"
TOPOLOGIES = ("layered", "layered-per-layer", "small-world")

#: Ratio between the learning rates of neighbouring layer pairs in ``layered-per-layer`` (the paper's Table 1:
#: .128, .032, .008, .002).
PER_LAYER_RATIO = 4.0


@dataclass(frozen=True, order=True)
class StudyPoint:
    """One training of the study. ``bits`` = 0: ideal storage (``rounding`` is then "exact")."""

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


def study_points(topologies, bits, roundings, seeds, rules=("eqprop",)) -> list[StudyPoint]:
    """The grid, ideal once per rule, topology and seed, the feedforward rules on layered topologies only;
    raises :class:`ConfigError` naming a bad entry."""
    for r in rules:
        if r not in RULES:
            raise ConfigError(f"rule {r!r}: choose from {', '.join(RULES)}")
    for t in topologies:
        if t not in TOPOLOGIES:
            raise ConfigError(f"topology {t!r}: choose from {', '.join(TOPOLOGIES)}")
    for r in roundings:
        if r not in ("nearest", "stochastic"):
            raise ConfigError(f"rounding {r!r}: choose nearest or stochastic")
    for b in bits:
        if b < 0 or b == 1:
            raise ConfigError(f"bits {b}: give 0 (ideal) or 2 and more (a signed weight needs 2 bits)")
    points = []
    for rule in rules:
        for t in topologies:
            if RULES[rule].layered_only and t == "small-world":
                continue
            for s in seeds:
                for b in sorted(set(bits), key=lambda b: (b == 0, b)):
                    points += ([StudyPoint(t, 0, "exact", s, rule)] if b == 0 else
                               [StudyPoint(t, b, r, s, rule) for r in roundings])
    return points


def per_layer_rates(lr: float, n_pairs: int, ratio: float = PER_LAYER_RATIO) -> tuple[float, ...]:
    """One rate per layer pair, input side first, each ``ratio`` times the next, with geometric mean ``lr``:
    lr * ratio^((n_pairs - 1) / 2 - k). For 4 pairs and lr = 0.02: 0.16, 0.04, 0.01, 0.0025 (the paper: .128,
    .032, .008, .002)."""
    return tuple(lr * ratio ** ((n_pairs - 1) / 2 - k) for k in range(n_pairs))


def point_config(base: TrainConfig, point: StudyPoint, n_pairs: int, per_layer_lr=None) -> TrainConfig:
    """The training configuration of ``point``: ``base`` with its topology, seed and storage."""
    values = base.to_dict()
    values.update(topology="small-world" if point.topology == "small-world" else "layered", seed=point.seed,
                  rule=point.rule)
    if point.topology.startswith("layered"):
        values.update(rewire_n=None, rewire_p=None)
    if point.topology == "layered-per-layer":
        values["lr"] = tuple(per_layer_lr) if per_layer_lr else per_layer_rates(base.lr[0], n_pairs)
    elif len(base.lr) != 1:
        raise ConfigError(f"lr={list(base.lr)}: the study's {point.topology} runs take one rate; give per-layer rates "
                          "with per_layer_lr")
    storage = {"bits": point.bits, "rounding": "nearest" if point.bits == 0 else point.rounding}
    values["hardware"] = base.hardware.with_storage(**storage).to_dict()
    return make_config(**values)


@dataclass
class PointResult:
    """What one finished point left: its configuration, per-epoch history and per-batch rates (eq 20) of the
    intended and applied updates, the store's weight step and the wall time."""

    point: StudyPoint
    config: dict
    history: dict
    rate_batches: np.ndarray
    rate_rms: np.ndarray
    applied_rms: np.ndarray
    weight_step: float
    seconds: float

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
            "seconds": self.seconds,
        }


COLUMNS = ("rule", "topology", "bits", "rounding", "seed", "weight_step", "test_error", "train_error", "best_test_error",
           "seconds")


def result_from_run(run: Run) -> PointResult:
    """A finished run file as a study point (its topology ``layered-per-layer`` when it has per-layer rates)."""
    config = make_config(**run.config)
    topology = config.topology
    if topology == "layered" and len(config.lr) > 1:
        topology = "layered-per-layer"
    storage = config.hardware.storage
    point = StudyPoint(topology, storage.bits, storage.rounding if storage.bits else "exact", config.seed,
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


def run_point(config: TrainConfig, point: StudyPoint, data: Dataset) -> PointResult:
    started = time.perf_counter()
    result = result_from_run(train(config, data=data, progress=False))
    result.seconds = time.perf_counter() - started
    result.point = point
    return result


def run_study(
    base: TrainConfig,
    points: list[StudyPoint],
    out: str | Path,
    *,
    per_layer_lr=None,
    data: Dataset | None = None,
    progress: bool = True,
) -> list[PointResult]:
    """Train every point not yet in ``out``, saving ``out`` after each; returns all points' results, in grid order.

    An existing ``out`` must hold a study of the same base configuration (else :class:`ConfigError`: nothing is
    overwritten). ``data`` replaces loading the configured data set.
    """
    out = Path(out)
    base_json = json.dumps(base.to_dict(), sort_keys=True)
    results = {}
    if out.exists():
        stored_base, previous = read_study(out)
        differences = base_differences(json.loads(stored_base), json.loads(base_json))
        if differences:
            raise ConfigError(f"{out} holds a study of another base configuration ({'; '.join(differences)}); give "
                              "a new file or the same settings")
        results = {r.point.key: r for r in previous}
    data = data or load_dataset(base.dataset, base.data_dir, base.n_train, base.n_test)
    n_pairs = len(resolved_sizes(base, data.n_inputs, data.n_classes)) - 1
    configs = {p.key: point_config(base, p, n_pairs, per_layer_lr) for p in points}  # all checked before training
    todo = [p for p in points if p.key not in results]
    bar = tqdm(todo, desc="bit-depth study", unit="run", disable=not progress)
    for point in bar:
        bar.set_postfix_str(point.key, refresh=True)
        results[point.key] = run_point(configs[point.key], point, data)
        write_study(out, base_json, list(results.values()))
    return [results[p.key] for p in points]


#: Settings each point sets itself: a study's base may differ in them.
POINT_FIELDS = ("topology", "seed", "rule")


def base_differences(stored: dict, base: dict) -> list[str]:
    """The settings in which ``base`` differs from the base ``stored`` of a study, as 'name: stored -> new': all
    that both have, but those each point sets itself (a setting added to neurosim after the study was written is
    not compared). Empty: ``base`` continues the study."""
    shared = sorted((set(stored) & set(base)) - set(POINT_FIELDS))
    return [f"{k}: {stored[k]!r} -> {base[k]!r}" for k in shared if stored[k] != base[k]]


def write_study(path: Path, base_json: str, results: list[PointResult]) -> None:
    def write(f: h5py.File) -> None:
        f.attrs.update(format=FORMAT, base_config=base_json, created=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        rows = [r.row for r in results]
        table = f.create_group("points")
        for column in COLUMNS:
            values = [row[column] for row in rows]
            if column in ("rule", "topology", "rounding"):
                table.create_dataset(column, data=np.asarray(values, dtype=h5py.string_dtype()))
            else:
                table.create_dataset(column, data=np.asarray(values, dtype=np.int64 if column in ("bits", "seed")
                                                              else np.float64))
        for r in results:
            g = f.create_group(f"runs/{r.point.key}")
            g.attrs.update(config=json.dumps(r.config), weight_step=r.weight_step, seconds=r.seconds)
            for k, v in r.history.items():
                g.create_dataset(f"history/{k}", data=v)
            packed = dict(compression="gzip", shuffle=True)
            g.create_dataset("rates/batch", data=r.rate_batches, **packed)
            g.create_dataset("rates/rms", data=r.rate_rms, **packed)
            g.create_dataset("rates/applied", data=r.applied_rms, **packed)

    write_atomically(path, write)


def read_study(path: str | Path) -> tuple[str, list[PointResult]]:
    """The base configuration (JSON) and the finished points of a study file; :class:`RunFileError` if it is not
    one."""
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != FORMAT:
                raise RunFileError(f"{path}: not a neurosim bit-depth study file")
            t = f["points"]
            results = []
            for k in range(len(t["bits"])):
                rule = t["rule"][k].decode() if "rule" in t else "eqprop"
                point = StudyPoint(t["topology"][k].decode(), int(t["bits"][k]), t["rounding"][k].decode(),
                                   int(t["seed"][k]), rule)
                g = f[f"runs/{point.key if 'rule' in t else point.legacy_key}"]
                results.append(PointResult(
                    point=point,
                    config=json.loads(g.attrs["config"]),
                    history={k2: g[f"history/{k2}"][()] for k2 in HISTORY_FIELDS if f"history/{k2}" in g},
                    rate_batches=g["rates/batch"][()],
                    rate_rms=g["rates/rms"][()],
                    applied_rms=g["rates/applied"][()],
                    weight_step=float(g.attrs["weight_step"]),
                    seconds=float(g.attrs["seconds"]),
                ))
            return str(f.attrs["base_config"]), results
    except RunFileError:
        raise
    except (OSError, KeyError, ValueError) as err:
        raise RunFileError(f"{path}: damaged or not a bit-depth study file ({err})") from None


def write_table(path: str | Path, results: list[PointResult]) -> None:
    """The points as a CSV table, one row each (columns :data:`COLUMNS`)."""
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(r.row for r in results)
