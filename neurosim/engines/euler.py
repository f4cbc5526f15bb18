"""Fixed-step Euler relaxation, the paper's discretisation (eq 9) and neurosim's fast path.

    s[n] = clip(s[n-1] - eps dF/ds(s[n-1]), 0, 1),   n = 1 .. N

with N = ``n_free`` in the free phase and ``n_nudged`` in the nudged phase. The clip keeps every state in the
hard sigmoid's support, the projected form of the dynamics. Time is dimensionless (in units of tau = RC): N steps
of size eps cover eps N time constants (eq 10).

Inside [0, 1], rho(s) = s and rho'(s) = 1, so with d = W_ss s + b + W_sx x the step is

    s <- clip(s + eps (d - s + beta (y_target - y) [outputs]), 0, 1)

an affine map followed by the clip (the ``weak`` nudge). The ``clamped`` and ``reference`` nudges
(:class:`~neurosim.engines.base.Phase`) make the free step s' = s + eps (d - s) on every neuron and then mix the
outputs with the target,

    y <- clip((1 - k) y' + k y_target, 0, 1),   k = 2 eps beta (reference), k = 1 (clamped, from y = y_target)

also affine. With the dense coupling layout every step is one fused product, s <- clip(s A + c, 0, 1): weak,
A = eps W_ss + (1 - eps) I - eps beta I_out and c = eps (const + beta y_target); the other nudges scale the
output columns of A = eps W_ss + (1 - eps) I and c = eps const by (1 - k) and add k y_target to c's. One matrix
product and one elementwise kernel per step on a GPU. The same code runs on numpy and torch arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from array_api_compat import device as device_of

from ..backend import addmm
from ..coupling import Coupling
from ..network import Network
from ..settings import setting
from .base import (NUDGES, Phase, Relaxation, check_iteration_settings, check_nudge, run_phase,
                   starting_point)


def output_mix(phase: Phase, eps: float) -> float | None:
    """The weight k of the target in a nudged step's outputs, y <- (1 - k) y' + k y_target (module docstring):
    2 eps beta for the reference nudge, 1 for the clamped one; None for the free phase and the weak nudge."""
    if not phase.nudged or phase.nudge == "weak":
        return None
    return 1.0 if phase.nudge == "clamped" else 2.0 * eps * phase.beta


@dataclass(frozen=True)
class Euler:
    """Euler engine. ``eps``: step size in units of tau; ``n_free`` / ``n_nudged``: steps per phase (the most,
    when ``tol`` is set); ``tol``: stop a phase once the batch's largest residual max|ds| falls below it, checked
    every ``check_every`` steps (0: run all steps, as the paper does; a check reads one number back from the
    device, so it cannot run inside a recorded CUDA graph); ``layout``: how the coupling multiplies (``None``:
    the network's default, see :class:`Coupling`)."""

    eps: float = setting(0.5, "Euler step, units of tau")
    n_free: int = setting(100, "Free-phase steps")
    n_nudged: int = setting(8, "Nudged-phase steps")
    tol: float = setting(0.0, "Stop a phase when max|ds| < tol; 0 runs all steps")
    check_every: int = 10
    layout: str | None = None
    name: str = "euler"
    nudges: tuple[str, ...] = NUDGES
    #: the step of the paper's code: at the paper's width the weak nudge loses outputs (docs/design.md, "Defaults")
    default_nudge: ClassVar[str] = "reference"
    devices: ClassVar[tuple] = ("cpu", "cuda")

    def __post_init__(self) -> None:
        if not 0 < self.eps <= 1:
            raise ValueError(f"eps={self.eps}: the Euler step must be in (0, 1] time constants")
        check_iteration_settings(self)

    def relax(self, net: Network, x, s, phase: Phase) -> Relaxation:
        check_nudge(self, phase)
        coupling = Coupling(net, x, self.layout)
        xp, eps, beta, out = coupling.xp, self.eps, phase.beta, net.output_slice
        weak = phase.nudged and phase.nudge == "weak"
        mix = output_mix(phase, eps)
        s, target = starting_point(net, coupling, s, phase)
        if coupling.layout == "dense":
            # device-side operations only (no host values written through an index): capturable in a CUDA graph
            diagonal = xp.full((net.n_free,), 1.0 - eps, dtype=net.dtype, device=device_of(s))
            c = eps * coupling.const
            if weak:
                diagonal[out] -= eps * beta
                c[:, out] += eps * beta * target
            a = eps * coupling.w_ss + xp.eye(net.n_free, dtype=net.dtype, device=device_of(s)) * diagonal
            if mix is not None:
                a[:, out] *= 1.0 - mix
                c[:, out] = (1.0 - mix) * c[:, out] + mix * target

            def step(state):
                return xp.clip(addmm(c, state, a), 0.0, 1.0)

        else:

            def step(state):
                drive = coupling(state)
                if weak:
                    drive[:, out] += beta * (target - state[:, out])
                new = state + eps * (drive - state)
                if mix is not None:
                    new[:, out] = (1.0 - mix) * new[:, out] + mix * target
                return xp.clip(new, 0.0, 1.0)

        return run_phase(self, phase, step, s, xp)
