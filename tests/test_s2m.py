"""Synaptic sampling machines: the sampler's statistics against exact enumeration of every synapse mask and every
state of a network small enough to enumerate; the contrastive-divergence update against a hand computation where
sampling is certain; pruning; learning and resuming as every rule."""

import itertools

import numpy as np
import pytest

from neurosim import topology
from neurosim.build import controller_of, new_run
from neurosim.config import ConfigError, make_config
from neurosim.network import from_graph
from neurosim.rules import RuleError
from neurosim.rules.s2m import Chain, contrastive_divergence, prune, sample_hidden, sample_visible
from neurosim.sampling import Sampling, transmitting
from neurosim.store import load_run
from conftest import assert_learns, whole_and_resumed

KEEP = 0.5


def firing_probability(weights, inputs, bias, keep=KEEP):
    """P(Σ_j m_j w_j z_j + b > 0) with independent m_j ~ Bernoulli(keep), by enumerating every mask."""
    total = 0.0
    for mask in itertools.product((0, 1), repeat=len(weights)):
        chance = np.prod([keep if m else 1 - keep for m in mask])
        total += chance * (sum(m * w * z for m, w, z in zip(mask, weights, inputs)) + bias > 0)
    return total


def layer_probability(state, weight_rows, inputs, biases):
    """P(a layer's units take ``state``) given its inputs: units independent, each by enumeration."""
    p = 1.0
    for unit, s in enumerate(state):
        q = firing_probability([row[unit] for row in weight_rows], inputs, biases[unit])
        p *= q if s else 1 - q
    return p


def tiny_machine():
    """3 pixels, 2 hidden units, 1 label unit."""
    net = from_graph(topology.layered((3, 2, 1)), seed=0, dtype=np.float64)
    net.blocks[0].weight[:] = [[0.8, -0.5], [-0.3, 0.6], [0.5, 0.4]]
    net.blocks[1].weight[:] = [[0.7], [-0.9]]
    net.bias[:] = [-0.2, 0.1, 0.15]  # hidden 1, hidden 2, label
    return net, np.array([-0.1, 0.3, -0.4])  # the pixels' biases


def test_the_free_chain_samples_the_stationary_distribution_exact_enumeration_gives():
    """The model phase's block-Gibbs chain (visible given hidden, then hidden given visible) over the 16 visible
    states (3 pixels and the label): its stationary distribution from the exact transition matrix, built by
    enumerating every synapse mask and hidden state, against 40,000 chains run by the sampler."""
    net, pixel_bias = tiny_machine()
    w, v = net.blocks[0].weight, net.blocks[1].weight
    hidden_states = list(itertools.product((0, 1), repeat=2))
    visible_states = list(itertools.product((0, 1), repeat=4))  # pixels 1-3, label

    def p_hidden(h, vis):  # inputs to hidden unit k: the 3 pixels through w[:, k], the label through v[k, 0]
        rows = [list(w[0]), list(w[1]), list(w[2]), [v[0, 0], v[1, 0]]]
        return layer_probability(h, rows, vis, net.bias[:2])

    def p_visible(vis, h):
        p = layer_probability(vis[:3], [list(w[:, 0]), list(w[:, 1])], h, pixel_bias)  # w^T: hidden -> pixels
        return p * layer_probability(vis[3:], [[v[0, 0]], [v[1, 0]]], h, net.bias[2:])

    # one step of the chain on the visible states: v -> h -> v'
    transition = np.array([[sum(p_hidden(h, a) * p_visible(b, h) for h in hidden_states) for b in visible_states]
                           for a in visible_states])
    np.testing.assert_allclose(transition.sum(axis=1), 1.0, atol=1e-12)
    values, vectors = np.linalg.eig(transition.T)
    stationary = np.real(vectors[:, np.argmin(np.abs(values - 1))])
    stationary /= stationary.sum()

    rng = np.random.default_rng(7)
    n = 40_000
    chain = Chain(pixels=np.zeros((n, 3)), hidden=np.zeros((n, 2)), labels=np.zeros((n, 1)))
    for _ in range(40):
        chain = Chain(chain.pixels, sample_hidden(net, chain, KEEP, rng), chain.labels)
        pixels, labels = sample_visible(net, chain, pixel_bias, KEEP, rng)
        chain = Chain(pixels, chain.hidden, labels)
    codes = np.concatenate([chain.pixels, chain.labels], axis=1) @ (2 ** np.arange(3, -1, -1))
    seen = np.bincount(codes.astype(int), minlength=16) / n
    tolerance = 5 * np.sqrt(stationary * (1 - stationary) / n) + 1e-3
    assert np.all(np.abs(seen - stationary) <= tolerance), np.c_[seen, stationary]
    assert stationary.max() < 0.5 and np.count_nonzero(stationary > 0.01) >= 6  # a spread, not a certainty


@pytest.mark.parametrize("keep", [KEEP, 0.25, 0.55])  # masks from bits, from bytes, from float uniforms
def test_a_unit_fires_as_often_as_the_enumerated_masks_say(keep):
    net, _ = tiny_machine()
    rng = np.random.default_rng(8)
    n = 50_000
    vis = np.array([1.0, 1.0, 1.0])
    chain = Chain(pixels=np.tile(vis, (n, 1)), hidden=np.zeros((n, 2)), labels=np.ones((n, 1)))
    rate = sample_hidden(net, chain, keep, rng).mean(axis=0)
    for k in range(2):
        weights = [*net.blocks[0].weight[:, k], net.blocks[1].weight[k, 0]]
        exact = firing_probability(weights, [1, 1, 1, 1], net.bias[k], keep)
        assert rate[k] == pytest.approx(exact, abs=5 * np.sqrt(exact * (1 - exact) / n) + 1e-3)
    certain = sample_hidden(net, chain, 1.0, rng)  # no blank-out: the threshold units are deterministic
    expected = (vis @ net.blocks[0].weight + net.blocks[1].weight[:, 0] + net.bias[:2] > 0).astype(float)
    np.testing.assert_array_equal(certain, np.tile(expected, (n, 1)))


@pytest.mark.parametrize("keep, shape", [(0.5, (4000, 3, 8)), (0.5, (4000, 3, 7)), (0.25, (4000, 3, 8)),
                                         (0.55, (4000, 3, 8))])
def test_synapse_masks_are_independent_bernoulli_draws(keep, shape):
    """Every pattern of three neighbouring synapses (bits of one random byte, on the path that packs eight masks
    a byte) is as frequent as independent Bernoulli(keep) draws make it: 8 cells, each within 5 sigma."""
    masks = transmitting(shape, keep, np.random.default_rng(3)).astype(int)
    assert masks.shape == shape and set(np.unique(masks)) == {0, 1}
    triples = masks[..., :6].reshape(-1, 3)  # positions 0-2 and 3-5 of each row
    codes = triples @ np.array([4, 2, 1])
    seen = np.bincount(codes, minlength=8) / len(codes)
    ones = np.array([bin(c).count("1") for c in range(8)])
    expected = keep ** ones * (1 - keep) ** (3 - ones)
    assert np.all(np.abs(seen - expected) <= 5 * np.sqrt(expected * (1 - expected) / len(codes))), (seen, expected)


def test_contrastive_divergence_where_sampling_is_certain_matches_a_hand_computation():
    """No blank-out and binary pixels: every sample is certain, so the data and model phases are computed here
    from the definition: h = [W^T v + V l + b > 0], then v' = [W h + a > 0], l' = [V^T h + c > 0], h' likewise."""
    net, pixel_bias = tiny_machine()
    x = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    target = np.array([[1.0], [0.0]])
    w, v, b, c = net.blocks[0].weight, net.blocks[1].weight, net.bias[:2], net.bias[2:]
    step = lambda u: (u > 0).astype(float)  # noqa: E731
    h = step(x @ w + target @ v.T + b)
    x2, l2 = step(h @ w.T + pixel_bias), step(h @ v + c)
    h2 = step(x2 @ w + l2 @ v.T + b)
    grads, own, _ = contrastive_divergence(net, x, target, pixel_bias, Sampling(blank_out=0.0, steps=1),
                                           np.random.default_rng(0))
    np.testing.assert_allclose(grads[0], (x.T @ h - x2.T @ h2) / 2)
    np.testing.assert_allclose(grads[1], (h.T @ target - h2.T @ l2) / 2)
    np.testing.assert_allclose(grads[-1], np.concatenate([(h - h2).mean(0), (target - l2).mean(0)]))
    np.testing.assert_allclose(own["a0"], (x - x2).mean(0))
    assert np.abs(grads[0]).max() > 0  # the phases differ


def test_pruning_removes_the_weakest_connections_and_relearning_keeps_them_removed(digits):
    config = make_config(dataset="digits", topology="layered", sizes=(64, 20, 10), epochs=1, seed=1, lr=(0.1,),
                         rule="s2m", persistent=False, n_train=100, n_test=20)
    run = new_run(config, digits)
    net = run.network
    pruned = prune(net, 0.75)
    everything = np.concatenate([np.abs(b.weight).ravel() for b in net.blocks])
    kept = np.concatenate([b.mask.ravel() for b in pruned.blocks])
    assert kept.sum() == round(0.25 * len(everything))
    assert everything[kept].min() >= everything[~kept].max()  # the weakest went
    for old, new in zip(net.blocks, pruned.blocks):
        np.testing.assert_array_equal(new.weight[new.mask], old.weight[new.mask])
        assert not new.weight[~new.mask].any()
    assert net.blocks[0].mask is None  # the original is untouched
    controller = controller_of(config, pruned, learned=run.rule_parameters)
    for k in range(5):
        controller.step(pruned, digits.x_train[k * 20:(k + 1) * 20], np.eye(10)[digits.y_train[k * 20:(k + 1) * 20]],
                        np.random.default_rng(k), noise_rng=np.random.default_rng(k))
    assert all(not b.weight[~b.mask].any() for b in pruned.blocks)
    assert any(not np.array_equal(b.weight[b.mask], o.weight[b.mask]) for b, o in zip(pruned.blocks, net.blocks))


def s2m_config(**kw):
    values = dict(dataset="digits", topology="layered", sizes=(64, 100, 10), epochs=3, seed=1, lr=(0.1,),
                  rule="s2m", persistent=False, sampling={"predict_steps": 30})
    return make_config(**{**values, **kw})


def test_s2m_lowers_the_error_of_a_small_digits_network(digits):
    assert_learns(s2m_config(), digits)


def test_s2m_resumes_exactly_with_its_pixel_biases(tmp_path):
    whole, resumed = whole_and_resumed(lambda epochs: s2m_config(epochs=epochs, n_train=200, n_test=50), tmp_path)
    np.testing.assert_array_equal(whole.rule_parameters["a0"], resumed.rule_parameters["a0"])
    assert np.abs(load_run(tmp_path / "whole.h5").rule_parameters["a0"]).max() > 0


def test_s2m_refuses_what_it_cannot_train():
    with pytest.raises(RuleError, match="three layered layers"):
        from neurosim.rules import SynapticSampling

        SynapticSampling.from_config(make_config(rule="s2m", topology="layered", sizes=(4, 3, 3, 2)),
                                     from_graph(topology.layered((4, 3, 3, 2)), seed=0), None)
    with pytest.raises(ConfigError, match="blank_out=1.0"):
        make_config(rule="s2m", topology="layered", sampling={"blank_out": 1.0})
    with pytest.raises(ConfigError, match="rule='s2m'"):
        make_config(rule="s2m", topology="small-world")
    with pytest.raises(ValueError, match="fraction=1"):
        prune(from_graph(topology.layered((4, 3, 2)), seed=0), 1)
