"""Event-driven random backprop on leaky integrate-and-fire neurons: one neuron's spike times against the analytic
solution of its membrane equation, the eRBP update on two neurons worked out by hand, the same on a small network
against a plain scalar loop written here, and learning, resuming and refusing as every rule."""

import math

import numpy as np
import pytest

from neurosim import topology
from neurosim.config import ConfigError, make_config
from neurosim.network import from_graph
from neurosim.rules.erbp import erbp_gradient, present
from neurosim.spiking import LIF, Membranes, SpikingError, first_spike_time
from conftest import assert_learns, whole_and_resumed


def test_a_neuron_under_constant_drive_fires_when_its_membrane_equation_says():
    """tau dV/dt = -V + D from reset: V(t) = D (1 - e^{-t/tau}) until V = v_th at t* = tau ln(D / (D - v_th)), then
    reset, t_ref of silence, and again: spikes at t_k = k t* + (k - 1) t_ref."""
    lif = LIF(tau_v=0.02, v_th=1.0, v_reset=0.0, t_ref=0.002, dt=1e-4)
    drive = 1.5
    t_star = 0.02 * math.log(1.5 / 0.5)
    assert first_spike_time(lif, drive) == pytest.approx(t_star, rel=1e-15)
    assert first_spike_time(lif, 0.9) == math.inf
    cell = Membranes.at_rest((1, 1), lif)
    trace, spikes = [], []
    for n in range(1, 1001):  # 0.1 s
        if cell.step(lif, np.zeros((1, 1)), drive)[0, 0]:
            spikes.append(n * lif.dt)
        trace.append(cell.v[0, 0])
    first = int(math.ceil(t_star / lif.dt)) - 1  # the steps before the first spike follow the closed form exactly
    times = np.arange(1, first + 1) * lif.dt
    np.testing.assert_allclose(trace[:first], drive * (1 - np.exp(-times / lif.tau_v)), rtol=1e-12)
    expected = [k * t_star + (k - 1) * lif.t_ref for k in range(1, len(spikes) + 1)]
    assert len(spikes) == int((0.1 + lif.t_ref) // (t_star + lif.t_ref))  # every analytic spike, and no other
    for k, (seen, analytic) in enumerate(zip(spikes, expected), start=1):
        assert 0 <= seen - analytic < k * lif.dt + 1e-12, (k, seen, analytic)  # each interval rounds up to a step
    np.testing.assert_allclose(np.diff(spikes), t_star + lif.t_ref, atol=lif.dt + 1e-12)


def test_refractory_neurons_lose_their_input():
    lif = LIF(t_ref=0.003, dt=0.001, tau_v=1e9)
    cell = Membranes.at_rest((1, 1), lif)
    fired = [cell.step(lif, np.full((1, 1), 1.0))[0, 0] for _ in range(6)]  # a threshold's worth every step
    assert fired == [1, 0, 0, 0, 1, 0]  # three steps held at reset, whatever arrives


def deterministic(n_steps, **kw):
    """Settings whose spike trains are certain: rate * dt = 1 fires every step at intensity 1, never at 0; no leak."""
    values = dict(tau_v=1e9, tau_u=1e9, tau_syn=1e-9, v_th=1.0, v_reset=0.0, v_syn=1.0, u_syn=1.0, t_ref=0.0, dt=0.001,
                  t_present=n_steps * 0.001, input_rate=1000.0, label_rate=1000.0)
    return LIF(**{**values, **kw})


def two_neurons(weight):
    net = from_graph(topology.layered((1, 1)), seed=0, dtype=np.float64)
    net.blocks[0].weight[:] = weight
    return net


def test_the_erbp_update_of_two_neurons_worked_out_by_hand():
    """One input firing every step into one output neuron through W = 0.6, no leak, an input trace that keeps only
    the last step's input (tau_syn -> 0: q = 0 before step 1, 0.6 after), label silent (target 0). Output V: 0.6,
    1.2 -> spike (reset 0), 0.6, 1.2 -> spike. The error neuron E+ integrates P - L: it fires at steps 2 and 4, so
    U = 1 after step 2 and 2 after step 4. The update adds U Θ(q) at each input spike, with U and q as they were when
    the step began, all inside the window (-2, 2): steps 1, 2: U = 0; steps 3, 4: U = 1; step 5: U = 2. Sums after
    2, 3, 4, 5 steps: 0, 1, 2, 4."""
    rng = np.random.default_rng(0)
    for steps, expected in ((2, 0.0), (3, 1.0), (4, 2.0), (5, 4.0)):
        shown = present(two_neurons(0.6), deterministic(steps), np.ones((1, 1)), rng, np.zeros((1, 1)), [])
        assert shown.additions[0][0, 0] == pytest.approx(expected), steps
        assert erbp_gradient(two_neurons(0.6), shown)[0][0, 0] == pytest.approx(-expected)
    assert shown.counts[0, 0] == 2  # fired at steps 2 and 4
    closed = present(two_neurons(0.6), deterministic(5, boxcar_high=0.5), np.ones((1, 1)), rng, np.zeros((1, 1)), [])
    assert closed.additions[0][0, 0] == 0.0  # q = 0.6 from step 2 on is above the window: the neuron stops learning
    labelled = present(two_neurons(0.6), deterministic(4), np.ones((1, 1)), rng, np.ones((1, 1)), [])
    # the label fires every step: E- integrates L - P = 1, 0, 1, 0 -> fires at step 1 (U = -1 from step 2 on) and
    # step 3 (U = -2 from step 4 on); E+ never fires. Additions: 0 (step 1) - 1 - 1 - 2
    assert labelled.additions[0][0, 0] == pytest.approx(0 + -1 + -1 + -2)


def scalar_erbp(weights, feedback, lif, x, target, steps):
    """eRBP on a layered net, one example, written as plain per-neuron loops (the deterministic settings: every
    input and label spike certain; no biases, no refractory time), for comparison with the vectorised simulation."""
    sizes = [len(x)] + [w.shape[1] for w in weights]
    v = [[0.0] * n for n in sizes[1:]]
    q = [[0.0] * n for n in sizes[1:]]
    u = [[0.0] * n for n in sizes[1:]]
    ep, em = [0.0] * sizes[-1], [0.0] * sizes[-1]
    add = [np.zeros(w.shape) for w in weights]
    for _ in range(steps):
        below = [1.0 if xi >= 1 else 0.0 for xi in x]
        for k, w in enumerate(weights):
            for j, s in enumerate(below):
                if s:
                    for i in range(w.shape[1]):
                        if lif.boxcar_low < q[k][i] < lif.boxcar_high:
                            add[k][j, i] += u[k][i]
            fired = []
            for i in range(w.shape[1]):
                arriving = sum(below[j] * w[j, i] for j in range(len(below))) * lif.v_syn
                q[k][i] = q[k][i] * lif.decay_syn + arriving
                v[k][i] = v[k][i] * lif.decay_v + arriving
                fired.append(1.0 if v[k][i] >= lif.v_th else 0.0)
                if fired[-1]:
                    v[k][i] = lif.v_reset
            below = fired
        error = []
        for c in range(sizes[-1]):
            label = 1.0 if target[c] >= 1 else 0.0
            ep[c] = ep[c] * lif.decay_v + (below[c] - label) * lif.v_syn
            em[c] = em[c] * lif.decay_v + (label - below[c]) * lif.v_syn
            up, down = ep[c] >= lif.v_th, em[c] >= lif.v_th
            ep[c], em[c] = (lif.v_reset if up else ep[c]), (lif.v_reset if down else em[c])
            error.append(float(up) - float(down))
        for k in range(len(weights)):
            for i in range(sizes[k + 1]):
                sent = error[i] if k == len(weights) - 1 else sum(error[c] * feedback[k][c, i]
                                                                  for c in range(sizes[-1]))
                u[k][i] = u[k][i] * lif.decay_u + sent * lif.u_syn
    return add


def test_the_simulation_matches_a_plain_loop_on_a_small_network_with_feedback():
    net = from_graph(topology.layered((4, 3, 2)), seed=2, dtype=np.float64)
    rng = np.random.default_rng(3)
    for block in net.blocks:
        block.weight[:] = rng.uniform(-0.2, 0.9, block.weight.shape)
    feedback = [rng.uniform(-1, 1, (2, 3))]
    lif = deterministic(12, tau_syn=0.003, boxcar_low=-0.5, boxcar_high=1.5)  # a decaying trace, a closing window
    # two examples, inputs firing in the first only, the second only, or both: the batch's sum is the two loops' sum
    x, target = np.array([[1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 1.0, 0.0]]), np.array([[0.0, 1.0], [1.0, 0.0]])
    shown = present(net, lif, x, rng, target, feedback)
    each = [scalar_erbp([b.weight for b in net.blocks], feedback, lif, x[n], target[n], 12) for n in range(2)]
    expected = [a + b for a, b in zip(*each)]
    assert not np.allclose(expected[0][0], expected[0][1])  # the inputs' rows differ: their order is tested
    for got, want in zip(shown.additions, expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert all(np.abs(a).max() > 0 for a in expected)  # both layers learned something


def test_poisson_inputs_fire_at_their_rate():
    lif = LIF(dt=0.001, t_present=2.0, input_rate=100.0)
    net = two_neurons(0.0)
    shown = present(net, lif, np.full((2000, 1), 0.5), np.random.default_rng(4))
    assert shown.counts.sum() == 0  # W = 0: nothing reaches the output
    from neurosim.spiking import poisson_spikes

    counts = sum(poisson_spikes(np.random.default_rng(5), np.full(20000, 0.5), 100.0, 0.001) for _ in range(1))
    assert counts.mean() == pytest.approx(0.05, abs=0.005)  # 0.5 * 100 Hz * 1 ms


def digits_erbp(**kw):
    values = dict(dataset="digits", topology="layered", sizes=(64, 32, 10), epochs=3, seed=1, lr=(0.003,),
                  rule="erbp", persistent=False)
    return make_config(**{**values, **kw})


def test_erbp_lowers_the_error_of_a_small_digits_network(digits):
    assert_learns(digits_erbp(), digits)


def test_erbp_resumes_exactly(tmp_path):
    whole, resumed = whole_and_resumed(lambda epochs: digits_erbp(epochs=epochs, n_train=200, n_test=50), tmp_path)
    assert whole.history["test_error"] == resumed.history["test_error"]


def test_bad_neuron_settings_and_topologies_are_refused_in_one_line():
    with pytest.raises(ConfigError, match="tau_v=-0.01"):
        make_config(rule="erbp", topology="layered", neurons={"tau_v": -0.01})
    with pytest.raises(ConfigError, match="boxcar_low=1.0"):
        make_config(rule="erbp", topology="layered", neurons={"boxcar_low": 1.0, "boxcar_high": 0.5})
    with pytest.raises(ConfigError, match="rule='erbp'"):
        make_config(rule="erbp", topology="small-world")
    with pytest.raises(SpikingError, match="rate"):
        LIF(input_rate=5000.0)
