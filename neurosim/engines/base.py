"""What every engine shares: the phase it is asked to relax and the relaxation it returns.

An engine brings a network's free neurons to (or towards) equilibrium for a batch of clamped inputs. It is a small
object holding only its own settings; it knows the :class:`~neurosim.network.Network` and nothing above it.
Engines implement one method::

    relax(net, x, s, phase) -> Relaxation

``x``: inputs (B, n_inputs); ``s``: starting free state (B, n_free); ``phase``: free (beta = 0) or nudged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from array_api_compat import device as device_of

from ..network import Network
from ..errors import NeurosimError
from ..phase import NUDGES, Phase, check_nudge_name  # noqa: F401 (the engines' phase, re-exported)


class EngineError(NeurosimError, RuntimeError):
    """An engine could not relax a phase (a solver failure, a simulator error); the message says which phase and
    quotes the solver."""


@dataclass
class Relaxation:
    """Result of one phase, the fields every engine reports.

    ``state``: final free state (B, n_free). ``residual``: per example, the largest change of any state in the
    last step, max_i |ds_i| (for time-continuous engines, max_i |ds_i/dt| tau, volts), shape (B,): 0 only at
    an exact fixed point. ``steps``: the engine's unit of work, named by ``step_unit``: ``iterations`` (Euler
    steps, fixed-point sweeps), ``evaluations`` (the ODE's right-hand sides) or ``time points`` (ngspice's
    output rows); only counts of one unit add up. ``settling_time``: seconds the phase took in the circuit
    (time-continuous engines; NaN for the iterating ones). ``settled``: whether it reached its tolerance (None:
    the engine has none). ``simulator_seconds``: an external simulator's own run time (ngspice; NaN
    otherwise). ``info``: engine-specific extras (per-example settling times, wall time, tau).
    """

    state: np.ndarray
    residual: np.ndarray
    steps: int
    step_unit: str = "iterations"
    settling_time: float = math.nan
    settled: bool | None = None
    simulator_seconds: float = math.nan
    info: dict = field(default_factory=dict)


def check_iteration_settings(engine) -> None:
    """Reject bad ``n_free``, ``n_nudged``, ``check_every`` (>= 1) and ``tol`` (>= 0) of an iterating engine."""
    for name in ("n_free", "n_nudged", "check_every"):
        if getattr(engine, name) < 1:
            raise ValueError(f"{name}={getattr(engine, name)}: needs at least 1 iteration")
    if not engine.tol >= 0:
        raise ValueError(f"tol={engine.tol}: the residual tolerance cannot be negative")


def refuse_nudge(nudge: str, engine: str, implemented) -> None:
    """Raise :class:`ValueError` naming ``nudge`` and the nudges the engine named ``engine`` implements, if
    ``implemented`` lacks it: the one message of the engines, the controller and the configuration."""
    if nudge not in implemented:
        raise ValueError(f"nudge={nudge!r}: the {engine} engine implements {', '.join(implemented)}")


def check_nudge(engine, phase: Phase) -> None:
    """Refuse a nudged phase whose nudge ``engine`` does not implement (its ``nudges``)."""
    if phase.nudged:
        refuse_nudge(phase.nudge, engine.name, engine.nudges)


def starting_point(net: Network, coupling, s, phase: Phase) -> tuple:
    """The starting state clipped into [0, 1] and the phase's target, as arrays of the coupling's backend and
    device (the shared beginning of every engine's ``relax``). The state is always a new array (an engine may
    write into it; ``s`` is never written); a clamped phase's state starts with its outputs at the target."""
    xp = coupling.xp
    s = xp.clip(xp.asarray(s, dtype=net.dtype, device=device_of(coupling.const)), 0.0, 1.0)
    target = None if phase.target is None else xp.asarray(phase.target, dtype=net.dtype, device=device_of(s))
    if phase.clamped:
        s = xp.concat([s[:, : net.output_slice.start], target], axis=1)
    return s, target


def run_phase(engine, phase: Phase, step, s, xp, in_place: bool = False) -> Relaxation:
    """Apply ``step`` for ``engine.n_free`` or ``engine.n_nudged`` iterations (with its ``tol`` and
    ``check_every``, see :func:`iterate`; ``in_place``: ``step`` writes into the state it is given) and return
    the :class:`Relaxation`."""
    most = engine.n_nudged if phase.nudged else engine.n_free
    s, residual, done = iterate(step, s, most, engine.tol, engine.check_every, xp, in_place)
    return Relaxation(state=s, residual=residual, steps=done)


def iterate(step, s, most: int, tol: float, check_every: int, xp,
            in_place: bool = False) -> tuple[object, object, int]:
    """Apply ``step`` to the state ``s`` (B, n) up to ``most`` times; returns the final state, the residual
    max_i |change| of the last application per example, and the applications made.

    ``in_place``: ``step`` updates the array it is given and returns it (``s`` must then be the engine's own
    array, not the caller's); the state before the application the residual is taken of is copied, once per
    check.

    With ``tol`` > 0 it stops once the batch's largest residual is below ``tol``, checked every ``check_every``
    applications (each check reads one number back from the device). With ``tol`` = 0 it makes exactly ``most``
    applications and reads nothing back, so it can be recorded in a CUDA graph.
    """
    done = 0
    while done < most:
        chunk = min(check_every, most - done) if tol > 0 else most - done
        for _ in range(chunk - 1):
            s = step(s)
        before = xp.asarray(s, copy=True) if in_place else s
        new = step(s)
        residual = xp.max(xp.abs(new - before), axis=1) if s.shape[1] else xp.zeros(s.shape[0])
        s, done = new, done + chunk
        if tol > 0 and float(xp.max(residual)) < tol:
            break
    return s, residual, done


class Engine(Protocol):
    """What the controller needs of an engine: a ``name`` (its registry key, :data:`neurosim.engines.ENGINES`),
    the ``nudges`` it implements, the nudge it trains with when none is configured (``default_nudge``), the
    ``devices`` it runs on (cpu, cuda) and ``relax``. It is a frozen dataclass: the fields made with
    :func:`neurosim.settings.setting` are its settings, which a configuration's ``engine`` table nests, each with
    its one default and its one check (``__post_init__``); a ``circuit`` field takes the configuration's
    :class:`~neurosim.circuit.Circuit`. An engine that needs something outside Python (a simulator on PATH) also
    has ``check_ready()``, which raises a :class:`EngineError` that says how to get it; training calls it before
    it writes anything (:func:`check_ready`)."""

    name: str
    nudges: tuple[str, ...]


    def relax(self, net: Network, x: np.ndarray, s: np.ndarray, phase: Phase) -> Relaxation: ...


def check_ready(engine) -> None:
    """Raise the engine's own :class:`EngineError` now if it cannot run (its optional ``check_ready``), so a
    training fails before it writes a run file."""
    ready = getattr(engine, "check_ready", None)
    if ready is not None:
        ready()
