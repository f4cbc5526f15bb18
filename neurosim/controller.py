"""The EqProp controller: free phase, nudged phase, local updates, whatever the engine.

One training step on a batch (paper section 2.1.1):

1. free phase from s = 0: relax on F(beta = 0) -> s^0;
2. nudged phase from s^0: relax on F(beta) -> s^beta;
3. local updates averaged over the batch (eqs 7-8):
       dW_ij = alpha / beta * <rho(u_i^beta) rho(u_j^beta) - rho(u_i^0) rho(u_j^0)>
       db_i  = alpha / beta * <rho(u_i^beta) - rho(u_i^0)>

Each update needs only the two neurons its weight joins. ``alpha`` is one global rate or one rate per pair of
adjacent layers; see :func:`learning_rates` for which rate each parameter gets.

With hardware models (:class:`~neurosim.hardware.Devices`) the engines relax the effective network of the
devices (drawn afresh for each phase when there is read noise), the rule multiplies the states an ADC reads, and
the updates are written as the devices write them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from array_api_compat import device as device_of

from .backend import array_namespace, to_numpy
from .cudagraph import GraphCache
from .energy import rho
from .engines.base import Engine, Phase, Relaxation, refuse_nudge
from .hardware import Devices
from .network import Network
from .rules import feedforward_gradient, forward


def learning_rates(net: Network, rates: Sequence[float], bias_rate: float | None = None) -> list[np.ndarray | float]:
    """The learning rate of every parameter, in the order of :meth:`Network.parameters`.

    ``rates``: one value (a global rate) or one per pair of adjacent layers, input side first (the paper's
    .128, .032, .008, .002 for 784-500-500-500-10). A parameter takes the rate of the input weights of the layer
    it ends in (paper section 4.1: "biases ... the learning rate of the neuron's input connections"):
    weights between layers l-1 and l, intralayer weights of layer l, layer-skipping weights ending in layer l and
    the biases of layer l all use ``rates[l-1]``. ``bias_rate``: one rate for every bias instead (the code behind
    the paper's per-layer curves updates the biases at rate 1).
    """
    rates = [float(r) for r in rates]
    n_pairs = net.n_layers - 1
    if len(rates) == 1:
        rates = rates * n_pairs
    if len(rates) != n_pairs:
        raise ValueError(
            f"learning rates {rates}: give one global rate or one per adjacent layer pair ({n_pairs} for sizes "
            f"{list(net.sizes)})"
        )
    per_layer = np.array([np.nan] + rates)  # index by the upper layer
    layer = np.repeat(np.arange(net.n_layers), net.sizes)
    xp = array_namespace(net.bias)
    out: list = [float(per_layer[b.hi]) for b in net.blocks]
    upper = np.maximum(layer[to_numpy(net.sparse.i)], layer[to_numpy(net.sparse.j)])
    bias = per_layer[layer[net.n_inputs :]] if bias_rate is None else np.full(net.n_free, float(bias_rate))
    for per_entry in (per_layer[upper], bias):
        out.append(xp.asarray(per_entry, dtype=net.dtype, device=device_of(net.bias)))
    return out


def eqprop_gradient(net: Network, x, s_free, s_nudged, beta: float) -> list:
    """The EqProp estimate of -dC/dtheta for every parameter (eqs 7-8 without alpha), batch-averaged, in the order
    of :meth:`Network.parameters`: (1/beta) <rho_i rho_j |nudged - rho_i rho_j |free> for weights and
    (1/beta) <rho_i |nudged - rho_i |free> for biases. Entries of missing connections are 0. Works on numpy
    arrays and torch tensors alike."""
    xp = array_namespace(s_free)
    x = xp.asarray(x, dtype=net.dtype, device=device_of(s_free))
    batch = x.shape[0]
    scale = 1.0 / (beta * batch)
    r0, rb = rho(s_free), rho(s_nudged)

    def layer_act(r, layer):
        return x if layer == 0 else r[:, net.free_slice(layer)]

    grads: list[np.ndarray] = []
    for b in net.blocks:
        g = layer_act(rb, b.lo).T @ layer_act(rb, b.hi) - layer_act(r0, b.lo).T @ layer_act(r0, b.hi)
        g *= scale
        if b.mask is not None:
            g *= b.mask
        grads.append(g)
    u0 = xp.concat([x, r0], axis=1)
    ub = xp.concat([x, rb], axis=1)
    i, j = net.sparse.i, net.sparse.j
    grads.append(scale * xp.sum(ub[:, i] * ub[:, j] - u0[:, i] * u0[:, j], axis=0))
    grads.append(scale * xp.sum(rb - r0, axis=0))
    return grads


def apply_update(net: Network, updates: Sequence[np.ndarray]) -> None:
    """Add ``updates`` (in the order of :meth:`Network.parameters`) to the network's parameters, in place."""
    for param, update in zip(net.parameters(), updates, strict=True):
        param += update


def _zero_state(net: Network, x):
    """Free states of zero for a batch of inputs ``x``, on the network's backend and device."""
    return array_namespace(net.bias).zeros((x.shape[0], net.n_free), dtype=net.dtype, device=device_of(net.bias))


def _forward_pass(states) -> Relaxation:
    """A feedforward pass's activations as the relaxation it stands in for: no residual, no iterations."""
    return Relaxation(state=states, residual=np.zeros(len(states)), steps=0)


@dataclass
class StepResult:
    """What one training step produced: both relaxations, the rule's updates (alpha included), the changes the
    parameters actually underwent (``applied``: the same without hardware models) and beta used."""

    free: Relaxation
    nudged: Relaxation
    updates: list[np.ndarray]
    beta: float
    applied: list[np.ndarray] | None = None

    def __post_init__(self) -> None:
        if self.applied is None:
            self.applied = self.updates


@dataclass
class Controller:
    """Sequences EqProp on any engine.

    ``beta``: clamping factor (> 0). ``rates``: per-parameter learning rates from :func:`learning_rates`.
    ``random_sign``: draw the sign of beta at random each batch (off by default; reduces the bias of the
    one-sided estimate). ``cuda_graphs``: on the GPU, record each training step (both phases, the gradient and
    the update) as one CUDA graph per batch shape and sign of beta, and replay it (:mod:`neurosim.cudagraph`).
    ``hardware``: the devices that store the weights (:mod:`neurosim.hardware`; None: ideal), CPU only.
    ``nudge``: how the second phase moves the outputs (``weak``, ``clamped``, ``reference``;
    :class:`~neurosim.engines.base.Phase`), which the engine must implement (its ``nudges``).
    ``rule``: ``eqprop``, or a feedforward baseline of :mod:`neurosim.rules` (``bp``, ``fa``, ``dfa``; CPU, layered
    networks) whose forward pass stands in for both phases; ``feedback``: its fixed random matrices.
    """

    engine: Engine
    beta: float
    rates: list
    random_sign: bool = False
    cuda_graphs: bool = False
    hardware: Devices | None = None
    rule: str = "eqprop"
    feedback: list | None = None
    nudge: str = "weak"
    _graphs: GraphCache = field(default_factory=GraphCache, repr=False, compare=False)

    def __post_init__(self) -> None:
        # an engine written before nudges were named implements the weak one
        refuse_nudge(self.nudge, self.engine.name, getattr(self.engine, "nudges", ("weak",)))

    def settled_network(self, net: Network, noise_rng: np.random.Generator | None = None) -> Network:
        """The network a phase relaxes: ``net`` itself, or the effective network of the hardware's devices."""
        return net if self.hardware is None else self.hardware.effective(net, noise_rng)

    def free_phase(self, net: Network, x, start=None, noise_rng: np.random.Generator | None = None) -> Relaxation:
        """Relax with the inputs clamped, from ``start`` (B, n_free) or from s = 0 (the paper starts every free
        phase at zero; a warm start begins at the example's previous free equilibrium)."""
        start = _zero_state(net, x) if start is None else start
        return self.engine.relax(self.settled_network(net, noise_rng), x, start, Phase())

    def step(self, net: Network, x, target, rng: np.random.Generator, start=None,
             noise_rng: np.random.Generator | None = None) -> StepResult:
        """One EqProp training step on a batch, the free phase from ``start`` (default zeros); updates ``net`` in
        place. ``rng`` draws the sign of beta; ``noise_rng`` the hardware's random effects (stochastic
        rounding, write and read noise), a stream of its own so that they do not change the signs."""
        beta = self.beta
        if self.random_sign and rng.random() < 0.5:
            beta = -beta
        if self.cuda_graphs:
            start = _zero_state(net, x) if start is None else start  # a recorded input, never None
            key = (id(net), tuple(x.shape), beta)
            step = lambda x_, t_, s_: self._step(net, x_, t_, beta, s_, None)  # noqa: E731
            return self._graphs.run(key, step, x, target, start, keep=net, mutates=net.parameters())
        return self._step(net, x, target, beta, start, noise_rng)

    def _step(self, net: Network, x, target, beta: float, start, noise_rng) -> StepResult:
        if self.rule != "eqprop":
            return self._feedforward_step(net, x, target, beta, noise_rng)
        free = self.free_phase(net, x, start, noise_rng)
        second = Phase(beta=beta, target=target, nudge=self.nudge)
        nudged = self.engine.relax(self.settled_network(net, noise_rng), x, free.state, second)
        if self.hardware is None:
            grads = eqprop_gradient(net, x, free.state, nudged.state, beta)
        else:
            read = self.hardware.read
            grads = eqprop_gradient(net, read(x), read(free.state), read(nudged.state), beta)
        return self._update(net, grads, free, nudged, beta, noise_rng)

    def _feedforward_step(self, net: Network, x, target, beta: float, noise_rng) -> StepResult:
        """A baseline rule's step: one forward pass (standing in for both phases, with zero residual) and its
        gradient, applied like EqProp's."""
        read = None if self.hardware is None else self.hardware.read
        grads, states = feedforward_gradient(self.settled_network(net, noise_rng), x, target, self.rule,
                                             self.feedback, read)
        passed = _forward_pass(states)
        return self._update(net, grads, passed, passed, beta, noise_rng)

    def _update(self, net: Network, grads, free, nudged, beta: float, noise_rng) -> StepResult:
        """Scale ``grads`` by the learning rates and write them into ``net`` (through the devices, if any)."""
        updates = [rate * g for rate, g in zip(self.rates, grads, strict=True)]
        if self.hardware is None:
            apply_update(net, updates)
            return StepResult(free=free, nudged=nudged, updates=updates, beta=beta)
        applied = self.hardware.write(net, updates, noise_rng)
        return StepResult(free=free, nudged=nudged, updates=updates, beta=beta, applied=applied)

    def predict(self, net: Network, x, noise_rng: np.random.Generator | None = None, start=None) -> tuple:
        """Class prediction: argmax of the output at the free equilibrium reached from ``start`` (default zeros;
        for a baseline rule, of the forward pass)."""
        if self.rule != "eqprop":
            free = _forward_pass(forward(self.settled_network(net, noise_rng), x)[1])
        else:
            free = self.free_phase(net, x, start, noise_rng)
        return array_namespace(free.state).argmax(free.state[:, net.output_slice], axis=1), free
