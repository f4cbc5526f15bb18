"""The ODE engine against Euler on one batch of the paper's 784-500-500-500-10 network, at the same final residual.

    python benchmarks/ode_vs_euler.py --data-dir ../shared/data/mnist [--topology small-world] [--batch 20]

One free phase from s = 0 at initialisation (Glorot; U[+-0.05] for intralayer and skip weights), inputs the first
MNIST test images (uniform random pixels without --data-dir). The ODE engine runs first and settles at
max|ds/dt| tau < settle_tol; each Euler run then stops at the same residual (its max|ds| per step is eps times
max|ds/dt| tau, so its tol is eps times the ODE's final residual, checked every step). Printed side by side:
wall time, right-hand-side evaluations or steps, circuit time in time constants (Euler: steps x eps), the final
residual max|ds/dt| tau measured the same way for all, and how far each final state lies from the ODE's.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from neurosim import topology
from neurosim.data import load_dataset
from neurosim.energy import drift
from neurosim.engines import ODE, Euler, Phase
from neurosim.coupling import Coupling
from neurosim.network import from_graph


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", help="MNIST directory (random inputs without it)")
    parser.add_argument("--topology", choices=["layered", "small-world"], default="layered")
    parser.add_argument("--sizes", default="784-500-500-500-10")
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--method", default="RK45")
    parser.add_argument("--rtol", type=float, default=1e-3)
    parser.add_argument("--atol", type=float, default=1e-6)
    parser.add_argument("--settle-tol", type=float, default=1e-3)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    sizes = tuple(int(s) for s in args.sizes.split("-"))
    graph = topology.layered(sizes) if args.topology == "layered" else topology.small_world(sizes, p=0.08, seed=1)
    net = from_graph(graph, seed=args.seed, dtype=np.dtype(args.dtype))
    if args.data_dir:
        x = load_dataset("mnist", args.data_dir, n_train=1, n_test=args.batch).x_test.astype(args.dtype)
    else:
        x = np.random.default_rng(args.seed).uniform(size=(args.batch, sizes[0])).astype(args.dtype)
    s0 = np.zeros((args.batch, net.n_free), dtype=net.dtype)
    coupling = Coupling(net, x)

    def residual(state):
        return float(np.abs(drift(net, coupling, state)).max())

    ode = ODE(method=args.method, rtol=args.rtol, atol=args.atol, settle_tol=args.settle_tol)
    started = time.perf_counter()
    relaxed = ode.relax(net, x, s0, Phase())
    ode_seconds = time.perf_counter() - started
    target = residual(relaxed.state)
    print(f"{args.topology} {args.sizes}, batch {args.batch}, {args.dtype}, free phase from s = 0; "
          f"ODE {args.method} rtol {args.rtol:g} atol {args.atol:g} V, settle_tol {args.settle_tol:g} V\n")
    print("| engine | wall s | evaluations / steps | circuit time (tau) | residual max abs(ds/dt) tau | "
          "max abs(s - s_ode) | states > 0.1 from ODE | wall / ODE wall |")
    print("|---|---|---|---|---|---|---|---|")
    tau = relaxed.info["tau"]
    print(f"| ode | {ode_seconds:.2f} | {relaxed.steps:,} | {relaxed.settling_time / tau:.1f} | "
          f"{target:.2e} | 0 | 0 | 1.00 |", flush=True)
    for eps in (0.5, 0.1):
        euler = Euler(eps=eps, n_free=200_000, tol=eps * target, check_every=1)
        started = time.perf_counter()
        result = euler.relax(net, x, s0, Phase())
        seconds = time.perf_counter() - started
        gap = np.abs(result.state - relaxed.state)
        print(f"| euler eps {eps} | {seconds:.2f} | {result.steps:,} | {result.steps * eps:.1f} | "
              f"{residual(result.state):.2e} | {gap.max():.3f} | {100 * np.mean(gap > 0.1):.2f} % | "
              f"{seconds / ode_seconds:.3f} |", flush=True)


if __name__ == "__main__":
    main()
