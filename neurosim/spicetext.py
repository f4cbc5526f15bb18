"""SPICE text in bulk: element lines formatted from columns of node names and values, in vectorised chunks, for
the netlist writer (:mod:`neurosim.netlist`) and each crossbar kind's part of it (:mod:`neurosim.crossbars`)."""

from __future__ import annotations

from typing import TextIO

#: Clamp conductance in units of 1 / R: a drive 1 V past a rail moves a node 1 / CLAMP_GAIN volts past it.
CLAMP_GAIN = 1e5

_CHUNK = 50_000


def lines(out: TextIO, template: str, *columns) -> None:
    """Write one line per row of ``columns`` through ``template``, in chunks."""
    n = len(columns[0])
    for lo in range(0, n, _CHUNK):
        rows = zip(*(c[lo : lo + _CHUNK] for c in columns))
        out.write("".join(template.format(*row) for row in rows))


def devices(out: TextIO, template: str, rows, cols, values, keep=None, other=None) -> None:
    """One element line per device of non-zero conductance: ``template`` formatted with row, column, value and
    (if given) the ``other`` node the device meets; ``keep`` (default: values > 0) selects the devices."""
    keep = values > 0 if keep is None else keep
    columns = [rows[keep], cols[keep], values[keep]] + ([] if other is None else [other[keep]])
    lines(out, template, *columns)
