"""Hardware non-idealities: explicit, composable device models, all off by default.

Two modules with one job each: :mod:`~neurosim.hardware.settings`, the device settings as validated dataclasses
with presets and TOML (0 bits and 0 noise mean ideal); :mod:`~neurosim.hardware.devices`, what they do to a
network (the :class:`WeightStore` and the :class:`Devices` of one chip).
"""

from .devices import Devices, WeightStore, parameter_names
from .settings import PRESETS, Hardware, HardwareError, Noise, Readout, Storage, Variation, load_hardware

__all__ = ["PRESETS", "Devices", "Hardware", "HardwareError", "Noise", "Readout", "Storage", "Variation",
           "WeightStore", "load_hardware", "parameter_names"]
