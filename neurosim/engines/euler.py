"""Fixed-step Euler relaxation, the paper's discretisation (eq 9) and neurosim's fast path.

    s[n] = clip(s[n-1] - eps dF/ds(s[n-1]), 0, 1),   n = 1 .. N

with N = ``n_free`` in the free phase and ``n_nudged`` in the nudged phase. The clip keeps every state in the
hard sigmoid's support, the projected form of the dynamics. Time is dimensionless (in units of tau = RC): N steps
of size eps cover eps N time constants (eq 10).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..energy import grad_f
from ..network import Coupling, Network
from .base import Phase, Relaxation


@dataclass(frozen=True)
class Euler:
    """Euler engine. ``eps``: step size in units of tau; ``n_free`` / ``n_nudged``: steps per phase."""

    eps: float = 0.5
    n_free: int = 500
    n_nudged: int = 8
    name: str = "euler"

    def __post_init__(self) -> None:
        if not self.eps > 0:
            raise ValueError(f"eps={self.eps}: the Euler step must be > 0")
        for field_name in ("n_free", "n_nudged"):
            if getattr(self, field_name) < 1:
                raise ValueError(f"{field_name}={getattr(self, field_name)}: needs at least 1 step")

    def relax(self, net: Network, x: np.ndarray, s: np.ndarray, phase: Phase) -> Relaxation:
        coupling = Coupling(net, x)
        target = None if phase.target is None else np.asarray(phase.target, dtype=net.dtype)
        steps = self.n_nudged if phase.nudged else self.n_free
        s = np.array(s, dtype=net.dtype)
        step = np.zeros_like(s)
        for _ in range(steps):
            new = np.clip(s - self.eps * grad_f(net, coupling, s, phase.beta, target), 0.0, 1.0)
            np.subtract(new, s, out=step)
            s = new
        residual = np.abs(step).max(axis=1) if s.shape[1] else np.zeros(len(s))
        return Relaxation(state=s, residual=residual, steps=steps)
