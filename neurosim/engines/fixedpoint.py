"""Layer-wise fixed-point relaxation: exact block coordinate descent on F, for networks without intralayer
connections (layer-skipping connections included).

Without intralayer couplings, F restricted to one layer l (all other states fixed) is a sum over its neurons of
1/2 s_i^2 - s_i d_i (+ beta/2 (s_i - t_i)^2 at the outputs) on [0, 1], with d = W rho(u) + b the drive from the
other layers. Its minimiser is closed-form:

    s_l = clip(d_l, 0, 1)                              hidden layers, and outputs in the free phase
    s_L = clip((d_L + beta t) / (1 + beta), 0, 1)      outputs in the nudged phase (weak nudge)
    s_L = t                                            outputs in the clamped phase (held at the target)

Layers that share no connection can be updated together; one *sweep* updates the groups in turn. For a layered
network the groups are the odd and the even layers (as in published EqProp code); with layer-skipping connections
the groups come from a greedy colouring of the graph of layers (networkx), taken in layer order (the published
small-world network connects every pair of free layers, so each layer is a group of its own). Every update
minimises F over a block exactly, whatever the skips, so F never increases, and a fixed point is the Euler
engine's fixed point (s = clip(d) wherever both stop).

A group's update needs only its own drive, d_C = const_C + r_R W_RC, with C the group's neurons and R the free
neurons of the layers connected to it: one sweep multiplies each coupling once in each direction, the work of
one Euler step.

The ``reference`` nudge is a discrete Euler step by definition (:class:`~neurosim.engines.base.Phase`), not a
minimisation: its nudged phase is made of ``n_nudged`` such steps of size ``eps``, exactly as the Euler engine
makes them (the free phase is still the fixed point's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import networkx as nx
from array_api_compat import device as device_of

from ..backend import addmm, clip_into
from ..coupling import Coupling
from ..network import Network
from ..settings import setting
from .base import NUDGES, Phase, Relaxation, check_iteration_settings, check_nudge, run_phase, starting_point
from .euler import Euler


def layer_graph(net: Network) -> nx.Graph:
    """The graph whose nodes are the free layers (1 .. L) and whose edges join layers with a connection between
    them (dense blocks or layer-skipping connections); raises :class:`ValueError` if a layer has intralayer
    connections."""
    intra = [b.lo for b in net.blocks if b.lo == b.hi]
    if intra:
        raise ValueError(
            f"the layer-wise fixed point needs a network without intralayer connections; layer {intra[0]} has some"
        )
    graph = nx.Graph()
    graph.add_nodes_from(range(1, net.n_layers))
    graph.add_edges_from((b.lo, b.hi) for b in net.blocks if b.lo > 0)
    pairs = net.sparse_layer_pairs  # read from the index arrays when the network was made, not here
    same = [a for a, b in pairs if a == b and a > 0]
    if same:
        raise ValueError(f"the layer-wise fixed point needs a network without intralayer connections; layer "
                         f"{same[0]} has a sparse one")
    graph.add_edges_from((a, b) for a, b in pairs if a > 0)
    return graph


def layer_groups(net: Network, graph: nx.Graph | None = None) -> list[list[int]]:
    """Free layers in groups that share no connection, in the order they are updated: a greedy colouring of
    the network's :func:`layer_graph` (``graph``, if already made), the layers visited in order."""
    graph = layer_graph(net) if graph is None else graph
    colour = nx.greedy_color(graph, strategy=lambda g, colors: sorted(g))
    groups: dict[int, list[int]] = {}
    for lay in sorted(colour):
        groups.setdefault(colour[lay], []).append(lay)
    return [groups[c] for c in sorted(groups)]


class GroupDrives:
    """The drive of one group of layers at a time, ``d_C = const_C + r_R W_RC`` (module docstring), with the
    couplings W_RC gathered once per phase from the dense free-free matrix of :class:`Coupling`.

    ``cols[g]`` / ``rows[g]``: free-neuron indices of group g and of the layers connected to it (slices where
    contiguous); ``outputs[g]``: the positions of the output neurons within ``cols[g]`` (None if it has none)."""

    def __init__(self, net: Network, x, groups: list[list[int]], graph: nx.Graph):
        coupling = Coupling(net, x, "dense")
        self.xp = xp = coupling.xp
        self.const = coupling.const
        self.cols, self.rows, self.outputs, self._w, self._c = [], [], [], [], []
        for group in groups:
            neighbours = sorted({n for lay in group for n in graph.neighbors(lay)})
            cols = _indices(net, group, xp, coupling.const)
            rows = _indices(net, neighbours, xp, coupling.const)
            self.cols.append(cols)
            self.rows.append(rows)
            self._w.append(coupling.w_ss[rows][:, cols] if neighbours else None)
            self._c.append(coupling.const[:, cols])
            if net.n_layers - 1 in group:
                start = sum(net.sizes[lay] for lay in group if lay < net.n_layers - 1)
                self.outputs.append(slice(start, start + net.n_outputs))
            else:
                self.outputs.append(None)

    def __call__(self, g: int, r):
        """``d_C`` of group ``g`` for the free activations ``r`` (B, n_free)."""
        if self._w[g] is None:
            return self.xp.asarray(self._c[g], copy=True)
        return addmm(self._c[g], r[:, self.rows[g]], self._w[g])


def _indices(net: Network, layers: list[int], xp, like):
    """The free-neuron indices of ``layers`` (sorted): a slice if they are contiguous, else an index array made
    on ``like``'s backend and device (by ``arange`` there: no copy from the host, which a CUDA-graph capture
    forbids)."""
    if not layers:
        return slice(0, 0)
    parts = [net.free_slice(lay) for lay in layers]
    if all(a.stop == b.start for a, b in zip(parts, parts[1:])):
        return slice(parts[0].start, parts[-1].stop)
    return xp.concat([xp.arange(p.start, p.stop, device=device_of(like)) for p in parts])


@dataclass(frozen=True)
class FixedPoint:
    """Layer-wise fixed-point engine. ``n_free`` / ``n_nudged``: sweeps per phase (the most, when ``tol`` > 0
    stops a phase once the batch's largest change in a sweep falls below it, checked every ``check_every``
    sweeps). ``eps``: the step size of the reference nudge's Euler steps (units of tau; module docstring);
    ``layout``: the coupling layout of those steps, as for :class:`~neurosim.engines.euler.Euler`."""

    n_free: int = setting(100, "Free-phase sweeps over the layers")
    n_nudged: int = setting(8, "Nudged-phase sweeps (Euler steps of the reference nudge)")
    tol: float = setting(0.0, "Stop a phase when the largest change in a sweep < tol; 0 runs all sweeps")
    check_every: int = 5
    eps: float = setting(0.5, "Euler step of the reference nudge, units of tau")
    layout: str | None = None
    name: str = "fixedpoint"
    nudges: tuple[str, ...] = NUDGES
    #: as the Euler engine's: the step of the paper's code (docs/design.md, "Defaults")
    default_nudge: ClassVar[str] = "reference"
    devices: ClassVar[tuple] = ("cpu", "cuda")

    def __post_init__(self) -> None:
        check_iteration_settings(self)
        Euler(eps=self.eps)  # its check of the step size

    def relax(self, net: Network, x, s, phase: Phase) -> Relaxation:
        check_nudge(self, phase)
        if phase.nudged and phase.nudge == "reference":
            steps = Euler(eps=self.eps, n_nudged=self.n_nudged, layout=self.layout)
            return steps.relax(net, x, s, phase)
        if phase.nudged and phase.nudge == "weak" and not 1 + phase.beta > 0:
            raise ValueError(f"beta={phase.beta}: the output minimiser needs 1 + beta > 0")
        graph = layer_graph(net)
        drives = GroupDrives(net, x, layer_groups(net, graph), graph)
        xp, beta = drives.xp, phase.beta
        s, target = starting_point(net, drives, s, phase)
        weak = phase.nudged and phase.nudge == "weak"

        def sweep(state):  # in place: ``state`` is this phase's own array (starting_point makes a new one)
            for g, (cols, out) in enumerate(zip(drives.cols, drives.outputs)):
                drive = drives(g, state)
                if out is not None and phase.clamped:
                    drive[:, out] = target
                elif out is not None and weak:
                    drive[:, out] = (drive[:, out] + beta * target) / (1 + beta)
                if isinstance(cols, slice):  # a view: clipped straight into the state (one kernel on a GPU)
                    clip_into(drive, state[:, cols])
                else:
                    state[:, cols] = xp.clip(drive, 0.0, 1.0)
            return state

        return run_phase(self, phase, sweep, s, xp, in_place=True)
