"""Crossbar devices with a nonlinear (sinh) I-V: each row's drive from its devices' currents.

With ohmic devices a row's drive is linear in the columns, sum_j W_ij rho(s_j) - lambda_i V_row, and
:class:`~neurosim.coupling.Coupling` computes it as one product. A device of sinh I-V
(:meth:`~neurosim.crossbars.base.SinhDevices.device_current`) conducts I_k = c_k sinh(dV_k / V_0), c_k =
g_k V_read / sinh(V_read / V_0), with dV_k = sigma_k V_column,k - V_row across it, so the drive is

    passive:  u_i = b_i + R sum_{k on row i} I_k(sigma_k V_col(k) - s_i)
    op-amp:   u_i = b_i - R sum_{k on row i} I_k(sigma_k V_col(k) - V_row,i),   V_row,i = V_os - s_i / A

(sigma_k = +1 for the plain column, -1 for the inverted one; the op-amp's integrator inverts, so its G+ devices
sit on the inverted columns and the drive enters with the opposite sign). The rows' loads are inside the
currents: the node equation is then the crossbar's ``node_drift`` with a zero load, u - s (passive) or
kappa (u + V_os) - s (op-amp), which for ohmic devices is the linear equation exactly.

**Two products, not a sum per device.** With a = V_col / V_0 and b = V_row / V_0, sinh(sigma a - b) =
sigma sinh(a) cosh(b) - cosh(a) sinh(b) (sinh odd, cosh even), so a row's sum over its devices is exactly

    sum_k I_k = cosh(b_i) S_i - sinh(b_i) C_i,   S = O sinh(V / V_0),   C = E cosh(V / V_0),

with O_ij = sum_k sigma_k c_k and E_ij = sum_k c_k over the devices between row i and column j: two dense
products per evaluation, the columns' part computed once while a row's own voltage is solved for. The identity
cancels terms of size cosh(a) cosh(b) to a difference that can be near 0, so it loses
eps cosh(a_max) cosh(b_max) of the devices' scale to rounding: it is used where that is below 1e-10 (V_0 above
about 0.14 V with 1 V rails), and each device's current is summed on its own below (:attr:`DeviceCoupling.split`).
Units: volts, siemens, amperes; u in volts (R times a current).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import scipy.sparse as sp

from ..coupling import Coupling
from ..network import Network
from .base import CrossbarDevices

#: The largest rounding, relative to the devices' scale, that the two products may carry (module docstring).
SPLIT_ROUNDING = 1e-10


class DeviceCoupling:
    """The drive u (B, n_free) of every free neuron through the devices of ``crossbar`` (its I-V
    ``device_current``, its ``row_voltage``; ``plus``: the column its G+ devices meet, -1 behind op-amps, whose
    drive then enters with the opposite sign) in ``circuit``, for inputs ``x`` (B, n_inputs) volts: the
    :class:`~neurosim.coupling.Coupling` interface (called on rho(s)), loads included.

    ``split``: whether the drive is the two products of the module's docstring (exact up to rounding of at most
    ``SPLIT_ROUNDING`` of the devices' scale at these inputs and rails) rather than a sum over every device;
    then ``odd`` and ``even`` (n_inputs + n_free, n_free) hold O^T and E^T, volts per unit sinh or cosh (R times
    amperes), indexed [column neuron, row]."""

    def __init__(self, net: Network, x, circuit, crossbar, plus: float = 1.0):
        self.xp = np
        self.crossbar, self.net, self.circuit = crossbar, net, circuit
        self.x = np.asarray(x, dtype=np.float64).reshape(-1, net.n_inputs)
        self.r_leak, self.out_sign = circuit.r_leak, plus
        self.bias = np.asarray(net.bias, dtype=np.float64)
        self.const = self.bias  # what the engines read the array namespace and device from
        v0 = crossbar.sinh_v0
        column_most = max(1.0, float(np.abs(self.x).max(initial=0.0))) / v0
        row_most = float(np.abs(crossbar.row_voltage(np.array([0.0, 1.0]))).max()) / v0
        self.split = np.finfo(np.float64).eps * np.cosh(column_most) * np.cosh(row_most) <= SPLIT_ROUNDING
        if self.split:
            self.odd, self.even = self._products()
        self.every = self.rows(slice(None))

    @cached_property
    def devices(self) -> CrossbarDevices:
        """Every device: its row, column, conductance and the sign of the column voltage it meets."""
        return CrossbarDevices.of(self.circuit, self.net, self.out_sign)

    def _products(self) -> tuple[np.ndarray, np.ndarray]:
        """(O^T, E^T) of the module's docstring, dense: O_ij = plus f R (G+_ij - G-_ij), E_ij = f R (G+_ij + G-_ij)
        with f = V_read / sinh(V_read / V0). Without a floor conductance (g_min = 0) R G+- are the weights clipped
        to +-w_max on the side of their sign (:meth:`~neurosim.circuit.Circuit.differential_pair`), read from the
        dense coupling matrices; otherwise the devices are listed and summed into their entries."""
        net, circuit, f = self.net, self.circuit, self.crossbar.sinh_scale(1.0)
        if circuit.g_min == 0:
            dense = Coupling(net, np.zeros((1, net.n_inputs), dtype=net.dtype), "dense")
            w = np.clip(np.concatenate([dense.w_sx, dense.w_ss]).astype(np.float64), -circuit.w_max, circuit.w_max)
            return self.out_sign * f * w, f * np.abs(w)
        d, shape = self.devices, (net.n_inputs + net.n_free, net.n_free)
        flat, scale = d.column * net.n_free + d.row, self.r_leak * f * d.g
        return tuple(np.bincount(flat, weights=w, minlength=shape[0] * shape[1]).reshape(shape)
                     for w in (d.sign * scale, scale))

    def __call__(self, r):
        """u for the states ``r`` (B, n_free): every row, its own voltage from ``r`` too."""
        return self.every.given(r)(r)

    def rows(self, rows) -> "SplitRows | SummedRows":
        """The drive of the free neurons ``rows`` alone (free indices, an index array or a slice), as a function of
        every state and of their own (:class:`SplitRows` or :class:`SummedRows`): the layer-wise fixed point's inner
        solve."""
        index = np.arange(self.net.n_free)[rows]
        return (SplitRows if self.split else SummedRows)(self, index)


class SummedRows:
    """The drive u (B, len(rows)) of some rows of a :class:`DeviceCoupling`, ``given(r)(own)``: the columns read
    from the states ``r`` (B, n_free), the rows' own voltages from their states ``own`` (B, len(rows)); each
    device's current computed and summed into its row. (It keeps what it reads of the coupling, not the coupling:
    a reference back would make a cycle that holds a phase's arrays until the garbage collector's next full pass.)"""

    def __init__(self, coupling: DeviceCoupling, index: np.ndarray):
        d = coupling.devices
        local = np.full(coupling.net.n_free, -1)
        local[index] = np.arange(len(index))
        devices = np.flatnonzero(local[d.row] >= 0)
        self.local = local[d.row[devices]]
        n = len(devices)
        # R times the sum over each row's devices, as one sparse product (rows, devices)
        self.gather = sp.csr_array((np.full(n, coupling.r_leak), (self.local, np.arange(n))), shape=(len(index), n))
        self.sign, self.column, self.g = d.sign[devices], d.column[devices], d.g[devices]
        self.bias, self.x = coupling.bias[index], coupling.x
        self.crossbar, self.out_sign, self.dtype = coupling.crossbar, coupling.out_sign, coupling.net.dtype

    def given(self, r):
        columns = self.sign * _with_inputs(self.x, r)[:, self.column]

        def drive(own):
            rows = self.crossbar.row_voltage(np.asarray(own, dtype=np.float64))[:, self.local]
            current = self.crossbar.device_current(self.g, columns - rows)
            return (self.bias + self.out_sign * (self.gather @ current.T).T).astype(self.dtype)

        return drive


class SplitRows:
    """:class:`SummedRows` by the two products of the module's docstring: the inputs' part of S and C once per
    phase, ``given(r)`` the states' part once (dense products), and each call on the rows' own voltages is
    element-wise."""

    def __init__(self, coupling: DeviceCoupling, index: np.ndarray):
        n_in, self.v0 = coupling.net.n_inputs, coupling.crossbar.sinh_v0
        scaled = coupling.x / self.v0
        # the inputs' part, (B, rows): sum over input columns j of O_ij sinh(x_j / V0), E_ij cosh(x_j / V0)
        self.odd_x = np.sinh(scaled) @ coupling.odd[:n_in, index]
        self.even_x = np.cosh(scaled) @ coupling.even[:n_in, index]
        self.odd_s = np.ascontiguousarray(coupling.odd[n_in:, index])  # (n_free, rows): the states' part
        self.even_s = np.ascontiguousarray(coupling.even[n_in:, index])
        self.bias = coupling.bias[index]
        self.crossbar, self.out_sign, self.dtype = coupling.crossbar, coupling.out_sign, coupling.net.dtype

    def given(self, r):
        scaled = np.asarray(r, dtype=np.float64) / self.v0
        odd = self.odd_x + np.sinh(scaled) @ self.odd_s  # S_i = sum_j O_ij sinh(V_j / V_0)
        even = self.even_x + np.cosh(scaled) @ self.even_s  # C_i = sum_j E_ij cosh(V_j / V_0)

        def drive(own):
            b = self.crossbar.row_voltage(np.asarray(own, dtype=np.float64)) / self.v0
            return (self.bias + self.out_sign * (np.cosh(b) * odd - np.sinh(b) * even)).astype(self.dtype)

        return drive


def _with_inputs(x: np.ndarray, r) -> np.ndarray:
    """Every neuron's voltage (B, n_inputs + n_free), float64: the inputs ``x``, then the states ``r``."""
    r = np.asarray(r, dtype=np.float64)
    return np.concatenate([np.broadcast_to(x, (len(r), x.shape[1])), r], axis=1)
