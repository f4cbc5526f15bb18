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
    a header ``time v(h1_0) ...`` and one row per time point. :class:`DataFileError` names the file and the problem
    (no such header, rows of another width, no rows, times not increasing)."""
    path = Path(path)
    try:
        with open(path) as f:
            header = f.readline().split()
            if not header or header[0] != "time" or not all(h.startswith("v(") and h.endswith(")") for h in header[1:]):
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
    if np.any(np.diff(rows[:, 0]) < 0):
        raise DataFileError(f"{path}: times decrease (two runs appended to one file?)")
    return NodeWaveforms(tuple(h[2:-1] for h in header[1:]), rows[:, 0], rows[:, 1:])


def plot_waveforms(data: NodeWaveforms, out: str | Path, title: str = "", label: int | None = None) -> Path:
    """A PNG of the output nodes (one line each, the target class bold) above the hidden nodes (thin grey), in
    volts against microseconds."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7.5, 6.0), sharex=True)
    t = 1e6 * data.t
    outputs = [k for k, n in enumerate(data.names) if n.startswith("y_")]
    for k in outputs:
        own = label is not None and data.names[k] == f"y_{label}"
        top.plot(t, data.v[:, k], lw=2.2 if own else 1.0, label=data.names[k] + (" (label)" if own else ""))
    top.set_ylabel("output node voltage (V)")
    top.legend(ncol=5, fontsize=7, loc="upper left", frameon=False)
    hidden = [k for k in range(len(data.names)) if k not in outputs]
    bottom.plot(t, data.v[:, hidden], color="0.45", lw=0.5, alpha=0.6)
    bottom.set_ylabel(f"hidden node voltage (V), {len(hidden)} nodes")
    bottom.set_xlabel("time (µs)")
    for ax in (top, bottom):
        ax.set_ylim(-0.05, 1.1)
        ax.grid(alpha=0.3)
    if title:
        top.set_title(title, fontsize=9)
    fig.tight_layout()
    path = save_figure(fig, out, dpi=120)
    plt.close(fig)
    return path
