"""Sweeps on Dask: resumable points, failures recorded, a killed worker, a scheduler in other processes."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from neurosim.cli import main
from neurosim.config import ConfigError
from neurosim.store import load_run, read_config
from neurosim.studypoints import figure_groups, result_from_run
from neurosim.sweep import collect, is_complete, load_grid, point_file, run_point, run_sweep
from conftest import as_older_format

distributed = pytest.importorskip("dask.distributed")

BASE = """
[base]
dataset = "digits"
n_train = 150
n_test = 60
sizes = [64, 10, 10]
topology = "layered"
epochs = {epochs}
n_free = 20
"""


def write_grid(tmp_path, axes: str, epochs: int = 1, name="grid.toml") -> Path:
    path = tmp_path / name
    path.write_text(BASE.format(epochs=epochs) + "[grid]\n" + axes)
    return path


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as c:
        yield c


def mtimes(grid):
    return {p.name: point_file(grid.out, p).stat().st_mtime_ns for p in grid.points()}


def test_four_points_run_then_rerun_skips_them_and_a_deleted_one_reruns_alone(tmp_path, client):
    grid = load_grid(write_grid(tmp_path, 'seed = [0, 1]\n"hardware.storage.bits" = [4, 0]\n'))
    rows = run_sweep(grid, client, progress=False)
    assert [r["status"] for r in rows] == ["done"] * 4
    assert len({r["point"] for r in rows}) == 4
    for point in grid.points():
        config = load_run(point_file(grid.out, point)).config
        settings = dict(point.settings)
        assert config["seed"] == settings["seed"]
        assert config["hardware"]["storage"]["bits"] == settings["hardware.storage.bits"]
    before = mtimes(grid)
    run_sweep(grid, lambda: pytest.fail("nothing to run, so no client is needed"), progress=False)
    assert mtimes(grid) == before
    gone = grid.points()[2]
    point_file(grid.out, gone).unlink()
    rows = run_sweep(grid, client, progress=False)
    after = mtimes(grid)
    assert [name for name in before if before[name] != after[name]] == [gone.name]
    assert all(r["status"] == "done" for r in rows)
    table = (grid.out / "sweep.csv").read_text().splitlines()
    assert table[0].startswith("seed,hardware.storage.bits,point,status") and len(table) == 5
    with h5py.File(grid.out / "sweep.h5", "r") as f:
        silent = dict(zip(f["point"].asstr()[:], f["silent_outputs"][:]))
    for point in grid.points():
        assert silent[point.name] == load_run(point_file(grid.out, point)).history["silent_outputs"][-1]
    assert (grid.out / "sweep-error.png").exists() and (grid.out / "sweep-updates.png").exists()
    summary = (grid.out / "report" / "summary.md").read_text()
    assert all(f"| {p.label} |" in summary for p in grid.points())  # the settings name the run, not the hash
    rows = {line.split(" | ")[0].lstrip("| "): line for line in summary.splitlines() if line.startswith("| seed=")}
    assert sorted(rows) == ["seed=0, bits=0", "seed=0, bits=4", "seed=1, bits=0", "seed=1, bits=4"]
    assert all(" | storage bits=4 | " in rows[f"seed={s}, bits=4"] for s in (0, 1))  # the hardware column
    assert all(" | ideal | " in rows[f"seed={s}, bits=0"] for s in (0, 1))


def test_bits_figures_split_by_a_setting_they_do_not_show_instead_of_pooling_it_with_the_seeds(tmp_path):
    grid = load_grid(write_grid(tmp_path, 'n_free = [10, 20]\n"hardware.storage.bits" = [4, 0]\n'))
    for point in grid.points():  # in this process: the figures are the subject, not Dask
        run_point(point.values, str(point_file(grid.out, point)))
    (grid.out / "sweep-error.png").write_bytes(b"an earlier collect's figure")
    (grid.out / "sweep-error-notes.png").write_bytes(b"a user's file")
    collect(grid)
    assert (grid.out / "sweep-error-notes.png").read_bytes() == b"a user's file"
    (grid.out / "sweep-error-notes.png").unlink()
    runs = [load_run(point_file(grid.out, p)) for p in grid.points()]
    groups = figure_groups([result_from_run(run) for run in runs])
    assert [(caption, len(results)) for caption, results in groups] == [("n_free=10", 2), ("n_free=20", 2)]
    assert all({r.config["engine"]["n_free"] for r in results} == {n} for (_, results), n in zip(groups, (10, 20)))
    assert sorted(p.name for p in grid.out.glob("sweep-*.png")) == [
        "sweep-error-1.png", "sweep-error-2.png", "sweep-updates-1.png", "sweep-updates-2.png"]


def test_a_changed_base_makes_new_points_instead_of_taking_the_old_files_for_done(tmp_path):
    def names(**change):
        path = write_grid(tmp_path, "seed = [0, 1]\n", epochs=change.get("epochs", 1))
        if "data_dir" in change:
            path.write_text(path.read_text().replace("[base]", f'[base]\ndata_dir = "{change["data_dir"]}"'))
        return [p.name for p in load_grid(path).points()]

    first = names()
    assert len(set(first)) == 2
    assert not set(first) & set(names(epochs=2))  # the edited grid's points get files of their own
    assert names(data_dir="/elsewhere") == first  # where the data lives is not part of a point


def test_a_point_trained_by_an_earlier_neurosim_is_resumed_not_trained_again(tmp_path):
    """Variation.device became device_to_device, and new fields keep arriving: a study begun before names its point
    files by hashes of configurations that were shorter or spelt otherwise. The same study today finds them by
    what they compute (no client asked for), and collects them; a point that computes something else is not
    taken for one of them."""
    old = load_grid(write_grid(tmp_path, '"hardware.variation.device" = [0.0]\n', name="old.toml"))
    (old_point,) = old.points()
    run_point(old_point.values, str(point_file(old.out, old_point)))
    written = old.out / f"{old_point.name}.h5"
    with h5py.File(written, "r+") as f:  # as written before crossbars had tables and the bandwidth existed
        config = json.loads(f.attrs["config"])
        config["circuit"].update(crossbar="ideal", opamp_gain=1e4, opamp_offset=0.0, r_line=0.0, gain_trim=False,
                                 sinh_v0=0.0, v_read=1.0)
        f.attrs["config"] = json.dumps(config)
    as_older_format(written)
    new = load_grid(write_grid(tmp_path, '"hardware.variation.device_to_device" = [0.0]\n', name="new.toml"),
                    out=old.out)
    (new_point,) = new.points()
    assert new_point.name != old_point.name and point_file(new.out, new_point) == written
    rows = run_sweep(new, lambda: pytest.fail("the old file is complete: nothing to train"), progress=False)
    assert [r["status"] for r in rows] == ["done"]
    assert sorted(p.name for p in old.out.glob("point-*.h5")) == [written.name]
    other = load_grid(write_grid(tmp_path, "seed = [3]\n", name="other.toml"), out=old.out)
    assert point_file(other.out, other.points()[0]) == other.out / f"{other.points()[0].name}.h5"


def test_collecting_a_grid_reads_each_stored_configuration_once(tmp_path, monkeypatch):
    """A grid whose points have no files of their own names looks each of them up among the stored files by what
    they compute: the directory is read once per collection (each file's configuration once), not once per point."""
    import neurosim.sweep as sweep

    grid = load_grid(write_grid(tmp_path, "seed = [0, 1, 2]\n"))
    first = grid.points()[0]
    run_point(first.values, str(grid.out / "point-000000000000.h5"))  # stored under another name
    reads = []
    monkeypatch.setattr(sweep, "read_config", lambda path: reads.append(path) or read_config(path))
    rows = sweep.collect(grid)
    assert [r["status"] for r in rows] == ["done", "pending", "pending"]
    assert reads == [grid.out / "point-000000000000.h5"]


def test_a_failing_point_is_recorded_and_the_others_finish(tmp_path, client):
    axes = 'dataset = ["digits", "mnist"]\nrule = ["eqprop", "bp"]\ntopology = ["layered", "small-world"]\n'
    path = write_grid(tmp_path, axes)
    path.write_text(path.read_text().replace("[grid]", 'data_dir = "/nonexistent/mnist"\n[grid]'))
    grid = load_grid(path)
    rows = run_sweep(grid, client, progress=False)
    status = {(r["dataset"], r["rule"], r["topology"]): r for r in rows}
    assert status[("digits", "eqprop", "layered")]["status"] == "done"
    assert status[("digits", "eqprop", "small-world")]["status"] == "done"
    assert status[("digits", "bp", "layered")]["status"] == "done"
    assert "rule='bp'" in status[("digits", "bp", "small-world")]["error"]  # invalid: never ran
    assert "rule='bp'" in status[("mnist", "bp", "small-world")]["error"]
    assert all(r["status"] == "failed" and "/nonexistent/mnist" in r["error"] and "DataError" in r["error"]
               for k, r in status.items() if k[0] == "mnist" and k[1:] != ("bp", "small-world"))
    assert len(list(grid.out.glob("*.error.json"))) == 5


def test_a_worker_killed_during_the_sweep_loses_no_finished_point(tmp_path, client):
    grid = load_grid(write_grid(tmp_path, "seed = [0, 1, 2, 3]\n", epochs=25))
    result = {}
    sweep = threading.Thread(target=lambda: result.update(rows=run_sweep(grid, client, progress=False)))
    sweep.start()
    deadline = time.time() + 120
    while not any(is_complete(point_file(grid.out, p)) for p in grid.points()):
        assert time.time() < deadline and sweep.is_alive(), "no point finished"
        time.sleep(0.05)
    finished = {p.name: point_file(grid.out, p).read_bytes() for p in grid.points()
                if is_complete(point_file(grid.out, p))}
    pids = client.run(os.getpid)
    busy = [address for address, tasks in client.processing().items() if tasks]
    assert busy, "no worker was running a point when the kill came"
    os.kill(pids[busy[0]], signal.SIGKILL)
    sweep.join(timeout=300)
    assert not sweep.is_alive()
    assert [r["status"] for r in result["rows"]] == ["done"] * 4
    for name, content in finished.items():
        assert (grid.out / f"{name}.h5").read_bytes() == content  # finished before the kill: untouched
    for p in grid.points():
        assert load_run(point_file(grid.out, p)).epochs_done == 25


def test_grid_files_name_their_mistakes(tmp_path):
    for text, message in (
        ("[grid]\nsed = [0]\n", "'sed' is not a configuration field"),
        ("[grid]\nseed = 3\n", "needs a non-empty list"),
        ("[base]\nepochs = 0\n[grid]\nseed = [0]\n", "epochs=0"),
        ("[base]\n", "no \\[grid\\] table"),
        ("[gird]\nseed = [0]\n", "unknown entries"),
    ):
        path = tmp_path / "g.toml"
        path.write_text(text)
        with pytest.raises(ConfigError, match=message):
            load_grid(path)
    with pytest.raises(ConfigError, match="no such grid file"):
        load_grid(tmp_path / "missing.toml")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sweep_through_a_scheduler_and_worker_in_their_own_processes(tmp_path):
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    scheduler = subprocess.Popen([*dask, "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                               "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        grid_file = write_grid(tmp_path, "seed = [0, 1]\n")
        result = CliRunner().invoke(main, ["sweep", str(grid_file), "--scheduler", address, "--quiet"])
        assert result.exit_code == 0, result.output
        assert "2 done, 0 failed" in result.output
        errors = [load_run(p).history["test_error"][-1] for p in sorted((tmp_path / "grid").glob("*.h5"))
                  if p.name != "sweep.h5"]
        assert len(errors) == 2 and all(np.isfinite(errors))
    finally:
        for process in (worker, scheduler):
            process.terminate()
            process.wait(timeout=30)


def test_a_grid_of_explicit_rows_that_set_different_settings_collects_with_blanks(tmp_path):
    """Rows of settings (each rule with its own), not every combination: an axis a row does not set is blank in
    its line of sweep.csv and sweep.h5, and the row's point trained with the base's value."""
    from neurosim.sweep import Grid

    base = dict(dataset="digits", n_train=40, n_test=20, sizes=[64, 6, 10], topology="layered", epochs=1,
                persistent=False)
    rows = ((("rule", "eqprop"), ("beta", 0.5)), (("rule", "bp"), ("lr", [0.2])))
    grid = Grid.of_rows(base, rows, tmp_path / "g")
    assert grid.axes == {"rule": ["eqprop", "bp"], "beta": [0.5], "lr": [[0.2]]}
    grid.out.mkdir()
    from neurosim.sweep import trained_points

    assert [label for _, label, _ in trained_points(grid, ["a", "b"])] == ["a", "b"]  # trains each point
    table = collect(grid)
    assert [(r["rule"], r["beta"], r["lr"], r["status"]) for r in table] == [("eqprop", 0.5, "", "done"),
                                                                              ("bp", "", "[0.2]", "done")]
    lines = (grid.out / "sweep.csv").read_text().splitlines()
    assert lines[0].startswith("rule,beta,lr,point") and lines[2].startswith("bp,,[0.2],")
    assert load_run(point_file(grid.out, grid.points()[1])).config["beta"] == 1.0  # the base's


def test_a_setting_the_rule_does_not_read_leaves_the_point_as_it_was(tmp_path):
    """A stored point whose spiking-neuron settings differ (a default changed since) is the same point for a rule
    that reads none of them, and another point for the rule that does."""
    from neurosim.sweep import Grid, computed_identity, stored_points

    base = dict(dataset="digits", n_train=40, n_test=20, sizes=[64, 6, 10], topology="layered", epochs=1,
                persistent=False, rule="bp")
    old = {**base, "neurons": {"boxcar_low": -1.0, "boxcar_high": 1.0}}
    out = tmp_path / "g"
    out.mkdir()
    run_point(old, str(out / "point-old.h5"))
    grid = Grid(base=base, axes={"rule": ["bp", "erbp"]}, out=out)
    bp, erbp = grid.points()
    assert point_file(out, bp, stored_points(out)) == out / "point-old.h5"  # found, not trained again
    assert point_file(out, erbp, stored_points(out)) != out / "point-old.h5"
    assert computed_identity({**old, "rule": "erbp"}) != computed_identity({**base, "rule": "erbp"})
