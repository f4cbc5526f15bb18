"""The bit-depth study: grid, per-point configurations, resumable result file, table, figures, command."""

import csv

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from neurosim import bitdepth
from neurosim.bitdepth import StudyPoint, per_layer_rates, point_config, read_study, run_study, study_points
from neurosim.cli import main
from neurosim.config import ConfigError, make_config


def test_grid_runs_ideal_once_per_topology_and_seed():
    points = study_points(["layered", "small-world"], [4, 0, 2], ["nearest", "stochastic"], [0, 1])
    assert len(points) == 2 * 2 * (2 * 2 + 1)
    assert len({p.key for p in points}) == len(points)
    assert [p for p in points if p.bits == 0][0].rounding == "exact"
    for bad in (dict(topologies=["ring"]), dict(bits=[1]), dict(roundings=["up"])):
        args = {"topologies": ["layered"], "bits": [4], "roundings": ["nearest"], **bad}
        with pytest.raises(ConfigError, match=repr(next(iter(bad.values()))[0]).strip("'")):
            study_points(args["topologies"], args["bits"], args["roundings"], [0])


def test_per_layer_rates_follow_the_papers_ratio():
    rates = per_layer_rates(0.02, 4)
    np.testing.assert_allclose(np.array(rates[:-1]) / np.array(rates[1:]), 4.0)
    assert np.exp(np.mean(np.log(rates))) == pytest.approx(0.02)


def test_point_configurations_differ_only_in_their_axes():
    base = make_config(dataset="digits", sizes=(64, 16, 16, 10), epochs=1, lr=(0.05,), hardware={"noise": {"read": 0.01}})
    sw = point_config(base, StudyPoint("small-world", 6, "stochastic", 3), 3)
    lay = point_config(base, StudyPoint("layered-per-layer", 0, "exact", 3), 3)
    assert sw.topology == "small-world" and sw.seed == 3 and sw.hardware.storage.bits == 6
    assert sw.hardware.storage.rounding == "stochastic" and sw.hardware.noise.read == 0.01  # base hardware kept
    assert lay.topology == "layered" and lay.lr == per_layer_rates(0.05, 3) and lay.hardware.storage.bits == 0
    with pytest.raises(ConfigError, match="one rate"):
        point_config(make_config(dataset="digits", sizes=(64, 16, 10), lr=(0.1, 0.05)),
                     StudyPoint("layered", 4, "nearest", 0), 2)


@pytest.fixture
def tiny(digits):
    from neurosim.data import Dataset

    d = digits
    data = Dataset("digits", d.x_train[:200], d.y_train[:200], d.x_test[:100], d.y_test[:100], 10)
    base = make_config(dataset="digits", sizes=(64, 12, 12, 10), epochs=1, n_free=30, lr=(0.05,))
    return base, data


def test_study_file_resumes_and_keeps_finished_points(tiny, tmp_path, monkeypatch):
    base, data = tiny
    points = study_points(["layered", "small-world"], [3, 0], ["nearest"], [0])
    out = tmp_path / "study.h5"
    calls = []
    real = bitdepth.run_point

    def counting(config, point, data_):
        calls.append(point.key)
        if point.key == points[2].key and len(calls) == 3:
            raise KeyboardInterrupt  # the study is stopped during its third point
        return real(config, point, data_)

    monkeypatch.setattr(bitdepth, "run_point", counting)
    with pytest.raises(KeyboardInterrupt):
        run_study(base, points, out, data=data, progress=False)
    _, saved = read_study(out)
    assert [r.point.key for r in saved] == [p.key for p in points[:2]]
    results = run_study(base, points, out, data=data, progress=False)
    assert calls[3:] == [p.key for p in points[2:]]  # only the unfinished points ran
    assert [r.point for r in results] == points
    again = run_study(base, points, out, data=data, progress=False)
    assert len(calls) == 3 + 2  # nothing left to run
    assert [r.row for r in again] == [r.row for r in results]
    with h5py.File(out) as f:
        assert list(f["points/bits"][()]) == [3, 0, 3, 0]
        assert f["points/weight_step"][0] == pytest.approx(1 / 3)  # 3 bits: levels k / 3, |k| <= 3
        assert f["runs/eqprop/layered/3bit/nearest/seed0/rates/rms"].shape[1] == 3
    other = make_config(**{**base.to_dict(), "beta": 0.5})
    with pytest.raises(ConfigError, match=r"another base configuration \(beta: 1.0 -> 0.5\)"):
        run_study(other, points, out, data=data, progress=False)


def test_bitdepth_command_writes_table_and_figures(tmp_path):
    out = tmp_path / "s.h5"
    result = CliRunner().invoke(main, [
        "bitdepth", "--n-train", "200", "--n-test", "100", "--sizes", "64-12-12-10", "--epochs", "1",
        "--n-free", "30", "--topologies", "layered,small-world", "--bits", "2,8,0", "--roundings", "stochastic",
        "--quiet", "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(open(tmp_path / "s.csv")))
    _, results = read_study(out)
    assert [(r["topology"], int(r["bits"])) for r in rows] == [(r.point.topology, r.point.bits) for r in results]
    assert [float(r["test_error"]) for r in rows] == [r.row["test_error"] for r in results]
    for png in ("s-error.png", "s-updates.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "small-world" in result.output and "ideal" in result.output
    bad = CliRunner().invoke(main, ["bitdepth", "--bits", "1", "-o", str(tmp_path / "t.h5")])
    assert bad.exit_code != 0 and "bits 1" in bad.output and not (tmp_path / "t.h5").exists()


def test_rule_axis_runs_baselines_on_layered_topologies_only(tiny, tmp_path):
    base, data = tiny
    points = study_points(["layered", "small-world"], [4, 0], ["stochastic"], [0], rules=["eqprop", "bp"])
    assert {(p.rule, p.topology) for p in points} == {("eqprop", "layered"), ("eqprop", "small-world"),
                                                       ("bp", "layered")}
    results = run_study(base, points, tmp_path / "r.h5", data=data, progress=False)
    assert [r.config["rule"] for r in results] == [p.rule for p in points]
    bp_ideal = next(r for r in results if r.point.rule == "bp" and r.point.bits == 0)
    assert bp_ideal.history["iterations"][-1] == 0  # a forward pass, no relaxation
    with pytest.raises(ConfigError, match="rule 'hebb'"):
        study_points(["layered"], [4], ["nearest"], [0], rules=["hebb"])
