"""Leaky-integrator ODE engine: the circuit's own equation, integrated in seconds by ``scipy.integrate.solve_ivp``.

Each free neuron is a capacitor C with a leak resistor R to ground, clamped to [0, 1] V (:mod:`neurosim.circuit`):

    tau ds_i/dt = -s_i + sum_j W_ij rho(s_j) + b_i + beta (y_target,i - y_i) [outputs, nudged phase],  tau = RC

(the ``weak`` nudge; the ``clamped`` nudge holds the outputs at the target instead, ds_i/dt = 0 there), or the
node equation of the circuit's crossbar (:attr:`Circuit.crossbar`, its
:class:`~neurosim.crossbars.NodeEquation`; op-amps of finite bandwidth add a second state per neuron,
:class:`~neurosim.crossbars.opamp.PoleEquation`), as a projected ODE: a node at a rail whose drive pushes it outward stays there (ds_i/dt = 0;
:func:`neurosim.energy.drift`). The batch is one system of B n_free states; each right-hand-side evaluation is
one coupling product for the whole batch. The solver integrates in units of tau, so its steps do not depend on R
and C; times are reported in seconds.

A phase ends at equilibrium: a terminal event fires when the residual max_i |ds_i/dt| tau (volts) falls below
``settle_tol``, or at ``t_max`` time constants. The time at which it ended is the *settling time* in seconds,
the time the phase takes in silicon (for the slowest example of each chunk of the batch, which settles as one
system; see :class:`ODE`'s ``chunk``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np
import scipy.sparse as sp
from scipy.integrate import solve_ivp

from ..backend import is_torch_array
from ..circuit import Circuit
from ..network import Network
from ..settings import setting
from .base import EngineError, Phase, Relaxation, check_nudge, starting_point

#: solve_ivp methods the engine accepts. Radau and BDF get the Jacobian's block-diagonal sparsity (one block per
#: example), so their finite-difference Jacobian costs n_free evaluations, not B n_free. LSODA is left out: it
#: takes no sparsity and switches to its stiff method at every clamp kink (../shared/reference/measured-facts.md).
METHODS = ("RK45", "RK23", "DOP853", "Radau", "BDF")
IMPLICIT = ("Radau", "BDF")


@dataclass(frozen=True)
class ODE:
    """ODE engine. ``circuit``: R (ohms) and C (farads), tau = RC; ``method``: a solve_ivp method of
    :data:`METHODS`; ``rtol`` / ``atol``: the local error allowed on each state (``atol`` in volts; solve_ivp
    bounds an RMS over all B n_free states, so the engine passes both divided by sqrt(B n_free)); ``settle_tol``: the phase
    ends once max_i |ds_i/dt| tau < ``settle_tol`` volts; ``t_max``: longest phase, in time constants;
    ``layout``: how the coupling multiplies (see :class:`~neurosim.network.Coupling`); ``chunk``: the most
    examples one solve_ivp call integrates (a larger batch is relaxed chunk by chunk: the steps add up, the phase
    lasts as long as its longest chunk, and has settled if every chunk has).

    Why chunks: one call steps every example of the batch together, at the step its fastest example needs, with
    the tolerances tightened by sqrt(B n_free), until its slowest example settles; the work per example grows with
    B. On 784-100-10 trained on MNIST (400 test examples from 0 V, 1 core) a batch of 400 took 32.6 s and 41,089
    right-hand sides, chunks of 200 / 100 / 50 / 20 took 22.8 / 18.3 / 17.5 / 19.2 s.

    Keep ``rtol`` well below ``settle_tol``: the residual is a derivative, and a solver error larger than the
    tolerance it is compared with moves the stop by tens of percent (docs/ode.md has the measurement).

    Op-amp neurons of finite bandwidth (the op-amp crossbar's ``gbw``): use RK45. Their loop is fast (2 pi f_T tau per
    time constant), which costs RK45 steps, but the implicit methods stall where an op-amp sits at its swing (the
    projected right-hand side has a kink): on the digits network of docs/spice.md Radau ended far from
    equilibrium on 1 example of 50 at 10 MHz and BDF on 2 (up to 0.45 V from ngspice, residual 0.1 V and more),
    BDF also at 300 kHz, where RK45 and ngspice agree within 0.013 mV. Such a phase ends unsettled, its residual
    recorded, never silently.
    """

    circuit: Circuit = field(default_factory=Circuit)
    method: Literal[METHODS] = setting("RK45", "solve_ivp method", option="--ode-method")
    rtol: float = setting(1e-3, "solve_ivp relative tolerance per state")
    atol: float = setting(1e-6, "solve_ivp absolute tolerance per state, volts")
    settle_tol: float = setting(1e-3, "Settled when max|ds/dt| tau < this, volts")
    t_max: float = setting(250.0, "Longest phase, time constants")
    layout: str | None = None
    chunk: int = 50
    name: str = "ode"
    nudges: tuple[str, ...] = ("weak", "clamped")
    default_nudge: ClassVar[str] = "weak"
    devices: ClassVar[tuple] = ("cpu",)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method={self.method!r}: choose one of {', '.join(METHODS)}")
        for name in ("rtol", "atol", "settle_tol", "t_max"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}={getattr(self, name)}: must be > 0")
        if not self.chunk >= 1:
            raise ValueError(f"chunk={self.chunk}: at least one example per solve_ivp call")

    def relax(self, net: Network, x, s, phase: Phase) -> Relaxation:
        """Integrate from ``s`` until the residual falls below ``settle_tol`` or ``t_max`` time constants pass.

        ``settling_time``: seconds at which the phase ended; ``settled``: whether the tolerance was reached
        before ``t_max``; ``steps``: right-hand-side evaluations, the solver's and the stop event's.
        """
        check_nudge(self, phase)
        if len(s) > self.chunk:
            parts = [self.relax(net, x[lo : lo + self.chunk], s[lo : lo + self.chunk],
                                phase if phase.target is None else
                                dataclasses.replace(phase, target=phase.target[lo : lo + self.chunk]))
                     for lo in range(0, len(s), self.chunk)]
            return Relaxation(
                state=np.concatenate([r.state for r in parts]),
                residual=np.concatenate([r.residual for r in parts]),
                steps=sum(r.steps for r in parts),
                step_unit="evaluations",
                settling_time=max(r.settling_time for r in parts),
                settled=all(r.settled for r in parts),
                info=parts[0].info,
            )
        system = make_system(net, x, s, phase, self.layout, self.circuit)
        residual = system.residual(system.y0) if system.size else np.zeros(system.shape[0])
        if residual.max(initial=0.0) < self.settle_tol:
            state, t_end, settled = system.s0, 0.0, True
        else:
            sol = self._solve(system, events=self._stop_event(system))
            settled = sol.status == 1
            t_end = self.circuit.tau * float(sol.t_events[0][0] if settled else sol.t[-1])
            y = sol.y_events[0][0] if settled else sol.y[:, -1]
            state, residual = system.state(y), system.residual(y)
        return Relaxation(
            state=state,
            residual=residual,
            steps=system.evaluations,
            step_unit="evaluations",
            settling_time=t_end,
            settled=settled,
            info={"tau": self.circuit.tau},
        )

    def trajectory(self, net: Network, x, s, phase: Phase, times) -> np.ndarray:
        """The states (len(times), B, n_free), volts, at ``times`` (seconds, increasing, within ``t_max``
        time constants), integrated without the stop event."""
        check_nudge(self, phase)
        system = make_system(net, x, s, phase, self.layout, self.circuit)
        t = np.asarray(times, dtype=np.float64) / self.circuit.tau
        if not t[-1] <= self.t_max * (1 + 1e-12):  # 250e-6 s / 1e-6 s is 250.00000000000003
            raise ValueError(f"times up to {times[-1]} s: beyond t_max = {self.t_max} tau = {self.t_max * self.circuit.tau} s")
        sol = self._solve(system, t_eval=t, t_end=float(t[-1]))
        return np.stack([system.state(y) for y in sol.y.T])

    def _stop_event(self, system: "_System"):
        def settled(t, y):
            return float(np.max(np.abs(system.tau_dsdt(y)))) - self.settle_tol

        settled.terminal = True
        settled.direction = -1
        return settled

    def _solve(self, system: "_System", events=None, t_eval=None, t_end: float | None = None):
        """solve_ivp on the phase's ODE in units of tau (time t / tau), from 0 to ``t_end`` (default ``t_max``):
        the solver's steps, and so the settling time in time constants, do not depend on tau."""
        # solve_ivp bounds the RMS of the B n_free states' error ratios; dividing both tolerances by sqrt(B n_free)
        # makes them bound every state's error, whatever the batch size
        scale = np.sqrt(system.size)
        options = {}
        if self.method in IMPLICIT:
            options["jac_sparsity"] = system.jacobian_sparsity()
        sol = solve_ivp(
            lambda t, y: system.tau_dsdt(y).ravel(),
            (0.0, self.t_max if t_end is None else t_end),
            system.y0,
            method=self.method,
            rtol=self.rtol / scale,
            atol=self.atol / scale,
            events=events,
            t_eval=t_eval,
            **options,
        )
        if sol.status < 0:
            raise EngineError(f"{system.phase.name} phase: solve_ivp ({self.method}) failed: {sol.message}")
        return sol


def make_system(net: Network, x, s, phase: Phase, layout: str | None, circuit: Circuit) -> "_System":
    """The phase's ODE: the circuit's crossbar's node equation (:class:`~neurosim.crossbars.NodeEquation`) for the
    batch, with as many states per neuron as it has (two for op-amp neurons of finite bandwidth)."""
    return _System(net, x, s, phase, circuit.crossbar.equation(circuit, net, x, layout))


class _System:
    """One phase's ODE: the batch's node equation and target, and an evaluation counter. ``y0``: the solver's
    starting vector (the equation's states, flattened)."""

    def __init__(self, net: Network, x, s, phase: Phase, equation):
        if is_torch_array(net.bias):
            raise ValueError("the ode engine runs on the CPU (scipy): move the network there with net.to('cpu')")
        self.net, self.phase, self.equation = net, phase, equation
        self.s0, self.target = starting_point(net, equation.coupling, s, phase)
        self.shape = (self.s0.shape[0], equation.states * self.s0.shape[1])  # the solver's array, (B, states n_free)
        self.y0 = equation.initial(self.s0).ravel()
        self.size = self.y0.size
        self.evaluations = 0

    def _array(self, flat) -> np.ndarray:
        return np.asarray(flat).reshape(self.shape)

    def tau_dsdt(self, flat) -> np.ndarray:
        """tau dy/dt (volts), shape (B, states n_free), of the flattened solver state ``flat``."""
        self.evaluations += 1
        return self.equation.rates(self._array(flat).astype(self.net.dtype, copy=False), self.phase, self.target)

    def state(self, flat) -> np.ndarray:
        """The node voltages of a solver state: clipped to the rails (a step may overshoot one by up to the
        solver's tolerance), in the network's dtype."""
        return np.clip(self.equation.node_voltages(self._array(flat)), 0.0, 1.0).astype(self.net.dtype)

    def residual(self, flat) -> np.ndarray:
        """max |d/dt| tau (volts) over every state of an example, at the solver state ``flat`` with every voltage
        the rails bound clipped into them (a step may overshoot a rail by up to the solver's tolerance)."""
        return np.max(np.abs(self.tau_dsdt(self.equation.on_rails(self._array(flat)))), axis=1)

    def jacobian_sparsity(self) -> sp.csr_array:
        """Which entries of the Jacobian of the flattened system can be non-zero: one block per example."""
        return sp.block_diag([self.equation.pattern()] * self.shape[0], format="csr")
