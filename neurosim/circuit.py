"""Physical parameters of the neuron circuit and the map between the network's numbers and circuit quantities.

Each free neuron i is a node of voltage V_i (volts; the state s_i = V_i / 1 V) with a capacitor C to ground and a
leak resistor R to ground, clamped to [0, 1] V. Kirchhoff's current law at node i reads

    C dV_i/dt = -V_i / R + sum_j G_ij rho(V_j) + I_i + (beta / R) (V_target,i - V_i) [outputs, nudged phase]

with G_ij (siemens) the crossbar transconductance from neuron j to neuron i, I_i (amperes) the bias current and
beta / R the nudge conductance. Multiplying by R gives the network's equation in its own numbers,

    tau ds_i/dt = -s_i + sum_j W_ij rho(s_j) + b_i + beta (y_target,i - y_i),   tau = R C,

so W_ij = R G_ij (dimensionless), b_i = R I_i (volts) and beta is the nudge conductance in units of 1 / R.
The Euler engine's step eps is a time step in units of tau; the ODE engine integrates in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from .errors import NeurosimError


class ConductanceRangeError(NeurosimError, ValueError):
    """A weight the circuit's device pairs cannot represent; the message names it and the range."""


@dataclass(frozen=True)
class Circuit:
    """The neuron's leak resistance ``r_leak`` (ohms) and node capacitance ``c_node`` (farads); the rail is 1 V.

    The defaults, 1 MOhm and 1 pF, give tau = 1 us, a time constant typical of subthreshold analog circuits.
    Each crossbar device has a conductance in [``g_min``, ``g_max``] (siemens); a signed weight is a differential
    pair, W = R (G+ - G-), so |W| <= R (g_max - g_min) (10 with the defaults).
    """

    r_leak: float = 1e6
    c_node: float = 1e-12
    g_min: float = 0.0
    g_max: float = 1e-5

    def __post_init__(self) -> None:
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
