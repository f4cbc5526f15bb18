"""A run read from a file, checked for internal consistency before anything uses it.

:func:`inconsistency` answers what is wrong with a run's contents, or None; :func:`neurosim.store.load_run`
refuses a file for it. What it checks, each against something independent of the part checked:

- the stored configuration parses as user input would (so nothing a file says can make a resume start a
  different run), and the topology summary is complete and names the configured topology;
- the network is the one its configuration builds: the topology regenerated from the configuration's seed,
  sizes and rewiring gives the stored edge list, and the blocks, their masks and the skip connections are
  exactly its connections (skips absent only where the run removed them); the arrays have the configured dtype,
  the shapes the layer sizes give, finite values, and zeros where a mask says there is no connection;
- the rule's learned parameters are those the configured rule learns on that network (names and shapes), finite;
- the records are in their domains: epochs numbered 1..n, error rates in [0, 1], times and residuals >= 0 (NaN
  where a column was not measured), rates as many rows as recorded batches, states in [0, 1] V.

The file's layout itself (every dataset and attribute where the writer puts it, with the writer's dtype) is
compared by :mod:`neurosim.store` with the layout the writer makes of the run read.
"""

from __future__ import annotations

import numpy as np

from .config import ConfigError, make_config, topology_of
from .hardware import pair_names
from .network import from_graph, is_skip
from .rules import RULES, RuleError
from .topology import edge_array

#: What every run file's topology summary holds (:func:`neurosim.topology.describe`).
TOPOLOGY_KEYS = ("kind", "sizes", "n_edges", "n_rewired", "p", "mode", "path_length", "clustering")


def inconsistency(run, unmeasured=frozenset(), older: bool = False) -> str | None:
    """What is wrong with ``run`` (a :class:`~neurosim.store.Run` read from a file), in a few words naming the
    part, or None. ``unmeasured``: record columns that may hold NaN besides :data:`UNMEASURED` (those an older
    file lacks); ``older``: a file of an earlier format, which may lack its states."""
    try:
        config, problem = _parsed(run)  # parsed once: every check below reads it
        if problem:
            return problem
        for check in (_summary, _shapes, _structure, _rule_parameters, _pairs):
            problem = check(run, config)
            if problem:
                return problem
        return _records(run, config, UNMEASURED | unmeasured) or (None if older else _states(run, config))
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as err:  # a part of a type no check foresaw
        return f"unreadable contents ({type(err).__name__}: {' '.join(str(err).split())[:120]})"


def _rule_parameters(run, config) -> str | None:
    """What is wrong with the rule's learned parameters (:attr:`~neurosim.store.Run.rule_parameters`), or None."""
    try:  # the rule's own check of names and shapes; the draw of a new run's parameters is not used
        RULES[config.rule].from_config(config, run.network, np.random.default_rng(0), run.rule_parameters)
    except RuleError as err:
        return str(err)
    for name, values in run.rule_parameters.items():
        if np.dtype(values.dtype) != np.dtype(config.dtype) or not np.all(np.isfinite(values)):
            return f"rule parameter {name} is not finite {config.dtype}"
    return None


def _pairs(run, config) -> str | None:
    """What is wrong with the single-sided pairs' device state (:attr:`~neurosim.store.Run.pairs`), or None: one
    array per parameter array under single-sided pairs (none otherwise), shaped like it, finite, in the configured
    dtype, each device's conductance (g− and g+ = W + g−) at least 0."""
    names = pair_names(run.network) if config.hardware.pair.single_sided else []
    if sorted(run.pairs) != sorted(names):
        return (f"pair state {', '.join(sorted(run.pairs)) or 'none'} where pair.scheme="
                f"{config.hardware.pair.scheme!r} keeps {', '.join(names) or 'none'}")
    for name, param in zip(names, run.network.parameters()):
        minus = run.pairs[name]
        if np.shape(minus) != np.shape(param):
            return f"pair state {name} has shape {np.shape(minus)}, its parameters {np.shape(param)}"
        if np.dtype(minus.dtype) != np.dtype(config.dtype) or not np.all(np.isfinite(minus)):
            return f"pair state {name} is not finite {config.dtype}"
        if np.any(minus < 0) or np.any(param + minus < 0):
            return f"pair state {name} holds a negative conductance"
    return None


def _parsed(run):
    """(configuration, None) where the stored configuration is a table that parses as user input would, else
    (None, what is wrong)."""
    if not isinstance(run.config, dict):
        return None, f"stored configuration {str(run.config)[:60]!r} is not a table of settings"
    missing = [k for k in ("epochs", "seed", "sizes") if k not in run.config]
    if missing:
        return None, f"stored configuration lacks {', '.join(missing)}"
    try:
        return make_config(**run.config), None
    except ConfigError as err:
        return None, f"stored configuration does not parse: {' '.join(str(err).split())[:200]}"


def _summary(run, config) -> str | None:
    """The topology summary is complete, of the right types and kind, and the epochs within the configured."""
    missing = [k for k in TOPOLOGY_KEYS if k not in run.topology]
    if missing:
        return f"topology lacks {', '.join(missing)}"
    t = run.topology
    kinds = {"kind": str, "mode": str, "n_edges": int, "n_rewired": int, "p": float, "path_length": float,
             "clustering": float, "skip_removed_after": int, "n_skip_removed": int}
    for key, kind in kinds.items():
        if key in t and (not isinstance(t[key], (kind, int) if kind is float else kind) or isinstance(t[key], bool)):
            return f"topology {key} is {t[key]!r}, not {'a number' if kind is not str else 'text'}"
    if not (isinstance(t["sizes"], list) and all(isinstance(n, int) and n >= 1 for n in t["sizes"])):
        return f"topology sizes {t['sizes']!r} are not layer sizes"
    if not (1 <= t["path_length"] < np.inf and 0 <= t["clustering"] <= 1):
        return f"topology path length {t['path_length']} or clustering {t['clustering']} out of range"
    if run.topology["kind"] != config.topology:
        return f"topology kind {run.topology['kind']!r} is not the configured {config.topology!r}"
    if run.epochs_done > config.epochs:
        return f"{run.epochs_done} epochs done of {config.epochs} configured"
    return None


def _shapes(run, config) -> str | None:
    net, sizes = run.network, run.network.sizes
    if config.sizes is not None and tuple(config.sizes) != tuple(sizes):
        return f"network sizes {list(sizes)} differ from the configured {list(config.sizes)}"
    if list(sizes) != list(run.topology["sizes"]):
        return f"network sizes {list(sizes)} differ from the topology's {run.topology['sizes']}"
    dtype = np.dtype(config.dtype)
    for block in net.blocks:
        expected = (sizes[block.lo], sizes[block.hi]) if 0 <= block.lo <= block.hi < len(sizes) else None
        if block.weight.shape != expected:
            return f"weight block {block.lo}-{block.hi} has shape {block.weight.shape}, not {expected}"
        if block.mask is not None and (block.mask.dtype != bool or block.mask.shape != expected):
            return f"mask of block {block.name} is {block.mask.dtype} {block.mask.shape}, not bool {expected}"
    if net.bias.shape != (sum(sizes[1:]),):
        return f"biases have shape {net.bias.shape}, not ({sum(sizes[1:])},)"
    for name, values in _parameters(net):
        if values.dtype != dtype:
            return f"{name} stored as {values.dtype}, the configuration says {dtype}"
        if not np.all(np.isfinite(values)):
            return f"{name} not finite (NaN or Inf)"
    for name, states in (("state/free", run.free_states), ("state/test", run.test_states)):
        if states is None:
            continue
        if states.ndim != 2 or states.shape[1] != sum(sizes[1:]) or states.dtype.kind != "f":
            return f"{name} is {states.dtype} {states.shape}, not float (examples, {sum(sizes[1:])})"
        if not np.all((states >= 0) & (states <= 1)):
            return f"{name} holds states outside [0, 1] V"
    return None


def _states(run, config) -> str | None:
    """A persistent run's warm-start states: present (and only then), in the configured dtype, at most one row
    per configured example (the exact count is the data set's, checked when training resumes)."""
    for name, states, n in (("state/free", run.free_states, config.n_train), ("state/test", run.test_states,
                                                                             config.n_test)):
        if (states is not None) != config.persistent:
            return f"{name} {'missing from a persistent run' if config.persistent else 'in a run without warm starts'}"
        if states is not None and states.dtype != np.dtype(config.dtype):
            return f"{name} stored as {states.dtype}, the configuration says {config.dtype}"
        if states is not None and n is not None and len(states) > n:
            return f"{name} holds {len(states)} examples' states, the configuration {n} examples"
    return None


def _parameters(net):
    return [*((f"weights {b.name}", b.weight) for b in net.blocks), ("skip weights", net.sparse.weight),
            ("biases", net.bias)]


def _structure(run, config) -> str | None:
    """The network's connections against the topology its configuration generates."""
    net = run.network
    graph = topology_of(config, net.sizes)
    built = from_graph(graph, seed=0, intra_init=config.intra_init, dtype=np.float32)
    edges = edge_array(graph)
    if run.edges.shape != edges.shape or not np.array_equal(run.edges, edges):
        return (f"stored topology ({len(run.edges)} edges) is not the one seed {config.seed} generates for "
                f"{config.topology} {'-'.join(map(str, net.sizes))} ({len(edges)} edges)")
    if int(run.topology["n_edges"]) != len(edges):
        return f"topology says {run.topology['n_edges']} edges, the edge list holds {len(edges)}"
    names = [b.name for b in net.blocks]
    if names != [b.name for b in built.blocks]:
        return f"weight blocks {names} are not the topology's {[b.name for b in built.blocks]}"
    for block, expected in zip(net.blocks, built.blocks):
        if (block.mask is None) != (expected.mask is None) or (
                block.mask is not None and not np.array_equal(block.mask, expected.mask)):
            return f"mask of block {block.name} is not the topology's connections"
        if block.mask is not None and np.any(block.weight[~block.mask] != 0):
            return f"weights {block.name} are not 0 where the mask has no connection"
    summary = {k: run.topology[k] for k in ("n_rewired", "p", "mode")}
    generated = {"n_rewired": graph.graph.get("n_rewired", 0), "p": graph.graph.get("p", 0.0),
                 "mode": graph.graph.get("mode", "none")}
    if summary != generated:
        return f"topology summary {summary} is not the generated one's {generated}"
    removed = "skip_removed_after" in run.topology
    if removed != ("n_skip_removed" in run.topology):
        return "topology records skip_removed_after and n_skip_removed only together"
    if removed and not (1 <= run.topology["skip_removed_after"] <= max(run.epochs_done, 1)
                        and run.topology["n_skip_removed"] == int(np.count_nonzero(is_skip(net.sizes, edges)))):
        return (f"topology says {run.topology['n_skip_removed']} skips removed after epoch "
                f"{run.topology['skip_removed_after']}, not within the run's epochs and connections")
    skips = edges[is_skip(net.sizes, edges)]
    if removed and len(net.sparse):
        return f"{len(net.sparse)} skip connections kept after they were removed"
    if not removed and not (np.array_equal(net.sparse.i, skips[:, 0]) and np.array_equal(net.sparse.j, skips[:, 1])):
        return f"the {len(net.sparse)} skip connections are not the topology's {len(skips)}"
    return None


#: Record columns that are NaN by meaning: ngspice's time without ngspice, settling times without physical time.
UNMEASURED = frozenset({"simulator_seconds", "free_settling_time", "nudged_settling_time"})


def _records(run, config, unmeasured=UNMEASURED) -> str | None:
    """History, batch records and rate measurements in their domains; NaN only in the ``unmeasured`` columns."""
    h, n_outputs = run.history, run.network.sizes[-1]
    if list(h["epoch"]) != list(range(1, run.epochs_done + 1)):
        return f"history/epoch is {list(h['epoch'])[:8]}, not 1 .. {run.epochs_done}"
    ranges = {"train_error": (0, 1), "test_error": (0, 1), "silent_outputs": (0, n_outputs), "beta": (-np.inf, np.inf)}
    columns = [(f"history/{k}", k, v) for k, v in h.items() if k != "epoch"]
    columns += [(f"batches/{k}", k, v) for k, v in run.batches.items()]
    for name, key, values in columns:
        low, high = ranges.get(key, (0, np.inf))
        values = np.asarray(values, dtype=float)
        bad = ~((values >= low) & (values <= high) & np.isfinite(values))
        if key in unmeasured:
            bad &= ~np.isnan(values)
        if np.any(bad):
            return f"{name} holds {values[bad][0]}, outside [{low}, {high}]"
    pairs = len(run.network.sizes) - 1
    batches = np.asarray(run.rate_batches)
    every = config.rate_every
    expected = np.arange(0, len(run.batches["free_residual"]), every)
    if batches.shape != expected.shape or not np.array_equal(batches, expected):
        return f"rates/batch is not every {every}th of the {len(run.batches['free_residual'])} batches recorded"
    for name, rows in (("rates/rms", run.rate_rms), ("rates/applied", run.applied_rms)):
        values = np.asarray(rows, dtype=float)
        shape_ok = values.shape == (len(batches), pairs) or (len(batches) == 0 and values.size == 0)
        if not shape_ok or not np.all(values >= 0):  # inf where a huge update's squares overflowed
            return f"{name} is not {len(batches)} rows of {pairs} RMS values >= 0"
    return None
