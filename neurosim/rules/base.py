"""What every learning rule shares: the machine it trains, and the protocol it implements.

A rule is a small object holding only its own settings. The controller hands it a :class:`Machine` (the engine,
the network as the devices present it, the readout of states) and asks for one of two things::

    train(machine, net, x, target, beta, start) -> (free, nudged, grads)
    predict(machine, net, x, start) -> free

``grads``: the rule's estimate of -dC/dtheta, batch-averaged, in the order of
:meth:`~neurosim.network.Network.parameters` (the controller scales it by the learning rates and writes it);
``free`` / ``nudged``: the :class:`~neurosim.engines.base.Relaxation` of each phase (a feedforward pass stands in
for both with zero residual). Each rule class has a registry ``name``, ``from_config(config, net, rng, learned)``
(``rng``: the stream of the rule's own random draws; ``learned``: the rule's learned parameters as a run stored
them, or None for a new run's) and ``layered_only`` (trains layered networks on the CPU only).

A rule that learns parameters of its own (feedback weights, synthetic-gradient modules) holds them in
``parameters`` (name -> array; empty for the others), reads them through ``machine.own`` and updates them in place
through ``machine.learn`` during :meth:`train` at its own rate (exactly, or on the devices that hold them when the
configuration's ``rule_devices`` asks), and the run stores them (:attr:`neurosim.store.Run.rule_parameters`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

from ..engines.base import Engine, Phase, Relaxation
from ..errors import NeurosimError
from ..network import Network


class RuleError(NeurosimError, ValueError):
    """A rule asked of a network it cannot train; the message says why."""


def unread(values):
    """The readout of an ideal machine: the values themselves."""
    return values


def learn_exactly(parameters: dict, grads: dict, rate: float) -> None:
    """A rule's own gradient step on its learned parameters as floating point takes it, in place:
    θ += rate · (−∂S/∂θ) for each name of ``grads``."""
    for name, grad in grads.items():
        parameters[name] += rate * grad


@dataclass(frozen=True)
class Machine:
    """What a rule may use of the machine it trains. ``network()``: the network a phase relaxes (the network
    itself, or the effective network of the hardware's devices, with a fresh draw of read noise per call);
    ``engine``: what relaxes it; ``read``: the readout of the states and inputs the updates multiply (an ADC, or
    :func:`unread`); ``rng``: the stream of the step's random draws a rule makes itself (the spike trains of a
    spiking rule; the controller's per-epoch noise stream, so that a resumed run draws what an uninterrupted one
    did), or None. ``own``: the rule's own learned parameters (name -> array) as it reads them (the arrays
    themselves, or a read of the devices that hold them, :class:`~neurosim.hardware.RuleDevices`); ``learn``: its
    step on them, ``learn(parameters, grads, rate)`` (:func:`learn_exactly`, or written through those devices)."""

    network: Callable[[], Network]
    engine: Engine
    read: Callable = unread
    rng: np.random.Generator | None = None
    own: Callable[[dict], dict] = unread
    learn: Callable[[dict, dict, float], None] = learn_exactly

    def relax(self, x, start, phase: Phase) -> Relaxation:
        """One phase of the engine on the network as the devices present it now."""
        return self.engine.relax(self.network(), x, start, phase)


class Rule(Protocol):
    name: str
    layered_only: bool
    parameters: dict
    settings: tuple  # the configuration's fields the rule reads beyond lr and the network (what `info` shows)

    def train(self, machine: Machine, net: Network, x, target, beta: float, start) -> tuple: ...

    def predict(self, machine: Machine, net: Network, x, start) -> Relaxation: ...


def draws(machine: Machine) -> np.random.Generator:
    """The stream a stochastic rule draws from: the machine's, or a fixed one (seed 0) where the caller gave none."""
    return machine.rng if machine.rng is not None else np.random.default_rng(0)


def forward_pass(states) -> Relaxation:
    """A feedforward pass's activations as the relaxation it stands in for: no residual, no iterations."""
    return Relaxation(state=states, residual=np.zeros(len(states)), steps=0)


def check_parameters(expected: dict, given: dict | None, rule: str) -> None:
    """:class:`RuleError` unless ``given`` (a stored run's learned parameters; None: a new run, nothing to check)
    holds the names and shapes of ``expected`` (those the rule learns on this network)."""
    if given is None:
        return
    if sorted(given) != sorted(expected):
        raise RuleError(f"rule={rule!r} learns {', '.join(sorted(expected)) or 'no parameters'}; the run holds "
                        f"{', '.join(sorted(given)) or 'none'}")
    for name, values in expected.items():
        if np.shape(given[name]) != np.shape(values):
            raise RuleError(f"rule={rule!r}: parameter {name} has shape {np.shape(given[name])}, the network's "
                            f"layers give {np.shape(values)}")
