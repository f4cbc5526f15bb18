"""Read back what ngspice wrote for a neurosim netlist (``neurosim waveform``): the node voltages over time, a
figure of them, and the last row set beside neurosim's own equilibrium and predicted class."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .atomic import save_figure  # noqa: E402
from .errors import NeurosimError  # noqa: E402
from .netlist import node_names  # noqa: E402


class DataFileError(NeurosimError, ValueError):
    """A file that is not an ngspice ``wrdata`` output of a neurosim netlist; the message says what is wrong."""


@dataclass(frozen=True)
class NodeWaveforms:
    """An ngspice data file: node names (``h1_0``, ``y_3``, ...), times ``t`` (T,) seconds and voltages ``v``
    (T, n) volts."""

    names: tuple[str, ...]
    t: np.ndarray
    v: np.ndarray

    def layer(self, prefix: str) -> np.ndarray:
        """The columns of the nodes whose names start with ``prefix`` (``y_`` the outputs, ``h1_`` hidden layer 1)."""
        return self.v[:, [k for k, n in enumerate(self.names) if n.startswith(prefix)]]


def read_data(path: str | Path) -> NodeWaveforms:
    """Read a data file written by a neurosim netlist's ``wrdata`` (``set wr_singlescale``, ``set wr_vecnames``):
    a header ``time v(h1_0) ...`` and one row per time point, or an operating point's one row (its header begins
    with the input ngspice takes for its scale; read as time 0). :class:`DataFileError` names the file and the problem
    (no such header, rows of another width, no rows, NaN or infinite values, times not increasing)."""
    path = Path(path)
    try:
        with open(path) as f:
            header = f.readline().split()
            operating_point = bool(header) and header[0].startswith("x_")  # ngspice's scale of an .op: an input
            if not header or not (header[0] == "time" or operating_point) or \
                    not all(h.startswith("v(") and h.endswith(")") for h in header[1:]):
                raise DataFileError(f"{path}: the first line should be 'time v(node) ...' (ngspice's wrdata with "
                                    f"wr_vecnames), not {' '.join(header[:4])!r}")
            rows = np.loadtxt(f, ndmin=2)
    except (UnicodeDecodeError, ValueError) as err:
        if isinstance(err, DataFileError):
            raise
        raise DataFileError(f"{path}: not an ngspice data file ({err})") from None
    if rows.size == 0 or rows.shape[1] != len(header):
        raise DataFileError(f"{path}: {rows.shape[0]} rows of {rows.shape[1] if rows.size else 0} columns under a "
                            f"header of {len(header)}")
    if not np.all(np.isfinite(rows)):
        row, column = np.argwhere(~np.isfinite(rows))[0]
        raise DataFileError(f"{path}: {rows[row, column]} in row {row + 1}, column {header[column]} (a simulation "
                            "that failed; rerun ngspice on the netlist)")
    if operating_point:
        if len(rows) != 1:
            raise DataFileError(f"{path}: an operating point's data file has one row, not {len(rows)}")
        rows = np.concatenate([[[0.0]], rows[:, 1:]], axis=1)  # its time: 0
    if np.any(np.diff(rows[:, 0]) < 0):
        raise DataFileError(f"{path}: times decrease (two runs appended to one file?)")
    return NodeWaveforms(tuple(h[2:-1] for h in header[1:]), rows[:, 0], rows[:, 1:])


def plot_waveforms(data: NodeWaveforms, out: str | Path, title: str = "", label: int | None = None,
                   reference: np.ndarray | None = None) -> Path:
    """A PNG of the output nodes (one line each, the target class bold) above the hidden nodes (thin grey), in
    volts against microseconds on a logarithmic axis (the settling, in the first few time constants, takes most
    of the width instead of 2 %). ``reference``: neurosim's equilibrium of every node (volts), drawn as a mark at
    the end of each trace."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7.5, 6.0), sharex=True)
    t = 1e6 * data.t
    mark = "o" if len(t) == 1 else None  # an operating point: one point per node
    outputs = [k for k, n in enumerate(data.names) if n.startswith("y_")]
    for k in outputs:
        own = label is not None and data.names[k] == f"y_{label}"
        top.plot(t, data.v[:, k], lw=2.2 if own else 1.0, marker=mark, label=data.names[k] + (" (label)" if own else ""))
    top.set_ylabel("output node voltage (V)")
    top.legend(ncol=5, fontsize=7, loc="upper left", frameon=False)
    hidden = [k for k in range(len(data.names)) if k not in outputs]
    bottom.plot(t, data.v[:, hidden], color="0.45", lw=0.5, alpha=0.6, marker=mark, ms=2)
    bottom.set_ylabel(f"hidden node voltage (V), {len(hidden)} nodes")
    bottom.set_xlabel("time (µs)" + (", log scale" if len(t) > 1 and t[-1] > 0 else ""))
    if reference is not None:
        end = np.full(len(outputs), t[-1])
        top.scatter(end, reference[outputs], marker="x", color="k", s=30, zorder=3, label="neurosim")
        bottom.scatter(np.full(len(hidden), t[-1]), reference[hidden], marker="x", color="k", s=12, lw=0.6, zorder=3)
        top.legend(ncol=6, fontsize=7, loc="upper left", frameon=False)
    if len(t) > 1 and t[-1] > 0:
        bottom.set_xscale("log")
        bottom.set_xlim(max(t[t > 0].min(), t[-1] * 1e-4), t[-1] * 1.3)
    for ax in (top, bottom):
        ax.set_ylim(-0.05, 1.1)
        ax.grid(alpha=0.3)
    if title:
        top.set_title(title, fontsize=9)
    fig.tight_layout()
    path = save_figure(fig, out, dpi=120)
    plt.close(fig)
    return path


@dataclass(frozen=True)
class Comparison:
    """An ngspice data file's last row beside neurosim's equilibrium of the same example and circuit: the largest
    and mean distance (volts), the node of the largest, the classes each predicts and the example's label."""

    max_dv: float
    worst_node: str
    mean_dv: float
    ngspice_class: int
    neurosim_class: int
    label: int
    neurosim_state: np.ndarray | None = None  # (nodes,) volts: neurosim's equilibrium, for the figure

    def lines(self) -> list[str]:
        return [f"last row against neurosim's equilibrium: max |dV| = {1e3 * self.max_dv:.3f} mV (node "
                f"{self.worst_node}), mean {1e3 * self.mean_dv:.3f} mV",
                f"predicted class: ngspice {self.ngspice_class}, neurosim {self.neurosim_class}, label {self.label}"]


def compare_with_run(data: NodeWaveforms, run, example: int, **where) -> Comparison:
    """Compare ``data`` (what ngspice wrote for ``run``'s example ``example``, exported with ``where``: phase,
    split, data_dir, circuit, as :func:`~neurosim.export.example_phase` takes them) with the ODE engine's
    equilibrium of the same phase and circuit, settled to 1 uV. DataFileError if the file holds other nodes."""
    from .export import example_phase

    case = example_phase(run, example, **where)
    names = list(node_names(case.net.sizes)[case.net.n_inputs :])
    if list(data.names) != names:
        raise DataFileError(f"the data file holds nodes {', '.join(data.names[:3])}, ...; the run's network has "
                            f"{len(names)} free nodes {', '.join(names[:3])}, ...")
    ours = case.equilibrium()
    last = np.clip(data.v[-1], 0.0, 1.0)
    dv = np.abs(last - ours)
    out = case.net.output_slice
    return Comparison(float(dv.max()), names[int(np.argmax(dv))], float(dv.mean()), int(np.argmax(last[out])),
                      int(np.argmax(ours[out])), case.label, ours)
