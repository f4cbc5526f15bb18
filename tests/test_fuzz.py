"""Property-based fuzz of the command line's values and of sweep grids: whatever a user types, the answer is a
finished run (exit 0) or one ``Error:`` line with exit 1 or 2, never a traceback, and no file the user had is
changed. CI runs a few dozen cases of each; ``pytest -m slow`` runs the long version."""

import os

import click
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurosim.cli import main
from neurosim.sweep import load_grid

#: a tiny, fast training the fuzzed options are added to (each option given once more wins)
BASE = ["train", "--dataset", "digits", "--n-train", "20", "--n-test", "10", "--sizes", "64-4-10", "--epochs", "1",
        "--n-free", "5", "--n-nudged", "2", "--quiet"]

#: every option of `train` but those that say where files go, from the command's own definition (a new option is
#: fuzzed without new test code), with small numbers (a valid value trains in a moment), any text, odd floats
NUMBER = st.integers(-12, 12).map(str) | st.floats(allow_nan=True, allow_infinity=True).map(repr)
TEXT = st.text(max_size=12)


def small_values(param: click.Parameter):
    if isinstance(param.type, click.Choice):
        return st.sampled_from(list(param.type.choices)) | TEXT
    if isinstance(param.type, (click.types.IntParamType, click.types.FloatParamType)):
        return NUMBER
    return TEXT | NUMBER | st.sampled_from(["64-10", "64-4-4-10", "8-3", "0.1,0.2"])


OPTIONS = {p.opts[0]: (p.opts + p.secondary_opts if p.is_flag else small_values(p))
           for p in main.commands["train"].params
           if isinstance(p, click.Option) and p.name not in {"out", "resume", "config_file", "overwrite", "quiet"}}


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} | {"/": folder}


def made_path(after, name):
    return after["/"] / name


def _answer_is_clean(result, before, after, made):
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.output)
    for name, content in before.items():
        assert name == "/" or after.get(name) == content, f"{name} changed"
    if result.exit_code:
        assert result.output.count("Error") >= 1, result.output
        if made in after:  # only a run that failed while training leaves its last checkpoint, to resume from
            from neurosim.store import load_run

            assert "--resume" in result.output or "checkpoint" in result.output or load_run(made_path(after, made))


def cli_fuzz(max_examples):
    @settings(max_examples=max_examples, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(options=st.dictionaries(st.sampled_from(sorted(OPTIONS)), st.none(), min_size=1, max_size=3).flatmap(
        lambda keys: st.fixed_dictionaries({k: st.sampled_from(OPTIONS[k]) if isinstance(OPTIONS[k], list)
                                            else OPTIONS[k] for k in keys})))
    def check(tmp_path, options):
        for p in tmp_path.iterdir():
            if p.name != "keep.txt":
                p.unlink()
        (tmp_path / "keep.txt").write_text("the user's own file")
        before = _snapshot(tmp_path)
        args = [*BASE, *(part for option, value in options.items()
                         for part in ((value,) if value.startswith("--") else (option, value))),
                "-o", str(tmp_path / "out.h5")]
        result = CliRunner().invoke(main, args)
        _answer_is_clean(result, before, _snapshot(tmp_path), "out.h5")

    return check


def grid_fuzz(max_examples):
    axis_values = st.lists(NUMBER | TEXT | st.booleans().map(str).map(str.lower), min_size=0, max_size=3)
    @settings(max_examples=max_examples, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(axes=st.dictionaries(st.sampled_from(["weight_bits", "seed", "lr", "rounding", "sizes", "nosuch", ""]),
                                axis_values, max_size=3),
           base=st.dictionaries(st.sampled_from(["epochs", "dataset", "sizes", "out"]), NUMBER | TEXT, max_size=2))
    def check(tmp_path, axes, base):
        lines = ["[base]"] + [f"{k} = {v!r}" if not v.lstrip("-").isdigit() else f"{k} = {v}" for k, v in base.items()]
        lines += ["[grid]"] + [f"{k or 'x'} = [{', '.join(v if v.lstrip('-').isdigit() else repr(v) for v in vals)}]"
                               for k, vals in axes.items()]
        (tmp_path / "grid.toml").write_text("\n".join(lines) + "\n")
        try:
            grid = load_grid(tmp_path / "grid.toml", out=tmp_path / "out")
        except Exception as err:  # noqa: BLE001 - which class is the point
            from neurosim.errors import NeurosimError

            assert isinstance(err, NeurosimError), repr(err)
            assert "grid.toml" in str(err) and "\n" not in str(err), repr(err)
        else:
            assert grid is not None

    return check


def test_cli_values_answer_with_a_run_or_one_error(tmp_path):
    cli_fuzz(int(os.environ.get("NEUROSIM_FUZZ_EXAMPLES", 40)))(tmp_path)


def test_grids_answer_with_a_grid_or_a_neurosim_error(tmp_path):
    grid_fuzz(150)(tmp_path)


@pytest.mark.slow
def test_cli_values_long(tmp_path):
    cli_fuzz(600)(tmp_path)


@pytest.mark.slow
def test_grids_long(tmp_path):
    grid_fuzz(2000)(tmp_path)
