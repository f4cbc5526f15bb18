import numpy as np
import pytest

from neurosim import coupling, network, topology
from neurosim.coupling import Coupling

from conftest import skip_net


def test_storage_holds_exactly_the_topology():
    g = topology.small_world([7, 6, 5, 6, 3], n=25, seed=1)
    net = network.from_graph(g, seed=0)
    edges, weights = net.edges_and_weights()
    np.testing.assert_array_equal(edges, topology.edge_array(g))
    assert net.n_connections() == g.number_of_edges()
    w = net.dense_weights()
    np.testing.assert_array_equal(w, w.T)
    assert not np.any(np.diag(w))
    adjacency = np.zeros_like(w, dtype=bool)
    adjacency[edges[:, 0], edges[:, 1]] = adjacency[edges[:, 1], edges[:, 0]] = True
    assert not np.any(w[~adjacency]), "weight on a missing connection"


def test_layered_network_has_no_all_to_all_storage():
    sizes = [30, 20, 20, 5]
    net = network.from_graph(topology.layered(sizes), seed=0)
    stored = sum(b.weight.size for b in net.blocks) + len(net.sparse)
    assert stored == 30 * 20 + 20 * 20 + 20 * 5
    assert all(b.mask is None and b.hi == b.lo + 1 for b in net.blocks)


def test_initialisation_follows_the_paper():
    sizes = [40, 30, 30, 10]
    net = network.from_graph(topology.small_world(sizes, n=200, seed=0), seed=3)
    for b in net.blocks:
        present = b.weight if b.mask is None else b.weight[b.mask]
        if b.lo == b.hi:
            bound = 0.05
        else:
            bound = np.sqrt(6 / (sizes[b.lo] + sizes[b.hi]))
        assert np.abs(present).max() <= bound
        assert np.abs(present).max() > 0.8 * bound  # uniform over the whole range, not a narrower one
    assert np.abs(net.sparse.weight).max() <= 0.05 and len(net.sparse) > 0
    assert not np.any(net.bias)
    again = network.from_graph(topology.small_world(sizes, n=200, seed=0), seed=3)
    np.testing.assert_array_equal(net.dense_weights(), again.dense_weights())


def test_coupling_equals_dense_matrix_product():
    net = skip_net()
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(4, net.n_inputs))
    r = rng.uniform(size=(4, net.n_free))
    u = np.concatenate([x, r], axis=1)
    b = np.concatenate([np.zeros(net.n_inputs), net.bias])
    expected = (u @ net.dense_weights() + b)[:, net.n_inputs :]
    np.testing.assert_allclose(Coupling(net, x)(r), expected, rtol=1e-12, atol=1e-12)


def test_coupling_rejects_wrong_input_shape():
    net = skip_net()
    with pytest.raises(ValueError, match=r"expected \(batch, 6\)"):
        Coupling(net, np.zeros((2, 5)))


def test_graph_with_input_input_edge_is_rejected():
    g = topology.layered([3, 2])
    g.add_edge(0, 1)
    with pytest.raises(ValueError, match="two input neurons"):
        network.from_graph(g, seed=0)


def test_dense_and_block_layouts_relax_to_the_same_state():
    from neurosim.engines import Euler, Phase

    net = skip_net(scale=1.0, bias=(-0.3, 0.6))
    rng = np.random.default_rng(5)
    x, target = rng.uniform(size=(4, 6)), rng.uniform(size=(4, 3))
    for phase in (Phase(), Phase(beta=0.5, target=target)):
        blocks = Euler(eps=0.5, n_free=40, n_nudged=40, layout="blocks").relax(net, x, np.zeros((4, 12)), phase)
        dense = Euler(eps=0.5, n_free=40, n_nudged=40, layout="dense").relax(net, x, np.zeros((4, 12)), phase)
        np.testing.assert_allclose(dense.state, blocks.state, atol=1e-13)
        np.testing.assert_allclose(dense.residual, blocks.residual, atol=1e-13)


def test_default_layout_follows_the_fill_of_the_coupling_matrix():
    layered = network.from_graph(topology.layered([20, 30, 30, 30, 5]), seed=0)
    small_world = network.from_graph(topology.small_world([20, 30, 30, 30, 5], p=0.08, seed=0), seed=0)
    assert coupling.free_fill(layered) < 0.5 and coupling.default_layout(layered) == "blocks"
    assert coupling.free_fill(small_world) >= 0.5 and coupling.default_layout(small_world) == "dense"


def test_sparse_layer_pairs_are_the_layers_the_couplings_join():
    """Counted by hand: sizes 2-3-2 (neurons 0-1 | 2-4 | 5-6); couplings 0-5 (layers 0, 2), 3-4 (1, 1),
    6-2 (2, 1, stored either way round), 1-6 (0, 2 again)."""
    sizes = (2, 3, 2)
    i, j = np.array([0, 1, 3, 6]), np.array([5, 6, 4, 2])
    assert network.sparse_layer_pairs(sizes, i, j) == ((0, 2), (1, 1), (1, 2))
    assert network.sparse_layer_pairs(sizes, i[:0], j[:0]) == ()
