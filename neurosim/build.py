"""The builder: a training configuration turned into the objects that run it, in this one place.

Topology, network, circuit, weight store, devices (the network's and the rule's own), engine, rule and controller
are each built by one function of the configuration here (the engine is the configuration's own, its settings
nested in it); nothing else in the package builds them from a configuration. The topology's generator
(:func:`~neurosim.config.topology_of`) lives beside the configuration, where the check of a stored run's arrays
also uses it; the random streams derived from the seed are :mod:`neurosim.streams`'.
"""

from __future__ import annotations

import numpy as np

from . import topology
from .config import DEFAULT_REWIRE_P, TrainConfig, resolved_sizes, topology_of  # noqa: F401 (part of the builder)
from .controller import Controller, learning_rates
from .data import Dataset
from .hardware import Devices, RuleDevices, WeightStore, pair_names
from .network import Network, SparseCouplings, from_graph, is_skip
from .rules import RULES
from .store import Run
from .streams import (STREAM_DEVICES, STREAM_FEEDBACK, STREAM_INIT, STREAM_NOISE, STREAM_ORDER,  # noqa: F401
                      STREAM_RULE_DEVICES, STREAM_SIGN, STREAM_TOPOLOGY, stream, stream_seed)


def new_run(config: TrainConfig, data: Dataset) -> Run:
    """A run at epoch 0: the topology, its metrics (L, C), the initial network and the rule's initial learned
    parameters (none for most rules)."""
    sizes = resolved_sizes(config, data.n_inputs, data.n_classes)
    graph = topology_of(config, sizes)
    net = from_graph(
        graph,
        seed=stream_seed(config.seed, STREAM_INIT),
        intra_init=config.intra_init,
        dtype=np.dtype(config.dtype),
    )
    devices_of(config, net, topology.edge_array(graph)).program(net)  # as the run's chip holds them
    pairs = (dict(zip(pair_names(net), Devices.initial_minus(net.parameters())))
             if config.hardware.pair.single_sided else {})
    learned = rule_of(config, net).parameters
    own_devices = rule_devices_of(config, learned)
    if own_devices is not None:
        own_devices.program(learned)
    return Run(
        config=config.to_dict(),
        topology=topology.describe(graph),
        edges=topology.edge_array(graph),
        network=net,
        data_digest=data.digest,
        rule_parameters=learned,
        pairs=pairs,
    )


def store_of(config: TrainConfig) -> WeightStore:  # the first array's, with a range per array
    """The weight store of a configuration (grid, pulse, range), without device draws."""
    return WeightStore.of(config.hardware.storage, config.circuit)


def devices_of(config: TrainConfig, net: Network, edges: np.ndarray | None = None) -> Devices:
    """The devices of a run's network: the configuration's hardware, its fixed draws from the run's seed.

    ``edges``: the run's topology as generated (``Run.edges``). When ``net`` has lost its layer-skipping
    connections (``remove_skip_after``), the draws are made for the generated network and those of the removed
    connections dropped, so every connection kept keeps its devices, in a resumed run too."""
    skips = edges[is_skip(net.sizes, edges)] if edges is not None and len(net.sparse) == 0 else ()
    if len(skips) == 0:
        return Devices(config.hardware, net, config.circuit, stream(config.seed, STREAM_DEVICES))
    stand_in = SparseCouplings(skips[:, 0], skips[:, 1], np.zeros(len(skips), dtype=net.dtype))
    generated = Network(sizes=net.sizes, blocks=net.blocks, sparse=stand_in, bias=net.bias)
    return devices_of(config, generated).without_skips()


def rule_devices_of(config: TrainConfig, learned: dict) -> RuleDevices | None:
    """The devices of the rule's own learned parameters ``learned`` (name -> array) when the configuration puts
    them on its hardware (``rule_devices``), their fixed draws from a stream of the run's own; None for ideal
    hardware, a rule that learns nothing of its own, or ``rule_devices`` off."""
    if not config.rule_devices or config.hardware.ideal or not learned:
        return None
    return RuleDevices(config.hardware, learned, config.circuit, stream(config.seed, STREAM_RULE_DEVICES))


def rule_of(config: TrainConfig, net: Network, learned: dict | None = None):
    """The learning rule of a configuration (:data:`neurosim.rules.RULES`), its random draws (feedback matrices)
    from the run's own stream. ``learned``: the rule's learned parameters as the run holds them (the rule updates
    these arrays in place); None: a new run's."""
    return RULES[config.rule].from_config(config, net, stream(config.seed, STREAM_FEEDBACK), learned)


def controller_of(config: TrainConfig, net: Network, edges: np.ndarray | None = None,
                  learned: dict | None = None, pairs: dict | None = None) -> Controller:
    """The controller of a run: its engine, rates, rule and devices (``edges``: see :func:`devices_of`;
    ``learned``: see :func:`rule_of`; ``pairs``: the run's single-sided pairs' device state,
    :attr:`~neurosim.store.Run.pairs`, which the devices then update in place; required under single-sided pairs)."""
    rule = rule_of(config, net, learned)
    devices = None if config.hardware.ideal else devices_of(config, net, edges)
    if config.hardware.pair.single_sided:
        if not pairs:
            raise ValueError("single-sided pairs need the run's device state (Run.pairs)")
        devices.hold([pairs[name] for name in pair_names(net)])
    return Controller(
        engine=config.engine,
        beta=config.beta,
        rates=learning_rates(net, config.lr, config.bias_lr),
        random_sign=config.random_sign,
        cuda_graphs=config.device == "cuda" and config.cuda_graphs,
        hardware=devices,
        rule=rule,
        rule_hardware=rule_devices_of(config, rule.parameters),
    )


def network_and_controller(config: TrainConfig, run: Run) -> tuple[Network, Controller]:
    """The run's network on the configured device (the run's own arrays on the CPU) and its controller."""
    net = run.network if config.device == "cpu" else run.network.to(config.device)
    return net, controller_of(config, net, run.edges, run.rule_parameters, run.pairs)
