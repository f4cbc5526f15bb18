"""Synaptic sampling machines, S2M (Neftci, Pedroni, Joshi, Al-Shedivat & Cauwenberghs 2016, "Stochastic synapses
enable efficient brain-inspired learning machines", Frontiers in Neuroscience 10:241), trained by contrastive
divergence with label units, as the paper's classifier.

The layered network 784-500-10 is read as a Boltzmann machine, bipartite: the visible layer is the pixels and the
label units together (layers 0 and 2), the hidden layer is layer 1, and each connection is one symmetric weight
(the block W between pixels and hidden, V between hidden and labels; the downward direction takes each block's
backward couplings, :meth:`~neurosim.network.DenseBlock.backward`, so device mismatch acts on it). Units are binary
threshold units whose synapses blank out at random (:mod:`neurosim.sampling`). The hidden and label biases are the
network's; the pixels' biases a are the rule's learned parameter ``a0`` (:attr:`neurosim.store.Run.rule_parameters`).

One training step on a batch (event-driven contrastive divergence in discrete time; ``sampling.steps`` = k):

1. data phase, k block-Gibbs steps: pixels drawn as Bernoulli(x) every step (the spike trains of the inputs),
   labels clamped to the one-hot target, hidden units sampled given both;
2. model phase, k steps from the data phase's last state: pixels and labels sampled given the hidden units, then
   the hidden units given them (the network runs free: the reconstruction);
3. the estimate of -dC/dθ (C the negative log-likelihood of the data), batch-averaged, each phase averaged over its
   steps:  ΔW_ij ∝ <v_i h_j>_data - <v_i h_j>_model,  Δb_j ∝ <h_j>_data - <h_j>_model (and likewise V, label biases,
   and the pixel biases a at the rule's own rate ``rule_lr``).

The sign of the difference is the paper's global modulation of an STDP rule between its data and reconstruction
phases; here each phase's products are averaged and the update written at the end of the batch, as every rule's.
Prediction: pixels drawn from the example as in training, labels free, ``predict_steps`` block-Gibbs steps from
silent labels and hidden units; the state returned is each unit's firing frequency over those steps (hidden, then
labels), and the class the label unit that fired most (ties to the lowest index). Connections missing from a
block's mask (a pruned network: :func:`prune`) carry no current and take no update.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..network import DenseBlock, Network
from ..sampling import Sampling, drive, fire
from .base import Machine, RuleError, check_parameters, draws, forward_pass


def machine_blocks(net: Network) -> tuple[DenseBlock, DenseBlock]:
    """The pixel-hidden and hidden-label blocks of a three-layer layered network; :class:`RuleError` otherwise."""
    blocks = {(b.lo, b.hi): b for b in net.blocks}
    if net.n_layers != 3 or set(blocks) != {(0, 1), (1, 2)} or len(net.sparse):
        raise RuleError(f"rule 's2m' trains a Boltzmann machine of three layered layers (inputs, hidden, labels), "
                        f"not sizes {list(net.sizes)} with blocks {sorted(blocks)} and {len(net.sparse)} skips")
    return blocks[0, 1], blocks[1, 2]


def _weights(block: DenseBlock) -> tuple[np.ndarray, np.ndarray]:
    """The block's couplings upward (into ``hi``) and downward (into ``lo``, transposed to (n_hi, n_lo)), zero
    where its mask has no connection."""
    up, down = block.weight, block.backward()
    if block.mask is not None:
        up, down = up * block.mask, down * block.mask
    return up, down.T


@dataclass
class Chain:
    """A block-Gibbs chain's state over a batch: pixels (B, n_in), hidden (B, n_hidden), labels (B, n_labels),
    each 0 or 1."""

    pixels: np.ndarray
    hidden: np.ndarray
    labels: np.ndarray


def sample_hidden(net: Network, chain: Chain, keep: float, rng) -> np.ndarray:
    """The hidden units given the pixels and labels: fire(Σ m W v + Σ m V l + b), fresh masks."""
    w, v = machine_blocks(net)
    (w_up, _), (_, v_down) = _weights(w), _weights(v)
    u = drive(chain.pixels, w_up, keep, rng) + drive(chain.labels, v_down, keep, rng) + net.bias[net.free_slice(1)]
    return fire(u)


def sample_labels(net: Network, hidden: np.ndarray, keep: float, rng) -> np.ndarray:
    """The label units given the hidden units: fire(Σ m V h + c), fresh masks."""
    v_up, _ = _weights(machine_blocks(net)[1])
    return fire(drive(hidden, v_up, keep, rng) + net.bias[net.free_slice(2)])


def sample_visible(net: Network, chain: Chain, pixel_bias: np.ndarray, keep: float, rng) -> tuple:
    """The pixels and the labels given the hidden units, fresh masks."""
    _, w_down = _weights(machine_blocks(net)[0])
    pixels = fire(drive(chain.hidden, w_down, keep, rng) + pixel_bias)
    return pixels, sample_labels(net, chain.hidden, keep, rng)


def _pixels_of(x: np.ndarray, rng) -> np.ndarray:
    """Binary pixels drawn as Bernoulli(intensity)."""
    return (rng.random(x.shape) < x).astype(x.dtype)


@dataclass
class Statistics:
    """A phase's averages over its steps: <v h> (n_in, n_hidden) and <h l> (n_hidden, n_labels) summed over the
    batch, and the units' activities (B, n) averaged over the steps."""

    pixel_hidden: np.ndarray
    hidden_label: np.ndarray
    pixels: np.ndarray
    hidden: np.ndarray
    labels: np.ndarray

    @classmethod
    def of(cls, chains: list[Chain]) -> "Statistics":
        n = len(chains)
        return cls(pixel_hidden=sum(c.pixels.T @ c.hidden for c in chains) / n,
                   hidden_label=sum(c.hidden.T @ c.labels for c in chains) / n,
                   pixels=sum(c.pixels for c in chains) / n, hidden=sum(c.hidden for c in chains) / n,
                   labels=sum(c.labels for c in chains) / n)


def contrastive_divergence(net: Network, x, target, pixel_bias, sampling: Sampling, rng) -> tuple:
    """One step of the rule (module docstring): the network's -dC/dθ estimate in the order of
    :meth:`Network.parameters`, the pixel biases' by name, and the data phase's hidden and label activities
    (B, n_free)."""
    w, v = machine_blocks(net)
    x = np.asarray(x, dtype=net.dtype)
    labels = np.asarray(target, dtype=net.dtype)
    keep, batch = sampling.keep, x.shape[0]
    chain = Chain(pixels=_pixels_of(x, rng), hidden=np.zeros((batch, net.sizes[1]), dtype=net.dtype), labels=labels)
    data = []
    for step in range(sampling.steps):
        if step:
            chain = Chain(pixels=_pixels_of(x, rng), hidden=chain.hidden, labels=labels)
        chain = Chain(chain.pixels, sample_hidden(net, chain, keep, rng), labels)
        data.append(chain)
    model = []
    for _ in range(sampling.steps):
        pixels, free_labels = sample_visible(net, chain, pixel_bias, keep, rng)
        chain = Chain(pixels, chain.hidden, free_labels)
        chain = Chain(pixels, sample_hidden(net, chain, keep, rng), free_labels)
        model.append(chain)
    d, m = Statistics.of(data), Statistics.of(model)
    grads = [(d.pixel_hidden - m.pixel_hidden) / batch, (d.hidden_label - m.hidden_label) / batch]
    for k, block in enumerate((w, v)):
        if block.mask is not None:
            grads[k] = grads[k] * block.mask
    grads.append(np.zeros_like(net.sparse.weight))
    grads.append(np.concatenate([(d.hidden - m.hidden).mean(axis=0), (d.labels - m.labels).mean(axis=0)]))
    states = np.concatenate([d.hidden, d.labels], axis=1)
    return grads, {"a0": (d.pixels - m.pixels).mean(axis=0)}, states


def classify(net: Network, x, sampling: Sampling, rng) -> np.ndarray:
    """The firing frequency of the hidden and label units (B, n_free) over ``predict_steps`` block-Gibbs steps with
    the pixels drawn from ``x`` and the labels free, from silent hidden and label units."""
    x = np.asarray(x, dtype=net.dtype)
    batch = x.shape[0]
    chain = Chain(pixels=_pixels_of(x, rng), hidden=np.zeros((batch, net.sizes[1]), dtype=net.dtype),
                  labels=np.zeros((batch, net.sizes[2]), dtype=net.dtype))
    counts = np.zeros((batch, net.n_free), dtype=net.dtype)
    for _ in range(sampling.predict_steps):
        chain = Chain(_pixels_of(x, rng), sample_hidden(net, chain, sampling.keep, rng), chain.labels)
        chain = Chain(chain.pixels, chain.hidden, sample_labels(net, chain.hidden, sampling.keep, rng))
        counts += np.concatenate([chain.hidden, chain.labels], axis=1)
    return counts / sampling.predict_steps


def prune(net: Network, fraction: float) -> Network:
    """A copy of ``net`` without the weakest ``fraction`` of its dense connections (by |W| over every block
    together): their weights 0 and their entries False in the blocks' masks, so that no current flows through them
    and no update reaches them."""
    if not 0 <= fraction < 1:
        raise ValueError(f"fraction={fraction}: a share of the connections in [0, 1)")
    out = net.copy()
    present = [np.ones(b.weight.shape, dtype=bool) if b.mask is None else b.mask.copy() for b in out.blocks]
    magnitudes = np.concatenate([np.abs(b.weight[m]) for b, m in zip(out.blocks, present)])
    cut = int(round(fraction * len(magnitudes)))
    if cut:
        order = np.argsort(magnitudes, kind="stable")
        removed = np.zeros(len(magnitudes), dtype=bool)
        removed[order[:cut]] = True
        start = 0
        for block, mask in zip(out.blocks, present):
            where = np.flatnonzero(mask.ravel())
            mask.ravel()[where[removed[start:start + len(where)]]] = False
            start += len(where)
            block.mask = mask
            block.weight[~mask] = 0
    return out


@dataclass(frozen=True)
class SynapticSampling:
    """A synaptic sampling machine trained by contrastive divergence (``sampling``: :class:`~neurosim.sampling.
    Sampling`); the pixel biases learned at ``rate`` (the configuration's ``rule_lr``). ``parameters``: ``a0``,
    updated in place by :meth:`train` (the run's own array)."""

    sampling: Sampling
    rate: float
    parameters: dict
    name: ClassVar[str] = "s2m"
    layered_only: ClassVar[bool] = True
    settings: ClassVar[tuple] = ("rule_lr", "rule_devices", "sampling")

    @classmethod
    def from_config(cls, config, net: Network, rng, learned: dict | None = None) -> "SynapticSampling":
        machine_blocks(net)
        initial = {"a0": np.zeros(net.sizes[0], dtype=net.dtype)}
        check_parameters(initial, learned, config.rule)
        return cls(sampling=config.sampling, rate=config.rule_lr,
                   parameters=initial if learned is None else learned)

    def train(self, machine: Machine, net: Network, x, target, beta: float, start) -> tuple:
        """The step's prediction before it learns (the 'free' relaxation: the training error is the machine's own
        classification, labels free), then contrastive divergence (the data phase's activities, labels clamped, as
        the 'nudged' one)."""
        predicted = self.predict(machine, net, x, start)
        grads, own, states = contrastive_divergence(machine.network(), x, target, machine.own(self.parameters)["a0"],
                                                    self.sampling, draws(machine))
        machine.learn(self.parameters, own, self.rate)
        return predicted, forward_pass(states), grads

    def predict(self, machine: Machine, net: Network, x, start):
        return forward_pass(classify(machine.network(), x, self.sampling, draws(machine)))
