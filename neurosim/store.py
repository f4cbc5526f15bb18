"""Run files: one HDF5 file per training run, readable with h5py or h5dump.

Layout (datasets unless marked as attributes)::

    /                      attrs: format ("neurosim-run"), format_version, neurosim_version, created, seed,
                                  config (JSON), epochs_done, complete
    /config                attrs: every configuration field (None written as "none"; the nested tables by dotted
                           names: engine.name, engine.n_free, circuit.r_leak, hardware.storage.bits)
    /versions              attrs: python, numpy, scipy, networkx, h5py
    /topology              edges (E, 2) global neuron pairs i < j;
                           attrs: kind, sizes, n_edges, n_rewired, p, mode, path_length (L), clustering (C)
    /network               bias (N_free,); blocks/L<lo>-L<hi>/{weight, mask?}, attrs lo, hi;
                           sparse/{i, j, weight}; attrs sizes
    /history               per epoch: epoch, train_error, test_error, train_seconds, test_seconds,
                           free_residual_max, nudged_residual_max (max over the epoch's batches), iterations
                           (free + nudged steps of all batches), simulator_seconds (ngspice's own analysis
                           time over the epoch's training phases, spice engine; NaN otherwise), silent_outputs
                           (output units below 1 mV at the free equilibrium of every test example)
    /batches               per batch: free_residual, nudged_residual (max over the batch's examples), beta,
                           free_steps, nudged_steps (iterations, or right-hand-side evaluations of the ode
                           engine), free_settling_time, nudged_settling_time (seconds of circuit time until the
                           phase settled, or t_max if it did not; NaN for engines without physical time)
    /rates                 batch (M,), rms (M, n_layers - 1): eq 20 of the rule's updates every ``rate_every``
                           batches; applied (M, n_layers - 1): the same of the changes the weights underwent
                           (equal to rms without hardware models; older files: a copy of rms);
                           attrs: spread (eq 23 over the run so far)
    /state/free            (n_train, n_free): each training example's last free equilibrium (warm starts only)
    /rule/<name>           the learning rule's own learned parameters (format 6; rules that learn their feedback
                           or gradient estimates: :mod:`neurosim.rules`), in the configured ``dtype``
    /pairs/<array>         single-sided pairs only (format 8): each parameter array's minus devices' conductances
                           (weight units above g0; <array> L0-L1 .., sparse, bias), in the configured ``dtype``

A checkpoint is built in memory, written whole to a temporary file in the same directory, flushed to disk, then
renamed over the run file, so a process killed at any moment, or a full disk, leaves the last complete checkpoint.
Every dataset carries HDF5's Fletcher-32 checksum and the metadata the 1.10 format's, so bytes changed on disk
make the file unreadable rather than wrong; one process at a time writes a run file (:func:`writer_lock`).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
import contextlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import h5py
import networkx
import numpy as np
import scipy

from . import __version__
from .atomic import replace_atomically
from .metrics import spread, total_correction
from .network import DenseBlock, Network, SparseCouplings
from .errors import NeurosimError

FORMAT = "neurosim-run"
#: 8: the group ``pairs``, the minus devices' conductances of single-sided pairs (:attr:`Run.pairs`), and the
#: hardware table ``pair``;
#: 7: the configuration's ``output_error`` and ``rule_devices`` (a file of format 6 or older lacks them: its rules
#: on the feedforward net learned from the squared error, their own parameters in floating point);
#: 6: the group ``rule``, the learning rule's own learned parameters (:attr:`Run.rule_parameters`);
#: 5: the root attribute ``data_digest``, the identity of the data set trained on (:attr:`Run.data_digest`);
#: 4: the circuit's crossbar a table of its own settings (``circuit.crossbar.name``, ``circuit.crossbar.r_line``);
#: 3: the root attribute ``digest`` (SHA-256 of every dataset and attribute), and a file is read only if it is
#: what the writer makes of the run read; 2: the configuration's engine and circuit settings nested
#: (``engine.n_free``); 1 had them at the top level.
FORMAT_VERSION = 8
#: The format versions this neurosim reads.
READABLE_VERSIONS = (1, 2, 3, 4, 5, 6, 7, 8)
#: Attributes written anew by every checkpoint whatever the run (the versions of the libraries that wrote it):
#: their type is checked on load, not their value.
PROVENANCE = {("/", "neurosim_version"), *(("/versions", k) for k in ("neurosim", "python", "numpy", "scipy",
                                                                         "networkx", "h5py"))}

HISTORY_FIELDS = (
    "epoch",
    "train_error",
    "test_error",
    "train_seconds",
    "test_seconds",
    "free_residual_max",
    "nudged_residual_max",
    "iterations",
    "simulator_seconds",
    "silent_outputs",
)
BATCH_FIELDS = (
    "free_residual",
    "nudged_residual",
    "beta",
    "free_steps",
    "nudged_steps",
    "free_settling_time",
    "nudged_settling_time",
)

#: Columns added after the first run files were written: absent from older files, read there as NaN.
LATER_FIELDS = {"iterations", "simulator_seconds", "silent_outputs", "free_steps", "nudged_steps", "free_settling_time",
                "nudged_settling_time"}


class RunFileError(NeurosimError, ValueError):
    """A run file that is missing, damaged, or not a neurosim run file; the message names it."""


@dataclass
class Run:
    """Everything a run file holds. ``history`` and ``batches`` map field names to lists, one entry per epoch or
    batch; ``rate_batches`` / ``rate_rms`` hold eq 20's measurements of the rule's updates, ``applied_rms`` of
    the changes the weights underwent (the same without hardware models). ``data_digest``: the identity of the data
    set it trains on (:attr:`neurosim.data.Dataset.digest`; "" unknown: a file of format 4 or older), which a
    resume, an export or an evaluation from another directory must match. ``rule_parameters``: the learning
    rule's own learned parameters by name (feedback weights, synthetic-gradient modules; empty for rules that learn
    none), updated in place by the rule as it trains, checkpointed with the network. ``pairs``: under single-sided
    pairs (:class:`~neurosim.hardware.Pair`), each parameter array's minus devices' conductances (weight units above
    g0; the plus device's is W + g−) by the array's name (:func:`~neurosim.hardware.pair_names`), updated in place
    by the devices as they write; empty otherwise."""

    config: dict
    topology: dict
    edges: np.ndarray
    network: Network
    history: dict = field(default_factory=lambda: {k: [] for k in HISTORY_FIELDS})
    batches: dict = field(default_factory=lambda: {k: [] for k in BATCH_FIELDS})
    rate_batches: list = field(default_factory=list)
    rate_rms: list = field(default_factory=list)
    applied_rms: list = field(default_factory=list)
    free_states: np.ndarray | None = None
    test_states: np.ndarray | None = None
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    data_digest: str = ""
    rule_parameters: dict = field(default_factory=dict)
    pairs: dict = field(default_factory=dict)

    @property
    def epochs_done(self) -> int:
        return len(self.history["epoch"])

    @property
    def complete(self) -> bool:
        return self.epochs_done >= int(self.config["epochs"])


def library_versions() -> dict:
    return {
        "neurosim": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "networkx": networkx.__version__,
        "h5py": h5py.__version__,
    }


def _attr(value):
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return np.asarray(value)
    return value


def flat_settings(values: dict, prefix: str = "") -> dict:
    """Nested settings as one level of dotted names (``hardware.storage.bits``)."""
    out = {}
    for k, v in values.items():
        if isinstance(v, dict):
            out.update(flat_settings(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _dataset(group: h5py.Group, name: str, data, **options) -> None:
    """A dataset of a run file, chunked with HDF5's Fletcher-32 checksum filter: a read of a chunk whose bytes
    changed on disk fails (h5py raises OSError), so :func:`load_run` refuses a silently corrupted file."""
    group.create_dataset(name, data=data, fletcher32=True, **options)


#: Datasets stored compressed (the large integer and boolean arrays, and the states).
_COMPRESSED = {"topology/edges": dict(compression="gzip", shuffle=True), "state/free": dict(compression="gzip", shuffle=True),
               "state/test": dict(compression="gzip", shuffle=True)}


def layout(run: Run, version: int = FORMAT_VERSION,
           config: dict | None = None) -> tuple[dict[str, dict], dict[str, np.ndarray]]:
    """What the file of ``run`` holds: the attributes of each object (``""`` the root, ``"topology"``, ...) and
    every dataset by path, in the dtypes the writer stores (the network's the configured ``dtype``). The one
    description of the layout: :func:`save_run` writes it, :func:`load_run` compares a file with it. ``version``
    and ``config``: the format version and the configuration as stored by an older writer (a file of format 3
    holds the configuration before :func:`_stored_config` upgraded it; its layout is otherwise today's)."""
    net, dtype = run.network, np.dtype(run.config["dtype"])
    config = run.config if config is None else config
    attrs = {
        "": dict(format=FORMAT, format_version=version, neurosim_version=__version__, created=run.created,
                 seed=int(config["seed"]), config=json.dumps(config), epochs_done=run.epochs_done,
                 complete=run.complete, **({"data_digest": run.data_digest} if version >= 5 else {})),
        "config": {k: _attr(v) for k, v in flat_settings(config).items()},
        "versions": library_versions(),
        "topology": {k: _attr(v) for k, v in run.topology.items()},
        "network": {"sizes": np.asarray(net.sizes)},
    }
    data = {"topology/edges": run.edges.astype(np.int32), "network/bias": net.bias.astype(dtype, copy=False)}
    for b in net.blocks:
        attrs[f"network/blocks/{b.name}"] = dict(lo=b.lo, hi=b.hi)
        data[f"network/blocks/{b.name}/weight"] = b.weight.astype(dtype, copy=False)
        if b.mask is not None:
            data[f"network/blocks/{b.name}/mask"] = b.mask
    data.update({"network/sparse/i": net.sparse.i.astype(np.int32), "network/sparse/j": net.sparse.j.astype(np.int32),
                 "network/sparse/weight": net.sparse.weight.astype(dtype, copy=False)})
    for k in HISTORY_FIELDS:
        data[f"history/{k}"] = np.asarray(run.history[k], dtype=np.int64 if k == "epoch" else np.float64)
    for k in BATCH_FIELDS:
        data[f"batches/{k}"] = np.asarray(run.batches[k], dtype=np.float64)
    n_pairs = len(net.sizes) - 1
    rms = np.asarray(run.rate_rms, dtype=np.float64).reshape(-1, n_pairs)
    attrs["rates"] = {"spread": spread(total_correction(rms))}
    data["rates/batch"] = np.asarray(run.rate_batches, dtype=np.int64)
    data["rates/rms"] = rms
    data["rates/applied"] = np.asarray(run.applied_rms, dtype=np.float64).reshape(-1, n_pairs)
    if run.free_states is not None:
        data["state/free"] = run.free_states
    if run.test_states is not None:
        data["state/test"] = run.test_states
    for name, values in run.rule_parameters.items():
        data[f"rule/{name}"] = np.asarray(values).astype(dtype, copy=False)
    for name, values in run.pairs.items():
        data[f"pairs/{name}"] = np.asarray(values).astype(dtype, copy=False)
    return attrs, data


def _write(f: h5py.File, run: Run) -> None:
    attrs, data = layout(run)
    for path, values in data.items():
        _dataset(f, path, values, **_COMPRESSED.get(path, {"compression": "gzip"} if path.endswith("/mask") else {}))
    for path, values in attrs.items():
        (f if path == "" else f.require_group(path)).attrs.update(values)
    f.attrs["digest"] = digest(*read_layout(f))


def read_layout(f: h5py.File) -> tuple[dict[str, dict], dict[str, np.ndarray]]:
    """Every attribute (by object path, ``""`` the root, the ``digest`` left out) and every dataset of an open
    HDF5 file, read whole; the inverse of :func:`layout`'s writing."""
    attrs = {"": {k: v for k, v in f.attrs.items() if k != "digest"}}
    data = {}

    def visit(name, obj):
        if len(obj.attrs):
            attrs[name] = dict(obj.attrs.items())
        if isinstance(obj, h5py.Dataset):
            data[name] = obj[()]

    f.visititems(visit)
    return attrs, data


def _canonical(value) -> np.ndarray:
    value = np.asarray(value)
    return value.astype(str) if value.dtype.kind in "OS" else value


def digest(attrs: dict, data: dict) -> str:
    """SHA-256 over every attribute and dataset of a layout (:func:`read_layout`): names, dtypes, shapes and
    bytes, in sorted order. Stored as the root attribute ``digest``: a file changed after it was written (an
    attribute, a weight, a dataset added or removed, even with HDF5's checksums made anew) no longer matches."""
    h = hashlib.sha256()
    for path in sorted(attrs):
        for name in sorted(attrs[path]):
            value = _canonical(attrs[path][name])
            h.update(f"a {path} {name} {value.dtype.str} {value.shape}\n".encode())
            h.update(value.tobytes())
    for path in sorted(data):
        value = np.ascontiguousarray(_canonical(data[path]))
        h.update(f"d {path} {value.dtype.str} {value.shape}\n".encode())
        h.update(value.tobytes())
    return h.hexdigest()


def layout_difference(written: tuple[dict, dict], read: tuple[dict, dict]) -> str | None:
    """The first difference between the layout the writer makes of a run and the one read from its file (a
    dataset or attribute missing, extra, of another dtype, shape or value), in words; None where they agree.
    :data:`PROVENANCE` attributes are compared by type only."""
    want, got = _entries(*written), _entries(*read)
    for key in sorted(set(want) | set(got)):
        what = f"{key[0]} attribute {key[1]}" if len(key) == 2 else key[0]
        if key not in got:
            return f"{what} is missing"
        if key not in want:
            return f"{what} is not part of a run file"
        a, b = _canonical(want[key]), _canonical(got[key])
        if key in PROVENANCE:
            if b.dtype.kind != "U" or not str(b):
                return f"{what} is not a version string"
        elif a.dtype != b.dtype or a.shape != b.shape or not _same(a, b):
            return f"{what} is {_shown(b)}, a run file's {_shown(a)}"
    return None


def _entries(attrs: dict, data: dict) -> dict:
    """A layout as one table: (dataset path,) or (object, attribute name) -> value (the root object as '/')."""
    entries = {(path,): value for path, value in data.items()}
    entries.update({("/" + path, name): value for path, group in attrs.items() for name, value in group.items()})
    return entries


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def _shown(value: np.ndarray) -> str:
    """A value in a message: its dtype and shape, and its values where there are few."""
    return f"{value.dtype} {value.shape}" + (f" {value.tolist()!r}"[:60] if value.size <= 8 else "")


def save_run(path: str | os.PathLike, run: Run) -> None:
    """Write ``run`` to ``path`` atomically (:func:`write_atomically`)."""
    write_atomically(path, lambda f: _write(f, run))


def write_atomically(path: str | os.PathLike, write: Callable[[h5py.File], None]) -> None:
    """Make the HDF5 file ``path`` with ``write(file)``, atomically (:func:`neurosim.atomic.replace_atomically`):
    a process killed at any moment leaves the previous file. The file is built in memory (HDF5's core driver)
    and written as one block, so a full disk fails cleanly in that write, never inside HDF5 (whose close on a
    full disk crashed the process); it is in the HDF5 1.10 format, whose metadata carry checksums. An OSError
    becomes a :class:`RunFileError` that says the previous file is intact."""
    path = Path(path)
    try:
        with h5py.File(f"{path.name}.image", "w", driver="core", backing_store=False, libver=("v110", "v110")) as f:
            write(f)
            f.flush()
            image = f.id.get_file_image()
    except OSError as err:  # HDF5 failing in memory: nothing was written
        kept = "the previous one is intact" if path.exists() else "no checkpoint was written"
        raise RunFileError(f"{path}: could not write the checkpoint ({err}); {kept}") from err
    replace_atomically(path, image, "checkpoint", RunFileError)


@contextmanager
def writer_lock(path: str | os.PathLike):
    """Hold the one-writer lock of the file ``path`` for the block: an exclusive ``flock`` on ``.NAME.lock``
    beside it, released when the block ends or the process dies. A second process asking for the lock of the
    same file gets a :class:`RunFileError` at once (it does not wait), so two trainings or two sweeps never
    write one file. Where ``fcntl`` is missing (Windows) the block runs without a lock. A symbolic link is
    followed: writers through a link and through the file it names share one lock. The lock file is removed when
    the block ends (a killed writer's stays, and is taken over by the next): a writer that opened it just before
    checks, once it holds the lock, that the file is still the one at the path, and otherwise locks the new one."""
    path = Path(os.path.realpath(path))
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on Linux
        yield
        return
    lock = path.parent / f".{path.name}.lock"
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(lock, "a")
        except OSError as err:
            raise RunFileError(f"{path}: cannot write there ({err})") from None
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise RunFileError(f"{path}: another process is writing it (it holds {lock}); wait for it to end or "
                               f"write elsewhere") from None
        try:  # the writer before removed its lock file between our open and our lock: lock the file there now
            current = os.stat(lock).st_ino == os.fstat(fh.fileno()).st_ino
        except FileNotFoundError:
            current = False
        if current:
            break
        fh.close()
    with fh:
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                lock.unlink()  # removed while held: no later writer can lock this file and take it for current
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _network(attrs: dict, data: dict) -> Network:
    """The network of a layout; ValueError naming a part whose type or indices cannot make one."""
    sizes = _integers(attrs["network"]["sizes"], "network sizes")
    if sizes.ndim != 1 or len(sizes) < 2 or np.any(sizes < 1):
        raise ValueError(f"network sizes {sizes.tolist()} are not layer sizes")
    blocks = []
    names = sorted({p.split("/")[2] for p in data if p.startswith("network/blocks/")} | {
        p.split("/")[2] for p in attrs if p.startswith("network/blocks/")})
    for name in names:
        where = f"network/blocks/{name}"
        lo, hi = (int(_integers(attrs.get(where, {}).get(k), f"{where} attribute {k}")) for k in ("lo", "hi"))
        mask = data.get(f"{where}/mask")
        blocks.append(DenseBlock(lo, hi, _floats(data[f"{where}/weight"], f"{where}/weight"), mask))
    blocks.sort(key=lambda b: (b.lo, b.hi))
    i, j = (_integers(data[f"network/sparse/{k}"], f"network/sparse/{k}").astype(np.int64) for k in "ij")
    weight = _floats(data["network/sparse/weight"], "network/sparse/weight")
    if not (i.ndim == j.ndim == weight.ndim == 1 and len(i) == len(j) == len(weight)):
        raise ValueError("skip connections' index and weight arrays differ in length")
    if len(i) and (min(i.min(), j.min()) < 0 or max(i.max(), j.max()) >= sizes.sum() or np.any(i >= j)):
        raise ValueError("a skip connection names a neuron outside the network, or itself")
    return Network(sizes=tuple(sizes.tolist()), blocks=blocks, sparse=SparseCouplings(i, j, weight),
                   bias=_floats(data["network/bias"], "network/bias"))


def _integers(value, what: str) -> np.ndarray:
    value = np.asarray(value)
    if value.dtype.kind not in "iu":
        raise ValueError(f"{what} stored as {value.dtype}, not integers")
    return value


def _floats(value, what: str) -> np.ndarray:
    value = np.asarray(value)
    if value.dtype.kind != "f":
        raise ValueError(f"{what} stored as {value.dtype}, not floating point")
    return value


def _plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode()
    return value


def _columns(data: dict, group: str, fields, reference: str) -> dict:
    """The named columns of a group, each one-dimensional and numeric; a column of :data:`LATER_FIELDS` missing
    from an older file reads as NaN."""
    length = len(np.atleast_1d(data[f"{group}/{reference}"]))
    columns = {}
    for k in fields:
        path = f"{group}/{k}"
        if path not in data and k in LATER_FIELDS:
            columns[k] = [float("nan")] * length
            continue
        values = np.asarray(data[path])
        if values.ndim != 1 or values.dtype.kind not in ("iu" if k == "epoch" else "iuf"):
            raise ValueError(f"{path} is {values.dtype} {values.shape}, not a column of "
                             + ("integers" if k == "epoch" else "numbers"))
        columns[k] = values.tolist()
    if len({len(v) for v in columns.values()}) != 1:
        raise ValueError(f"{group} columns of different lengths")
    return columns


def _stored_config(text):
    """The configuration attribute of a run file, upgraded to today's fields where their meaning is known."""
    from .circuit import upgraded_table
    from .config import nest_flat  # here, not at the top: it imports the engines (0.5 s)

    config = json.loads(text)
    if isinstance(config, dict):
        config.setdefault("nudge", "weak")  # written before the nudge was a setting: every such run nudged weakly
        # written before the output error was a setting: every such run of bp .. csg learned from the squared error
        config.setdefault("output_error", "squared")
        config = nest_flat(config)  # written before engine and circuit settings were nested
        if "circuit" in config:  # written before the crossbars had settings of their own (format 3 and older)
            config["circuit"] = upgraded_table(config["circuit"])
    return config


def read_config(path: str | os.PathLike) -> dict | None:
    """The configuration a run file stores, as :func:`load_run` reads it, without reading its arrays; None if the
    file is not a readable run file."""
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != FORMAT:
                return None
            config = _stored_config(f.attrs["config"])
    except (OSError, KeyError, ValueError, TypeError, RuntimeError):
        return None
    return config if isinstance(config, dict) else None


def format_version(value) -> int:
    """A file's ``format_version`` attribute as an integer this neurosim reads; :class:`ValueError` saying why not
    (not an integer, or a newer format than :data:`FORMAT_VERSION`)."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
        raise ValueError(f"format_version {_plain(value)!r} is not a format version neurosim writes")
    if int(value) > FORMAT_VERSION:
        raise ValueError(f"format_version {int(value)}: written by a newer neurosim (this one reads formats "
                         f"{READABLE_VERSIONS[0]}-{READABLE_VERSIONS[-1]}); read it with that version")
    if int(value) not in READABLE_VERSIONS:
        raise ValueError(f"format_version {int(value)} is not a format version neurosim writes")
    return int(value)


def run_of_layout(attrs: dict, data: dict) -> Run:
    """The run a file's layout (:func:`read_layout`) holds; KeyError naming a missing part, ValueError (or
    TypeError) one of the wrong type or shape."""
    root = attrs[""]
    states = {k: _floats(data[f"state/{k}"], f"state/{k}") if f"state/{k}" in data else None for k in ("free", "test")}
    rms = _floats(data["rates/rms"], "rates/rms")
    applied = _floats(data["rates/applied"] if "rates/applied" in data else rms, "rates/applied")
    if rms.ndim != 2 or applied.shape != rms.shape:
        raise ValueError(f"rates/rms {rms.shape} and rates/applied {applied.shape} are not one table per batch")
    return Run(
        config=_stored_config(root["config"]),
        topology={k: _plain(v) for k, v in attrs["topology"].items()},
        edges=_integers(data["topology/edges"], "topology/edges").astype(np.int64),
        network=_network(attrs, data),
        history=_columns(data, "history", HISTORY_FIELDS, "epoch"),
        batches=_columns(data, "batches", BATCH_FIELDS, "free_residual"),
        rate_batches=_integers(data["rates/batch"], "rates/batch").tolist(),
        rate_rms=[list(r) for r in rms],
        applied_rms=[list(r) for r in applied],
        free_states=states["free"],
        test_states=states["test"],
        created=str(root["created"]),
        data_digest=_plain(root["data_digest"]) if format_version(root["format_version"]) >= 5 else "",
        rule_parameters={path.split("/", 1)[1]: _floats(values, path) for path, values in sorted(data.items())
                         if path.startswith("rule/")},
        pairs={path.split("/", 1)[1]: _floats(values, path) for path, values in sorted(data.items())
               if path.startswith("pairs/")},
    )


def load_run(path: str | os.PathLike) -> Run:
    """Read a run file; raises :class:`RunFileError` naming the file if it is missing, damaged, inconsistent
    (:func:`neurosim.runcheck.inconsistency`), changed since it was written (its ``digest``), not what the writer
    makes of the run it holds (:func:`layout_difference`), of a newer format, or not a run file at all."""
    from .runcheck import inconsistency  # here, not at the top: it imports the configuration and the engines

    path = Path(path)
    if not path.exists():
        raise RunFileError(f"{path}: no such run file")
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != FORMAT:
                raise RunFileError(f"{path}: not a neurosim run file")
            if "format_version" not in f.attrs:
                raise RunFileError(f"{path}: damaged run file (no format_version)")
            version = format_version(f.attrs["format_version"])
            stored_digest = f.attrs.get("digest")
            attrs, data = read_layout(f)
    except RunFileError:
        raise
    except ValueError as err:
        raise RunFileError(f"{path}: {err}") from None
    except (OSError, KeyError, TypeError, RuntimeError) as err:  # HDF5's checksums answer OSError or RuntimeError
        raise RunFileError(f"{path}: damaged or incomplete run file ({err})") from None
    if version >= 3 and (not isinstance(stored_digest, str) or stored_digest != digest(attrs, data)):
        raise RunFileError(f"{path}: damaged run file (its contents changed after neurosim wrote it: the digest "
                           "does not match)")
    try:
        run = run_of_layout(attrs, data)
    except KeyError as err:
        raise RunFileError(f"{path}: damaged run file (lacks {err.args[0]})") from None
    except (ValueError, TypeError, IndexError, json.JSONDecodeError) as err:
        raise RunFileError(f"{path}: damaged run file ({' '.join(str(err).split())[:200]})") from None
    problem = inconsistency(run, unmeasured=LATER_FIELDS if version < 3 else frozenset(), older=version < 3)
    if problem is None and not isinstance(run.data_digest, str):
        problem = f"data_digest is {run.data_digest!r}, not a digest"
    if problem is None and version >= 3:  # an older file against what its writer made of its configuration
        written = layout(run) if version == FORMAT_VERSION else layout(run, version, json.loads(attrs[""]["config"]))
        problem = layout_difference(written, (attrs, data))
    if problem:
        raise RunFileError(f"{path}: damaged run file ({problem})")
    return run
