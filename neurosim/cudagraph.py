"""Record a PyTorch computation once as a CUDA graph and replay it (used on the GPU path only).

At batch 20 an Euler step of the paper's network is a few microseconds of GPU work, so launching its kernels one
by one from Python costs more than running them (measured on an H100: 33 us an iteration eager, 16 us replayed;
docs/performance.md). :class:`GraphCache` runs a function once under ``torch.cuda.graph`` per key and later
replays the recorded kernels, after copying the new input tensors into the recorded ones.

A recorded function must do only torch work on CUDA tensors: no host synchronisation, no values read back to
Python, no data-dependent control flow. Tensors it reads but does not receive as inputs (a network's parameters)
must be updated in place between replays, never replaced; then every replay sees their current values.
The outputs of a replay are the recorded output tensors: the next replay overwrites them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass
class _Recording:
    graph: object
    inputs: tuple
    output: object
    keep: object  # held so that ids in the key cannot be reused while the graph reads its tensors


@dataclass
class GraphCache:
    """Recordings of functions by key. ``run(key, fn, *inputs, keep=obj, mutates=tensors)`` records
    ``fn(*inputs)`` the first time a key is seen and replays it afterwards. ``mutates``: tensors ``fn`` updates in
    place (a network's parameters); the warm-up run that recording needs is undone on them, so that the first
    call, like every later one, updates them exactly once."""

    _recordings: dict = field(default_factory=dict, repr=False)

    def run(self, key, fn: Callable, *inputs, keep=None, mutates=()):
        import torch

        rec = self._recordings.get(key)
        if rec is None:
            static = tuple(t.detach().clone() for t in inputs)
            saved = [t.detach().clone() for t in mutates]
            side = torch.cuda.Stream()  # warm-up off the capture stream, as torch.cuda.graph requires
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                fn(*static)
                for tensor, before in zip(mutates, saved):
                    tensor.copy_(before)
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                output = fn(*static)
            rec = self._recordings[key] = _Recording(graph, static, output, keep)
        for recorded, new in zip(rec.inputs, inputs, strict=True):
            recorded.copy_(new)
        rec.graph.replay()
        return rec.output

    def __len__(self) -> int:
        return len(self._recordings)
