"""Engines that bring a network to equilibrium; interchangeable behind :class:`~neurosim.engines.base.Engine`."""

from .base import Engine, EngineError, Phase, Relaxation
from .euler import Euler
from .fixedpoint import FixedPoint
from .ode import ODE
from .spice import Spice

__all__ = ["ODE", "Engine", "EngineError", "Euler", "FixedPoint", "Phase", "Relaxation", "Spice"]
