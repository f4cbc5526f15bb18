"""Learning rules as objects behind one protocol (:mod:`neurosim.rules.base`), held by the controller.

:data:`RULES` is the registry: the rule's name in a configuration -> the class that builds it from the
configuration. A new rule is a module of its own and one entry here.
"""

from .base import Machine, Rule, RuleError, forward_pass, unread
from .eqprop import EqProp, eqprop_gradient
from .feedforward import Feedforward, feedback_matrices, feedforward_blocks, feedforward_gradient, forward

#: name -> rule class (``from_config(config, net, rng)``): EqProp, and the baselines backprop, feedback alignment
#: and direct feedback alignment (:mod:`neurosim.rules.feedforward`).
RULES = {"eqprop": EqProp, "bp": Feedforward, "fa": Feedforward, "dfa": Feedforward}

__all__ = ["RULES", "EqProp", "Feedforward", "Machine", "Rule", "RuleError", "eqprop_gradient", "feedback_matrices",
           "feedforward_blocks", "feedforward_gradient", "forward", "forward_pass", "unread"]
