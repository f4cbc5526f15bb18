"""Removing the layer-skipping connections during training (the paper's future-work experiment)."""

import h5py
import numpy as np
import pytest

from neurosim.config import ConfigError, make_config
from neurosim.network import from_graph, without_skips
from neurosim.report import write_report
from neurosim.store import load_run
from neurosim.topology import layer_of_neurons, small_world
from neurosim.build import devices_of, new_run
from neurosim.training import train

SMALL = dict(sizes=(64, 16, 16, 16, 10), n_free=30, batch_size=20, rewire_n=60,
             rewire_mode="add", topology="small-world")


def test_without_skips_zeroes_exactly_the_connections_that_skip_a_layer():
    graph = small_world((12, 8, 8, 8, 4), n=40, mode="add", seed=1)
    net = from_graph(graph, seed=2, dtype=np.float64)
    assert len(net.sparse) > 0
    layer = layer_of_neurons(net.sizes)
    skip = np.abs(layer[:, None] - layer[None, :]) >= 2  # independent of how the network stores its weights
    expected = np.where(skip, 0.0, net.dense_weights())
    pruned = without_skips(net)
    np.testing.assert_array_equal(pruned.dense_weights(), expected)
    assert len(pruned.sparse) == 0 and pruned.n_sparse_from_input == 0
    assert net.n_connections() - pruned.n_connections() == int(np.count_nonzero(np.triu(skip & (net.dense_weights() != 0))))
    np.testing.assert_array_equal(pruned.bias, net.bias)
    assert len(net.sparse) == graph.graph["n_rewired"]  # the original is untouched


def test_skips_are_removed_after_the_given_epoch_and_the_run_file_says_so(tmp_path, digits):
    run = train(make_config(epochs=3, remove_skip_after=2, **SMALL), data=digits, out=tmp_path / "r.h5",
                progress=False)
    assert len(run.network.sparse) == 0
    with h5py.File(tmp_path / "r.h5", "r") as f:
        assert f["topology"].attrs["skip_removed_after"] == 2
        assert f["topology"].attrs["n_skip_removed"] == 60
        assert len(f["network/sparse/weight"]) == 0
        assert len(f["topology/edges"]) == run.network.n_connections() + 60  # the topology as generated
    summary = write_report({"removed": load_run(tmp_path / "r.h5")}, tmp_path / "report")[-1].read_text()
    assert "60 (add; skips removed after epoch 2)" in summary
    kept = train(make_config(epochs=2, **SMALL), data=digits, progress=False)
    for a, b in zip(kept.network.parameters()[:-2], run.network.parameters()[:-2]):
        assert not np.array_equal(a, b)  # training went on after the removal


CHIP = {"storage": {"bits": 6, "rounding": "stochastic"}, "variation": {"device_to_device": 0.1, "mismatch": 0.05, "stuck": 0.02}}


def test_the_connections_kept_keep_their_devices(digits):
    config = make_config(hardware=CHIP, **SMALL)
    run = new_run(config, digits)
    net = run.network.astype(np.float64)
    before = devices_of(config, net).effective(net)
    pruned = without_skips(net)
    after = devices_of(config, pruned, run.edges).effective(pruned)
    assert len(after.sparse) == 0
    for a, b in zip(before.blocks, after.blocks, strict=True):  # gains, faults and mismatch of each device
        np.testing.assert_array_equal(a.weight, b.weight)
        np.testing.assert_array_equal(a.back, b.back)
    np.testing.assert_array_equal(before.bias, after.bias)


@pytest.mark.parametrize("hardware", ["ideal", CHIP])
def test_a_run_resumed_after_the_removal_continues_exactly(tmp_path, digits, hardware):
    base = dict(SMALL, remove_skip_after=1, seed=4, hardware=hardware)
    straight = train(make_config(epochs=3, **base), data=digits, progress=False)
    train(make_config(epochs=2, **base), data=digits, out=tmp_path / "r.h5", progress=False)
    halfway = load_run(tmp_path / "r.h5")
    assert len(halfway.network.sparse) == 0
    resumed = train(make_config(epochs=3, **base), run=halfway, data=digits, progress=False)
    for a, b in zip(straight.network.parameters(), resumed.network.parameters(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert straight.history["train_error"] == resumed.history["train_error"]


def test_removing_skips_from_a_layered_network_is_refused():
    with pytest.raises(ConfigError, match="remove_skip_after=2.*topology='layered'"):
        make_config(topology="layered", remove_skip_after=2)
