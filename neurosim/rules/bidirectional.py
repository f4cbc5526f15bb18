"""Feedback alignment with learned feedback: bidirectional FA and DFA (Luo, Fu & Glass 2017, "Bidirectional
backpropagation: towards biologically plausible error signal transmission in neural networks", arXiv:1702.07097).

The forward weights learn exactly as in feedback alignment (``bfa``, the error of layer l+1 sent down through
B_l) or direct feedback alignment (``bdfa``, the output error sent to layer l through D_l)
(:func:`~neurosim.rules.feedforward.feedforward_gradient`). What is new: the feedback weights are plastic too,
"trained to approximate the forward activations" (the paper's abstract). Each feedback matrix, with a bias c_l,
is the decoder that carries the activity of the layer its errors come from back to layer l:

    bfa:   r_l = ρ(h_{l+1} B_l + c_l),     bdfa:  r_l = ρ(h_L D_l + c_l),      for the hidden layers l = 1 .. L-1,

and learns by gradient descent on the reconstruction error R_l = ½ ||r_l − h_l||² of the forward activations h_l,
batch-averaged, at the rule's own rate η (``rule_lr``):

    ε_l = (r_l − h_l) ⊙ ρ'(h_{l+1} B_l + c_l),    ΔB_l = −η <h_{l+1}ᵀ ε_l>,    Δc_l = −η <ε_l>

(h_L in place of h_{l+1} for D_l). Each update needs only the two neurons its feedback weight joins and the
forward activity of the lower one: a local rule. The feedback weights start as fa's and dfa's fixed random
draws (:func:`~neurosim.rules.feedforward.feedback_matrices`), so with η → 0 ``bfa`` is ``fa`` and ``bdfa`` is
``dfa``. They are learned parameters of the run (:attr:`neurosim.store.Run.rule_parameters`: ``B1`` .. and
``c1`` .., one per hidden layer), checkpointed and resumed with the network.

The paper's own backward pass, as far as its abstract says, trains the feedback weights "to approximate the forward
activations"; its full text was not available where this module was written, so the layer-local reconstruction
above is this module's reading of that sentence, not a transcription of the paper's equations (docs/rules.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..energy import rho, rho_prime
from ..network import Network
from .base import Machine
from .feedforward import LearnsItsOwn, feedback_matrices, feedforward_gradient

#: The learned rules here -> the fixed-feedback rule whose forward update they share.
FIXED_FEEDBACK = {"bfa": "fa", "bdfa": "dfa"}


def initial_feedback(net: Network, kind: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The learned parameters of ``kind`` (bfa, bdfa) at the start of a run: ``B<l>`` the fixed-feedback rule's
    random draw for hidden layer l (:func:`feedback_matrices`), ``c<l>`` zero reconstruction biases."""
    matrices = feedback_matrices(net, FIXED_FEEDBACK[kind], rng)
    out = {}
    for lay, matrix in enumerate(matrices, start=1):
        out[f"B{lay}"] = matrix
        out[f"c{lay}"] = np.zeros(matrix.shape[1], dtype=net.dtype)
    return out


def reconstruction(net: Network, kind: str, parameters: dict, activity: list[np.ndarray]) -> list[tuple]:
    """For each hidden layer l = 1 .. L-1: (source activity s, pre-activation s B_l + c_l, reconstruction r_l)
    where s is h_{l+1} (bfa) or h_L (bdfa); ``activity``: h_0 = x, h_1 .. h_L, each (B, n_l)."""
    out = []
    for lay in range(1, net.n_layers - 1):
        source = activity[lay + 1] if kind == "bfa" else activity[-1]
        pre = source @ parameters[f"B{lay}"] + parameters[f"c{lay}"]
        out.append((source, pre, rho(pre)))
    return out


def feedback_gradient(net: Network, kind: str, parameters: dict, activity: list[np.ndarray]) -> dict:
    """−∂R/∂θ of the reconstruction error R = Σ_l ½ <||r_l − h_l||²> (batch mean) for every learned parameter,
    by name (module docstring)."""
    batch = activity[0].shape[0]
    grads = {}
    for lay, (source, pre, rec) in enumerate(reconstruction(net, kind, parameters, activity), start=1):
        error = (rec - activity[lay]) * rho_prime(pre)
        grads[f"B{lay}"] = -(source.T @ error) / batch
        grads[f"c{lay}"] = -error.mean(axis=0)
    return grads


@dataclass(frozen=True)
class LearnedFeedback(LearnsItsOwn):
    """Bidirectional feedback alignment (``kind`` bfa or bdfa): forward weights as fa / dfa, feedback weights and
    biases learned (``parameters``, module docstring)."""

    kind: str = "bfa"
    KINDS: ClassVar[tuple] = tuple(FIXED_FEEDBACK)

    @classmethod
    def initial(cls, kind: str, net: Network, rng) -> dict:
        return initial_feedback(net, kind, rng)

    def feedback(self, parameters: dict | None = None) -> list[np.ndarray]:
        """B_1 .. B_{L-1} (or D_l) of ``parameters`` (default: the stored ones as they are now)."""
        parameters = self.parameters if parameters is None else parameters
        return [parameters[f"B{k}"] for k in range(1, len(parameters) // 2 + 1)]

    def step(self, machine: Machine, net: Network, x, target) -> tuple:
        own = machine.own(self.parameters)
        grads, states = feedforward_gradient(machine.network(), x, target, FIXED_FEEDBACK[self.kind],
                                             self.feedback(own), machine.read, self.output_error)
        activity = [machine.read(np.asarray(x, dtype=net.dtype))] + [
            machine.read(states[:, net.free_slice(lay)]) for lay in range(1, net.n_layers)]
        return grads, feedback_gradient(net, self.kind, own, activity), states
