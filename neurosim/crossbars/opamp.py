"""Op-amp neurons: each neuron a transimpedance integrator, an op-amp of open-loop gain A and input offset V_os with
R || C in its feedback from the row to its output (the state).

The row sits at the virtual ground V_row = V_os - V_i / A, so the devices load the neuron only through that residue
(the columns are inverted to keep the sign):

    tau ds_i/dt = -s_i + kappa [sum_j W_ij rho(s_j) + b_i + ... + V_os (1 + lambda_i) - lambda_i s_i / A],
    kappa = A / (A + 1).

The output swing [0, 1] V is the clamp. As A -> infinity and V_os = 0 it is the ideal equation.

With a finite gain-bandwidth product f_T (``gbw``, Hz) the op-amp has one pole: its output q follows
A (V_os - V_row) with the time constant tau_a = A / (2 pi f_T), and the row is no longer held at its virtual
ground. Each neuron then has two states, the feedback capacitor's voltage v_c = q - V_row and q itself
(:class:`PoleEquation`; KCL at the row, whose devices and bias carry -(u + lambda_i V_row) / R):

    tau dv_c/dt = -v_c + u_i + lambda_i V_row,    tau_a dq/dt = -q + A (V_os - V_row),    V_row = q - v_c,

q held in [0, 1] V (the op-amp's swing, no wind-up). Its equilibria are the one-pole-free equation's; the bandwidth
changes the way there (the settling time, and which equilibrium a network with several reaches). ``...`` is the
weak nudge's beta (y_target - y), injected by a transconductor into the row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, TextIO

import numpy as np
import scipy.sparse as sp

from ..coupling import Coupling
from ..energy import projected
from ..settings import setting
from ..spicetext import CLAMP_GAIN, lines
from .base import CircuitEquation, Crossbar, NodeEquation, Sheet, SinhDevices, device_power
from .sinh import DeviceCoupling

#: The column an op-amp row's G+ device meets: the inverted one (the integrator inverts).
PLUS = -1.0


@dataclass(frozen=True)
class OpAmpCrossbar(SinhDevices, Crossbar):
    """Op-amp neurons: ``gain`` A (dimensionless, >= 1), input ``offset`` V_os (volts), gain-bandwidth product
    ``gbw`` (hertz; 0: unlimited, the op-amp settles at once); ``sinh_v0``, ``v_read``: the devices' I-V (not
    with a finite bandwidth)."""

    name: ClassVar[str] = "opamp"

    gain: float = setting(1e4, "The op-amp neuron's open-loop gain A", option="--opamp-gain")
    offset: float = setting(0.0, "The op-amp neuron's input offset, volts", option="--opamp-offset")
    gbw: float = setting(0.0, "The op-amp neuron's gain-bandwidth product, hertz (0: unlimited)", option="--opamp-gbw")

    def __post_init__(self) -> None:
        super().__post_init__()
        self.check_devices()
        if not self.gain >= 1:
            raise ValueError(f"opamp gain={self.gain}: an op-amp's open-loop gain is >= 1")
        if not abs(self.offset) < 1:
            raise ValueError(f"opamp offset={self.offset}: must be within (-1, 1) V")
        if not self.gbw >= 0:
            raise ValueError(f"opamp gbw={self.gbw}: a gain-bandwidth product in hertz, >= 0 (0: unlimited)")
        if self.nonlinear and self.gbw > 0:
            raise ValueError(f"sinh_v0={self.sinh_v0} with opamp gbw={self.gbw}: a nonlinear device I-V is "
                             "modelled behind op-amps without a pole")

    @property
    def pole(self) -> float:
        """tau_a = A / (2 pi f_T), seconds: the op-amp's open-loop time constant (0 with unlimited bandwidth)."""
        return self.gain / (2.0 * np.pi * self.gbw) if self.gbw > 0 else 0.0

    # -- the node equation
    def equation(self, circuit, net, x, layout=None) -> NodeEquation:
        if self.nonlinear:  # the drive summed device by device, the loads inside it
            coupling, load = DeviceCoupling(net, x, circuit, self, PLUS), np.zeros(net.n_free, dtype=net.dtype)
        else:
            coupling, load = Coupling(net, x, layout), circuit.row_load(net).astype(net.dtype)
        if self.gbw > 0:
            return PoleEquation(net, coupling, self, load, circuit.tau)
        return CircuitEquation(net, coupling, self.node_drift, load)

    def node_drift(self, u, s, load):
        """tau ds/dt (volts) before the swing limit: kappa (u + V_os (1 + lambda) - lambda s / A) - s."""
        a = self.gain
        return (a / (a + 1.0)) * (u + self.offset * (1.0 + load) - load * s / a) - s

    def pole_drift(self, u, v_c, q, load, tau: float):
        """(tau dv_c/dt, tau dq/dt), volts, before the swing limit, for the drive ``u`` (B, n_free), the feedback
        capacitors' voltages ``v_c``, the op-amp outputs ``q`` and the rows' ``load``, with V_row = q - v_c:
        tau dv_c/dt = -v_c + u + lambda V_row and tau dq/dt = (tau / tau_a) (-q + A (V_os - V_row))."""
        row = q - v_c
        return u + load * row - v_c, (tau / self.pole) * (self.gain * (self.offset - row) - q)

    # -- power accounting
    def row_voltage(self, s):
        """The op-amp's virtual ground V_os - s / A (volts)."""
        return self.offset - s / self.gain

    def capacitor_voltage(self, node):
        """The feedback R || C sits between the row and the output: V_i - V_row,i."""
        return node - self.row_voltage(node)

    def device_power(self, circuit, net, x, v, rows) -> np.ndarray:
        return device_power(self, circuit, net, x, v, rows, PLUS)

    def clamp_power(self, v, rows, drift, gain, r_leak: float) -> np.ndarray:
        """The op-amp's swing limit, supplied by the op-amp, is not modelled: 0."""
        return np.zeros(len(v))

    # -- the netlist
    def notes(self, circuit) -> str:
        return (f"* crossbar: op-amp neurons (gain {self.gain:.6g}, offset {self.offset:.6g} V), devices into each "
                "row r_<node>, the integrator's virtual ground\n" + self.device_notes()
                + (f"* one-pole op-amps: gain-bandwidth {self.gbw:.6g} Hz, open-loop time constant "
                   f"{self.pole:.6g} s, internal node q_<node>\n" if self.gbw > 0 else ""))

    def write_neurons(self, out: TextIO, sheet: Sheet) -> None:
        c = sheet.circuit
        if self.gbw > 0:  # one pole: the op-amp's internal node q_<node> is a port, for its .ic
            neuron = (f"opamp_pole_neuron r={c.r_leak:.9g} c={c.c_node:.9g} a={self.gain:.9g} "
                      f"vos={self.offset:.9g} tp={self.pole:.9g} gclamp={CLAMP_GAIN * self.gain / c.r_leak:.9g}")
            lines(out, f"Xn_{{0}} r_{{0}} {{0}} q_{{0}} {neuron}\n", sheet.free_neurons)
        else:
            neuron = f"opamp_neuron r={c.r_leak:.9g} c={c.c_node:.9g} a={self.gain:.9g} vos={self.offset:.9g}"
            lines(out, f"Xn_{{0}} r_{{0}} {{0}} {neuron}\n", sheet.free_neurons)
        lines(out, f"Xn_{{0}} r_{{0}} {{0}} opamp_row r={c.r_leak:.9g} c={c.c_node:.9g}\n", sheet.held)

    def write_biases(self, out: TextIO, sheet: Sheet) -> None:
        """The integrator inverts: the bias is drawn out of the row."""
        bias = sheet.circuit.bias_current(np.asarray(sheet.net.bias, dtype=np.float64))
        lines(out, "Ib_{0} {0} 0 dc {1:.9e}\n", np.char.add("r_", sheet.free), bias)

    def write_synapses(self, out: TextIO, sheet: Sheet) -> None:
        rows, cols = sheet.rows, sheet.cols
        out.write("* column drivers: each presynaptic voltage buffered (p_) and inverted (n_)\n")
        lines(out, "Einv_{0} n_{0} 0 {0} 0 -1\n", np.unique(cols[sheet.g_plus > 0]))  # an output is a source
        out.write("* crossbar devices between column and row: R = 1 / G (ohm); zero devices left out\n")
        row_nodes = np.char.add("r_", rows)
        # the op-amp's integrator inverts, so its G+ devices meet the inverted column and G- the plain one
        self.write_devices(out, "p", row_nodes, cols, sheet.g_plus, np.char.add("n_", cols))
        self.write_devices(out, "m", row_nodes, cols, sheet.g_minus, cols)

    def write_nudge(self, out: TextIO, sheet: Sheet, outputs, targets) -> None:
        """A transconductor of beta / R into the row, inverted as the integrator inverts."""
        g = sheet.circuit.nudge_conductance(sheet.phase.beta)
        a, b = ("{0}", "t_{0}") if g > 0 else ("t_{0}", "{0}")
        lines(out, f"Vt_{{0}} t_{{0}} 0 dc {{1:.9g}}\nGnudge_{{0}} 0 r_{{0}} {a} {b} {abs(g):.9e}\n", outputs, targets)

    def initial_voltages(self, sheet: Sheet, start) -> list[tuple[np.ndarray, np.ndarray]]:
        """The outputs at ``start``, each row at its virtual ground V_os - V / A, and with one pole each op-amp's
        internal node at its output."""
        found = super().initial_voltages(sheet, start)
        found.append((np.char.add("r_", sheet.free), self.offset - start / self.gain))
        if self.gbw > 0:
            found.append((np.char.add("q_", sheet.free_neurons), start[: len(sheet.free_neurons)]))
        return found

    def summary(self) -> str:
        return (f"crossbar={self.name} (A={self.gain:g}, V_os={self.offset:g} V"
                + (f", GBW={self.gbw:g} Hz" if self.gbw else "") + ")" + self.device_summary())


class PoleEquation(CircuitEquation):
    """Op-amp neurons with one pole (:meth:`OpAmpCrossbar.pole_drift`): per example the feedback capacitors'
    voltages v_c (n_free) then the op-amp outputs q (n_free), q the node voltage. It starts where the one-pole-free
    op-amp would hold the rows: q = s0, V_row = V_os - s0 / A, v_c = q - V_row (at rest if the drive balances).
    Its :meth:`drift` of node voltages alone is the one-pole-free equation's (whose equilibria it shares)."""

    states = 2

    def __init__(self, net, coupling, crossbar: OpAmpCrossbar, load, tau: float):
        super().__init__(net, coupling, crossbar.node_drift, load)
        self.crossbar, self.tau = crossbar, tau

    def initial(self, s0) -> np.ndarray:
        q = np.asarray(s0, dtype=np.float64)
        v_c = q - (self.crossbar.offset - q / self.crossbar.gain)
        return np.concatenate([v_c, q], axis=1)

    def _split(self, y):
        n = self.net.n_free
        y = np.asarray(y).astype(self.net.dtype, copy=False)
        return y[:, :n], y[:, n:]

    def rates(self, y, phase, target) -> np.ndarray:
        """(tau dv_c/dt, tau dq/dt), volts, shape (B, 2 n_free); q held at the rails, clamped outputs held."""
        v_c, q = self._split(y)
        f_c, f_q = self.crossbar.pole_drift(self.drive(q, phase, target), v_c, q, self.load, self.tau)
        f_q = projected(q, f_q)
        if phase.clamped:
            f_c[:, self.net.output_slice] = 0.0
            f_q[:, self.net.output_slice] = 0.0
        return np.concatenate([f_c, f_q], axis=1)

    def node_voltages(self, y) -> np.ndarray:
        return y[:, self.net.n_free :]

    def on_rails(self, y) -> np.ndarray:
        """``y`` with the op-amp outputs q clipped into their swing (the capacitors' voltages are unbounded)."""
        v_c, q = self._split(y)
        return np.concatenate([v_c, np.clip(q, 0.0, 1.0)], axis=1)

    def pattern(self) -> sp.csr_array:
        """v_c' depends on its own v_c and on every q the coupling reads (its own included); q' on its own v_c
        and q."""
        own = sp.eye_array(self.net.n_free, format="csr")
        return sp.block_array([[own, super().pattern()], [own, own]], format="csr").astype(bool)
