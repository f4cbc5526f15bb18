"""Power and energy of one phase of the circuit, from its node voltages over time: what a designer budgets.

The energy a phase draws from its sources (inputs, column drivers, biases, targets, the synapses' current sources
of the ideal crossbar) is what its resistive parts dissipate plus what its capacitors store at the end:

    E_phase = integral_0^T P(t) dt + sum_i 1/2 C (V_C,i(T)^2 - V_C,i(0)^2)

with P the power (watts) dissipated in

- every leak resistor, V_i^2 / R (in the op-amp neuron, the feedback resistor, (V_i - V_row,i)^2 / R);
- every crossbar device of the passive and op-amp crossbars, I dV with dV = V_column - V_row (G dV^2 if ohmic;
  :meth:`Circuit.device_current`; the ideal crossbar's devices are current sources, which dissipate nothing of their own); with line resistance, the wires and devices of
  each array together, V^T Y V over its row nodes and drivers (:func:`neurosim.lines.wire_power`);
- the weak nudge's conductance beta / R, (beta / R)(V_i - V_target,i)^2 for beta > 0 (for beta < 0 a
  transconductor, whose supply is not modelled);
- the rail clamp: a node at 1 V sinks the excess of its drive, V_i I_clamp,i.

V_C is the capacitor's voltage, the node's (V_row - V_i in the op-amp neuron). Behind gain-trimmed drivers
(``Circuit.gain_trim``) the states are the drivers' outputs and each node sits at V_i = s_i / (1 + lambda_i)
(:meth:`Circuit.driver_gain`): the leak, devices, clamp and capacitor see V_i, the nudge
(1 + lambda_i) beta / R (V_i - y_target,i / (1 + lambda_i))^2 = (beta / R) (s_i - y_target,i)^2 / (1 + lambda_i). The op-amps' and drivers' own
quiescent power is not included. Units: volts, amperes, siemens, seconds, watts, joules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .circuit import Circuit
from .network import Network

#: Time rows per chunk of the device sum (bounds the (rows, devices) temporaries).
_CHUNK_ELEMENTS = 4_000_000


@dataclass(frozen=True)
class Devices:
    """Every crossbar device of a network as a circuit: the free index of its row neuron, the global index of its
    column neuron, its conductance (siemens) and the sign of the column voltage it meets (+1: the plain copy, -1:
    the inverted one; the op-amp's integrator inverts, so its G+ devices meet the inverted column)."""

    row: np.ndarray
    column: np.ndarray
    g: np.ndarray
    sign: np.ndarray

    @classmethod
    def of(cls, circuit: Circuit, net: Network) -> "Devices":
        rows, cols, g_plus, g_minus = circuit.directed_devices(net)
        rows = rows - net.n_inputs
        keep_p, keep_m = g_plus > 0, g_minus > 0
        plus = -1.0 if circuit.crossbar == "opamp" else 1.0  # the column a G+ device meets
        return cls(
            row=np.concatenate([rows[keep_p], rows[keep_m]]),
            column=np.concatenate([cols[keep_p], cols[keep_m]]),
            g=np.concatenate([g_plus[keep_p], g_minus[keep_m]]),
            sign=np.concatenate([np.full(keep_p.sum(), plus), np.full(keep_m.sum(), -plus)]),
        )


def power(circuit: Circuit, net: Network, x: np.ndarray, v: np.ndarray, drift: np.ndarray | None = None, *,
          beta: float = 0.0, target: np.ndarray | None = None) -> np.ndarray:
    """Dissipated power (watts) at each row of ``v`` (T, n_free), the states (node voltages; behind gain-trimmed
    drivers, the drivers' outputs) of one example with inputs ``x`` (n_inputs,) volts; shape (T,). ``drift``: the
    unprojected tau ds/dt (volts) of the states at each row, whose positive part at a node on the upper rail is the
    clamp's current times R (times 1 + lambda behind gain-trimmed drivers; None: no clamp power). ``beta``,
    ``target``: the weak nudge of a nudged phase."""
    v = np.atleast_2d(np.asarray(v, dtype=np.float64))
    r = circuit.r_leak
    gain = circuit.driver_gain(net)
    rows = circuit.row_voltage(v / gain)
    p = np.sum((v - rows) ** 2 if circuit.crossbar == "opamp" else rows**2, axis=1) / r
    if circuit.r_line > 0:  # the wires and devices of every array, from the reduction's boundary admittances
        from .lines import wire_power

        p += wire_power(circuit, net, x, v)
    elif not circuit.ideal:
        devices = Devices.of(circuit, net)
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        step = max(1, _CHUNK_ELEMENTS // max(len(devices.g), 1))
        for lo in range(0, len(v), step):
            full = np.concatenate([np.broadcast_to(x, (len(v[lo : lo + step]), len(x))), v[lo : lo + step]], axis=1)
            column = devices.sign * full[:, devices.column]
            across = column - rows[lo : lo + step, devices.row]
            p[lo : lo + step] += np.sum(circuit.device_current(devices.g, across) * across, axis=1)
    if beta > 0:
        y = v[:, net.output_slice]
        p += np.sum((y - np.asarray(target, dtype=np.float64)) ** 2 / gain[net.output_slice], axis=1) * \
            circuit.nudge_conductance(beta)
    if drift is not None and circuit.crossbar != "opamp":  # the node's own tau dV/dt is the state's / (1 + lambda)
        at_rail = v >= 1.0
        p += np.sum(np.where(at_rail, rows * np.maximum(drift, 0.0) / gain, 0.0), axis=1) / r
    return p


def stored_energy(circuit: Circuit, v: np.ndarray, net: Network | None = None) -> np.ndarray:
    """1/2 C V_C^2 summed over the neurons (joules) at each row of ``v`` (T, n_free), the states; with
    ``circuit.gain_trim`` the network ``net`` gives each node's voltage (:meth:`Circuit.driver_gain`)."""
    v = np.atleast_2d(np.asarray(v, dtype=np.float64))
    if circuit.gain_trim:
        if net is None:
            raise ValueError("stored_energy of a gain-trimmed crossbar needs the network (net=) for its row loads")
        v = v / circuit.driver_gain(net)
    across = v - circuit.row_voltage(v) if circuit.crossbar == "opamp" else v
    return 0.5 * circuit.c_node * np.sum(across**2, axis=1)


def phase_energy(circuit: Circuit, t: np.ndarray, p: np.ndarray, v: np.ndarray, until: float | None = None,
                 net: Network | None = None) -> float:
    """E_phase (joules) of a waveform: the trapezoid integral of the power ``p`` (T,) watts over times ``t`` (T,)
    seconds, plus the energy stored in the capacitors between the first and the last row of ``v``; ``until``
    (seconds): end the phase at the last row at or before it (a phase cut at its settling time); ``net``: as in
    :func:`stored_energy`."""
    end = len(t) if until is None else max(int(np.searchsorted(t, until, side="right")), 2)
    stored = stored_energy(circuit, v[[0, end - 1]], net)
    return float(np.trapezoid(p[:end], t[:end]) + stored[1] - stored[0])


def settling_within(t: np.ndarray, v: np.ndarray, tol: float) -> float:
    """The time (s) after which every node stays within ``tol`` volts of its last value: the designer's settling
    time (the engines' own rate criterion, max |dV/dt| tau < tol, can come sooner: docs/spice.md)."""
    far = np.max(np.abs(np.asarray(v) - np.asarray(v)[-1]), axis=1) > tol
    if not far.any():
        return float(t[0])
    last = int(np.nonzero(far)[0][-1])
    return float(t[min(last + 1, len(t) - 1)])
