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
from .phase import Phase
from .lines import arrays
from .network import Network

#: The subcircuit library shipped with the package (``circuits/neurosim.lib`` in the repository links to it).
LIBRARY = Path(__file__).parent / "library" / "neurosim.lib"

#: Clamp conductance in units of 1 / R: a drive 1 V past a rail moves a node 1 / CLAMP_GAIN volts past it.
CLAMP_GAIN = 1e5

_CHUNK = 50_000

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
    The circuit's :attr:`~neurosim.circuit.Circuit.crossbar` decides how synapses are written: current sources
    (ideal), conductances from buffered and inverted column drivers into the node (passive), or into op-amp
    neurons' rows. Devices of zero conductance are left out.
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
    rows, cols = names[row], names[col]
    opened = open(out, "w", encoding="ascii") if isinstance(out, (str, Path)) else contextlib.nullcontext(out)
    with opened as stream:
        tau = circuit.tau
        n_in = net.n_inputs
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
            f"* crossbar: {CROSSBAR_NOTES[circuit.crossbar].format(circuit)}\n"
            + (f"* devices: sinh I-V, I = G V_read sinh(dV / V0) / sinh(V_read / V0), V0={circuit.sinh_v0:.6g} V, "
               f"V_read={circuit.v_read:.6g} V (B sources Bp_, Bm_)\n" if circuit.nonlinear else "")
            + ("* gain trim: node <node> is the column driver's output (1 + lambda) V(c_<node>), the state; the "
               "capacitor node c_<node> is clamped to [0, 1 / (1 + lambda)] V and nudged by (1 + lambda) beta / R "
               "towards target / (1 + lambda)\n" if circuit.gain_trim else "")
            + (f"* one-pole op-amps: gain-bandwidth {circuit.opamp_gbw:.6g} Hz, open-loop time constant "
               f"{circuit.opamp_pole:.6g} s, internal node q_<node>\n" if circuit.opamp_gbw > 0 else "")
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
        _lines(stream, "Xin_{0} {0} input v={1:.9g}\n", names[:n_in], x)
        gclamp = CLAMP_GAIN / circuit.r_leak
        held = names[n_in + net.output_slice.start :] if beta and nudge == "clamped" else names[:0]
        free_neurons = free[: len(free) - len(held)]
        opamp = circuit.crossbar == "opamp"
        # with the gain trim each neuron's capacitor is c_<node>, and <node> its driver's output, the state
        gain = circuit.driver_gain(net)
        node = np.char.add("c_", free) if circuit.gain_trim else free
        stream.write("* neurons\n")
        pole = opamp and circuit.opamp_gbw > 0
        if pole:  # one pole: the op-amp's internal node q_<node> is a port, for its .ic
            neuron = (f"opamp_pole_neuron r={circuit.r_leak:.9g} c={circuit.c_node:.9g} a={circuit.opamp_gain:.9g} "
                      f"vos={circuit.opamp_offset:.9g} tp={circuit.opamp_pole:.9g} "
                      f"gclamp={CLAMP_GAIN * circuit.opamp_gain / circuit.r_leak:.9g}")
            _lines(stream, f"Xn_{{0}} r_{{0}} {{0}} q_{{0}} {neuron}\n", free_neurons)
            _lines(stream, f"Xn_{{0}} r_{{0}} {{0}} opamp_row r={circuit.r_leak:.9g} c={circuit.c_node:.9g}\n", held)
        elif opamp:
            neuron = (f"opamp_neuron r={circuit.r_leak:.9g} c={circuit.c_node:.9g} a={circuit.opamp_gain:.9g} "
                      f"vos={circuit.opamp_offset:.9g}")
            _lines(stream, f"Xn_{{0}} r_{{0}} {{0}} {neuron}\n", free_neurons)
            _lines(stream, f"Xn_{{0}} r_{{0}} {{0}} opamp_row r={circuit.r_leak:.9g} c={circuit.c_node:.9g}\n", held)
        elif circuit.gain_trim:  # the clamp at the driver's swing referred to the node, as stiff in the state's units
            neuron = f"neuron r={circuit.r_leak:.9g} c={circuit.c_node:.9g}"
            _lines(stream, f"Xn_{{0}} {{1}} {neuron} gclamp={{2:.9g}} vmax={{3:.9g}}\n", free, node, gclamp * gain,
                   1.0 / gain)
        else:
            neuron = f"neuron r={circuit.r_leak:.9g} c={circuit.c_node:.9g} gclamp={gclamp:.9g}"
            _lines(stream, f"Xn_{{0}} {{0}} {neuron}\n", free)
        stream.write("* biases (A)\n")
        bias = circuit.bias_current(np.asarray(net.bias, dtype=np.float64))
        row = np.char.add("r_", free) if opamp else node
        if opamp:  # the integrator inverts: the bias is drawn out of the row
            _lines(stream, "Ib_{0} {0} 0 dc {1:.9e}\n", row, bias)
        else:
            _lines(stream, "Ib_{0} 0 {0} dc {1:.9e}\n", row, bias)
        if circuit.crossbar == "ideal":
            stream.write("* synapses: current sources G+ V(in) into out and G- V(in) out of it (S); zero devices left out\n")
            _devices(stream, "Gp_{0}_{1} 0 {0} {1} 0 {2:.9e}\n", rows, cols, gp)
            _devices(stream, "Gm_{0}_{1} {0} 0 {1} 0 {2:.9e}\n", rows, cols, gm)
        else:
            stream.write("* column drivers: each presynaptic voltage buffered (p_) and inverted (n_)\n")
            inverted = np.unique(cols[(gp if opamp else gm) > 0])
            buffered = np.unique(cols[(gm if opamp else gp) > 0])
            if circuit.gain_trim:  # each node's driver of gain 1 + lambda is its state and its plain column
                _lines(stream, "Edrv_{0} {0} 0 {1} 0 {2:.9g}\n", free, node, gain)
            elif not opamp:  # a passive node drives its columns through a buffer (an op-amp output is a source)
                buffered_free = buffered[~np.isin(buffered, names[:n_in])]
                _lines(stream, "Ebuf_{0} p_{0} 0 {0} 0 1\n", buffered_free)
            _lines(stream, "Einv_{0} n_{0} 0 {0} 0 -1\n", inverted)
            is_input = np.isin(cols, names[:n_in])
            plus = np.where(is_input | opamp | circuit.gain_trim, cols, np.char.add("p_", cols))
            minus = np.char.add("n_", cols)
            rowname = np.char.add("r_" if opamp else "c_", rows) if opamp or circuit.gain_trim else rows
            if circuit.r_line > 0:
                _wired_arrays(stream, circuit, net, names)
            # the op-amp's integrator inverts, so its G+ devices meet the inverted column and G- the plain one
            if opamp or circuit.r_line == 0:
                stream.write("* crossbar devices between column and row: R = 1 / G (ohm); zero devices left out\n")
            if opamp:
                _crossbar_devices(stream, circuit, "p", rowname, cols, gp, minus)
                _crossbar_devices(stream, circuit, "m", rowname, cols, gm, plus)
            elif circuit.r_line == 0:
                _crossbar_devices(stream, circuit, "p", rowname, cols, gp, plus)
                _crossbar_devices(stream, circuit, "m", rowname, cols, gm, minus)
        if beta:
            outputs = names[net.output_slice.start + n_in :]
            at = node[net.output_slice]  # the output's capacitor node (its own node but with the gain trim)
            out_gain = gain[net.output_slice]
            targets = np.asarray(target, dtype=np.float64)
            if nudge == "clamped":
                stream.write("* clamp: outputs held at the target (V)\n")
                _lines(stream, "Xhold_{0} {1} hold target={2:.9g}\n", outputs, at, targets / out_gain)
            else:
                g = circuit.nudge_conductance(beta)
                stream.write("* nudge: (beta / R) (V_target - V) into each output (S, V)\n")
                if opamp:  # a transconductor into the row, inverted as the integrator inverts
                    a, b = ("{0}", "t_{0}") if g > 0 else ("t_{0}", "{0}")
                    _lines(stream, f"Vt_{{0}} t_{{0}} 0 dc {{1:.9g}}\nGnudge_{{0}} 0 r_{{0}} {a} {b} {abs(g):.9e}\n",
                           outputs, targets)
                else:  # beta < 0 is a transconductor pushing away from the target (repel), not a negative resistor
                    _lines(stream, f"Xnudge_{{0}} {{1}} {'nudge' if g > 0 else 'repel'} g={{2:.9e}} target={{3:.9g}}\n",
                           outputs, at, abs(g) * out_gain, targets / out_gain)
        stream.write("* initial node voltages" + ("\n.ic" if analysis.kind == "tran" else
                                                    " (Newton's starting point for the operating point)\n.nodeset"))
        _lines(stream, " v({0})={1:.9g}", node, start / gain)
        if opamp:  # each row at its virtual ground V_os - V / A
            _lines(stream, " v(r_{0})={1:.9g}", free, circuit.opamp_offset - start / circuit.opamp_gain)
        if pole:  # each op-amp's internal node at its output
            _lines(stream, " v(q_{0})={1:.9g}", free_neurons, start[: len(free_neurons)])
        if analysis.kind == "op":
            stream.write("\n.op\n")
        else:
            # sinh devices behind op-amps: ngspice's default reltol (1e-3) ends 17 of 50 digits examples at V0 = 0.25 V
            # with "timestep too small"; 1e-4 runs them, within 0.001 mV of the ODE (docs/spice.md)
            reltol = " reltol=1e-4" if circuit.nonlinear else ""
            stream.write(f"\n.options method=gear{reltol}\n.tran {t_step * tau:.9g} {t_stop * tau:.9g} 0 "
                         f"{max_step * tau:.9g} uic\n")
        if not control:
            stream.write(".end\n")
            return
        stream.write(".control\nset wr_singlescale\nset wr_vecnames\nrun\nwrdata " + data_file)
        _lines(stream, " v({0})", free)
        stream.write("\nrusage tranpoints\nrusage time\nquit\n.endc\n.end\n")


#: The header line that says which crossbar the netlist is (:data:`~neurosim.circuit.CROSSBARS`).
CROSSBAR_NOTES = {
    "ideal": "ideal, each device a current source G V(in) into its row whatever the row's voltage",
    "passive": "passive, each device a conductance from its column (buffered V or inverted -V) to the neuron's node",
    "opamp": ("op-amp neurons (gain {0.opamp_gain:.6g}, offset {0.opamp_offset:.6g} V), devices into each "
              "row r_<node>, the integrator's virtual ground"),
}


def _wired_arrays(out: TextIO, circuit: Circuit, net: Network, names: np.ndarray) -> None:
    """The passive crossbar with line resistance (:mod:`neurosim.lines`): per array a and plane (p: G+ devices
    on the buffered columns, m: G- on the inverted ones), row wires ``a<a><plane>r_<r>_<c>`` from each neuron's node
    and column wires ``a<a><plane>c_<r>_<c>`` from each driver, ``r_line`` ohms per cell, and each device between
    the two wires at its cell."""
    out.write(f"* crossbar arrays with line resistance {circuit.r_line:.6g} ohm per cell: row wires from the neuron, "
              "column wires from the driver, devices R = 1 / G between them at each cell\n")
    n_in = net.n_inputs
    for k, array in enumerate(arrays(circuit, net)):
        rows = names[array["rows"] + n_in]
        cols = names[array["cols"]]
        is_input = np.isin(cols, names[:n_in])
        for plane, g, drivers in (("p", array["g_plus"], np.where(is_input, cols, np.char.add("p_", cols))),
                                  ("m", array["g_minus"], np.char.add("n_", cols))):
            if not np.any(g > 0):
                continue
            n_r, n_c = g.shape
            r_idx, c_idx = np.meshgrid(np.arange(n_r), np.arange(n_c), indexing="ij")
            cell = np.char.add(np.char.add(r_idx.astype(str), "_"), c_idx.astype(str))
            row_wire = np.char.add(f"a{k}{plane}r_", cell)
            col_wire = np.char.add(f"a{k}{plane}c_", cell)
            value = f"{circuit.r_line:.9e}"
            _lines(out, f"Rw_{{1}} {{0}} {{1}} {value}\n", rows, row_wire[:, 0])  # node to the first cell
            _lines(out, f"Rw_{{1}} {{0}} {{1}} {value}\n", row_wire[:, :-1].ravel(), row_wire[:, 1:].ravel())
            used = np.any(g > 0, axis=0)  # a column without a device in this plane has no wire (nor driver)
            _lines(out, f"Rw_{{1}} {{0}} {{1}} {value}\n", drivers[used], col_wire[0, used])  # driver to cell 0
            _lines(out, f"Rw_{{1}} {{0}} {{1}} {value}\n", col_wire[:-1, used].ravel(), col_wire[1:, used].ravel())
            has = g > 0
            _lines(out, "Rd_{0} {0} {1} {2:.9e}\n", row_wire[has], col_wire[has], 1.0 / g[has])


def _crossbar_devices(out: TextIO, circuit: Circuit, side: str, rows, cols, g, columns) -> None:
    """The devices of one side (p: G+, m: G-) of every pair between its row and its column line ``columns``: a
    resistor 1 / G (ohmic), or with a sinh I-V a behavioural current source from the column into the row,
    I = G V_read sinh(dV / V_0) / sinh(V_read / V_0) (:meth:`Circuit.device_current`)."""
    keep = g > 0
    if circuit.nonlinear:
        v0 = circuit.sinh_v0
        scale = g * (circuit.v_read / np.sinh(circuit.v_read / v0))
        # the argument bounded at +-40 (|dV| <= 40 V0, far beyond the rails): Newton's trial points during a step
        # would otherwise overflow ngspice's sinh ("out of range for sinh") and end the run
        _devices(out, f"B{side}_{{0}}_{{1}} {{3}} {{0}} i={{2:.9e}}*sinh(max(min((v({{3}})-v({{0}}))/{v0:.9g},40),-40))\n",
                 rows, cols, scale, keep, columns)
    else:
        _devices(out, f"R{side}_{{0}}_{{1}} {{0}} {{3}} {{2:.9e}}\n", rows, cols, 1.0 / np.where(keep, g, 1), keep, columns)


def _devices(out: TextIO, template: str, rows, cols, values, keep=None, other=None) -> None:
    """One element line per device of non-zero conductance: ``template`` formatted with row, column, value and
    (if given) the ``other`` node the device meets; ``keep`` (default: values > 0) selects the devices."""
    keep = values > 0 if keep is None else keep
    columns = [rows[keep], cols[keep], values[keep]] + ([] if other is None else [other[keep]])
    _lines(out, template, *columns)


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
