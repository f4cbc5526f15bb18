"""The energy of the continuous Hopfield network and its gradient (paper eqs 1-6).

    rho(u) = clip(u, 0, 1)                                                     (eq 1)
    E(u)   = 1/2 sum_i u_i^2 - 1/2 sum_{i != j} W_ij rho(u_i) rho(u_j) - sum_i b_i rho(u_i)   (eq 3)
    C      = 1/2 ||y - y_target||^2                                            (eq 4)
    F      = E + beta C                                                        (eq 5)
    dF/ds_i = s_i - rho'(s_i) (sum_j W_ij rho(u_j) + b_i) + beta (y_i - y_target,i) [outputs only]

with rho'(u) = 1 on [0, 1] including the end points, 0 outside (eq 2). All functions are vectorised over a batch:
``x`` has shape (B, n_inputs), free states ``s`` (B, n_free), targets (B, n_outputs). In the circuit view u is a
node voltage in volts (the rail is 1 V) and E is in units of V^2 / R.
"""

from __future__ import annotations

import numpy as np

from .backend import array_namespace
from .coupling import Coupling
from .network import Network


def rho(u):
    """Hard sigmoid, eq 1 (numpy arrays or torch tensors)."""
    return array_namespace(u).clip(u, 0.0, 1.0)


def rho_prime(u: np.ndarray) -> np.ndarray:
    """Derivative of the hard sigmoid with the end points counted as inside, eq 2."""
    return ((u >= 0.0) & (u <= 1.0)).astype(u.dtype)


def cost(net: Network, s: np.ndarray, target: np.ndarray) -> np.ndarray:
    """C = 1/2 ||y - y_target||^2 per example (eq 4), y the output part of the state."""
    return 0.5 * np.sum((s[:, net.output_slice] - target) ** 2, axis=1)


def energy(
    net: Network,
    x: np.ndarray,
    s: np.ndarray,
    beta: float = 0.0,
    target: np.ndarray | None = None,
    coupling: Coupling | None = None,
) -> np.ndarray:
    """F = E + beta C per example (eqs 3-5), shape (B,).

    With d = const + W_ss r the coupling's output (const = b + W_sx x), the pair sum splits into free-free pairs
    (each counted twice in r . W_ss r) and free-input pairs (once in r . W_sx x):
    E = 1/2 |x|^2 + 1/2 |s|^2 - 1/2 r . (d - const) - r . const,  r = rho(s).
    """
    coupling = coupling or Coupling(net, x)
    r = rho(s)
    d = coupling(r)
    e = (
        0.5 * np.sum(np.asarray(x, dtype=s.dtype) ** 2, axis=1)
        + 0.5 * np.sum(s**2, axis=1)
        - 0.5 * np.sum(r * (d - coupling.const), axis=1)
        - np.sum(r * coupling.const, axis=1)
    )
    if beta:
        e = e + beta * cost(net, s, target)
    return e


def grad_f(
    net: Network, coupling: Coupling, s: np.ndarray, beta: float = 0.0, target: np.ndarray | None = None
) -> np.ndarray:
    """dF/ds per free neuron, shape (B, n_free): s - rho'(s) (W rho(u) + b) + beta (y - y_target) on outputs."""
    g = s - rho_prime(s) * coupling(rho(s))
    if beta:
        g[:, net.output_slice] += beta * (s[:, net.output_slice] - target)
    return g


def drift(
    net: Network, coupling: Coupling, s: np.ndarray, beta: float = 0.0, target: np.ndarray | None = None
) -> np.ndarray:
    """tau ds/dt of the clamped leaky integrators (volts, with tau = RC), shape (B, n_free):

        tau ds_i/dt = -s_i + sum_j W_ij rho(s_j) + b_i + beta (y_target,i - y_i) [outputs]

    projected onto the box [0, 1]: a node at a rail whose drive pushes it outward has ds/dt = 0 (the clamp
    holds it). Inside the box this is -dF/ds; its largest magnitude is the residual of a time-continuous engine,
    0 exactly at an equilibrium.
    """
    f = coupling(rho(s)) - s
    if beta:
        f[:, net.output_slice] += beta * (target - s[:, net.output_slice])
    return projected(s, f)


def projected(s: np.ndarray, f: np.ndarray) -> np.ndarray:
    """The rate ``f`` of states ``s`` projected onto the box [0, 1]: 0 where a node at a rail is pushed outward
    (the clamp holds it)."""
    held = ((s >= 1.0) & (f > 0.0)) | ((s <= 0.0) & (f < 0.0))
    return np.where(held, 0.0, f)
