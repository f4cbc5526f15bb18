"""What every engine shares: the phase it is asked to relax and the relaxation it returns.

An engine brings a network's free neurons to (or towards) equilibrium for a batch of clamped inputs. It is a small
object holding only its own settings; it knows the :class:`~neurosim.network.Network` and nothing above it.
Engines implement one method::

    relax(net, x, s, phase) -> Relaxation

``x``: inputs (B, n_inputs); ``s``: starting free state (B, n_free); ``phase``: free (beta = 0) or nudged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..network import Network


@dataclass(frozen=True)
class Phase:
    """A phase of EqProp: ``beta = 0`` is the free phase; ``beta != 0`` nudges the outputs towards ``target``
    (B, n_outputs) by relaxing on F = E + beta C (eq 5)."""

    beta: float = 0.0
    target: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.beta != 0.0 and self.target is None:
            raise ValueError("a nudged phase (beta != 0) needs a target")

    @property
    def nudged(self) -> bool:
        return self.beta != 0.0

    @property
    def name(self) -> str:
        return "nudged" if self.nudged else "free"


@dataclass
class Relaxation:
    """Result of one phase.

    ``state``: final free state (B, n_free). ``residual``: per example, the largest change of any state in the
    last step, max_i |ds_i| (for time-continuous engines, max_i |ds_i/dt| tau), shape (B,): 0 only at an exact
    fixed point. ``steps``: iterations or right-hand-side evaluations used. ``info``: engine-specific extras
    (settling time in seconds, simulator run time, ...).
    """

    state: np.ndarray
    residual: np.ndarray
    steps: int
    info: dict = field(default_factory=dict)


class Engine(Protocol):
    name: str

    def relax(self, net: Network, x: np.ndarray, s: np.ndarray, phase: Phase) -> Relaxation: ...
