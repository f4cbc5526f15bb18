"""What a careless user (or an attacker) tried in issue 38, a test each, grouped by what it used to do: tracebacks,
values taken silently, runs lost or misplaced, messages. Each answer is one ``Error:`` line (or a warning and a
finished run), and nothing already saved changes."""

import errno
import hashlib
import os
import shutil

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

import neurosim.crossbars.base as crossbars
from neurosim.cli import main
from neurosim.store import load_run, writer_lock

TINY = ["--n-train", "20", "--n-test", "10", "--sizes", "64-6-10", "--n-free", "5", "--n-nudged", "2", "--quiet"]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_error_line(result, *needles):
    assert result.exit_code in (1, 2), result.output
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output
    for needle in needles:
        assert needle in result.output, result.output


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def run_file(tmp_path):
    out = tmp_path / "run.h5"
    assert invoke("train", *TINY, "--epochs", "1", "-o", out).exit_code == 0
    return out


# -- values that used to end in a traceback --------------------------------------------------------------------

HUGE = str(2**66)


@pytest.mark.parametrize("option", ["--epochs", "--n-free", "--rate-every", "--remove-skip-after", "--batch-size"])
def test_an_integer_past_64_bits_is_refused_before_any_work(tmp_path, option):
    one_error_line(invoke("train", *TINY, option, HUGE, "-o", tmp_path / "r.h5"), HUGE)
    assert not (tmp_path / "r.h5").exists()


def test_huge_integers_in_a_toml_file_and_on_resume_are_refused(tmp_path, run_file):
    before = sha(run_file)
    one_error_line(invoke("train", "--resume", run_file, "--epochs", HUGE), HUGE)
    assert sha(run_file) == before
    for text in (f"epochs = {2**66 - 1}\n", f"[engine]\nname = 'euler'\nn_free = {2**66 - 1}\n"):
        (tmp_path / "c.toml").write_text(text)
        one_error_line(invoke("train", "--config", tmp_path / "c.toml", *TINY, "-o", tmp_path / "r.h5"), "c.toml")
    assert not (tmp_path / "r.h5").exists()


def test_a_huge_initialisation_is_refused(tmp_path):
    one_error_line(invoke("train", *TINY, "--intra-init", "1e308", "-o", tmp_path / "r.h5"), "intra_init")


def test_a_sweep_with_a_failing_point_says_so_in_lines_of_its_own_and_exits_1(tmp_path):
    (tmp_path / "g.toml").write_text("[base]\nn_train = 20\nn_test = 10\nsizes = [64, 6, 10]\nepochs = 1\n"
                                     "n_free = 5\n[grid]\nmax_residual = [1e-12, 10.0]\n")
    result = invoke("sweep", tmp_path / "g.toml", "--workers", "1", "--quiet")
    assert result.exit_code == 1 and "Traceback" not in result.output and "distributed" not in result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("1 done, 1 failed") and lines[1].startswith("  max_residual=10: test error")
    assert "TrainingDiverged" in lines[2] and lines[-1].startswith("Error: 1 of 2 points") and len(lines) == 4, \
        result.output


# -- values that used to be taken silently -----------------------------------------------------------------------

@pytest.mark.parametrize("args, needle", [
    (["--lr", "0.1,,0.2"], "empty entry"), (["--sizes", "-64-16-10"], "empty entry"),
    (["--lr", "1e-320"], "lr=1e-320"), (["--lr", "1e39"], "inf"), (["--data-dir", "."], "bundled"),
    (["-o", ""], "empty path"),
])
def test_values_taken_silently_before_are_refused(tmp_path, args, needle):
    os.chdir(tmp_path)
    one_error_line(invoke("train", *TINY, *args), needle)
    assert list(tmp_path.iterdir()) == []


def test_bitdepth_bits_with_an_empty_entry_is_refused(tmp_path):
    one_error_line(invoke("bitdepth", "--bits", "2,,3", "-o", tmp_path / "s"), "empty entry")


def test_a_batch_larger_than_the_training_set_is_reported(tmp_path):
    result = CliRunner().invoke(main, ["train", *TINY, "--batch-size", "100000", "--epochs", "1",
                                       "-o", str(tmp_path / "r.h5")])
    assert result.exit_code == 0 and "--batch-size 100000 is more than the 20 training examples" in result.output


def test_a_grid_axis_listing_a_value_twice_is_refused(tmp_path):
    (tmp_path / "g.toml").write_text("[grid]\nseed = [0, 0]\n")
    one_error_line(invoke("sweep", tmp_path / "g.toml"), "lists 0 twice")


@pytest.mark.parametrize("args, needle", [(["--t-stop", "0"], "t_stop=0.0"), (["--t-stop", "inf"], "t_stop=inf"),
                                          (["--c-node", "inf"], "c_node=inf")])
def test_export_refuses_a_zero_or_infinite_time_and_capacitance(tmp_path, run_file, args, needle):
    one_error_line(invoke("export", run_file, "--example", "0", "-o", tmp_path / "n.cir", *args), needle)
    assert not (tmp_path / "n.cir").exists()


def test_export_never_writes_a_netlist_over_a_run(run_file):
    before = sha(run_file)
    one_error_line(invoke("export", run_file, "--example", "0", "-o", run_file, "--overwrite"), "HDF5")
    assert sha(run_file) == before and load_run(run_file).epochs_done == 1


def test_waveform_refuses_a_data_file_with_nan(tmp_path):
    (tmp_path / "n.data").write_text("time v(h1_0) v(y_0)\n0 0 0\n1e-6 nan 0.5\n")
    one_error_line(invoke("waveform", tmp_path / "n.data"), "nan in row 2, column v(h1_0)")


# -- runs lost or misplaced --------------------------------------------------------------------------------------

def test_writers_through_a_symlink_share_the_real_files_lock_and_keep_the_link(tmp_path, run_file):
    link = tmp_path / "link.h5"
    link.symlink_to(run_file)
    with writer_lock(run_file):
        one_error_line(invoke("train", "--resume", link, "--epochs", "2"), "another process is writing it")
    assert invoke("train", "--resume", link, "--epochs", "2").exit_code == 0
    assert link.is_symlink() and load_run(run_file).epochs_done == 2  # the real file moved on, the link stayed


def test_resume_refuses_to_write_over_another_existing_run(tmp_path, run_file):
    other = tmp_path / "other.h5"
    shutil.copyfile(run_file, other)
    with h5py.File(other, "r") as f:
        assert f.attrs["epochs_done"] == 1
    before = sha(other)
    one_error_line(invoke("train", "--resume", run_file, "--epochs", "2", "-o", other), "--overwrite")
    assert sha(other) == before


def test_overwrite_keeps_the_old_run_until_the_new_one_has_an_epoch(run_file):
    before = sha(run_file)
    result = invoke("train", *TINY, "--epochs", "1", "--max-residual", "1e-12", "-o", run_file, "--overwrite")
    assert result.exit_code == 1 and "did not settle" in result.output
    assert sha(run_file) == before  # the new run diverged in its first epoch: the old one is as it was
    assert invoke("train", *TINY, "--epochs", "1", "--lr", "0.01", "-o", run_file, "--overwrite").exit_code == 0
    assert load_run(run_file).config["lr"] == [0.01]


def test_a_sweep_point_file_holding_another_configuration_is_not_collected_as_done(tmp_path):
    (tmp_path / "g.toml").write_text("[base]\nn_train = 20\nn_test = 10\nsizes = [64, 6, 10]\nepochs = 1\n"
                                     "n_free = 5\n[grid]\nseed = [0, 1]\n")
    assert invoke("sweep", tmp_path / "g.toml", "--workers", "1", "--quiet").exit_code == 0
    a, b = sorted((tmp_path / "g").glob("point-*.h5"))
    shutil.copyfile(a, b)  # point b's file now holds point a's run
    result = invoke("sweep", tmp_path / "g.toml", "--collect")
    assert result.exit_code == 1 and "1 done, 1 failed" in result.output and "another configuration" in result.output


def test_export_on_a_full_disk_leaves_the_previous_netlist_whole(tmp_path, run_file, monkeypatch):
    out = tmp_path / "n.cir"
    assert invoke("export", run_file, "--example", "0", "-o", out).exit_code == 0
    before = sha(out)
    writes = crossbars.lines  # the biases are the crossbar's to write

    def full_disk(stream, template, *columns):
        if template.startswith("Ib_"):  # half way through the netlist
            raise OSError(errno.ENOSPC, "No space left on device")
        writes(stream, template, *columns)

    monkeypatch.setattr(crossbars, "lines", full_disk)
    result = invoke("export", run_file, "--example", "1", "-o", out, "--overwrite")
    note, error = result.output.splitlines()  # the netlist's size, said before writing; then the disk's error
    assert result.exit_code == 1 and note.startswith("netlist: ") and error.startswith("Error: ")
    assert "previous netlist is intact" in error
    assert sha(out) == before and [p.name for p in tmp_path.iterdir() if p.name.startswith(".n.cir")] == []
    monkeypatch.setattr(crossbars, "lines", writes)
    assert invoke("export", run_file, "--example", "1", "-o", out, "--overwrite").exit_code == 0


# -- messages ----------------------------------------------------------------------------------------------------

def test_a_first_checkpoint_that_fails_does_not_claim_a_previous_one(tmp_path, monkeypatch):
    import neurosim.atomic as atomic

    def no_room(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", no_room)
    one_error_line(invoke("train", *TINY, "--epochs", "1", "-o", tmp_path / "r.h5"), "no checkpoint was written")


def test_a_usage_error_is_one_line_too(tmp_path):
    one_error_line(invoke("train", "--epochs", "many"), "'many' is not a valid integer")
    one_error_line(invoke("export", tmp_path / "r.h5"), "Missing option '--example'")


def test_a_huge_rate_prints_no_raw_numpy_warning(tmp_path):
    result = invoke("train", *TINY, "--epochs", "1", "--lr", "1e30", "-o", tmp_path / "r.h5")
    assert "RuntimeWarning" not in result.output and "warning: lr / beta = 1e+30" in result.output


def test_stored_rates_are_not_turned_into_a_silent_zero():
    from neurosim.config import ConfigError, make_config

    with pytest.raises(ConfigError, match="lr=1e-320"):
        make_config(lr=(1e-320,))
    assert np.float32(make_config(lr=(1e-30,)).lr[0]) > 0


def test_a_finished_run_leaves_no_lock_file_and_a_killed_writers_is_taken_over(tmp_path):
    """The one-writer lock's file goes when the writer ends; one left by a killed writer (no process holds it) is
    locked, and removed, by the next."""
    out = tmp_path / "r.h5"
    assert invoke("train", *TINY, "--epochs", "1", "-o", out).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.h5"]
    (tmp_path / ".r.h5.lock").write_text("")  # as a killed writer leaves it
    assert invoke("train", "--resume", out, "--epochs", "2").exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.h5"]
    with writer_lock(out):
        assert (tmp_path / ".r.h5.lock").exists()
        with pytest.raises(Exception, match="another process is writing it"):
            with writer_lock(out):
                pass
    assert not (tmp_path / ".r.h5.lock").exists()
