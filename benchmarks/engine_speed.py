"""Speed of the Euler free phase, side by side with a naive baseline, in one run.

    python benchmarks/engine_speed.py [--batches 20 100] [--dtypes float32 float64] [--threads 1 2]
                                      [--n-free 500] [--steps-budget 1.0] [--rounds 5]

Networks: the paper's 784-500-500-500-10, layered and small-world (p = 8 %). For each network, dtype and batch
size it prints example-iterations per second of

- naive: the baseline written here, a dense masked float64 (N x N) weight matrix over all neurons, one numpy
  product per step: u <- [x, clip(s - eps (s - (u W + b)_free), 0, 1)];
- neurosim: ``Euler.relax`` on the CPU (numpy, the network's default coupling layout), timed in whole free
  phases of --n-free steps with each phase's setup, as training runs it (a phase of the paper's 500 steps at
  batch 1000 takes ~40 s on 2 cores: give a smaller --n-free for large batches);

and, when PyTorch sees a CUDA GPU,

- torch-plain: a plain eager PyTorch loop at the same dtype, eq 9 written out (rho, rho', gradient, step), over
  the dense masked free-free matrix: the "plain eager loop" of issue 10;
- neurosim-cuda: ``Euler.relax`` on the GPU, eager;
- neurosim-graph: the same replayed from a CUDA graph (``CudaGraphed``).

The methods of one dtype, batch size and thread count are measured in interleaved rounds (both networks, all
methods, then again), and each ratio is the median over rounds of the ratio within a round: this machine's
timings drift by tens of per cent from one minute to the next, and a ratio of two measurements taken minutes apart
carries that drift. Ratios: neurosim / naive, small-world / layered (time), and on the GPU graph / torch-plain.
It also prints the multiply-adds per iteration of each network, the floor of the small-world / layered ratio.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from array_api_compat import device as device_of

from threadpoolctl import threadpool_limits

from neurosim import coupling, network, topology
from neurosim.backend import array_namespace
from neurosim.engines import Euler, Phase
from neurosim.engines.graphed import CudaGraphed

SIZES = (784, 500, 500, 500, 10)
EPS = 0.5


def build(kind: str, dtype: str) -> network.Network:
    graph = topology.layered(SIZES) if kind == "layered" else topology.small_world(SIZES, p=0.08, seed=0)
    return network.from_graph(graph, seed=0, dtype=np.dtype(dtype))


def calibrate(run, seconds: float) -> int:
    """Steps of ``run(steps)`` that take about ``seconds`` (at least 4, at most 20,000)."""
    start = time.perf_counter()
    made = run(2)
    per_step = (time.perf_counter() - start) / made
    return int(np.clip(seconds / max(per_step, 1e-7), 4, 20_000))


def measure(runners: dict, budget: float, rounds: int) -> dict:
    """Seconds per step of each runner in each of ``rounds`` rounds, shape (rounds,) per runner. A runner is
    ``run(steps) -> steps made``.

    Within a round the runners are measured one after another, so that a ratio of two runners taken within one
    round compares them under the same load of this shared machine (its timings vary by up to ~40 % from one
    minute to the next); ``budget`` is the seconds of one runner over all rounds."""
    steps = {key: calibrate(run, budget / rounds) for key, run in runners.items()}
    times = {key: [] for key in runners}
    for _ in range(rounds):
        for key, run in runners.items():
            start = time.perf_counter()
            made = run(steps[key])
            times[key].append((time.perf_counter() - start) / made)
    return {key: np.array(value) for key, value in times.items()}


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
        return steps

    return run


def neurosim(net, x, phase_steps: int, engine_wrapper=None):
    """``Euler.relax`` in whole free phases of ``phase_steps`` steps, as training runs it: each phase builds its
    coupling (the dense matrix, the input drive) before it steps, and that setup is timed with it. With
    ``engine_wrapper`` (CudaGraphed) the timed calls replay a graph recorded in an untimed first call."""
    xp = array_namespace(net.bias)
    s0 = xp.zeros((x.shape[0], net.n_free), dtype=net.dtype, device=device_of(net.bias))
    engine = Euler(eps=EPS, n_free=phase_steps)
    engine = engine if engine_wrapper is None else engine_wrapper(engine)
    engine.relax(net, x, s0, Phase())  # records the graph, if any

    def run(steps):
        phases = max(1, round(steps / phase_steps))
        for _ in range(phases):
            state = engine.relax(net, x, s0, Phase()).state
        _sync(state)
        return phases * phase_steps

    return run


def _sync(array):
    if hasattr(array, "is_cuda") and array.is_cuda:
        import torch

        torch.cuda.synchronize()


def torch_plain(net, x):
    import torch

    from neurosim.coupling import Coupling

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
        return steps

    return run


def runners(net, net_gpu, x, cpu: bool, phase_steps: int) -> dict:
    """The methods measured for one network and input batch, by name."""
    methods = {}
    if cpu:
        methods["naive"] = naive(net, x)
        methods["neurosim"] = neurosim(net, x, phase_steps)
    if net_gpu is not None:
        import torch

        x_gpu = torch.from_numpy(x).cuda()
        methods["torch-plain"] = torch_plain(net_gpu, x_gpu)
        methods["neurosim-cuda"] = neurosim(net_gpu, x_gpu, phase_steps)
        methods["neurosim-graph"] = neurosim(net_gpu, x_gpu, phase_steps, CudaGraphed)
    return methods


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> str:
    """Median over rounds of the per-round ratio, with its range."""
    per_round = numerator / denominator
    return f"{np.median(per_round):6.2f}  [{per_round.min():.2f}-{per_round.max():.2f}]"


def multiply_adds(net: network.Network) -> dict[str, float]:
    """Multiply-adds per example and iteration of the free-free product ``W_ss r``: over the non-zero couplings,
    and as the ``blocks`` and the ``dense`` layout compute it."""
    w_ss = network.Coupling(net, np.zeros((1, net.n_inputs), net.dtype), "dense").w_ss
    return {"nonzero": np.count_nonzero(w_ss), "blocks": coupling.free_fill(net) * net.n_free**2,
            "dense": net.n_free**2}


def print_multiply_adds(nets: dict) -> None:
    """The floor of the small-world / layered time ratio when both run at the same arithmetic rate."""
    print("\nmultiply-adds per example-iteration of the free-free product (millions)")
    counts = {kind: multiply_adds(net) for kind, net in nets.items()}
    defaults = {kind: coupling.default_layout(net) for kind, net in nets.items()}
    for kind, count in counts.items():
        print(f"{kind:12} " + "  ".join(f"{name} {value / 1e6:.2f}" for name, value in count.items())
              + f"  (default layout: {defaults[kind]})")
    sw, lay = counts["small-world"], counts["layered"]
    print(f"small-world / layered: nonzero {sw['nonzero'] / lay['nonzero']:.2f}, "
          f"both in blocks {sw['blocks'] / lay['blocks']:.2f}, "
          f"default layouts {sw[defaults['small-world']] / lay[defaults['layered']]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", nargs="+", type=int, default=[20, 100])
    parser.add_argument("--n-free", type=int, default=500,
                        help="steps of one neurosim free phase, the unit it is timed in (the paper: 500)")
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--threads", nargs="+", type=int, default=[0],
                        help="BLAS threads for the CPU rows (0: as the environment sets them)")
    parser.add_argument("--steps-budget", type=float, default=1.0, help="seconds per method and configuration")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved measurements per method")
    parser.add_argument("--no-cpu", action="store_true", help="only the GPU rows")
    args = parser.parse_args()
    try:
        import torch

        gpu = torch.cuda.is_available()
    except ImportError:
        gpu = False

    kinds = ("layered", "small-world")
    print_multiply_adds({kind: build(kind, "float32") for kind in kinds})
    print(f"\n{'network':12} {'dtype':8} {'batch':>5} {'thr':>3} {'method':15} {'example-it/s':>13} {'ms/step':>9}"
          "   (medians over rounds)", flush=True)
    ratios = []
    for dtype in args.dtypes:
        nets = {kind: build(kind, dtype) for kind in kinds}
        nets_gpu = {kind: net.to("cuda") if gpu else None for kind, net in nets.items()}
        for threads in args.threads:
            with threadpool_limits(limits=threads or None, user_api="blas"):
                for batch in args.batches:
                    x = np.random.default_rng(1).uniform(size=(batch, SIZES[0])).astype(dtype)
                    methods = {
                        (kind, method): run
                        for kind in kinds
                        for method, run in runners(nets[kind], nets_gpu[kind], x, not args.no_cpu, args.n_free).items()
                    }
                    times = measure(methods, args.steps_budget, args.rounds)
                    for (kind, method), seconds in times.items():
                        median = np.median(seconds)
                        print(f"{kind:12} {dtype:8} {batch:5d} {threads or '':>3} {method:15} {batch / median:13.0f} "
                              f"{1e3 * median:9.3f}", flush=True)
                    config = f"{dtype:8} {batch:5d} {threads or '':>3}"
                    for kind in kinds:
                        for fast, slow in (("neurosim", "naive"), ("neurosim-graph", "torch-plain")):
                            if (kind, fast) in times and (kind, slow) in times:
                                ratios.append(f"{kind:12} {config} {fast} / {slow:28} "
                                              f"{ratio(times[kind, slow], times[kind, fast])}")
                    for method in {method for _, method in times}:
                        ratios.append(f"{'':12} {config} small-world / layered time, {method:15} "
                                      f"{ratio(times['small-world', method], times['layered', method])}")
    print("\nratios: median over rounds [range]; A / B is A's speed over B's, or the time ratio where it says so")
    print("\n".join(ratios))


if __name__ == "__main__":
    main()
