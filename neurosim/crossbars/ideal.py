"""The ideal crossbar: each device a current source G V_j into its row whatever the row's voltage, so that the
circuit is the network's own equation, tau ds_i/dt = -s_i + sum_j W_ij rho(s_j) + b_i (+ the nudge)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, TextIO

from ..coupling import Coupling
from ..spicetext import devices
from .base import Crossbar, NodeEquation, Sheet


@dataclass(frozen=True)
class IdealCrossbar(Crossbar):
    """Synapses as ideal current sources (voltage-controlled current sources in the netlist); no settings."""

    name: ClassVar[str] = "ideal"
    ideal: ClassVar[bool] = True

    def equation(self, circuit, net, x, layout=None) -> NodeEquation:
        return NodeEquation(net, Coupling(net, x, layout))

    def notes(self, circuit) -> str:
        return "* crossbar: ideal, each device a current source G V(in) into its row whatever the row's voltage\n"

    def write_synapses(self, out: TextIO, sheet: Sheet) -> None:
        out.write("* synapses: current sources G+ V(in) into out and G- V(in) out of it (S); zero devices left out\n")
        devices(out, "Gp_{0}_{1} 0 {0} {1} 0 {2:.9e}\n", sheet.rows, sheet.cols, sheet.g_plus)
        devices(out, "Gm_{0}_{1} {0} 0 {1} 0 {2:.9e}\n", sheet.rows, sheet.cols, sheet.g_minus)
