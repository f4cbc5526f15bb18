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

A checkpoint is built in memory, written whole to a temporary file in the same directory, flushed to disk, then
renamed over the run file, so a process killed at any moment, or a full disk, leaves the last complete checkpoint.
Every dataset carries HDF5's Fletcher-32 checksum and the metadata the 1.10 format's, so bytes changed on disk
make the file unreadable rather than wrong; one process at a time writes a run file (:func:`writer_lock`).
"""

from __future__ import annotations

import json
import os
import platform
import time
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
#: 2: the configuration's engine and circuit settings nested (``engine.n_free``); 1 had them at the top level.
FORMAT_VERSION = 2

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
    the changes the weights underwent (the same without hardware models)."""

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


def _write(f: h5py.File, run: Run) -> None:
    f.attrs.update(
        format=FORMAT,
        format_version=FORMAT_VERSION,
        neurosim_version=__version__,
        created=run.created,
        seed=int(run.config["seed"]),
        config=json.dumps(run.config),
        epochs_done=run.epochs_done,
        complete=run.complete,
    )
    f.create_group("config").attrs.update({k: _attr(v) for k, v in flat_settings(run.config).items()})
    f.create_group("versions").attrs.update(library_versions())
    topo = f.create_group("topology")
    _dataset(topo, "edges", run.edges.astype(np.int32), compression="gzip", shuffle=True)
    topo.attrs.update({k: _attr(v) for k, v in run.topology.items()})

    net = run.network
    g = f.create_group("network")
    g.attrs["sizes"] = np.asarray(net.sizes)
    _dataset(g, "bias", net.bias)
    blocks = g.create_group("blocks")
    for b in net.blocks:
        bg = blocks.create_group(b.name)
        bg.attrs.update(lo=b.lo, hi=b.hi)
        _dataset(bg, "weight", b.weight)
        if b.mask is not None:
            _dataset(bg, "mask", b.mask, compression="gzip")
    sg = g.create_group("sparse")
    _dataset(sg, "i", net.sparse.i.astype(np.int32))
    _dataset(sg, "j", net.sparse.j.astype(np.int32))
    _dataset(sg, "weight", net.sparse.weight)

    hist = f.create_group("history")
    for k in HISTORY_FIELDS:
        _dataset(hist, k, np.asarray(run.history[k], dtype=np.int64 if k == "epoch" else np.float64))
    bat = f.create_group("batches")
    for k in BATCH_FIELDS:
        _dataset(bat, k, np.asarray(run.batches[k], dtype=np.float64))
    rates = f.create_group("rates")
    _dataset(rates, "batch", np.asarray(run.rate_batches, dtype=np.int64))
    n_pairs = len(net.sizes) - 1
    rms = np.asarray(run.rate_rms, dtype=np.float64).reshape(-1, n_pairs)
    _dataset(rates, "rms", rms)
    rates.attrs["spread"] = spread(total_correction(rms))
    _dataset(rates, "applied", np.asarray(run.applied_rms, dtype=np.float64).reshape(-1, n_pairs))
    if run.free_states is not None:
        _dataset(f, "state/free", run.free_states, compression="gzip", shuffle=True)
    if run.test_states is not None:
        _dataset(f, "state/test", run.test_states, compression="gzip", shuffle=True)


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
        raise RunFileError(f"{path}: could not write the checkpoint ({err}); the previous one is intact") from err
    replace_atomically(path, image, "checkpoint", RunFileError)


@contextmanager
def writer_lock(path: str | os.PathLike):
    """Hold the one-writer lock of the file ``path`` for the block: an exclusive ``flock`` on ``.NAME.lock``
    beside it, released when the block ends or the process dies. A second process asking for the lock of the
    same file gets a :class:`RunFileError` at once (it does not wait), so two trainings or two sweeps never
    write one file. Where ``fcntl`` is missing (Windows) the block runs without a lock."""
    path = Path(path)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on Linux
        yield
        return
    lock = path.parent / f".{path.name}.lock"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(lock, "a")
    except OSError as err:
        raise RunFileError(f"{path}: cannot write there ({err})") from None
    with fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunFileError(f"{path}: another process is writing it (it holds {lock}); wait for it to end or "
                               f"write elsewhere") from None
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _read_network(g: h5py.Group) -> Network:
    blocks = []
    for name in sorted(g["blocks"], key=lambda n: (g["blocks"][n].attrs["lo"], g["blocks"][n].attrs["hi"])):
        bg = g["blocks"][name]
        mask = bg["mask"][()] if "mask" in bg else None
        blocks.append(DenseBlock(int(bg.attrs["lo"]), int(bg.attrs["hi"]), bg["weight"][()], mask))
    sg = g["sparse"]
    sparse = SparseCouplings(sg["i"][()].astype(np.int64), sg["j"][()].astype(np.int64), sg["weight"][()])
    return Network(sizes=tuple(int(s) for s in g.attrs["sizes"]), blocks=blocks, sparse=sparse, bias=g["bias"][()])


def _plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode()
    return value


def _columns(group: h5py.Group, fields, reference: str) -> dict:
    """The named columns of a group; a column of :data:`LATER_FIELDS` missing from an older file reads as NaN."""
    length = len(group[reference])
    return {
        k: group[k][()].tolist() if k in group or k not in LATER_FIELDS else [float("nan")] * length for k in fields
    }


#: What every run file's topology summary holds (:func:`neurosim.topology.describe`).
TOPOLOGY_KEYS = ("kind", "sizes", "n_edges", "n_rewired", "p", "mode", "path_length", "clustering")


def _inconsistency(run: Run) -> str | None:
    """What is wrong with a run read from a file, or None: the stored configuration is validated like user input
    (so nothing a file says can make a resume start a different run), the topology summary must be complete and
    every array of the network must have the shape the layer sizes give it."""
    from .config import ConfigError, make_config  # here, not at the top: it imports the engines (0.5 s)

    if not isinstance(run.config, dict):
        return f"stored configuration {str(run.config)[:60]!r} is not a table of settings"
    missing = [k for k in ("epochs", "seed", "sizes") if k not in run.config]
    if missing:
        return f"stored configuration lacks {', '.join(missing)}"
    try:
        make_config(**run.config)
    except ConfigError as err:
        return f"stored configuration does not parse: {' '.join(str(err).split())[:200]}"
    missing = [k for k in TOPOLOGY_KEYS if k not in run.topology]
    if missing:
        return f"topology lacks {', '.join(missing)}"
    net, sizes = run.network, run.network.sizes
    if list(sizes) != list(run.topology["sizes"]):
        return f"network sizes {list(sizes)} differ from the topology's {run.topology['sizes']}"
    for block in net.blocks:
        expected = (sizes[block.lo], sizes[block.hi])
        if not (0 <= block.lo <= block.hi < len(sizes)) or block.weight.shape != expected:
            return f"weight block {block.lo}-{block.hi} has shape {block.weight.shape}, not {expected}"
    if net.bias.shape != (sum(sizes[1:]),):
        return f"biases have shape {net.bias.shape}, not ({sum(sizes[1:])},)"
    if not (net.sparse.i.shape == net.sparse.j.shape == net.sparse.weight.shape):
        return "skip connections' index and weight arrays differ in length"
    if len(net.sparse) and (min(net.sparse.i.min(), net.sparse.j.min()) < 0
                            or max(net.sparse.i.max(), net.sparse.j.max()) >= sum(sizes)):
        return "a skip connection names a neuron outside the network"
    for name, states in (("state/free", run.free_states), ("state/test", run.test_states)):
        if states is not None and (states.ndim != 2 or states.shape[1] != sum(sizes[1:])):
            return f"{name} has shape {states.shape}, not (examples, {sum(sizes[1:])})"
    if run.epochs_done > int(run.config["epochs"]):
        return f"{run.epochs_done} epochs done of {run.config['epochs']} configured"
    return None


def _stored_config(f: h5py.File):
    """The configuration attribute of an open run file, upgraded to today's fields where their meaning is known."""
    from .config import nest_flat  # here, not at the top: it imports the engines (0.5 s)

    config = json.loads(f.attrs["config"])
    if isinstance(config, dict):
        config.setdefault("nudge", "weak")  # written before the nudge was a setting: every such run nudged weakly
        config = nest_flat(config)  # written before engine and circuit settings were nested
    return config


def read_config(path: str | os.PathLike) -> dict | None:
    """The configuration a run file stores, as :func:`load_run` reads it, without reading its arrays; None if the
    file is not a readable run file."""
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != FORMAT:
                return None
            config = _stored_config(f)
    except (OSError, KeyError, ValueError, TypeError):
        return None
    return config if isinstance(config, dict) else None


def load_run(path: str | os.PathLike) -> Run:
    """Read a run file; raises :class:`RunFileError` naming the file if it is missing, damaged or not a run."""
    path = Path(path)
    if not path.exists():
        raise RunFileError(f"{path}: no such run file")
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != FORMAT:
                raise RunFileError(f"{path}: not a neurosim run file")
            config = _stored_config(f)
            topology = {k: _plain(v) for k, v in f["topology"].attrs.items()}
            run = Run(
                config=config,
                topology=topology,
                edges=f["topology/edges"][()].astype(np.int64),
                network=_read_network(f["network"]),
                history=_columns(f["history"], HISTORY_FIELDS, "epoch"),
                batches=_columns(f["batches"], BATCH_FIELDS, "free_residual"),
                rate_batches=f["rates/batch"][()].tolist(),
                rate_rms=[list(r) for r in f["rates/rms"][()]],
                applied_rms=[list(r) for r in f["rates/applied" if "rates/applied" in f else "rates/rms"][()]],
                free_states=f["state/free"][()] if "state/free" in f else None,
                test_states=f["state/test"][()] if "state/test" in f else None,
                created=str(f.attrs["created"]),
            )
    except RunFileError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as err:
        raise RunFileError(f"{path}: damaged or incomplete run file ({err})") from None
    if len({len(v) for v in run.history.values()}) != 1 or len({len(v) for v in run.batches.values()}) != 1:
        raise RunFileError(f"{path}: damaged run file (history columns of different lengths)")
    problem = _inconsistency(run)
    if problem:
        raise RunFileError(f"{path}: damaged run file ({problem})")
    return run
