"""SPICE netlists of a network as a circuit, for one example's inputs (and, for the nudged phase, its targets).

The netlist instantiates parts of the subcircuit library (``circuits/neurosim.lib``): one ``neuron`` (C and R to
ground, clamped to [0, 1] V; ``opamp_neuron`` or ``opamp_pole_neuron`` behind op-amps) per free neuron, one
``input`` source per input pixel, and for the nudged phase one ``nudge`` (``repel`` for a negative beta) or
``hold`` per output. Biases are plain current sources ``Ib_``; each synapse is its differential pair's non-zero
devices (:meth:`Circuit.differential_pair`): transconductances ``Gp_``/``Gm_`` on the ideal crossbar, resistors
``Rp_``/``Rm_`` (or sinh sources ``Bp_``/``Bm_``) between column and row otherwise, one per direction of every
connection between free neurons and one per input connection (an input node is a source, so only the direction
into the free neuron exists). Node names
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
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from .circuit import Circuit
from .crossbars import Sheet
from .phase import Phase
from .network import Network
from .spicetext import lines

#: The subcircuit library shipped with the package (``circuits/neurosim.lib`` in the repository links to it).
LIBRARY = Path(__file__).parent / "library" / "neurosim.lib"

#: The free phase: no nudge.
FREE = Phase()


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


#: The characters of a file name neurosim writes into a netlist (the data file of ``wrdata``) and of a path in
#: ``.include`` (the same and ``/``). Nothing else: ngspice's control language runs a backquoted `command` in the
#: shell, substitutes ``$name``, and redirects a command's output with ``>`` and ``<``, so one character past this
#: alphabet in a file name could make ``ngspice -b`` run a command or write a file (docs/reliability.md).
SAFE_NAME = re.compile(r"[A-Za-z0-9_.+-]+")
SAFE_PATH = re.compile(r"[A-Za-z0-9_.+/-]+")


def safe_name(value, what: str, *, path: bool = False) -> str:
    """``value`` as a word of a netlist (a file name, or with ``path`` a path): a :class:`ValueError` naming the
    characters outside :data:`SAFE_NAME` (:data:`SAFE_PATH`), or an empty name."""
    text = str(value)
    alphabet = SAFE_PATH if path else SAFE_NAME
    if alphabet.fullmatch(text):
        return text
    bad = "".join(dict.fromkeys(c for c in text if not alphabet.fullmatch(c)))
    allowed = "letters, digits and _ . + -" + (" /" if path else "")
    raise ValueError(f"{what}={text!r}: " + (f"holds {bad!r}; " if text else "empty; ")
                     + f"a netlist's {'paths' if path else 'file names'} use {allowed} only (ngspice would read "
                     "others as shell commands, variables or redirections)")


#: The lines of the ``.control`` block :func:`write_netlist` writes; :func:`check_control` allows no others.
CONTROL_LINES = re.compile(r"set wr_singlescale|set wr_vecnames|run|rusage tranpoints|rusage time|quit"
                           r"|wrdata [A-Za-z0-9_.+-]+( v\([A-Za-z0-9_]+\))*")


def check_control(text: str, what: str = "netlist") -> None:
    """Refuse (:class:`ValueError`, one line naming the line) a netlist whose commands would do more than
    :func:`write_netlist`'s: a ``.control`` block with any line but :data:`CONTROL_LINES`, more than one block, a
    backquote outside a comment, or a file that ngspice would run as a script (first line ``*ng_script``). Run on
    every netlist before ngspice sees it (:func:`~neurosim.engines.spice.run_netlist`), so that a netlist changed
    after neurosim wrote it cannot run a command either."""
    lines = text.splitlines()
    if lines and lines[0].lower().startswith("*ng_script"):
        raise ValueError(f"{what}: starts with *ng_script (a control script, not a netlist neurosim wrote)")
    inside, blocks = False, 0
    for number, line in enumerate(lines, 1):
        word = line.strip()
        if word.startswith("*") and not inside:
            continue
        lowered = word.lower()
        if lowered == ".control":
            inside, blocks = True, blocks + 1
            if blocks > 1:
                raise ValueError(f"{what}, line {number}: a second .control block")
        elif lowered == ".endc":
            inside = False
        elif inside and not CONTROL_LINES.fullmatch(word):
            raise ValueError(f"{what}, line {number}: {comment(word)[:80]!r} is not a command neurosim writes")
        elif "`" in word:
            raise ValueError(f"{what}, line {number}: a backquote (ngspice would run the text in the shell)")
        elif lowered.startswith((".exec", ".control")):
            raise ValueError(f"{what}, line {number}: {comment(word)[:40]!r} is not a directive neurosim writes")


@dataclass(frozen=True)
class Analysis:
    """What ngspice runs on a netlist. ``kind``: ``tran``, a transient of ``t_stop`` time constants from the
    starting state, its output every ``t_step`` and its time step at most ``max_step`` (time constants; one keeps
    the state and runs ~10x faster than ngspice's own choice, docs/spice.md), integrated by gear (trapezoidal rings
    at a clamped node); or ``op``, ngspice's operating point, Newton's method started at the starting state
    (``.nodeset``), one row of output. The spice engine's ``t_max`` (250) is ``t_stop``'s default."""

    kind: str = "tran"
    t_stop: float = 250.0
    t_step: float = 0.1
    max_step: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in ("tran", "op"):
            raise ValueError(f"analysis={self.kind!r}: choose 'tran' or 'op'")
        for name in ("t_stop", "t_step", "max_step"):
            if not 0 < getattr(self, name) < float("inf"):
                raise ValueError(f"{name}={getattr(self, name)}: must be > 0 and finite (time constants)")


def write_netlist(
    out: str | Path | TextIO,
    net: Network,
    x: np.ndarray,
    *,
    circuit: Circuit | None = None,
    phase: Phase = FREE,
    start: np.ndarray | None = None,
    analysis: Analysis = Analysis(),
    data_file: str = "neurosim.data",
    library: str | Path | None = None,
    inline: bool = False,
    clip: bool = False,
    title: str = "",
    control: bool = True,
    notes: tuple[str, ...] = (),
) -> None:
    """Write the netlist of ``net`` with inputs ``x`` (n_inputs,) volts to ``out`` (a path or a text stream).

    ``phase``: the free phase (default), or a nudged one (:class:`~neurosim.phase.Phase`, its ``target``
    (n_outputs,) volts): ``nudge`` ``weak`` (a conductance beta / R from each output to a source at its target)
    or ``clamped`` (a voltage source holding each output at its target; its ``start`` should be the target too).
    ``start`` (n_free,): the initial node voltages (default 0 V). ``analysis``: what ngspice runs
    (:class:`Analysis`: the transient's length, output step and largest step, or the operating point).
    The circuit's :attr:`~neurosim.circuit.Circuit.crossbar` writes its neurons, biases, synapses and weak nudge
    (:mod:`neurosim.crossbars`): current sources (ideal), conductances from buffered and inverted column drivers
    into the node (passive), or into op-amp neurons' rows. Devices of zero conductance are left out.
    ``library``: the path written in ``.include`` (default: the packaged library's absolute path), or ``inline``
    to copy the library into the netlist. ``clip``: clip weights beyond the conductance range instead of raising
    :class:`~neurosim.circuit.ConductanceRangeError`. ``title``: a free-text line for the header.
    ``notes``: more header lines, each a comment (:func:`comment`). ``control``: end with the ``.control`` block that makes ``ngspice -b`` run it and write ``data_file``; without it
    the netlist is a plain circuit with its analysis for a simulator that drives ngspice itself (PySpice's
    ``NgSpiceShared.load_circuit``, which rejects a ``.control`` block; :mod:`neurosim.pyspice`).
    With ``analysis.kind = "op"`` the data file holds one row (ngspice writes an input's voltage where the time
    would be). An operating point is an equilibrium, but the network has several and ``.op`` may find another one
    than the transient: check its residual (the spice engine does).
    """
    beta, target, nudge = phase.beta, phase.target, phase.nudge
    t_stop, t_step, max_step = analysis.t_stop, analysis.t_step, analysis.max_step
    circuit = circuit or Circuit()
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if x.shape != (net.n_inputs,):
        raise ValueError(f"inputs of shape {x.shape}: expected ({net.n_inputs},)")
    start = np.zeros(net.n_free) if start is None else np.asarray(start, dtype=np.float64).reshape(-1)
    if start.shape != (net.n_free,):
        raise ValueError(f"start of shape {start.shape}: expected ({net.n_free},)")
    if beta and np.shape(target) != (net.n_outputs,):
        raise ValueError(f"a nudged netlist (beta={beta}) needs a target of shape ({net.n_outputs},)")
    for name, values in (("inputs", x), ("start", start), ("target", target), ("bias", net.bias),
                         *((f"weights {b.name}", b.weight) for b in net.blocks), ("skip weights", net.sparse.weight),
                         *((f"backward weights {b.name}", b.back) for b in net.blocks), ("backward skip weights", net.sparse.back)):
        if values is not None and not np.all(np.isfinite(values)):
            raise ValueError(f"{name}: not finite (NaN or Inf) — a netlist needs numbers")
    if not np.isfinite(beta):
        raise ValueError(f"beta={beta}: not finite")
    if nudge not in ("weak", "clamped"):
        raise ValueError(f"nudge={nudge!r}: a netlist nudges 'weak' or 'clamped' (the reference step is not a circuit)")
    data_file = safe_name(data_file, "data_file")
    if not inline:
        try:
            library = safe_name(Path(library) if library is not None else LIBRARY.resolve(), "library", path=True)
        except ValueError as err:
            raise ValueError(f"{err}; inline=True (--inline) copies the library into the netlist instead") from None
    names = node_names(net.sizes)
    free = names[net.n_inputs :]
    # every direction of every connection (free-free ones act both ways): (row neuron, column neuron, G+, G-)
    row, col, gp, gm = circuit.directed_devices(net, clip=clip, names=names)
    held = names[net.n_inputs + net.output_slice.start :] if beta and nudge == "clamped" else names[:0]
    sheet = Sheet(circuit=circuit, net=net, names=names, free=free, held=held, rows=names[row], cols=names[col],
                  g_plus=gp, g_minus=gm, phase=phase)
    crossbar = circuit.crossbar
    opened = open(out, "w", encoding="ascii") if isinstance(out, (str, Path)) else contextlib.nullcontext(out)
    with opened as stream:
        tau = circuit.tau
        phase_note = "free"
        if beta:
            phase_note = (f"clamped (outputs held at the target), beta={beta:g}" if nudge == "clamped" else
                          f"nudged, beta={beta:g} (nudge conductance {circuit.nudge_conductance(beta):.6g} S)")
        stream.write(
            f"* neurosim netlist{': ' + comment(title) if title else ''}\n"
            + "".join(f"* {comment(note)}\n" for note in notes)
            + f"* network {'-'.join(map(str, net.sizes))}, {net.n_connections()} connections; phase: {phase_note}\n"
            f"* R={circuit.r_leak:.6g} ohm, C={circuit.c_node:.6g} F, tau={tau:.6g} s; device conductances "
            f"[{circuit.g_min:.6g}, {circuit.g_max:.6g}] S, |W| <= {circuit.w_max:.6g}\n"
            + crossbar.notes(circuit)
            + "* nodes: x_<i> inputs, h<l>_<i> hidden layer l, y_<i> outputs (from 0); W_ij = R (G+ - G-), b_i = R I_i\n"
            + (f"* transient {t_stop:g} tau from the .ic state; {data_file}: time and free node voltages, last row = "
               "equilibrium\n" if analysis.kind == "tran" else
               f"* operating point from the .nodeset state; {data_file}: one row of free node voltages\n")
        )
        if inline:
            stream.write(f"* --- subcircuit library (inlined from {LIBRARY.name}) ---\n{LIBRARY.read_text()}"
                         "* --- end ---\n")
        else:
            stream.write(f".include {library}\n")
        stream.write("* inputs (V)\n")
        lines(stream, "Xin_{0} {0} input v={1:.9g}\n", sheet.inputs, x)
        stream.write("* neurons\n")
        crossbar.write_neurons(stream, sheet)
        stream.write("* biases (A)\n")
        crossbar.write_biases(stream, sheet)
        crossbar.write_synapses(stream, sheet)
        if beta:
            outputs = names[net.output_slice.start + net.n_inputs :]
            targets = np.asarray(target, dtype=np.float64)
            if nudge == "clamped":
                gain = crossbar.node_gain(circuit, net)[net.output_slice]
                at = crossbar.capacitor_nodes(sheet)[net.output_slice]  # the output's capacitor node
                stream.write("* clamp: outputs held at the target (V)\n")
                lines(stream, "Xhold_{0} {1} hold target={2:.9g}\n", outputs, at, targets / gain)
            else:
                stream.write("* nudge: (beta / R) (V_target - V) into each output (S, V)\n")
                crossbar.write_nudge(stream, sheet, outputs, targets)
        stream.write("* initial node voltages" + ("\n.ic" if analysis.kind == "tran" else
                                                    " (Newton's starting point for the operating point)\n.nodeset"))
        for nodes, volts in crossbar.initial_voltages(sheet, start):
            lines(stream, " v({0})={1:.9g}", nodes, volts)
        if analysis.kind == "op":
            stream.write("\n.op\n")
        else:
            stream.write(f"\n.options method=gear{crossbar.tran_options()}\n.tran {t_step * tau:.9g} {t_stop * tau:.9g} 0 "
                         f"{max_step * tau:.9g} uic\n")
        if not control:
            stream.write(".end\n")
            return
        stream.write(".control\nset wr_singlescale\nset wr_vecnames\nrun\nwrdata " + data_file)
        lines(stream, " v({0})", free)
        stream.write("\nrusage tranpoints\nrusage time\nquit\n.endc\n.end\n")


def netlist_text(net: Network, x: np.ndarray, **options) -> str:
    """The netlist :func:`write_netlist` writes, as a string."""
    buffer = io.StringIO()
    write_netlist(buffer, net, x, **options)
    return buffer.getvalue()
