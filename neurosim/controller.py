"""The controller: one training step on a batch, whatever the engine and the rule.

The rule (:mod:`neurosim.rules`; EqProp by default: free phase, nudged phase, the local estimate of eqs 7-8)
makes the phases on the engine and returns its estimate of -dC/dtheta; the controller draws the sign of beta,
scales the estimate by the learning rates alpha (eqs 7-8: dW_ij = alpha / beta * <...>) and writes the updates.
``alpha`` is one global rate or one rate per pair of adjacent layers; see :func:`learning_rates` for which rate
each parameter gets.

With hardware models (:class:`~neurosim.hardware.Devices`) the engines relax the effective network of the
devices (drawn afresh for each phase when there is read noise), the rule multiplies the states an ADC reads, and
the updates are written as the devices write them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Sequence

import numpy as np

from array_api_compat import device as device_of

from .backend import array_namespace, to_numpy
from .cudagraph import GraphCache
from .engines.base import Engine, Relaxation, check_ready, refuse_nudge
from .hardware import Devices, RuleDevices
from .network import Network
from .topology import layer_of_neurons, pair_rates
from .rules import EqProp, Machine, Rule, unread
from .rules.base import learn_exactly
from .rules.eqprop import zero_state


def learning_rates(net: Network, rates: Sequence[float], bias_rate: float | None = None) -> list[np.ndarray | float]:
    """The learning rate of every parameter, in the order of :meth:`Network.parameters`.

    ``rates``: one value (a global rate) or one per pair of adjacent layers, input side first (the paper's
    .128, .032, .008, .002 for 784-500-500-500-10). A parameter takes the rate of the input weights of the layer
    it ends in (paper section 4.1: "biases ... the learning rate of the neuron's input connections"):
    weights between layers l-1 and l, intralayer weights of layer l, layer-skipping weights ending in layer l and
    the biases of layer l all use ``rates[l-1]``. ``bias_rate``: one rate for every bias instead (the code behind
    the paper's per-layer curves updates the biases at rate 1).
    """
    per_layer = np.array([np.nan] + pair_rates(rates, net.sizes))  # index by the upper layer
    layer = layer_of_neurons(net.sizes)
    xp = array_namespace(net.bias)
    out: list = [float(per_layer[b.hi]) for b in net.blocks]
    upper = np.maximum(layer[to_numpy(net.sparse.i)], layer[to_numpy(net.sparse.j)])
    bias = per_layer[layer[net.n_inputs :]] if bias_rate is None else np.full(net.n_free, float(bias_rate))
    for per_entry in (per_layer[upper], bias):
        out.append(xp.asarray(per_entry, dtype=net.dtype, device=device_of(net.bias)))
    return out


def apply_update(net: Network, updates: Sequence[np.ndarray]) -> None:
    """Add ``updates`` (in the order of :meth:`Network.parameters`) to the network's parameters, in place."""
    for param, update in zip(net.parameters(), updates, strict=True):
        param += update


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
    """Sequences a training step on any engine, with any rule.

    ``beta``: clamping factor (> 0). ``rates``: per-parameter learning rates from :func:`learning_rates`.
    ``random_sign``: draw the sign of beta at random each batch (off by default; reduces the bias of the
    one-sided estimate). ``cuda_graphs``: on the GPU, record each training step (both phases, the gradient and
    the update) as one CUDA graph per batch shape and sign of beta, and replay it (:mod:`neurosim.cudagraph`).
    ``hardware``: the devices that store the weights (:mod:`neurosim.hardware`; None: ideal), CPU only.
    ``rule``: the learning rule (:mod:`neurosim.rules`): :class:`~neurosim.rules.EqProp` with its nudge (which
    the engine must implement, its ``nudges``), or a feedforward baseline (CPU, layered networks) whose forward
    pass stands in for both phases. ``rule_hardware``: the devices that hold the rule's own learned parameters
    (:class:`~neurosim.hardware.RuleDevices`; None: floating point), read and written as the network's are.
    """

    engine: Engine
    beta: float
    rates: list
    random_sign: bool = False
    cuda_graphs: bool = False
    hardware: Devices | None = None
    rule: Rule = field(default_factory=EqProp)
    rule_hardware: RuleDevices | None = None
    _graphs: GraphCache = field(default_factory=GraphCache, repr=False, compare=False)

    def __post_init__(self) -> None:
        nudge = getattr(self.rule, "nudge", None)
        if nudge is not None:  # an engine written before nudges were named implements the weak one
            refuse_nudge(nudge, self.engine.name, getattr(self.engine, "nudges", ("weak",)))

    def check_ready(self) -> None:
        """Raise the engine's :class:`~neurosim.engines.base.EngineError` now if it cannot run (ngspice missing),
        so that training fails before it writes a run file."""
        check_ready(self.engine)

    def effective_network(self, net: Network, noise_rng: np.random.Generator | None = None) -> Network:
        """The network a phase relaxes: ``net`` itself, or the effective network of the hardware's devices."""
        return net if self.hardware is None else self.hardware.effective(net, noise_rng)

    def machine(self, net: Network, noise_rng: np.random.Generator | None = None) -> Machine:
        """What the rule trains: the engine on the (effective) network, read through the hardware's ADC; the
        rule's own parameters read and written through their devices, if any."""
        own, learn = unread, learn_exactly
        if self.rule_hardware is not None:
            own = partial(self.rule_hardware.present, rng=noise_rng)
            learn = partial(self.rule_hardware.learn, rng=noise_rng)
        return Machine(network=lambda: self.effective_network(net, noise_rng), engine=self.engine,
                       read=unread if self.hardware is None else self.hardware.read, rng=noise_rng, own=own,
                       learn=learn)

    def step(self, net: Network, x, target, rng: np.random.Generator, start=None,
             noise_rng: np.random.Generator | None = None) -> StepResult:
        """One training step on a batch, the free phase from ``start`` (default zeros); updates ``net`` in
        place. ``rng`` draws the sign of beta; ``noise_rng`` the hardware's random effects (stochastic
        rounding, write and read noise), a stream of its own so that they do not change the signs."""
        beta = self.beta
        if self.random_sign and rng.random() < 0.5:
            beta = -beta
        if self.cuda_graphs:
            start = zero_state(net, x) if start is None else start  # a recorded input, never None
            key = (id(net), tuple(x.shape), beta)
            step = lambda x_, t_, s_: self._step(net, x_, t_, beta, s_, None)  # noqa: E731
            return self._graphs.run(key, step, x, target, start, keep=net, mutates=net.parameters())
        return self._step(net, x, target, beta, start, noise_rng)

    def _step(self, net: Network, x, target, beta: float, start, noise_rng) -> StepResult:
        free, nudged, grads = self.rule.train(self.machine(net, noise_rng), net, x, target, beta, start)
        return self._update(net, grads, free, nudged, beta, noise_rng)

    def _update(self, net: Network, grads, free, nudged, beta: float, noise_rng) -> StepResult:
        """Scale ``grads`` by the learning rates and write them into ``net`` (through the devices, if any)."""
        updates = [rate * g for rate, g in zip(self.rates, grads, strict=True)]
        if self.hardware is None:
            apply_update(net, updates)
            return StepResult(free=free, nudged=nudged, updates=updates, beta=beta)
        applied = self.hardware.write(net, updates, noise_rng)
        return StepResult(free=free, nudged=nudged, updates=updates, beta=beta, applied=applied)

    def predict(self, net: Network, x, noise_rng: np.random.Generator | None = None, start=None) -> tuple:
        """Class prediction: argmax of the output at the rule's free state reached from ``start`` (default
        zeros; for a baseline rule, of the forward pass)."""
        free = self.rule.predict(self.machine(net, noise_rng), net, x, start)
        return array_namespace(free.state).argmax(free.state[:, net.output_slice], axis=1), free
