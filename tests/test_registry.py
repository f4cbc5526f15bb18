"""The registries and the builder: one default and one check per engine setting, every engine and rule reachable
from a configuration, one error base."""

import dataclasses
import json

import pytest

from neurosim import build
from neurosim.circuit import Circuit
from neurosim.config import ConfigError, foreign_settings, make_config, nest_flat
from neurosim.engines import ENGINES, takes_circuit
from neurosim.errors import NeurosimError
from neurosim.rules import RULES, EqProp, Feedforward, SyntheticGradients
from neurosim.settings import option_name, settings_fields, values_of
from neurosim.store import _stored_config


@pytest.mark.parametrize("name", sorted(ENGINES))
def test_every_engine_takes_its_defaults_from_its_own_class(name):
    extra = {"intralayer": False} if name == "fixedpoint" else {}  # the fixed point needs no intralayer connections
    config = make_config(engine=name, **extra)
    engine = config.engine
    assert type(engine) is ENGINES[name] and engine.name == name
    fresh = ENGINES[name]()
    assert engine == (dataclasses.replace(fresh, circuit=config.circuit) if takes_circuit(ENGINES[name]) else fresh)
    # what a run file stores: the engine's name and its settings, each at the class's default
    assert config.to_dict()["engine"] == {"name": name, **{f.name: f.default for f in settings_fields(ENGINES[name])}}
    assert config.to_dict()["circuit"] == {**values_of(Circuit()), "crossbar": {"name": "ideal"}}


def test_the_configuration_lists_what_the_registries_hold():
    assert make_config(engine="ode").nudge == ENGINES["ode"].default_nudge == "weak"
    assert make_config().nudge == ENGINES["euler"].default_nudge == "reference"
    with pytest.raises(ConfigError, match="engine"):
        make_config(engine="verilog")
    with pytest.raises(ConfigError, match="name='verilog'"):
        make_config(engine={"name": "verilog"})


def test_a_nested_table_a_flat_setting_and_an_older_run_file_give_one_configuration():
    nested = make_config(engine={"name": "ode", "method": "BDF", "t_max": 40.0}, circuit={"r_leak": 2e6})
    assert nested.engine.method == "BDF" and nested.engine.t_max == 40 and nested.engine.circuit.r_leak == 2e6
    # the top-level names (the command line's) nest into the tables, on top of them
    assert make_config(engine="ode", ode_method="BDF", t_max=40.0, r_leak=2e6) == nested
    assert make_config(engine={"name": "ode", "method": "RK45", "t_max": 40.0}, ode_method="BDF",
                       circuit={"r_leak": 2e6}) == nested
    # a run file written before the nesting held every engine's settings at the top level: the others are dropped
    old = {**{k: v for k, v in nested.to_dict().items() if k not in ("engine", "circuit")},
           "engine": "ode", "eps": 0.5, "n_free": 100, "n_nudged": 8, "tol": 0.0, "ode_method": "BDF", "rtol": 1e-3,
           "atol": 1e-6, "settle_tol": 1e-3, "t_max": 40.0, "clip_weights": False, "spice_analysis": "tran",
           **{f.name: getattr(nested.circuit, f.name) for f in settings_fields(Circuit)},
           "crossbar": "ideal", "opamp_gain": 1e4, "opamp_offset": 0.0, "r_line": 0.0}
    stored = _stored_config(json.dumps(old))
    assert stored == json.loads(json.dumps(nested.to_dict())) and make_config(**stored) == nested
    assert foreign_settings(old) == ["eps", "n_free", "n_nudged", "tol", "clip_weights", "spice_analysis"]


def test_an_engine_setting_is_checked_by_its_engine_and_every_bad_field_is_named():
    with pytest.raises(ValueError, match=r"eps=1.5: the Euler step must be in \(0, 1\]"):
        ENGINES["euler"](eps=1.5)
    with pytest.raises(ConfigError) as err:
        make_config(eps=1.5, tol=-1.0, n_nudged=0)
    message = str(err.value)
    assert "engine: eps=1.5: the Euler step must be in (0, 1]" in message
    assert "tol=-1.0: the residual tolerance cannot be negative" in message
    assert "n_nudged=0: needs at least 1 iteration" in message
    with pytest.raises(ConfigError) as err:
        make_config(engine={"name": "ode", "t_max": "long", "rtol": 1, "q": 1})
    message = str(err.value)
    assert "t_max='long': Input should be a valid number" in message and "q=1: Extra inputs" in message


def test_every_setting_has_one_command_line_option_documented_by_its_class():
    from neurosim.cli import TRAIN_OPTIONS, _shown

    options = {}
    for decorate in TRAIN_OPTIONS:
        param = decorate(lambda: None).__click_params__[0]
        options[param.opts[0]] = param
    for cls in (*ENGINES.values(), Circuit):
        for f in settings_fields(cls):
            param = options[option_name(f)]
            assert f"{f.metadata['help']} [{_shown(f.default)}]" in param.help, f.name


def test_an_engine_added_to_the_registry_alone_is_configured_checked_and_on_the_command_line(monkeypatch):
    from neurosim.cli import setting_options
    from neurosim.settings import setting

    @dataclasses.dataclass(frozen=True)
    class Leapfrog(ENGINES["euler"]):  # a new engine: its own settings, one default and one check each
        stride: int = setting(3, "Leapfrog stride, steps")
        name: str = "leapfrog"

        def __post_init__(self):
            super().__post_init__()
            if self.stride < 1:
                raise ValueError(f"stride={self.stride}: at least 1")

    monkeypatch.setitem(ENGINES, "leapfrog", Leapfrog)  # the one registry line
    config = make_config(engine={"name": "leapfrog", "stride": 5}, sizes=(64, 12, 10))
    assert type(config.engine) is Leapfrog and config.engine.stride == 5
    assert config.to_dict()["engine"]["stride"] == 5 and make_config(**config.to_dict()) == config
    assert make_config(engine="leapfrog", stride=7).engine.stride == 7
    with pytest.raises(ConfigError, match="stride=0: at least 1"):
        make_config(engine={"name": "leapfrog", "stride": 0})
    helps = [d(lambda: None).__click_params__[0].help for d in setting_options(ENGINES)]
    assert any("leapfrog: Leapfrog stride, steps [3]." in h for h in helps)


def test_the_builder_makes_the_rule_the_configuration_names():
    assert isinstance(build.rule_of(make_config(), None), EqProp)
    config = make_config(rule="fa", topology="layered", sizes=(64, 12, 10))
    net = build.new_run(config, _digits()).network
    rule = build.rule_of(config, net)
    assert isinstance(rule, Feedforward) and rule.name == "fa" and len(rule.feedback) == 1
    assert build.controller_of(config, net).rule.kind == "fa"
    assert set(RULES) == {"eqprop", "bp", "fa", "dfa", "bfa", "bdfa", "sg", "csg", "erbp", "s2m"}
    learned = build.rule_of(make_config(rule="csg", topology="layered", sizes=(64, 12, 10)), net)
    assert isinstance(learned, SyntheticGradients) and sorted(learned.parameters) == ["M1", "N1", "c1"]


def test_every_user_error_is_a_neurosim_error():
    from neurosim.backend import BackendError
    from neurosim.circuit import ConductanceRangeError
    from neurosim.data import DataError
    from neurosim.engines import EngineError
    from neurosim.hardware import HardwareError
    from neurosim.rules import RuleError
    from neurosim.store import RunFileError
    from neurosim.training import TrainingDiverged

    for error in (BackendError, ConductanceRangeError, ConfigError, DataError, EngineError, HardwareError,
                  RuleError, RunFileError, TrainingDiverged):
        assert issubclass(error, NeurosimError), error


def _digits():
    from neurosim.data import load_dataset

    return load_dataset("digits", None, 200, 50)


def test_a_new_engine_on_the_command_line_keeps_the_files_engine_settings_it_takes(tmp_path, capsys):
    from neurosim.cli import _config

    toml = tmp_path / "run.toml"
    toml.write_text('topology = "layered"\nsizes = [64, 12, 10]\n'
                    'engine = { name = "euler", eps = 0.4, n_free = 7, n_nudged = 3 }\n[circuit]\nr_leak = 2e6\n')
    fixed = _config(str(toml), {"engine": "fixedpoint", "n_free": 9})
    assert fixed.engine == ENGINES["fixedpoint"](eps=0.4, n_free=9, n_nudged=3, circuit=Circuit(r_leak=2e6))
    ode = _config(str(toml), {"engine": "ode"})
    assert ode.engine == ENGINES["ode"](circuit=Circuit(r_leak=2e6)) and "warning" not in capsys.readouterr().err
    # an option the engine does not take is said to be ignored, as the flat configuration ignored it
    spice = _config(None, {"engine": "spice", "n_free": 5, "t_max": 30.0})
    assert spice.engine.t_max == 30 and not hasattr(spice.engine, "n_free")
    assert "the spice engine has no setting --n-free; ignored" in capsys.readouterr().err
