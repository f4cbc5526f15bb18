"""Settings groups: the fields of a frozen dataclass that a user configures, declared where the class is.

A class whose settings a configuration nests (each engine, :class:`~neurosim.circuit.Circuit`) marks those fields
with :func:`setting`, which gives each its default and its command-line help in one place; its other fields (a
coupling layout, a worker count) are left to code. The class's own ``__post_init__`` is the one check of each
value. :func:`build` makes an instance from a table of settings (a TOML table, a stored run's dict) with strict
types (a string is not a number, 1.0 is not an integer, no inf or NaN; pydantic checks them) and reports every
bad field, in one line; :func:`values_of` is the inverse, the table an instance stores.
"""

from __future__ import annotations

import dataclasses
import functools
import typing

from pydantic import ConfigDict, Field, ValidationError, create_model

from .errors import validation_problems


def setting(default, help: str, option: str | None = None):
    """A dataclass field that configurations set: its ``default``, its ``help`` (units included) and, when the
    command line calls it otherwise than ``--<field name>``, its ``option`` (e.g. ``--ode-method``; also the
    name the setting had at the top level of configurations written before settings were nested)."""
    return dataclasses.field(default=default, metadata={"help": help, "option": option})


def settings_fields(cls) -> tuple[dataclasses.Field, ...]:
    """The fields of ``cls`` made with :func:`setting`, in declaration order."""
    return tuple(f for f in dataclasses.fields(cls) if "help" in f.metadata)


def option_name(f: dataclasses.Field) -> str:
    """The command-line option of a setting, e.g. ``--n-free``."""
    return f.metadata["option"] or "--" + f.name.replace("_", "-")


def flat_name(f: dataclasses.Field) -> str:
    """The name of a setting at the top level of a configuration (its option's name, ``ode_method``)."""
    return option_name(f).removeprefix("--").replace("-", "_")


def values_of(obj) -> dict:
    """The settings of an instance, field name -> value: what a configuration stores of it."""
    return {f.name: getattr(obj, f.name) for f in settings_fields(type(obj))}


#: The largest magnitude of an integer setting (a count of steps, epochs, examples): 2^31 - 1. A run file stores
#: settings as 64-bit integers; a larger value would fail there, after the work, instead of here.
MAX_COUNT = 2**31 - 1

#: An integer setting, bounded by :data:`MAX_COUNT`.
Count = typing.Annotated[int, Field(ge=-MAX_COUNT, le=MAX_COUNT)]


@functools.cache
def _model(cls):
    hints = typing.get_type_hints(cls)
    return create_model(f"{cls.__name__}Settings", __config__=ConfigDict(strict=True, extra="forbid",
                                                                         allow_inf_nan=False),
                        **{f.name: (Count if hints[f.name] is int else hints[f.name], f.default)
                           for f in settings_fields(cls)})


def build(cls, values: dict, **fixed):
    """An instance of ``cls`` with the settings ``values`` (field name -> value; the rest at their defaults) and
    the non-setting fields ``fixed``. Raises :class:`ValueError` listing every bad setting, separated by "; ", as
    ``name=value: why``: wrong types and unknown names first (pydantic), then each value on its own through the
    class's check, then the values together."""
    try:
        checked = dict(_model(cls)(**values))
    except ValidationError as err:
        raise ValueError("; ".join(validation_problems(err))) from None
    given = {k: checked[k] for k in values}
    problems = []
    for name, value in given.items():
        try:
            cls(**{name: value})
        except ValueError as err:
            problems.append(str(err))
    if problems:
        raise ValueError("; ".join(problems))
    return cls(**given, **fixed)


def setting_text(value) -> str:
    """A setting's value as a reader wants it in a title or a legend: a list or tuple of one value as that value,
    a longer one joined by commas (``lr=0.05``, ``lr=0.1,0.05``, not ``lr=(0.05,)``)."""
    if isinstance(value, (list, tuple)):
        return ",".join(setting_text(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)
