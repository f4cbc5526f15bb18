"""The registries and the builder: one default and one check per engine setting, every engine and rule reachable
from a configuration, one error base."""

import dataclasses

import pytest

from neurosim import build
from neurosim.config import ENGINE_NUDGES, ConfigError, TrainConfig, make_config
from neurosim.engines import ENGINES, engine_of
from neurosim.errors import NeurosimError
from neurosim.rules import RULES, EqProp, Feedforward

CONFIG_DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrainConfig)}


@pytest.mark.parametrize("name", sorted(ENGINES))
def test_every_engine_takes_its_defaults_from_the_configuration_it_is_built_from(name):
    extra = {"intralayer": False} if name == "fixedpoint" else {}  # the fixed point needs no intralayer connections
    engine = engine_of(make_config(engine=name, **extra))
    assert type(engine) is ENGINES[name] and engine.name == name
    fresh = ENGINES[name]()
    for field, param in ENGINES[name].config_fields.items():
        if field == "circuit":
            assert engine.circuit == fresh.circuit
        else:  # the configuration's default is the engine's own: one default per setting
            assert getattr(engine, param) == getattr(fresh, param) == CONFIG_DEFAULTS[field], field


def test_the_configuration_lists_what_the_registries_hold():
    assert set(ENGINE_NUDGES) == set(ENGINES)
    assert make_config(engine="ode").nudge == ENGINES["ode"].default_nudge == "weak"
    assert make_config().nudge == ENGINES["euler"].default_nudge == "reference"
    with pytest.raises(ConfigError, match="engine"):
        make_config(engine="verilog")


def test_an_engine_setting_is_checked_by_its_engine_and_every_bad_field_is_named():
    with pytest.raises(ValueError, match=r"eps=1.5: the Euler step must be in \(0, 1\]"):
        ENGINES["euler"](eps=1.5)
    with pytest.raises(ConfigError) as err:
        make_config(eps=1.5, t_max=0, n_nudged=0)
    message = str(err.value)
    assert "eps=1.5: the Euler step must be in (0, 1]" in message
    assert "t_max=0: must be > 0" in message and "n_nudged=0: needs at least 1 iteration" in message


def test_the_builder_makes_the_rule_the_configuration_names():
    assert isinstance(build.rule_of(make_config(), None), EqProp)
    config = make_config(rule="fa", topology="layered", sizes=(64, 12, 10))
    net = build.new_run(config, _digits()).network
    rule = build.rule_of(config, net)
    assert isinstance(rule, Feedforward) and rule.name == "fa" and len(rule.feedback) == 1
    assert build.controller_of(config, net).rule.kind == "fa"
    assert set(RULES) == {"eqprop", "bp", "fa", "dfa"}


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
