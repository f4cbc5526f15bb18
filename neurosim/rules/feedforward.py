"""Baseline learning rules on the feedforward network of the same layer sizes: backprop and random feedback.

The network is a layered :class:`~neurosim.network.Network` read as a feedforward net with the same hard
sigmoid ρ (eq 1): for layers l = 1 .. L,

    a_l = h_{l-1} W_{l-1,l} + b_l,    h_l = ρ(a_l),    h_0 = x,    y = h_L,

and the cost is EqProp's, C = 1/2 ||y - y_target||^2 (eq 4), averaged over the batch, or the matching loss of the
hard sigmoid (:data:`OUTPUT_ERRORS`, the configuration's ``output_error``). With the output error δ_L (for the
squared error (y - y_target) ⊙ ρ'(a_L)), each hidden layer receives an error e_l and δ_l = e_l ⊙ ρ'(a_l):

- ``bp``, backpropagation: e_l = δ_{l+1} W_{l,l+1}^T, the exact gradient;
- ``fa``, feedback alignment (Lillicrap et al. 2016): e_l = δ_{l+1} B_l with a fixed random B_l in place of
  W_{l,l+1}^T;
- ``dfa``, direct feedback alignment (Nøkland 2016): e_l = δ_L D_l, the output error sent straight to every hidden
  layer through a fixed random D_l (the basis of event-driven random backprop rules for neuromorphic chips).

Every rule returns -dC/dθ (or its estimate) in the order of :meth:`Network.parameters`, batch-averaged: the same
quantity :func:`~neurosim.rules.eqprop.eqprop_gradient` estimates, so the same learning rates and hardware models
apply. ρ' is 1 on [0, 1] including the end points (eq 2).
"""

from __future__ import annotations

import numpy as np

from dataclasses import dataclass, field
from typing import ClassVar

from ..energy import rho, rho_prime
from ..network import Network
from .base import Machine, RuleError, check_parameters, forward_pass

#: The output errors δ_L = ∂C/∂a_L a feedforward rule can learn from (the configuration's ``output_error``):
#:
#: - ``squared``: C = ½ ||ρ(a_L) − t||², δ_L = (ρ(a_L) − t) ⊙ ρ'(a_L), EqProp's cost (eq 4). An output unit
#:   whose pre-activation is below 0 (or above 1) for every example has ρ' = 0 there and never learns again: on
#:   MNIST 784-500-10 at rate 0.1, 3 of 5 seeds of bp and 5 of 5 of fa lose 2 to 6 classes so (docs/rules.md).
#: - ``matching``: the matching loss of the hard sigmoid, C = Σ_k ∫_0^{a_k} (ρ(z) − t_k) dz (Auer, Herbster &
#:   Warmuth 1996, "Exponentially many local minima for single neurons"; Helmbold, Kivinen & Warmuth 1999,
#:   "Relative loss bounds for single neurons"), δ_L = ρ(a_L) − t: convex in a_L, to the hard sigmoid what the
#:   cross-entropy is to the logistic one; it has the same minima for 0/1 targets and no unit stops learning.
OUTPUT_ERRORS = ("squared", "matching")


def output_delta(pre: np.ndarray, target: np.ndarray, output_error: str = "squared") -> np.ndarray:
    """δ_L = ∂C/∂a_L of the output pre-activations ``pre`` (B, n_L) towards ``target`` under ``output_error``
    (:data:`OUTPUT_ERRORS`); not batch-averaged."""
    if output_error == "squared":
        return (rho(pre) - target) * rho_prime(pre)
    if output_error == "matching":
        return rho(pre) - target
    raise RuleError(f"output_error={output_error!r}: choose {' or '.join(OUTPUT_ERRORS)}")


def feedforward_blocks(net: Network) -> list:
    """The blocks W_{l-1,l}, l = 1 .. L, of a layered network; :class:`RuleError` for any other."""
    blocks = {(b.lo, b.hi): b for b in net.blocks}
    chain = [blocks.get((lay - 1, lay)) for lay in range(1, net.n_layers)]
    if len(blocks) != len(chain) or any(b is None or b.mask is not None for b in chain) or len(net.sparse):
        raise RuleError("the feedforward rules (bp, fa, dfa) need a layered network: complete blocks between "
                        "adjacent layers and nothing else (no intralayer or layer-skipping connections)")
    return chain


def forward(net: Network, x: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """The pre-activations a_1 .. a_L and the activations of every free neuron, h_1 .. h_L side by side in the
    layout of a free state (B, n_free)."""
    h, pre = x, []
    for lay, block in enumerate(feedforward_blocks(net), start=1):
        a = h @ block.weight + net.bias[net.free_slice(lay)]
        pre.append(a)
        h = rho(a)
    return pre, np.concatenate([rho(a) for a in pre], axis=1)


def feedback_matrices(net: Network, rule: str, rng: np.random.Generator) -> list[np.ndarray] | None:
    """The fixed random feedback of ``fa`` (B_l, shape (n_{l+1}, n_l)) or ``dfa`` (D_l, shape (n_L, n_l)) for the
    hidden layers l = 1 .. L-1, each uniform in +-sqrt(6 / (fan_in + fan_out)) (the scale of the forward weights'
    Glorot initialisation); None for the other rules."""
    if rule not in ("fa", "dfa"):
        return None
    sizes, out = net.sizes, []
    for lay in range(1, net.n_layers - 1):
        source = sizes[lay + 1] if rule == "fa" else sizes[-1]
        bound = np.sqrt(6.0 / (source + sizes[lay]))
        out.append(rng.uniform(-bound, bound, size=(source, sizes[lay])).astype(net.dtype))
    return out


def feedforward_gradient(
    net: Network, x: np.ndarray, target: np.ndarray, rule: str, feedback: list | None = None, read=None,
    output_error: str = "squared",
) -> tuple[list, np.ndarray]:
    """-dC/dθ of ``rule`` (bp, fa, dfa) in the order of :meth:`Network.parameters`, batch-averaged, and the
    activations (B, n_free). ``feedback``: B_l or D_l (:func:`feedback_matrices`) for fa and dfa. ``read``: a
    readout applied to the activations the updates multiply (an ADC), or None. ``output_error``: see
    :data:`OUTPUT_ERRORS`. Backprop's backward pass uses
    the backward direction of each connection (:meth:`DenseBlock.backward`: W^T unless the devices mismatch)."""
    if rule not in ("bp", "fa", "dfa"):
        raise RuleError(f"rule={rule!r}: not a feedforward rule (bp, fa, dfa)")
    blocks = feedforward_blocks(net)
    if rule != "bp" and (feedback is None or len(feedback) != len(blocks) - 1):
        raise RuleError(f"rule={rule!r} needs one feedback matrix per hidden layer ({len(blocks) - 1})")
    read = read or (lambda v: v)
    x = np.asarray(x, dtype=net.dtype)
    pre, states = forward(net, x)
    acts = [read(x)] + [read(rho(a)) for a in pre]
    delta = output_delta(pre[-1], target, output_error)
    top, deltas = delta, [delta]
    for lay in range(len(blocks) - 1, 0, -1):  # hidden layers, output side first
        if rule == "bp":
            error = delta @ blocks[lay].backward().T
        elif rule == "fa":
            error = delta @ feedback[lay - 1]
        else:
            error = top @ feedback[lay - 1]
        delta = error * rho_prime(pre[lay - 1])
        deltas.insert(0, delta)
    batch = x.shape[0]
    grads = [-(acts[k].T @ deltas[k]) / batch for k in range(len(blocks))]
    grads.append(np.zeros_like(net.sparse.weight))
    grads.append(-np.concatenate([d.mean(axis=0) for d in deltas]))
    return grads, states


@dataclass(frozen=True)
class Feedforward:
    """A feedforward baseline (``kind``: bp, fa or dfa) on the layered network's feedforward net: one forward pass
    stands in for both phases. ``feedback``: the fixed random matrices of fa and dfa (:func:`feedback_matrices`);
    ``output_error``: what the output layer learns from (:data:`OUTPUT_ERRORS`)."""

    kind: str = "bp"
    feedback: list | None = None
    output_error: str = "matching"
    layered_only: ClassVar[bool] = True
    settings: ClassVar[tuple] = ("output_error",)

    @property
    def name(self) -> str:
        return self.kind

    @property
    def parameters(self) -> dict:
        """None learned: the feedback of fa and dfa is fixed, drawn again from the run's seed."""
        return {}

    @classmethod
    def from_config(cls, config, net: Network, rng, learned: dict | None = None) -> "Feedforward":
        check_parameters({}, learned, config.rule)
        return cls(kind=config.rule, feedback=feedback_matrices(net, config.rule, rng),
                   output_error=config.output_error)

    def train(self, machine: Machine, net: Network, x, target, beta: float, start) -> tuple:
        grads, states = feedforward_gradient(machine.network(), x, target, self.kind, self.feedback, machine.read,
                                             self.output_error)
        passed = forward_pass(states)
        return passed, passed, grads

    def predict(self, machine: Machine, net: Network, x, start):
        return forward_prediction(machine, x)


def forward_prediction(machine: Machine, x):
    """The prediction of every feedforward rule: one forward pass of the network as the devices present it."""
    return forward_pass(forward(machine.network(), x)[1])


@dataclass(frozen=True)
class LearnsItsOwn:
    """What the rules on the feedforward net that learn parameters of their own share (``bfa``/``bdfa``,
    ``sg``/``csg``): their ``kind`` (the registry name), the rate of their own parameters (the configuration's
    ``rule_lr``, per example), and those ``parameters`` by name, updated in place by :meth:`train` (the run's own
    arrays); ``output_error`` as :class:`Feedforward`'s. A subclass names its kinds (``KINDS``), gives the
    initial parameters (:meth:`initial`) and one step (:meth:`step`: the network's gradient estimate, its own, and
    the activations)."""

    kind: str
    rate: float = 0.01
    parameters: dict = field(default_factory=dict)
    output_error: str = "matching"
    KINDS: ClassVar[tuple] = ()
    layered_only: ClassVar[bool] = True
    settings: ClassVar[tuple] = ("rule_lr", "output_error", "rule_devices")

    def __post_init__(self) -> None:
        if self.kind not in self.KINDS:
            raise RuleError(f"kind={self.kind!r}: choose {' or '.join(self.KINDS)}")

    @property
    def name(self) -> str:
        return self.kind

    @classmethod
    def initial(cls, kind: str, net: Network, rng) -> dict:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config, net: Network, rng, learned: dict | None = None):
        feedforward_blocks(net)  # refuses a network that is not layered, in one line
        initial = cls.initial(config.rule, net, rng)
        check_parameters(initial, learned, config.rule)
        return cls(kind=config.rule, rate=config.rule_lr, parameters=initial if learned is None else learned,
                   output_error=config.output_error)

    def step(self, machine: Machine, net: Network, x, target) -> tuple:
        """The network's gradient estimate, the rule's own −∂S/∂θ by name and the activations, the rule's
        parameters read as ``machine.own`` gives them."""
        raise NotImplementedError

    def train(self, machine: Machine, net: Network, x, target, beta: float, start) -> tuple:
        grads, own, states = self.step(machine, net, x, target)
        machine.learn(self.parameters, own, self.rate)
        passed = forward_pass(states)
        return passed, passed, grads

    def predict(self, machine: Machine, net: Network, x, start):
        return forward_prediction(machine, x)
