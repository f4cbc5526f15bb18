"""Network topologies: which neurons are connected, as networkx graphs.

Every generator here is a pure function of its arguments (randomness only through an explicit ``seed``) that
returns an undirected :class:`networkx.Graph` whose nodes are the integers ``0 .. N-1`` numbered layer by layer:
the input layer first, the output layer last. Each node carries the attribute ``layer`` (0 = input) and the graph
carries ``sizes`` (neurons per layer) and a record of how it was made (``kind``, ``n_rewired``, ``mode``, ``seed``).

The edges are built as numpy arrays and handed to networkx once, so the paper's 784-500-500-500-10 small-world
graph (1.27 million edges) takes a few seconds; the graph metrics below work on the adjacency matrix for the same
reason.
"""

from __future__ import annotations

import math
from typing import Literal, Sequence

import networkx as nx
import numpy as np

RewireMode = Literal["replace", "add"]


# ----------------------------------------------------------------------------------------------------------------
# Layer bookkeeping


def layer_offsets(sizes: Sequence[int]) -> np.ndarray:
    """Index of the first neuron of every layer, plus the total: ``offsets[l] .. offsets[l+1]-1`` is layer l."""
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


def layer_of_neurons(sizes: Sequence[int]) -> np.ndarray:
    """Layer index of every neuron, shape (N,)."""
    return np.repeat(np.arange(len(sizes)), sizes)


def pair_rates(rates: Sequence[float], sizes: Sequence[int]) -> list[float]:
    """One learning rate per pair of adjacent layers (input side first) from ``rates``: one global value, or one
    per pair; :class:`ValueError` naming ``lr`` otherwise (the one check of the rates' count)."""
    rates, n_pairs = [float(r) for r in rates], len(sizes) - 1
    if len(rates) not in (1, n_pairs):
        raise ValueError(f"lr={rates}: give one rate or one per adjacent layer pair ({n_pairs} for sizes "
                         f"{list(sizes)})")
    return rates * n_pairs if len(rates) == 1 else rates


def _check_sizes(sizes: Sequence[int]) -> tuple[int, ...]:
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes={list(sizes)}: a network needs at least an input and an output layer")
    bad = [s for s in sizes if s < 1]
    if bad:
        raise ValueError(f"sizes={list(sizes)}: every layer needs at least one neuron")
    return sizes


# ----------------------------------------------------------------------------------------------------------------
# Edge arrays (each row i < j)


def _layered_edges(sizes: Sequence[int]) -> np.ndarray:
    """Every pair of neurons in adjacent layers, shape (E, 2)."""
    off = layer_offsets(sizes)
    parts = []
    for lo in range(len(sizes) - 1):
        a = np.arange(off[lo], off[lo + 1])
        b = np.arange(off[lo + 1], off[lo + 2])
        parts.append(np.stack(np.meshgrid(a, b, indexing="ij"), axis=-1).reshape(-1, 2))
    return np.concatenate(parts)


def _intralayer_edges(sizes: Sequence[int]) -> np.ndarray:
    """Every pair of distinct neurons inside each hidden layer, shape (E, 2)."""
    off = layer_offsets(sizes)
    parts = [np.empty((0, 2), dtype=np.int64)]
    for layer in range(1, len(sizes) - 1):
        i, j = np.triu_indices(sizes[layer], k=1)
        parts.append(np.stack([i + off[layer], j + off[layer]], axis=1))
    return np.concatenate(parts)


def _graph(sizes: Sequence[int], edges: np.ndarray, **attrs) -> nx.Graph:
    graph = nx.Graph(sizes=tuple(sizes), **attrs)
    graph.add_nodes_from((int(i), {"layer": int(layer)}) for i, layer in enumerate(layer_of_neurons(sizes)))
    graph.add_edges_from(edges.tolist())
    return graph


def edge_array(graph: nx.Graph) -> np.ndarray:
    """The edges of ``graph`` as an int64 array of shape (E, 2) with ``i < j`` in every row, sorted."""
    edges = np.array(list(graph.edges()), dtype=np.int64).reshape(-1, 2)
    edges.sort(axis=1)
    return edges[np.lexsort((edges[:, 1], edges[:, 0]))]


# ----------------------------------------------------------------------------------------------------------------
# Generators


def layered(sizes: Sequence[int]) -> nx.Graph:
    """The basic multilayer topology (paper Fig. 1a): every pair of neurons in adjacent layers is connected, and
    nothing else is."""
    sizes = _check_sizes(sizes)
    return _graph(sizes, _layered_edges(sizes), kind="layered", n_rewired=0, mode="none", seed=-1)


def rewired_from_fraction(p: float, n_edges: int) -> int:
    """Number ``n`` of rewired connections equivalent to the Watts-Strogatz probability ``p`` (paper footnote 2):
    ``p = 1 - ((N-1)/N)**n`` for a graph of ``N`` edges, solved for n and rounded to the nearest integer."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"p={p}: the rewiring fraction must lie in [0, 1)")
    if n_edges < 2:
        return 0
    return int(round(math.log1p(-p) / math.log1p(-1.0 / n_edges)))


def fraction_from_rewired(n: int, n_edges: int) -> float:
    """The Watts-Strogatz probability ``p = 1 - ((N-1)/N)**n`` of rewiring ``n`` of ``N`` edges (footnote 2)."""
    if n_edges < 1:
        return 0.0
    return -math.expm1(n * math.log1p(-1.0 / n_edges)) if n_edges > 1 else float(n > 0)


def small_world(
    sizes: Sequence[int],
    *,
    n: int | None = None,
    p: float | None = None,
    mode: RewireMode = "replace",
    intralayer: bool = True,
    seed: int,
) -> nx.Graph:
    """The paper's small-world topology (section 4.3, Fig. 1b).

    Start from :func:`layered`, connect every pair of neurons inside each *hidden* layer (``intralayer=True``),
    then rewire ``n`` connections:

    - ``mode="replace"``: ``n`` distinct existing connections, drawn uniformly, are removed and ``n`` new ones are
      added, so the edge count is unchanged;
    - ``mode="add"``: the ``n`` new connections are added and none removed (paper footnote 3 and its future work).

    New connections skip at least one layer: they join two neurons whose layers are at least two apart (input to
    output included), drawn uniformly among such pairs, as the code behind the paper's figures draws them. With
    ``intralayer=True`` these are exactly the pairs the starting graph leaves unconnected (bar those inside the
    input or the output layer); with ``intralayer=False`` no new connection falls inside a hidden layer, so the
    result is the published small-world network (784-500-500-500-10, no intralayer connections). (The paper's
    code removes and adds one connection at a time; drawing the removed and the added sets at once differs only
    in that a just-removed pair cannot be re-added, an event of probability ~n/N_pairs.)

    Give either ``n`` or the fraction ``p`` of footnote 2, converted with :func:`rewired_from_fraction` over the
    edges of the starting graph. ``seed`` makes the draw reproducible.
    """
    sizes = _check_sizes(sizes)
    if (n is None) == (p is None):
        raise ValueError("small_world needs exactly one of n (connections to rewire) or p (fraction)")
    if mode not in ("replace", "add"):
        raise ValueError(f"mode={mode!r}: must be 'replace' or 'add'")
    base = [_layered_edges(sizes)]
    if intralayer:
        base.append(_intralayer_edges(sizes))
    edges = np.concatenate(base)
    if n is None:
        n = rewired_from_fraction(float(p), len(edges))
    n = int(n)
    if n < 0:
        raise ValueError(f"n={n}: the number of rewired connections cannot be negative")
    if mode == "replace" and n > len(edges):
        raise ValueError(f"n={n}: only {len(edges)} connections exist to be replaced")

    rng = np.random.default_rng(seed)
    base_edges = edges
    if mode == "replace":
        keep = np.ones(len(edges), dtype=bool)
        keep[rng.choice(len(edges), size=n, replace=False)] = False
        edges = edges[keep]
    edges = np.concatenate([edges, _draw_new_edges(rng, sizes, base_edges, n)])
    return _graph(
        sizes,
        edges,
        kind="small-world",
        n_rewired=n,
        p=fraction_from_rewired(n, len(base_edges)),
        mode=mode,
        intralayer=bool(intralayer),
        seed=int(seed),
    )


def _draw_new_edges(rng: np.random.Generator, sizes: Sequence[int], existing: np.ndarray, n: int) -> np.ndarray:
    """``n`` distinct pairs (i < j), uniform among pairs absent from ``existing`` whose layers are at least two
    apart. Rejection sampling in vectorised rounds (proposals: any pair not inside the input or the output layer);
    raises if fewer than ``n`` such pairs exist."""
    n_total = int(sum(sizes))
    n_in, n_out = sizes[0], sizes[-1]
    proposals = n_total * (n_total - 1) // 2 - n_in * (n_in - 1) // 2 - n_out * (n_out - 1) // 2
    layer = layer_of_neurons(sizes)
    existing_codes = np.sort(existing[:, 0] * n_total + existing[:, 1])
    skipping = sum(a * b for k, a in enumerate(sizes) for b in sizes[k + 2 :])
    free_pairs = skipping - np.count_nonzero(np.abs(layer[existing[:, 0]] - layer[existing[:, 1]]) >= 2)
    if n > free_pairs:
        raise ValueError(f"n={n}: only {free_pairs} unconnected pairs are available for new connections")
    chosen = np.empty(0, dtype=np.int64)
    while len(chosen) < n:
        want = n - len(chosen)
        m = int(want * 1.2 * max(1.0, proposals / max(free_pairs, 1))) + 64
        i = rng.integers(0, n_total, size=m)
        j = rng.integers(0, n_total, size=m)
        lo, hi = np.minimum(i, j), np.maximum(i, j)
        ok = layer[hi] - layer[lo] >= 2
        codes = lo[ok] * n_total + hi[ok]
        pos = np.searchsorted(existing_codes, codes)
        pos = np.minimum(pos, len(existing_codes) - 1)
        if len(existing_codes):
            codes = codes[existing_codes[pos] != codes]
        merged = np.concatenate([chosen, codes])
        _, first = np.unique(merged, return_index=True)
        chosen = merged[np.sort(first)]  # distinct, in order of first draw
    chosen = chosen[:n]
    return np.stack([chosen // n_total, chosen % n_total], axis=1)


# ----------------------------------------------------------------------------------------------------------------
# Graph metrics (paper eqs 15-16)


def _dense_adjacency(graph: nx.Graph) -> np.ndarray:
    n_total = graph.number_of_nodes()
    adjacency = np.zeros((n_total, n_total), dtype=np.float32)
    edges = edge_array(graph)
    adjacency[edges[:, 0], edges[:, 1]] = 1.0
    adjacency[edges[:, 1], edges[:, 0]] = 1.0
    return adjacency


def path_length(graph: nx.Graph, chunk: int = 1024) -> float:
    """Characteristic path length L (eq 15): the shortest-path length in edges, averaged over all ordered pairs of
    distinct nodes. ``inf`` for a disconnected graph (networkx raises there instead).

    Breadth-first search from all nodes at once as products of the frontier with the dense adjacency matrix, in
    row chunks; memory ~4 N^2 bytes.
    """
    adjacency = _dense_adjacency(graph)
    n_total = len(adjacency)
    if n_total < 2:
        return 0.0
    total = 0
    for start in range(0, n_total, chunk):
        rows = np.arange(start, min(start + chunk, n_total))
        reached = np.zeros((len(rows), n_total), dtype=bool)
        reached[np.arange(len(rows)), rows] = True
        frontier = reached.astype(np.float32)
        distance = 0
        while True:
            distance += 1
            new = ((frontier @ adjacency) > 0) & ~reached
            count = int(np.count_nonzero(new))
            if count == 0:
                break
            total += distance * count
            reached |= new
            frontier = new.astype(np.float32)
        if not reached.all():
            return math.inf
    return total / (n_total * (n_total - 1))


def clustering(graph: nx.Graph, chunk: int = 1024) -> float:
    """Clustering coefficient C (eq 16), in the Watts-Strogatz form that networkx's ``average_clustering`` uses:
    the mean over all nodes of (edges among the node's neighbours) / (k (k-1) / 2), 0 for nodes of degree < 2.

    (Eq 16 as printed in the paper divides by N_i rather than N_i (N_i - 1); its text, "the proportion of nodes in
    the neighbourhood ... that share an edge", is the Watts-Strogatz definition implemented here.)
    Computed as diag(A^3)_i / (k_i (k_i - 1)) in row chunks.
    """
    adjacency = _dense_adjacency(graph)
    n_total = len(adjacency)
    if n_total == 0:
        return 0.0
    degree = adjacency.sum(axis=1).astype(np.float64)
    closed_walks = np.empty(n_total)
    for start in range(0, n_total, chunk):
        rows = slice(start, min(start + chunk, n_total))
        closed_walks[rows] = ((adjacency[rows] @ adjacency) * adjacency[rows]).sum(axis=1)
    pairs = degree * (degree - 1)
    local = np.divide(closed_walks, pairs, out=np.zeros(n_total), where=pairs > 0)
    return float(local.mean())


def describe(graph: nx.Graph) -> dict:
    """Summary of a topology for run files and reports: sizes, edge count, how it was made, L and C."""
    return {
        "kind": graph.graph.get("kind", "custom"),
        "sizes": list(graph.graph["sizes"]),
        "n_edges": graph.number_of_edges(),
        "n_rewired": int(graph.graph.get("n_rewired", 0)),
        "p": float(graph.graph.get("p", 0.0)),
        "mode": graph.graph.get("mode", "none"),
        "path_length": path_length(graph),
        "clustering": clustering(graph),
    }
