"""CUDA-graph replay of another engine's relaxation (PyTorch), to remove kernel-launch overhead at small batches.

``CudaGraphed(engine)`` records ``engine.relax`` once per (network, batch shape, phase kind, nudge, beta) with
:class:`neurosim.cudagraph.GraphCache` and replays it afterwards. The wrapped engine's ``relax`` must be pure
torch work on CUDA tensors (the Euler engine is). Training on the GPU records the whole controller step instead
(:class:`neurosim.controller.Controller` with ``cuda_graphs``); this wrapper serves single relaxations
(benchmarks, evaluation).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..cudagraph import GraphCache
from .base import Engine, Phase, Relaxation


@dataclass
class CudaGraphed:
    """Wraps ``engine`` and replays its ``relax`` from CUDA graphs."""

    engine: Engine
    _graphs: GraphCache = field(default_factory=GraphCache, repr=False, compare=False)

    @property
    def name(self) -> str:
        return f"{self.engine.name}+cudagraph"

    @property
    def nudges(self) -> tuple[str, ...]:
        return self.engine.nudges

    def relax(self, net, x, s, phase: Phase) -> Relaxation:
        key = (id(net), tuple(x.shape), phase.nudged, phase.nudge, float(phase.beta))
        if phase.nudged:
            fn = lambda x_, s_, t_: self.engine.relax(net, x_, s_, replace(phase, target=t_))  # noqa: E731
            out = self._graphs.run(key, fn, x, s, phase.target, keep=net)
        else:
            out = self._graphs.run(key, lambda x_, s_: self.engine.relax(net, x_, s_, Phase()), x, s, keep=net)
        return replace(out, state=out.state.clone(), residual=out.residual.clone(), info=dict(out.info))
