"""The network: symmetric weights on the edges of a topology, biases, and the layer of every neuron.

A :class:`Network` is plain data. Its weights are stored the way the engines multiply them, not as one dense
all-to-all matrix:

- a dense block for every pair of adjacent layers and for every hidden layer with intralayer connections; a
  connection missing from the topology (removed by rewiring) is a ``False`` in the block's mask and a weight
  held at 0;
- every other connection (the layer-skipping ones) in one sparse list of global neuron pairs.

Neurons are numbered as in :mod:`neurosim.topology`: layer by layer, inputs first. The *free* neurons (hidden and
output, the state ``s``) are numbered from 0 in the same order; the inputs ``x`` are clamped.

Units: weights and biases are dimensionless here (state in units of the 1 V rail). In the circuit view
W_ij = R G_ij and b_i = R I_i for leak resistance R, coupling conductance G_ij and bias current I_i.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import networkx as nx
import numpy as np
import scipy.sparse as sp

from .topology import edge_array, layer_of_neurons, layer_offsets

#: Half-width of the uniform initialisation of intralayer and layer-skipping weights (paper section 4.3).
INTRA_INIT = 0.05


@dataclass
class DenseBlock:
    """Weights between layer ``lo`` and layer ``hi`` (``lo <= hi``): ``weight[i, j]`` couples neuron i of layer
    ``lo`` with neuron j of layer ``hi``. An intralayer block (``lo == hi``) is symmetric with a zero diagonal.
    ``mask`` marks the entries that are connections; ``None`` means every entry is one. Intralayer blocks always
    carry a mask (its diagonal is False)."""

    lo: int
    hi: int
    weight: np.ndarray
    mask: np.ndarray | None = None

    @property
    def name(self) -> str:
        return f"L{self.lo}-L{self.hi}"


@dataclass
class SparseCouplings:
    """Connections outside the dense blocks, as global neuron pairs ``i < j`` with one weight each."""

    i: np.ndarray
    j: np.ndarray
    weight: np.ndarray

    def __len__(self) -> int:
        return len(self.weight)


@dataclass
class Network:
    """A continuous Hopfield network on a layered topology.

    ``sizes``: neurons per layer, input first. ``blocks``: dense weight blocks. ``sparse``: the remaining
    connections. ``bias``: one per free neuron, shape (N - sizes[0],).
    """

    sizes: tuple[int, ...]
    blocks: list[DenseBlock]
    sparse: SparseCouplings
    bias: np.ndarray
    offsets: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.sizes = tuple(int(s) for s in self.sizes)
        self.offsets = layer_offsets(self.sizes)

    # -- shape bookkeeping ---------------------------------------------------------------------------------------
    @property
    def dtype(self) -> np.dtype:
        return self.bias.dtype

    @property
    def n_inputs(self) -> int:
        return self.sizes[0]

    @property
    def n_outputs(self) -> int:
        return self.sizes[-1]

    @property
    def n_free(self) -> int:
        return int(self.offsets[-1] - self.sizes[0])

    @property
    def n_layers(self) -> int:
        return len(self.sizes)

    def free_slice(self, layer: int) -> slice:
        """Columns of layer ``layer`` (>= 1) in a free-state array of shape (B, n_free)."""
        if layer < 1:
            raise ValueError("the input layer is clamped and has no free columns")
        return slice(int(self.offsets[layer] - self.sizes[0]), int(self.offsets[layer + 1] - self.sizes[0]))

    @property
    def output_slice(self) -> slice:
        return self.free_slice(self.n_layers - 1)

    # -- parameters as a flat list (weights of each block, sparse weights, biases) --------------------------------
    def parameters(self) -> list[np.ndarray]:
        """The trainable arrays, in a fixed order: each block's weight, the sparse weights, the biases."""
        return [b.weight for b in self.blocks] + [self.sparse.weight, self.bias]

    def parameter_names(self) -> list[str]:
        return [b.name for b in self.blocks] + ["sparse", "bias"]

    def copy(self) -> "Network":
        return Network(
            sizes=self.sizes,
            blocks=[DenseBlock(b.lo, b.hi, b.weight.copy(), None if b.mask is None else b.mask.copy()) for b in self.blocks],
            sparse=SparseCouplings(self.sparse.i.copy(), self.sparse.j.copy(), self.sparse.weight.copy()),
            bias=self.bias.copy(),
        )

    def astype(self, dtype) -> "Network":
        net = self.copy()
        for b in net.blocks:
            b.weight = b.weight.astype(dtype)
        net.sparse.weight = net.sparse.weight.astype(dtype)
        net.bias = net.bias.astype(dtype)
        return net

    def n_connections(self) -> int:
        dense = sum(
            (b.weight.size if b.mask is None else int(np.count_nonzero(b.mask))) // (2 if b.lo == b.hi else 1)
            for b in self.blocks
        )
        return dense + len(self.sparse)

    # -- reference forms (small networks, tests, baselines) -------------------------------------------------------
    def dense_weights(self) -> np.ndarray:
        """The full symmetric (N, N) weight matrix with a zero diagonal. O(N^2) memory: for tests and baselines."""
        n_total = int(self.offsets[-1])
        w = np.zeros((n_total, n_total), dtype=self.dtype)
        for b in self.blocks:
            rows = slice(self.offsets[b.lo], self.offsets[b.lo + 1])
            cols = slice(self.offsets[b.hi], self.offsets[b.hi + 1])
            w[rows, cols] = b.weight
            w[cols, rows] = b.weight.T
        w[self.sparse.i, self.sparse.j] = self.sparse.weight
        w[self.sparse.j, self.sparse.i] = self.sparse.weight
        return w

    def edges_and_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """Every connection as a global pair (i < j), sorted, with its weight: the network as an edge list."""
        parts_e, parts_w = [], []
        for b in self.blocks:
            mask = np.ones(b.weight.shape, dtype=bool) if b.mask is None else b.mask
            if b.lo == b.hi:
                mask = np.triu(mask, k=1)
            r, c = np.nonzero(mask)
            parts_e.append(np.stack([r + self.offsets[b.lo], c + self.offsets[b.hi]], axis=1))
            parts_w.append(b.weight[r, c])
        parts_e.append(np.stack([self.sparse.i, self.sparse.j], axis=1))
        parts_w.append(self.sparse.weight)
        edges = np.concatenate(parts_e).astype(np.int64)
        weights = np.concatenate(parts_w)
        order = np.lexsort((edges[:, 1], edges[:, 0]))
        return edges[order], weights[order]


# ----------------------------------------------------------------------------------------------------------------
# Construction


def from_graph(
    graph: nx.Graph,
    *,
    seed: int,
    intra_init: float = INTRA_INIT,
    dtype=np.float64,
) -> Network:
    """A network on the edges of ``graph`` (made by :mod:`neurosim.topology`), initialised as in the paper:

    - between adjacent layers, Glorot-Bengio uniform (eq 19): U[-sqrt(6/(n_l + n_l+1)), +sqrt(6/(n_l + n_l+1))];
    - intralayer and layer-skipping connections: U[-intra_init, +intra_init] (0.05 in the paper);
    - biases zero.

    Draws come from ``numpy.random.default_rng(seed)`` in a fixed order (blocks by layer pair, then the sparse
    connections), so the same graph and seed give the same network.
    """
    sizes = tuple(graph.graph["sizes"])
    rng = np.random.default_rng(seed)
    edges = edge_array(graph)
    return _build(sizes, edges, rng, intra_init, np.dtype(dtype))


def _build(sizes, edges, rng, intra_init, dtype) -> Network:
    offsets = layer_offsets(sizes)
    layer = layer_of_neurons(sizes)
    li, lj = layer[edges[:, 0]], layer[edges[:, 1]]
    if np.any((li == 0) & (lj == 0)):
        raise ValueError("the topology connects two input neurons; inputs are clamped, such a weight cannot act")
    if np.any(edges[:, 0] == edges[:, 1]):
        raise ValueError("the topology has a self-loop; E has no self-coupling term (i != j in eq 3)")
    in_block = (lj - li == 1) | ((li == lj) & (li > 0))
    blocks = []
    for lo, hi in sorted(set(zip(li[in_block].tolist(), lj[in_block].tolist()))):
        sel = in_block & (li == lo) & (lj == hi)
        r = edges[sel, 0] - offsets[lo]
        c = edges[sel, 1] - offsets[hi]
        shape = (sizes[lo], sizes[hi])
        mask = np.zeros(shape, dtype=bool)
        mask[r, c] = True
        if lo == hi:
            mask |= mask.T
            bound = intra_init
        else:
            bound = np.sqrt(6.0 / (sizes[lo] + sizes[hi]))
        weight = rng.uniform(-bound, bound, size=shape)
        if lo == hi:
            weight = np.triu(weight, k=1)
            weight = weight + weight.T
        if lo != hi and mask.all():
            mask = None
        else:
            weight = np.where(mask, weight, 0.0)
        blocks.append(DenseBlock(int(lo), int(hi), weight.astype(dtype), mask))
    rest = edges[~in_block]
    sparse = SparseCouplings(
        i=rest[:, 0].copy(),
        j=rest[:, 1].copy(),
        weight=rng.uniform(-intra_init, intra_init, size=len(rest)).astype(dtype),
    )
    bias = np.zeros(int(offsets[-1] - sizes[0]), dtype=dtype)
    return Network(sizes=tuple(sizes), blocks=blocks, sparse=sparse, bias=bias)


# ----------------------------------------------------------------------------------------------------------------
# The linear part of the dynamics


class Coupling:
    """The input each free neuron receives, ``d = W rho(u) + b`` restricted to the free neurons, for a batch whose
    inputs ``x`` (B, n_inputs) are clamped: ``d = const + W_ss r`` with ``r = rho(s)`` and
    ``const = b + W_sx x`` computed once (the inputs do not move during a phase).

    Built once per batch (the weights do not change within the free and nudged phases). Dense blocks are one
    matrix product each; the layer-skipping connections one sparse product.
    """

    def __init__(self, net: Network, x: np.ndarray):
        x = np.asarray(x, dtype=net.dtype)
        if x.ndim != 2 or x.shape[1] != net.n_inputs:
            raise ValueError(f"inputs of shape {x.shape}: expected (batch, {net.n_inputs})")
        self.net = net
        n_in, n_free = net.n_inputs, net.n_free
        const = np.broadcast_to(net.bias, (len(x), n_free)).copy()
        self._products: list[tuple[np.ndarray, slice, slice, bool]] = []
        for b in net.blocks:
            if b.lo == 0:  # input to first hidden layer: constant over the phase
                const[:, net.free_slice(b.hi)] += x @ b.weight
            else:
                self._products.append((b.weight, net.free_slice(b.lo), net.free_slice(b.hi), b.lo == b.hi))
        sp_w = net.sparse.weight
        i, j = net.sparse.i - n_in, net.sparse.j - n_in  # free indices; negative i = an input neuron
        from_input = i < 0
        if np.any(from_input):
            s_fx = sp.csr_array((sp_w[from_input], (j[from_input], i[from_input] + n_in)), shape=(n_free, n_in))
            const += (s_fx @ x.T).T
        free = ~from_input
        if np.any(free):
            rows = np.concatenate([i[free], j[free]])
            cols = np.concatenate([j[free], i[free]])
            vals = np.concatenate([sp_w[free], sp_w[free]])
            self._s_ff = sp.csr_array((vals, (rows, cols)), shape=(n_free, n_free))
        else:
            self._s_ff = None
        self.const = const

    def __call__(self, r: np.ndarray) -> np.ndarray:
        """``d = const + W_ss r`` for free activations ``r = rho(s)`` of shape (B, n_free)."""
        d = self.const.copy()
        for weight, lo, hi, intra in self._products:
            if intra:
                d[:, lo] += r[:, lo] @ weight
            else:
                d[:, hi] += r[:, lo] @ weight
                d[:, lo] += r[:, hi] @ weight.T
        if self._s_ff is not None:
            d += (self._s_ff @ r.T).T
        return d
