"""Hardware non-idealities: explicit, composable device models, all off by default.

Three modules with one job each: :mod:`~neurosim.hardware.settings`, the device settings as validated dataclasses
with presets (and where their numbers come from, :data:`PROVENANCE`) and TOML (0 bits and 0 noise mean ideal);
:mod:`~neurosim.hardware.response`, how a device answers a programming pulse (constant, linear, soft-bounds,
exponential and power steps, up-down asymmetry, device-to-device and cycle-to-cycle spreads);
:mod:`~neurosim.hardware.devices`, what they do to a network (the :class:`WeightStore` and the :class:`Devices` of
one chip, and the :class:`RuleDevices` of a rule's own parameters).
"""

from .devices import Devices, RuleDevices, WeightStore, pair_names, parameter_names
from .settings import (PRESETS, PROVENANCE, Hardware, HardwareError, Noise, Pair, Readout, Storage, Variation,
                       load_hardware)

__all__ = ["PRESETS", "PROVENANCE", "Devices", "Hardware", "HardwareError", "Noise", "Pair", "Readout", "RuleDevices",
           "Storage", "Variation", "WeightStore", "load_hardware", "pair_names", "parameter_names"]
