import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurosim import topology
from neurosim.topology import layer_of_neurons


def layers_of(graph):
    return np.array([graph.nodes[n]["layer"] for n in sorted(graph.nodes)])


def test_layered_connects_exactly_adjacent_layers():
    sizes = [5, 4, 3, 2]
    g = topology.layered(sizes)
    layer = layers_of(g)
    assert g.number_of_nodes() == 14
    assert g.number_of_edges() == 5 * 4 + 4 * 3 + 3 * 2
    assert all(abs(layer[i] - layer[j]) == 1 for i, j in g.edges)
    assert list(layer) == list(layer_of_neurons(sizes))


@pytest.mark.parametrize("mode", ["replace", "add"])
def test_small_world_invariants(mode):
    sizes = [8, 6, 6, 6, 4]
    base = topology.small_world(sizes, n=0, seed=1)
    n = 40
    g = topology.small_world(sizes, n=n, mode=mode, seed=1)
    layer = layers_of(g)
    expected = base.number_of_edges() + (n if mode == "add" else 0)
    assert g.number_of_edges() == expected
    assert nx.number_of_selfloops(g) == 0
    for i, j in g.edges:
        assert not (layer[i] == layer[j] == 0), "edge inside the input layer"
        assert not (layer[i] == layer[j] == len(sizes) - 1), "edge inside the output layer"
    # the new connections are exactly the edges absent from the starting graph, and all skip a layer
    new = set(map(frozenset, g.edges)) - set(map(frozenset, base.edges))
    assert len(new) == n
    assert all(abs(layer[min(e)] - layer[max(e)]) >= 2 for e in new)
    removed = set(map(frozenset, base.edges)) - set(map(frozenset, g.edges))
    assert len(removed) == (n if mode == "replace" else 0)


def test_intralayer_connects_hidden_layers_only():
    sizes = [4, 3, 5, 2]
    g = topology.small_world(sizes, n=0, seed=0)
    layer = layers_of(g)
    intra = [(i, j) for i, j in g.edges if layer[i] == layer[j]]
    assert len(intra) == 3 * 2 // 2 + 5 * 4 // 2
    assert {layer[i] for i, _ in intra} == {1, 2}


def test_seeded_and_reproducible():
    a = topology.small_world([10, 8, 8, 3], n=20, seed=5)
    b = topology.small_world([10, 8, 8, 3], n=20, seed=5)
    c = topology.small_world([10, 8, 8, 3], n=20, seed=6)
    assert sorted(a.edges) == sorted(b.edges)
    assert sorted(a.edges) != sorted(c.edges)


def test_fraction_and_count_agree_with_footnote_2():
    n_edges = 1_271_250
    n = topology.rewired_from_fraction(0.08, n_edges)
    assert abs(1 - ((n_edges - 1) / n_edges) ** n - 0.08) < 1e-6
    assert topology.fraction_from_rewired(n, n_edges) == pytest.approx(0.08, abs=1e-6)
    g = topology.small_world([6, 5, 5, 3], p=0.1, seed=0)
    base_edges = topology.small_world([6, 5, 5, 3], n=0, seed=0).number_of_edges()
    assert g.graph["n_rewired"] == topology.rewired_from_fraction(0.1, base_edges)
    assert g.graph["p"] == pytest.approx(0.1, abs=0.01)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="n=1000"):
        topology.small_world([3, 2, 2], n=1000, seed=0)
    with pytest.raises(ValueError, match="p=1.5"):
        topology.small_world([3, 2, 2], p=1.5, seed=0)
    with pytest.raises(ValueError, match="exactly one"):
        topology.small_world([3, 2, 2], n=1, p=0.1, seed=0)
    with pytest.raises(ValueError, match="sizes"):
        topology.layered([3])
    with pytest.raises(ValueError, match="mode"):
        topology.small_world([3, 2, 2], n=1, mode="swap", seed=0)


@pytest.mark.parametrize(
    "graph",
    [
        topology.layered([5, 4, 3]),
        topology.small_world([7, 6, 5, 6, 3], n=15, seed=2),
        topology.small_world([7, 6, 5, 6, 3], n=15, mode="add", seed=2),
        topology.small_world([20, 10, 10, 4], p=0.3, intralayer=False, seed=9),
        topology.small_world([30, 20, 20, 20, 10], p=0.08, seed=4),
    ],
)
def test_path_length_and_clustering_equal_networkx(graph):
    assert topology.path_length(graph, chunk=7) == pytest.approx(nx.average_shortest_path_length(graph), rel=1e-12)
    assert topology.clustering(graph, chunk=7) == pytest.approx(nx.average_clustering(graph), rel=1e-6)


def test_disconnected_graph_has_infinite_path_length():
    g = nx.Graph(sizes=(2, 2))
    g.add_nodes_from([(0, {"layer": 0}), (1, {"layer": 0}), (2, {"layer": 1}), (3, {"layer": 1})])
    g.add_edges_from([(0, 2), (1, 3)])
    assert topology.path_length(g) == math.inf
    with pytest.raises(nx.NetworkXError):
        nx.average_shortest_path_length(g)


def test_describe_reports_metrics():
    g = topology.small_world([6, 5, 5, 3], n=4, seed=0)
    d = topology.describe(g)
    assert d["kind"] == "small-world" and d["n_rewired"] == 4 and d["n_edges"] == g.number_of_edges()
    assert d["path_length"] == pytest.approx(nx.average_shortest_path_length(g))


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 7), min_size=2, max_size=5),
    n=st.integers(0, 30),
    mode=st.sampled_from(["replace", "add"]),
    intralayer=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_small_world_invariants_hold_for_any_sizes(sizes, n, mode, intralayer, seed):
    """Any sizes, counts and modes: edge count as promised, no edge inside the input or output layer, no
    self-loop; or a clear ValueError naming n when there are not enough connections or free pairs."""
    base = topology.small_world(sizes, n=0, intralayer=intralayer, seed=seed)
    try:
        g = topology.small_world(sizes, n=n, mode=mode, intralayer=intralayer, seed=seed)
    except ValueError as err:
        assert f"n={n}" in str(err)
        return
    layer = layers_of(g)
    last = len(sizes) - 1
    assert g.number_of_edges() == base.number_of_edges() + (n if mode == "add" else 0)
    assert nx.number_of_selfloops(g) == 0
    assert not any(layer[i] == layer[j] and layer[i] in (0, last) for i, j in g.edges)
    new_edges = set(g.edges) - set(base.edges)
    assert all(abs(layer[i] - layer[j]) >= 2 for i, j in new_edges)  # every new connection skips a layer


def test_published_small_world_draws_skips_uniformly_over_pairs_two_or_more_layers_apart():
    """Without intralayer connections (the published network) no new connection falls inside a layer, and the
    new connections spread over the layer pairs in proportion to their numbers of neuron pairs."""
    sizes = [30, 20, 20, 20, 5]
    g = topology.small_world(sizes, n=1200, intralayer=False, seed=4)
    layer = layers_of(g)
    new = [(layer[i], layer[j]) for i, j in set(g.edges) - set(topology.layered(sizes).edges)]
    assert len(new) == 1200
    pairs = {(a, b): sizes[a] * sizes[b] for a in range(5) for b in range(a + 2, 5)}
    total = sum(pairs.values())
    for (a, b), count in pairs.items():
        seen = sum(1 for p in new if tuple(sorted(p)) == (a, b))
        expected = 1200 * count / total
        assert abs(seen - expected) < 5 * math.sqrt(expected), (a, b, seen, expected)
    assert all(abs(a - b) >= 2 for a, b in new)
