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

**Circuits.** With a physical crossbar (``circuit``, :mod:`neurosim.crossbars`) each block update solves every
neuron's own node equation given the other layers: its crossbar's tau ds_i/dt = f_i(s_i) = 0, with f_i the
``node_drift`` of its drive (and the weak nudge's beta (y_target - y) on the outputs), decreasing in s_i. For the
ohmic kinds f_i is affine in s_i (the drive from the other layers does not depend on it; the loads lambda_i, the
trim, the op-amp's kappa, offset and residue enter through ``node_drift``), for sinh devices it is a monotone
sum of sinh terms through the row's own voltage. The affine root is f(0) / (f(0) - f(1)); the sinh one is found
by the Illinois variant of regula falsi on the bracket [0, 1], vectorised over the batch and the layer; either is
clipped to the rails (a projected equation's equilibrium: 0 where f(0) <= 0, 1 where f(1) >= 0). Op-amps of finite
bandwidth have the one-pole-free equilibria, so they are solved alike. Line resistance couples a layer's rows to
each other through the wires (:mod:`neurosim.crossbars.wires`: tau ds_i/dt = -s_i + sum_k A_ik v_k + b_i, A
dense within an array's rows): each neuron is then solved given every other one, its own layer's at their values
before the update (a projected Jacobi step within the layer, block Gauss-Seidel across groups). Its fixed point is
still the circuit's equilibrium, and since the wires couple a row to the others by far less than to its own load
(A_ik << 1 - A_ii), it converges (on the tests' 6-5-4-3 network with 10 kOhm per cell in as many sweeps as without
wires: 10-14 to 1e-13 V).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import networkx as nx
import numpy as np
from array_api_compat import device as device_of

from ..backend import addmm, clip_into, is_torch_array
from ..circuit import Circuit
from ..coupling import Coupling
from ..crossbars.base import CircuitEquation
from ..crossbars.sinh import DeviceCoupling
from ..crossbars.wires import LineCoupling
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
    ``layout``: the coupling layout of those steps, as for :class:`~neurosim.engines.euler.Euler`. ``circuit``:
    the circuit whose crossbar's node equation each neuron solves (module docstring; ideal by default, the
    network's own equation; a physical one on the CPU, weak or clamped nudge)."""

    n_free: int = setting(100, "Free-phase sweeps over the layers")
    n_nudged: int = setting(8, "Nudged-phase sweeps (Euler steps of the reference nudge)")
    tol: float = setting(0.0, "Stop a phase when the largest change in a sweep < tol; 0 runs all sweeps")
    check_every: int = 5
    eps: float = setting(0.5, "Euler step of the reference nudge, units of tau")
    layout: str | None = None
    circuit: Circuit = field(default_factory=Circuit)
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
        if not self.circuit.ideal:
            return self._relax_circuit(net, x, s, phase)
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

    def _relax_circuit(self, net: Network, x, s, phase: Phase) -> Relaxation:
        """Sweeps of block updates, each neuron of a group at the root of its crossbar's node equation (module
        docstring)."""
        crossbar = self.circuit.crossbar
        if phase.nudged and phase.nudge == "reference":
            raise ValueError(f"nudge='reference' is the ideal network's Euler step; crossbar={crossbar.name!r} "
                             "nudges weak or clamped")
        if is_torch_array(net.bias):
            raise ValueError(f"the fixed point of crossbar={crossbar.name!r} runs on the CPU: move the network there "
                             "with net.to('cpu')")
        graph = layer_graph(net)
        drives = GroupDrives(net, x, layer_groups(net, graph), graph)
        equation = crossbar.equation(self.circuit, net, x, "blocks")  # its coupling unused for the ohmic kinds
        coupling = equation.coupling
        devices, wires = isinstance(coupling, DeviceCoupling), isinstance(coupling, LineCoupling)
        if not isinstance(equation, CircuitEquation) or not (devices or wires or isinstance(coupling, Coupling)):
            raise ValueError(f"crossbar={crossbar.name!r}: its node equation is not one the layer-wise fixed point "
                             "solves (a CircuitEquation whose drive is the linear coupling, the devices' currents or "
                             "the wires' reduced coupling)")
        own_drives = [coupling.rows(cols) for cols in drives.cols] if devices else None
        own_wires = np.diagonal(coupling.a_s) if wires else None  # A_ii: the row's own load through its wires
        s, target = starting_point(net, drives, s, phase)
        weak = phase.nudged and not phase.clamped

        def drive_of(g, cols, state):
            """The drive of group ``g`` as a function of its own states, the others' fixed at ``state``."""
            if devices:
                return own_drives[g].given(state)
            if wires:  # through the wires, from every other neuron, its own layer's included (a Jacobi step)
                diagonal = own_wires[cols]
                others = coupling.const[:, cols] + state @ coupling.a_s[:, cols] - state[:, cols] * diagonal
                return lambda own: others + own * diagonal
            fixed = drives(g, state)
            return lambda own: fixed.copy()

        def sweep(state):
            for g, (cols, out) in enumerate(zip(drives.cols, drives.outputs)):
                drive = drive_of(g, cols, state)
                load = equation.load[cols]

                def rates(own):
                    u = drive(own)
                    if weak and out is not None:
                        u[:, out] += phase.beta * (target - own[:, out])
                    return equation.node_drift(u, own, load)

                new = node_roots(rates, state[:, cols]) if devices else affine_roots(rates, state[:, cols])
                if phase.clamped and out is not None:
                    new[:, out] = target
                state[:, cols] = new
            return state

        return run_phase(self, phase, sweep, s, np, in_place=True)


def affine_roots(rates, like: np.ndarray) -> np.ndarray:
    """:func:`node_roots` for rates affine in the states (the ohmic crossbars): the root f(0) / (f(0) - f(1)) in
    one step, clipped to [0, 1] (0 where f(0) <= 0, 1 where f(1) >= 0)."""
    f0, f1 = rates(np.zeros_like(like)), rates(np.ones_like(like))
    if np.any(f1 >= f0):
        raise ValueError("a node equation that does not decrease in its own state (no stable equilibrium on [0, 1]; "
                         "a negative beta with 1 + beta <= 0?)")
    return np.clip(f0 / (f0 - f1), 0.0, 1.0).astype(like.dtype, copy=False)


def node_roots(rates, like: np.ndarray, most: int = 100) -> np.ndarray:
    """The states in [0, 1] (shaped and typed as ``like``) at which ``rates(s)``, each entry decreasing in its own
    state alone, is zero, or the rail it pushes against (0 where rates(0) <= 0, 1 where rates(1) >= 0): regula falsi
    in the Illinois variant on the bracket [0, 1], every entry at once, until each |rate| or bracket is at the
    dtype's rounding (``most`` steps at most). A :class:`ValueError` if some rate increases across the bracket
    (a node equation without a stable equilibrium, such as a weak nudge with 1 + beta <= 0)."""
    a, b = np.zeros_like(like), np.ones_like(like)
    fa, fb = rates(a), rates(b)
    if np.any(fb > fa):
        raise ValueError("a node equation increasing in its own state (no stable equilibrium on [0, 1]; a negative "
                         "beta with 1 + beta <= 0?)")
    tiny = 8 * np.finfo(like.dtype).eps
    low, high = fa <= 0, fb >= 0
    inside = ~(low | high)
    c = np.where(high & ~low, b, a)
    kept = np.zeros(like.shape, dtype=np.int8)  # which end the last step kept: +1 a, -1 b
    for _ in range(most):
        if not inside.any():
            break
        step = np.where(inside, (a * fb - b * fa) / np.where(inside, fb - fa, 1.0), c)
        c = np.clip(step, a, b)
        fc = rates(c)
        left = inside & (fc < 0)  # the root lies in [a, c]: c is the new b
        right = inside & (fc > 0)
        b, fb = np.where(left, c, b), np.where(left, fc, fb)
        a, fa = np.where(right, c, a), np.where(right, fc, fa)
        fa = np.where(left & (kept == 1), fa / 2, fa)  # Illinois: an end kept twice has its rate halved
        fb = np.where(right & (kept == -1), fb / 2, fb)
        kept = np.where(left, 1, np.where(right, -1, kept)).astype(np.int8)
        inside &= (np.abs(fc) > tiny) & (b - a > tiny)
    return c.astype(like.dtype, copy=False)
