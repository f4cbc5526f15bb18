"""Power and energy of one phase of the circuit, from its node voltages over time: what a designer budgets.

The energy a phase draws from its sources (inputs, column drivers, biases, targets, the synapses' current sources
of the ideal crossbar) is what its resistive parts dissipate plus what its capacitors store at the end:

    E_phase = integral_0^T P(t) dt + sum_i 1/2 C (V_C,i(T)^2 - V_C,i(0)^2)

with P the power (watts) dissipated in

- every leak resistor, V_i^2 / R (in the op-amp neuron, the feedback resistor, (V_i - V_row,i)^2 / R);
- every crossbar device of the passive and op-amp crossbars, I dV with dV = V_column - V_row (G dV^2 if ohmic;
  the crossbar's ``device_current``; the ideal crossbar's devices are current sources, which dissipate nothing of
  their own); with line resistance, the wires and devices of each array together, V^T Y V over its row nodes and
  drivers (:func:`neurosim.crossbars.wires.wire_power`);
- the weak nudge's conductance beta / R, (beta / R)(V_i - V_target,i)^2 for beta > 0 (for beta < 0 a
  transconductor, whose supply is not modelled);
- the rail clamp: a node at 1 V sinks the excess of its drive, V_i I_clamp,i.

V_C is the capacitor's voltage, the node's (V_row - V_i in the op-amp neuron). Behind gain-trimmed drivers
(the passive crossbar's ``gain_trim``) the states are the drivers' outputs and each node sits at
V_i = s_i / (1 + lambda_i) (the crossbar's ``node_gain``): the leak, devices, clamp and capacitor see V_i, the nudge
(1 + lambda_i) beta / R (V_i - y_target,i / (1 + lambda_i))^2 = (beta / R) (s_i - y_target,i)^2 / (1 + lambda_i). The op-amps' and drivers' own
quiescent power is not included. Units: volts, amperes, siemens, seconds, watts, joules.
"""

from __future__ import annotations

import numpy as np

from .circuit import Circuit
from .network import Network


def power(circuit: Circuit, net: Network, x: np.ndarray, v: np.ndarray, drift: np.ndarray | None = None, *,
          beta: float = 0.0, target: np.ndarray | None = None) -> np.ndarray:
    """Dissipated power (watts) at each row of ``v`` (T, n_free), the states (node voltages; behind gain-trimmed
    drivers, the drivers' outputs) of one example with inputs ``x`` (n_inputs,) volts; shape (T,). ``drift``: the
    unprojected tau ds/dt (volts) of the states at each row, whose positive part at a node on the upper rail is the
    clamp's current times R (times 1 + lambda behind gain-trimmed drivers; None: no clamp power). ``beta``,
    ``target``: the weak nudge of a nudged phase. The crossbar (``circuit.crossbar``) gives the rows' voltages, the
    leak's, the devices' and the clamp's power."""
    v = np.atleast_2d(np.asarray(v, dtype=np.float64))
    r, crossbar = circuit.r_leak, circuit.crossbar
    gain = crossbar.node_gain(circuit, net)
    node = v / gain
    rows = crossbar.row_voltage(node)
    p = np.sum(crossbar.capacitor_voltage(node) ** 2, axis=1) / r
    if not crossbar.ideal:
        p += crossbar.device_power(circuit, net, x, v, rows)
    if beta > 0:
        y = v[:, net.output_slice]
        p += np.sum((y - np.asarray(target, dtype=np.float64)) ** 2 / gain[net.output_slice], axis=1) * \
            circuit.nudge_conductance(beta)
    if drift is not None:
        p += crossbar.clamp_power(v, rows, drift, gain, r)
    return p


def stored_energy(circuit: Circuit, v: np.ndarray, net: Network | None = None) -> np.ndarray:
    """1/2 C V_C^2 summed over the neurons (joules) at each row of ``v`` (T, n_free), the states; with
    gain-trimmed drivers the network ``net`` gives each node's voltage (the crossbar's ``node_gain``)."""
    v = np.atleast_2d(np.asarray(v, dtype=np.float64))
    if circuit.crossbar.trimmed:
        if net is None:
            raise ValueError("stored_energy of a gain-trimmed crossbar needs the network (net=) for its row loads")
        v = v / circuit.crossbar.node_gain(circuit, net)
    return 0.5 * circuit.c_node * np.sum(circuit.crossbar.capacitor_voltage(v) ** 2, axis=1)


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
