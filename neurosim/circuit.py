"""Physical parameters of the neuron circuit and the map between the network's numbers and circuit quantities.

Each free neuron i is a node of voltage V_i (volts; the state s_i = V_i / 1 V) with a capacitor C to ground and a
leak resistor R to ground, clamped to [0, 1] V. Kirchhoff's current law at node i reads

    C dV_i/dt = -V_i / R + sum_j G_ij rho(V_j) + I_i + (beta / R) (V_target,i - V_i) [outputs, nudged phase]

with G_ij (siemens) the crossbar transconductance from neuron j to neuron i, I_i (amperes) the bias current and
beta / R the nudge conductance. Multiplying by R gives the network's equation in its own numbers,

    tau ds_i/dt = -s_i + sum_j W_ij rho(s_j) + b_i + beta (y_target,i - y_i),   tau = R C,

so W_ij = R G_ij (dimensionless), b_i = R I_i (volts) and beta is the nudge conductance in units of 1 / R.
The Euler engine's step eps is a time step in units of tau; the ODE engine integrates in seconds.

**How the crossbar meets the neuron** (``Circuit.crossbar``, one of :data:`~neurosim.crossbars.CROSSBARS`). The
equation above is the ``ideal`` one (:mod:`neurosim.crossbars.ideal`): each synapse a current source
(G+ - G-) V_j into node i whatever V_i. The physical kinds load the node with their devices, whose conductance on
row i is lambda_i = R sum_j (G+_ij + G-_ij) (:meth:`Circuit.row_load`; sum_j |W_ij| with g_min = 0):
``passive`` (:mod:`neurosim.crossbars.passive`: devices into the node, with line resistance, gain-trimmed drivers
or sinh devices) and ``opamp`` (:mod:`neurosim.crossbars.opamp`: devices into an op-amp's virtual ground, with a
finite gain, offset and bandwidth). Each kind's module has its node equation.
"""

from __future__ import annotations

import math

from dataclasses import dataclass, field

import numpy as np

from .crossbars import Crossbar, IdealCrossbar, crossbar_of, crossbar_table, flat_settings
from .errors import NeurosimError
from .settings import build, setting, values_of


class ConductanceRangeError(NeurosimError, ValueError):
    """A weight the circuit's device pairs cannot represent; the message names it and the range."""


@dataclass(frozen=True)
class Circuit:
    """The neuron's leak resistance ``r_leak`` (ohms) and node capacitance ``c_node`` (farads); the rail is 1 V.

    The defaults, 1 MOhm and 1 pF, give tau = 1 us, a time constant typical of subthreshold analog circuits.
    Each crossbar device has a conductance in [``g_min``, ``g_max``] (siemens); a signed weight is a differential
    pair, W = R (G+ - G-), so |W| <= R (g_max - g_min) (10 with the defaults).

    ``crossbar``: how the devices meet the neurons, a crossbar object of :data:`~neurosim.crossbars.CROSSBARS`
    (its own settings: :class:`~neurosim.crossbars.PassiveCrossbar`'s ``r_line``, ``gain_trim``, ``sinh_v0``;
    :class:`~neurosim.crossbars.OpAmpCrossbar`'s ``gain``, ``offset``, ``gbw``), or its name or table, built here
    (``Circuit(crossbar="passive")``).
    """

    r_leak: float = setting(1e6, "Leak resistance R, ohms")
    c_node: float = setting(1e-12, "Node capacitance C, farads; tau = RC")
    g_min: float = setting(0.0, "Smallest device conductance, siemens")
    g_max: float = setting(1e-5, "Largest device conductance, siemens")
    crossbar: Crossbar = field(default_factory=IdealCrossbar)

    def __post_init__(self) -> None:
        if not isinstance(self.crossbar, Crossbar):
            object.__setattr__(self, "crossbar", crossbar_of(self.crossbar))
        for name, value in vars(self).items():  # a netlist or a step size needs numbers: no inf or NaN anywhere
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{name}={value}: not finite")
        for name in ("r_leak", "c_node", "g_max"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"{name}={value}: must be > 0")
        if not 0 <= self.g_min < self.g_max:
            raise ValueError(f"g_min={self.g_min}: must be in [0, g_max={self.g_max})")

    @property
    def tau(self) -> float:
        """Time constant tau = R C, seconds."""
        return self.r_leak * self.c_node

    @property
    def w_max(self) -> float:
        """The largest |W| a differential pair represents, R (g_max - g_min)."""
        return self.r_leak * (self.g_max - self.g_min)

    def differential_pair(self, weight: np.ndarray, clip: bool = False, labels=None) -> tuple[np.ndarray, np.ndarray]:
        """The conductances (G+, G-) (siemens) of weights W: the device on the side of W's sign carries
        g_min + |W| / R, the other g_min, so W = R (G+ - G-). A weight beyond :attr:`w_max` raises
        :class:`ConductanceRangeError` naming the largest (by ``labels[k]`` if given, else its index), or with
        ``clip`` is clipped to +-w_max."""
        weight = np.asarray(weight, dtype=np.float64)
        too_large = np.abs(weight) > self.w_max
        if np.any(too_large) and not clip:
            worst = int(np.argmax(np.abs(weight)))
            where = f"entry {worst}" if labels is None else labels[worst]
            raise ConductanceRangeError(
                f"{int(too_large.sum())} weight(s) beyond the conductance range: the largest, W={weight.flat[worst]:.6g} "
                f"({where}), needs {abs(weight.flat[worst]) / self.r_leak:.4g} S of a device pair with "
                f"g_max - g_min = {self.g_max - self.g_min:.4g} S (|W| <= {self.w_max:.6g}); raise g_max or clip"
            )
        g = np.minimum(np.abs(weight), self.w_max) / self.r_leak
        positive = weight > 0
        return self.g_min + np.where(positive, g, 0.0), self.g_min + np.where(positive, 0.0, g)

    def bias_current(self, bias):
        """Bias current I = b / R (amperes) of a bias b (volts)."""
        return bias / self.r_leak

    def nudge_conductance(self, beta: float) -> float:
        """Conductance beta / R (siemens) from an output node to the source at its target voltage."""
        return beta / self.r_leak

    @property
    def ideal(self) -> bool:
        """Whether the synapses are ideal current sources (the network's own equation)."""
        return self.crossbar.ideal

    def directed_devices(self, net, clip: bool = True, names=None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every direction of every connection of ``net`` as the device pair that carries it: the global index of
        the neuron it feeds (``row``) and of the one it reads (``col``), and (G+, G-) siemens
        (:meth:`differential_pair`; weights beyond the range clipped, as the netlist clips them, or with ``clip``
        False a :class:`ConductanceRangeError` naming the connection by ``names``, the neurons' node names). An
        input connection has one direction, a free-free one two."""
        edges, weights, backward = net.edges_and_weights(backward=True)
        both = edges[:, 0] >= net.n_inputs
        row = np.concatenate([edges[:, 1], edges[both, 0]])
        col = np.concatenate([edges[:, 0], edges[both, 1]])
        labels = None if names is None else _Between(names, col, row)
        g_plus, g_minus = self.differential_pair(np.concatenate([weights, backward[both]]), clip=clip, labels=labels)
        return row, col, g_plus, g_minus

    def row_load(self, net) -> np.ndarray:
        """lambda_i = R sum_j (G+_ij + G-_ij), shape (n_free,): the conductance of every device on neuron i's row
        (input connections included), in units of 1 / R: sum_j min(|W_ij|, w_max) + 2 R g_min per device pair
        (weights beyond the range count at w_max, as the netlist clips them). Summed block by block, each block's
        column sums into its upper layer and row sums of its backward couplings into its lower one (an
        intralayer block's columns hold both directions), the skip connections by bincount: the devices of
        :meth:`directed_devices`, without listing them (a phase of the paper's network computes it in
        milliseconds)."""
        cap, pair = self.w_max, 2.0 * self.r_leak * self.g_min
        total = np.zeros(int(net.offsets[-1]))

        def devices(w, mask):
            load = np.minimum(np.abs(np.asarray(w, dtype=np.float64)), cap) + pair
            return load if mask is None else np.where(mask, load, 0.0)

        for b in net.blocks:
            lo, hi = net.offsets[b.lo], net.offsets[b.hi]
            total[hi : hi + b.weight.shape[1]] += devices(b.weight, b.mask).sum(axis=0)
            if b.lo != b.hi and b.lo > 0:
                total[lo : lo + b.weight.shape[0]] += devices(b.backward(), b.mask).sum(axis=1)
        s = net.sparse
        total += np.bincount(s.j, weights=devices(s.weight, None), minlength=len(total))
        total += np.bincount(s.i, weights=devices(s.backward(), None), minlength=len(total))
        return total[net.n_inputs :]

def circuit_of(table: dict) -> Circuit:
    """The circuit a configuration's table describes: its own settings (``r_leak``, ...), ``crossbar`` (a name or a
    table, :func:`~neurosim.crossbars.crossbar_of`) and, on top of that table, crossbar settings by their top-level
    names (``opamp_gain``, ``r_line``: the command line's and the flat spelling of earlier configurations).
    :class:`ValueError` listing every bad setting."""
    table = dict(table)
    crossbar = table.pop("crossbar", IdealCrossbar.name)
    flat = {k: table.pop(k) for k in list(table) if k in flat_settings()}
    return build(Circuit, table, crossbar=crossbar_of(crossbar, flat))


def circuit_table(circuit: Circuit) -> dict:
    """The table a configuration stores of a circuit: its settings and its crossbar's (as a table with its name)."""
    return {**values_of(circuit), "crossbar": crossbar_table(circuit.crossbar)}


def circuit_with(circuit: Circuit, changes: dict) -> Circuit:
    """``circuit`` with ``changes``: entries of a circuit table (:func:`circuit_of`: its settings, ``crossbar``,
    crossbar settings by their top-level names) on top of its own. Another crossbar kind starts from its defaults
    (``{"crossbar": "passive"}`` on an op-amp circuit drops the op-amp's settings)."""
    table = circuit_table(circuit)
    if "crossbar" in changes and changes["crossbar"] != circuit.crossbar.name:
        table["crossbar"] = changes["crossbar"]
    return circuit_of({**table, **{k: v for k, v in changes.items() if k != "crossbar"}})


def upgraded_table(table: dict) -> dict:
    """A circuit table as stored by run files before crossbars had their own settings (format 3 and older:
    ``crossbar`` a name, every kind's settings beside it, ``opamp_gain``, ``r_line``, ...) in today's form: the
    named kind's settings moved into its table, the other kinds' (which it ignored) dropped. Today's tables are
    returned as they are."""
    if not isinstance(table, dict) or not isinstance(table.get("crossbar", ""), str):
        return table
    table = dict(table)
    name = table.pop("crossbar", IdealCrossbar.name)
    crossbar = {"name": name}
    for key, kinds in flat_settings().items():
        if key in table:
            value = table.pop(key)
            if name in kinds:
                crossbar[kinds[name]] = value
    return {**table, "crossbar": crossbar}


class _Between:
    """``labels[k]``: the directed device k as 'between <node> and <node>', made only when asked for."""

    def __init__(self, names, col, row):
        self.names, self.col, self.row = names, col, row

    def __getitem__(self, k: int) -> str:
        return f"between {self.names[self.col[k]]} and {self.names[self.row[k]]}"
