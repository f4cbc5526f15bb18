"""neurosim: a simulator of analog neuromorphic hardware that learns by equilibrium propagation."""

__version__ = "0.1.0"
