"""The builder: a training configuration turned into the objects that run it, in this one place.

Topology, network, circuit, weight store, devices, engine, rule and controller are each built by one function
of the configuration here (the engine is the configuration's own, its settings nested in it); nothing else in the
package builds them from a configuration. The builder also owns the random streams.

Randomness comes from independent streams derived from the configuration's ``seed`` (numpy ``SeedSequence``
spawn keys): the topology, the initial weights, and for every epoch its data order and its signs of beta. An
epoch's stream depends only on (seed, epoch), so a run resumed after epoch k continues exactly as an
uninterrupted one.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from . import topology
from .config import ConfigError, TrainConfig, resolved_sizes
from .controller import Controller, learning_rates
from .data import Dataset
from .hardware import Devices, WeightStore
from .hardware.devices import program
from .network import Network, SparseCouplings, from_graph, is_skip
from .rules import RULES
from .store import Run

#: Spawn keys of the random streams (see module docstring): the hardware's fixed device draws (STREAM_DEVICES)
#: and its per-epoch noise (STREAM_NOISE) have streams of their own, so an ideal and a hardware run of one seed
#: share topology, initial weights, data order and signs of beta.
STREAM_TOPOLOGY, STREAM_INIT, STREAM_ORDER, STREAM_SIGN, STREAM_DEVICES, STREAM_NOISE, STREAM_FEEDBACK = range(7)

#: Rewiring fraction of the paper's small-world network when neither ``rewire_n`` nor ``rewire_p`` is given.
DEFAULT_REWIRE_P = 0.08


def stream(seed: int, *key: int) -> np.random.Generator:
    """The random stream ``key`` of run seed ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def stream_seed(seed: int, *key: int) -> int:
    """An integer seed for functions that take one (topology generators), drawn from stream ``key``."""
    return int(stream(seed, *key).integers(2**63 - 1))


def topology_of(config: TrainConfig, sizes: tuple[int, ...]) -> nx.Graph:
    """The topology graph a configuration describes."""
    if config.topology == "layered":
        return topology.layered(sizes)
    n, p = config.rewire_n, config.rewire_p
    if n is None and p is None:
        p = DEFAULT_REWIRE_P
    try:
        return topology.small_world(
            sizes,
            n=n,
            p=p,
            mode=config.rewire_mode,
            intralayer=config.intralayer,
            seed=stream_seed(config.seed, STREAM_TOPOLOGY),
        )
    except ValueError as err:  # too many connections to rewire for these sizes
        field = "rewire_n" if n is not None else "rewire_p"
        raise ConfigError(f"{field}={n if n is not None else p}: {err}") from None


def new_run(config: TrainConfig, data: Dataset) -> Run:
    """A run at epoch 0: the topology, its metrics (L, C) and the initial network."""
    sizes = resolved_sizes(config, data.n_inputs, data.n_classes)
    graph = topology_of(config, sizes)
    net = from_graph(
        graph,
        seed=stream_seed(config.seed, STREAM_INIT),
        intra_init=config.intra_init,
        dtype=np.dtype(config.dtype),
    )
    program(WeightStore.per_array(config.hardware.storage, config.circuit, net), net)  # as the store holds them
    return Run(
        config=config.to_dict(),
        topology=topology.describe(graph),
        edges=topology.edge_array(graph),
        network=net,
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


def rule_of(config: TrainConfig, net: Network):
    """The learning rule of a configuration (:data:`neurosim.rules.RULES`), its fixed random draws (feedback
    matrices) from the run's own stream."""
    return RULES[config.rule].from_config(config, net, stream(config.seed, STREAM_FEEDBACK))


def controller_of(config: TrainConfig, net: Network, edges: np.ndarray | None = None) -> Controller:
    """The controller of a run: its engine, rates, rule and devices (``edges``: see :func:`devices_of`)."""
    return Controller(
        engine=config.engine,
        beta=config.beta,
        rates=learning_rates(net, config.lr, config.bias_lr),
        random_sign=config.random_sign,
        cuda_graphs=config.device == "cuda" and config.cuda_graphs,
        hardware=None if config.hardware.ideal else devices_of(config, net, edges),
        rule=rule_of(config, net),
    )


def network_and_controller(config: TrainConfig, run: Run) -> tuple[Network, Controller]:
    """The run's network on the configured device (the run's own arrays on the CPU) and its controller."""
    net = run.network if config.device == "cpu" else run.network.to(config.device)
    return net, controller_of(config, net, run.edges)
