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
