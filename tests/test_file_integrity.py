"""What a run file says is checked like user input; strict configuration types; no NaN network is checkpointed;
the list options and sweep settings refuse what they used to take silently."""

import hashlib
import json

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

import neurosim.train as training
from neurosim.cli import main
from neurosim.config import ConfigError, make_config
from neurosim.store import RunFileError, load_run
from neurosim.train import TrainingDiverged, train

SMALL = dict(sizes=(64, 12, 10), n_train=60, n_test=20, n_free=20, epochs=2, batch_size=20)


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def run_file(tmp_path):
    out = tmp_path / "run.h5"
    train(make_config(**SMALL), out=out, progress=False)
    return out


@pytest.mark.parametrize("bad, named", [
    (dict(epochs="1"), "epochs='1'"), (dict(epochs=1.0), "epochs=1.0"), (dict(intralayer="yes"), "intralayer='yes'"),
    (dict(persistent="no"), "persistent='no'"), (dict(lr=(float("inf"),)), "lr.0=inf"),
    (dict(beta=float("nan")), "beta=nan"), (dict(seed=2**70), "seed="),
    (dict(hardware={"storage": {"bits": "4"}}), "storage.bits='4'"),
])
def test_configuration_types_are_strict(bad, named):
    with pytest.raises(ConfigError, match=named.replace(".", r"\.").replace("(", r"\(")):
        make_config(**bad)


@pytest.mark.parametrize("change, says", [
    (lambda f: f.attrs.modify("config", "{}"), "lacks epochs"),
    (lambda f: f.attrs.modify("config", "[1, 2]"), "not a table of settings"),
    (lambda f: f.attrs.modify("config", json.dumps({**json.loads(f.attrs["config"]), "epochs": -3})), "does not parse"),
    (lambda f: f["topology"].attrs.__delitem__("kind"), "topology lacks kind"),
    (lambda f: (f["network/blocks"][sorted(f["network/blocks"])[0]].__delitem__("weight"),
                f["network/blocks"][sorted(f["network/blocks"])[0]].create_dataset("weight", data=np.zeros((3, 3)))),
     "has shape (3, 3)"),
])
def test_a_run_file_whose_contents_disagree_is_refused_and_resume_writes_nothing(run_file, change, says):
    with h5py.File(run_file, "r+") as f:
        change(f)
    before = digest(run_file)
    with pytest.raises(RunFileError, match=says.replace("(", r"\(").replace(")", r"\)")):
        load_run(run_file)
    result = CliRunner().invoke(main, ["train", "--resume", str(run_file), "--epochs", "3"])
    assert result.exit_code == 1 and result.output.count("\n") == 1 and "damaged run file" in result.output
    assert digest(run_file) == before


def test_resume_with_fewer_epochs_than_done_is_refused(run_file):
    before = digest(run_file)
    result = CliRunner().invoke(main, ["train", "--resume", str(run_file), "--epochs", "1"])
    assert result.exit_code == 2 and "2 epochs done" in result.output
    assert digest(run_file) == before


def test_a_network_made_nan_by_an_epochs_last_batch_is_never_checkpointed(tmp_path, monkeypatch):
    real = training._train_epoch

    def poisoning(config, run, net, controller, data, epoch, noise_rng, progress):
        tally = real(config, run, net, controller, data, epoch, noise_rng, progress)
        if epoch == 1:
            net.blocks[0].weight[0, 0] = np.nan  # what a last batch's update could do
        return tally

    monkeypatch.setattr(training, "_train_epoch", poisoning)
    out = tmp_path / "nan.h5"
    with pytest.raises(TrainingDiverged, match=r"epoch 2: the weights 0-1 are not finite"):
        train(make_config(**SMALL), out=out, progress=False)
    kept = load_run(out)
    assert kept.epochs_done == 1 and all(np.all(np.isfinite(p)) for p in kept.network.parameters())


@pytest.mark.parametrize("args, says", [
    (["--bits=-2"], "bits -2"), (["--seeds=-1"], "seed -1"), (["--topologies", ","], "--topologies"),
])
def test_bitdepth_lists_keep_their_signs_and_refuse_empty(tmp_path, args, says):
    result = CliRunner().invoke(main, ["bitdepth", *args, "-o", str(tmp_path / "s")])
    assert result.exit_code == 1 and says in result.output and not (tmp_path / "s").exists()


def test_sweep_refuses_zero_workers_and_fails_when_every_point_fails(tmp_path):
    grid = tmp_path / "grid.toml"
    grid.write_text('[base]\nepochs = 1\nn_train = 20\nn_test = 10\n[grid]\nrule = ["bp"]\n')  # bp on small-world
    failed = CliRunner().invoke(main, ["sweep", str(grid), "--quiet"])
    assert failed.exit_code == 1 and "every point" in failed.output
    grid.write_text('[base]\nepochs = 1\nn_train = 20\nn_test = 10\n[grid]\nseed = [0]\n')
    zero = CliRunner().invoke(main, ["sweep", str(grid), "--workers", "0", "--quiet"])
    assert zero.exit_code == 1 and "--workers 0" in zero.output
