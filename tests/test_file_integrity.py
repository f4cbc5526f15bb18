"""What a run file says is checked like user input; strict configuration types; no NaN network is checkpointed;
the list options and sweep settings refuse what they used to take silently."""

import hashlib
import json

import h5py
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import restamp

import neurosim.training as training
from neurosim.cli import main
from neurosim.config import ConfigError, make_config
from neurosim.store import RunFileError, load_run
from neurosim.training import TrainingDiverged, train

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
    with pytest.raises(RunFileError, match="digest does not match"):
        load_run(run_file)
    restamp(run_file)
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


def _overwrite(path, offset, data):
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(data)


@pytest.mark.parametrize("fill", ["zeros", "random"])
@pytest.mark.parametrize("where", ["network/blocks/L0-L1/weight", "network/bias", "state/free", "25%", "50%"])
def test_a_silently_corrupted_run_file_is_refused(run_file, where, fill):
    """4 KiB of zeros or random bytes over a dataset's stored chunk (or at 25 % / 50 % of the file, as the issue's
    fault injection did) must not read as a valid run: every dataset carries a Fletcher-32 checksum."""
    size = run_file.stat().st_size
    if where.endswith("%"):
        offset = size * int(where[:-1]) // 100
    else:
        with h5py.File(run_file, "r") as f:
            offset = f[where].id.get_chunk_info(0).byte_offset
    span = min(4096, size - offset)
    data = bytes(span) if fill == "zeros" else np.random.default_rng(0).bytes(span)
    with open(run_file, "rb") as fh:
        fh.seek(offset)
        if fh.read(span) == data:
            pytest.skip("the bytes there are already these")
    _overwrite(run_file, offset, data)
    with pytest.raises(RunFileError, match="damaged"):
        load_run(run_file)
    result = CliRunner().invoke(main, ["info", str(run_file)])
    assert result.exit_code == 1 and result.output.count("\n") == 1 and str(run_file) in result.output


def test_a_run_file_being_written_is_refused_to_a_second_writer(tmp_path, run_file):
    from neurosim.store import writer_lock

    before = digest(run_file)
    with writer_lock(run_file):  # as another training holds it
        for args in (["train", "--resume", str(run_file), "--epochs", "3"],
                     ["train", "--overwrite", "-o", str(run_file), "--sizes", "64-12-10", "--epochs", "1"]):
            result = CliRunner().invoke(main, args)
            assert result.exit_code == 1 and "another process is writing it" in result.output, result.output
            assert result.output.count("\n") == 1
    assert digest(run_file) == before
    result = CliRunner().invoke(main, ["train", "--resume", str(run_file), "--epochs", "3"])  # lock released
    assert result.exit_code == 0, result.output


def test_two_trainings_started_together_on_one_new_file_leave_one_run(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "same.h5"
    command = [sys.executable, "-m", "neurosim", "train", "-o", str(out), "--sizes", "64-12-10", "--epochs", "2",
               "--n-train", "200", "--n-test", "50", "--quiet"]
    procs = [subprocess.Popen(command + ["--seed", str(seed)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for seed in (1, 2)]
    results = [(p.wait(timeout=300), p.stdout.read() + p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 1], results
    loser = next(text for code, text in results if code == 1)
    assert "another process is writing it" in loser or "exists" in loser
    winner = [seed for seed, (code, _) in zip((1, 2), results) if code == 0][0]
    assert load_run(out).config["seed"] == winner and load_run(out).complete
    assert not list(tmp_path.glob(".same.h5.*.tmp"))


def test_a_checkpoint_removes_dead_writers_temporary_files_only(tmp_path, run_file):
    from neurosim.store import save_run

    live = tmp_path / f".run.h5.{__import__('os').getpid()}.abc.tmp"
    dead = tmp_path / ".run.h5.999999999.abc.tmp"
    old = tmp_path / ".run.h5.k3j4h5.tmp"  # an earlier version's name, without a process id
    for path in (live, dead, old):
        path.write_bytes(b"partial")
    save_run(run_file, load_run(run_file))
    assert live.exists() and not dead.exists() and not old.exists()


def test_a_full_disk_during_a_checkpoint_keeps_the_previous_one(run_file, monkeypatch):
    import errno

    import neurosim.atomic as atomic
    import neurosim.store as store

    before = digest(run_file)

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    with pytest.raises(RunFileError, match="No space left on device.*the previous checkpoint is intact"):
        store.save_run(run_file, load_run(run_file))
    assert digest(run_file) == before
    assert [p.name for p in run_file.parent.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize("free_kib", [100, 300, 500])
def test_training_on_a_real_full_disk_ends_in_one_line(tmp_path, free_kib):
    """A 1 MiB tmpfs (root only: skipped where it cannot be mounted) filled to leave ``free_kib``: the training
    ends with one `Error:` line and exit 1, leaves no temporary file, and any checkpoint it made still loads."""
    import subprocess
    import sys

    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        (disk / "fill").write_bytes(bytes((1024 - free_kib) * 1024))
        out = disk / "run.h5"
        done = subprocess.run([sys.executable, "-m", "neurosim", "train", "--sizes", "64-64-10", "--epochs", "2",
                               "-o", str(out), "--quiet"], capture_output=True, text=True, timeout=300)
        text = done.stdout + done.stderr
        assert done.returncode == 1 and text.startswith("Error:") and text.count("\n") == 1, text
        assert "No space left on device" in text
        assert not [p for p in disk.iterdir() if p.name.endswith(".tmp")]
        if out.exists():
            assert load_run(out).epochs_done < 2
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


@pytest.mark.parametrize("grid, args, says", [
    ("base = 5\n[grid]\nseed = [0, 1]\n", [], "base = 5: [base] must be a table"),
    ("out = 5\n[grid]\nseed = [0, 1]\n", [], "out = 5: must be a directory name"),
    ('[base]\nseed = 0\n[grid]\n"seed.x" = [0, 1]\n', [], "grid axis 'seed.x' is not a configuration field"),
    ("[base]\nepochs = 1\n[grid]\nseed = [0]\n", ["--scheduler", "not a url"], "--scheduler not a url: cannot connect"),
])
def test_bad_grids_and_schedulers_are_answered_in_one_line(tmp_path, grid, args, says):
    path = tmp_path / "g.toml"
    path.write_text(grid)
    result = CliRunner().invoke(main, ["sweep", str(path), *args])
    assert result.exit_code == 1 and says in result.output and result.output.count("\n") == 1, result.output


def test_outputs_into_a_path_through_a_file_are_answered_in_one_line(run_file, tmp_path):
    before = digest(run_file)
    for args in (["export", str(run_file), "--example", "0", "-o", f"{run_file}/e.cir"],
                 ["report", str(run_file), "-o", f"{run_file}/sub"],
                 ["train", "--epochs", "1", "-o", f"{run_file}/x.h5"],
                 ["train", "--epochs", "1", "-o", "/proc/x.h5"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1 and result.output.startswith("Error:"), (args, result.output)
        assert result.output.count("\n") == 1 and args[-1] in result.output, (args, result.output)
    assert digest(run_file) == before


def test_the_fixed_point_on_a_network_with_intralayer_connections_is_refused_before_any_file(tmp_path):
    out = tmp_path / "fp.h5"
    result = CliRunner().invoke(main, ["train", "--engine", "fixedpoint", "--epochs", "1", "-o", str(out)])
    assert result.exit_code == 1 and "without intralayer connections" in result.output
    assert not out.exists()
    assert make_config(engine="fixedpoint", intralayer=False).engine.name == "fixedpoint"


def _enospc_at_write(monkeypatch, k: int):
    """Make the k-th file write of the atomic writer (counted from now) fail with ENOSPC, as a full disk does."""
    import errno

    import neurosim.atomic as atomic

    calls = {"n": 0}
    real_fdopen = atomic.os.fdopen

    class Full:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self.fh.__exit__(*exc)

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.fh, name)

    def fdopen(fd, *args, **kwargs):
        fh = real_fdopen(fd, *args, **kwargs)
        calls["n"] += 1
        return Full(fh) if calls["n"] == k else fh

    monkeypatch.setattr(atomic.os, "fdopen", fdopen)
    return calls


@pytest.mark.slow
def test_a_full_disk_at_every_checkpoint_keeps_the_last_one_and_resumes_exactly(tmp_path, monkeypatch):
    """The long fault-injection: for each checkpoint write of a 4-epoch training (epoch 0 to 4), a disk that is
    full at exactly that write. The training stops with the disk's error naming the file, the file holds the
    checkpoint before (or none at the first), no temporary is left, and a resume on a disk with room again ends
    bit for bit where an uninterrupted run ends."""
    config = make_config(**{**SMALL, "epochs": 4})
    reference = train(config, progress=False).network
    for k in range(1, 6):
        out = tmp_path / f"full{k}.h5"
        with monkeypatch.context() as m:
            _enospc_at_write(m, k)
            with pytest.raises(RunFileError, match=r"No space left on device.*needs \d+\.\d KiB"):
                train(config, out=out, progress=False)
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        if k == 1:
            assert not out.exists()
            continue
        kept = load_run(out)
        assert kept.epochs_done == k - 2  # write k is the checkpoint of epoch k - 1: the one before it is kept
        final = train(config, out=out, run=kept, progress=False).network
        for a, b in zip(final.parameters(), reference.parameters(), strict=True):
            np.testing.assert_array_equal(a, b)
