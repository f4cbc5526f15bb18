"""Layer-wise fixed-point relaxation: exact block coordinate descent on F, for networks without intralayer
connections.

Without intralayer couplings, F restricted to one layer l (all other states fixed) is a sum over its neurons of
1/2 s_i^2 - s_i d_i (+ beta/2 (s_i - t_i)^2 at the outputs) on [0, 1], with d = W rho(u) + b the drive from the
neighbouring layers. Its minimiser is closed-form:

    s_l = clip(d_l, 0, 1)                              hidden layers, and outputs in the free phase
    s_L = clip((d_L + beta t) / (1 + beta), 0, 1)      outputs in the nudged phase (weak nudge)
    s_L = t                                            outputs in the clamped phase (held at the target)

Layers that share no connection can be updated together; one *sweep* updates the groups in turn. For a layered
network the groups are the odd and the even layers (as in published EqProp code); with layer-skipping connections
the groups come from a greedy colouring of the graph of layers (networkx), taken in layer order. Every update
minimises F over a block, so F never increases, and a fixed point is the Euler engine's fixed point
(s = clip(d) wherever both stop).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import networkx as nx
import numpy as np

from ..backend import to_numpy
from ..coupling import Coupling
from ..network import Network
from ..topology import layer_of_neurons
from .base import Phase, Relaxation, check_iteration_settings, check_nudge, from_config, run_phase, starting_point


def layer_groups(net: Network) -> list[list[int]]:
    """Free layers in groups that share no connection, in the order they are updated: a greedy colouring of the
    graph whose nodes are the free layers and whose edges join layers with a connection between them."""
    intra = [b.lo for b in net.blocks if b.lo == b.hi]
    if intra:
        raise ValueError(
            f"the layer-wise fixed point needs a network without intralayer connections; layer {intra[0]} has some"
        )
    graph = nx.Graph()
    graph.add_nodes_from(range(1, net.n_layers))
    graph.add_edges_from((b.lo, b.hi) for b in net.blocks if b.lo > 0)
    layer = layer_of_neurons(net.sizes)
    pairs = np.unique(np.stack([layer[to_numpy(net.sparse.i)], layer[to_numpy(net.sparse.j)]], axis=1), axis=0)
    graph.add_edges_from((int(a), int(b)) for a, b in pairs if a > 0)
    colour = nx.greedy_color(graph, strategy=lambda g, colors: sorted(g))
    groups: dict[int, list[int]] = {}
    for lay in sorted(colour):
        groups.setdefault(colour[lay], []).append(lay)
    return [groups[c] for c in sorted(groups)]


@dataclass(frozen=True)
class FixedPoint:
    """Layer-wise fixed-point engine. ``n_free`` / ``n_nudged``: sweeps per phase (the most, when ``tol`` > 0
    stops a phase once the batch's largest change in a sweep falls below it, checked every ``check_every``
    sweeps); ``layout`` as for :class:`~neurosim.engines.euler.Euler`."""

    n_free: int = 100
    n_nudged: int = 8
    tol: float = 0.0
    check_every: int = 5
    layout: str | None = None
    name: str = "fixedpoint"
    #: the reference nudge is a property of an Euler step, which a sweep does not make
    nudges: tuple[str, ...] = ("weak", "clamped")
    default_nudge: ClassVar[str] = "weak"
    devices: ClassVar[tuple] = ("cpu", "cuda")
    config_fields: ClassVar[dict] = {"n_free": "n_free", "n_nudged": "n_nudged", "tol": "tol"}

    def __post_init__(self) -> None:
        check_iteration_settings(self)

    from_config = classmethod(from_config)

    def relax(self, net: Network, x, s, phase: Phase) -> Relaxation:
        check_nudge(self, phase)
        if phase.nudged and phase.nudge == "weak" and not 1 + phase.beta > 0:
            raise ValueError(f"beta={phase.beta}: the output minimiser needs 1 + beta > 0")
        groups = [[net.free_slice(lay) for lay in group] for group in layer_groups(net)]
        coupling = Coupling(net, x, self.layout)
        xp, out, beta = coupling.xp, net.output_slice, phase.beta
        s, target = starting_point(net, coupling, s, phase)

        def sweep(state):
            state = xp.asarray(state, copy=True)
            for group in groups:
                drive = coupling(state)
                for cols in group:
                    if phase.clamped and cols == out:
                        continue  # held at the target since starting_point
                    if phase.nudged and cols == out:
                        state[:, cols] = xp.clip((drive[:, cols] + beta * target) / (1 + beta), 0.0, 1.0)
                    else:
                        state[:, cols] = xp.clip(drive[:, cols], 0.0, 1.0)
            return state

        return run_phase(self, phase, sweep, s, xp)
