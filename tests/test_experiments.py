"""The configuration and grid files shipped in experiments/ stay valid as the configuration grows."""

import tomllib
from pathlib import Path

import pytest

from neurosim.config import load_config, make_config
from neurosim.hardware import Hardware, load_hardware
from neurosim.sweep import load_grid

HARDWARE_TABLES = {"preset", "storage", "readout", "variation", "noise"}
FILES = sorted((Path(__file__).parent.parent / "experiments").rglob("*.toml"))


def test_there_are_experiment_files():
    assert len(FILES) >= 9


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_experiment_file_is_a_valid_configuration_or_a_grid_of_valid_points(path):
    tables = tomllib.loads(path.read_text())
    if set(tables) <= HARDWARE_TABLES:  # a hardware file (--hardware FILE)
        assert load_hardware(path) != Hardware()
    elif "grid" in tables:
        points = load_grid(path).points()
        assert points
        for point in points:
            make_config(**point.values)
    else:
        load_config(path)


def test_the_bit_depth_study_ranges_fit_its_network():
    """experiments/bitdepth/per-array.toml has one range per parameter array of the study's network."""
    from neurosim.build import new_run
    from neurosim.data import Dataset
    from neurosim.hardware.devices import parameter_names
    import numpy as np

    here = Path(__file__).parent.parent / "experiments" / "bitdepth"
    config = load_config(here / "study.toml", dataset="digits", sizes=(784, 128, 128, 128, 10), topology="layered")
    data = Dataset("digits", np.zeros((2, 784), np.float32), np.zeros(2, int), np.zeros((2, 784), np.float32),
                   np.zeros(2, int), 10)
    net = new_run(config, data).network
    assert len(load_hardware(here / "per-array.toml").storage.w_max) == len(parameter_names(net))


def reference_script():
    """experiments/paper/reference/run.py, imported as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "reference_run", Path(__file__).parent.parent / "experiments" / "paper" / "reference" / "run.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def test_the_reference_scripts_train_a_finished_run_on_when_asked_for_more_epochs(tmp_path):
    """experiments/paper/reference/run.py keeps a finished run, and trains it on (resumes it) for more epochs,
    as ``run.py epoch --epochs N`` promises: the first epoch's history stays, the second is added."""
    from neurosim.store import load_run

    script = reference_script()
    config = dict(dataset="digits", n_train=100, n_test=50, sizes=[64, 10, 10], topology="layered", epochs=1,
                  n_free=10)
    path = tmp_path / "net.h5"
    script.train_one("net", config, path)
    first = load_run(path).history["train_error"]
    script.train_one("net", config, path)  # finished: kept as it is
    assert load_run(path).epochs_done == 1
    script.train_one("net", {**config, "epochs": 2}, path)
    run = load_run(path)
    assert run.epochs_done == 2 and run.complete and list(run.history["train_error"][:1]) == list(first)


def test_the_seed_spread_places_the_logged_value_among_the_seeds_as_counted_by_hand():
    """run.py seeds: errors 34, 36, 40, 50, 60, 70 % around a log of 36.4 %: 34 and 36 are within 3 points (40 is
    3.6 away) and the only two below it; median 45; quartiles by linear interpolation 36 + .25 * 4 = 37 and
    50 + .75 * 10 = 57.5."""
    spread = reference_script().seed_spread([60, 40, 34, 70, 50, 36], logged=36.4)
    assert spread == {"n": 6, "min": 34.0, "q1": 37.0, "median": 45.0, "q3": 57.5, "max": 70.0, "within": 2,
                      "below": 2}
    with pytest.raises(ValueError, match="no finished runs"):
        reference_script().seed_spread([], logged=36.4)


def test_run_py_seeds_tabulates_the_finished_seeds_and_marks_the_others_not_run(tmp_path, capsys):
    """``run.py seeds --table-only`` reads the finished run files where ``seeds`` writes them, trains nothing, says
    "not run" for a missing seed, and summarises only the finished ones against the reference's log."""
    from neurosim.store import load_run

    script = reference_script()
    path = tmp_path / "fast" / "seeds" / "layered-one-rate-seed0.h5"
    path.parent.mkdir(parents=True)
    script.train_one("net", dict(dataset="digits", n_train=100, n_test=50, sizes=[64, 10, 10], topology="layered",
                                 epochs=1, n_free=10), path)
    history = load_run(path).history
    capsys.readouterr()
    script.main(["seeds", "--data-dir", str(tmp_path / "nowhere"), "--out", str(tmp_path), "--fast",
                 "--seeds", "0", "1", "--table-only"])
    printed = capsys.readouterr().out
    train, test = 100 * history["train_error"][0], 100 * history["test_error"][0]
    assert f"| 0 | {train:.1f} | {test:.1f} |" in printed
    assert "| 1 | not run |" in printed
    assert f"train: 1 seeds, {train:.1f}-{train:.1f} %" in printed and "the log's 36.4 %" in printed
    assert f"test: 1 seeds, {test:.1f}-{test:.1f} %" in printed and "the log's 19.8 %" in printed
    assert not (path.parent / "layered-one-rate-seed1.h5").exists()
