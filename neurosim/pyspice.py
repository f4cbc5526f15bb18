"""Run a neurosim netlist through PySpice, for users who script ngspice from Python (an optional extra:
``pip install neurosim[pyspice]``, and ngspice's shared library, Debian's ``libngspice0-dev``).

PySpice's ``NgSpiceShared.load_circuit`` takes a netlist without a ``.control`` block: write one with
``write_netlist(..., control=False)`` or ``neurosim export --no-control``. :func:`simulate` loads it, runs its
transient in the shared library and returns the same :class:`~neurosim.engines.spice.Waveform` as
:func:`~neurosim.engines.spice.run_netlist` reads from ``ngspice -b`` (tests/test_crossbar.py: equal to 1e-6 V).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .engines.base import EngineError
from .engines.spice import Waveform


def simulate(netlist: str | Path) -> Waveform:
    """Load ``netlist`` (a path, or the text of one written with ``control=False``) into PySpice's shared ngspice,
    run it, and return the time and every free node's voltage (``v(x_*)`` inputs excluded) in the netlist's order
    of its ``.ic`` line; ``seconds``: NaN (the shared library reports no analysis time), ``points``: time rows."""
    try:
        from PySpice.Spice.NgSpice.Shared import NgSpiceShared
    except ImportError as err:
        raise EngineError("PySpice is not installed: pip install neurosim[pyspice] (and Debian's libngspice0-dev "
                          f"for libngspice.so): {err}") from None
    text = Path(netlist).read_text() if isinstance(netlist, Path) or "\n" not in str(netlist) else str(netlist)
    if re.search(r"^\.control", text, re.M | re.I):
        raise EngineError("the netlist has a .control block, which PySpice's load_circuit rejects: write it with "
                          "control=False (neurosim export --no-control)")
    ic = re.search(r"^\.ic(.*)$", text, re.M)
    nodes = re.findall(r"v\(([^)\s]+)\)=", ic.group(1)) if ic else []
    # op-amp rows and a one-pole op-amp's internal nodes are parts of the neuron, not its state
    nodes = [n for n in nodes if not n.startswith(("r_", "q_"))]
    ngspice = NgSpiceShared.new_instance()
    ngspice.load_circuit(text)
    ngspice.run()
    plot = ngspice.plot(None, ngspice.last_plot)
    try:
        t = np.asarray(plot["time"].to_waveform(), dtype=np.float64)
        v = np.stack([np.asarray(plot[n].to_waveform(), dtype=np.float64) for n in nodes], axis=1)
    except KeyError as err:
        raise EngineError(f"PySpice's simulation has no vector {err}: ngspice did not run the transient") from None
    finally:
        ngspice.destroy()  # the plots, and the circuit, so that the next load starts clean
        ngspice.remove_circuit()
    return Waveform(t, v, float("nan"), len(t))
