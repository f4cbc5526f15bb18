"""How large a network's netlist is and what ngspice will cost on it, before it is written.

:func:`netlist_size` counts what :func:`~neurosim.netlist.write_netlist` writes (devices, nodes, bytes) from the
network alone; :func:`estimate_seconds` turns that into ngspice's wall time for the transient of the export's
default length and for the operating point, by a model fitted to measurements on this machine kind
(``benchmarks/spice_cost.py``, docs/results/spice-cost.csv, docs/spice.md): the sparse LU factorisation of the
free nodes' matrix at every time point, and the devices' loading,

    seconds = a devices + b free_nodes^3,

with one (a, b) per route (:data:`MODEL`). It is an estimate, within a factor of 2 of the measured transients and
2.5 of the finished operating points (the fill-in of the factorisation depends on the topology, not only on the
node count; Newton's continuation steps on the network's kinks make the operating point the least predictable).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Bytes of one netlist line of a device pair direction (the ideal crossbar's G element), and of a neuron's lines.
BYTES_PER_DEVICE = 46
BYTES_PER_NODE = 120


@dataclass(frozen=True)
class NetlistSize:
    """What a network's netlist holds: ``devices`` (element lines of synapse devices: two per direction of a
    connection with a non-zero weight, one side of each differential pair), ``nodes`` (all neurons, inputs
    included), ``free_nodes`` (the unknowns ngspice solves for), and ``bytes`` (about)."""

    devices: int
    nodes: int
    free_nodes: int

    @property
    def bytes(self) -> int:
        return BYTES_PER_DEVICE * self.devices + BYTES_PER_NODE * self.nodes


def netlist_size(net) -> NetlistSize:
    """The size of the netlist of ``net`` (ideal crossbar; a passive or op-amp crossbar adds one driver per column
    and a row node per neuron, about the same count): one device per direction of every connection whose weight is
    not zero (inputs feed one direction)."""
    edges, weights, backward = net.edges_and_weights(backward=True)
    free_free = edges[:, 0] >= net.n_inputs
    devices = int(np.count_nonzero(weights) + np.count_nonzero(backward[free_free]))
    return NetlistSize(devices=devices, nodes=int(sum(net.sizes)), free_nodes=int(net.n_free))


#: (a seconds per device, b seconds per free node cubed) of each route, fitted by ``benchmarks/spice_cost.py
#: --fit`` to docs/results/spice-cost.csv: ``tran``, the transient of 250 tau from rest; ``check``, a transient of
#: 5 tau from neurosim's equilibrium; ``op``, the operating point from it.
#: On the 12 networks measured (2,688 to 421,200 devices, 42 to 610 free nodes; 2026-12-04, 2 cores): estimate /
#: measured 0.60-1.78 (tran), 0.83-1.21 (check), 0.40-1.55 (op, of the 11 that finished; the 12th, 784-200-200-200-10,
#: ran past 300 s against an estimate of 64 s: Newton's continuation steps make the operating point's time the
#: least predictable). On the paper's 784-500-500-500-10 (1,373,709 devices, 1,510 free nodes) the operating point
#: estimated at 16 min had not finished after 15 min: Newton failed from the nodeset at once, and dynamic gmin stepping
#: had reached gmin = 1e-7 (2026-12-04).
MODEL = {"tran": (8.82e-06, 5.95e-07), "check": (8.09e-06, 4.33e-08), "op": (8.6e-07, 2.81e-07)}


def estimate_seconds(size: NetlistSize, analysis: str = "tran", t_stop: float = 250.0, start: str = "rest") -> float:
    """ngspice's wall time (seconds, about: a factor of 3) for a netlist of ``size``: the operating point
    (``analysis`` op), or a transient of ``t_stop`` time constants from ``start`` (rest, or neurosim's
    equilibrium), scaled linearly from the model's 250 (5 from the equilibrium)."""
    if analysis == "op":
        route, scale = "op", 1.0
    elif start == "equilibrium":
        route, scale = "check", t_stop / 5.0
    else:
        route, scale = "tran", t_stop / 250.0
    a, b = MODEL[route]
    return scale * (a * size.devices + b * float(size.free_nodes) ** 3)
