"""Engines that bring a network to equilibrium; interchangeable behind :class:`~neurosim.engines.base.Engine`."""

import dataclasses

from .base import Engine, EngineError, Phase, Relaxation
from .euler import Euler
from .fixedpoint import FixedPoint
from .ode import ODE
from .spice import Spice

#: The engine registry: name -> class. Every list of engine names (the configuration's, the command line's), every
#: engine setting a configuration or the command line knows (the classes' :func:`~neurosim.settings.setting`
#: fields) and every construction from a configuration comes from here; a new engine is its own module and one
#: entry here.
ENGINES = {engine.name: engine for engine in (Euler, FixedPoint, ODE, Spice)}


def takes_circuit(engine_class) -> bool:
    """Whether an engine simulates a circuit (has a ``circuit`` field, which gets the configuration's)."""
    return any(f.name == "circuit" for f in dataclasses.fields(engine_class))


__all__ = ["ENGINES", "ODE", "Engine", "EngineError", "Euler", "FixedPoint", "Phase", "Relaxation", "Spice",
           "takes_circuit"]
