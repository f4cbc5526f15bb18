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


@dataclass(frozen=True)
class Circuit:
    """The neuron's leak resistance ``r_leak`` (ohms) and node capacitance ``c_node`` (farads); the rail is 1 V.

    The defaults, 1 MOhm and 1 pF, give tau = 1 us, a time constant typical of subthreshold analog circuits.
    """

    r_leak: float = 1e6
    c_node: float = 1e-12

    def __post_init__(self) -> None:
        for name in ("r_leak", "c_node"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"{name}={value}: must be > 0")

    @property
    def tau(self) -> float:
        """Time constant tau = R C, seconds."""
        return self.r_leak * self.c_node

    def conductance(self, weight):
        """Transconductance G = W / R (siemens) of a dimensionless weight W."""
        return weight / self.r_leak

    def bias_current(self, bias):
        """Bias current I = b / R (amperes) of a bias b (volts)."""
        return bias / self.r_leak

    def nudge_conductance(self, beta: float) -> float:
        """Conductance beta / R (siemens) from an output node to the source at its target voltage."""
        return beta / self.r_leak
