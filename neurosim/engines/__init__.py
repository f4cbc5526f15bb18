"""Engines that bring a network to equilibrium; interchangeable behind :class:`~neurosim.engines.base.Engine`."""

from .base import Engine, EngineError, Phase, Relaxation
from .euler import Euler
from .fixedpoint import FixedPoint
from .ode import ODE
from .spice import Spice

#: The engine registry: name -> class. Every list of engine names (the configuration's, the command line's) and
#: every construction from a configuration (:func:`engine_of`) comes from here; a new engine is its own module
#: and one entry here.
ENGINES = {engine.name: engine for engine in (Euler, FixedPoint, ODE, Spice)}


def check_setting(field: str, value) -> None:
    """Check one configuration field of the engines alone (without the others): each engine that takes ``field``
    (its ``config_fields``) is built with that value and its defaults otherwise, so the engine's own check is the
    only one. Raises :class:`ValueError` with the engine's message less its leading ``name=value:``."""
    for engine in ENGINES.values():
        param = engine.config_fields.get(field)
        if param is None or param == "circuit":
            continue
        try:
            engine(**{param: value})
        except ValueError as err:
            message = str(err)
            raise ValueError(message.split(": ", 1)[1] if message.startswith(f"{param}=") else message) from None


def engine_of(config) -> Engine:
    """The engine a training configuration names (``config.engine``), with its settings (:func:`from_config`)."""
    return ENGINES[config.engine].from_config(config)


__all__ = ["ENGINES", "ODE", "Engine", "EngineError", "Euler", "FixedPoint", "Phase", "Relaxation", "Spice",
           "check_setting", "engine_of"]
