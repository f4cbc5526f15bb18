"""A phase of EqProp, as plain data: free (beta = 0) or nudged towards a target, and how (the nudge).

The engines relax phases (:mod:`neurosim.engines`), the netlist writes one as a circuit (:mod:`neurosim.netlist`);
both read it from here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


#: How the second phase moves the outputs towards the target (:class:`Phase`'s ``nudge``).
NUDGES = ("weak", "clamped", "reference")


def check_nudge_name(nudge: str) -> None:
    """Raise :class:`ValueError` naming ``nudge`` unless it is one of :data:`NUDGES`."""
    if nudge not in NUDGES:
        raise ValueError(f"nudge={nudge!r}: choose one of {', '.join(NUDGES)}")


@dataclass(frozen=True)
class Phase:
    """A phase of EqProp: ``beta = 0`` is the free phase; ``beta != 0`` moves the outputs y towards ``target``
    (B, n_outputs), in one of three ways (``nudge``):

    - ``weak``: relax on F = E + beta C (eq 5), the paper's text: an extra drive beta (y_target - y) on each
      output (in the circuit, a conductance beta / R to a source at the target);
    - ``clamped``: hold the outputs at the target for the whole phase while the other free neurons relax on E
      (contrastive Hebbian learning's clamped phase; in the circuit, a voltage source on each output node);
    - ``reference``: the discrete step of the code behind the paper's figures, defined for a step size eps: after
      the free Euler step y' = y + eps (d - y), y <- clip(y' + 2 eps beta (y_target - y'), 0, 1). At
      eps beta = 1/2 it sets the outputs to the target in every step; beta = -1 moves them to clip(2 y' - t).

    The local rule divides by beta whatever the nudge.
    """

    beta: float = 0.0
    target: np.ndarray | None = None
    nudge: str = "weak"

    def __post_init__(self) -> None:
        if self.beta != 0.0 and self.target is None:
            raise ValueError("a nudged phase (beta != 0) needs a target")
        check_nudge_name(self.nudge)

    @property
    def clamped(self) -> bool:
        """Whether the outputs are held at the target (a nudged phase with ``nudge='clamped'``)."""
        return self.nudged and self.nudge == "clamped"

    @property
    def nudged(self) -> bool:
        return self.beta != 0.0

    @property
    def name(self) -> str:
        return "nudged" if self.nudged else "free"
