"""The bit-depth study: how many bits a weight needs, per topology and rounding (``neurosim bitdepth``).

A study is a grid of points, rule x topology x weight bits x rounding x seed, each one training run of a base
configuration. The rules are EqProp and the feedforward baselines of :mod:`neurosim.rules` (on the layered
topologies only). The topologies are ``layered`` (one learning rate), ``layered-per-layer`` (one rate per pair of
layers, :func:`per_layer_rates`) and ``small-world``. Bits 0 is the ideal machine (run once per topology and
seed: rounding does not apply). The runs of one seed share topology, initial weights (before programming) and
data order: only the hardware differs.

A study is a sweep (:mod:`neurosim.sweep`): :func:`study_grid` turns its points into a grid of explicit rows, and
the points train into one directory, one run file per point named by the hash of its configuration, with the
sweep's resume (a complete file is skipped, an interrupted one resumed from its last epoch) and the sweep's
collected results (``sweep.csv``, ``sweep.h5``, the report, and the figures ``sweep-error.png`` and
``sweep-updates.png``). :func:`read_study` reads the points back as :class:`PointResult`; :func:`write_table`
writes the study's own view (``study.csv``: rule, topology with ``layered-per-layer``, bits, rounding, seed,
the store's weight step, errors). Study files of earlier versions (one HDF5 file, format ``neurosim-bitdepth``)
are still read by :func:`read_study`, and refused as an output.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
from tqdm.auto import tqdm

from .atomic import csv_text, write_text_atomically
from .config import ConfigError, TrainConfig, make_config, resolved_sizes
from .data import Dataset, load_dataset
from .rules import RULES
from .store import HISTORY_FIELDS, RunFileError, load_run, read_config, writer_lock
from .sweep import Grid, collect, computed_identity, is_complete, point_file, stored_points, with_settings
from .sweep import run_point as sweep_point
from .studypoints import COLUMNS, EXACT, PointResult, StudyPoint, result_from_run

FORMAT = "neurosim-bitdepth"
TOPOLOGIES = ("layered", "layered-per-layer", "small-world")

#: Ratio between the learning rates of neighbouring layer pairs in ``layered-per-layer`` (the paper's Table 1:
#: .128, .032, .008, .002).
PER_LAYER_RATIO = 4.0


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
    for name, values in (("topologies", topologies), ("bits", bits), ("roundings", roundings), ("seeds", seeds),
                         ("rules", rules)):
        if not values:
            raise ConfigError(f"--{name}: give at least one value")
    for s in seeds:
        if s < 0:
            raise ConfigError(f"seed {s}: seeds are 0 or more")
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
                    points += ([StudyPoint(t, 0, EXACT, s, rule)] if b == 0 else
                               [StudyPoint(t, b, r, s, rule) for r in roundings])
    return points


def per_layer_rates(lr: float, n_pairs: int, ratio: float = PER_LAYER_RATIO) -> tuple[float, ...]:
    """One rate per layer pair, input side first, each ``ratio`` times the next, with geometric mean ``lr``:
    lr * ratio^((n_pairs - 1) / 2 - k). For 4 pairs and lr = 0.02: 0.16, 0.04, 0.01, 0.0025 (the paper: .128,
    .032, .008, .002)."""
    return tuple(lr * ratio ** ((n_pairs - 1) / 2 - k) for k in range(n_pairs))


def point_settings(base: TrainConfig, point: StudyPoint, n_pairs: int, per_layer_lr=None) -> tuple:
    """The settings that make ``point`` out of ``base``, as (configuration field, value) pairs in the study's
    axis order (:data:`STUDY_AXES`): its rule, topology, seed and rates, and its weight store."""
    layered = point.topology.startswith("layered")
    if point.topology == "layered-per-layer":
        lr = list(per_layer_lr) if per_layer_lr else list(per_layer_rates(base.lr[0], n_pairs))
    elif len(base.lr) != 1:
        raise ConfigError(f"lr={list(base.lr)}: the study's {point.topology} runs take one rate; give per-layer rates "
                          "with per_layer_lr")
    else:
        lr = list(base.lr)
    values = {
        "rule": point.rule,
        "topology": "layered" if layered else "small-world",
        "seed": point.seed,
        "lr": lr,
        "rewire_n": None if layered else base.rewire_n,
        "rewire_p": None if layered else base.rewire_p,
        "hardware.storage.bits": point.bits,
        "hardware.storage.rounding": "nearest" if point.bits == 0 else point.rounding,
    }
    return tuple((name, values[name]) for name in STUDY_AXES)


#: The configuration fields a study point sets (:func:`point_settings`): the columns of its sweep table.
STUDY_AXES = ("rule", "topology", "seed", "lr", "rewire_n", "rewire_p", "hardware.storage.bits",
              "hardware.storage.rounding")


def point_config(base: TrainConfig, point: StudyPoint, n_pairs: int, per_layer_lr=None) -> TrainConfig:
    """The training configuration of ``point``: ``base`` with its settings (:func:`point_settings`)."""
    return make_config(**with_settings(base.to_dict(), point_settings(base, point, n_pairs, per_layer_lr)))


def study_grid(base: TrainConfig, points: list[StudyPoint], out: str | Path, n_pairs: int,
               per_layer_lr=None) -> Grid:
    """The study as a sweep grid (:class:`neurosim.sweep.Grid`) of explicit rows, one per point, in ``out``:
    one run file per point, named by the hash of its configuration, resumed and collected like any sweep's."""
    rows = tuple(point_settings(base, p, n_pairs, per_layer_lr) for p in points)
    axes = {name: list(dict.fromkeys(json.dumps(row[k][1]) for row in rows)) for k, name in enumerate(STUDY_AXES)}
    return Grid(base=base.to_dict(), axes={n: [json.loads(v) for v in vals] for n, vals in axes.items()},
                out=Path(out), rows=rows)


def run_point(values: dict, point: StudyPoint, path: Path, data: Dataset) -> None:
    """Train one point to its run file (resuming an incomplete one), in this process."""
    sweep_point(values, str(path), data)


def run_study(
    base: TrainConfig,
    points: list[StudyPoint],
    out: str | Path,
    *,
    per_layer_lr=None,
    data: Dataset | None = None,
    progress: bool = True,
) -> list[PointResult]:
    """Train every point not yet complete in the study directory ``out`` (a sweep: one run file per point,
    :func:`study_grid`), one after another in this process; collect the sweep's table and figures
    (:func:`neurosim.sweep.collect`); return every point's result, in grid order.

    A stopped study resumes where it stopped, the point it was training from its last epoch; a changed base
    configuration makes new points beside the old ones. ``out`` must not be a study file of an earlier neurosim
    (one HDF5 file: :class:`ConfigError` saying so; :func:`read_study` still reads it). ``data`` replaces loading
    the configured data set."""
    out = Path(out)
    if out.is_file():
        raise ConfigError(f"{out}: a file, not a study directory" + (
            " (a bit-depth study file of an earlier neurosim: read it with neurosim.bitdepth.read_study; a study is "
            "now a directory of run files)" if _is_study_file(out) else "") + "; give a directory with -o")
    data = data or load_dataset(base.dataset, base.data_dir, base.n_train, base.n_test)
    n_pairs = len(resolved_sizes(base, data.n_inputs, data.n_classes)) - 1
    grid = study_grid(base, points, out, n_pairs, per_layer_lr)
    swept = grid.points()
    for sp in swept:  # every point's configuration checked before any trains
        make_config(**sp.values)
    out.mkdir(parents=True, exist_ok=True)
    with writer_lock(out / "sweep.h5"):  # one study or sweep per output directory
        stored = stored_points(out)  # the directory read once: each point's file, its own or an earlier name's
        files = [point_file(out, sp, stored) for sp in swept]
        todo = [(p, sp, f) for p, sp, f in zip(points, swept, files) if not is_complete(f)]
        bar = tqdm(todo, desc="bit-depth study", unit="run", disable=not progress)
        for point, sp, file in bar:
            bar.set_postfix_str(point.key, refresh=True)
            run_point(sp.values, point, file, data)
        collect(grid)
    results = []
    for point, file in zip(points, files):
        result = result_from_run(load_run(file))
        result.point, result.file = point, file.name
        results.append(result)
    return results


def _is_study_file(path: Path) -> bool:
    try:
        with h5py.File(path, "r") as f:
            return f.attrs.get("format") == FORMAT
    except OSError:
        return False


def read_study(path: str | Path) -> list[PointResult]:
    """The finished points of a study: a study directory (every complete run file in it, each computation once:
    an earlier neurosim may have trained a point again under another name, :func:`~neurosim.sweep.point_file`) or
    a study file of an earlier neurosim (format ``neurosim-bitdepth``); :class:`RunFileError` if it is neither."""
    path = Path(path)
    if path.is_dir():
        files = sorted(f for f in path.glob("point-*.h5") if is_complete(f))
        if not files:
            raise RunFileError(f"{path}: no finished study point (point-*.h5) in this directory")
        once = {}
        for f in files:
            config = read_config(f)
            once.setdefault((config is not None and computed_identity(config)) or f.name, f)
        results = [result_from_run(load_run(f)) for f in once.values()]
        for result, f in zip(results, once.values()):
            result.file = f.name
        return results
    return _read_study_file(path)


def _read_study_file(path: Path) -> list[PointResult]:
    """The points of a study file written before studies were sweeps (one HDF5 file, /points and /runs)."""
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != FORMAT:
                raise RunFileError(f"{path}: not a neurosim bit-depth study (a directory, or an earlier study file)")
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
            return results
    except RunFileError:
        raise
    except (OSError, KeyError, ValueError) as err:
        raise RunFileError(f"{path}: damaged or not a bit-depth study ({err})") from None


def write_table(path: str | Path, results: list[PointResult]) -> None:
    """The points as a CSV table, one row each (columns :data:`COLUMNS`)."""
    write_text_atomically(path, csv_text([r.row for r in results], COLUMNS), "table")
