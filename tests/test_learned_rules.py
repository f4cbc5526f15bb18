"""Rules that learn parameters of their own: bidirectional feedback alignment (bfa, bdfa) and synthetic gradients
(sg, csg). Each update against finite differences of the loss it descends, written here from its definition; the
forward updates against the rules they extend; the learned parameters stored, refused when wrong, and resumed
exactly."""

import h5py
import numpy as np
import pytest

from neurosim import topology
from neurosim.build import controller_of, new_run
from neurosim.config import make_config
from neurosim.energy import rho
from neurosim.network import from_graph
from neurosim.rules import RuleError, feedforward_gradient, forward
from neurosim.rules.bidirectional import feedback_gradient, initial_feedback
from neurosim.rules.synthetic import synthetic_gradients
from neurosim.runcheck import inconsistency
from neurosim.store import load_run
from conftest import assert_learns, whole_and_resumed

H = 1e-6


def tiny_net(sizes=(7, 6, 5, 4), seed=0):
    net = from_graph(topology.layered(sizes), seed=seed, dtype=np.float64)
    net.bias[:] = np.random.default_rng(seed).uniform(0.1, 0.4, net.n_free)
    return net


def activities(net, x):
    """h_0 = x, h_1 .. h_L by the definition of the forward pass (not the rules module's)."""
    out = [x]
    for lay in range(1, net.n_layers):
        out.append(rho(out[-1] @ net.blocks[lay - 1].weight + net.bias[net.free_slice(lay)]))
    return out


def reconstruction_loss(kind, parameters, acts):
    """R = sum over hidden layers of 1/2 <||rho(s B_l + c_l) - h_l||^2>, s = h_{l+1} (bfa) or h_L (bdfa)."""
    total = 0.0
    for lay in range(1, len(acts) - 1):
        source = acts[lay + 1] if kind == "bfa" else acts[-1]
        rec = rho(source @ parameters[f"B{lay}"] + parameters[f"c{lay}"])
        total += 0.5 * np.mean(np.sum((rec - acts[lay]) ** 2, axis=1))
    return total


def finite_differences(loss, arrays):
    """Central differences of ``loss()`` with respect to every entry of every array (name -> array)."""
    out = {}
    for name, values in arrays.items():
        grad = np.zeros_like(values)
        for k in range(values.size):
            saved = values.flat[k]
            values.flat[k] = saved + H
            up = loss()
            values.flat[k] = saved - H
            down = loss()
            values.flat[k] = saved
            grad.flat[k] = (up - down) / (2 * H)
        out[name] = grad
    return out


@pytest.mark.parametrize("kind", ["bfa", "bdfa"])
def test_feedback_update_descends_the_reconstruction_error(kind):
    net = tiny_net()
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, (5, 7))
    parameters = initial_feedback(net, kind, rng)
    for name in parameters:  # biases off zero, so that every reconstruction is inside (0, 1) and differentiable
        if name.startswith("c"):
            parameters[name][:] = rng.uniform(0.2, 0.6, parameters[name].shape)
    acts = activities(net, x)
    grads = feedback_gradient(net, kind, parameters, acts)
    expected = finite_differences(lambda: reconstruction_loss(kind, parameters, acts), parameters)
    assert sorted(grads) == sorted(expected) == ["B1", "B2", "c1", "c2"]
    for name in grads:
        np.testing.assert_allclose(-grads[name], expected[name], atol=1e-8, err_msg=name)
        assert np.abs(grads[name]).max() > 1e-4  # a gradient, not zeros
    source = acts[2] if kind == "bfa" else acts[3]
    assert parameters["B1"].shape == (source.shape[1], 6)  # B_1 carries layer 2 (bfa) or the output (bdfa) to 1


def config_of(rule, **kw):
    values = dict(dataset="digits", topology="layered", sizes=(64, 24, 16, 10), epochs=1, seed=3, lr=(0.2,),
                  rule=rule, dtype="float64", persistent=False)
    return make_config(**{**values, **kw})


@pytest.mark.parametrize("kind,fixed", [("bfa", "fa"), ("bdfa", "dfa")])
def test_learned_feedback_starts_as_the_fixed_rule_and_then_moves(digits, kind, fixed):
    """The forward update of a step is fa's (dfa's) with the feedback as it stands; the feedback then takes its
    own step, so the next forward update differs from the fixed rule's."""
    config = config_of(kind, rule_lr=0.5)
    run = new_run(config, digits)
    controller = controller_of(config, run.network, learned=run.rule_parameters)
    fixed_rule = controller_of(config_of(fixed), run.network).rule
    np.testing.assert_array_equal(run.rule_parameters["B1"], fixed_rule.feedback[0])  # the same first draw
    x, target = digits.x_train[:20].astype(np.float64), np.eye(10)[digits.y_train[:20]]
    before = {k: v.copy() for k, v in run.rule_parameters.items()}
    expected, _ = feedforward_gradient(run.network, x, target, fixed, fixed_rule.feedback,
                                       output_error=config.output_error)
    _, _, grads = controller.rule.train(controller.machine(run.network), run.network, x, target, 1.0, None)
    for a, b in zip(grads, expected):
        np.testing.assert_array_equal(a, b)
    acts = activities(run.network, x)
    step = feedback_gradient(run.network, kind, before, acts)
    for name, value in run.rule_parameters.items():  # the run's own arrays took the feedback step
        np.testing.assert_allclose(value, before[name] + 0.5 * step[name], rtol=1e-12, atol=1e-15)
    assert not np.array_equal(run.rule_parameters["B1"], before["B1"])


def synthetic_loss(net, modules, x, target, lay, arriving):
    """S_l = 1/2 <||g_l - g*_l||^2> with g_l = h_l M_l + c_l (+ t N_l), the target held fixed."""
    h = activities(net, x)[lay]
    g = h @ modules[f"M{lay}"] + modules[f"c{lay}"] + (target @ modules[f"N{lay}"] if f"N{lay}" in modules else 0)
    return 0.5 * np.mean(np.sum((g - arriving) ** 2, axis=1))


def cost_of_top_hidden(net, h, target):
    """C = 1/2 <||y - t||^2> as a function of the last hidden layer's activity h."""
    y = rho(h @ net.blocks[-1].weight + net.bias[net.free_slice(net.n_layers - 1)])
    return 0.5 * np.mean(np.sum((y - target) ** 2, axis=1))


@pytest.mark.parametrize("kind", ["sg", "csg"])
def test_synthetic_gradient_modules_learn_towards_the_true_gradient_of_the_last_hidden_layer(kind):
    net = tiny_net(sizes=(7, 6, 5, 4))
    rng = np.random.default_rng(4)
    x, target = rng.uniform(0, 1, (5, 7)), np.eye(4)[rng.integers(0, 4, 5)]
    modules = {}
    for lay, n in ((1, 6), (2, 5)):
        modules.update({f"M{lay}": rng.normal(0, 0.1, (n, n)), f"c{lay}": rng.normal(0, 0.1, n)})
        if kind == "csg":
            modules[f"N{lay}"] = rng.normal(0, 0.1, (4, n))
    grads, module_grads, _ = synthetic_gradients(net, modules, x, target)
    acts = activities(net, x)
    # the last hidden layer's target is the true gradient dC/dh_2 (times the batch: S averages per example)
    top = acts[2]
    true = finite_differences(lambda: cost_of_top_hidden(net, top, target), {"h": top})["h"] * len(x)
    expected = finite_differences(lambda: synthetic_loss(net, modules, x, target, 2, true), modules)
    for name in [n for n in module_grads if n.endswith("2")]:
        np.testing.assert_allclose(-module_grads[name], expected[name], atol=1e-7, err_msg=name)
    # the first hidden layer's target is the gradient sent down through W_{1,2} from layer 2's *synthetic* one
    pre2 = acts[1] @ net.blocks[1].weight + net.bias[net.free_slice(2)]
    g2 = top @ modules["M2"] + modules["c2"] + (target @ modules["N2"] if kind == "csg" else 0)
    bootstrapped = (g2 * ((pre2 >= 0) & (pre2 <= 1))) @ net.blocks[1].weight.T
    expected = finite_differences(lambda: synthetic_loss(net, modules, x, target, 1, bootstrapped), modules)
    for name in [n for n in module_grads if n.endswith("1")]:
        np.testing.assert_allclose(-module_grads[name], expected[name], atol=1e-7, err_msg=name)
    # the hidden layers update from the modules' estimates; the output layer from the true error, as backprop
    bp, _ = feedforward_gradient(net, x, target, "bp")
    np.testing.assert_allclose(grads[2], bp[2], atol=1e-15)
    pre1 = x @ net.blocks[0].weight + net.bias[net.free_slice(1)]
    g1 = acts[1] @ modules["M1"] + modules["c1"] + (target @ modules["N1"] if kind == "csg" else 0)
    np.testing.assert_allclose(grads[0], -(x.T @ (g1 * ((pre1 >= 0) & (pre1 <= 1)))) / len(x), atol=1e-15)


def test_zero_modules_train_only_the_output_layer():
    net = tiny_net()
    modules = {f"{p}{lay}": np.zeros(shape) for lay, n in ((1, 6), (2, 5))
               for p, shape in (("M", (n, n)), ("c", (n,)))}
    x, target = np.random.default_rng(5).uniform(0, 1, (3, 7)), np.eye(4)[[0, 1, 2]]
    grads, module_grads, _ = synthetic_gradients(net, modules, x, target)
    assert not grads[0].any() and not grads[1].any() and grads[2].any()
    assert module_grads["c2"].any()  # ... while the last module starts to learn the gradient from above


@pytest.mark.parametrize("rule,epochs", [("bfa", 1), ("bdfa", 1), ("sg", 2), ("csg", 2)])
def test_each_learned_rule_lowers_the_error_of_a_small_digits_network(digits, rule, epochs):
    """By 25 points: in one epoch, or two for synthetic gradients, whose hidden layers learn only once their
    modules (zero at first) have."""
    assert_learns(make_config(dataset="digits", topology="layered", sizes=(64, 32, 10), epochs=epochs, seed=1,
                              lr=(0.2,), rule=rule, rule_lr=0.1), digits)


@pytest.mark.parametrize("rule", ["bdfa", "csg"])
def test_learned_parameters_are_stored_and_resumed_exactly(tmp_path, digits, rule):
    whole, resumed = whole_and_resumed(lambda epochs: config_of(rule, epochs=epochs, rule_lr=0.2, n_train=300,
                                                                n_test=100, dtype="float32"), tmp_path)
    config = config_of(rule, epochs=2, rule_lr=0.2, n_train=300, n_test=100, dtype="float32")
    stored = load_run(tmp_path / "whole.h5").rule_parameters
    assert sorted(stored) == sorted(whole.rule_parameters) and len(stored) >= 4
    for name, values in whole.rule_parameters.items():
        np.testing.assert_array_equal(resumed.rule_parameters[name], values)
        np.testing.assert_array_equal(stored[name], values)
        assert stored[name].dtype == np.float32
    initial = new_run(config, digits).rule_parameters
    assert any(not np.array_equal(initial[k], v) for k, v in stored.items())  # they were learned
    with h5py.File(tmp_path / "whole.h5", "r") as f:  # readable by h5py, under /rule
        assert sorted(f["rule"]) == sorted(stored)


def test_a_run_whose_rule_parameters_do_not_fit_its_rule_is_refused(digits):
    run = new_run(config_of("bfa"), digits)
    assert inconsistency(run) is None
    run.rule_parameters["B1"] = run.rule_parameters["B1"][:, :3]
    assert "B1" in inconsistency(run)
    del run.rule_parameters["B1"]
    assert "learns B1" in inconsistency(run)
    plain = new_run(config_of("fa"), digits)
    plain.rule_parameters["M1"] = np.zeros((3, 3))
    assert "no parameters" in inconsistency(plain)
    with pytest.raises(RuleError, match="layered"):
        from neurosim.rules import LearnedFeedback

        LearnedFeedback.from_config(config_of("bfa"), from_graph(topology.small_world((7, 6, 5, 4), n=3, seed=0),
                                                                 seed=0), None)


def test_forward_prediction_is_the_forward_pass(digits):
    config = config_of("csg")
    run = new_run(config, digits)
    controller = controller_of(config, run.network, learned=run.rule_parameters)
    x = digits.x_test[:4].astype(np.float64)
    predicted, free = controller.predict(run.network, x)
    np.testing.assert_array_equal(free.state, forward(run.network, x)[1])


# -- the rule's own parameters on the modelled devices ------------------------------------------------------------
STORE = {"storage": {"bits": 6, "w_max": 0.5}}


def one_step(config, digits, batch=slice(0, 10)):
    """A new run of ``config``, its rule parameters before and after one training step, the step's inputs and the
    run."""
    run = new_run(config, digits)
    before = {k: v.copy() for k, v in run.rule_parameters.items()}
    controller = controller_of(config, run.network, learned=run.rule_parameters)
    x = digits.x_train[batch].astype(config.dtype)
    target = np.eye(10, dtype=config.dtype)[digits.y_train[batch]]
    controller.step(run.network, x, target, np.random.default_rng(0), noise_rng=np.random.default_rng(1))
    return before, run.rule_parameters, (x, target), run


@pytest.mark.parametrize("rule", ["bdfa", "csg"])
def test_rule_parameters_on_the_devices_start_on_the_store_and_move_by_whole_steps(digits, rule):
    """Programmed onto the store's levels (6 bits over +-0.5: step 1/63), then each entry's change in a step is
    its floating-point step rule_lr * (-dS/dtheta), computed here from the rule's gradient functions, rounded to
    whole steps of the store; off, the same step is taken exactly."""
    from neurosim.quantize import weight_levels

    step = weight_levels(6, 0.5, "weight").step
    config = config_of(rule, hardware=STORE, rule_lr=5.0, rule_devices=True)
    before, after, (x, target), run = one_step(config, digits)
    assert rule != "bdfa" or np.abs(before["B1"]).max() > step  # the random feedback, programmed
    for name, values in before.items():
        np.testing.assert_allclose(values / step, np.round(values / step), atol=1e-9)
        assert np.abs(values).max() <= 0.5
    fresh = new_run(config, digits)  # the same network before the step, to compute the rule's own gradient
    if rule == "csg":
        _, own, _ = synthetic_gradients(fresh.network, before, x, target, output_error=config.output_error)
    else:
        acts = activities(fresh.network, x)
        own = feedback_gradient(fresh.network, "bdfa", before, acts)
    moved = 0
    for name, grad in own.items():
        expected = np.clip(before[name] + np.round(5.0 * grad / step) * step, -0.5, 0.5)
        np.testing.assert_allclose(after[name], expected, atol=1e-12, err_msg=name)
        moved += int(np.count_nonzero(after[name] != before[name]))
    assert moved > 0
    exact = one_step(config_of(rule, hardware=STORE, rule_lr=5.0), digits)[1]
    assert any(not np.allclose(exact[k], after[k]) for k in after)  # off: not rounded


def test_rule_parameters_are_read_through_their_devices(digits):
    """With every device of the pair stuck at g0 the modules read as zero, so no synthetic gradient reaches the
    hidden layers of a csg step; the same modules kept in floating point send one."""
    stuck = {"variation": {"stuck": 1.0, "stuck_high": 0.0}}
    config = config_of("csg", hardware=stuck, rule_devices=True, rule_lr=1.0)
    run = new_run(config, digits)
    for name, values in run.rule_parameters.items():
        values[...] = 0.3  # modules that would send a synthetic gradient, were they read
    controller = controller_of(config, run.network, learned=run.rule_parameters)
    from neurosim.rules import Machine

    machine = controller.machine(run.network, np.random.default_rng(0))
    assert all(np.all(v == 0) for v in machine.own(run.rule_parameters).values())
    plain = controller_of(config_of("csg", hardware=stuck, rule_lr=1.0), run.network, learned=run.rule_parameters)
    assert all(np.all(v == 0.3) for v in plain.machine(run.network).own(run.rule_parameters).values())
    x, target = digits.x_train[:10], np.eye(10)[digits.y_train[:10]]
    _, _, grads = controller.rule.train(machine, run.network, x, target, 1.0, None)
    assert all(np.all(g == 0) for g in grads[:2])  # hidden layers: no synthetic gradient reaches them
    _, _, read_as_stored = plain.rule.train(plain.machine(run.network), run.network, x, target, 1.0, None)
    assert np.abs(read_as_stored[0]).max() > 0  # (the stuck network's hidden activity is 0: W2's update is too)
    assert isinstance(machine, Machine)


def test_rule_devices_on_ideal_hardware_change_nothing(digits):
    runs = [new_run(config_of("bdfa", rule_devices=flag), digits) for flag in (False, True)]
    configs = [config_of("bdfa", rule_devices=flag, epochs=1, n_train=200) for flag in (False, True)]
    from neurosim.training import train

    trained = [train(c, data=digits, progress=False) for c in configs]
    for name in runs[0].rule_parameters:
        np.testing.assert_array_equal(trained[0].rule_parameters[name], trained[1].rule_parameters[name])
    for a, b in zip(trained[0].network.parameters(), trained[1].network.parameters()):
        np.testing.assert_array_equal(a, b)


def test_rule_parameters_on_stochastic_devices_resume_exactly(tmp_path, digits):
    hardware = {"storage": {"bits": 8, "w_max": 0.5, "rounding": "stochastic"}, "noise": {"write": 0.5, "read": 0.02}}
    whole, resumed = whole_and_resumed(lambda epochs: config_of("csg", epochs=epochs, rule_lr=0.2, n_train=200,
                                                                n_test=50, hardware=hardware, rule_devices=True),
                                       tmp_path)
    for name, values in whole.rule_parameters.items():
        np.testing.assert_array_equal(resumed.rule_parameters[name], values)


def test_rule_devices_refuse_a_range_per_network_array():
    with pytest.raises(Exception, match=r"rule_devices=true .* storage.w_max=\[0.5, 0.5, 0.5, 0.5, 0.5\]"):
        config_of("sg", hardware={"storage": {"bits": 4, "w_max": [0.5] * 5}}, rule_devices=True)
    config_of("bp", hardware={"storage": {"bits": 4, "w_max": [0.5] * 5}}, rule_devices=True)  # learns nothing
