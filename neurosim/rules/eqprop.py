"""Equilibrium propagation (paper section 2.1.1), the energy-based network's own rule.

One training step on a batch:

1. free phase from ``start`` (default s = 0): relax on F(beta = 0) -> s^0;
2. nudged phase from s^0: relax with the outputs moved towards the target (the ``nudge``:
   :class:`~neurosim.engines.base.Phase`) -> s^beta;
3. the local estimate of -dC/dtheta (eqs 7-8 without alpha), batch-averaged:
       dW_ij = 1 / beta * <rho(u_i^beta) rho(u_j^beta) - rho(u_i^0) rho(u_j^0)>
       db_i  = 1 / beta * <rho(u_i^beta) - rho(u_i^0)>

Each estimate needs only the two neurons its weight joins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from array_api_compat import device as device_of

from ..backend import array_namespace
from ..energy import rho
from ..engines.base import Phase, Relaxation, check_nudge_name
from ..network import Network
from .base import Machine, check_parameters


def eqprop_gradient(net: Network, x, s_free, s_nudged, beta: float) -> list:
    """The EqProp estimate of -dC/dtheta for every parameter (eqs 7-8 without alpha), batch-averaged, in the order
    of :meth:`Network.parameters`: (1/beta) <rho_i rho_j |nudged - rho_i rho_j |free> for weights and
    (1/beta) <rho_i |nudged - rho_i |free> for biases. Entries of missing connections are 0. Works on numpy
    arrays and torch tensors alike."""
    xp = array_namespace(s_free)
    x = xp.asarray(x, dtype=net.dtype, device=device_of(s_free))
    batch = x.shape[0]
    scale = 1.0 / (beta * batch)
    r0, rb = rho(s_free), rho(s_nudged)

    def layer_act(r, layer):
        return x if layer == 0 else r[:, net.free_slice(layer)]

    grads: list[np.ndarray] = []
    for b in net.blocks:
        g = layer_act(rb, b.lo).T @ layer_act(rb, b.hi) - layer_act(r0, b.lo).T @ layer_act(r0, b.hi)
        g *= scale
        if b.mask is not None:
            g *= b.mask
        grads.append(g)
    u0 = xp.concat([x, r0], axis=1)
    ub = xp.concat([x, rb], axis=1)
    i, j = net.sparse.i, net.sparse.j
    grads.append(scale * xp.sum(ub[:, i] * ub[:, j] - u0[:, i] * u0[:, j], axis=0))
    grads.append(scale * xp.sum(rb - r0, axis=0))
    return grads


def zero_state(net: Network, x):
    """Free states of zero for a batch of inputs ``x``, on the network's backend and device."""
    return array_namespace(net.bias).zeros((x.shape[0], net.n_free), dtype=net.dtype, device=device_of(net.bias))



@dataclass(frozen=True)
class EqProp:
    """Equilibrium propagation. ``nudge``: how the second phase moves the outputs (``weak``, ``clamped``,
    ``reference``; :class:`~neurosim.engines.base.Phase`), which the engine must implement."""

    nudge: str = "weak"
    name: ClassVar[str] = "eqprop"
    layered_only: ClassVar[bool] = False
    settings: ClassVar[tuple] = ("beta", "random_sign", "nudge", "engine")

    def __post_init__(self) -> None:
        check_nudge_name(self.nudge)

    @property
    def parameters(self) -> dict:
        """None learned: EqProp's only parameters are the network's."""
        return {}

    @classmethod
    def from_config(cls, config, net: Network, rng, learned: dict | None = None) -> "EqProp":
        check_parameters({}, learned, config.rule)
        return cls(nudge=config.nudge)

    def train(self, machine: Machine, net: Network, x, target, beta: float, start) -> tuple:
        free = self.predict(machine, net, x, start)
        nudged = machine.relax(x, free.state, Phase(beta=beta, target=target, nudge=self.nudge))
        read = machine.read
        return free, nudged, eqprop_gradient(net, read(x), read(free.state), read(nudged.state), beta)

    def predict(self, machine: Machine, net: Network, x, start) -> Relaxation:
        """The free phase, from ``start`` (B, n_free) or from s = 0 (the paper starts every free phase at zero;
        a warm start begins at the example's previous free equilibrium)."""
        return machine.relax(x, zero_state(net, x) if start is None else start, Phase())
