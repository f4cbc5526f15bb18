"""The one base of neurosim's errors.

Every error neurosim raises for bad input or a run that cannot go on (a configuration value, a data file, a run
file, an engine that failed, a training that diverged) is a :class:`NeurosimError`, and also the built-in type a
Python caller would expect (``ValueError`` for a bad value, ``RuntimeError`` for a failure). The command line
catches :class:`NeurosimError` alone and prints its message as one line; anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations


class NeurosimError(Exception):
    """Bad input or a run that cannot go on; the message names the value or the place, in one line."""


def validation_problems(err) -> list[str]:
    """pydantic's report (a ``ValidationError``) as one line per problem, ``field=value: message``: the field's
    dotted path and the value it was given (left out for a group of settings, whose message names the field; a
    check of the whole object has no field and gives its message alone)."""
    lines = []
    for e in err.errors():
        message = e["msg"].removeprefix("Value error, ")
        where = ".".join(str(p) for p in e["loc"])
        value = repr(e.get("input"))
        if not where:
            lines.append(message)
        elif isinstance(e.get("input"), dict):  # a group's message: a line per bad setting
            lines.extend(f"{where}: {line}" for line in message.splitlines())
        else:
            lines.append(f"{where}={value if len(value) <= 80 else value[:77] + '...'}: {message}")
    return lines
