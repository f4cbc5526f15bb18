"""How large a network ngspice brings to equilibrium in a given time, and how fast netlists are written.

    python benchmarks/spice_scale.py [--limit 60] [--t-stop 100]

For growing networks (Glorot initialisation, one example of uniform random inputs): the time to write the free
phase's netlist, its size, and the wall and ngspice analysis time of one transient of ``--t-stop`` time
constants. Stops after the first network whose run exceeds ``--limit`` seconds. Finally writes (without
simulating) the netlist of the paper's small-world 784-500-500-500-10 network and reports the time and size.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from neurosim import topology
from neurosim.engines.spice import run_netlist
from neurosim.netlist import write_netlist
from neurosim.network import from_graph

SIZES = [
    (64, 32, 10),
    (100, 50, 50, 10),
    (784, 50, 10),
    (784, 100, 10),
    (784, 100, 100, 10),
    (784, 200, 10),
    (784, 200, 200, 10),
    (784, 300, 300, 10),
    (784, 500, 500, 500, 10),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=float, default=60.0, help="seconds; stop after the first run beyond it")
    parser.add_argument("--t-stop", type=float, default=100.0, help="transient length, time constants")
    args = parser.parse_args()
    print("| network | connections | synapse devices | write s | netlist MB | ngspice wall s | analysis s | time points |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for sizes in SIZES:
            net = from_graph(topology.layered(sizes), seed=0, dtype=np.float64)
            x = np.random.default_rng(0).uniform(size=sizes[0])
            started = time.perf_counter()
            write_netlist(folder / "n.cir", net, x, t_stop=args.t_stop, data_file="n.data")
            written = time.perf_counter() - started
            edges = net.n_connections()
            devices = 2 * (2 * edges - sizes[0] * sizes[1])
            started = time.perf_counter()
            wave = run_netlist(folder / "n.cir", net.sizes, args.t_stop * 1e-6, timeout=20 * args.limit)
            wall = time.perf_counter() - started
            mb = (folder / "n.cir").stat().st_size / 1e6
            print(f"| {'-'.join(map(str, sizes))} | {edges:,} | {devices:,} | {written:.2f} | {mb:.1f} | {wall:.1f} | "
                  f"{wave.seconds:.1f} | {wave.points:,} |", flush=True)
            if wall > args.limit:
                break
        graph = topology.small_world((784, 500, 500, 500, 10), p=0.08, seed=1)
        net = from_graph(graph, seed=0, dtype=np.float64)
        started = time.perf_counter()
        write_netlist(folder / "paper.cir", net, np.random.default_rng(0).uniform(size=784), data_file="p.data")
        print(f"\npaper's small-world 784-500-500-500-10 ({net.n_connections():,} connections): netlist written in "
              f"{time.perf_counter() - started:.1f} s, {(folder / 'paper.cir').stat().st_size / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
