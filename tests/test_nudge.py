"""The three nudges of the second phase (weak, clamped, reference) on every engine that implements them."""

import numpy as np
import pytest

from neurosim import network, topology
from neurosim.config import ConfigError, make_config
from neurosim.controller import Controller, learning_rates
from neurosim.engines import ODE, Euler, FixedPoint, Phase, Spice
from neurosim.rules import EqProp

from conftest import skip_net


def chain(a=0.7, w=0.6, b_h=0.1, b_y=0.2):
    """Input x - hidden h - output y, one neuron each: weights a (x-h) and w (h-y), biases b_h, b_y. float64."""
    net = network.from_graph(topology.layered([1, 1, 1]), seed=0, dtype=np.float64)
    net.blocks[0].weight[:] = a
    net.blocks[1].weight[:] = w
    net.bias[:] = [b_h, b_y]
    return net


@pytest.mark.parametrize("layout", ["blocks", "dense"])
@pytest.mark.parametrize("eps, beta", [(0.5, 1.0), (0.5, -1.0), (0.2, 0.5), (0.3, -0.4)])
def test_reference_step_matches_the_hand_computed_two_neuron_step(layout, eps, beta):
    """One reference step: the free Euler step of h and y, then y' + 2 eps beta (t - y'), then the clip."""
    a, w, b_h, b_y = 0.7, 0.6, 0.1, 0.2
    net = chain(a, w, b_h, b_y)
    x, h, y, t = 0.8, 0.3, 0.4, 1.0
    h1 = h + eps * (-h + a * x + w * y + b_h)
    y1 = y + eps * (-y + w * h + b_y)
    y2 = y1 + 2 * eps * beta * (t - y1)
    expected = np.clip([h1, y2], 0.0, 1.0)
    phase = Phase(beta=beta, target=np.array([[t]]), nudge="reference")
    got = Euler(eps=eps, n_nudged=1, layout=layout).relax(net, np.array([[x]]), np.array([[h, y]]), phase)
    np.testing.assert_allclose(got.state[0], expected, rtol=0, atol=1e-12)
    weak = Euler(eps=eps, n_nudged=1, layout=layout).relax(net, np.array([[x]]), np.array([[h, y]]),
                                                            Phase(beta=beta, target=np.array([[t]])))
    assert not np.allclose(weak.state, got.state)  # the weak nudge is another step


def test_reference_at_eps_beta_one_half_sets_the_outputs_to_the_target_and_beta_minus_one_mirrors_them():
    net = skip_net()
    rng = np.random.default_rng(0)
    x, s = rng.uniform(size=(5, 6)), rng.uniform(size=(5, net.n_free))
    target = np.eye(3)[rng.integers(0, 3, size=5)]
    out = net.output_slice
    for layout in ("blocks", "dense"):
        euler = Euler(eps=0.5, n_nudged=1, layout=layout)
        up = euler.relax(net, x, s, Phase(beta=1.0, target=target, nudge="reference")).state
        np.testing.assert_array_equal(up[:, out], target)
        free_step = Euler(eps=0.5, n_free=1, layout=layout).relax(net, x, s, Phase()).state
        down = euler.relax(net, x, s, Phase(beta=-1.0, target=target, nudge="reference")).state
        unclipped = s + 0.5 * (net_drive(net, x, s) - s)  # the Euler step before the clip
        np.testing.assert_allclose(down[:, out], np.clip(2 * unclipped[:, out] - target, 0, 1), atol=1e-12)
        hidden = slice(0, out.start)  # the other neurons make the free step in both
        np.testing.assert_allclose(up[:, hidden], free_step[:, hidden], atol=1e-12)


def net_drive(net, x, s):
    from neurosim.coupling import Coupling

    return Coupling(net, x)(s)


def test_clamped_phase_holds_the_outputs_and_every_engine_reaches_the_same_equilibrium():
    """With the outputs held at the target the hidden layers relax on E; Euler, the layer-wise fixed point and
    the ODE must agree (a network without intralayer connections, so that the fixed point applies)."""
    net = network.from_graph(topology.layered([6, 5, 4, 3]), seed=1, dtype=np.float64)
    for p in net.parameters()[:-1]:
        p *= 0.5
    net.bias[:] = np.random.default_rng(1).uniform(0.1, 0.5, size=net.bias.shape)
    rng = np.random.default_rng(2)
    x = rng.uniform(size=(4, 6))
    target = np.eye(3)[[0, 1, 2, 0]]
    start = rng.uniform(size=(4, net.n_free))
    phase = Phase(beta=1.0, target=target, nudge="clamped")
    euler = Euler(eps=0.5, n_nudged=3000).relax(net, x, start, phase)
    fixed = FixedPoint(n_nudged=300).relax(net, x, start, phase)
    ode = ODE(rtol=1e-9, atol=1e-11, settle_tol=1e-9, t_max=400).relax(net, x, start, phase)
    for result in (euler, fixed, ode):
        np.testing.assert_array_equal(result.state[:, net.output_slice], target)
    assert euler.residual.max() < 1e-12
    np.testing.assert_allclose(fixed.state, euler.state, atol=1e-10)
    np.testing.assert_allclose(ode.state, euler.state, atol=1e-6)
    # the hidden state is the free minimiser given y = target: h = clip(W h + b + ...) (a fixed point of E)
    drive = net_drive(net, x, euler.state)
    hidden = slice(0, net.output_slice.start)
    np.testing.assert_allclose(euler.state[:, hidden], np.clip(drive[:, hidden], 0, 1), atol=1e-10)


def test_engines_refuse_a_nudge_they_do_not_implement():
    net = chain()
    phase = Phase(beta=1.0, target=np.array([[1.0]]), nudge="reference")
    for engine in (ODE(), Spice()):
        with pytest.raises(ValueError, match=f"nudge='reference': the {engine.name} engine"):
            engine.relax(net, np.array([[0.5]]), np.zeros((1, 2)), phase)
    with pytest.raises(ValueError, match="nudge='reference': the ode engine"):
        Controller(engine=ODE(), beta=1.0, rates=learning_rates(net, [0.1]), rule=EqProp(nudge="reference"))
    with pytest.raises(ValueError, match="nudge='sideways'"):
        Phase(beta=1.0, target=np.array([[1.0]]), nudge="sideways")


def test_config_checks_the_nudge_against_engine_and_sign():
    assert make_config(nudge="reference", random_sign=True).nudge == "reference"
    with pytest.raises(ConfigError, match="nudge='reference': the ode engine implements weak, clamped"):
        make_config(nudge="reference", engine="ode")
    with pytest.raises(ConfigError, match="random_sign with nudge='clamped'"):
        make_config(nudge="clamped", random_sign=True)
    with pytest.raises(ConfigError, match="nudge"):
        make_config(nudge="strong")


def test_bias_rate_replaces_every_bias_rate_and_leaves_the_weights_alone():
    net = network.from_graph(topology.layered([4, 3, 3, 2]), seed=0)
    per_layer = learning_rates(net, [0.3, 0.2, 0.1])
    own = learning_rates(net, [0.3, 0.2, 0.1], bias_rate=1.0)
    assert own[: len(net.blocks)] == per_layer[: len(net.blocks)]
    np.testing.assert_array_equal(per_layer[-1], [0.3] * 3 + [0.2] * 3 + [0.1] * 2)
    np.testing.assert_array_equal(own[-1], np.ones(8))


def test_a_reference_run_trains_and_exports_its_nudged_phase_as_the_clamped_circuit(tmp_path):
    from neurosim.export import export_netlist
    from neurosim.store import load_run
    from neurosim.training import train

    config = make_config(nudge="reference", random_sign=True, persistent=True, intralayer=False, sizes=(64, 16, 10),
                         rewire_n=20, epochs=2, n_train=200, n_test=100, lr=(0.1,))
    run = train(config, out=tmp_path / "run.h5", progress=False)
    assert set(run.batches["beta"]) == {1.0, -1.0}
    assert run.test_states is not None and run.test_states.shape == (100, 26)
    assert np.any(run.test_states != 0)  # the test examples' last free equilibria, kept for the next evaluation
    np.testing.assert_array_equal(load_run(tmp_path / "run.h5").test_states, run.test_states)
    assert run.history["test_error"][-1] < 0.8  # it learns (chance: 0.9)
    text_path = tmp_path / "ex.cir"
    export_netlist(run, 3, text_path, phase="nudged")
    text = text_path.read_text()
    assert text.count("\nXhold_y_") == 10 and "Xnudge_" not in text
    run.config["eps"] = 0.4
    with pytest.raises(ValueError, match="only where 2 eps beta = 1"):
        export_netlist(run, 3, tmp_path / "other.cir", phase="nudged")
