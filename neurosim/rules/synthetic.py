"""Synthetic gradients: decoupled neural interfaces (Jaderberg et al. 2016, "Decoupled neural interfaces using
synthetic gradients", ICML 2017, arXiv:1608.05343; linear modules as analysed by Czarnecki et al. 2017,
"Understanding synthetic gradients and decoupled neural interfaces", arXiv:1703.00522).

Each hidden layer l = 1 .. L-1 of the layered feedforward net (:mod:`neurosim.rules.feedforward`) has a linear
synthetic-gradient module that estimates the gradient of the cost with respect to the layer's activity h_l from
that activity alone (``sg``, DNI) or from it and the example's one-hot label t (``csg``, cDNI, the conditioned
module of Jaderberg et al. section 3.1):

    ĝ_l = h_l M_l + c_l   (+ t N_l for csg),

and the layer updates at once from it, without waiting for the backward pass:

    δ_l = ĝ_l ⊙ ρ'(a_l),    ΔW_{l-1,l} = −α <h_{l-1}ᵀ δ_l>,    Δb_l = −α <δ_l>.

The output layer learns from the true error δ_L (``output_error``: (y − t) ⊙ ρ'(a_L), or y − t under the
matching loss; :data:`~neurosim.rules.feedforward.OUTPUT_ERRORS`). Each module is trained towards the gradient
that arrives from the layer above, ĝ*_l = δ_{l+1} W_{l,l+1}ᵀ, with δ_{l+1} the true output error for the last
hidden layer and the layer above's own synthetic δ for the others (the bootstrapping of DNI, Jaderberg et al.
section 3, Fig. 2), by gradient descent on S_l = ½ <||ĝ_l − ĝ*_l||²> at the rule's rate η (``rule_lr``):

    ΔM_l = −η <h_lᵀ (ĝ_l − ĝ*_l)>,    Δc_l = −η <ĝ_l − ĝ*_l>,    ΔN_l = −η <tᵀ (ĝ_l − ĝ*_l)>.

The modules start at zero (the paper initialises each module's last layer to zero, so that it first predicts no
gradient): in the first steps only the output layer learns. Their weights are learned parameters of the run
(:attr:`neurosim.store.Run.rule_parameters`: ``M<l>``, ``c<l>``, ``N<l>``), checkpointed and resumed with the
network. The backward step through one layer, W_{l,l+1}ᵀ, takes each connection's backward direction as
backprop does (:meth:`~neurosim.network.DenseBlock.backward`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..energy import rho, rho_prime
from ..network import Network
from .base import Machine
from .feedforward import LearnsItsOwn, feedforward_blocks, forward, output_delta

#: The synthetic-gradient rules: name -> whether the modules see the label (cDNI).
CONDITIONED = {"sg": False, "csg": True}


def initial_modules(net: Network, conditioned: bool, n_classes: int) -> dict[str, np.ndarray]:
    """Zero synthetic-gradient modules for the hidden layers l = 1 .. L-1: ``M<l>`` (n_l, n_l), ``c<l>`` (n_l,)
    and, conditioned, ``N<l>`` (n_classes, n_l)."""
    out = {}
    for lay in range(1, net.n_layers - 1):
        n = net.sizes[lay]
        out[f"M{lay}"] = np.zeros((n, n), dtype=net.dtype)
        out[f"c{lay}"] = np.zeros(n, dtype=net.dtype)
        if conditioned:
            out[f"N{lay}"] = np.zeros((n_classes, n), dtype=net.dtype)
    return out


def synthetic_gradient(modules: dict, lay: int, activity: np.ndarray, target: np.ndarray) -> np.ndarray:
    """ĝ_l = h_l M_l + c_l (+ t N_l when the modules are conditioned), (B, n_l)."""
    estimate = activity @ modules[f"M{lay}"] + modules[f"c{lay}"]
    if f"N{lay}" in modules:
        estimate = estimate + target @ modules[f"N{lay}"]
    return estimate


def synthetic_gradients(net: Network, modules: dict, x, target, read=None,
                        output_error: str = "squared") -> tuple[list, dict, np.ndarray]:
    """One step of the rule on a batch: the network's −dC/dθ estimate in the order of
    :meth:`Network.parameters` (batch-averaged; the hidden layers' from the modules), the modules' own −∂S/∂θ by
    name, and the activations (B, n_free). ``read``: a readout applied to the activations the updates multiply
    (an ADC), or None; ``output_error``: the output layer's error
    (:data:`~neurosim.rules.feedforward.OUTPUT_ERRORS`)."""
    read = read or (lambda v: v)
    blocks = feedforward_blocks(net)
    x = np.asarray(x, dtype=net.dtype)
    target = np.asarray(target, dtype=net.dtype)
    pre, states = forward(net, x)
    acts = [read(x)] + [read(rho(a)) for a in pre]
    batch = x.shape[0]
    delta = output_delta(pre[-1], target, output_error)  # the output layer's true error
    deltas, module_grads = [delta], {}
    for lay in range(len(blocks) - 1, 0, -1):  # hidden layers, output side first
        arriving = delta @ blocks[lay].backward().T  # the gradient the layer above sends down: ĝ*_l
        estimate = synthetic_gradient(modules, lay, acts[lay], target)
        miss = estimate - arriving
        module_grads[f"M{lay}"] = -(acts[lay].T @ miss) / batch
        module_grads[f"c{lay}"] = -miss.mean(axis=0)
        if f"N{lay}" in modules:
            module_grads[f"N{lay}"] = -(target.T @ miss) / batch
        delta = estimate * rho_prime(pre[lay - 1])  # the layer updates from the module's estimate
        deltas.insert(0, delta)
    grads = [-(acts[k].T @ deltas[k]) / batch for k in range(len(blocks))]
    grads.append(np.zeros_like(net.sparse.weight))
    grads.append(-np.concatenate([d.mean(axis=0) for d in deltas]))
    return grads, module_grads, states


@dataclass(frozen=True)
class SyntheticGradients(LearnsItsOwn):
    """Decoupled layers trained by linear synthetic-gradient modules (``kind`` sg, or csg conditioned on the
    label); ``parameters``: the modules by name (module docstring)."""

    kind: str = "sg"
    KINDS: ClassVar[tuple] = tuple(CONDITIONED)

    @classmethod
    def initial(cls, kind: str, net: Network, rng) -> dict:
        return initial_modules(net, CONDITIONED[kind], net.sizes[-1])

    def step(self, machine: Machine, net: Network, x, target) -> tuple:
        return synthetic_gradients(machine.network(), machine.own(self.parameters), x, target, machine.read,
                                   self.output_error)
