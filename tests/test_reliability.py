"""Crash safety, divergence, and clear errors on bad input (property-based where the input space is large)."""

import gzip
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurosim import network, topology
from neurosim.config import FIELDS, ConfigError, load_config, make_config
from neurosim.data import DataError, Dataset, load_dataset, load_idx_directory, read_idx
from neurosim.engines import Phase
from neurosim.netlist import netlist_text
from neurosim.store import RunFileError, load_run
from neurosim.training import TrainingDiverged, train

KILL_RUN = dict(sizes=(64, 12, 12, 10), n_train=200, n_test=50, n_free=40, rewire_n=20, epochs=8, batch_size=10)


def cli_args(settings_: dict) -> list[str]:
    args = []
    for key, value in settings_.items():
        value = "-".join(map(str, value)) if isinstance(value, tuple) else str(value)
        args += [f"--{key.replace('_', '-')}", value]
    return args


def start_training(command, out):
    """Start a training subprocess; return it once its run file exists (the epoch-0 checkpoint)."""
    started = time.monotonic()
    process = subprocess.Popen([*command, "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while not out.exists() and process.poll() is None and time.monotonic() - started < 60:
        time.sleep(0.005)
    assert out.exists(), process.stderr.read().decode()
    return process


def checkpoint_times(process, out) -> list[float]:
    """Seconds from the first checkpoint of a running training to each later one (each replaces the file, so
    its inode changes), until the process ends."""
    started, inode, times = time.monotonic(), os.stat(out).st_ino, []
    while process.poll() is None:
        current = os.stat(out).st_ino
        if current != inode:
            inode = current
            times.append(time.monotonic() - started)
        time.sleep(0.002)
    return times


def test_sigkill_at_random_moments_leaves_a_readable_run_that_resumes_exactly(tmp_path):
    kill_and_resume(tmp_path, kills=7, seed=0)


@pytest.mark.slow
def test_sigkill_long(tmp_path):
    """The long version: 40 kill moments at another seed (about 5 min)."""
    kill_and_resume(tmp_path, kills=40, seed=1)


def kill_and_resume(tmp_path, kills: int, seed: int) -> None:
    """SIGKILL a training at ``kills`` moments spread over its first 80 % (checkpoint writes included, jittered by
    ``seed``); every file left must load, and resume to exactly the uninterrupted run's weights."""
    reference = train(make_config(**KILL_RUN), progress=False).network
    command = [sys.executable, "-m", "neurosim", "train", "--quiet", *cli_args(KILL_RUN)]
    calibration = checkpoint_times(start_training(command, tmp_path / "whole.h5"), tmp_path / "whole.h5")
    end = calibration[-1] if calibration else 1.0  # the last checkpoint: the end of training
    moments = (np.arange(kills) + np.random.default_rng(seed).uniform(size=kills)) / kills * 0.8 * end
    outcomes = []
    for trial, moment in enumerate(moments):
        out = tmp_path / f"kill{trial}.h5"
        process = start_training(command, out)
        time.sleep(moment)  # somewhere in the eight epochs, checkpoint writes included
        process.send_signal(signal.SIGKILL)
        process.wait()
        run = load_run(out)  # readable, whatever the moment
        outcomes.append(run.epochs_done)
        if not run.complete:
            resumed = subprocess.run([sys.executable, "-m", "neurosim", "train", "--resume", str(out), "--quiet"],
                                     capture_output=True, text=True)
            assert resumed.returncode == 0, resumed.stderr
        final = load_run(out).network
        for a, b in zip(final.parameters(), reference.parameters(), strict=True):
            np.testing.assert_array_equal(a, b)
        assert not list(tmp_path.glob(f".{out.name}.*.tmp"))  # the resumed run cleared any half-written temporary
    assert sum(done < KILL_RUN["epochs"] for done in outcomes) >= 0.7 * kills, outcomes  # most landed mid-training


def test_truncated_run_files_are_reported_as_damaged(tmp_path):
    train(make_config(**{**KILL_RUN, "epochs": 1}), out=tmp_path / "whole.h5", progress=False)
    whole = (tmp_path / "whole.h5").read_bytes()
    for offset in np.random.default_rng(1).integers(0, len(whole), size=25):
        cut = tmp_path / "cut.h5"
        cut.write_bytes(whole[:offset])
        with pytest.raises(RunFileError, match="cut.h5"):
            load_run(cut)


def test_a_failed_checkpoint_write_keeps_the_previous_one(tmp_path, monkeypatch):
    out = tmp_path / "run.h5"
    train(make_config(**{**KILL_RUN, "epochs": 1}), out=out, progress=False)
    before, run = out.read_bytes(), load_run(out)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(h5py, "File", disk_full)
    with pytest.raises(RunFileError, match="No space left on device.*previous one is intact"):
        train(make_config(**{**KILL_RUN, "epochs": 2}), run=run, out=out, progress=False)
    assert out.read_bytes() == before and not list(tmp_path.glob("*.tmp"))


def test_divergence_stops_with_its_place_and_keeps_the_last_checkpoint(tmp_path):
    settings_ = dict(sizes=(64, 12, 10), topology="layered", n_free=20, batch_size=10)
    data = load_dataset("digits", n_train=60, n_test=20)
    out = tmp_path / "run.h5"
    train(make_config(epochs=1, **settings_), data=data, out=out, progress=False)
    saved = load_run(out).network
    x = data.x_train.copy()
    x[35] = np.nan
    bad = Dataset("digits", x, data.y_train, data.x_test, data.y_test, 10)
    with pytest.raises(TrainingDiverged, match=r"epoch 2, batch \d+: .* not finite"):
        train(make_config(epochs=2, **settings_), data=bad, run=load_run(out), out=out, progress=False)
    kept = load_run(out)
    assert kept.epochs_done == 1
    for a, b in zip(kept.network.parameters(), saved.parameters(), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(TrainingDiverged, match=r"epoch 1, batch 1: the free phase did not settle .*max_residual"):
        train(make_config(epochs=1, max_residual=1e-9, **settings_), data=data, progress=False)


# --- property-based: only the project's own errors, never a traceback from deep inside ----------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.one_of(
    st.binary(max_size=64),
    st.builds(lambda t, d, dims, body: bytes([0, 0, t, d]) + dims + body,
              st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x07]), st.integers(0, 4),
              st.binary(max_size=16), st.binary(max_size=64)),
), compress=st.booleans(), cut=st.integers(0, 8))
def test_idx_reader_answers_any_bytes_with_an_array_or_a_data_error(tmp_path, raw, compress, cut):
    payload = gzip.compress(raw) if compress else raw
    path = tmp_path / "f.idx"
    path.write_bytes(payload[: len(payload) - cut] if compress and cut else payload)
    try:
        array = read_idx(path)
    except DataError as err:
        assert "f.idx" in str(err)
    else:
        assert array.ndim == raw[3] and array.size * array.itemsize == len(raw) - 4 - 4 * raw[3]


def write_idx(path, array):
    codes = {np.dtype(np.uint8): 0x08, np.dtype(np.int32): 0x0C}
    header = bytes([0, 0, codes[array.dtype], array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.astype(array.dtype.newbyteorder(">")).tobytes())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(labels=st.lists(st.integers(-3, 300), min_size=0, max_size=6), n_images=st.integers(0, 6),
       signed=st.booleans())
def test_idx_directory_with_bad_labels_or_counts_is_a_data_error(tmp_path, labels, n_images, signed):
    for prefix in ("train", "t10k"):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", np.zeros((n_images, 2, 2), dtype=np.uint8))
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte",
                  np.array(labels, dtype=np.int32 if signed else np.uint8) if signed or max(labels, default=0) < 256
                  and min(labels, default=0) >= 0 else np.array(labels, dtype=np.int32))
    try:
        data = load_idx_directory(tmp_path, "mnist")
    except DataError as err:
        assert str(tmp_path) in str(err)
    else:
        assert len(data.y_train) == n_images > 0 and data.y_train.max() <= 9 and data.y_train.min() >= 0


values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=200, deadline=None)
@given(config=st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), values, max_size=6))
def test_configuration_answers_any_values_with_a_config_or_a_config_error(config):
    try:
        make_config(**config)
    except ConfigError as err:
        assert "invalid configuration" in str(err)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200) | st.binary(max_size=100).map(lambda b: b.decode("latin-1")))
def test_configuration_files_answer_any_text_with_a_config_error_naming_the_file(tmp_path, text):
    path = tmp_path / "c.toml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        load_config(path)
    except ConfigError as err:
        assert "c.toml" in str(err)


def small_net():
    graph = topology.small_world([3, 4, 2], n=2, seed=0)
    return network.from_graph(graph, seed=0, dtype=np.float64)


STATEMENTS = ("Xin_", "Xn_", "Ib_", "Gp_", "Gm_", "Xnudge_", ".include", ".ic", ".options method=gear", ".tran",
              ".control", "set ", "run", "wrdata", "rusage", "quit", ".endc", ".end")


@settings(max_examples=150, deadline=None)
@given(title=st.text(max_size=60), data_file=st.text(max_size=20), scale=st.floats(allow_nan=True,
       allow_infinity=True), x=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=3, max_size=3),
       beta=st.floats(0, 10) | st.just(float("nan")))
def test_netlist_writer_answers_any_input_with_a_netlist_or_a_value_error(title, data_file, scale, x, beta):
    net = small_net()
    net.blocks[0].weight *= scale
    try:
        text = netlist_text(net, x, title=title, data_file=data_file or "d.data",
                            phase=Phase(beta, np.zeros(2)) if beta else Phase())
    except ValueError as err:
        assert str(err)
    else:
        for line in text.splitlines():
            if line and not line.startswith("*"):
                assert line.startswith(STATEMENTS), line
