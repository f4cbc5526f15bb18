"""SPICE engine: each example's circuit as a netlist (:mod:`neurosim.netlist`), simulated by ngspice.

For every example of a batch the engine writes the netlist with the example's inputs, starting state and (nudged
phase) targets, runs ``ngspice -b`` on it in a subprocess (up to ``workers`` at once, one per core by default),
and reads the node voltages it wrote. The equilibrium is the last row of the transient, clipped to the rails (the
clamp lets a node sit microvolts past one). The settling time of an example is the time after which the
waveform's largest rate of change, max_i |dV_i/dt| tau over output steps, stays below ``settle_tol``; ngspice's own analysis time (``rusage time``) is recorded beside the wall time.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import ClassVar, Literal
from pathlib import Path

import numpy as np

from ..backend import is_torch_array
from ..circuit import Circuit
from ..netlist import Analysis, check_control, node_names, write_netlist
from ..dissipation import settling_within
from ..network import Network
from ..settings import setting
from .base import EngineError, Phase, Relaxation, check_nudge, starting_point
from .ode import ODE

INSTALL_HINT = (
    "install ngspice (Debian/Ubuntu: sudo apt-get install ngspice; other systems: https://ngspice.sourceforge.io) "
    "or give the path of the executable"
)


class NgspiceNotFound(EngineError):
    """ngspice is not installed where the engine looks for it; the message says how to install it."""


def find_ngspice(executable: str = "ngspice") -> str:
    """The path of the ngspice executable, or :class:`NgspiceNotFound` with installation instructions."""
    path = shutil.which(executable)
    if path is None:
        raise NgspiceNotFound(f"ngspice not found ({executable!r} is not on PATH): {INSTALL_HINT}")
    return path


@dataclass(frozen=True)
class Spice:
    """SPICE engine. ``circuit``: R, C and the device conductance range; ``t_max`` / ``t_step``: transient length
    and output step, time constants; ``settle_tol``: volts, for the settling time; ``workers``: simultaneous
    ngspice processes (default: the number of cores); ``timeout``: seconds per ngspice run; ``clip``: clip
    weights beyond the conductance range instead of failing; ``executable``: the ngspice program;
    ``analysis``: ``tran`` (a transient of ``t_max`` time constants from the starting state) or ``op``, opt-in:
    ngspice's operating point, Newton's method started from the ODE engine's estimate of the same circuit (to
    10 mV); 30-140x faster, but the network has several equilibria, so the phase counts as settled only where the
    operating point's residual is below ``settle_tol`` (no settling time: NaN)."""

    circuit: Circuit = field(default_factory=Circuit)
    t_max: float = setting(250.0, "Transient length, time constants")
    t_step: float = 0.1
    settle_tol: float = setting(1e-3, "Settled when max|ds/dt| tau < this, volts")
    workers: int | None = None
    timeout: float = 600.0
    clip: bool = setting(False, "Clip weights to the conductance range instead of failing",
                         option="--clip-weights")
    executable: str = "ngspice"
    analysis: Literal["tran", "op"] = setting(
        "tran", "Transient, or ngspice's operating point from the ODE's estimate (residual checked)",
        option="--spice-analysis")
    name: str = "spice"
    nudges: tuple[str, ...] = ("weak", "clamped")
    default_nudge: ClassVar[str] = "weak"
    devices: ClassVar[tuple] = ("cpu",)

    def __post_init__(self) -> None:
        for name in ("t_max", "settle_tol", "timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}={getattr(self, name)}: must be > 0")
        self.netlist_analysis  # t_step and analysis checked where they are defined
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers={self.workers}: needs at least 1")

    @property
    def netlist_analysis(self) -> Analysis:
        """What ngspice runs on each example's netlist (:class:`~neurosim.netlist.Analysis`)."""
        return Analysis(kind=self.analysis, t_stop=self.t_max, t_step=self.t_step)

    def check_ready(self) -> None:
        """:class:`NgspiceNotFound` (how to install it) unless ngspice is on PATH."""
        find_ngspice(self.executable)

    def relax(self, net: Network, x, s, phase: Phase) -> Relaxation:
        """Simulate every example's circuit; ``settling_time``: seconds, the batch's slowest example;
        ``simulator_seconds``: ngspice's analysis time, summed over the batch; ``info``: ``settling_times`` (per
        example, the rate criterion), ``within_tol_times`` (per example, the time after which every node stays
        within ``settle_tol`` volts of its final value, :func:`~neurosim.dissipation.settling_within`: the
        designer's criterion, 1.4-4x later on large networks), ``wall_seconds``."""
        if is_torch_array(net.bias):
            raise ValueError("the spice engine runs on the CPU: move the network there with net.to('cpu')")
        check_nudge(self, phase)
        executable = find_ngspice(self.executable)
        equation = self.circuit.crossbar.equation(self.circuit, net, x)
        s, target = starting_point(net, equation.coupling, s, phase)
        if self.analysis == "op":  # Newton's starting point: the ODE's estimate of the same circuit, to 10 mV
            s = ODE(circuit=self.circuit, settle_tol=1e-2, t_max=self.t_max).relax(net, x, s, phase).state
        x = np.asarray(x, dtype=np.float64)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="neurosim-spice-") as tmp:
            def one(b: int) -> Waveform:
                return self._simulate(executable, Path(tmp), b, net, x[b], s[b], phase,
                                      None if target is None else target[b])

            workers = min(self.workers or os.cpu_count() or 1, len(x)) or 1
            with ThreadPoolExecutor(max_workers=workers) as pool:
                results = list(pool.map(one, range(len(x))))
        state = np.stack([np.clip(w.v[-1], 0.0, 1.0) for w in results]).astype(net.dtype)
        tau = self.circuit.tau
        if phase.clamped:
            state[:, net.output_slice] = target  # the sources hold them; ngspice writes them within its tolerance
        residual = np.max(np.abs(equation.drift(state, phase, target)), axis=1)
        if self.analysis == "op":  # no time: settled only where the operating point's residual says so
            settling = within = np.full(len(x), np.nan)
            settled, slowest = bool(np.all(residual < self.settle_tol)), math.nan
        else:
            step = self.t_step * tau
            settling = np.array([settling_time(w.t, w.v, tau, self.settle_tol, step) for w in results])
            within = np.array([settling_within(w.t, w.v, self.settle_tol) for w in results])
            settled = bool(np.all(np.isfinite(settling)))
            slowest = float(np.max(np.where(np.isfinite(settling), settling, self.t_max * tau)))
        return Relaxation(
            state=state,
            residual=residual,
            steps=sum(w.points for w in results),
            step_unit="time points",
            settling_time=slowest,
            settled=settled,
            simulator_seconds=sum(w.seconds for w in results),
            info={
                "settling_times": settling,
                "within_tol_times": within,
                "wall_seconds": time.perf_counter() - started,
                "tau": tau,
            },
        )

    def _simulate(self, executable, folder: Path, b: int, net, x, start, phase: Phase, target) -> "Waveform":
        """One example: write its netlist into ``folder`` and run it."""
        netlist, data_file = folder / f"example{b}.cir", f"example{b}.data"
        write_netlist(netlist, net, x, circuit=self.circuit, phase=replace(phase, target=target), start=start,
                      analysis=self.netlist_analysis, data_file=data_file, clip=self.clip,
                      title=f"{phase.name} phase, batch example {b}")
        return run_netlist(netlist, net.sizes, self.t_max * self.circuit.tau, data_file=data_file,
                           executable=executable, timeout=self.timeout, what=f"{phase.name} phase, example {b}")


@dataclass
class Waveform:
    """What ngspice wrote for one netlist: times ``t`` (T,) seconds, free node voltages ``v`` (T, n_free) volts,
    its analysis time ``seconds`` and its number of transient time points."""

    t: np.ndarray
    v: np.ndarray
    seconds: float
    points: int


def run_netlist(netlist: Path, sizes, t_end: float, *, data_file: str | None = None, executable: str = "ngspice",
                timeout: float = 600.0, what: str = "netlist") -> Waveform:
    """Run ``ngspice -b`` on a netlist written by :func:`~neurosim.netlist.write_netlist` (in its directory) and
    read its data file (``data_file``, or the one its ``wrdata`` line names). Raises :class:`EngineError` quoting
    ngspice if it fails, times out, or writes other nodes or a transient that stops before ``t_end`` seconds;
    nothing partial is returned."""
    netlist = Path(netlist)
    executable = find_ngspice(executable)
    text = netlist.read_text(errors="replace")
    try:
        check_control(text, str(netlist))
    except ValueError as err:
        raise EngineError(f"{what}: not run: {err}") from None
    if data_file is None:
        match = re.search(r"^wrdata (\S+)", text, re.M)
        if match is None:
            raise EngineError(f"{what}: {netlist} has no wrdata line (not written by neurosim.netlist)")
        data_file = match.group(1)
    data = netlist.parent / data_file
    data.unlink(missing_ok=True)
    try:
        done = subprocess.run([executable, "-b", netlist.name], cwd=netlist.parent, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise EngineError(f"{what}: ngspice did not finish within {timeout} s") from None
    log = done.stdout + done.stderr
    expected = [f"v({n})" for n in node_names(sizes)[sizes[0] :]]
    operating_point = re.search(r"^\.op\s*$", text, re.M) is not None
    try:
        with open(data) as f:
            header = f.readline().split()
            values = np.loadtxt(f, ndmin=2)
    except (OSError, ValueError):
        header, values = [], np.empty((0, 0))
    if operating_point:  # one row; ngspice writes the first vector (an input's voltage) as its scale
        complete = header[1:] == expected and len(values) == 1
        if complete:
            values = np.concatenate([[[0.0]], values[:, 1:]], axis=1)
    else:
        complete = header == ["time", *expected] and len(values) >= 2 and values[-1, 0] >= t_end * (1 - 1e-6)
    if done.returncode != 0 or not complete:
        raise EngineError(f"{what}: ngspice failed (exit {done.returncode}): {ngspice_message(log)}")
    seconds = _rusage(log, r"Total analysis time \(seconds\) = ([0-9.eE+-]+)", float)
    points = _rusage(log, r"Transient timepoints = (\d+)", int)
    return Waveform(values[:, 0], values[:, 1:], seconds, points)


def settling_time(t: np.ndarray, v: np.ndarray, tau: float, tol: float, step: float | None = None) -> float:
    """The time (s) after which max_i |dV_i/dt| tau of a waveform (times ``t``, voltages ``v`` (T, n)) stays below
    ``tol`` volts; ``inf`` if it is still above at the end. The rate is taken over intervals of ``step`` seconds
    (default: the largest interval between rows), the waveform interpolated onto that grid: the simulator's
    extra time points (ngspice ends on a step of a nanosecond) would turn microvolts of solver noise at a
    clamped node into a large rate."""
    step = float(np.max(np.diff(t))) if step is None else step
    grid = np.clip(np.arange(t[0], t[-1] + step / 2, step), t[0], t[-1])
    # linear interpolation of every node at once (np.interp's, without a loop over nodes)
    k = np.clip(np.searchsorted(t, grid, side="right") - 1, 0, len(t) - 2)
    span = t[k + 1] - t[k]
    w = np.divide(grid - t[k], span, out=np.zeros_like(grid), where=span > 0)[:, None]
    v = np.asarray(v)
    v = v[k] + w * (v[k + 1] - v[k])
    t = grid
    rate = np.max(np.abs(np.diff(v, axis=0)), axis=1, initial=0.0) / np.diff(t) * tau
    above = np.nonzero(rate >= tol)[0]
    if len(above) == 0:
        return float(t[0])
    if above[-1] == len(rate) - 1:
        return float("inf")
    return float(t[above[-1] + 1])


def ngspice_message(log: str) -> str:
    """The lines of ngspice's output that say what went wrong (errors, warnings, convergence), or its last lines."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    wanted = [line for line in lines if re.search(r"error|warning|too small|singular|abort|fail", line, re.I)]
    return " | ".join((wanted or lines[-5:])[:8]) or "no output"


def _rusage(log: str, pattern: str, kind):
    match = re.search(pattern, log)
    return kind(match.group(1)) if match else kind(0)
