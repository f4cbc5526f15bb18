"""Engines that bring a network to equilibrium; interchangeable behind :class:`~neurosim.engines.base.Engine`."""

from .base import Engine, Phase, Relaxation
from .euler import Euler
from .fixedpoint import FixedPoint

__all__ = ["Engine", "Euler", "FixedPoint", "Phase", "Relaxation"]
