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

import networkx as nx
import numpy as np

from .backend import to_device, to_numpy
from .topology import edge_array, layer_of_neurons, layer_offsets

#: Half-width of the uniform initialisation of intralayer and layer-skipping weights (paper section 4.3).
INTRA_INIT = 0.05


@dataclass
class DenseBlock:
    """Weights between layer ``lo`` and layer ``hi`` (``lo <= hi``): ``weight[i, j]`` couples neuron i of layer
    ``lo`` with neuron j of layer ``hi``. An intralayer block (``lo == hi``) is symmetric with a zero diagonal.
    ``mask`` marks the entries that are connections; ``None`` means every entry is one. Intralayer blocks always
    carry a mask (its diagonal is False).

    ``back[i, j]``: the coupling into neuron i of layer ``lo`` from neuron j of layer ``hi`` where a circuit's
    two directions differ (mismatch, :mod:`neurosim.hardware`); ``None``, a stored network's case, means
    ``weight[i, j]``: a symmetric connection. Between different layers only: in an intralayer block the two
    directions are already two entries, ``weight[i, j]`` (into j from i) and ``weight[j, i]`` (into i from j)."""

    lo: int
    hi: int
    weight: np.ndarray
    mask: np.ndarray | None = None
    back: np.ndarray | None = None

    @property
    def name(self) -> str:
        return f"L{self.lo}-L{self.hi}"

    def backward(self) -> np.ndarray:
        """The couplings into layer ``lo`` from layer ``hi``, indexed like ``weight``."""
        return self.weight if self.back is None else self.back


@dataclass
class SparseCouplings:
    """Connections outside the dense blocks, as global neuron pairs ``i < j`` with one weight each, sorted by i:
    those touching an input neuron (the lowest indices) come first. ``weight[k]`` couples into j from i;
    ``back[k]``, where the two directions differ (mismatch), into i from j; ``None`` means ``weight``."""

    i: np.ndarray
    j: np.ndarray
    weight: np.ndarray
    back: np.ndarray | None = None

    def backward(self) -> np.ndarray:
        """The couplings into i from j."""
        return self.weight if self.back is None else self.back

    def __len__(self) -> int:
        return len(self.weight)


def sparse_layer_pairs(sizes: tuple[int, ...], i: np.ndarray, j: np.ndarray) -> tuple[tuple[int, int], ...]:
    """The distinct pairs of layers (lower, upper) that the sparse couplings ``i`` - ``j`` (global neuron
    indices) join, sorted; ``(l, l)`` marks an intralayer connection."""
    layer = layer_of_neurons(sizes)
    a, b = layer[i], layer[j]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    n = len(sizes)
    counts = np.bincount(lo * n + hi, minlength=n * n)
    return tuple((int(c) // n, int(c) % n) for c in np.flatnonzero(counts))


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
    n_sparse_from_input: int = field(init=False, repr=False)
    sparse_layer_pairs: tuple[tuple[int, int], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.sizes = tuple(int(s) for s in self.sizes)
        self.offsets = layer_offsets(self.sizes)
        # Read from the index arrays here, once, so that no phase has to (a CUDA-graph capture forbids reading
        # device arrays back): the sparse connections that touch an input neuron form a prefix of the list,
        # counted so that the coupling slices it without a data-dependent index; and the layer pairs they join.
        i, j = to_numpy(self.sparse.i), to_numpy(self.sparse.j)
        from_input = i < self.sizes[0]
        self.n_sparse_from_input = int(from_input.sum())
        if not from_input[: self.n_sparse_from_input].all():
            raise ValueError("sparse couplings must be sorted by their first neuron (those touching inputs first)")
        self.sparse_layer_pairs = sparse_layer_pairs(self.sizes, i, j)

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

    def to(self, device: str) -> "Network":
        """A copy with every array on ``device`` ("cpu": numpy; "cuda": torch tensors on the GPU)."""
        return self.to_arrays(lambda a: None if a is None else to_device(a, device))

    def copy(self) -> "Network":
        return self.to_arrays(lambda a: None if a is None else a.copy())

    def astype(self, dtype) -> "Network":
        """A copy with weights and biases of ``dtype`` (masks and indices unchanged)."""
        cast = lambda a: None if a is None else a.astype(dtype)  # noqa: E731
        net = self.copy()
        for b in net.blocks:
            b.weight, b.back = cast(b.weight), cast(b.back)
        net.sparse.weight, net.sparse.back = cast(net.sparse.weight), cast(net.sparse.back)
        net.bias = cast(net.bias)
        return net

    def to_arrays(self, move) -> "Network":
        """A network with ``move`` applied to every array (weights, masks, indices, biases)."""
        return Network(
            sizes=self.sizes,
            blocks=[DenseBlock(b.lo, b.hi, move(b.weight), move(b.mask), move(b.back)) for b in self.blocks],
            sparse=SparseCouplings(move(self.sparse.i), move(self.sparse.j), move(self.sparse.weight),
                                   move(self.sparse.back)),
            bias=move(self.bias),
        )

    @property
    def symmetric(self) -> bool:
        """Whether both directions of every connection carry the same weight (no mismatch)."""
        return all(b.back is None for b in self.blocks) and self.sparse.back is None and all(
            np.array_equal(to_numpy(b.weight), to_numpy(b.weight).T) for b in self.blocks if b.lo == b.hi)

    def n_connections(self) -> int:
        dense = sum(
            (b.weight.size if b.mask is None else int(np.count_nonzero(b.mask))) // (2 if b.lo == b.hi else 1)
            for b in self.blocks
        )
        return dense + len(self.sparse)

    # -- reference forms (small networks, tests, baselines) -------------------------------------------------------
    def dense_weights(self) -> np.ndarray:
        """The full (N, N) weight matrix with a zero diagonal, ``w[i, j]`` the coupling into j from i (symmetric
        unless the network carries mismatch). O(N^2) memory: for tests and baselines."""
        n_total = int(self.offsets[-1])
        w = np.zeros((n_total, n_total), dtype=self.dtype)
        for b in self.blocks:
            rows = slice(self.offsets[b.lo], self.offsets[b.lo + 1])
            cols = slice(self.offsets[b.hi], self.offsets[b.hi + 1])
            w[rows, cols] = b.weight
            if b.lo != b.hi:
                w[cols, rows] = b.backward().T
        w[self.sparse.i, self.sparse.j] = self.sparse.weight
        w[self.sparse.j, self.sparse.i] = self.sparse.backward()
        return w

    def edges_and_weights(self, *, backward: bool = False) -> tuple[np.ndarray, ...]:
        """Every connection as a global pair (i < j), sorted, with its weight (the coupling into j from i): the
        network as an edge list. With ``backward``, also the couplings into i from j, in the same order (equal
        to the weights unless the network carries mismatch)."""
        parts_e, parts_w, parts_b = [], [], []
        for b in self.blocks:
            mask = np.ones(b.weight.shape, dtype=bool) if b.mask is None else b.mask
            if b.lo == b.hi:
                mask = np.triu(mask, k=1)
            r, c = np.nonzero(mask)
            parts_e.append(np.stack([r + self.offsets[b.lo], c + self.offsets[b.hi]], axis=1))
            parts_w.append(b.weight[r, c])
            parts_b.append(b.weight[c, r] if b.lo == b.hi else b.backward()[r, c])
        parts_e.append(np.stack([self.sparse.i, self.sparse.j], axis=1))
        parts_w.append(self.sparse.weight)
        parts_b.append(self.sparse.backward())
        edges = np.concatenate(parts_e).astype(np.int64)
        order = np.lexsort((edges[:, 1], edges[:, 0]))
        weights = np.concatenate(parts_w)[order]
        if backward:
            return edges[order], weights, np.concatenate(parts_b)[order]
        return edges[order], weights


def is_skip(sizes, edges: np.ndarray) -> np.ndarray:
    """Which of ``edges`` (global pairs i < j) are layer-skipping: neither between adjacent layers nor inside a
    hidden layer. These are the connections a :class:`Network` keeps in its sparse list."""
    layer = layer_of_neurons(sizes)
    li, lj = layer[edges[:, 0]], layer[edges[:, 1]]
    return ~((lj - li == 1) | ((li == lj) & (li > 0)))


def without_skips(net: Network) -> Network:
    """A copy of ``net`` without its layer-skipping connections (the sparse list: every connection between layers
    that are not adjacent), the dense blocks and biases unchanged. The paper's future-work experiment (section 6):
    train with added skip connections, remove them, train on."""
    out = net.copy()
    empty = lambda a: None if a is None else a[:0]  # noqa: E731
    sparse = SparseCouplings(*(empty(a) for a in (out.sparse.i, out.sparse.j, out.sparse.weight, out.sparse.back)))
    return Network(sizes=out.sizes, blocks=out.blocks, sparse=sparse, bias=out.bias)


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
    in_block = ~is_skip(sizes, edges)
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
