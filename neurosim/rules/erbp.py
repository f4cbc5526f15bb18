"""Event-driven random backpropagation, eRBP (Neftci, Augustine, Paul & Detorakis 2017, "Event-driven random
back-propagation: enabling neuromorphic deep learning machines", Frontiers in Neuroscience 11:324).

The layered network's weights drive two-compartment leaky integrate-and-fire neurons (:mod:`neurosim.spiking`,
settings ``neurons``) in discrete time, vectorised over the batch. Each example is presented for ``t_present``
seconds: the input neurons are Poisson sources (rate ∝ pixel intensity), each layer's membranes V integrate the
spikes of the layer below through W (delta synapses, v_syn per unit weight) and their bias as a constant drive
(b · v_syn volts), and the output layer's spikes are the prediction P.

The error is events too. For each class k a pair of error neurons (LIF, the same settings) integrates the prediction
spikes against the label spikes L_k (Poisson at ``label_rate`` for the example's class, silent for the others),
E+_k the difference P_k − L_k and E−_k its opposite, each jump v_syn per spike. Their spikes reach the second
compartment U of every neuron: an output neuron's directly (U_k jumps by +u_syn per E+_k spike, −u_syn per E−_k),
a hidden neuron's through fixed random feedback weights G (U_i jumps by u_syn Σ_k G_ki (s_k^{E+} − s_k^{E−}); G as
direct feedback alignment's D_l, :func:`~neurosim.rules.feedforward.feedback_matrices`); U decays with tau_u.

The update is the paper's "one addition and two comparisons" per synapse: at each spike of a presynaptic neuron
j, every synapse W_ji it makes takes

    ΔW_ji = −η U_i Θ(q_i),    Θ(q) = 1 if boxcar_low < q < boxcar_high, else 0,

with U_i the postsynaptic neuron's error compartment and q_i its synaptic input trace (τ_syn dq/dt = −q plus the
input jumps and the drive: the input current the paper's boxcar reads, in volts; :mod:`neurosim.spiking`) when the
spike arrives (at the start of its step, before the step's input). The window closes for a neuron driven far past
its firing range (its rate saturates at 1 / (t_ref + dt)) or far below it, as ρ′ does for the rate networks; a
window on the membrane itself would not, since a saturated neuron's membrane sits at reset between its spikes.

Here the additions are summed over the presentation and the batch's examples and written at the end of the batch,
as every rule's updates are (:mod:`neurosim.controller`: η is the learning rate ``lr``, and the devices write the
sum as they write any update); the estimate returned is −Σ_t s_j(t) U_i(t) Θ(q_i(t)) per example, batch-averaged. The biases are not learned (the paper's networks have none; they stay as initialised, zero by
default). Prediction: the same network without labels or errors; the state a phase returns is each neuron's
spike count over the presentation divided by its number of steps, in [0, 1], and the class is the output neuron
that fired most (ties to the lowest index).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..network import Network
from ..spiking import LIF, Membranes, poisson_spikes, spiking_inputs
from .base import Machine, check_parameters, draws, forward_pass
from .feedforward import feedback_matrices, feedforward_blocks


@dataclass
class Presentation:
    """What one presentation of a batch produced: the spike count of every free neuron (B, n_free) and, when it
    learned, the summed eRBP additions per weight block (each (n_{l-1}, n_l)), else None."""

    counts: np.ndarray
    additions: list | None


def present(net: Network, lif: LIF, x: np.ndarray, rng: np.random.Generator, target: np.ndarray | None = None,
            feedback: list | None = None) -> Presentation:
    """Simulate the presentation of a batch ``x`` (B, n_in) in [0, 1] for ``lif.t_present`` seconds. With a one-hot
    ``target`` (B, n_out) and the feedback weights G_l (n_out, n_l) of the hidden layers, the error neurons run and
    the eRBP additions Σ_t s_j U_i Θ(q_i) are summed per block (module docstring); without, only the network runs."""
    blocks = feedforward_blocks(net)
    dtype = net.dtype
    x = np.asarray(x, dtype=dtype)
    batch = x.shape[0]
    sizes = net.sizes
    layers = [Membranes.at_rest((batch, n), lif, dtype) for n in sizes[1:]]
    drives = [net.bias[net.free_slice(lay)] * lif.v_syn for lay in range(1, net.n_layers)]
    counts = [np.zeros((batch, n), dtype=dtype) for n in sizes[1:]]
    learning = target is not None
    if learning:
        target = np.asarray(target, dtype=dtype)
        errors_up = Membranes.at_rest(target.shape, lif, dtype)
        errors_down = Membranes.at_rest(target.shape, lif, dtype)
        u = [np.zeros((batch, n), dtype=dtype) for n in sizes[1:]]
        additions = [np.zeros_like(b.weight) for b in blocks]
    traces = [np.zeros((batch, n), dtype=dtype) for n in sizes[1:]]
    for _ in range(lif.n_steps):
        below = poisson_spikes(rng, x, lif.input_rate, lif.dt)
        for k, (block, membranes) in enumerate(zip(blocks, layers)):
            fired = spiking_inputs(below)  # the rows the step reads and writes
            spikes = below[:, fired]
            if learning:  # the presynaptic spikes meet the postsynaptic neuron as it is at the step's start
                additions[k][fired] += spikes.T @ (u[k] * lif.window(traces[k]))
            jumps = (spikes @ block.weight[fired]) * lif.v_syn
            traces[k] = traces[k] * lif.decay_syn + jumps + drives[k] * (1 - lif.decay_syn)
            below = membranes.step(lif, jumps, drives[k])
            counts[k] += below
        if learning:
            labels = poisson_spikes(rng, target, lif.label_rate, lif.dt)
            error = errors_up.step(lif, (below - labels) * lif.v_syn) - errors_down.step(lif, (labels - below) *
                                                                                         lif.v_syn)
            for k in range(len(layers)):
                sent = error if k == len(layers) - 1 else error @ feedback[k]
                u[k] = u[k] * lif.decay_u + sent * lif.u_syn
    return Presentation(counts=np.concatenate(counts, axis=1), additions=additions if learning else None)


def erbp_gradient(net: Network, presentation: Presentation) -> list:
    """The eRBP estimate of −dC/dθ in the order of :meth:`Network.parameters`, batch-averaged: −Σ_t s_j U_i Θ(q_i)
    per weight, zero for the (absent) skip connections and for the biases (not learned)."""
    batch = presentation.counts.shape[0]
    grads = [-a / batch for a in presentation.additions]
    grads.append(np.zeros_like(net.sparse.weight))
    grads.append(np.zeros_like(net.bias))
    return grads


@dataclass(frozen=True)
class ERBP:
    """Event-driven random backprop on LIF neurons (``lif``: :class:`~neurosim.spiking.LIF`); ``feedback``: the
    fixed random weights G_l from the error neurons to each hidden layer."""

    lif: LIF
    feedback: list
    name: ClassVar[str] = "erbp"
    layered_only: ClassVar[bool] = True
    settings: ClassVar[tuple] = ("neurons",)

    @property
    def parameters(self) -> dict:
        """None learned: the feedback is fixed, drawn again from the run's seed."""
        return {}

    @classmethod
    def from_config(cls, config, net: Network, rng, learned: dict | None = None) -> "ERBP":
        feedforward_blocks(net)  # refuses a network that is not layered, in one line
        check_parameters({}, learned, config.rule)
        return cls(lif=config.neurons, feedback=feedback_matrices(net, "dfa", rng))

    def train(self, machine: Machine, net: Network, x, target, beta: float, start) -> tuple:
        shown = present(machine.network(), self.lif, x, draws(machine), target, self.feedback)
        passed = forward_pass(shown.counts / self.lif.n_steps)
        return passed, passed, erbp_gradient(net, shown)

    def predict(self, machine: Machine, net: Network, x, start):
        shown = present(machine.network(), self.lif, x, draws(machine))
        return forward_pass(shown.counts / self.lif.n_steps)
