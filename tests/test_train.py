import json

import h5py
import numpy as np
import pytest

from neurosim import network, topology
from neurosim.config import ConfigError, make_config
from neurosim.data import Dataset, load_dataset
from neurosim.store import load_run
from neurosim.build import controller_of
from neurosim.training import TrainingDiverged, evaluate, train
from conftest import as_older_format

SMALL = dict(n_train=200, n_test=100, sizes=(64, 16, 16, 10), n_free=30, batch_size=20, rewire_n=40)


def test_one_epoch_on_mnist_learns(mnist_dir):
    config = make_config(
        dataset="mnist",
        data_dir=str(mnist_dir),
        n_train=10000,
        n_test=1000,
        topology="layered",
        sizes=(784, 100, 10),
        lr=(0.2, 0.1),
        epochs=1,
        seed=0,
    )
    run = train(config, progress=False)
    assert run.history["test_error"][0] < 0.15
    assert run.history["train_error"][0] < 0.3


def test_resume_gives_the_weights_of_an_uninterrupted_run(tmp_path):
    base = dict(SMALL, random_sign=True, seed=3)
    straight = train(make_config(epochs=4, **base), progress=False)
    train(make_config(epochs=2, **base), out=tmp_path / "run.h5", progress=False)
    halfway = load_run(tmp_path / "run.h5")
    assert halfway.epochs_done == 2
    resumed = train(make_config(epochs=4, **base), run=halfway, out=tmp_path / "run.h5", progress=False)
    for a, b in zip(straight.network.parameters(), resumed.network.parameters(), strict=True):
        np.testing.assert_array_equal(a, b)
    for key in ("train_error", "test_error", "free_residual_max"):
        assert straight.history[key] == resumed.history[key]
    assert straight.batches["beta"] == load_run(tmp_path / "run.h5").batches["beta"]
    assert set(straight.batches["beta"]) == {1.0, -1.0}


def test_run_file_holds_config_topology_history_and_weights(tmp_path):
    config = make_config(epochs=2, rate_every=3, **SMALL)
    run = train(config, out=tmp_path / "r.h5", progress=False)
    with h5py.File(tmp_path / "r.h5", "r") as f:
        assert json.loads(f.attrs["config"])["rewire_n"] == 40
        assert f["config"].attrs["engine.n_free"] == 30
        assert f.attrs["epochs_done"] == 2 and bool(f.attrs["complete"])
        assert f["topology"].attrs["path_length"] == pytest.approx(run.topology["path_length"])
        assert 0 < f["topology"].attrs["clustering"] < 1
        assert "numpy" in f["versions"].attrs
        assert f["history/test_error"].shape == (2,)
        n_batches = 2 * 10
        assert f["batches/free_residual"].shape == (n_batches,)
        assert np.all(np.isnan(f["batches/free_settling_time"][()]))  # Euler has no physical time
        assert f["rates/rms"].shape == (len(range(0, n_batches, 3)), 3)
        assert np.all(f["rates/rms"][()] > 0)
        np.testing.assert_array_equal(f["network/bias"][()], run.network.bias)
    loaded = load_run(tmp_path / "r.h5")
    np.testing.assert_array_equal(loaded.network.dense_weights(), run.network.dense_weights())
    np.testing.assert_array_equal(loaded.edges, run.edges)


def test_training_changes_weights_with_the_rates_asked():
    data = load_dataset("digits", n_train=100, n_test=50)
    config = make_config(epochs=1, topology="layered", sizes=(64, 8, 10), lr=(0.1, 0.0001), n_free=20)
    run = train(config, data=data, progress=False)
    rms = np.asarray(run.rate_rms)
    assert np.all(rms[:, 0] > 10 * rms[:, 1])  # the pair with a 1000x larger rate moves far more


def test_divergence_stops_with_epoch_batch_and_quantity():
    data = load_dataset("digits", n_train=60, n_test=20)
    x = data.x_train.copy()
    x[45, 3] = np.nan  # every example is seen in epoch 1, so some batch of it holds this one
    bad = Dataset("digits", x, data.y_train, data.x_test, data.y_test, 10)
    with pytest.raises(TrainingDiverged, match=r"epoch 1, batch \d+: free_state is not finite"):
        train(make_config(epochs=1, n_free=5, n_test=20), data=bad, progress=False)


def test_bad_configuration_is_rejected_before_work():
    with pytest.raises(ConfigError, match=r"beta=0(\.0)?: Input should be greater than 0"):
        make_config(beta=0)
    with pytest.raises(ConfigError, match=r"rewire_p=1.5"):
        make_config(rewire_p=1.5)
    with pytest.raises(ConfigError, match=r"topology='ring'"):
        make_config(topology="ring")
    with pytest.raises(ConfigError, match="sizes\\[0\\]=10"):
        train(make_config(sizes=(10, 5, 10)), progress=False)
    with pytest.raises(ConfigError, match="lr="):
        make_config(sizes=(64, 5, 10), lr=(0.1, 0.2, 0.3))


def test_warm_starts_and_tolerance_cut_iterations_and_resume_exactly(tmp_path):
    base = dict(SMALL, n_free=200, tol=1e-3, seed=2)
    cold = train(make_config(epochs=3, persistent=False, **base), progress=False)
    warm = train(make_config(epochs=3, persistent=True, **base), progress=False)
    assert cold.history["iterations"][-1] < 3 * 10 * (200 + 8)  # tol stopped phases early
    assert warm.history["iterations"][-1] < cold.history["iterations"][-1]  # warm starts need fewer
    assert warm.free_states.shape == (200, 42) and np.any(warm.free_states)
    train(make_config(epochs=1, persistent=True, **base), out=tmp_path / "w.h5", progress=False)
    resumed = train(make_config(epochs=3, persistent=True, **base), run=load_run(tmp_path / "w.h5"), progress=False)
    for a, b in zip(warm.network.parameters(), resumed.network.parameters(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_run_continued_with_cold_starts_starts_every_free_phase_at_zero(tmp_path):
    """Warm starts in epoch 1, then the same run continued with ``persistent=False``: epoch 2 starts at zero,
    as a run that never kept states does (the same parameters), not at the stored states."""
    base = dict(SMALL, n_free=30, seed=3)
    train(make_config(epochs=1, persistent=True, **base), out=tmp_path / "w.h5", progress=False)
    continued = train(make_config(epochs=2, persistent=False, **base), run=load_run(tmp_path / "w.h5"),
                      out=tmp_path / "c.h5", progress=False)
    assert load_run(tmp_path / "c.h5").free_states is None  # the file says so too
    stateless = load_run(tmp_path / "w.h5")
    stateless.free_states = stateless.test_states = None
    expected = train(make_config(epochs=2, persistent=False, **base), run=stateless, progress=False)
    assert continued.free_states is None and continued.test_states is None
    for a, b in zip(expected.network.parameters(), continued.network.parameters(), strict=True):
        np.testing.assert_array_equal(b, a)


def test_tolerance_with_cuda_graphs_is_rejected():
    with pytest.raises(ConfigError, match="tol > 0"):
        make_config(tol=1e-3, device="cuda")


def test_older_run_files_without_later_columns_still_load(tmp_path):
    train(make_config(epochs=1, **SMALL), out=tmp_path / "old.h5", progress=False)
    with h5py.File(tmp_path / "old.h5", "a") as f:
        del f["history/iterations"], f["history/silent_outputs"], f["batches/free_steps"]
    as_older_format(tmp_path / "old.h5")
    old = load_run(tmp_path / "old.h5")
    assert np.isnan(old.history["iterations"][0]) and len(old.batches["free_steps"]) == 10
    assert np.isnan(old.history["silent_outputs"][0])
    with h5py.File(tmp_path / "old.h5", "a") as f:
        del f["history/test_error"]
    with pytest.raises(Exception, match="damaged"):
        load_run(tmp_path / "old.h5")


def test_evaluate_counts_the_output_units_silent_on_every_test_example():
    """A 64-10 network has no hidden layer, so its output equilibrium is y = clip(W x + b, 0, 1) exactly. Output
    biases of -100 silence units 0, 3 and 4 on every example; unit 9 copies pixel 20 less 0.5 and is silent only
    where that pixel is at most 0.5, so it counts as silent only when it is so on every example."""
    sizes = (64, 10)
    config = make_config(n_train=10, n_test=50, sizes=sizes, topology="layered", n_free=40)
    data = load_dataset("digits", n_train=10, n_test=50)
    x = data.x_test.astype(np.float32)
    net = network.from_graph(topology.layered(sizes), seed=0, dtype=np.float32)
    weight = net.blocks[0].weight
    weight[:, 9] = 0.0
    weight[20, 9] = 1.0
    net.bias[:] = np.where(np.isin(np.arange(10), [0, 3, 4]), -100.0, 100.0)
    net.bias[9] = -0.5
    assert 0 < np.count_nonzero(x[:, 20] > 0.6) < len(x)  # pixel 20 is bright on some examples only
    result = evaluate(controller_of(config, net), net, x, data.y_test)
    assert result.silent_outputs == 3
    dim = x[:, 20] <= 0.5
    assert evaluate(controller_of(config, net), net, x[dim], data.y_test[dim]).silent_outputs == 4
    assert result.error == np.mean(data.y_test != 1)  # the live units but 9 sit at 1: argmax takes class 1


def test_a_run_records_its_silent_output_units_per_epoch(tmp_path):
    run = train(make_config(epochs=2, **SMALL), out=tmp_path / "r.h5", progress=False)
    counts = run.history["silent_outputs"]
    assert len(counts) == 2 and all(0 <= c <= 10 and c == int(c) for c in counts)
    assert load_run(tmp_path / "r.h5").history["silent_outputs"] == counts
