"""Learning rules as objects behind one protocol (:mod:`neurosim.rules.base`), held by the controller.

:data:`RULES` is the registry: the rule's name in a configuration -> the class that builds it from the
configuration. A new rule is a module of its own and one entry here.
"""

from .base import Machine, Rule, RuleError, forward_pass, unread
from .bidirectional import LearnedFeedback
from .eqprop import EqProp, eqprop_gradient
from .erbp import ERBP
from .s2m import SynapticSampling
from .feedforward import Feedforward, feedback_matrices, feedforward_blocks, feedforward_gradient, forward
from .synthetic import SyntheticGradients

#: name -> rule class (``from_config(config, net, rng, learned)``): EqProp; the baselines backprop, feedback
#: alignment and direct feedback alignment (:mod:`neurosim.rules.feedforward`); feedback alignment with learned
#: feedback, bidirectional FA and DFA (:mod:`neurosim.rules.bidirectional`); synthetic gradients, plain and
#: conditioned on the label (:mod:`neurosim.rules.synthetic`); event-driven random backprop on spiking neurons
#: (:mod:`neurosim.rules.erbp`); synaptic sampling machines, Boltzmann machines sampled by stochastic synapses
#: (:mod:`neurosim.rules.s2m`).
RULES = {"eqprop": EqProp, "bp": Feedforward, "fa": Feedforward, "dfa": Feedforward,
         "bfa": LearnedFeedback, "bdfa": LearnedFeedback, "sg": SyntheticGradients, "csg": SyntheticGradients,
         "erbp": ERBP, "s2m": SynapticSampling}

__all__ = ["RULES", "ERBP", "EqProp", "Feedforward", "LearnedFeedback", "Machine", "Rule", "RuleError",
           "SynapticSampling", "SyntheticGradients", "eqprop_gradient", "feedback_matrices", "feedforward_blocks",
           "feedforward_gradient", "forward", "forward_pass", "unread"]
