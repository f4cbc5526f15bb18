"""SPICE netlists of a network as a circuit, for one example's inputs (and, for the nudged phase, its targets).

The netlist instantiates the parts of the subcircuit library (``circuits/neurosim.lib``): one ``neuron`` per free
neuron (C and R to ground, clamped to [0, 1] V), one ``input`` source per input pixel, one ``bias`` current source
per free neuron, one ``synapse`` (a differential pair of conductances, :meth:`Circuit.differential_pair`) per
direction of every connection between free neurons and one per input connection (an input node is a source, so
only the direction into the free neuron exists), and for the nudged phase one ``nudge`` per output. Node names
say where a neuron is: ``x_<i>`` inputs, ``h<l>_<i>`` hidden layer l, ``y_<i>`` outputs (indices from 0).

A transient analysis from the starting state (``.ic``, ``uic``) runs ``t_stop`` time constants; its ``.control``
block writes the free nodes' voltages over time to ``data_file`` (one time column, a header row of names; the
last row is the equilibrium) and the analysis time, then quits, so ``ngspice -b file.cir`` runs it unchanged.
Lines are formatted in vectorised chunks and streamed to the file: the paper's 784-500-500-500-10 network
(2.8 million synapses) is written in seconds.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import TextIO

import numpy as np

from .circuit import Circuit
from .network import Network

#: The subcircuit library shipped with the package (``circuits/neurosim.lib`` in the repository links to it).
LIBRARY = Path(__file__).parent / "library" / "neurosim.lib"

#: Clamp conductance in units of 1 / R: a drive 1 V past a rail moves a node 1 / CLAMP_GAIN volts past it.
CLAMP_GAIN = 1e5

_CHUNK = 50_000

#: One direction of a connection: instance name, out node, in node, G+ and G- (siemens).
SYNAPSE_LINE = "Xs_{0}_{1} {0} {1} synapse gplus={2:.9e} gminus={3:.9e}\n"


def node_names(sizes) -> np.ndarray:
    """The SPICE node name of every neuron, in the network's global order: ``x_<i>``, ``h<l>_<i>``, ``y_<i>``."""
    last = len(sizes) - 1
    prefixes = ["x"] + [f"h{layer}" for layer in range(1, last)] + ["y"]
    return np.array([f"{p}_{i}" for p, size in zip(prefixes, sizes, strict=True) for i in range(size)])


def comment(text: str) -> str:
    """``text`` made safe for a comment line: printable ASCII only (other characters become '?', control
    characters and line breaks of any kind a space), so that no text given by a user can start a SPICE statement
    of its own."""
    text = str(text).encode("ascii", "replace").decode("ascii")
    return re.sub(r"[\x00-\x1f\x7f]+", " ", text)


def _plain_token(value, what: str) -> str:
    """``value`` as a single SPICE token: a ValueError if it holds whitespace or control characters (it would end
    the statement and could start another)."""
    text = str(value)
    if not text or re.search(r"[\s\x00-\x1f\x7f]", text):
        raise ValueError(f"{what}={text!r}: must be one word without spaces or line breaks in a netlist")
    return text


def write_netlist(
    out: str | Path | TextIO,
    net: Network,
    x: np.ndarray,
    *,
    circuit: Circuit | None = None,
    beta: float = 0.0,
    target: np.ndarray | None = None,
    nudge: str = "weak",
    start: np.ndarray | None = None,
    t_stop: float = 100.0,
    t_step: float = 0.1,
    data_file: str = "neurosim.data",
    library: str | Path | None = None,
    inline: bool = False,
    clip: bool = False,
    title: str = "",
) -> None:
    """Write the netlist of ``net`` with inputs ``x`` (n_inputs,) volts to ``out`` (a path or a text stream).

    ``beta`` != 0 with ``target`` (n_outputs,) volts: the nudged phase, ``nudge`` ``weak`` (a conductance
    beta / R from each output to a source at its target) or ``clamped`` (a voltage source holding each output at
    its target; its ``start`` should be the target too). ``start`` (n_free,): the initial node
    voltages (default 0 V). ``t_stop`` / ``t_step``: the transient's length and output step, in time constants.
    ``library``: the path written in ``.include`` (default: the packaged library's absolute path), or ``inline``
    to copy the library into the netlist. ``clip``: clip weights beyond the conductance range instead of raising
    :class:`~neurosim.circuit.ConductanceRangeError`. ``title``: a free-text line for the header.
    """
    circuit = circuit or Circuit()
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if x.shape != (net.n_inputs,):
        raise ValueError(f"inputs of shape {x.shape}: expected ({net.n_inputs},)")
    start = np.zeros(net.n_free) if start is None else np.asarray(start, dtype=np.float64).reshape(-1)
    if start.shape != (net.n_free,):
        raise ValueError(f"start of shape {start.shape}: expected ({net.n_free},)")
    if beta and (target is None or np.shape(target) != (net.n_outputs,)):
        raise ValueError(f"a nudged netlist (beta={beta}) needs a target of shape ({net.n_outputs},)")
    for name, value in (("t_stop", t_stop), ("t_step", t_step)):
        if not value > 0:
            raise ValueError(f"{name}={value}: must be > 0 (time constants)")
    for name, values in (("inputs", x), ("start", start), ("target", target), ("bias", net.bias),
                         *((f"weights {b.name}", b.weight) for b in net.blocks), ("skip weights", net.sparse.weight),
                         *((f"backward weights {b.name}", b.back) for b in net.blocks), ("backward skip weights", net.sparse.back)):
        if values is not None and not np.all(np.isfinite(values)):
            raise ValueError(f"{name}: not finite (NaN or Inf) — a netlist needs numbers")
    if not np.isfinite(beta):
        raise ValueError(f"beta={beta}: not finite")
    if nudge not in ("weak", "clamped"):
        raise ValueError(f"nudge={nudge!r}: a netlist nudges 'weak' or 'clamped' (the reference step is not a circuit)")
    data_file = _plain_token(data_file, "data_file")
    if library is not None:
        library = _plain_token(library, "library")
    names = node_names(net.sizes)
    free = names[net.n_inputs :]
    edges, weights, backward = net.edges_and_weights(backward=True)
    labels = _Labels(names, edges)
    g_plus, g_minus = circuit.differential_pair(weights, clip=clip, labels=labels)
    both = edges[:, 0] >= net.n_inputs  # free-free connections also act in the other direction
    back_plus, back_minus = circuit.differential_pair(backward[both], clip=clip, labels=_Labels(names, edges[both]))
    opened = open(out, "w", encoding="ascii") if isinstance(out, (str, Path)) else contextlib.nullcontext(out)
    with opened as stream:
        tau = circuit.tau
        n_in = net.n_inputs
        phase = "free"
        if beta:
            phase = (f"clamped (outputs held at the target), beta={beta:g}" if nudge == "clamped" else
                     f"nudged, beta={beta:g} (nudge conductance {circuit.nudge_conductance(beta):.6g} S)")
        stream.write(
            f"* neurosim netlist{': ' + comment(title) if title else ''}\n"
            f"* network {'-'.join(map(str, net.sizes))}, {len(edges)} connections; phase: {phase}\n"
            f"* R={circuit.r_leak:.6g} ohm, C={circuit.c_node:.6g} F, tau={tau:.6g} s; device conductances "
            f"[{circuit.g_min:.6g}, {circuit.g_max:.6g}] S, |W| <= {circuit.w_max:.6g}\n"
            "* nodes: x_<i> inputs, h<l>_<i> hidden layer l, y_<i> outputs (from 0); W_ij = R (G+ - G-), b_i = R I_i\n"
            f"* transient {t_stop:g} tau from the .ic state; {data_file}: time and free node voltages, last row = "
            "equilibrium\n"
        )
        if inline:
            stream.write(f"* --- subcircuit library (inlined from {LIBRARY.name}) ---\n{LIBRARY.read_text()}"
                         "* --- end ---\n")
        else:
            stream.write(f".include {Path(library) if library is not None else LIBRARY.resolve()}\n")
        stream.write("* inputs (V)\n")
        _lines(stream, "Xin_{0} {0} input v={1:.9g}\n", names[:n_in], x)
        gclamp = CLAMP_GAIN / circuit.r_leak
        stream.write("* neurons\n")
        neuron = f"neuron r={circuit.r_leak:.9g} c={circuit.c_node:.9g} gclamp={gclamp:.9g}"
        _lines(stream, f"Xn_{{0}} {{0}} {neuron}\n", free)
        stream.write("* biases (A)\n")
        bias = circuit.bias_current(np.asarray(net.bias, dtype=np.float64))
        _lines(stream, "Xb_{0} {0} bias i={1:.9e}\n", free, bias)
        stream.write("* synapses: out in, G+ G- (S)\n")
        i, j = edges[:, 0], edges[:, 1]
        into_j = names[j], names[i]
        _lines(stream, SYNAPSE_LINE, *into_j, g_plus, g_minus)
        _lines(stream, SYNAPSE_LINE, names[i[both]], names[j[both]], back_plus, back_minus)
        if beta:
            outputs = names[net.n_inputs + net.output_slice.start :]
            targets = np.asarray(target, dtype=np.float64)
            if nudge == "clamped":
                stream.write("* clamp: outputs held at the target (V)\n")
                _lines(stream, "Xhold_{0} {0} hold target={1:.9g}\n", outputs, targets)
            else:
                stream.write("* nudge (S, V)\n")
                element = f"nudge g={circuit.nudge_conductance(beta):.9e}"
                _lines(stream, f"Xnudge_{{0}} {{0}} {element} target={{1:.9g}}\n", outputs, targets)
        stream.write("* initial node voltages\n.ic")
        _lines(stream, " v({0})={1:.9g}", free, start)
        stream.write(f"\n.tran {t_step * tau:.9g} {t_stop * tau:.9g} uic\n")
        stream.write(".control\nset wr_singlescale\nset wr_vecnames\nrun\nwrdata " + data_file)
        _lines(stream, " v({0})", free)
        stream.write("\nrusage tranpoints\nrusage time\nquit\n.endc\n.end\n")


class _Labels:
    """``labels[k]``: the connection k as 'between <node> and <node>', made only when asked for."""

    def __init__(self, names, edges):
        self.names, self.edges = names, edges

    def __getitem__(self, k: int) -> str:
        i, j = self.edges[k]
        return f"between {self.names[i]} and {self.names[j]}"


def netlist_text(net: Network, x: np.ndarray, **options) -> str:
    """The netlist :func:`write_netlist` writes, as a string."""
    buffer = io.StringIO()
    write_netlist(buffer, net, x, **options)
    return buffer.getvalue()


def _lines(out: TextIO, template: str, *columns) -> None:
    """Write one line per row of ``columns`` through ``template``, in chunks."""
    n = len(columns[0])
    for lo in range(0, n, _CHUNK):
        rows = zip(*(c[lo : lo + _CHUNK] for c in columns))
        out.write("".join(template.format(*row) for row in rows))
