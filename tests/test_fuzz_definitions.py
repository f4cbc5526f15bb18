"""Fuzz drawn from the settings' own definitions, not from a hand list: every option of ``neurosim train`` (its
click parameters: type, choices, flags) and every configuration field (``TrainConfig``'s fields, each engine's and
the circuit's settings, each hardware group's fields) gets odd and bad values of its kind (integers past 64 bits,
NaN, inf, 1e308, 1e-320, negative numbers, empty and odd text, wrong types). An option or field added later is
fuzzed without new test code.

What must hold: the answer is an ``Error:`` line (exit 1 or 2), or a configuration that is accepted and whose
first checkpoint is written and reads back; never a traceback, and never an error after the work. Training itself
is cut off after the epoch-0 checkpoint (the values are drawn to be extreme, so a value accepted could mean days
of training); tests/test_fuzz.py trains on small values to the end."""

import dataclasses
import typing

import click
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import neurosim.training as training
from neurosim.circuit import Circuit
from neurosim.cli import main
from neurosim.crossbars import CROSSBARS
from neurosim.config import ConfigError, TrainConfig, make_config
from neurosim.engines import ENGINES
from neurosim.errors import NeurosimError
from neurosim.hardware import Hardware
from neurosim.settings import settings_fields
from neurosim.store import load_run

#: A tiny training the fuzzed values are added to.
BASE = ["--dataset", "digits", "--n-train", "20", "--n-test", "10", "--sizes", "64-4-10", "--epochs", "1",
        "--n-free", "5", "--n-nudged", "2", "--quiet"]
#: Options that say where files go, not what is trained: given by the test itself.
PLACES = {"out", "resume", "config_file", "overwrite", "quiet"}

HUGE_INTEGERS = st.sampled_from([2**31, 2**63, 2**64 + 1, 2**70, -(2**63) - 1, -1, 0])
ODD_FLOATS = st.sampled_from(["nan", "inf", "-inf", "1e308", "1e-320", "-0.0", "-1", "0", "1e30", "3.5e38"])
ODD_TEXT = st.sampled_from(["", " ", ",", "-", "--", "1,,2", "-1", "x`id`", "$HOME", "a b", "\n", "é"]) | \
    st.text(max_size=8)


def option_values(param: click.Parameter):
    """Odd values for a click option, by its own type."""
    kind = param.type
    if isinstance(kind, click.Choice):
        return st.sampled_from(list(kind.choices)) | ODD_TEXT
    if isinstance(kind, click.types.IntParamType):
        return HUGE_INTEGERS.map(str) | st.integers(-3, 3).map(str) | ODD_FLOATS | ODD_TEXT
    if isinstance(kind, click.types.FloatParamType):
        return ODD_FLOATS | st.floats(allow_nan=True, allow_infinity=True).map(repr) | HUGE_INTEGERS.map(str)
    return ODD_TEXT | HUGE_INTEGERS.map(str) | ODD_FLOATS  # paths and number lists parsed by callbacks


TRAIN = main.commands["train"]
OPTIONS = {p.opts[0]: p for p in TRAIN.params if isinstance(p, click.Option) and p.name not in PLACES}


@pytest.fixture
def cut_after_first_checkpoint(monkeypatch):
    def stop(*args, **kwargs):
        raise KeyboardInterrupt  # the command answers with the checkpoint it holds (exit 130)

    monkeypatch.setattr(training, "_epochs", stop)


def test_the_fuzz_covers_every_option():
    assert len(OPTIONS) > 40 and "--epochs" in OPTIONS and "--r-leak" in OPTIONS and "--n-free" in OPTIONS


def test_any_option_value_is_an_error_line_or_a_checkpoint(tmp_path, cut_after_first_checkpoint):
    settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])(
        given(data=st.data())(check_option_values))(tmp_path)


@pytest.mark.slow
def test_option_values_long(tmp_path, cut_after_first_checkpoint):
    settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])(
        given(data=st.data())(check_option_values))(tmp_path)


def check_option_values(tmp_path, data):
    names = data.draw(st.lists(st.sampled_from(sorted(OPTIONS)), min_size=1, max_size=2, unique=True))
    args = []
    for name in names:
        param = OPTIONS[name]
        if param.is_flag:
            args.append(data.draw(st.sampled_from(param.opts + param.secondary_opts)))
        else:
            args += [name, data.draw(option_values(param))]
    out = tmp_path / "out.h5"
    out.unlink(missing_ok=True)
    result = CliRunner().invoke(main, ["train", *BASE, *args, "-o", str(out)])
    assert "Traceback" not in result.output and (result.exception is None or isinstance(result.exception,
                                                                                        SystemExit)), result.output
    if result.exit_code == 130:  # accepted: the epoch-0 checkpoint was written, and reads back
        assert load_run(out).epochs_done == 0, args
    else:
        assert result.exit_code in (1, 2), (args, result.output)
        errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
        assert len(errors) == 1 and result.output.rstrip("\n").endswith(errors[0]), (args, result.output)
        assert not out.exists(), args


def _field_kind(default, hint) -> str:
    text = str(hint)
    if isinstance(default, bool) or "bool" in text.lower():
        return "bool"
    if isinstance(default, int) or "int" in text.lower() and "float" not in text.lower():
        return "int"
    if isinstance(default, float) or "float" in text.lower():
        return "float"
    return "text"


def config_fields() -> dict:
    """Every configuration field by its path in a configuration table (``("engine", "n_free")``), with its kind
    (int, float, bool, text) from its own type and default."""
    fields = {}
    hints = typing.get_type_hints(TrainConfig, include_extras=False)
    for f in dataclasses.fields(TrainConfig):
        if f.name in ("engine", "circuit", "hardware"):
            continue
        fields[(f.name,)] = _field_kind(f.default, hints[f.name])
    for name, engine in ENGINES.items():
        engine_hints = typing.get_type_hints(engine)
        for f in settings_fields(engine):
            fields[("engine", name, f.name)] = _field_kind(f.default, engine_hints[f.name])
    circuit_hints = typing.get_type_hints(Circuit)
    for f in settings_fields(Circuit):
        fields[("circuit", f.name)] = _field_kind(f.default, circuit_hints[f.name])
    fields[("circuit", "crossbar")] = "text"
    for name, kind in CROSSBARS.items():
        kind_hints = typing.get_type_hints(kind)
        for f in settings_fields(kind):
            fields[("circuit", "crossbar", name, f.name)] = _field_kind(f.default, kind_hints[f.name])
    for group in dataclasses.fields(Hardware):
        cls = type(getattr(Hardware(), group.name))
        group_hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            fields[("hardware", group.name, f.name)] = _field_kind(f.default, group_hints[f.name])
    return fields


FIELDS = config_fields()
BAD = {"int": HUGE_INTEGERS | st.sampled_from([1.5, "3", True, None, [1]]),
       "float": st.sampled_from([float("nan"), float("inf"), -1.0, 0.0, 1e308, 1e-320, 1e30, "1", None, [0.1, -2.0]]),
       "bool": st.sampled_from(["yes", 1, 0, None, "true"]),
       "text": ODD_TEXT | st.sampled_from([1, None, [], ["a"], {"a": 1}])}


def _table(path: tuple, value) -> dict:
    if path[0] == "engine":
        return {"engine": {"name": path[1], path[2]: value}}
    if path[:2] == ("circuit", "crossbar") and len(path) == 4:
        return {"circuit": {"crossbar": {"name": path[2], path[3]: value}}}
    if len(path) == 1:
        return {path[0]: value}
    table = {path[-1]: value}
    for part in reversed(path[1:-1]):
        table = {part: table}
    return {path[0]: table}


def test_the_fuzz_covers_every_configuration_field():
    assert ("epochs",) in FIELDS and ("engine", "fixedpoint", "n_free") in FIELDS and ("circuit", "r_leak") in FIELDS
    assert ("hardware", "storage", "bits") in FIELDS and ("circuit", "crossbar", "opamp", "gbw") in FIELDS
    assert len(FIELDS) > 60


def test_any_configuration_value_is_a_config_error_or_a_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setattr(training, "_epochs", lambda *args, **kwargs: None)  # the epoch-0 checkpoint only
    settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])(
        given(data=st.data())(check_configuration_values))(tmp_path)


@pytest.mark.slow
def test_configuration_values_long(tmp_path, monkeypatch):
    monkeypatch.setattr(training, "_epochs", lambda *args, **kwargs: None)
    settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])(
        given(data=st.data())(check_configuration_values))(tmp_path)


def check_configuration_values(tmp_path, data):
    path = data.draw(st.sampled_from(sorted(FIELDS)))
    value = data.draw(BAD[FIELDS[path]])
    base = dict(dataset="digits", n_train=20, n_test=10, sizes=[64, 4, 10], epochs=1)
    values = {**base, **_table(path, value)}
    if path[0] == "engine" and path[1] == "fixedpoint":
        values["intralayer"] = False
    try:
        config = make_config(**values)
    except ConfigError as err:
        assert str(err) and "\n" not in str(err), str(err)
        return
    out = tmp_path / "run.h5"
    out.unlink(missing_ok=True)
    try:
        run = training.train(config, out=out, progress=False)
    except NeurosimError as err:  # refused once the data set is known (sizes that do not fit it), before any file
        assert "\n" not in str(err) and not out.exists(), str(err)
        return
    assert make_config(**load_run(out).config) == config, (path, value)
