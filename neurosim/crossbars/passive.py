"""The passive crossbar: each device a conductance between its column line and the neuron's node (the row line).

Column j carries V_j through a unity-gain buffer, and its negative copy -V_j through an inverting stage for the
G- side, so every device on row i adds to its leak (lambda_i = R sum_j (G+_ij + G-_ij), :meth:`Circuit.row_load`):

    tau ds_i/dt = -(1 + lambda_i) s_i + sum_j W_ij rho(s_j) + b_i + ...

With ``gain_trim`` each neuron's column driver has the gain 1 + lambda_i, the columns carry the state
s_i = (1 + lambda_i) V_i (V_i the node's own voltage, clamped to [0, 1 / (1 + lambda_i)] V), and the weak nudge is a
conductance (1 + lambda_i) beta / R to a source at y_target,i / (1 + lambda_i) V, so that

    tau ds_i/dt = (1 + lambda_i) [-s_i + sum_j W_ij rho(s_j) + b_i + beta (y_target,i - s_i)]:

the ideal equilibria, reached with the time constant tau / (1 + lambda_i). With ``r_line`` (ohms per cell) the rows
and columns are resistor chains (:mod:`neurosim.crossbars.wires`); with ``sinh_v0`` the devices have a sinh I-V
(:class:`~neurosim.crossbars.base.SinhDevices`, :mod:`neurosim.crossbars.sinh`). ``...`` is the weak nudge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, TextIO

import numpy as np

from ..coupling import Coupling
from ..settings import setting
from ..spicetext import CLAMP_GAIN, lines
from .base import CircuitEquation, Crossbar, NodeEquation, Sheet, SinhDevices, device_power
from .sinh import DeviceCoupling
from .wires import (CouplingMemo, LineCoupling, arrays, first_order_admittance, plane_admittance, reduced_coupling,
                    wire_power)

#: Each plane's admittance through the wires, by ``wire_model``: exact, or to first order in r_line.
WIRE_MODELS = {"exact": plane_admittance, "first-order": first_order_admittance}


@dataclass(frozen=True)
class PassiveCrossbar(SinhDevices, Crossbar):
    """Devices as conductances into the neuron's node. ``r_line``: the line resistance per crossbar cell of every
    row and column wire (ohms; 0: ideal wires), reduced exactly or to first order in r_line (``wire_model``);
    ``gain_trim``: trim each column driver's gain to 1 + lambda (not with line resistance); ``sinh_v0``,
    ``v_read``: the devices' I-V (not with wires or trim)."""

    name: ClassVar[str] = "passive"

    r_line: float = setting(0.0, "Line resistance per crossbar cell, ohms")
    gain_trim: bool = setting(False, "Trim each column driver's gain to 1 + its row load")
    wire_model: str = setting("exact", "How the wires are reduced: exact (a sparse LU of every array plane, minutes "
                                       "per plane at 500 x 784 cells) or first-order (in r_line, O(R C) a plane)")

    #: the last reduced coupling through the wires (not a setting)
    _memo: CouplingMemo = field(default_factory=CouplingMemo, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.check_devices()
        if not self.r_line >= 0:
            raise ValueError(f"r_line={self.r_line}: a wire's resistance is >= 0 ohms")
        if self.wire_model not in WIRE_MODELS:
            raise ValueError(f"wire_model={self.wire_model!r}: one of {', '.join(map(repr, WIRE_MODELS))}")
        if self.gain_trim and self.r_line > 0:
            raise ValueError(f"gain_trim with r_line={self.r_line}: the drivers' gain trim is modelled for the "
                             "passive crossbar without line resistance")
        if self.nonlinear and (self.r_line > 0 or self.gain_trim):
            raise ValueError(f"sinh_v0={self.sinh_v0} with r_line={self.r_line}, gain_trim={self.gain_trim}: a "
                             "nonlinear device I-V is modelled for the passive crossbar without wires or trim")

    # -- the node equation
    def equation(self, circuit, net, x, layout=None) -> NodeEquation:
        if self.r_line > 0:  # the loads inside the wires' coupling
            a = self._memo(circuit, net, lambda: reduced_coupling(circuit, net, self.r_line,
                                                                   admittance=WIRE_MODELS[self.wire_model]))
            coupling, load = LineCoupling(net, x, a), None
        elif self.nonlinear:  # the drive summed device by device, the loads inside it
            coupling, load = DeviceCoupling(net, x, circuit, self), None
        else:
            coupling, load = Coupling(net, x, layout), circuit.row_load(net).astype(net.dtype)
        return CircuitEquation(net, coupling, self.node_drift,
                               np.zeros(net.n_free, dtype=net.dtype) if load is None else load)

    def node_drift(self, u, s, load):
        """tau ds/dt (volts) before the clamp: u - (1 + lambda) s, or (1 + lambda) (u - s) behind gain-trimmed
        drivers (s the drivers' outputs), for the drive ``u`` and the rows' ``load`` lambda."""
        return (1.0 + load) * (u - s) if self.gain_trim else u - (1.0 + load) * s

    # -- power accounting
    @property
    def trimmed(self) -> bool:
        return self.gain_trim

    def node_gain(self, circuit, net) -> np.ndarray:
        """1 + lambda (:meth:`Circuit.row_load`) behind gain-trimmed drivers, else 1."""
        return 1.0 + circuit.row_load(net) if self.gain_trim else np.ones(net.n_free)

    def device_power(self, circuit, net, x, v, rows) -> np.ndarray:
        """Each device's I dV, or with line resistance the wires and devices of each array together, V^T Y V over
        its row nodes and drivers (:func:`~neurosim.crossbars.wires.wire_power`)."""
        if self.r_line > 0:
            return wire_power(circuit, net, x, v, self.r_line)
        return device_power(self, circuit, net, x, v, rows)

    # -- the netlist
    def notes(self, circuit) -> str:
        return ("* crossbar: passive, each device a conductance from its column (buffered V or inverted -V) to the "
                "neuron's node\n" + self.device_notes()
                + ("* gain trim: node <node> is the column driver's output (1 + lambda) V(c_<node>), the state; the "
                   "capacitor node c_<node> is clamped to [0, 1 / (1 + lambda)] V and nudged by (1 + lambda) beta / R "
                   "towards target / (1 + lambda)\n" if self.gain_trim else ""))

    def capacitor_nodes(self, sheet: Sheet) -> np.ndarray:
        """With the gain trim each neuron's capacitor is ``c_<node>``, and ``<node>`` its driver's output."""
        return np.char.add("c_", sheet.free) if self.gain_trim else sheet.free

    def write_neurons(self, out: TextIO, sheet: Sheet) -> None:
        if not self.gain_trim:
            return super().write_neurons(out, sheet)
        # the clamp at the driver's swing referred to the node, as stiff in the state's units
        c = sheet.circuit
        gain = self.node_gain(c, sheet.net)
        neuron = f"neuron r={c.r_leak:.9g} c={c.c_node:.9g}"
        lines(out, f"Xn_{{0}} {{1}} {neuron} gclamp={{2:.9g}} vmax={{3:.9g}}\n", sheet.free,
              self.capacitor_nodes(sheet), CLAMP_GAIN / c.r_leak * gain, 1.0 / gain)

    def write_synapses(self, out: TextIO, sheet: Sheet) -> None:
        rows, cols, inputs = sheet.rows, sheet.cols, sheet.inputs
        out.write("* column drivers: each presynaptic voltage buffered (p_) and inverted (n_)\n")
        inverted = np.unique(cols[sheet.g_minus > 0])
        if self.gain_trim:  # each node's driver of gain 1 + lambda is its state and its plain column
            lines(out, "Edrv_{0} {0} 0 {1} 0 {2:.9g}\n", sheet.free, self.capacitor_nodes(sheet),
                  self.node_gain(sheet.circuit, sheet.net))
        else:  # a node drives its columns through a buffer
            buffered = np.unique(cols[sheet.g_plus > 0])
            lines(out, "Ebuf_{0} p_{0} 0 {0} 0 1\n", buffered[~np.isin(buffered, inputs)])
        lines(out, "Einv_{0} n_{0} 0 {0} 0 -1\n", inverted)
        if self.r_line > 0:
            return self._write_wired_arrays(out, sheet)
        plus = np.where(np.isin(cols, inputs) | self.gain_trim, cols, np.char.add("p_", cols))
        row_nodes = np.char.add("c_", rows) if self.gain_trim else rows
        out.write("* crossbar devices between column and row: R = 1 / G (ohm); zero devices left out\n")
        self.write_devices(out, "p", row_nodes, cols, sheet.g_plus, plus)
        self.write_devices(out, "m", row_nodes, cols, sheet.g_minus, np.char.add("n_", cols))

    def _write_wired_arrays(self, out: TextIO, sheet: Sheet) -> None:
        """Per array a and plane (p: G+ devices on the buffered columns, m: G- on the inverted ones), row wires
        ``a<a><plane>r_<r>_<c>`` from each neuron's node and column wires ``a<a><plane>c_<r>_<c>`` from each
        driver, ``r_line`` ohms per cell, and each device between the two wires at its cell
        (:mod:`neurosim.crossbars.wires`)."""
        out.write(f"* crossbar arrays with line resistance {self.r_line:.6g} ohm per cell: row wires from the "
                  "neuron, column wires from the driver, devices R = 1 / G between them at each cell\n")
        names, n_in = sheet.names, sheet.net.n_inputs
        value = f"{self.r_line:.9e}"
        for k, array in enumerate(arrays(sheet.circuit, sheet.net)):
            rows = names[array["rows"] + n_in]
            cols = names[array["cols"]]
            is_input = np.isin(cols, names[:n_in])
            for plane, g, drivers in (("p", array["g_plus"], np.where(is_input, cols, np.char.add("p_", cols))),
                                      ("m", array["g_minus"], np.char.add("n_", cols))):
                if not np.any(g > 0):
                    continue
                n_r, n_c = g.shape
                r_idx, c_idx = np.meshgrid(np.arange(n_r), np.arange(n_c), indexing="ij")
                cell = np.char.add(np.char.add(r_idx.astype(str), "_"), c_idx.astype(str))
                row_wire = np.char.add(f"a{k}{plane}r_", cell)
                col_wire = np.char.add(f"a{k}{plane}c_", cell)
                lines(out, f"Rw_{{1}} {{0}} {{1}} {value}\n", rows, row_wire[:, 0])  # node to the first cell
                lines(out, f"Rw_{{1}} {{0}} {{1}} {value}\n", row_wire[:, :-1].ravel(), row_wire[:, 1:].ravel())
                used = np.any(g > 0, axis=0)  # a column without a device in this plane has no wire (nor driver)
                lines(out, f"Rw_{{1}} {{0}} {{1}} {value}\n", drivers[used], col_wire[0, used])  # driver to cell 0
                lines(out, f"Rw_{{1}} {{0}} {{1}} {value}\n", col_wire[:-1, used].ravel(), col_wire[1:, used].ravel())
                has = g > 0
                lines(out, "Rd_{0} {0} {1} {2:.9e}\n", row_wire[has], col_wire[has], 1.0 / g[has])

    def summary(self) -> str:
        return (f"crossbar={self.name}" + (f" r_line={self.r_line:g} ohm" if self.r_line else "")
                + (f" ({self.wire_model} wires)" if self.r_line and self.wire_model != "exact" else "")
                + (" gain-trimmed drivers" if self.gain_trim else "") + self.device_summary())
