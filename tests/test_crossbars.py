"""Crossbar kinds as objects behind one registry: a kind added by a test is one class and one registry entry, and
the engines, the netlist, the power accounting, the configuration and the run files take it; every spelling of a
crossbar's settings is one configuration; run files written before the kinds had settings of their own load."""

import dataclasses
import json
from typing import ClassVar

import h5py
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import chain, restamp

from neurosim.circuit import Circuit, circuit_with, upgraded_table
from neurosim.config import ConfigError, make_config
from neurosim.coupling import Coupling
from neurosim.crossbars import CROSSBARS, IdealCrossbar, OpAmpCrossbar, PassiveCrossbar
from neurosim.crossbars.base import CircuitEquation, Crossbar
from neurosim.dissipation import power
from neurosim.engines import ODE, Phase
from neurosim.engines.spice import run_netlist
from neurosim.netlist import Analysis, write_netlist
from neurosim.settings import setting
from neurosim.spicetext import lines
from neurosim.store import FORMAT_VERSION, flat_settings, load_run
from neurosim.training import train

TIGHT = dict(rtol=1e-10, atol=1e-12, settle_tol=1e-10)


@dataclasses.dataclass(frozen=True)
class LeakyCrossbar(Crossbar):
    """A toy kind: ideal current-source devices and one more resistor ``r_extra`` (ohms) from each node to ground,
    tau ds/dt = -(1 + R / r_extra) s + sum_j W_ij rho(s_j) + b (+ the nudge)."""

    name: ClassVar[str] = "leaky"
    r_extra: float = setting(2e6, "Extra leak resistance from each node to ground, ohms")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.r_extra > 0:
            raise ValueError(f"r_extra={self.r_extra}: must be > 0 ohms")

    def equation(self, circuit, net, x, layout=None):
        load = np.full(net.n_free, circuit.r_leak / self.r_extra, dtype=net.dtype)
        return CircuitEquation(net, Coupling(net, x, layout), lambda u, s, load: u - (1.0 + load) * s, load)

    def device_power(self, circuit, net, x, v, rows):
        return np.sum(rows**2, axis=1) / self.r_extra

    def notes(self, circuit):
        return f"* crossbar: leaky, ideal devices and {self.r_extra:.6g} ohm more from each node to ground\n"

    def write_synapses(self, out, sheet):
        IdealCrossbar().write_synapses(out, sheet)
        lines(out, f"Rx_{{0}} {{0}} 0 {self.r_extra:.9e}\n", sheet.free)


@pytest.fixture
def leaky(monkeypatch):
    monkeypatch.setitem(CROSSBARS, "leaky", LeakyCrossbar)
    return LeakyCrossbar


def test_a_kind_added_to_the_registry_is_simulated_written_and_configured(tmp_path, ngspice, leaky):
    """R / r_extra = 1/2: 1.5 h = 0.9 - 0.5 y and 1.5 y = 0.6 - 0.5 h, so h = 0.525, y = 0.225 V, by hand; the ODE,
    ngspice on the netlist the kind writes, and the power (the extra leaks' V^2 / r_extra beside the ideal's)."""
    net, x = chain(), np.ones((1, 1))
    circuit = make_config(engine="ode", circuit={"crossbar": {"name": "leaky", "r_extra": 2e6}}).circuit
    assert circuit.crossbar == LeakyCrossbar(r_extra=2e6) and not circuit.ideal
    state = ODE(circuit=circuit, **TIGHT).relax(net, x, np.zeros((1, 2)), Phase()).state[0]
    np.testing.assert_allclose(state, [0.525, 0.225], atol=1e-9)
    write_netlist(tmp_path / "l.cir", net, [1.0], circuit=circuit, analysis=Analysis(t_stop=40), data_file="l.data")
    assert "* crossbar: leaky" in (tmp_path / "l.cir").read_text()
    np.testing.assert_allclose(run_netlist(tmp_path / "l.cir", net.sizes, 40e-6).v[-1], state, atol=1e-7)
    extra = power(circuit, net, [1.0], state[None]) - power(Circuit(), net, [1.0], state[None])
    np.testing.assert_allclose(extra, [np.sum(state**2) / 2e6], rtol=1e-12)
    for spelled in (dict(crossbar="leaky", r_extra=2e6), dict(circuit={"crossbar": "leaky", "r_extra": 2e6})):
        assert make_config(engine="ode", **spelled).circuit == circuit
    with pytest.raises(ConfigError, match="r_extra=-1.0"):
        make_config(engine="ode", crossbar="leaky", r_extra=-1.0)


def test_a_run_on_an_added_kind_is_stored_and_read_back(tmp_path, leaky):
    config = make_config(dataset="digits", n_train=20, n_test=10, sizes=(64, 4, 10), epochs=1, engine="ode",
                         crossbar="leaky", r_extra=5e5)
    train(config, out=tmp_path / "r.h5", progress=False)
    run = load_run(tmp_path / "r.h5")
    assert run.config["circuit"]["crossbar"] == {"name": "leaky", "r_extra": 5e5}
    assert make_config(**run.config).circuit.crossbar == LeakyCrossbar(r_extra=5e5)
    with h5py.File(tmp_path / "r.h5") as f:
        assert f["config"].attrs["circuit.crossbar.r_extra"] == 5e5


def test_every_spelling_of_a_crossbar_is_one_configuration():
    """The flat names (command line, earlier configurations), a name beside flat settings in the circuit table, and
    the kind's own table."""
    expected = Circuit(crossbar=OpAmpCrossbar(gain=300.0, gbw=1e6))
    spellings = (dict(crossbar="opamp", opamp_gain=300.0, opamp_gbw=1e6),
                 dict(circuit={"crossbar": "opamp", "opamp_gain": 300.0, "opamp_gbw": 1e6}),
                 dict(circuit={"crossbar": {"name": "opamp", "gain": 300.0, "gbw": 1e6}}),
                 dict(circuit={"crossbar": {"name": "opamp", "gain": 1.0}}, opamp_gain=300.0, opamp_gbw=1e6))
    for values in spellings:
        config = make_config(engine="ode", **values)
        assert config.circuit == expected, values
        stored = config.to_dict()["circuit"]["crossbar"]
        assert stored == {"name": "opamp", "sinh_v0": 0.0, "v_read": 1.0, "gain": 300.0, "offset": 0.0, "gbw": 1e6}
        assert make_config(**config.to_dict()).circuit == expected
    with pytest.raises(ConfigError, match="crossbar='memristive': choose one of ideal, passive, opamp"):
        make_config(engine="ode", circuit={"crossbar": {"name": "memristive"}})
    with pytest.raises(ConfigError, match="gian"):
        make_config(engine="ode", circuit={"crossbar": {"name": "opamp", "gian": 3.0}})
    with pytest.raises(ConfigError, match="crossbar=3"):
        make_config(engine="ode", circuit={"crossbar": 3})


def test_gain_trim_wires_and_sinh_devices_are_configurable():
    """Before the kinds had their own settings a configuration could not set them: each was checked alone against
    the default ideal crossbar ("gain_trim with crossbar='ideal'")."""
    for values, crossbar in ((dict(gain_trim=True), PassiveCrossbar(gain_trim=True)),
                             (dict(r_line=2.0), PassiveCrossbar(r_line=2.0)),
                             (dict(sinh_v0=0.3, v_read=0.5), PassiveCrossbar(sinh_v0=0.3, v_read=0.5))):
        assert make_config(engine="ode", crossbar="passive", **values).circuit.crossbar == crossbar
    assert make_config(engine="ode", crossbar="opamp", opamp_gbw=1e6).circuit.crossbar == OpAmpCrossbar(gbw=1e6)


def test_changing_the_kind_starts_from_its_defaults():
    opamp = Circuit(r_leak=2e6, crossbar=OpAmpCrossbar(gain=300.0))
    assert circuit_with(opamp, {"crossbar": "passive", "r_line": 1.0}) == Circuit(
        r_leak=2e6, crossbar=PassiveCrossbar(r_line=1.0))
    assert circuit_with(opamp, {"opamp_offset": 0.01}).crossbar == OpAmpCrossbar(gain=300.0, offset=0.01)
    with pytest.raises(ValueError, match="r_line=1.0: a setting of the passive crossbar, not crossbar='opamp'"):
        circuit_with(opamp, {"r_line": 1.0})


#: A format-3 file's circuit table: the kind by name, every kind's settings beside it.
OLD_PASSIVE = {"r_leak": 1e6, "c_node": 1e-12, "g_min": 0.0, "g_max": 1e-5, "crossbar": "passive",
               "opamp_gain": 300.0, "opamp_offset": 0.0, "opamp_gbw": 0.0, "r_line": 0.0, "gain_trim": True,
               "sinh_v0": 0.0, "v_read": 1.0}


def test_an_older_circuit_table_keeps_its_kinds_settings_and_drops_the_others():
    table = upgraded_table(OLD_PASSIVE)
    assert table["crossbar"] == {"name": "passive", "r_line": 0.0, "gain_trim": True, "sinh_v0": 0.0, "v_read": 1.0}
    assert upgraded_table(table) == table
    assert upgraded_table({"r_leak": 1e6})["crossbar"] == {"name": "ideal"}  # written before crossbars existed


def _as_format_3(path, circuit: dict) -> None:
    """Rewrite a run file as neurosim wrote it in format 3: the configuration's circuit table ``circuit`` in the
    JSON and the /config attributes, format_version 3, its digest made anew."""
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["config"])
        config["circuit"] = circuit
        f.attrs["config"] = json.dumps(config)
        for name in [k for k in f["config"].attrs if k.startswith("circuit.")]:
            del f["config"].attrs[name]
        for name, value in flat_settings(circuit, "circuit.").items():
            f["config"].attrs[name] = value
        f.attrs["format_version"] = 3
        del f.attrs["data_digest"]  # format 5's
    restamp(path)


def test_a_format_3_run_file_loads_with_its_crossbar_and_resumes(tmp_path):
    config = make_config(dataset="digits", n_train=20, n_test=10, sizes=(64, 4, 10), epochs=1, engine="ode",
                         crossbar="passive", gain_trim=True)
    train(config, out=tmp_path / "r.h5", progress=False)
    _as_format_3(tmp_path / "r.h5", OLD_PASSIVE)
    run = load_run(tmp_path / "r.h5")
    assert make_config(**run.config).circuit == Circuit(crossbar=PassiveCrossbar(gain_trim=True))
    resumed = dataclasses.replace(make_config(**run.config), epochs=2)
    train(resumed, out=tmp_path / "r.h5", run=run, progress=False)
    with h5py.File(tmp_path / "r.h5") as f:
        assert f.attrs["format_version"] == FORMAT_VERSION and f["config"].attrs["circuit.crossbar.gain_trim"]


def test_a_format_3_file_whose_attributes_contradict_its_configuration_is_refused(tmp_path):
    config = make_config(dataset="digits", n_train=20, n_test=10, sizes=(64, 4, 10), epochs=1, engine="ode",
                         crossbar="passive", gain_trim=True)
    train(config, out=tmp_path / "r.h5", progress=False)
    _as_format_3(tmp_path / "r.h5", OLD_PASSIVE)
    with h5py.File(tmp_path / "r.h5", "r+") as f:
        f["config"].attrs["circuit.gain_trim"] = False  # the JSON says True
    restamp(tmp_path / "r.h5")
    with pytest.raises(Exception, match="circuit.gain_trim"):
        load_run(tmp_path / "r.h5")


def test_the_command_line_trains_and_describes_a_trimmed_passive_crossbar(tmp_path):
    from neurosim.cli import main

    cli = CliRunner()
    done = cli.invoke(main, ["train", "--dataset", "digits", "--n-train", "20", "--n-test", "10", "--sizes", "64-4-10",
                             "--epochs", "1", "--engine", "ode", "--crossbar", "passive", "--gain-trim", "--quiet",
                             "-o", str(tmp_path / "r.h5")])
    assert done.exit_code == 0, done.output
    shown = cli.invoke(main, ["info", str(tmp_path / "r.h5")])
    assert "crossbar=passive gain-trimmed drivers" in shown.output, shown.output
    wrong = cli.invoke(main, ["train", "--engine", "ode", "--crossbar", "opamp", "--r-line", "2", "-o",
                              str(tmp_path / "s.h5")])
    assert wrong.exit_code == 1 and "r_line=2.0: a setting of the passive crossbar, not crossbar='opamp'" in wrong.output
