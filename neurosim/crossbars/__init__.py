"""Crossbar kinds: how the weight store's devices meet the neurons, each a small settings dataclass that owns its
node equation, its extra state, its netlist section and its power accounting (:mod:`neurosim.crossbars.base`
lists what a kind provides).

A configuration names one like an engine: ``circuit = { crossbar = "passive" }`` (its defaults), or a table of its
settings ``circuit = { crossbar = { name = "opamp", gain = 300.0 } }``. Adding a kind is its own module and one
entry in :data:`CROSSBARS`; every list of kinds, every option and every construction comes from here.
"""

from __future__ import annotations

from ..settings import build, flat_name, settings_fields, values_of
from .base import Crossbar, NodeEquation, Sheet
from .ideal import IdealCrossbar
from .opamp import OpAmpCrossbar
from .passive import PassiveCrossbar

#: The crossbar registry: name -> class.
CROSSBARS = {kind.name: kind for kind in (IdealCrossbar, PassiveCrossbar, OpAmpCrossbar)}


def flat_settings(kinds=None) -> dict[str, dict[str, str]]:
    """Every crossbar setting by the name it has at the top of a circuit table and on the command line
    (:func:`~neurosim.settings.flat_name`: ``opamp_gain``, ``r_line``) -> {kind name: field name} of the kinds
    (default: every registered one) that take it."""
    found: dict[str, dict[str, str]] = {}
    for name, kind in (CROSSBARS if kinds is None else kinds).items():
        for f in settings_fields(kind):
            found.setdefault(flat_name(f), {})[name] = f.name
    return found


def crossbar_of(value, flat: dict | None = None) -> Crossbar:
    """The crossbar a configuration names: a registry name (its defaults), a table ``{name = ..., settings}``
    or a crossbar; ``flat``: settings by their top-level names (``opamp_gain``, :func:`flat_settings`) on top of
    the table's. :class:`ValueError` naming an unknown kind, a setting the kind does not take, or a bad value."""
    flat = flat or {}
    if isinstance(value, Crossbar):
        if not flat:
            return value
        value = {"name": value.name, **values_of(value)}
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, dict):
        raise ValueError(f"crossbar={value!r}: a name ({', '.join(CROSSBARS)}) or a table of its settings")
    table = dict(value)
    name = table.pop("name", "ideal")
    if name not in CROSSBARS:
        raise ValueError(f"crossbar={name!r}: choose one of {', '.join(CROSSBARS)}")
    by_flat = flat_settings()
    for key, setting in flat.items():
        if name not in by_flat.get(key, {}):
            takes = " and ".join(by_flat.get(key, {})) or "no"
            raise ValueError(f"{key}={setting!r}: a setting of the {takes} crossbar, not crossbar={name!r}")
        table[by_flat[key][name]] = setting
    return build(CROSSBARS[name], table)


def crossbar_table(crossbar: Crossbar) -> dict:
    """The table a configuration stores of a crossbar: its ``name`` and every setting."""
    return {"name": crossbar.name, **values_of(crossbar)}


__all__ = ["CROSSBARS", "Crossbar", "IdealCrossbar", "NodeEquation", "OpAmpCrossbar", "PassiveCrossbar", "Sheet",
           "crossbar_of", "crossbar_table", "flat_settings"]
