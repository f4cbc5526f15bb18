"""Crossbar devices with a nonlinear (sinh) I-V: each row's drive from its devices' currents, for the ODE engine.

With ohmic devices a row's drive is linear in the columns, sum_j W_ij rho(s_j) - lambda_i V_row, and
:class:`~neurosim.coupling.Coupling` computes it as one product. A device of sinh I-V
(:meth:`~neurosim.crossbars.base.SinhDevices.device_current`) conducts I_k = g_k V_read sinh(dV_k / V_0) / sinh(V_read / V_0), with
dV_k = V_column,k - V_row across it, so the drive is summed device by device, vectorised over the batch:

    passive:  u_i = b_i + R sum_{k on row i} I_k(sigma_k V_col(k) - s_i)
    op-amp:   u_i = b_i - R sum_{k on row i} I_k(sigma_k V_col(k) - V_row,i),   V_row,i = V_os - s_i / A

(sigma_k = +1 for the plain column, -1 for the inverted one; the op-amp's integrator inverts, so its G+ devices
sit on the inverted columns and the drive enters with the opposite sign). The rows' loads are inside the
currents: the node equation is then the crossbar's ``node_drift`` with a zero load, u - s (passive) or
kappa (u + V_os) - s (op-amp), which for ohmic devices is the linear equation exactly.
Units: volts, siemens, amperes; u in volts (R times a current).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..network import Network
from .base import CrossbarDevices


class DeviceCoupling:
    """The drive u (B, n_free) of every free neuron through the devices of ``crossbar`` (its I-V
    ``device_current``, its ``row_voltage``; ``plus``: the column its G+ devices meet, -1 behind op-amps, whose
    drive then enters with the opposite sign) in ``circuit``, for inputs ``x`` (B, n_inputs) volts: the
    :class:`~neurosim.coupling.Coupling` interface (called on rho(s)), loads included."""

    def __init__(self, net: Network, x, circuit, crossbar, plus: float = 1.0):
        self.xp = np
        self.crossbar, self.net = crossbar, net
        devices = CrossbarDevices.of(circuit, net, plus)
        self.sign, self.column, self.row, self.g = devices.sign, devices.column, devices.row, devices.g
        self.x = np.asarray(x, dtype=np.float64).reshape(-1, net.n_inputs)
        self.r_leak, self.out_sign = circuit.r_leak, plus
        self.bias = np.asarray(net.bias, dtype=np.float64)
        self.const = self.bias  # what the engines read the array namespace and device from
        self.every = self.rows(slice(None))

    def __call__(self, r):
        """u for the states ``r`` (B, n_free): every row, its own voltage from ``r`` too."""
        return self.every(r, r)

    def rows(self, rows) -> "RowDevices":
        """The drive of the free neurons ``rows`` alone (free indices, an index array or a slice), as a function of
        every state and of their own (:class:`RowDevices`): the layer-wise fixed point's inner solve."""
        index = np.arange(self.net.n_free)[rows]
        local = np.full(self.net.n_free, -1)
        local[index] = np.arange(len(index))
        keep = local[self.row] >= 0
        return RowDevices(self, np.flatnonzero(keep), local[self.row[keep]], index)


class RowDevices:
    """The drive u (B, len(rows)) of some rows of a :class:`DeviceCoupling`, ``rows(r, own)``: the columns read
    from the states ``r`` (B, n_free), the rows' own voltages from their states ``own`` (B, len(rows)); the rows'
    devices only, summed as :class:`DeviceCoupling` sums them."""

    def __init__(self, coupling: DeviceCoupling, devices: np.ndarray, local: np.ndarray, index: np.ndarray):
        self.coupling, self.devices, self.index = coupling, devices, index
        n = len(devices)
        # R times the sum over each row's devices, as one sparse product (rows, devices)
        self.gather = sp.csr_array((np.full(n, coupling.r_leak), (local, np.arange(n))), shape=(len(index), n))
        self.sign, self.column, self.g = coupling.sign[devices], coupling.column[devices], coupling.g[devices]
        self.local = local
        self.bias = coupling.bias[index]

    def __call__(self, r, own):
        c = self.coupling
        r = np.asarray(r, dtype=np.float64)
        full = np.concatenate([np.broadcast_to(c.x, (len(r), c.x.shape[1])), r], axis=1)
        across = self.sign * full[:, self.column] - c.crossbar.row_voltage(np.asarray(own, dtype=np.float64))[:, self.local]
        current = c.crossbar.device_current(self.g, across)
        return (self.bias + c.out_sign * (self.gather @ current.T).T).astype(c.net.dtype)
