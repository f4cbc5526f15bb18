"""neurosim: a simulator of analog neuromorphic hardware that learns by equilibrium propagation.

The main objects, importable from the package (docs/api.md walks through them)::

    import neurosim
    config = neurosim.make_config(dataset="digits", sizes=(64, 16, 10), epochs=2)   # or load_config("x.toml")
    run = neurosim.train(config, out="digits.h5")                                 # or load_run("digits.h5")
    neurosim.export_netlist(run, 0, "ex0.cir")                                    # a SPICE netlist of example 0

Each name is imported when first used, so ``import neurosim`` stays cheap.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: public name -> the module that defines it
_API = {
    # configuration and training
    "TrainConfig": "config", "make_config": "config", "load_config": "config", "ConfigError": "config",
    "train": "training", "evaluate": "training", "TrainingDiverged": "training",
    "Run": "store", "load_run": "store", "save_run": "store",
    "new_run": "build", "network_and_controller": "build",
    "load_dataset": "data",
    # networks and engines
    "Network": "network", "from_graph": "network",
    "Phase": "engines", "Euler": "engines", "FixedPoint": "engines", "ODE": "engines", "Spice": "engines",
    "ENGINES": "engines",
    # hardware and circuit
    "Hardware": "hardware", "load_hardware": "hardware", "PRESETS": "hardware", "evaluate_on_chips": "chips",
    "Circuit": "circuit", "CROSSBARS": "crossbars", "IdealCrossbar": "crossbars", "PassiveCrossbar": "crossbars",
    "OpAmpCrossbar": "crossbars",
    # SPICE
    "export_netlist": "export", "write_netlist": "netlist", "run_netlist": "engines.spice", "Waveform": "engines.spice",
    "read_data": "waveform", "NodeWaveforms": "waveform",
    "NeurosimError": "errors",
}

__all__ = sorted(_API)


def __getattr__(name: str):
    if name in _API:
        value = getattr(importlib.import_module(f".{_API[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'neurosim' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
