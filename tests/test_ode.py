"""The leaky-integrator ODE engine against analytic solutions and against the Euler engine."""

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import skip_net

from neurosim import network, topology
from neurosim.circuit import Circuit
from neurosim.cli import main
from neurosim.config import ConfigError, make_config
from neurosim.data import load_dataset
from neurosim.engines import ODE, Euler, Phase
from neurosim.engines.ode import METHODS
from neurosim.coupling import Coupling
from neurosim.store import load_run
from neurosim.build import controller_of, new_run
from neurosim.training import evaluate


def one_neuron(weight=0.4, bias=0.3):
    """Input -> one output neuron: with x = 1 its constant drive is V_inf = weight + bias volts."""
    net = network.from_graph(topology.layered([1, 1]), seed=0, dtype=np.float64)
    net.blocks[0].weight[:] = weight
    net.bias[:] = bias
    return net, np.ones((1, 1))


@pytest.mark.parametrize("circuit, tau", [(Circuit(), 1e-6), (Circuit(r_leak=3.3e3, c_node=4.7e-6), 15.51e-3)])
def test_single_neuron_charges_as_an_rc_circuit(circuit, tau):
    """tau written out by hand (1 MOhm x 1 pF, 3.3 kOhm x 4.7 uF), not read from the circuit under test."""
    net, x = one_neuron()
    v_inf = 0.7
    engine = ODE(circuit=circuit, rtol=1e-7, atol=1e-10, settle_tol=1e-4)
    t = np.linspace(0.02, 8.0, 60) * tau
    v = engine.trajectory(net, x, np.zeros((1, 1)), Phase(), t)[:, 0, 0]
    np.testing.assert_allclose(v, v_inf * (1 - np.exp(-t / tau)), rtol=1e-3)
    # tau |dV/dt| = V_inf exp(-t / tau) falls below settle_tol at t = tau ln(V_inf / settle_tol)
    relaxed = engine.relax(net, x, np.zeros((1, 1)), Phase())
    assert relaxed.settled
    assert relaxed.settling_time == pytest.approx(tau * np.log(v_inf / 1e-4), rel=1e-3)
    assert relaxed.state[0, 0] == pytest.approx(v_inf - 1e-4, abs=1e-6)


def test_clamp_holds_a_node_at_the_rail():
    """Drive 1.5 V: the node charges as 1.5 (1 - exp(-t / tau)) until it reaches 1 V at t = tau ln 3, then stays
    at exactly 1 V (projected ODE), where the residual is 0."""
    net, x = one_neuron(weight=1.0, bias=0.5)
    engine = ODE(rtol=1e-8, atol=1e-10)
    tau = 1e-6  # the default circuit's 1 MOhm x 1 pF
    t = np.linspace(0.05, 5.0, 100) * tau
    v = engine.trajectory(net, x, np.zeros((1, 1)), Phase(), t)[:, 0, 0]
    expected = np.minimum(1.5 * (1 - np.exp(-t / tau)), 1.0)
    np.testing.assert_allclose(v, expected, rtol=1e-4)
    assert np.all(v[t > 1.2 * tau] == 1.0)
    relaxed = engine.relax(net, x, np.zeros((1, 1)), Phase())
    assert relaxed.state[0, 0] == 1.0 and relaxed.residual[0] == 0.0
    assert relaxed.settling_time == pytest.approx(tau * np.log(3), rel=1e-3)


def convex_net():
    """A small-world network whose free-free weights have their largest eigenvalue below 1: F is strictly convex on
    the box [0, 1]^n, so every phase has exactly one equilibrium."""
    net = skip_net(scale=0.3)
    w = Coupling(net, np.zeros((1, net.n_inputs)), "dense").w_ss
    assert np.linalg.eigvalsh(w).max() < 1
    return net


@pytest.mark.parametrize("nudged", [False, True])
def test_ode_reaches_the_euler_equilibrium(nudged):
    net = convex_net()
    rng = np.random.default_rng(0)
    x, target = rng.uniform(size=(5, net.n_inputs)), rng.uniform(size=(5, net.n_outputs))
    phase = Phase(beta=0.5, target=target) if nudged else Phase()
    s0 = np.zeros((5, net.n_free))
    euler = Euler(eps=0.05, n_free=50_000, n_nudged=50_000, tol=1e-10, check_every=10).relax(net, x, s0, phase)
    ode = ODE(rtol=1e-8, atol=1e-10, settle_tol=1e-8).relax(net, x, s0, phase)
    assert euler.residual.max() < 1e-9 and ode.settled and ode.residual.max() < 1.1e-8
    np.testing.assert_allclose(ode.state, euler.state, atol=1e-4)
    assert np.any(ode.state == 0.0) or np.any(ode.state == 1.0) or nudged  # the clamp is exercised


@pytest.mark.parametrize("method", METHODS)
def test_every_method_reaches_the_equilibrium(method):
    net = convex_net()
    x = np.random.default_rng(1).uniform(size=(3, net.n_inputs))
    s0 = np.zeros((3, net.n_free))
    reference = Euler(eps=0.1, n_free=20_000, tol=1e-10, check_every=10).relax(net, x, s0, Phase())
    ode = ODE(method=method, rtol=1e-6, atol=1e-9, settle_tol=1e-6).relax(net, x, s0, Phase())
    assert ode.settled
    np.testing.assert_allclose(ode.state, reference.state, atol=1e-4)


def test_a_batch_larger_than_a_chunk_is_relaxed_chunk_by_chunk():
    """7 examples, each with its own target, in chunks of 3: the same states, residuals and settling time as the
    three slices relaxed one by one (each chunk is nudged towards its own rows' targets), the steps added up, and
    the equilibrium of the whole batch in one call within the tolerance."""
    net = convex_net()
    rng = np.random.default_rng(5)
    x, target, s0 = rng.uniform(size=(7, net.n_inputs)), rng.uniform(size=(7, net.n_outputs)), np.zeros((7, net.n_free))
    engine = ODE(rtol=1e-8, atol=1e-10, settle_tol=1e-7, chunk=3)
    chunked = engine.relax(net, x, s0, Phase(beta=0.5, target=target))
    slices = [engine.relax(net, x[k : k + 3], s0[k : k + 3], Phase(beta=0.5, target=target[k : k + 3]))
              for k in (0, 3, 6)]
    np.testing.assert_array_equal(chunked.state, np.concatenate([r.state for r in slices]))
    np.testing.assert_array_equal(chunked.residual, np.concatenate([r.residual for r in slices]))
    assert chunked.steps == sum(r.steps for r in slices)
    assert chunked.settling_time == max(r.settling_time for r in slices) and chunked.settled
    whole = ODE(rtol=1e-8, atol=1e-10, settle_tol=1e-7, chunk=7).relax(net, x, s0, Phase(beta=0.5, target=target))
    np.testing.assert_allclose(chunked.state, whole.state, atol=1e-5)
    with pytest.raises(ValueError, match="chunk=0"):
        ODE(chunk=0)


def test_settling_time_scales_linearly_with_tau():
    net = convex_net()
    x = np.random.default_rng(2).uniform(size=(4, net.n_inputs))
    results = []
    for r_leak, c_node in [(1e6, 1e-12), (1e6, 5e-12), (2e4, 1e-9), (1e3, 3e-3)]:
        circuit = Circuit(r_leak=r_leak, c_node=c_node)
        relaxed = ODE(circuit=circuit, settle_tol=1e-4).relax(net, x, np.zeros((4, net.n_free)), Phase())
        results.append((relaxed.settling_time / circuit.tau, relaxed.steps))
    per_tau, evaluations = zip(*results)
    assert per_tau[0] > 1
    np.testing.assert_allclose(per_tau, per_tau[0], rtol=1e-9)
    assert len(set(evaluations)) == 1


def test_phase_that_cannot_settle_stops_at_t_max():
    net = convex_net()
    x = np.random.default_rng(3).uniform(size=(2, net.n_inputs))
    relaxed = ODE(settle_tol=1e-6, t_max=2.0).relax(net, x, np.zeros((2, net.n_free)), Phase())
    assert not relaxed.settled
    assert relaxed.settling_time == pytest.approx(2.0 * relaxed.info["tau"])
    assert relaxed.residual.max() > 1e-6


def test_a_settled_start_costs_no_integration():
    net = convex_net()
    x = np.random.default_rng(4).uniform(size=(2, net.n_inputs))
    first = ODE(rtol=1e-8, atol=1e-10, settle_tol=1e-7).relax(net, x, np.zeros((2, net.n_free)), Phase())
    again = ODE(settle_tol=1e-5).relax(net, x, first.state, Phase())
    assert again.settling_time == 0.0 and again.steps == 1


def inhibitory_layer(w=-0.5, n=10):
    """2 inputs, a hidden layer of n neurons inhibiting each other with weight w, 1 output. With w = -0.5 the
    free-free weights have eigenvalues w (n - 1) = -4.5 and -w = 0.5 (and the output's small couplings): F is
    convex, the equilibrium unique, and the uniform mode relaxes at rate 1 - w (n - 1) = 5.5 / tau."""
    net = network.from_graph(topology.small_world([2, n, 1], n=0, seed=0), seed=0, dtype=np.float64)
    for b in net.blocks:
        if b.lo == b.hi:
            b.weight[:] = w * b.mask
        else:
            b.weight[:] = 0.1
    net.bias[:] = 0.6
    return net


def test_euler_with_a_large_step_is_not_the_continuous_system():
    """Euler's map s <- s + eps (d - s) multiplies the uniform mode by 1 - 5.5 eps: -1.75 at eps = 0.5, so the
    map oscillates between the rails where the ODE (and Euler with a small step) settle at the one equilibrium."""
    net = inhibitory_layer()
    x = np.full((1, 2), 0.5)
    s0 = np.zeros((1, net.n_free))
    ode = ODE(rtol=1e-8, atol=1e-10, settle_tol=1e-8).relax(net, x, s0, Phase())
    small = Euler(eps=0.1, n_free=5000, tol=1e-10, check_every=1).relax(net, x, s0, Phase())
    large = Euler(eps=0.5, n_free=5000).relax(net, x, s0, Phase())
    np.testing.assert_allclose(small.state, ode.state, atol=1e-6)
    assert ode.settled and large.residual.max() > 0.1
    assert np.abs(large.state - ode.state).max() > 0.1


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="method='LSODA'"):
        ODE(method="LSODA")
    with pytest.raises(ValueError, match="settle_tol=0"):
        ODE(settle_tol=0)
    with pytest.raises(ValueError, match="c_node=-1"):
        Circuit(c_node=-1)
    with pytest.raises(ConfigError, match="device='cuda'"):
        make_config(engine="ode", device="cuda")
    with pytest.raises(ConfigError, match="r_leak=0"):
        make_config(engine="ode", r_leak=0)
    net, x = one_neuron()
    with pytest.raises(ValueError, match="beyond t_max"):
        ODE(t_max=3).trajectory(net, x, np.zeros((1, 1)), Phase(), [1e-6, 4e-6])


def test_train_with_the_ode_engine_learns_and_records_settling_times(tmp_path):
    out = tmp_path / "ode.h5"
    args = ["--engine", "ode", "--topology", "layered", "--sizes", "64-32-10", "--n-train", "300", "--n-test", "200",
            "--lr", "0.3", "--epochs", "1", "--quiet", "-o", str(out)]
    result = CliRunner().invoke(main, ["train", *args])
    assert result.exit_code == 0, result.output
    run = load_run(out)
    config = make_config(**run.config)
    data = load_dataset("digits", n_train=300, n_test=200)
    untrained = new_run(config, data).network
    before = evaluate(controller_of(config, untrained), untrained, data.x_test.astype(np.float32), data.y_test).error
    assert run.history["test_error"][0] < before - 0.15  # about 0.90 -> 0.58
    for phase in ("free", "nudged"):
        seconds = np.asarray(run.batches[f"{phase}_settling_time"])
        assert len(seconds) == 15 and np.all(seconds > 0) and np.all(seconds <= 250e-6 * (1 + 1e-9))
    info = CliRunner().invoke(main, ["info", str(out)])
    assert "tau=1e-06 s" in info.output and "settling time per batch" in info.output
