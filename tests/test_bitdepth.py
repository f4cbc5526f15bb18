"""The bit-depth study: grid, per-point configurations, a resumable sweep of run files, table, figures, command."""

import csv
import shutil

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from neurosim import bitdepth
from neurosim.bitdepth import StudyPoint, per_layer_rates, point_config, read_study, run_study, study_points
from neurosim.cli import main
from neurosim.config import ConfigError, make_config
from neurosim.store import load_run


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


def test_study_resumes_and_keeps_finished_points(tiny, tmp_path, monkeypatch):
    base, data = tiny
    points = study_points(["layered", "small-world"], [3, 0], ["nearest"], [0])
    out = tmp_path / "study"
    calls = []
    real = bitdepth.run_point

    def counting(values, point, path, data_):
        calls.append(point.key)
        if point.key == points[2].key and len(calls) == 3:
            raise KeyboardInterrupt  # the study is stopped during its third point
        return real(values, point, path, data_)

    monkeypatch.setattr(bitdepth, "run_point", counting)
    with pytest.raises(KeyboardInterrupt):
        run_study(base, points, out, data=data, progress=False)
    assert sorted(r.point.key for r in read_study(out)) == sorted(p.key for p in points[:2])
    first = sorted(out.glob("point-*.h5"))[0]
    shutil.copy(first, out / "point-trainedagain.h5")  # the same computation under another name: read once
    assert sorted(r.point.key for r in read_study(out)) == sorted(p.key for p in points[:2])
    results = run_study(base, points, out, data=data, progress=False)
    assert calls[3:] == [p.key for p in points[2:]]  # only the unfinished points ran
    assert [r.point for r in results] == points
    again = run_study(base, points, out, data=data, progress=False)
    assert len(calls) == 3 + 2  # nothing left to run
    assert [r.row for r in again] == [r.row for r in results]
    assert [r.row["weight_step"] for r in results] == pytest.approx([1 / 3, 0, 1 / 3, 0])  # 3 bits: k / 3
    assert results[0].rate_rms.shape[1] == 3
    with h5py.File(out / "sweep.h5") as f:  # the sweep's collected table: one format for every grid
        assert list(f["hardware.storage.bits"][()]) == [3, 0, 3, 0]
        assert [s.decode() for s in f["status"][()]] == ["done"] * 4
    # a changed base makes new points beside the old files, as in any sweep
    other = make_config(**{**base.to_dict(), "beta": 0.5})
    old_names = {p.name for p in bitdepth.study_grid(base, points, out, 3).points()}
    new_names = {p.name for p in bitdepth.study_grid(other, points, out, 3).points()}
    assert not old_names & new_names and all((out / f"{n}.h5").exists() for n in old_names)


def test_a_study_file_of_an_earlier_version_is_read_and_refused_as_output(tiny, tmp_path):
    base, data = tiny
    old = tmp_path / "old.h5"
    with h5py.File(old, "w") as f:  # the earlier one-file format
        f.attrs.update(format=bitdepth.FORMAT, base_config="{}")
        t = f.create_group("points")
        for column, values in (("rule", ["eqprop"]), ("topology", ["layered"]), ("rounding", ["nearest"])):
            t.create_dataset(column, data=np.asarray(values, dtype=h5py.string_dtype()))
        t.create_dataset("bits", data=[4])
        t.create_dataset("seed", data=[0])
        g = f.create_group("runs/eqprop/layered/4bit/nearest/seed0")
        g.attrs.update(config="{}", weight_step=0.25, seconds=1.0)
        g.create_dataset("history/test_error", data=[0.5])
        for name in ("batch", "rms", "applied"):
            g.create_dataset(f"rates/{name}", data=np.zeros((1, 3)))
    [result] = read_study(old)
    assert result.point == StudyPoint("layered", 4, "nearest", 0) and result.weight_step == 0.25
    with pytest.raises(ConfigError, match="earlier neurosim"):
        run_study(base, study_points(["layered"], [4], ["nearest"], [0]), old, data=data, progress=False)


def test_bitdepth_command_writes_table_and_figures(tmp_path):
    out = tmp_path / "s"
    result = CliRunner().invoke(main, [
        "bitdepth", "--n-train", "200", "--n-test", "100", "--sizes", "64-12-12-10", "--epochs", "1",
        "--n-free", "30", "--topologies", "layered,small-world", "--bits", "2,8,0", "--roundings", "stochastic",
        "--quiet", "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(open(out / "study.csv")))
    results = read_study(out)
    assert sorted((r["topology"], int(r["bits"])) for r in rows) == sorted((r.point.topology, r.point.bits)
                                                                          for r in results)
    assert sorted(float(r["test_error"]) for r in rows) == sorted(r.row["test_error"] for r in results)
    swept = list(csv.DictReader(open(out / "sweep.csv")))
    for table, bits, rounding in ((rows, "bits", "rounding"), (swept, "hardware.storage.bits",
                                                              "hardware.storage.rounding")):
        assert {r[rounding] for r in table if int(r[bits]) == 0} == {"exact"}  # one word for the ideal point
        assert {r[rounding] for r in table if int(r[bits]) != 0} == {"stochastic"}
    for r in rows:  # each row names its point's run file, and that file holds the row's point
        assert load_run(out / r["file"]).history["test_error"][-1] == pytest.approx(float(r["test_error"]), rel=1e-5)
    for png in ("sweep-error.png", "sweep-updates.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "small-world" in result.output and "ideal" in result.output
    bad = CliRunner().invoke(main, ["bitdepth", "--bits", "1", "-o", str(tmp_path / "t")])
    assert bad.exit_code != 0 and "bits 1" in bad.output and not (tmp_path / "t").exists()


def test_rule_axis_runs_baselines_on_layered_topologies_only(tiny, tmp_path):
    base, data = tiny
    points = study_points(["layered", "small-world"], [4, 0], ["stochastic"], [0], rules=["eqprop", "bp"])
    assert {(p.rule, p.topology) for p in points} == {("eqprop", "layered"), ("eqprop", "small-world"),
                                                       ("bp", "layered")}
    results = run_study(base, points, tmp_path / "r", data=data, progress=False)
    assert [r.config["rule"] for r in results] == [p.rule for p in points]
    bp_ideal = next(r for r in results if r.point.rule == "bp" and r.point.bits == 0)
    assert bp_ideal.history["iterations"][-1] == 0  # a forward pass, no relaxation
    with pytest.raises(ConfigError, match="rule 'hebb'"):
        study_points(["layered"], [4], ["nearest"], [0], rules=["hebb"])


def test_figure_title_names_the_sizes_trained_where_the_configuration_leaves_them_to_the_data(tmp_path):
    from neurosim.store import load_run
    from neurosim.studypoints import figure_title

    base = make_config(dataset="digits", n_train=60, n_test=30, epochs=1, engine={"name": "euler", "n_free": 5})
    assert base.sizes is None
    run_study(base, study_points(["layered"], [0], ["nearest"], [0]), tmp_path / "s", progress=False)
    [file] = (tmp_path / "s").glob("point-*.h5")
    assert figure_title(load_run(file)) == "digits, 64-64-64-10, 1 epoch"


def test_figure_groups_pool_seeds_and_settings_that_follow_the_topology_but_split_any_other():
    from neurosim.studypoints import PointResult, figure_groups

    def result(topology, seed, lr, n_free=40):
        config = {"seed": seed, "lr": lr, "engine": {"name": "euler", "n_free": n_free}}
        return PointResult(StudyPoint(topology, 4, "nearest", seed), config, {}, *[np.zeros(0)] * 3, 0.1, 1.0)

    study = [result("layered", s, [0.02]) for s in (0, 1)] + [result("layered-per-layer", s, [0.1, 0.05])
                                                             for s in (0, 1)]
    assert [(caption, len(rs)) for caption, rs in figure_groups(study)] == [("", 4)]
    swept = study + [result("layered", s, [0.02], n_free=20) for s in (0, 1)]
    assert [(caption, len(rs)) for caption, rs in figure_groups(swept)] == [("n_free=40", 4), ("n_free=20", 2)]


def test_a_point_whose_updates_were_all_lost_is_flagged_in_the_table_and_the_csv(tmp_path):
    """Issue 42, item 5: at 4 bits with nearest rounding and a tiny rate every update is below half a weight step,
    so the store writes none: the console table and study.csv say so (train warns likewise), the ideal point not."""
    out = tmp_path / "s"
    result = CliRunner().invoke(main, [
        "bitdepth", "--n-train", "40", "--n-test", "20", "--sizes", "64-8-10", "--epochs", "1", "--n-free", "10",
        "--lr", "0.001", "--topologies", "layered", "--bits", "4,0", "--roundings", "nearest", "--quiet", "-o",
        str(out)])
    assert result.exit_code == 0, result.output
    rows = {int(r["bits"]): r for r in csv.DictReader(open(out / "study.csv"))}
    assert rows[4]["lost_pairs"] == "0-1 1-2" and float(rows[4]["applied_share"]) == 0.0
    assert rows[0]["lost_pairs"] == "" and float(rows[0]["applied_share"]) == pytest.approx(1.0)
    lines = {line.split()[2]: line for line in result.output.splitlines() if line.startswith("eqprop")}
    assert "never learned" in lines["4"] and "never learned" not in lines["ideal"], result.output
    assert "warning: points marked 'never learned'" in result.output
