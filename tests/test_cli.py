import pytest
import h5py
from click.testing import CliRunner

from neurosim.cli import main
from conftest import restamp

TINY = ["--sizes", "64-12-12-10", "--n-train", "100", "--n-test", "50", "--n-free", "20", "--rewire-n", "20", "--quiet"]


def test_train_then_info_then_resume(tmp_path):
    runner = CliRunner()
    out = tmp_path / "run.h5"
    result = runner.invoke(main, ["train", "--epochs", "1", "-o", str(out), *TINY])
    assert result.exit_code == 0, result.output
    assert "test error" in result.output and str(out) in result.output
    info = runner.invoke(main, ["info", str(out)])
    assert info.exit_code == 0 and "64-12-12-10" in info.output and "L=" in info.output and "C=" in info.output
    again = runner.invoke(main, ["train", "--epochs", "1", "-o", str(out), *TINY])
    assert again.exit_code != 0 and "exists" in again.output
    resumed = runner.invoke(main, ["train", "--resume", str(out), "--epochs", "2", "--quiet"])
    assert resumed.exit_code == 0, resumed.output
    with h5py.File(out, "r") as f:
        assert f.attrs["epochs_done"] == 2


def test_bad_values_are_named_and_nothing_is_written(tmp_path):
    runner = CliRunner()
    out = tmp_path / "bad.h5"
    result = runner.invoke(main, ["train", "--beta", "-1", "--eps", "0", "-o", str(out)])
    assert result.exit_code != 0
    assert "beta=-1.0" in result.output and "eps=0.0" in result.output
    assert not out.exists()
    missing = runner.invoke(main, ["train", "--dataset", "mnist", "--data-dir", str(tmp_path / "none"), "-o", str(out)])
    assert missing.exit_code != 0 and "does not exist" in missing.output
    resume_change = runner.invoke(main, ["train", "--resume", str(out), "--beta", "2"])
    assert resume_change.exit_code != 0 and "only --epochs" in resume_change.output
    info = runner.invoke(main, ["info", str(tmp_path / "nothing.h5")])
    assert info.exit_code != 0 and "no such run file" in info.output


def test_a_run_branches_into_one_that_removes_its_skip_connections(tmp_path):
    runner = CliRunner()
    kept, removed = tmp_path / "kept.h5", tmp_path / "removed.h5"
    assert runner.invoke(main, ["train", "--epochs", "1", "-o", str(kept), *TINY]).exit_code == 0
    before = kept.read_bytes()
    branch = ["train", "--resume", str(kept), "-o", str(removed), "--epochs", "2", "--quiet"]
    result = runner.invoke(main, [*branch, "--remove-skip-after", "1"])
    assert result.exit_code == 0, result.output
    assert kept.read_bytes() == before  # the run branched from is untouched
    with h5py.File(removed, "r") as f:
        assert f["topology"].attrs["skip_removed_after"] == 1 and len(f["network/sparse/weight"]) == 0
    info = runner.invoke(main, ["info", str(removed)])
    assert "(20 skips removed after epoch 1)" in info.output, info.output
    late = runner.invoke(main, ["train", "--resume", str(removed), "--epochs", "3", "--remove-skip-after", "4"])
    assert late.exit_code != 0 and "configured remove_skip_after 1" in late.output
    early = runner.invoke(main, [*branch, "--remove-skip-after", "0"])
    assert early.exit_code != 0 and "--remove-skip-after 0" in early.output


def test_silent_output_units_are_shown_and_warned_about(tmp_path):
    runner = CliRunner()
    out = tmp_path / "run.h5"
    assert runner.invoke(main, ["train", "--epochs", "1", "-o", str(out), *TINY]).exit_code == 0
    with h5py.File(out, "a") as f:  # as if 3 of the 10 outputs had gone silent in that epoch
        f["history/silent_outputs"][0] = 3
    restamp(out)
    info = runner.invoke(main, ["info", str(out)])
    lines = info.output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("epoch ") and "silent_out" in line)
    assert lines[header + 1].split()[3] == "3", info.output
    resumed = runner.invoke(main, ["train", "--resume", str(out), "--epochs", "1", "--quiet"])
    assert resumed.exit_code == 0 and "warning: 3 of 10 output units were silent" in resumed.output, resumed.output


def test_a_run_whose_store_lost_every_update_says_so(tmp_path):
    """4-bit weights with nearest rounding: every update of the default digits run is below half a weight step
    (docs/hardware.md), so nothing trains; the command says why instead of only printing chance-level errors."""
    from neurosim.metrics import lost_update_pairs

    assert lost_update_pairs([[1e-3, 2e-3], [1e-3, 0.0]], [[0.0, 1e-3], [0.0, 0.0]]) == [0]
    assert lost_update_pairs([[0.0, 0.0]], [[0.0, 0.0]]) == []  # nothing proposed: nothing lost
    assert lost_update_pairs([], []) == []
    runner = CliRunner()
    lost = runner.invoke(main, ["train", "--weight-bits", "4", "--epochs", "1", "--n-train", "200", "-o",
                                str(tmp_path / "lost.h5"), "--quiet"])
    assert lost.exit_code == 0 and "never changed" in lost.output and "--rounding stochastic" in lost.output
    kept = runner.invoke(main, ["train", "--weight-bits", "4", "--rounding", "stochastic", "--epochs", "1",
                                "--n-train", "200", "-o", str(tmp_path / "kept.h5"), "--quiet"])
    assert kept.exit_code == 0 and "never changed" not in kept.output


def test_first_hour_answers(tmp_path):
    """Issue 21's cases: a TOML lr of one number, a small-world net without hidden layers, resuming a finished run,
    exporting into a folder that does not exist yet."""
    from neurosim.config import ConfigError, load_config, make_config

    (tmp_path / "c.toml").write_text("lr = 0.1\n")
    assert load_config(tmp_path / "c.toml").lr == (0.1,)
    with pytest.raises(ConfigError, match="needs at least one hidden layer"):
        make_config(topology="small-world", sizes=(64, 10))
    cli = CliRunner()
    out = tmp_path / "r.h5"
    done = cli.invoke(main, ["train", "--n-train", "40", "--n-test", "20", "--epochs", "1", "--sizes", "64-8-10",
                             "--n-free", "5", "--quiet", "-o", str(out)])
    assert done.exit_code == 0 and "after 1 epoch;" in done.output, done.output
    again = cli.invoke(main, ["train", "--resume", str(out)])
    assert again.exit_code == 0 and "is complete (1 epoch): nothing to train" in again.output
    exported = cli.invoke(main, ["export", str(out), "--example", "0", "-o", str(tmp_path / "new" / "e.cir")])
    assert exported.exit_code == 0 and (tmp_path / "new" / "e.cir").exists(), exported.output


def test_ctrl_c_says_what_was_saved_and_how_to_resume(tmp_path, monkeypatch):
    import neurosim.cli as cli_module
    from neurosim.training import train as real_train

    def interrupted_after_one_epoch(*args, **kwargs):
        def stop(run):
            raise KeyboardInterrupt

        return real_train(*args, **kwargs, on_epoch=stop)

    monkeypatch.setattr(cli_module, "train", interrupted_after_one_epoch)
    out = tmp_path / "r.h5"
    result = CliRunner().invoke(main, ["train", "--n-train", "40", "--n-test", "20", "--epochs", "3",
                                                       "--sizes", "64-8-10", "--n-free", "5", "--quiet", "-o", str(out)])
    assert result.exit_code == 130
    assert "(1 epoch done)" in result.stderr and f"neurosim train --resume {out}" in result.stderr


def test_ctrl_c_in_a_study_says_the_same_command_goes_on(tmp_path, monkeypatch):
    import neurosim.bitdepth as bitdepth

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(bitdepth, "run_study", interrupted)
    result = CliRunner().invoke(main, ["bitdepth", "--bits", "4", "-o", str(tmp_path / "s")])
    assert result.exit_code == 130 and "run the same command again" in result.stderr


SMALL = ["--n-train", "40", "--n-test", "20", "--sizes", "64-8-8-10", "--n-free", "5", "--quiet"]


@pytest.mark.parametrize("case, args, needles", [
    ("fixedpoint on an intralayer network", ["--engine", "fixedpoint"], ["--no-intralayer"]),
    ("small-world without hidden layers", ["--sizes", "64-10"], ["needs at least one hidden layer"]),
    ("a rate out of range", ["--lr", "-1"], ["lr"]),
    ("a missing data directory", ["--dataset", "mnist", "--data-dir", "{tmp}/none"], ["does not exist"]),
    ("spice without ngspice", ["--engine", "spice", "--epochs", "1"], ["ngspice not found", "apt-get install"]),
])
def test_every_first_hour_failure_is_one_error_line_and_leaves_no_file(tmp_path, case, args, needles):
    """Issue 21: each failure a new user met ends in one `Error:` line that names the cure, no traceback, and no
    run file left behind (what can be checked is checked before the file is written)."""
    out = tmp_path / "sub" / "run.h5"
    env = {"PATH": str(tmp_path)} if "spice" in args else None  # a PATH without ngspice on it
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = CliRunner().invoke(main, ["train", *SMALL, *args, "-o", str(out)], env=env)
    assert result.exit_code != 0, (case, result.output)
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), case
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "Traceback" not in result.output, (case, result.output)
    for needle in needles:
        assert needle in result.output, (case, result.output)
    assert not out.exists() and not list(tmp_path.rglob("*.h5")), case


def test_every_first_hour_warning_explains(tmp_path):
    """Issue 21's cases that train but need a word: a huge rate, resuming with fewer or the same epochs, and an
    output folder that does not exist yet (created, as export does)."""
    cli = CliRunner()
    out = tmp_path / "new" / "folder" / "r.h5"
    huge = cli.invoke(main, ["train", *SMALL, "--epochs", "1", "--lr", "1e6", "-o", str(out)])
    assert huge.exit_code == 0 and out.exists(), huge.output
    assert "lr / beta = 1e+06" in huge.stderr and "Table 1" in huge.stderr
    normal = cli.invoke(main, ["train", *SMALL, "--epochs", "1", "-o", str(tmp_path / "n.h5")])
    assert normal.exit_code == 0 and "lr / beta" not in normal.stderr
    fewer = cli.invoke(main, ["train", "--resume", str(out), "--epochs", "0"])
    assert fewer.exit_code != 0 and "has 1 epochs done; give more" in fewer.output
    same = cli.invoke(main, ["train", "--resume", str(out), "--epochs", "1"])
    assert same.exit_code == 0 and "nothing to train" in same.output
    info = cli.invoke(main, ["info", str(out)])
    assert info.exit_code == 0 and "after 1 epochs" not in info.output
    assert "spread (eq 23): not defined (" in info.output or "spread (eq 23): " in info.output
