"""Sweeps on Dask: a grid of training configurations, one run file per point, resumable (``neurosim sweep``).

A grid file (TOML) names a base configuration and the axes to sweep::

    out = "sweep-bits"                         # where the point files go (default: beside the grid, its name)
    [base]                                     # TrainConfig fields, as in ``neurosim train --config``
    dataset = "digits"
    epochs = 5
    [grid]                                     # every combination of these values is one point
    topology = ["layered", "small-world"]
    seed = [0, 1]
    "hardware.storage.bits" = [4, 8, 0]        # hardware fields by their dotted names

Each point trains in a Dask task (:func:`run_point`) and writes ``<out>/<point>.h5``, checkpointed atomically
after every epoch (:func:`neurosim.store.save_run`): a complete file is skipped on a rerun, an incomplete one
(a worker or the sweep stopped mid-point) is resumed from its last epoch, and a point that fails leaves
``<out>/<point>.error.json`` with its error, without stopping the others. :func:`collect` gathers every point
into ``<out>/sweep.csv`` and ``<out>/sweep.h5`` and, for grids over weight bits, the bit-depth figures.

A point's name is a hash of its settings, so a grid can grow without renaming the points it had.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
from tqdm.auto import tqdm

from .atomic import csv_text, write_text_atomically
from .config import FIELDS, FLAT_SETTINGS, ConfigError, did_you_mean, make_config
from .rules import RULES
from .metrics import final_results
from .store import Run, RunFileError, load_run, read_config, write_atomically, writer_lock
from .settings import setting_text
from .studypoints import EXACT, bitdepth_figures
from .tomlfile import read_toml
from .training import train

#: Columns of the result table after the point's settings.
RESULT_COLUMNS = ("point", "status", "epochs_done", "test_error", "train_error", "best_test_error",
                  "silent_outputs", "train_seconds", "error")


#: Configuration fields that say where this machine keeps things, not what a point computes.
LOCAL_FIELDS = ("data_dir",)

#: Configuration fields only some rules read (:attr:`neurosim.rules.RULES` ``settings``): out of the identity of a
#: point whose rule does not read them (:func:`computed_identity`).
RULE_SETTINGS = ("rule_lr", "output_error", "rule_devices", "neurons", "sampling")


@dataclass(frozen=True)
class SweepPoint:
    """One point of a grid: its ``settings`` (axis name, value) in the grid's order, and its full configuration
    ``values`` (the base with the settings applied)."""

    settings: tuple
    values: dict

    @property
    def label(self) -> str:
        """The point's settings as a reader wants them in a legend: ``bits=4, rounding=stochastic, seed=1`` (each
        axis by the last part of its dotted name)."""
        return ", ".join(f"{name.split('.')[-1]}={setting_text(value)}" for name, value in self.settings) or self.name

    @property
    def name(self) -> str:
        """``point-`` and a hash of the whole configuration but the data directory: a changed ``[base]`` makes new
        points beside the old files instead of taking those for done, and adding values to an axis, or moving the
        data, renames none of the points already made."""
        return _point_name(self.values)


def _point_name(values: dict) -> str:
    identity = {k: v for k, v in values.items() if k not in LOCAL_FIELDS}
    digest = hashlib.sha1(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
    return f"point-{digest}"


def computed_identity(values: dict) -> str | None:
    """The name of what ``values`` computes: the hash of the whole configuration :func:`make_config` makes of it
    (every field filled in, old field names read as today's), the data directory aside. Equal for a point and the
    file an earlier neurosim trained for it, whatever fields were added or renamed between them; None if
    ``values`` is not a valid configuration. The settings of :data:`RULE_SETTINGS` that the point's rule does not
    read are left out, so that a new default of one (the spiking neurons') leaves every other rule's point as it
    was."""
    try:
        config = make_config(**values)
    except (ConfigError, TypeError, ValueError):
        return None
    reads = RULES[config.rule].settings
    return _point_name({k: v for k, v in config.to_dict().items() if k not in RULE_SETTINGS or k in reads})


@dataclass(frozen=True)
class Grid:
    """A grid of trainings: the base configuration (a dict of :class:`TrainConfig` fields), the axes (name ->
    values, in file order), and the output directory. ``rows``: the points as explicit settings, each a tuple of
    (axis name, value) in the axes' order, for a grid that is not every combination of its axes (the bit-depth
    study: :func:`neurosim.bitdepth.study_grid`); None: every combination."""

    base: dict
    axes: dict
    out: Path
    rows: tuple | None = None

    @classmethod
    def of_rows(cls, base: dict, rows, out) -> "Grid":
        """A grid of explicit ``rows`` (each a tuple of (axis name, value)), its axes the names in first-seen order
        with the values each takes."""
        axes: dict = {}
        for row in rows:
            for name, value in row:
                values = axes.setdefault(name, [])
                if value not in values:
                    values.append(value)
        return cls(base=base, axes=axes, out=Path(out), rows=tuple(rows))

    def points(self) -> list[SweepPoint]:
        """The rows, or every combination of the axes' values, the last axis varying fastest."""
        names = list(self.axes)
        rows = self.rows if self.rows is not None else (
            tuple(zip(names, combo)) for combo in itertools.product(*(self.axes[n] for n in names)))
        return [SweepPoint(tuple(row), with_settings(self.base, row)) for row in rows]


def load_grid(path: str | Path, out: str | Path | None = None) -> Grid:
    """Parse a grid file; :class:`ConfigError` naming the file and the bad entry."""
    path = Path(path)
    values = read_toml(path, ConfigError, "grid")
    unknown = sorted(set(values) - {"out", "base", "grid"})
    if unknown:
        raise ConfigError(f"{path}: unknown entries {unknown}; a grid file has out, [base] and [grid]")
    base, axes = values.get("base", {}), values.get("grid", {})
    for name, value in (("base", base), ("grid", axes)):
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: {name} = {value!r}: [{name}] must be a table of settings")
    if not isinstance(values.get("out", ""), str):
        raise ConfigError(f"{path}: out = {values['out']!r}: must be a directory name (a string)")
    if not axes:
        raise ConfigError(f"{path}: no [grid] table: name at least one field and its values")
    names = axis_names()
    for name, options in axes.items():
        if name not in names:
            raise ConfigError(f"{path}: grid axis {name!r} is not a configuration field"
                              + did_you_mean([name], names))
        if not isinstance(options, list) or not options:
            raise ConfigError(f"{path}: grid axis {name!r} needs a non-empty list of values, not {options!r}")
        seen = [json.dumps(v, sort_keys=True) for v in options]
        twice = next((v for k, v in enumerate(options) if seen[k] in seen[:k]), None)
        if len(set(seen)) != len(seen):
            raise ConfigError(f"{path}: grid axis {name!r} lists {twice!r} twice; each value is one point")
    try:
        make_config(**base)
    except ConfigError as err:
        raise ConfigError(f"{path}: [base]: {err}") from None
    target = Path(out) if out is not None else path.parent / str(values.get("out", path.stem))
    return Grid(base=base, axes=axes, out=target)


def axis_names() -> tuple[str, ...]:
    """Every name a grid axis may have: the configuration's fields, the engines' and the circuit's settings by
    their top-level names and by dotted ones (``engine.n_free``, ``circuit.r_leak``), and each hardware group's
    fields (``hardware.storage.bits``)."""
    from .circuit import Circuit
    from .crossbars import CROSSBARS
    from .engines import ENGINES
    from .hardware import Hardware
    from .hardware.response import MODELS
    from .hardware.settings import RENAMED
    from .settings import settings_fields
    from .sampling import Sampling
    from .spiking import LIF

    dotted = ["engine.name", *(f"engine.{f.name}" for e in ENGINES.values() for f in settings_fields(e)),
              *(f"circuit.{f.name}" for f in settings_fields(Circuit)), "circuit.crossbar", "circuit.crossbar.name",
              *(f"circuit.crossbar.{f.name}" for kind in CROSSBARS.values() for f in settings_fields(kind)),
              *(f"hardware.{g.name}.{f.name}" for g in dataclasses.fields(Hardware)
                for f in dataclasses.fields(type(getattr(Hardware(), g.name)))),
              *(f"hardware.response.{f.name}" for model in MODELS.values() for f in dataclasses.fields(model)),
              *(f"hardware.{group}.{old}" for group, old in RENAMED),  # studies begun before a rename
              *(f"neurons.{f.name}" for f in dataclasses.fields(LIF)),
              *(f"sampling.{f.name}" for f in dataclasses.fields(Sampling))]
    return tuple(dict.fromkeys((*FIELDS, *FLAT_SETTINGS, *dotted)))


def with_settings(base: dict, settings) -> dict:
    """``base`` with each (dotted name, value) of ``settings`` set; nested dicts are copied, not shared."""
    values = json.loads(json.dumps(base))
    for name, value in settings:
        *groups, field = name.split(".")
        node = values
        for group in groups:
            node = node.setdefault(group, {})
            if isinstance(node, str):
                raise ConfigError(f"{name}: the base sets {group!r} to a name; give its fields in the base")
            if not isinstance(node, dict):
                raise ConfigError(f"{name}: the base sets {group!r} to {node!r}, which has no fields")
        node[field] = value
    return values


# ----------------------------------------------------------------------------------------------------------------
# Running


def point_file(out: Path, point: SweepPoint, stored: dict | None = None) -> Path:
    """``<out>/<point name>.h5``; where no such file exists but another point file in ``out`` stores the same
    configuration once both are filled in (:func:`computed_identity`: a study begun by an earlier neurosim, whose
    configuration had fewer fields or older names, so its hashes differ), that file, so it is resumed or
    collected, not trained again. A complete one is preferred to an incomplete one. ``stored``: the directory's
    :func:`stored_points`, read once for a whole grid (None: read here)."""
    path = out / f"{point.name}.h5"
    if path.exists() or not out.is_dir():
        return path
    identity = computed_identity(point.values)
    if identity is None:
        return path
    matches = (stored_points(out) if stored is None else stored).get(identity, ())
    return matches[0] if matches else path


def stored_points(out: Path) -> dict[str, tuple[Path, ...]]:
    """Every point file in ``out`` by the :func:`computed_identity` of the configuration it stores, the complete
    ones first (then by name): what :func:`point_file` looks a point up in. Files whose configuration cannot be
    read are left out."""
    found: dict[str, list[Path]] = {}
    for candidate in sorted(out.glob("point-*.h5")) if out.is_dir() else ():
        stored = read_config(candidate)
        identity = None if stored is None else computed_identity(stored)
        if identity is not None:
            found.setdefault(identity, []).append(candidate)
    return {k: tuple(sorted(v, key=lambda path: not is_complete(path))) for k, v in found.items()}


def trained_points(grid: Grid, labels, train: bool = True):
    """Each point of ``grid`` with its label (from ``labels``, one per point) and its run file, trained in this
    process first where ``train`` and the file is not complete (saying so on stdout); a script's loop over a small
    grid, without Dask."""
    stored = stored_points(grid.out)
    for point, label in zip(grid.points(), labels, strict=True):
        path = point_file(grid.out, point, stored)
        if train and not is_complete(path):
            print(f"{label}: training", flush=True)
            run_point(point.values, str(path))
        yield point, label, path


def error_file(out: Path, point: SweepPoint) -> Path:
    return out / f"{point.name}.error.json"


def is_complete(path: Path) -> bool:
    """Whether a point's run file exists and holds every epoch it was asked for."""
    try:
        with h5py.File(path, "r") as f:
            return bool(f.attrs.get("complete", False))
    except (OSError, KeyError):
        return False


def run_point(values: dict, path: str, data=None) -> dict:
    """Train one point to the run file ``path`` (resuming an incomplete one; a complete one is left as it is);
    runs in a Dask worker, or in the caller's process. ``data`` replaces loading the configured data set.
    Returns the file's summary (:func:`summary`)."""
    config = make_config(**values)
    path = Path(path)
    run = None
    if path.exists():
        try:
            run = load_run(path)
        except RunFileError:
            run = None  # a damaged file: start the point again
        if run is not None:
            check_holds(path, run.config, values)
    if run is None or not run.complete:
        run = train(config, out=path, run=run, data=data, progress=False)
    return summary(run)


def check_holds(path: Path, stored: dict, values: dict) -> None:
    """Refuse (:class:`RunFileError`) a point file whose run computes something else than the point ``values``
    (:func:`computed_identity`): a file copied or written over from another configuration is neither resumed nor
    collected as the point's result."""
    if computed_identity(stored) != computed_identity(values):
        raise RunFileError(f"{path}: holds a run of another configuration than this point; move it away (the point "
                           "is then trained anew)")


def summary(run: Run) -> dict:
    """A run's results as table cells (:func:`~neurosim.metrics.final_results`, epochs, training seconds)."""
    return {
        "epochs_done": run.epochs_done,
        **final_results(run.history),
        "train_seconds": float(np.sum(run.history["train_seconds"])),
    }


def open_client(scheduler: str | None = None, workers: int | None = None):
    """A Dask client: of the scheduler at ``scheduler`` (``tcp://host:port``), or of a new LocalCluster with
    ``workers`` single-threaded worker processes (default: one per core). Returns (client, cluster or None)."""
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout="20s"), None
        except (OSError, TimeoutError, ValueError) as err:  # ValueError: an address without a port
            raise ConfigError(f"--scheduler {scheduler}: cannot connect ({err})") from None
    n = workers if workers is not None else (os.cpu_count() or 1)
    if n < 1:
        raise ConfigError(f"--workers {workers}: needs at least 1")
    # the workers' own log of a failed point (its whole traceback) stays quiet: the sweep records the failure and
    # prints it in one line (silence_logs sets the workers' log level)
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.CRITICAL)
    return Client(cluster), cluster


def run_sweep(grid: Grid, connect, *, progress: bool = True) -> list[dict]:
    """Run every point of ``grid`` whose run file is not complete on a Dask client, ``connect()`` (called only if
    a point is left to run, e.g. :func:`open_client`, or a client itself); record failures; return
    :func:`collect`'s rows. A point whose configuration is invalid is recorded as failed without running."""
    grid.out.mkdir(parents=True, exist_ok=True)
    with writer_lock(grid.out / "sweep.h5"):  # one sweep per output directory
        return _run_sweep(grid, connect, progress)


def _run_sweep(grid: Grid, connect, progress: bool) -> list[dict]:
    pending, stored = {}, stored_points(grid.out)
    for point in grid.points():
        path = point_file(grid.out, point, stored)
        if is_complete(path):
            continue
        try:
            make_config(**point.values)
        except ConfigError as err:
            _record_failure(grid.out, point, err)
            continue
        pending[point.name] = point
    if not pending:
        return collect(grid)
    client = connect() if callable(connect) else connect
    futures = {
        client.submit(run_point, point.values, str(point_file(grid.out, point, stored)), pure=False): point
        for point in pending.values()
    }
    from dask.distributed import as_completed

    bar = tqdm(total=len(futures), desc="sweep", unit="point", disable=not progress)
    for future in as_completed(futures):
        point = futures[future]
        try:
            future.result()
            error_file(grid.out, point).unlink(missing_ok=True)
        except Exception as err:  # noqa: BLE001 - any failure of a point is recorded, the others go on
            _record_failure(grid.out, point, err)
        bar.update()
    bar.close()
    return collect(grid)


def _record_failure(out: Path, point: SweepPoint, err: BaseException) -> None:
    record = {"point": point.name, "settings": dict(point.settings), "error": f"{type(err).__name__}: {err}"}
    write_text_atomically(error_file(out, point), json.dumps(record, indent=1) + "\n", "failure record")


# ----------------------------------------------------------------------------------------------------------------
# Collecting


def collect(grid: Grid) -> list[dict]:
    """One row per point (its settings, status done | failed | pending, results or error), written to
    ``<out>/sweep.csv`` and ``<out>/sweep.h5``; the report of the finished points (:mod:`neurosim.report`) in
    ``<out>/report/``; for grids that vary weight bits, also the bit-depth figures ``sweep-error.png`` and
    ``sweep-updates.png`` (a pair per value of any other setting the grid varies:
    :func:`neurosim.studypoints.bitdepth_figures`)."""
    rows, finished, stored = [], {}, stored_points(grid.out)
    for point in grid.points():
        row = dict.fromkeys(grid.axes, "")  # a row of explicit settings may leave some axes unset: blank there
        row.update({name: _cell(shown_setting(name, value, point.values)) for name, value in point.settings})
        row.update({k: "" for k in RESULT_COLUMNS})
        row["point"] = point.name
        path, err = point_file(grid.out, point, stored), error_file(grid.out, point)
        if is_complete(path):
            try:
                run = load_run(path)
                check_holds(path, run.config, point.values)
            except RunFileError as refused:
                rows.append({**row, "status": "failed", "error": str(refused)})
                continue
            finished[point.label] = run
            row.update(summary(run), status="done")
        elif err.exists():
            row.update(status="failed", error=json.loads(err.read_text())["error"])
        else:
            row["status"] = "pending"
        rows.append(row)
    columns = [*grid.axes, *RESULT_COLUMNS]
    write_text_atomically(grid.out / "sweep.csv", csv_text(rows, columns), "table")
    write_atomically(grid.out / "sweep.h5", lambda f: _write_table(f, grid, rows, columns))
    if finished:
        from .report import write_report

        write_report(finished, grid.out / "report")
    if any(name == "hardware.storage.bits" for name in grid.axes) and finished:
        bitdepth_figures(grid.out, finished)
    return rows


def shown_setting(name: str, value, values: dict):
    """A point's setting as its table row shows it: ``value``, except the rounding of a point with ideal storage
    (``hardware.storage.bits`` 0), shown as :data:`EXACT`, since no rounding happens there."""
    if name != "hardware.storage.rounding":
        return value
    try:
        bits = make_config(**values).hardware.storage.bits
    except (ConfigError, TypeError, ValueError):  # an invalid point: its row says why (status failed)
        return value
    return EXACT if bits == 0 else value


def _cell(value):
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def _write_table(f: h5py.File, grid: Grid, rows: list[dict], columns: list[str]) -> None:
    f.attrs.update(format="neurosim-sweep", base_config=json.dumps(grid.base), axes=json.dumps(grid.axes))
    for column in columns:
        values = [row[column] for row in rows]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values) and values:
            f.create_dataset(column, data=np.asarray(values, dtype=np.float64))
        else:
            f.create_dataset(column, data=np.asarray([str(v) for v in values], dtype=h5py.string_dtype()))
