"""Baseline rules: backprop's gradient against finite differences, feedback alignment against backprop,
learning on digits, and the same weight grid under every rule."""

import numpy as np
import pytest

from neurosim import topology
from neurosim.config import ConfigError, make_config
from neurosim.energy import rho
from neurosim.hardware import Devices, load_hardware
from neurosim.network import from_graph
from neurosim.quantize import weight_levels
from neurosim.rules import RuleError, feedback_matrices, feedforward_gradient, forward
from neurosim.build import controller_of, new_run
from neurosim.training import evaluate, train


def feedforward_net(sizes=(7, 6, 5, 4), seed=0):
    net = from_graph(topology.layered(sizes), seed=seed, dtype=np.float64)
    net.bias[:] = np.random.default_rng(seed).uniform(0.1, 0.4, net.n_free)
    return net


def loss(net, x, target):
    """C = 1/2 ||y - y_target||^2, batch mean, computed from the definition (not from the rules module)."""
    h = x
    for lay in range(1, net.n_layers):
        h = rho(h @ net.blocks[lay - 1].weight + net.bias[net.free_slice(lay)])
    return 0.5 * np.mean(np.sum((h - target) ** 2, axis=1))


def test_backprop_gradient_equals_finite_differences_of_the_loss():
    net = feedforward_net()
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, (5, 7))
    target = np.eye(4)[rng.integers(0, 4, 5)]
    grads, _ = feedforward_gradient(net, x, target, "bp")
    assert_descends(net, grads, lambda: loss(net, x, target), atol=1e-8)
    assert any(np.abs(g).max() > 1e-3 for g in grads)  # a gradient, not zeros


def assert_descends(net, grads, cost, atol, h=1e-6):
    """Every entry of ``grads`` (in :meth:`Network.parameters` order) is minus the central difference of
    ``cost()`` with respect to that parameter, within ``atol``."""
    checked = 0
    for param, grad in zip(net.parameters(), grads, strict=True):
        for k in range(param.size):
            saved = param.flat[k]
            param.flat[k] = saved + h
            up = cost()
            param.flat[k] = saved - h
            down = cost()
            param.flat[k] = saved
            assert -grad.flat[k] == pytest.approx((up - down) / (2 * h), abs=atol), k
            checked += 1
    assert checked == sum(p.size for p in net.parameters())


def matching_loss(net, x, target):
    """The hard sigmoid's matching loss, sum_k of the integral from 0 to a_k of (rho(z) - t_k), batch mean, by
    numerical quadrature of the definition (not from the rules module)."""
    from scipy.integrate import quad

    h = x
    for lay in range(1, net.n_layers - 1):
        h = rho(h @ net.blocks[lay - 1].weight + net.bias[net.free_slice(lay)])
    a = h @ net.blocks[-1].weight + net.bias[net.free_slice(net.n_layers - 1)]
    total = sum(quad(lambda z, t=t: float(rho(np.array([z]))[0]) - t, 0.0, a_k, points=[0.0, 1.0], epsabs=1e-13)[0]
                for a_row, t_row in zip(a, target) for a_k, t in zip(a_row, t_row))
    return total / len(x)


def test_the_matching_output_error_is_the_gradient_of_the_matching_loss():
    net = feedforward_net(sizes=(4, 3, 3))
    net.bias[net.free_slice(2)] = [-0.6, 0.5, 1.4]  # output units below, inside and above [0, 1]
    rng = np.random.default_rng(5)
    x, target = rng.uniform(0, 1, (4, 4)), np.eye(3)[rng.integers(0, 3, 4)]
    grads, _ = feedforward_gradient(net, x, target, "bp", output_error="matching")
    assert_descends(net, grads, lambda: matching_loss(net, x, target), atol=1e-7)


def test_an_output_unit_below_zero_learns_under_the_matching_error_only():
    net = feedforward_net(sizes=(7, 6, 4))
    net.bias[net.free_slice(2)][0] = -5.0  # output 0 below zero for every input: rho' = 0 there
    rng = np.random.default_rng(6)
    x, target = rng.uniform(0, 1, (8, 7)), np.eye(4)[np.arange(8) % 4]
    for error, learns in (("squared", False), ("matching", True)):
        grads, _ = feedforward_gradient(net, x, target, "bp", output_error=error)
        assert bool(np.abs(grads[1][:, 0]).max() > 1e-3) is learns, error  # the dead unit's input weights
        assert grads[-1][net.free_slice(2)][0] > 0 if learns else grads[-1][net.free_slice(2)][0] == 0
    with pytest.raises(RuleError, match="output_error='cross'"):
        feedforward_gradient(net, x, target, "bp", output_error="cross")


def test_feedback_alignment_with_the_transposed_weights_is_backprop():
    net = feedforward_net()
    rng = np.random.default_rng(2)
    x, target = rng.uniform(0, 1, (6, 7)), np.eye(4)[rng.integers(0, 4, 6)]
    bp, states_bp = feedforward_gradient(net, x, target, "bp")
    transposed = [net.blocks[lay].weight.T.copy() for lay in range(1, net.n_layers - 1)]
    fa, states_fa = feedforward_gradient(net, x, target, "fa", transposed)
    for a, b in zip(bp, fa):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(states_bp, states_fa)
    random_fa, _ = feedforward_gradient(net, x, target, "fa", feedback_matrices(net, "fa", rng))
    assert not np.allclose(random_fa[0], bp[0])  # random feedback changes the hidden updates ...
    np.testing.assert_array_equal(random_fa[-3], bp[-3])  # ... but not the output layer's
    one_hidden = feedforward_net(sizes=(7, 6, 4))
    direct = [one_hidden.blocks[1].weight.T.copy()]  # with one hidden layer, DFA with D = W^T is backprop too
    for a, b in zip(feedforward_gradient(one_hidden, x, target, "bp")[0],
                    feedforward_gradient(one_hidden, x, target, "dfa", direct)[0]):
        np.testing.assert_array_equal(a, b)


def test_forward_states_are_the_feedforward_activations():
    net = feedforward_net()
    x = np.random.default_rng(3).uniform(0, 1, (2, 7))
    _, states = forward(net, x)
    h1 = rho(x @ net.blocks[0].weight + net.bias[net.free_slice(1)])
    np.testing.assert_allclose(states[:, net.free_slice(1)], h1)


def test_feedforward_rules_need_a_layered_network():
    graph = topology.small_world((7, 6, 5, 4), n=3, seed=0)
    with pytest.raises(RuleError, match="layered"):
        forward(from_graph(graph, seed=0), np.zeros((1, 7)))
    with pytest.raises(ConfigError, match="rule='bp'"):
        make_config(rule="bp", topology="small-world")
    with pytest.raises(ConfigError, match="rule"):
        make_config(rule="hebb")


def digits_config(**kw):
    values = dict(dataset="digits", topology="layered", sizes=(64, 32, 10), epochs=1, seed=1, n_free=60)
    return make_config(**{**values, **kw})


@pytest.mark.parametrize("rule,lr", [("eqprop", 0.05), ("bp", 0.2), ("fa", 0.2), ("dfa", 0.2)])
def test_each_rule_lowers_the_error_of_a_small_digits_network_in_one_epoch(digits, rule, lr):
    config = digits_config(rule=rule, lr=(lr,))
    start = new_run(config, digits)
    before = evaluate(controller_of(config, start.network), start.network, digits.x_test.astype(np.float32),
                      digits.y_test).error
    after = train(config, data=digits, progress=False).history["test_error"][-1]
    assert after < before - 0.25, (before, after)


def test_quantisation_acts_on_every_rules_weights_alike(digits):
    grid = weight_levels(5, 1.0)
    stored = {}
    for rule in ("eqprop", "bp", "fa", "dfa"):
        run = train(digits_config(rule=rule, lr=(0.2,), hardware={"storage": {"bits": 5, "rounding": "stochastic"}}),
                    data=digits, progress=False)
        levels = np.concatenate([np.ravel(p) for p in run.network.parameters()]) / grid.step
        np.testing.assert_allclose(levels, np.rint(levels), atol=1e-4)  # on the 5-bit grid
        assert np.abs(levels).max() <= grid.k_max
        stored[rule] = np.unique(np.rint(levels))
    assert all(set(v) <= set(range(-grid.k_max, grid.k_max + 1)) for v in stored.values())
    assert not all(np.array_equal(stored["eqprop"], v) for v in stored.values())  # they trained differently
    devices = Devices(load_hardware({"storage": {"bits": 5}}), new_run(digits_config(), digits).network)
    assert devices.store.levels == grid


@pytest.mark.parametrize("rule", ["bp", "fa", "dfa", "bfa", "bdfa", "sg", "csg"])
def test_every_feedforward_rule_learns_its_output_layer_from_the_configured_error(rule):
    """The output layer's update of every rule on the feedforward net is -<h_{L-1}^T delta_L> with delta_L the
    configured output error: under the matching error it differs from the squared one exactly where the output
    pre-activation is outside [0, 1]."""
    from neurosim.build import rule_of
    from neurosim.rules import Machine
    from neurosim.rules.feedforward import output_delta

    sizes = (7, 6, 5, 4)
    net = feedforward_net(sizes)
    net.bias[net.free_slice(3)] = [-3.0, 0.5, 3.0, 0.4]  # outputs 0 and 2 saturated, 1 and 3 not
    net.blocks[2].weight *= 0.1
    rng = np.random.default_rng(7)
    x, target = rng.uniform(0, 1, (6, 7)), np.eye(4)[rng.integers(0, 4, 6)]
    pre, states = forward(net, x)
    assert np.all((pre[-1][:, [1, 3]] > 0) & (pre[-1][:, [1, 3]] < 1))
    h = states[:, net.free_slice(2)]
    got = {}
    for error in ("squared", "matching"):
        config = make_config(dataset="digits", sizes=list(sizes), topology="layered", rule=rule, output_error=error)
        machine = Machine(network=lambda: net, engine=config.engine)
        _, _, grads = rule_of(config, net).train(machine, net, x, target, 1.0, None)
        np.testing.assert_allclose(grads[2], -(h.T @ output_delta(pre[-1], target, error)) / len(x), atol=1e-12)
        got[error] = grads[2]
    assert not np.allclose(got["squared"][:, [0, 2]], got["matching"][:, [0, 2]])
    np.testing.assert_allclose(got["squared"][:, [1, 3]], got["matching"][:, [1, 3]], atol=1e-12)


def test_a_run_written_before_the_output_error_was_a_setting_learned_from_the_squared_error(tmp_path, digits):
    """A format-6 file has no output_error (nor rule_devices): it loads as the squared error it trained with,
    resumes with it, and is another sweep point than today's default (matching)."""
    import json

    import h5py

    from conftest import restamp
    from neurosim.store import load_run
    from neurosim.sweep import computed_identity, stored_points

    values = dict(dataset="digits", n_train=60, n_test=20, sizes=[64, 8, 10], topology="layered", epochs=1,
                  persistent=False, rule="fa")
    path = tmp_path / "point-old.h5"
    train(make_config(**values, output_error="squared"), out=path, data=digits, progress=False)
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["config"])
        del config["output_error"], config["rule_devices"]
        f.attrs["config"] = json.dumps(config)
        del f["config"].attrs["output_error"], f["config"].attrs["rule_devices"]
        f.attrs["format_version"] = 6
    restamp(path)
    run = load_run(path)
    assert run.config["output_error"] == "squared"
    resumed = make_config(**{**run.config, "epochs": 2})
    assert resumed.output_error == "squared"
    assert len(train(resumed, out=path, run=run, data=digits, progress=False).history["test_error"]) == 2
    assert make_config(**values).output_error == "matching"  # today's default
    found = stored_points(tmp_path)  # the file, trained for 2 epochs now
    assert computed_identity({**values, "epochs": 2, "output_error": "squared"}) in found
    assert computed_identity({**values, "epochs": 2}) not in found
