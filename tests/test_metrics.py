import numpy as np
import pytest

from neurosim import network, topology
from neurosim.controller import learning_rates
from neurosim.metrics import layer_pair_rms, moving_average, spread, total_correction


def test_layer_pair_rms_is_eq_20():
    net = network.from_graph(topology.small_world([3, 2, 2, 2], n=2, seed=0), seed=0)
    updates = [np.full(p.shape, 0.0) for p in net.parameters()]
    for b, u in zip(net.blocks, updates):
        if (b.lo, b.hi) == (0, 1):
            u[:] = [[3.0, 0.0], [0.0, 4.0], [0.0, 0.0]]  # sqrt((9 + 16) / 6)
        if (b.lo, b.hi) == (1, 1):
            u[:] = 100.0  # intralayer: ignored by eq 20
    rms = layer_pair_rms(net, updates)
    assert rms[0] == pytest.approx(np.sqrt(25 / 6))
    assert rms[1] == 0 and rms[2] == 0


def test_moving_average_is_eq_21():
    values = np.array([1.0, 2.0, 6.0, 3.0, 8.0])
    smooth = moving_average(values, 1)
    # interior: (b-1 + b + b+1) / 3; ends: the window cut to what exists
    np.testing.assert_allclose(smooth, [1.5, 3.0, 11 / 3, 17 / 3, 5.5])
    np.testing.assert_allclose(moving_average(values, 0), values)
    two_columns = moving_average(np.stack([values, 2 * values], axis=1), 1)
    np.testing.assert_allclose(two_columns[:, 1], 2 * smooth)


def test_spread_is_eq_22_23():
    samples = np.array([[0.01, 0.1, 0.5, 4.0], [0.03, 0.1, 0.5, 6.0]])
    total = total_correction(samples)
    np.testing.assert_allclose(total, [0.04, 0.2, 1.0, 10.0])
    # the output pair (last) is left out; of 3 deep pairs, largest over smallest
    assert spread(total) == pytest.approx(1.0 / 0.04)
    # 5 deep pairs: two largest over two smallest
    assert spread(np.array([1.0, 2.0, 3.0, 4.0, 5.0, 99.0])) == pytest.approx((4 + 5) / (1 + 2))
    assert np.isnan(spread(np.array([1.0, 2.0])))
    assert np.isnan(spread(total_correction(np.zeros((0, 4)))))  # nothing measured yet
    assert spread(np.array([0.0, 1.0, 2.0, 9.0])) == np.inf


def test_per_layer_rates_follow_the_input_weights_of_each_layer():
    sizes = [4, 3, 3, 3, 2]
    net = network.from_graph(topology.small_world(sizes, n=6, seed=1), seed=0)
    rates = learning_rates(net, [0.128, 0.032, 0.008, 0.002])
    by_name = dict(zip(net.parameter_names(), rates))
    assert by_name["L0-L1"] == 0.128 and by_name["L3-L4"] == 0.002
    assert by_name["L2-L2"] == 0.032  # intralayer of layer 2: the rate of L1-L2
    bias = rates[-1]
    np.testing.assert_array_equal(bias[:3], 0.128)  # first hidden layer
    np.testing.assert_array_equal(bias[-2:], 0.002)  # output layer
    layer = np.repeat(np.arange(5), sizes)
    upper = np.maximum(layer[net.sparse.i], layer[net.sparse.j])
    np.testing.assert_array_equal(rates[-2], np.array([0, 0.128, 0.032, 0.008, 0.002])[upper])
    assert all(r == 0.02 for r in learning_rates(net, [0.02])[:-2])
    with pytest.raises(ValueError, match="one per adjacent layer pair"):
        learning_rates(net, [0.1, 0.2])
