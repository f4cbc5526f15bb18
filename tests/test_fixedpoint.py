import numpy as np
import pytest

from neurosim import network, topology
from neurosim.config import load_config, make_config
from neurosim.energy import energy
from neurosim.engines import Euler, FixedPoint, Phase
from neurosim.engines.fixedpoint import layer_groups
from neurosim.training import train


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


@pytest.mark.parametrize("nudge", ["free", "weak", "clamped"])
def test_sweeps_in_place_leave_the_start_alone_and_report_the_last_sweeps_change(nudge):
    net = layered_net()
    rng = np.random.default_rng(3)
    x, target = rng.uniform(size=(4, 6)), rng.uniform(size=(4, 3))
    phase = Phase() if nudge == "free" else Phase(beta=0.5, target=target, nudge=nudge)
    s0 = rng.uniform(size=(4, net.n_free))
    start = s0.copy()
    before = FixedPoint(n_free=2, n_nudged=2).relax(net, x, s0, phase).state
    last = FixedPoint(n_free=3, n_nudged=3).relax(net, x, s0, phase)
    np.testing.assert_array_equal(s0, start)
    assert last.residual.min() > 0
    np.testing.assert_allclose(last.residual, np.abs(last.state - before).max(axis=1), rtol=1e-12)
    stopped = FixedPoint(n_free=500, n_nudged=500, tol=1e-6, check_every=1).relax(net, x, s0, phase)
    assert 3 < stopped.steps < 500 and stopped.residual.max() < 1e-6


def test_training_with_the_fixed_point_engine_learns():
    for nudge in ("weak", "reference"):  # the reference nudge: Euler steps after the fixed point's free phase
        config = make_config(engine="fixedpoint", topology="layered", sizes=(64, 32, 10), n_free=20, nudge=nudge,
                             lr=(0.2, 0.1), n_train=500, n_test=200, epochs=2)
        run = train(config, progress=False)
        assert run.history["test_error"][-1] < 0.5  # chance: 0.9


def published_small_world(sizes=(6, 5, 5, 5, 3), n=30, scale=0.5, seed=0):
    """A small published-style small-world network: no intralayer connections, ``n`` skips >= 2 layers apart."""
    net = network.from_graph(topology.small_world(sizes, n=n, intralayer=False, seed=seed), seed=seed,
                             dtype=np.float64, intra_init=0.3)
    for p in net.parameters()[:-1]:
        p *= scale
    net.bias[:] = np.random.default_rng(seed).uniform(0.1, 0.5, size=net.bias.shape)
    return net


def test_group_drives_equal_the_full_drive_on_each_group():
    from neurosim.coupling import Coupling
    from neurosim.engines.fixedpoint import GroupDrives, layer_graph

    for net in (layered_net((6, 5, 4, 3, 2)), published_small_world()):
        assert len(net.sparse) or net.n_layers == 5
        rng = np.random.default_rng(3)
        x, r = rng.uniform(size=(4, net.n_inputs)), rng.uniform(size=(4, net.n_free))
        full = Coupling(net, x, "blocks")(r)  # the other layout, products in blocks and sparse skips
        graph = layer_graph(net)
        drives = GroupDrives(net, x, layer_groups(net, graph), graph)
        covered = np.zeros(net.n_free, dtype=int)
        for g, cols in enumerate(drives.cols):
            np.testing.assert_allclose(drives(g, r), full[:, cols], atol=1e-12)
            covered[cols] += 1
        assert np.all(covered == 1)  # every free neuron in exactly one group


def test_sweeps_with_skip_connections_never_increase_f_and_reach_the_euler_equilibrium():
    net = published_small_world()
    skips = len(net.sparse)
    assert skips == 30 and layer_groups(net) == [[1], [2], [3], [4]]  # skips join every pair of free layers
    rng = np.random.default_rng(4)
    x, target = rng.uniform(size=(5, net.n_inputs)), np.eye(3)[[0, 1, 2, 0, 1]]
    for phase in (Phase(), Phase(beta=0.5, target=target), Phase(beta=1.0, target=target, nudge="clamped")):
        s = np.zeros((5, net.n_free))
        values = [energy(net, x, s, 0.0 if phase.clamped else phase.beta, target)]
        for _ in range(40):
            s = FixedPoint(n_free=1, n_nudged=1).relax(net, x, s, phase).state
            values.append(energy(net, x, s, 0.0 if phase.clamped else phase.beta, target))
        assert np.all(np.diff(np.array(values), axis=0) <= 1e-12)
        euler = Euler(eps=0.5, n_free=4000, n_nudged=4000).relax(net, x, np.zeros((5, net.n_free)), phase)
        fixed = FixedPoint(n_free=300, n_nudged=300, tol=1e-13, check_every=1).relax(
            net, x, np.zeros((5, net.n_free)), phase)
        assert euler.residual.max() < 1e-12 and fixed.residual.max() < 1e-12
        assert fixed.steps < euler.steps / 3
        np.testing.assert_allclose(fixed.state, euler.state, atol=1e-10)


def test_the_reference_nudge_is_made_of_the_euler_engines_steps():
    """The reference nudge is a discrete Euler step by definition: the fixed point makes n_nudged of them, from
    its own free state, exactly as the Euler engine does (both signs of beta)."""
    net = published_small_world()
    rng = np.random.default_rng(5)
    x, target = rng.uniform(size=(3, net.n_inputs)), np.eye(3)[[2, 0, 1]]
    start = FixedPoint(n_free=100).relax(net, x, np.zeros((3, net.n_free)), Phase()).state
    for beta in (1.0, -1.0, 0.3):
        phase = Phase(beta=beta, target=target, nudge="reference")
        fixed = FixedPoint(n_nudged=8, eps=0.4).relax(net, x, start, phase)
        euler = Euler(n_nudged=8, eps=0.4).relax(net, x, start, phase)
        np.testing.assert_array_equal(fixed.state, euler.state)
        assert fixed.steps == 8
    with pytest.raises(ValueError, match="eps=0"):
        FixedPoint(eps=0.0)


@pytest.mark.slow
def test_the_fast_setting_trains_the_published_small_world_network_on_mnist(mnist_dir):
    """The published 784-500-500-500-10 small-world network, 40 sweeps, on the first 10,000 MNIST examples (about a
    minute on 2 cores). Measured: 47.6 % running training error and 29.4 % test error on the first 2,000 (Euler at
    the paper's 500 steps: 48.2 % / 27.3 %; docs/performance.md)."""
    from pathlib import Path

    config = load_config(Path(__file__).resolve().parents[1] / "experiments/paper/reference/small-world.toml",
                         data_dir=str(mnist_dir), n_train=10_000, n_test=2_000, epochs=1, engine="fixedpoint",
                         n_free=40)
    run = train(config, progress=False)
    h = run.history
    assert h["train_error"][0] < 0.52 and h["test_error"][0] < 0.40 and h["silent_outputs"][0] == 0
    assert set(run.batches["free_steps"]) == {40} and set(run.batches["nudged_steps"]) == {8}


def test_a_random_sign_that_would_make_the_weak_nudge_unstable_is_refused_before_training():
    """With beta >= 1 a drawn -beta leaves the output no leak (1 + beta <= 0): the fixed point cannot relax it, and
    the configuration says so instead of the first negative batch failing mid-epoch."""
    from neurosim.config import ConfigError, make_config

    settings = dict(engine="fixedpoint", nudge="weak", topology="layered", intralayer=False)
    with pytest.raises(ConfigError, match="beta=1.0 with random_sign"):
        make_config(**settings, random_sign=True, beta=1.0)
    make_config(**settings, random_sign=True, beta=0.5)
    make_config(**settings, random_sign=False, beta=1.0)
