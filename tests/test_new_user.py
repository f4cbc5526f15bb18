"""What a new user hit in their second hour (issue 42): typos named with the fix, data sets named with the sizes,
a sweep stopped with Ctrl-C told how to go on."""

import pytest
from click.testing import CliRunner

import neurosim.sweep as sweep
from neurosim.cli import main
from neurosim.config import ConfigError, make_config
from neurosim.sweep import load_grid


def test_a_configuration_typo_names_the_field_meant(tmp_path):
    with pytest.raises(ConfigError, match=r"'epoch' \(did you mean 'epochs'\?\)"):
        make_config(epoch=3)
    (tmp_path / "c.toml").write_text("lerning_rate = 0.1\nbatch_sise = 10\n")
    result = CliRunner().invoke(main, ["train", "--config", str(tmp_path / "c.toml")])
    assert result.exit_code == 1 and "did you mean 'batch_size'" in result.output, result.output


def test_a_grid_axis_typo_is_refused_before_the_sweep_starts_with_the_name_meant(tmp_path):
    (tmp_path / "g.toml").write_text('[grid]\n"hardware.storage.bit" = [2, 4]\n')
    with pytest.raises(ConfigError, match=r"did you mean 'hardware.storage.bits'"):
        load_grid(tmp_path / "g.toml")
    (tmp_path / "g.toml").write_text('[grid]\n"hardware.storage.bits" = [2, 4]\n"engine.n_free" = [5]\n'
                                     '"hardware.variation.device" = [0.0]\n')  # the last: a name before its rename
    assert list(load_grid(tmp_path / "g.toml").axes) == ["hardware.storage.bits", "engine.n_free",
                                                         "hardware.variation.device"]


def test_sizes_of_another_data_set_name_it(tmp_path):
    result = CliRunner().invoke(main, ["train", "--sizes", "784-20-10", "-o", str(tmp_path / "r.h5")])
    assert result.exit_code == 1 and "(--dataset mnist or fashion-mnist has 784)" in result.output, result.output


def test_ctrl_c_in_a_sweep_says_the_same_command_goes_on(tmp_path, monkeypatch):
    (tmp_path / "g.toml").write_text("[grid]\nseed = [0, 1]\n")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep, "run_sweep", interrupted)
    result = CliRunner().invoke(main, ["sweep", str(tmp_path / "g.toml")])
    assert result.exit_code == 130 and "run the same command again to go on" in result.output
    assert "Aborted" not in result.output and "Traceback" not in result.output


def test_a_sweep_ends_with_its_table_in_readable_numbers(tmp_path):
    """Issue 42, item 6: the sweep prints each finished point with its error, its CSV holds rounded numbers, and
    a list setting reads as its values (lr=0.05, not lr=(0.05,))."""
    import csv

    from neurosim.studypoints import setting_text

    (tmp_path / "g.toml").write_text("[base]\nn_train = 20\nn_test = 10\nsizes = [64, 6, 10]\nepochs = 1\n"
                                     "n_free = 5\n[grid]\nlr = [[0.05], [0.1, 0.02]]\n")
    result = CliRunner().invoke(main, ["sweep", str(tmp_path / "g.toml"), "--workers", "1", "--quiet",
                                       "-o", str(tmp_path / "g")])  # -o as every other command has it (item 10)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].startswith("  lr=0.05: test error ") and lines[2].startswith("  lr=0.1,0.02: test error ")
    for row in csv.DictReader(open(tmp_path / "g" / "sweep.csv")):
        for key in ("test_error", "train_seconds"):  # at most 6 significant digits
            assert row[key] == f"{float(row[key]):.6g}", row
    assert setting_text((0.05,)) == "0.05" and setting_text([1, 2]) == "1,2" and setting_text("x") == "x"
