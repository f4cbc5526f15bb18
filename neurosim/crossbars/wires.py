"""Line resistance of the passive crossbar (IR drop): the arrays' row and column wires as resistor chains, reduced
to an effective coupling between the neurons that the ODE engine integrates exactly.

Layout. The devices of connections from layer l_c into layer l_r form one array (rows: the neurons of l_r;
columns: the neurons of l_c; the input layer, the intralayer connections and layer-skipping pairs included), in two
planes: the G+ devices, whose columns carry the buffered V_j, and the G- devices, whose columns carry -V_j. In
each plane, row r is a wire from its neuron's node along the cells c = 0, 1, ..., C-1, a resistor ``r_line``
(ohms) between neighbouring cells and between the node and cell 0; column c is a wire from its driver down the
cells r = 0, 1, ..., R-1, with ``r_line`` likewise. The device of cell (r, c), if any, joins the two wires there.

Reduction. The wires' cell nodes hold no capacitance, so at every instant Kirchhoff's law makes them a linear
function of the boundary voltages, the neurons' nodes and the column drivers. Eliminating them (the Schur
complement of the plane's nodal matrix, one sparse LU per plane) gives the current into each neuron node as
I = Y [V_nodes; V_drivers]; multiplied by R the node equation becomes

    tau ds_i/dt = -s_i + sum_k A_ik v_k + b_i (+ the nudge),   v = (inputs x, free states s)

with A (n_free, n_inputs + n_free) in units of 1/R: the devices' couplings, now through the wires, and on the
diagonal minus each row's load. With ``r_line = 0`` A is the passive crossbar's W - diag(lambda)
(tests/test_crossbar.py).
"""

from __future__ import annotations

import hashlib
from functools import partial

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from ..network import Network
from ..topology import layer_of_neurons


#: Cell voltages held at once while an array's plane is reduced (float64 entries: 128 MB).
_CHUNK_ELEMENTS = 16_000_000

#: SuperLU's column ordering for a plane's nodal matrix (symmetric: minimum degree on its own pattern).
ORDERING = "MMD_AT_PLUS_A"


def arrays(circuit, net: Network) -> list[dict]:
    """Every (row layer, column layer) array of the network's devices: ``rows`` (R,) free indices and ``cols``
    (C,) global indices of its neurons, and ``g_plus`` / ``g_minus`` (R, C) siemens (0 where no device)."""
    row, col, g_plus, g_minus = circuit.directed_devices(net)
    layer = layer_of_neurons(net.sizes)
    pair = layer[row] * len(net.sizes) + layer[col]  # (row layer, column layer) as one code
    order = np.argsort(pair, kind="stable")
    codes, starts = np.unique(pair[order], return_index=True)
    out = []
    for code, lo, hi in zip(codes.tolist(), starts, [*starts[1:], len(order)]):
        lr, lc = divmod(code, len(net.sizes))
        keep = order[lo:hi]
        rows = np.arange(net.offsets[lr], net.offsets[lr + 1])
        cols = np.arange(net.offsets[lc], net.offsets[lc + 1])
        gp, gm = np.zeros((len(rows), len(cols))), np.zeros((len(rows), len(cols)))
        r, c = row[keep] - net.offsets[lr], col[keep] - net.offsets[lc]
        gp[r, c], gm[r, c] = g_plus[keep], g_minus[keep]
        out.append(dict(rows=rows - net.n_inputs, cols=cols, g_plus=gp, g_minus=gm))
    return out


def plane_admittance(g: np.ndarray, r_line: float) -> tuple[np.ndarray, np.ndarray]:
    """One plane of an array (device conductances ``g`` (R, C) siemens, wires of ``r_line`` ohms per cell):
    the currents (amperes) into the R row nodes as (Y_rows (R, R), Y_drivers (R, C)) @ (V_rows, V_drivers)."""
    y = boundary_admittance(g, r_line)
    n_r = g.shape[0]
    return -y[:n_r, :n_r], -y[:n_r, n_r:]


def boundary_admittance(g: np.ndarray, r_line: float) -> np.ndarray:
    """Y (R + C, R + C) siemens of one plane: the current each boundary node (the R row nodes, then the C
    drivers) drives into the wires, Y @ (V_rows, V_drivers). The plane dissipates V^T Y V watts."""
    n_r, n_c = g.shape
    gl = 1.0 / r_line
    t = np.arange(n_r * n_c).reshape(n_r, n_c)  # row-wire cell nodes
    u = t + n_r * n_c  # column-wire cell nodes
    n = 2 * n_r * n_c
    i, j, v = [], [], []

    def conductance(a, b, value):  # between internal nodes a and b (arrays)
        i.extend([a, b, a, b])
        j.extend([a, b, b, a])
        v.extend([value, value, -value, -value])

    conductance(t[:, :-1].ravel(), t[:, 1:].ravel(), np.full(n_r * (n_c - 1), gl))
    conductance(u[:-1, :].ravel(), u[1:, :].ravel(), np.full((n_r - 1) * n_c, gl))
    has = g > 0
    conductance(t[has], u[has], g[has])
    diag = np.zeros(n)
    diag[t[:, 0]] += gl  # to the row's neuron node
    diag[u[0, :]] += gl  # to the column's driver
    matrix = sp.csc_array((np.concatenate([np.concatenate(v), diag]),
                           (np.concatenate([np.concatenate(i), np.arange(n)]),
                            np.concatenate([np.concatenate(j), np.arange(n)]))), shape=(n, n))
    first = np.concatenate([t[:, 0], u[0, :]])  # the cell each boundary node meets
    lu, m = splu(matrix, permc_spec=ORDERING), n_r + n_c
    near = np.empty((m, m))  # the first cells' voltages per unit boundary voltage
    step = max(1, _CHUNK_ELEMENTS // n)
    for lo in range(0, m, step):  # a few boundary nodes at a time: (n, step) cell voltages, of which R + C are kept
        hi = min(lo + step, m)
        drive = np.zeros((n, hi - lo))
        drive[first[lo:hi], np.arange(hi - lo)] = gl  # the current g_l V_b each boundary node drives into its cell
        near[:, lo:hi] = lu.solve(drive)[first]
    return gl * (np.eye(m) - near)  # g_l (V_boundary - V_first cell) per unit boundary voltage


def first_order_admittance(g: np.ndarray, r_line: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`plane_admittance` to first order in ``r_line``: (Y_rows (R, R), Y_drivers (R, C)) siemens, the
    currents into the R row nodes, in O(R C) cumulative sums and one (R, C) x (C, R) product instead of a sparse
    LU of the plane's 2 R C cell nodes.

    Cell (i, m) meets its row wire r (m + 1) ohms from the neuron's node and its column wire r (i + 1) from the
    driver; two cells of a row share min(j, m) + 1 segments (K), two of a column min(i, l) + 1 (K'). With the wires
    ideal the cell currents are I0_im = G_im (V_i - D_m) (V the row nodes, D the drivers); their drops move the
    wires by dVr_im = -r (K I0_i)_m and dVc_im = r (K' I0)_im, and the current into row node i is, to first order,

        I_i = -sum_m I0_im + r [V_i sum_m H_im - (H D)_i] + r [((K' o G G^T) V)_i - (H' D)_i],
        H = (G K) o G,   H' = (K' G) o G

    (o element-wise). The error is of the order of eps^2 relative to the currents, eps relative to the wires' own
    effect, eps = r max_i sum_m (m + 1) G_im (or the columns' alike): the wires' largest relative drop. Symmetric,
    and every row of the boundary admittance still sums to zero (tests/test_crossbar.py)."""
    n_r, n_c = g.shape
    h_rows = _shared_segments(g, axis=1) * g
    h_cols = _shared_segments(g, axis=0) * g
    shared_rows = np.minimum.outer(np.arange(n_r), np.arange(n_r)) + 1.0
    y_rows = r_line * shared_rows * (g @ g.T)
    y_rows[np.diag_indices(n_r)] += r_line * h_rows.sum(axis=1) - g.sum(axis=1)
    return y_rows, g - r_line * (h_rows + h_cols)


def _shared_segments(g: np.ndarray, axis: int) -> np.ndarray:
    """sum_j g_..j.. (min(j, m) + 1) along ``axis`` (-1: a row's cells, -2: a column's) for every m: G K or K' G,
    in cumulative sums, K_jm = min(j, m) + 1 the wire segments two cells share on their way to the driven end."""
    shape = [1] * g.ndim
    shape[axis] = g.shape[axis]
    k = np.arange(1, g.shape[axis] + 1, dtype=np.float64).reshape(shape)
    below = np.cumsum(g * k, axis=axis)  # sum over j <= m of g_j (j + 1)
    above = g.sum(axis=axis, keepdims=True) - np.cumsum(g, axis=axis)  # sum over j > m of g_j
    return below + k * above


def row_currents(g: np.ndarray, r_line: float, v_rows: np.ndarray, v_drivers: np.ndarray, tol: float = 1e-12,
                 max_iter: int = 200) -> tuple[np.ndarray, int]:
    """The exact currents (amperes) into the row nodes of one plane (devices ``g`` (R, C) siemens, wires of
    ``r_line`` ohms per cell) at row-node voltages ``v_rows`` (B, R) and driver voltages ``v_drivers`` (B, C), with
    the iterations taken: the wires' cell voltages solved per example, without the plane's reduction, by iterating

        I = G o (Vr - Vc),   Vr_im = V_i - r (K I_i)_m,   Vc_im = D_m + r (K' I)_im

    (:func:`first_order_admittance`'s notation) until no cell voltage moves by more than ``tol`` volts. Each
    iteration shrinks the error by about eps (the wires' largest relative drop); ValueError if it does not settle."""
    v_rows, v_drivers = np.atleast_2d(v_rows), np.atleast_2d(v_drivers)
    vr = np.broadcast_to(v_rows[:, :, None], v_rows.shape + g.shape[1:]).copy()
    vc = np.broadcast_to(v_drivers[:, None, :], v_drivers.shape[:1] + g.shape).copy()
    for iteration in range(1, max_iter + 1):
        cell = g * (vr - vc)
        new_r = v_rows[:, :, None] - r_line * _shared_segments(cell, axis=-1)
        new_c = v_drivers[:, None, :] + r_line * _shared_segments(cell, axis=-2)
        moved = max(np.max(np.abs(new_r - vr)), np.max(np.abs(new_c - vc)))
        vr, vc = new_r, new_c
        if moved <= tol:
            return -np.sum(g * (vr - vc), axis=-1), iteration
        if not moved < 1e3:  # kilovolts on a 1 V circuit: diverging
            break
    raise ValueError(f"r_line={r_line:g}: the wires' cell voltages did not settle to {tol:g} V in {max_iter} "
                     f"iterations (last move {moved:.3g} V): the wires drop too much for this iteration")


def wire_power(circuit, net: Network, x: np.ndarray, v: np.ndarray, r_line: float) -> np.ndarray:
    """Watts dissipated in every array's wires and devices (passive crossbar with line resistance) at each row of
    the node voltages ``v`` (T, n_free), inputs ``x`` (n_inputs,): the sum over planes of V^T Y V with V the
    plane's row nodes and drivers (:func:`boundary_admittance`)."""
    v = np.atleast_2d(np.asarray(v, dtype=np.float64))
    full = np.concatenate([np.broadcast_to(np.asarray(x, dtype=np.float64).reshape(-1), (len(v), net.n_inputs)), v],
                          axis=1)
    p = np.zeros(len(v))
    for array, g, sign in planes(circuit, net):
        boundary = np.concatenate([full[:, array["rows"] + net.n_inputs], sign * full[:, array["cols"]]], axis=1)
        p += np.einsum("ti,ij,tj->t", boundary, boundary_admittance(g, r_line), boundary)
    return p


def planes(circuit, net: Network) -> list[tuple[dict, np.ndarray, float]]:
    """Every plane holding a device, as (its array (:func:`arrays`), its conductances (R, C) siemens, the sign of
    the column voltage its drivers carry: +1 the G+ plane's buffered V, -1 the G- plane's inverted one)."""
    return [(array, g, sign) for array in arrays(circuit, net)
            for g, sign in ((array["g_plus"], 1.0), (array["g_minus"], -1.0)) if np.any(g > 0)]


def reduced_coupling(circuit, net: Network, r_line: float, map_=map, admittance=plane_admittance) -> np.ndarray:
    """A (n_free, n_inputs + n_free), units of 1/R: tau ds/dt = -s + A [x; s] + b of the passive crossbar with
    line resistance ``r_line`` (ohms per cell; the module's docstring). ``admittance``: each plane's, exact
    (:func:`plane_admittance`, one sparse LU each) or :func:`first_order_admittance`; ``map_``: how the planes'
    are computed, in turn (``map``) or by a pool's ``map``."""
    n_all = net.n_inputs + net.n_free
    a = np.zeros((net.n_free, n_all))
    with_devices = planes(circuit, net)
    admittances = map_(partial(admittance, r_line=r_line), [g for _, g, _ in with_devices])
    for (array, _, sign), (y_rows, y_drivers) in zip(with_devices, admittances):
        rows, cols = _span(array["rows"]), _span(array["cols"])  # a layer's neurons are consecutive
        a[rows, rows.start + net.n_inputs : rows.stop + net.n_inputs] += circuit.r_leak * y_rows
        a[rows, cols] += sign * circuit.r_leak * y_drivers
    return a


def _span(indices: np.ndarray) -> slice:
    """The slice of consecutive ``indices``."""
    return slice(int(indices[0]), int(indices[-1]) + 1)


def network_fingerprint(net: Network) -> bytes:
    """A digest of everything :func:`reduced_coupling` reads of ``net``: its sizes, its blocks' layers and every
    weight, mask and index array of its blocks and sparse couplings (biases left out)."""
    layout = (tuple(net.sizes), [(b.lo, b.hi) for b in net.blocks])
    digest = hashlib.blake2b(repr(layout).encode(), digest_size=20)
    arrays_of = [a for b in net.blocks for a in (b.weight, b.mask, b.back)]
    arrays_of += [net.sparse.i, net.sparse.j, net.sparse.weight, net.sparse.back]
    for a in arrays_of:
        digest.update(b"-" if a is None else np.ascontiguousarray(a).view(np.uint8))
    return digest.digest()


class CouplingMemo:
    """The last reduced coupling a crossbar computed and the circuit and network it came from: a training step's
    free and nudged phases share their weights, so the second phase reuses the first's reduction."""

    def __init__(self) -> None:
        self.key, self.a = None, None

    def __call__(self, circuit, net: Network, compute) -> np.ndarray:
        """``compute()`` unless the last call had the same ``circuit`` and weights (:func:`network_fingerprint`)."""
        key = (circuit, network_fingerprint(net))
        if key != self.key:
            a = compute()  # a failed computation leaves the last entry as it was
            self.key, self.a = key, a
        return self.a


class LineCoupling:
    """The drive of every free neuron through the wires, ``const + r @ A_s.T`` with ``const = b + x @ A_x.T``
    (the :class:`~neurosim.coupling.Coupling` interface, for the ODE engine), from :func:`reduced_coupling`'s
    ``a``. The row loads are inside it: the node equation is then drive - s."""

    def __init__(self, net: Network, x, a: np.ndarray):
        self.xp = np
        x = np.asarray(x, dtype=net.dtype)
        self.a_s = np.ascontiguousarray(a[:, net.n_inputs :].T.astype(net.dtype))
        self.const = net.bias + x @ a[:, : net.n_inputs].T.astype(net.dtype)

    def __call__(self, r):
        return self.const + r @ self.a_s
