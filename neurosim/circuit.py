"""Physical parameters of the neuron circuit and the map between the network's numbers and circuit quantities.

Each free neuron i is a node of voltage V_i (volts; the state s_i = V_i / 1 V) with a capacitor C to ground and a
leak resistor R to ground, clamped to [0, 1] V. Kirchhoff's current law at node i reads

    C dV_i/dt = -V_i / R + sum_j G_ij rho(V_j) + I_i + (beta / R) (V_target,i - V_i) [outputs, nudged phase]

with G_ij (siemens) the crossbar transconductance from neuron j to neuron i, I_i (amperes) the bias current and
beta / R the nudge conductance. Multiplying by R gives the network's equation in its own numbers,

    tau ds_i/dt = -s_i + sum_j W_ij rho(s_j) + b_i + beta (y_target,i - y_i),   tau = R C,

so W_ij = R G_ij (dimensionless), b_i = R I_i (volts) and beta is the nudge conductance in units of 1 / R.
The Euler engine's step eps is a time step in units of tau; the ODE engine integrates in seconds.

**How the crossbar meets the neuron** (``Circuit.crossbar``, :data:`CROSSBARS`). The equation above is the
``ideal`` one: each synapse a current source (G+ - G-) V_j into node i whatever V_i. Two physical alternatives:

- ``passive``: each device a conductance between its column line and the neuron's node (the row line). Column j
  carries V_j through a unity-gain buffer, and its negative copy -V_j through an inverting stage for the G- side:

      C dV_i/dt = -V_i / R + sum_j [G+_ij (V_j - V_i) + G-_ij (-V_j - V_i)] + I_i + ...
      tau ds_i/dt = -(1 + lambda_i) s_i + sum_j W_ij rho(s_j) + b_i + ...,   lambda_i = R sum_j (G+_ij + G-_ij)

  Every device on row i adds to its leak: lambda_i = sum_j |W_ij| + 2 R g_min n_i (n_i devices pairs on the row).

  With ``gain_trim`` each neuron's column driver has the gain 1 + lambda_i instead of 1, so that the columns carry
  the state s_i = (1 + lambda_i) V_i (the driver's output; V_i the node's own voltage, held in [0, 1 / (1 + lambda_i)]
  V by its clamp), and the weak nudge is a conductance (1 + lambda_i) beta / R to a source at
  y_target,i / (1 + lambda_i) V (the clamped phase holds the node at that voltage). Then

      tau ds_i/dt = (1 + lambda_i) [-s_i + sum_j W_ij rho(s_j) + b_i + beta (y_target,i - s_i)]:

  the ideal equation with the time constant tau / (1 + lambda_i), so its equilibria are the ideal circuit's in
  every phase. The trim follows the weights (the hardware recalibrates each driver from its row's conductances).
- ``opamp``: each neuron a transimpedance integrator, an op-amp of open-loop gain A and input offset V_os with
  R || C in its feedback from the row to its output (the state). The row sits at the virtual ground
  V_row = V_os - V_i / A, so the devices load the neuron only through that residue (the columns are inverted to
  keep the sign):

      tau ds_i/dt = -s_i + kappa [sum_j W_ij rho(s_j) + b_i + ... + V_os (1 + lambda_i) - lambda_i s_i / A],
      kappa = A / (A + 1).

  The output swing [0, 1] V is the clamp. As A -> infinity and V_os = 0 it is the ideal equation.

  With a finite gain-bandwidth product f_T (``opamp_gbw``, Hz) the op-amp has one pole: its output q follows
  A (V_os - V_row) with the time constant tau_a = A / (2 pi f_T), and the row is no longer held at its virtual
  ground. Each neuron then has two states, the feedback capacitor's voltage v_c = q - V_row and q itself
  (:meth:`Circuit.opamp_pole_drift`; KCL at the row, whose devices and bias carry -(u + lambda_i V_row) / R):

      tau dv_c/dt = -v_c + u_i + lambda_i V_row,    tau_a dq/dt = -q + A (V_os - V_row),    V_row = q - v_c,

  q held in [0, 1] V (the op-amp's swing, no wind-up). Its equilibria are the one-pole-free equation's; the
  bandwidth changes the way there (the settling time, and which equilibrium a network with several reaches).

**Device I-V** (``sinh_v0``, volts; 0: ohmic devices). A device of conductance G, programmed at the designer's read
voltage V_read (``v_read``), conducts

    I(dV) = G V_read sinh(dV / V_0) / sinh(V_read / V_0)

across it: G dV at dV = V_read, less than G dV below it (the small-signal conductance at 0 V is
G (V_read / V_0) / sinh(V_read / V_0)), more above; V_0 -> infinity is the ohmic device. Each row then collects
R sum_k I_k(V_column,k - V_row) in place of sum_j W_ij rho(s_j) - lambda_i V_row (passive and op-amp crossbars, whose
devices are conductances; :mod:`neurosim.iv`).

``...`` is the weak nudge's beta (y_target - y), injected where the devices' currents arrive (in the op-amp
neuron, by a transconductor into the row).
"""

from __future__ import annotations

import math

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .errors import NeurosimError
from .settings import setting


#: How the crossbar's devices meet the neurons: current sources, conductances into the node, or into an op-amp's
#: virtual ground (see the module's docstring).
CROSSBARS = ("ideal", "passive", "opamp")


class ConductanceRangeError(NeurosimError, ValueError):
    """A weight the circuit's device pairs cannot represent; the message names it and the range."""


@dataclass(frozen=True)
class Circuit:
    """The neuron's leak resistance ``r_leak`` (ohms) and node capacitance ``c_node`` (farads); the rail is 1 V.

    The defaults, 1 MOhm and 1 pF, give tau = 1 us, a time constant typical of subthreshold analog circuits.
    Each crossbar device has a conductance in [``g_min``, ``g_max``] (siemens); a signed weight is a differential
    pair, W = R (G+ - G-), so |W| <= R (g_max - g_min) (10 with the defaults).

    ``crossbar``: one of :data:`CROSSBARS` (the module's docstring has their equations); ``opamp_gain`` (A,
    dimensionless) and ``opamp_offset`` (V_os, volts) are the op-amp neuron's (``crossbar='opamp'``);
    ``opamp_gbw`` (hertz) its gain-bandwidth product (0: unlimited, the op-amp settles at once);
    ``r_line`` (ohms per cell of a row or column wire) the passive crossbar's line resistance
    (:mod:`neurosim.lines`; 0: ideal wires); ``sinh_v0`` (volts) and ``v_read`` (volts) the devices' sinh I-V
    (the module's docstring; 0: ohmic); ``gain_trim`` trims the passive crossbar's column drivers to
    1 + lambda (the module's docstring; not with line resistance).
    """

    r_leak: float = setting(1e6, "Leak resistance R, ohms")
    c_node: float = setting(1e-12, "Node capacitance C, farads; tau = RC")
    g_min: float = setting(0.0, "Smallest device conductance, siemens")
    g_max: float = setting(1e-5, "Largest device conductance, siemens")
    crossbar: Literal[CROSSBARS] = setting(
        "ideal", "Synapses as ideal current sources, passive devices loading the node, or into op-amp neurons' "
        "virtual ground")
    opamp_gain: float = setting(1e4, "The op-amp neuron's open-loop gain A (crossbar opamp)")
    opamp_offset: float = setting(0.0, "The op-amp neuron's input offset, volts")
    opamp_gbw: float = setting(0.0, "The op-amp neuron's gain-bandwidth product, hertz (0: unlimited)")
    r_line: float = setting(0.0, "Line resistance per crossbar cell, ohms (crossbar passive)")
    gain_trim: bool = setting(False, "Trim each column driver's gain to 1 + its row load (crossbar passive)")
    sinh_v0: float = setting(
        0.0, "Devices' sinh I-V, I = G V_read sinh(V / V0) / sinh(V_read / V0); volts, 0: ohmic")
    v_read: float = setting(1.0, "The read voltage at which a device conducts G V_read, volts")

    def __post_init__(self) -> None:
        for name, value in vars(self).items():  # a netlist or a step size needs numbers: no inf or NaN anywhere
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{name}={value}: not finite")
        if self.crossbar not in CROSSBARS:
            raise ValueError(f"crossbar={self.crossbar!r}: choose one of {', '.join(CROSSBARS)}")
        if not self.opamp_gain >= 1:
            raise ValueError(f"opamp_gain={self.opamp_gain}: an op-amp's open-loop gain is >= 1")
        if not abs(self.opamp_offset) < 1:
            raise ValueError(f"opamp_offset={self.opamp_offset}: must be within (-1, 1) V")
        if not 0 <= self.opamp_gbw < float("inf"):
            raise ValueError(f"opamp_gbw={self.opamp_gbw}: a gain-bandwidth product in hertz, >= 0 (0: unlimited)")
        if self.opamp_gbw > 0 and self.crossbar != "opamp":
            raise ValueError(f"opamp_gbw={self.opamp_gbw} with crossbar={self.crossbar!r}: the bandwidth is the "
                             "op-amp neuron's (crossbar='opamp')")
        if not self.r_line >= 0:
            raise ValueError(f"r_line={self.r_line}: a wire's resistance is >= 0 ohms")
        if self.r_line > 0 and self.crossbar != "passive":
            raise ValueError(f"r_line={self.r_line} with crossbar={self.crossbar!r}: line resistance is modelled for "
                             "the passive crossbar only")
        if self.gain_trim and (self.crossbar != "passive" or self.r_line > 0):
            raise ValueError(f"gain_trim with crossbar={self.crossbar!r}, r_line={self.r_line}: the drivers' gain "
                             "trim is modelled for the passive crossbar without line resistance")
        if not 0 <= self.sinh_v0 < float("inf"):
            raise ValueError(f"sinh_v0={self.sinh_v0}: the devices' I-V voltage in volts, >= 0 (0: ohmic)")
        if not 0 < self.v_read < float("inf"):
            raise ValueError(f"v_read={self.v_read}: the read voltage is > 0 V")
        if self.sinh_v0 > 0 and (self.crossbar == "ideal" or self.r_line > 0 or self.gain_trim or self.opamp_gbw > 0):
            raise ValueError(f"sinh_v0={self.sinh_v0} with crossbar={self.crossbar!r}, r_line={self.r_line}, "
                             f"gain_trim={self.gain_trim}, opamp_gbw={self.opamp_gbw}: a nonlinear device I-V is "
                             "modelled for the passive and op-amp crossbars without wires, trim or op-amp pole")
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
        return self.crossbar == "ideal"

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
        (input connections included), in units of 1 / R. With g_min = 0 it is sum_j |W_ij| (weights beyond the
        range count at w_max, as the netlist clips them)."""
        row, _, g_plus, g_minus = self.directed_devices(net)
        return self.r_leak * np.bincount(row - net.n_inputs, weights=g_plus + g_minus, minlength=net.n_free)

    def node_drift(self, u, s, load):
        """tau ds/dt (volts) of every node before the clamp, for the total drive ``u`` = sum_j W_ij rho(s_j) + b_i
        (+ the weak nudge's drive), the states ``s`` (B, n_free) and :meth:`row_load` ``load`` (n_free,):
        u - s (ideal), u - (1 + lambda) s (passive), (1 + lambda) (u - s) (passive with ``gain_trim``, s the
        drivers' outputs), or the op-amp neuron's kappa (u + V_os (1 + lambda) - lambda s / A) - s."""
        if self.crossbar == "ideal":
            return u - s
        if self.crossbar == "passive":
            return (1.0 + load) * (u - s) if self.gain_trim else u - (1.0 + load) * s
        a = self.opamp_gain
        return (a / (a + 1.0)) * (u + self.opamp_offset * (1.0 + load) - load * s / a) - s

    @property
    def nonlinear(self) -> bool:
        """Whether the devices have a sinh I-V (``sinh_v0`` > 0)."""
        return self.sinh_v0 > 0

    def device_current(self, g, dv):
        """I (amperes) of devices of conductance ``g`` (siemens) with ``dv`` volts across them:
        g v_read sinh(dv / V_0) / sinh(v_read / V_0), or g dv for ohmic devices (``sinh_v0`` = 0)."""
        if not self.nonlinear:
            return g * dv
        v0 = self.sinh_v0
        return (g * (self.v_read / np.sinh(self.v_read / v0))) * np.sinh(dv / v0)

    def row_voltage(self, s):
        """The rows' voltages (volts) for states ``s``: the node itself (ideal, passive) or the op-amp's virtual
        ground V_os - s / A."""
        if self.crossbar == "opamp":
            return self.opamp_offset - s / self.opamp_gain
        return s

    def driver_gain(self, net) -> np.ndarray:
        """Each neuron's column-driver gain, shape (n_free,): 1 + lambda (:meth:`row_load`) with ``gain_trim``, else
        1. A state s is the driver's output, so the neuron's capacitor sits at s / gain volts."""
        return 1.0 + self.row_load(net) if self.gain_trim else np.ones(net.n_free)

    @property
    def opamp_pole(self) -> float:
        """tau_a = A / (2 pi f_T), seconds: the op-amp's open-loop time constant (0 with unlimited bandwidth)."""
        return self.opamp_gain / (2.0 * np.pi * self.opamp_gbw) if self.opamp_gbw > 0 else 0.0

    def opamp_pole_drift(self, u, v_c, q, load):
        """(tau dv_c/dt, tau dq/dt), volts, of op-amp neurons with one pole (``opamp_gbw`` > 0), before the swing
        limit: for the drive ``u`` (B, n_free) as in :meth:`node_drift`, the feedback capacitors' voltages
        ``v_c``, the op-amp outputs ``q`` and the rows' load ``load``, with V_row = q - v_c:
        tau dv_c/dt = -v_c + u + lambda V_row and tau dq/dt = (tau / tau_a) (-q + A (V_os - V_row))."""
        row = q - v_c
        return (u + load * row - v_c,
                (self.tau / self.opamp_pole) * (self.opamp_gain * (self.opamp_offset - row) - q))


class _Between:
    """``labels[k]``: the directed device k as 'between <node> and <node>', made only when asked for."""

    def __init__(self, names, col, row):
        self.names, self.col, self.row = names, col, row

    def __getitem__(self, k: int) -> str:
        return f"between {self.names[self.col[k]]} and {self.names[self.row[k]]}"
