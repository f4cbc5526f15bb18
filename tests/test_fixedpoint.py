import numpy as np
import pytest

from neurosim import network, topology
from neurosim.config import make_config
from neurosim.energy import energy
from neurosim.engines import Euler, FixedPoint, Phase
from neurosim.engines.fixedpoint import layer_groups
from neurosim.train import train


def layered_net(sizes=(6, 5, 4, 3), scale=0.5, seed=0):
    net = network.from_graph(topology.layered(sizes), seed=seed, dtype=np.float64)
    for p in net.parameters()[:-1]:
        p *= scale
    net.bias[:] = np.random.default_rng(seed).uniform(0.1, 0.5, size=net.bias.shape)
    return net


def test_groups_are_odd_and_even_layers_and_respect_skips():
    assert layer_groups(layered_net((4, 3, 3, 3, 2))) == [[1, 3], [2, 4]]
    g = topology.layered([4, 3, 3, 3, 2])
    g.add_edge(4, 10)  # a skip L1-L3: layers 1 and 3 can no longer share a group, 1 and 4 still can
    assert layer_groups(network.from_graph(g, seed=0)) == [[1, 4], [2], [3]]
    g.add_edges_from([(5, 13), (7, 14)])  # skips L1-L4 and L2-L4: every pair of free layers is now connected
    net = network.from_graph(g, seed=0)
    groups = layer_groups(net)
    assert groups == [[1], [2], [3], [4]]
    layer = np.repeat(np.arange(5), net.sizes)
    for group in groups:  # no connection inside a group
        for i, j in net.edges_and_weights()[0]:
            assert not (layer[i] in group and layer[j] in group)
    with pytest.raises(ValueError, match="intralayer"):
        layer_groups(network.from_graph(topology.small_world([4, 3, 3, 2], n=0, seed=0), seed=0))


def test_sweeps_never_increase_f_and_reach_the_euler_equilibrium():
    net = layered_net()
    rng = np.random.default_rng(1)
    x, target = rng.uniform(size=(4, 6)), rng.uniform(size=(4, 3))
    for phase in (Phase(), Phase(beta=0.5, target=target)):
        s = np.zeros((4, net.n_free))
        values = [energy(net, x, s, phase.beta, target)]
        for _ in range(30):
            s = FixedPoint(n_free=1, n_nudged=1).relax(net, x, s, phase).state
            values.append(energy(net, x, s, phase.beta, target))
        assert np.all(np.diff(np.array(values), axis=0) <= 1e-12)
        euler = Euler(eps=0.5, n_free=3000, n_nudged=3000).relax(net, x, np.zeros((4, net.n_free)), phase)
        fixed = FixedPoint(n_free=200, n_nudged=200).relax(net, x, np.zeros((4, net.n_free)), phase)
        assert euler.residual.max() < 1e-12 and fixed.residual.max() < 1e-12
        np.testing.assert_allclose(fixed.state, euler.state, atol=1e-10)


def test_fixed_point_converges_in_fewer_sweeps_than_euler_steps():
    net = layered_net()
    x = np.random.default_rng(2).uniform(size=(8, 6))
    s0 = np.zeros((8, net.n_free))
    euler = Euler(eps=0.5, n_free=2000, tol=1e-8, check_every=1).relax(net, x, s0, Phase())
    fixed = FixedPoint(n_free=2000, tol=1e-8, check_every=1).relax(net, x, s0, Phase())
    assert fixed.steps < euler.steps / 3


def test_training_with_the_fixed_point_engine_learns():
    config = make_config(engine="fixedpoint", topology="layered", sizes=(64, 32, 10), n_free=20, lr=(0.1, 0.05),
                         n_train=500, n_test=200, epochs=2)
    run = train(config, progress=False)
    assert run.history["test_error"][-1] < 0.5
