"""docs/api.md's walkthrough runs as written, and the package's names all resolve."""

import importlib
import re

import numpy as np
from conftest import REPO

import neurosim


#: Where each public name is defined, written out here independently of the package's own lazy table.
HOMES = {
    "TrainConfig": "config", "make_config": "config", "load_config": "config", "ConfigError": "config",
    "train": "training", "evaluate": "training", "TrainingDiverged": "training", "Run": "store",
    "load_run": "store", "save_run": "store", "new_run": "build", "network_and_controller": "build",
    "load_dataset": "data", "Network": "network", "from_graph": "network", "Phase": "phase", "Euler": "engines.euler",
    "FixedPoint": "engines.fixedpoint", "ODE": "engines.ode", "Spice": "engines.spice", "ENGINES": "engines",
    "Hardware": "hardware.settings", "load_hardware": "hardware.settings", "PRESETS": "hardware.settings",
    "evaluate_on_chips": "chips",
    "Circuit": "circuit", "CROSSBARS": "crossbars", "IdealCrossbar": "crossbars.ideal",
    "PassiveCrossbar": "crossbars.passive", "OpAmpCrossbar": "crossbars.opamp", "export_netlist": "export", "write_netlist": "netlist",
    "run_netlist": "engines.spice", "Waveform": "engines.spice", "read_data": "waveform",
    "NodeWaveforms": "waveform", "NeurosimError": "errors",
}


def test_every_public_name_is_the_object_its_module_defines():
    assert sorted(HOMES) == neurosim.__all__
    for name, module in HOMES.items():
        assert getattr(neurosim, name) is getattr(importlib.import_module(f"neurosim.{module}"), name), name


def test_the_api_page_runs(tmp_path, monkeypatch, ngspice):
    code = "\n".join(re.findall(r"```python\n(.*?)```", (REPO / "docs" / "api.md").read_text(), re.S))
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(code, "docs/api.md", "exec"), namespace)
    assert (tmp_path / "api-digits.h5").exists() and (tmp_path / "ex0.data").exists()
    assert len(namespace["run"].history["test_error"]) == 2
    assert np.abs(namespace["wave"].v[-1] - namespace["state"]).max() < 1e-4  # volts
