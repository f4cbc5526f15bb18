"""Speed of the Euler free phase, side by side with a naive baseline, in one run.

    python benchmarks/engine_speed.py [--batches 20 100 1000] [--dtypes float32 float64] [--steps-budget 1.0]

Networks: the paper's 784-500-500-500-10, layered and small-world (p = 8 %). For each network, dtype and batch
size it prints example-iterations per second of

- naive: the baseline written here, a dense masked float64 (N x N) weight matrix over all neurons, one numpy
  product per step: u <- [x, clip(s - eps (s - (u W + b)_free), 0, 1)];
- neurosim: ``Euler.relax`` on the CPU (numpy, the network's default coupling layout);

and, when PyTorch sees a CUDA GPU,

- torch-plain: a plain eager PyTorch loop at the same dtype, eq 9 written out (rho, rho', gradient, step), over
  the dense masked free-free matrix: the "plain eager loop" of issue 10;
- neurosim-cuda: ``Euler.relax`` on the GPU, eager;
- neurosim-graph: the same replayed from a CUDA graph (``CudaGraphed``).

Ratios: neurosim / naive, small-world / layered, and on the GPU graph / torch-plain.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from array_api_compat import device as device_of

from neurosim import network, topology
from neurosim.backend import array_namespace
from neurosim.engines import Euler, Phase
from neurosim.engines.graphed import CudaGraphed

SIZES = (784, 500, 500, 500, 10)
EPS = 0.5


def build(kind: str, dtype: str) -> network.Network:
    graph = topology.layered(SIZES) if kind == "layered" else topology.small_world(SIZES, p=0.08, seed=0)
    return network.from_graph(graph, seed=0, dtype=np.dtype(dtype))


def timed(run, budget: float, repeats: int = 3) -> float:
    """Seconds per step of ``run(steps)``: the best of ``repeats`` measurements (this machine's timings vary by
    up to ~40 % between runs), the step count scaled so that one measurement takes ~budget / repeats."""
    run(2)
    start = time.perf_counter()
    run(2)
    per_step = (time.perf_counter() - start) / 2
    steps = int(np.clip(budget / repeats / max(per_step, 1e-7), 4, 2000))
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        run(steps)
        best = min(best, (time.perf_counter() - start) / steps)
    return best


def naive(net: network.Network, x: np.ndarray):
    """Dense masked float64 baseline: one product of the full (B, N) state with the (N, N) matrix per step."""
    w = net.astype(np.float64).dense_weights()
    b = np.concatenate([np.zeros(net.n_inputs), net.bias.astype(np.float64)])
    u0 = np.concatenate([x.astype(np.float64), np.zeros((len(x), net.n_free))], axis=1)
    n_in = net.n_inputs

    def run(steps):
        u = u0.copy()
        for _ in range(steps):
            d = u @ w + b
            s = u[:, n_in:]
            u[:, n_in:] = np.clip(s - EPS * (s - d[:, n_in:]), 0, 1)

    return run


def neurosim(net, x, engine_wrapper=None):
    """``Euler.relax`` for a number of steps; with ``engine_wrapper`` (CudaGraphed) one wrapper per step count,
    so that the timed calls replay a graph recorded in the untimed first call."""
    engines = {}
    xp = array_namespace(net.bias)
    s0 = xp.zeros((x.shape[0], net.n_free), dtype=net.dtype, device=device_of(net.bias))

    def run(steps):
        if steps not in engines:
            engine = Euler(eps=EPS, n_free=steps)
            engines[steps] = engine if engine_wrapper is None else engine_wrapper(engine)
            engines[steps].relax(net, x, s0, Phase())  # records the graph, if any
        _sync(engines[steps].relax(net, x, s0, Phase()).state)

    return run


def _sync(array):
    if hasattr(array, "is_cuda") and array.is_cuda:
        import torch

        torch.cuda.synchronize()


def torch_plain(net, x):
    import torch

    from neurosim.network import Coupling

    coupling = Coupling(net, x, "dense")
    w, const = coupling.w_ss, coupling.const

    def run(steps):
        s = torch.zeros_like(const)
        for _ in range(steps):
            r = torch.clamp(s, 0, 1)
            rho_prime = ((s >= 0) & (s <= 1)).to(s.dtype)
            grad = s - rho_prime * (r @ w + const)
            s = torch.clamp(s - EPS * grad, 0, 1)
        torch.cuda.synchronize()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", nargs="+", type=int, default=[20, 100, 1000])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--steps-budget", type=float, default=1.0, help="seconds per measurement")
    parser.add_argument("--no-cpu", action="store_true", help="only the GPU rows")
    args = parser.parse_args()
    try:
        import torch

        gpu = torch.cuda.is_available()
    except ImportError:
        gpu = False

    rows = {}
    print(f"{'network':12} {'dtype':8} {'batch':>5} {'method':15} {'example-it/s':>13} {'ms/step':>9}", flush=True)
    for kind in ("layered", "small-world"):
        for dtype in args.dtypes:
            net = build(kind, dtype)
            net_gpu = net.to("cuda") if gpu else None
            for batch in args.batches:
                x = np.random.default_rng(1).uniform(size=(batch, net.n_inputs)).astype(dtype)
                methods = {}
                if not args.no_cpu:
                    methods["naive"] = naive(net, x)
                    methods["neurosim"] = neurosim(net, x)
                if gpu:
                    x_gpu = torch.from_numpy(x).cuda()
                    methods["torch-plain"] = torch_plain(net_gpu, x_gpu)
                    methods["neurosim-cuda"] = neurosim(net_gpu, x_gpu)
                    methods["neurosim-graph"] = neurosim(net_gpu, x_gpu, CudaGraphed)
                for method, run in methods.items():
                    seconds = timed(run, args.steps_budget)
                    rows[kind, dtype, batch, method] = batch / seconds
                    print(f"{kind:12} {dtype:8} {batch:5d} {method:15} {batch / seconds:13.0f} {1e3 * seconds:9.3f}",
                          flush=True)

    print("\nratios")
    for (kind, dtype, batch, method), rate in rows.items():
        if method == "neurosim" and (kind, dtype, batch, "naive") in rows:
            print(f"{kind:12} {dtype:8} {batch:5d} neurosim / naive            {rate / rows[kind, dtype, batch, 'naive']:6.2f}")
        if method == "neurosim-graph" and (kind, dtype, batch, "torch-plain") in rows:
            plain = rows[kind, dtype, batch, "torch-plain"]
            print(f"{kind:12} {dtype:8} {batch:5d} neurosim-graph / torch-plain {rate / plain:6.2f}")
    for (kind, dtype, batch, method), rate in rows.items():
        if kind == "small-world" and ("layered", dtype, batch, method) in rows:
            print(f"small-world / layered time per step, {dtype:8} {batch:5d} {method:15} "
                  f"{rows['layered', dtype, batch, method] / rate:6.2f}")


if __name__ == "__main__":
    main()
