"""What every crossbar kind provides, and the parts the kinds share.

A crossbar kind is how the devices of the weight store meet the neurons (:mod:`neurosim.circuit` has the node
equations of the three kinds). It is a small frozen dataclass whose :func:`~neurosim.settings.setting` fields are
its settings, checked once in its ``__post_init__``, and it owns everything that differs between kinds:

- ``name``: its registry key (:data:`neurosim.crossbars.CROSSBARS`), what a configuration's
  ``circuit.crossbar`` names; ``ideal``: whether it is the network's own equation (only the ideal kind);
- ``equation(circuit, net, x, layout)``: the phase's :class:`NodeEquation` for a batch of inputs ``x`` (its drive,
  its drift tau ds/dt, and any state of its own, such as an op-amp's pole), which the ODE and spice engines
  integrate or check, and whose roots the fixed-point engine finds neuron by neuron;
- ``node_gain``, ``row_voltage``, ``capacitor_voltage``, ``device_power``, ``clamp_power``: what the power
  accounting (:mod:`neurosim.dissipation`) needs;
- ``notes``, ``write_neurons``, ``write_biases``, ``write_synapses``, ``write_nudge``, ``initial_voltages``,
  ``tran_options``: its section of a netlist (:mod:`neurosim.netlist`), from a :class:`Sheet`;
- ``summary()``: one line for a reader (``neurosim info``).

:class:`Crossbar` implements the parts that the kinds whose neurons are plain leaky integrators (ideal, passive)
share; a kind overrides what it changes. Units: volts, amperes, siemens, ohms, seconds, watts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import ClassVar, TextIO

import numpy as np
import scipy.sparse as sp

from ..coupling import Coupling
from ..energy import drift, projected, rho
from ..network import Network
from ..phase import Phase
from ..settings import setting
from ..spicetext import CLAMP_GAIN, lines, devices


def check_finite(obj) -> None:
    """Refuse (:class:`ValueError` naming it) an inf or NaN float field of ``obj``: a netlist or a step size needs
    numbers."""
    for f in fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{f.name}={value}: not finite")


# ---------------------------------------------------------------------------------------------------------------
# The node equation


class NodeEquation:
    """One phase's node equation for a batch of clamped inputs: the drive of every free neuron (``coupling``, the
    :class:`~neurosim.coupling.Coupling` interface) and tau ds/dt (volts). The ideal circuit's is the network's
    own (:func:`neurosim.energy.drift`); a circuit kind gives its ``node_drift(u, s, load)`` and the rows'
    ``load`` (:class:`CircuitEquation`).

    ``states``: the solver's states per neuron (1: the node voltage). The ODE engine integrates ``rates`` of a
    (B, states n_free) array ``y``; ``node_voltages(y)`` are the neurons' states in it, ``on_rails(y)`` is ``y``
    with every voltage the rails bound clipped into [0, 1] in the network's dtype, and ``pattern()`` which entries
    of one example's Jacobian can be non-zero."""

    states: ClassVar[int] = 1

    def __init__(self, net: Network, coupling):
        self.net, self.coupling = net, coupling

    def drift(self, s, phase: Phase, target) -> np.ndarray:
        """tau ds/dt (volts, (B, n_free)) of the node voltages ``s``, projected onto [0, 1]: with the weak nudge's
        drive on the outputs, or 0 on outputs held at the target (a clamped phase)."""
        if not phase.clamped:
            return drift(self.net, self.coupling, s, phase.beta, target)
        f = drift(self.net, self.coupling, s)
        f[:, self.net.output_slice] = 0.0
        return f

    def initial(self, s0) -> np.ndarray:
        """The solver's starting array (B, states n_free), float64, for starting node voltages ``s0``."""
        return np.asarray(s0, dtype=np.float64)

    def rates(self, y, phase: Phase, target) -> np.ndarray:
        """tau dy/dt (volts) of the solver's array ``y`` (in the network's dtype)."""
        return self.drift(y, phase, target)

    def node_voltages(self, y) -> np.ndarray:
        """The node voltages (the states) held in the solver's array ``y``."""
        return y

    def on_rails(self, y) -> np.ndarray:
        return np.clip(y, 0.0, 1.0).astype(self.net.dtype)

    def pattern(self) -> sp.csr_array:
        """One example's Jacobian sparsity: the free-free couplings and the diagonal."""
        dense = Coupling(self.net, np.zeros((1, self.net.n_inputs)), "dense").w_ss
        return sp.csr_array((dense != 0) | np.eye(self.net.n_free, dtype=bool))


class CircuitEquation(NodeEquation):
    """The node equation of a circuit kind: tau ds/dt = ``node_drift(u, s, load)`` with the drive u =
    sum_j W_ij rho(s_j) + b_i (+ the weak nudge's beta (y_target - y) on the outputs, :meth:`drive`), outputs held
    in a clamped phase, projected onto [0, 1]. ``load`` (n_free,) is the rows' load in units of 1 / R, zero where
    the coupling carries it (wires, nonlinear devices)."""

    def __init__(self, net: Network, coupling, node_drift, load):
        super().__init__(net, coupling)
        self.node_drift, self.load = node_drift, load

    def drive(self, s, phase: Phase, target) -> np.ndarray:
        """u (volts, (B, n_free)): sum_j W_ij rho(s_j) + b_i, plus the weak nudge's beta (y_target - y)."""
        u = self.coupling(rho(s))
        if phase.nudged and not phase.clamped:
            u[:, self.net.output_slice] += phase.beta * (target - s[:, self.net.output_slice])
        return u

    def drift(self, s, phase: Phase, target) -> np.ndarray:
        f = self.node_drift(self.drive(s, phase, target), s, self.load)
        if phase.clamped:
            f[:, self.net.output_slice] = 0.0
        return projected(s, f)

    def pattern(self) -> sp.csr_array:
        dense = getattr(self.coupling, "a_s", None)  # through wires, every node of an array couples
        if dense is None:
            return super().pattern()
        return sp.csr_array((dense != 0) | np.eye(self.net.n_free, dtype=bool))


# ---------------------------------------------------------------------------------------------------------------
# The devices as conductances


@dataclass(frozen=True)
class CrossbarDevices:
    """Every crossbar device of a network as a circuit element: the free index of its row neuron, the global index
    of its column neuron, its conductance (siemens) and the sign of the column voltage it meets (+1: the plain
    copy, -1: the inverted one). ``plus``: the column a G+ device meets (-1 behind op-amps, whose integrator
    inverts)."""

    row: np.ndarray
    column: np.ndarray
    g: np.ndarray
    sign: np.ndarray

    @classmethod
    def of(cls, circuit, net: Network, plus: float = 1.0) -> "CrossbarDevices":
        rows, cols, g_plus, g_minus = circuit.directed_devices(net)
        rows = rows - net.n_inputs
        keep_p, keep_m = g_plus > 0, g_minus > 0
        return cls(
            row=np.concatenate([rows[keep_p], rows[keep_m]]),
            column=np.concatenate([cols[keep_p], cols[keep_m]]),
            g=np.concatenate([g_plus[keep_p], g_minus[keep_m]]),
            sign=np.concatenate([np.full(keep_p.sum(), plus), np.full(keep_m.sum(), -plus)]),
        )


#: Time rows per chunk of the device sum (bounds the (rows, devices) temporaries).
_CHUNK_ELEMENTS = 4_000_000


def device_power(crossbar, circuit, net: Network, x, v, rows, plus: float = 1.0) -> np.ndarray:
    """Watts dissipated in every device, sum_k I_k dV_k with dV_k = sigma_k V_column,k - V_row,k at each row of the
    states ``v`` (T, n_free) and rows' voltages ``rows`` (T, n_free), inputs ``x`` (n_inputs,); I_k
    ``crossbar.device_current`` (ohmic: G dV)."""
    found = CrossbarDevices.of(circuit, net, plus)
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    p = np.zeros(len(v))
    step = max(1, _CHUNK_ELEMENTS // max(len(found.g), 1))
    for lo in range(0, len(v), step):
        full = np.concatenate([np.broadcast_to(x, (len(v[lo : lo + step]), len(x))), v[lo : lo + step]], axis=1)
        column = found.sign * full[:, found.column]
        across = column - rows[lo : lo + step, found.row]
        p[lo : lo + step] += np.sum(crossbar.device_current(found.g, across) * across, axis=1)
    return p


@dataclass(frozen=True)
class SinhDevices:
    """Devices of sinh I-V, for the kinds whose devices are conductances (passive, op-amp). A device of
    conductance G, programmed at the read voltage V_read (``v_read``), conducts

        I(dV) = G V_read sinh(dV / V_0) / sinh(V_read / V_0)

    across it (``sinh_v0`` = V_0, volts; 0: ohmic, I = G dV): G dV at dV = V_read, less below it, more above."""

    sinh_v0: float = setting(
        0.0, "Devices' sinh I-V, I = G V_read sinh(V / V0) / sinh(V_read / V0); volts, 0: ohmic")
    v_read: float = setting(1.0, "The read voltage at which a device conducts G V_read, volts")

    def check_devices(self) -> None:
        if not 0 <= self.sinh_v0 < float("inf"):
            raise ValueError(f"sinh_v0={self.sinh_v0}: the devices' I-V voltage in volts, >= 0 (0: ohmic)")
        if not 0 < self.v_read < float("inf"):
            raise ValueError(f"v_read={self.v_read}: the read voltage is > 0 V")

    @property
    def nonlinear(self) -> bool:
        """Whether the devices have a sinh I-V (``sinh_v0`` > 0)."""
        return self.sinh_v0 > 0

    def sinh_scale(self, g):
        """c = g V_read / sinh(V_read / V_0), amperes: the current of devices of conductance ``g`` (siemens) per
        unit sinh(dV / V_0) (sinh devices only)."""
        return g * (self.v_read / np.sinh(self.v_read / self.sinh_v0))

    def device_current(self, g, dv):
        """I (amperes) of devices of conductance ``g`` (siemens) with ``dv`` volts across them:
        g v_read sinh(dv / V_0) / sinh(v_read / V_0), or g dv for ohmic devices (``sinh_v0`` = 0)."""
        if not self.nonlinear:
            return g * dv
        return self.sinh_scale(g) * np.sinh(dv / self.sinh_v0)

    def device_notes(self) -> str:
        return (f"* devices: sinh I-V, I = G V_read sinh(dV / V0) / sinh(V_read / V0), V0={self.sinh_v0:.6g} V, "
                f"V_read={self.v_read:.6g} V (B sources Bp_, Bm_)\n" if self.nonlinear else "")

    def device_summary(self) -> str:
        return f" sinh devices V0={self.sinh_v0:g} V, V_read={self.v_read:g} V" if self.nonlinear else ""

    def write_devices(self, out: TextIO, side: str, rows, cols, g, columns) -> None:
        """The devices of one side (p: G+, m: G-) of every pair between its row and its column line ``columns``:
        a resistor 1 / G (ohmic), or with a sinh I-V a behavioural current source from the column into the row,
        I = G V_read sinh(dV / V_0) / sinh(V_read / V_0) (:meth:`device_current`)."""
        keep = g > 0
        if self.nonlinear:
            v0, scale = self.sinh_v0, self.sinh_scale(g)
            # the argument bounded at +-40 (|dV| <= 40 V0, far beyond the rails): Newton's trial points during a
            # step would otherwise overflow ngspice's sinh ("out of range for sinh") and end the run
            devices(out, f"B{side}_{{0}}_{{1}} {{3}} {{0}} i={{2:.9e}}*sinh(max(min((v({{3}})-v({{0}}))/{v0:.9g},40),-40))\n",
                    rows, cols, scale, keep, columns)
        else:
            devices(out, f"R{side}_{{0}}_{{1}} {{0}} {{3}} {{2:.9e}}\n", rows, cols, 1.0 / np.where(keep, g, 1), keep,
                    columns)

    def tran_options(self) -> str:
        # sinh devices: ngspice's default reltol (1e-3) ends 17 of 50 digits examples at V0 = 0.25 V behind op-amps
        # with "timestep too small"; 1e-4 runs them, within 0.001 mV of the ODE (docs/spice.md)
        return " reltol=1e-4" if self.nonlinear else ""


# ---------------------------------------------------------------------------------------------------------------
# The netlist


@dataclass(frozen=True)
class Sheet:
    """What a crossbar's part of a netlist is written from: the ``circuit`` and network ``net``; every neuron's
    node name (``names``; ``free`` the free ones'; ``held``: the outputs a clamped phase holds); every directed
    device pair (:meth:`~neurosim.circuit.Circuit.directed_devices`) by its row's and column's node names
    (``rows``, ``cols``) and conductances ``g_plus``, ``g_minus`` (siemens); the ``phase``."""

    circuit: object  # a neurosim.circuit.Circuit
    net: Network
    names: np.ndarray
    free: np.ndarray
    held: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    g_plus: np.ndarray
    g_minus: np.ndarray
    phase: Phase

    @property
    def free_neurons(self) -> np.ndarray:
        """The free neurons not held by a clamp."""
        return self.free[: len(self.free) - len(self.held)]

    @property
    def inputs(self) -> np.ndarray:
        return self.names[: self.net.n_inputs]


@dataclass(frozen=True)
class Crossbar:
    """The parts shared by the kinds whose neuron is a plain leaky integrator at its node (the module's
    docstring lists what a kind provides)."""

    name: ClassVar[str]
    ideal: ClassVar[bool] = False

    def __post_init__(self) -> None:
        check_finite(self)

    # -- the node equation
    def equation(self, circuit, net: Network, x, layout: str | None = None) -> NodeEquation:
        raise NotImplementedError

    # -- power accounting
    @property
    def trimmed(self) -> bool:
        """Whether the states are column drivers' outputs of gains other than 1 (:meth:`node_gain`), not the
        nodes' voltages."""
        return False

    def node_gain(self, circuit, net: Network) -> np.ndarray:
        """Each neuron's column-driver gain, shape (n_free,): a state s is the driver's output, so the neuron's
        capacitor sits at s / gain volts. 1 but behind gain-trimmed drivers."""
        return np.ones(net.n_free)

    def row_voltage(self, s):
        """The rows' voltages (volts) for node voltages ``s``: the node itself."""
        return s

    def capacitor_voltage(self, node):
        """The voltage across each neuron's capacitor and leak resistor for node voltages ``node``: the node's."""
        return node

    def device_power(self, circuit, net: Network, x, v, rows) -> np.ndarray:
        """Watts the devices dissipate at each row of the states ``v`` (T, n_free) (the ideal crossbar's devices
        are current sources, which dissipate nothing of their own)."""
        return np.zeros(len(v))

    def clamp_power(self, v, rows, drift, gain, r_leak: float) -> np.ndarray:
        """Watts the rail clamp sinks: a node at 1 V sinks the excess of its drive, V_i I_clamp,i, with
        ``drift`` the unprojected tau ds/dt of the states ``v``."""
        at_rail = v >= 1.0
        return np.sum(np.where(at_rail, rows * np.maximum(drift, 0.0) / gain, 0.0), axis=1) / r_leak

    # -- the netlist
    def notes(self, circuit) -> str:
        """The header's lines about the crossbar (comment lines, each ending in a newline)."""
        raise NotImplementedError

    def capacitor_nodes(self, sheet: Sheet) -> np.ndarray:
        """The node of each free neuron's capacitor (its ``.ic``, its nudge): the neuron's own node."""
        return sheet.free

    def write_neurons(self, out: TextIO, sheet: Sheet) -> None:
        c = sheet.circuit
        neuron = f"neuron r={c.r_leak:.9g} c={c.c_node:.9g} gclamp={CLAMP_GAIN / c.r_leak:.9g}"
        lines(out, f"Xn_{{0}} {{0}} {neuron}\n", sheet.free)

    def write_biases(self, out: TextIO, sheet: Sheet) -> None:
        bias = sheet.circuit.bias_current(np.asarray(sheet.net.bias, dtype=np.float64))
        lines(out, "Ib_{0} 0 {0} dc {1:.9e}\n", self.capacitor_nodes(sheet), bias)

    def write_synapses(self, out: TextIO, sheet: Sheet) -> None:
        raise NotImplementedError

    def write_nudge(self, out: TextIO, sheet: Sheet, outputs, targets) -> None:
        """The weak nudge of ``outputs`` (node names) towards ``targets`` (volts): a conductance beta / R (a
        transconductor pushing away, ``repel``, for beta < 0) to a source at the target, at the capacitor node."""
        c, net = sheet.circuit, sheet.net
        g = c.nudge_conductance(sheet.phase.beta)
        gain = self.node_gain(c, net)[net.output_slice]
        at = self.capacitor_nodes(sheet)[net.output_slice]
        lines(out, f"Xnudge_{{0}} {{1}} {'nudge' if g > 0 else 'repel'} g={{2:.9e}} target={{3:.9g}}\n",
              outputs, at, abs(g) * gain, targets / gain)

    def initial_voltages(self, sheet: Sheet, start) -> list[tuple[np.ndarray, np.ndarray]]:
        """(node names, volts) of every node the analysis starts from (``.ic`` or ``.nodeset``), for the states
        ``start`` (n_free,)."""
        return [(self.capacitor_nodes(sheet), start / self.node_gain(sheet.circuit, sheet.net))]

    def tran_options(self) -> str:
        """Extra ``.options`` of the transient (a leading space each)."""
        return ""

    # -- a reader's line
    def summary(self) -> str:
        return f"crossbar={self.name}"
