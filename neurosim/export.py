"""Export one example of a trained run as a SPICE netlist (``neurosim export``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from .config import make_config
from .atomic import replaced_whole
from .data import check_same_data, load_dataset
from .engines import ODE, Phase
from .circuit import Circuit, circuit_with
from .netlist import Analysis, safe_name, write_netlist
from .network import Network
from .store import Run
from .build import STREAM_NOISE, devices_of, stream


def circuit_nudge(config) -> str:
    """The circuit of a run's nudge: ``weak`` or ``clamped`` as configured; the reference step is the clamped
    circuit where it sets the outputs to the target in every step (2 eps beta = 1, the paper's eps = .5 and
    beta = 1), and has no circuit otherwise (:class:`ValueError` naming the values)."""
    if config.nudge != "reference":
        return config.nudge
    if 2 * config.engine.eps * config.beta == 1.0:
        return "clamped"
    raise ValueError(f"nudge='reference' with eps={config.engine.eps}, beta={config.beta}: the reference step is a circuit "
                     "(the outputs held at the target) only where 2 eps beta = 1; export the free phase instead")


def phase_length(config) -> float:
    """Time constants an exported phase's circuit is simulated: the run's engine's ``t_max`` (ODE, ngspice), or the
    ODE engine's default for a run of an iterating engine."""
    return getattr(config.engine, "t_max", ODE.t_max)


@dataclass(frozen=True)
class ExamplePhase:
    """One phase of one example of a run, as a circuit: the (effective) network in float64, its inputs ``x`` (1,
    n_inputs) volts, the circuit, the starting state, beta, target and nudge, and the example's label."""

    net: Network
    x: np.ndarray
    circuit: Circuit
    start: np.ndarray
    beta: float
    target: np.ndarray
    nudge: str
    label: int
    t_max: float

    def equilibrium(self) -> np.ndarray:
        """neurosim's own equilibrium of this phase (n_free,) volts: the ODE engine from :attr:`start`, settled to
        1 uV (the export's ``start="equilibrium"``, and what ``waveform`` compares ngspice with)."""
        phase = Phase(beta=self.beta, target=self.target[None], nudge=self.nudge) if self.beta else Phase()
        return ODE(circuit=self.circuit, rtol=1e-8, atol=1e-10, settle_tol=1e-6, t_max=10 * self.t_max).relax(
            self.net, self.x, self.start[None], phase).state[0]


def default_start(analysis: str) -> str:
    """Where an exported phase starts unless told: neurosim's equilibrium for the operating point (Newton's
    start), rest for a transient."""
    return "equilibrium" if analysis == "op" else "rest"


def example_phase(run: Run, example: int, *, phase: str = "free", split: str = "test", data_dir: str | None = None,
                  circuit: dict | None = None, t_max: float | None = None) -> ExamplePhase:
    """The circuit of ``run``'s example ``example`` of ``split`` in ``phase`` (see :func:`export_netlist`);
    ``circuit``: circuit settings that replace the run's (whatever engine it trained with;
    :func:`~neurosim.circuit.circuit_with`); ``t_max``: the phase's length, time constants (default :func:`phase_length`). ValueError names a bad
    phase, split, example or circuit setting."""
    config = make_config(**run.config)
    t_max = phase_length(config) if t_max is None else t_max
    if not 0 < t_max < float("inf"):
        raise ValueError(f"t_stop={t_max}: a transient of > 0 time constants, finite")
    if phase not in ("free", "nudged"):
        raise ValueError(f"phase={phase!r}: choose 'free' or 'nudged'")
    if split not in ("train", "test"):
        raise ValueError(f"split={split!r}: choose 'train' or 'test'")
    n = config.n_train if split == "train" else config.n_test
    data = load_dataset(config.dataset, data_dir or config.data_dir, config.n_train, config.n_test)
    check_same_data(run.data_digest, data, data_dir or config.data_dir)
    xs, ys = (data.x_train, data.y_train) if split == "train" else (data.x_test, data.y_test)
    if not 0 <= example < len(xs):
        raise ValueError(f"example={example}: the {split} split has examples 0 .. {len(xs) - 1}"
                         + (f" (n_{split}={n})" if n else ""))
    net = run.network.astype(np.float64)
    if not config.hardware.ideal:
        net = devices_of(config, net, run.edges).effective(net, stream(config.seed, STREAM_NOISE, config.epochs, example))
    circuit = circuit_with(config.circuit, circuit or {})  # the circuit's own checks
    x = xs[example : example + 1].astype(np.float64)
    label = int(ys[example])
    target = np.eye(net.n_outputs)[label]
    start, beta, nudge = np.zeros(net.n_free), 0.0, "weak"
    if phase == "nudged":
        nudge = circuit_nudge(config)
        free = ODE(circuit=circuit, settle_tol=1e-5, t_max=t_max).relax(net, x, start[None], Phase())
        start, beta = free.state[0], config.beta
        if nudge == "clamped":
            start[net.output_slice] = target
    return ExamplePhase(net, x, circuit, start, beta, target, nudge, label, t_max)


#: The header line of an exported netlist that records what it was exported from (:func:`exported_from`).
EXPORTED = "neurosim export: "


def exported_from(netlist: str | Path) -> dict | None:
    """What an exported netlist says it was exported from: the run file (as given to export), example, split,
    phase, circuit options and data directory; None where the netlist is missing or records nothing (written by
    an earlier neurosim, or by :func:`~neurosim.netlist.write_netlist` directly)."""
    try:
        with open(netlist, encoding="ascii", errors="replace") as f:
            for line, _ in zip(f, range(40)):  # the header
                if line.startswith("* " + EXPORTED):
                    record = json.loads(line[len("* " + EXPORTED):])
                    return record if isinstance(record, dict) else None
    except (OSError, ValueError):
        return None
    return None


def export_netlist(
    run: Run,
    example: int,
    out: str | Path,
    *,
    run_path: str | None = None,
    phase: str = "free",
    split: str = "test",
    data_dir: str | None = None,
    inline: bool = False,
    clip: bool = False,
    t_stop: float | None = None,
    name: str = "run",
    library: str | Path | None = None,
    circuit: dict | None = None,
    overwrite: bool = False,
    control: bool = True,
    analysis: str = "tran",
    start: str | None = None,
    before_writing=None,
) -> Path:
    """Write the netlist of ``run``'s network for example ``example`` of its data set's ``split`` (train or test)
    to ``out``; returns the path of the data file ngspice will write (beside ``out``).

    The free phase starts at 0 V. The nudged phase (the run's beta, the example's one-hot label as target voltages)
    starts at the free equilibrium, computed by the ODE engine with the run's circuit (settled to 10 uV), and
    nudges as the run did (:func:`circuit_nudge`).
    ``t_stop``: transient length in time constants (default: :func:`phase_length`); ``library``: the path written
    in ``.include`` (default: the installed library), ``inline`` to copy it instead. ``circuit``: configuration
    fields of the circuit to use instead of the run's (``crossbar``, ``r_leak``, ``g_min``, ``g_max``, ...), e.g.
    the passive crossbar of a network trained on the ideal one. An existing ``out`` is refused unless
    ``overwrite``. ``control``: False leaves out the ``.control`` block (for PySpice, :mod:`neurosim.pyspice`).
    ``analysis``: ``tran`` (a transient of ``t_stop`` time constants) or ``op`` (ngspice's operating point, one
    Newton solve; the data file holds one row). ``start``: where ngspice starts, ``rest`` (0 V; the nudged phase at
    the free equilibrium: the phase as training ran it) or ``equilibrium``, neurosim's own equilibrium of the phase
    (the ODE engine, settled to 1 uV), as ``.ic`` of the transient or ``.nodeset`` of the operating point: the
    routes for a network too large for a transient from rest. A short transient from the equilibrium checks it
    (a circuit at an equilibrium stays there; docs/spice.md: within 1 mV on every network measured), while the
    operating point may land on another of the network's equilibria. ``neurosim waveform --run`` compares the last
    row with neurosim's equilibrium. Default: ``equilibrium`` for ``op``, else ``rest``.
    ``run_path``: the run file's path, recorded in the netlist's header with the example, split, phase, circuit
    options and data directory (:func:`exported_from`), so that ``neurosim waveform`` compares with the right
    run. ``before_writing``: called with the transient's length (time constants) and the start as
    resolved, once every check has passed, just before the netlist is written (the command line says there how
    large it is and what ngspice will cost).

    With hardware models, the netlist holds the effective network of the run's devices (quantised stored weights,
    variation, stuck-at faults, mismatch, and one draw of read noise for this example).
    """
    out = Path(out)
    data_file = safe_name(out.with_suffix(".data").name, "the data file named after the netlist")
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists: give --overwrite to replace it")
    if out.is_file() and h5py.is_hdf5(out):
        raise FileExistsError(f"{out} is an HDF5 file (a run?): a netlist never replaces one, --overwrite or not; "
                              "choose another name")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)  # as train -o does
    except (FileExistsError, NotADirectoryError):
        raise NotADirectoryError(f"{out}: its folder {out.parent} cannot be made, a file is in the way") from None
    if analysis not in ("tran", "op"):
        raise ValueError(f"analysis={analysis!r}: choose 'tran' or 'op'")
    start = start or default_start(analysis)
    if start not in ("rest", "equilibrium"):
        raise ValueError(f"start={start!r}: choose 'rest' or 'equilibrium'")
    case = example_phase(run, example, phase=phase, split=split, data_dir=data_dir, circuit=circuit, t_max=t_stop)
    c = case
    written = Phase(beta=c.beta, target=c.target if c.beta else None, nudge=c.nudge)
    begin = c.equilibrium() if start == "equilibrium" else c.start
    if before_writing is not None:
        before_writing(c.t_max, start)
    with replaced_whole(out, "netlist") as part:
        write_netlist(part, c.net, c.x[0], circuit=c.circuit, phase=written, start=begin,
                      analysis=Analysis(kind=analysis, t_stop=c.t_max), data_file=data_file, library=library, inline=inline,
                      clip=clip, control=control,
                      title=f"{name}, {run.config['dataset']} {split} example {example} (label {c.label}), {phase} phase",
                      notes=(EXPORTED + json.dumps(dict(run=run_path, example=example, split=split, phase=phase,
                                                        circuit=circuit or {}, data_dir=data_dir)),))
    return out.parent / data_file
