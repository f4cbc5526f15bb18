"""How large a network ngspice brings to equilibrium in a given time, with the equilibrium checked, and what each
ngspice setting buys.

    python benchmarks/spice_scale.py [--limit 60] [--t-stop 400] [--sizes 784-100-100-10 ...]

For growing networks (Glorot initialisation, one example of uniform random inputs, the ideal crossbar): an
independent equilibrium first, the ODE engine (RK45, rtol 1e-8) from 0 V until max |dV/dt| tau < 1e-7 V or
20,000 tau; then the same free phase in ngspice under four settings, side by side in one run:

- ``old``: the netlists before issue 19, trapezoidal integration, ngspice's own largest step (the output step,
  0.1 tau), every device of a pair written even at zero conductance;
- ``1-tau step``: the same with a largest time step of one tau;
- ``+ gear``: and gear integration;
- ``+ no zero devices`` (today's netlists): and only non-zero devices.

Each row: the wall time, ngspice's analysis time, and how far the last row is from the independent equilibrium
(max over nodes, mV) and whether it is within 1 mV. Stops after the first network whose new-setting run exceeds
``--limit`` seconds; the old setting is skipped once one of its runs took longer than that. Finally writes (without simulating) the netlist of the paper's small-world 784-500-500-500-10
network and reports the time and size.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from neurosim import topology
from neurosim.engines import ODE, Phase
from neurosim.engines.spice import run_netlist
from neurosim.netlist import Analysis, write_netlist
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
]

#: name -> (method, largest step in tau, with zero devices)
SETTINGS = {
    "old": ("trap", 0.1, True),
    "1-tau step": ("trap", 1.0, True),
    "+ gear": ("gear", 1.0, True),
    "+ no zero devices": ("gear", 1.0, False),
}

def variant(text: str, method: str, zero_devices: bool) -> str:
    """Today's netlist rewritten to an older setting: trapezoidal integration, and each device pair's missing
    zero-conductance side added back (its own G element of value 0)."""
    if method != "gear":
        text = text.replace(".options method=gear\n", "")
    if zero_devices:
        present, pairs = set(), []
        for line in text.splitlines():
            if line.startswith(("Gp_", "Gm_")):
                name, a, b, inp = line.split()[:4]
                present.add(name)
                out = b if name.startswith("Gp_") else a  # Gp_: 0 out in 0; Gm_: out 0 in 0
                pairs.append((name[3:], out, inp))
        extra = [f"Gm_{k} {out} 0 {inp} 0 0\n" if f"Gm_{k}" not in present else f"Gp_{k} 0 {out} {inp} 0 0\n"
                 for k, out, inp in pairs if f"Gm_{k}" not in present or f"Gp_{k}" not in present]
        text = text.replace("* initial node voltages", "".join(extra) + "* initial node voltages")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=float, default=60.0, help="seconds; stop after the first run beyond it")
    parser.add_argument("--t-stop", type=float, default=400.0, help="transient length, time constants")
    parser.add_argument("--sizes", nargs="+", help="networks to run, e.g. 784-100-100-10 [the list in SIZES]")
    args = parser.parse_args()
    sizes_list = [tuple(int(n) for n in s.split("-")) for s in args.sizes] if args.sizes else SIZES
    print(f"free phase of {args.t_stop:g} tau from 0 V, ideal crossbar; 'off' = max |V - independent equilibrium|\n")
    print("| network | devices (today) | setting | wall s | analysis s | time points | off, mV | within 1 mV | speed-up |")
    print("|---|---|---|---|---|---|---|---|---|")
    old_too_slow, last_old = False, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for sizes in sizes_list:
            net = from_graph(topology.layered(sizes), seed=0, dtype=np.float64)
            x = np.random.default_rng(0).uniform(size=(1, sizes[0]))
            reference = ODE(rtol=1e-8, atol=1e-10, settle_tol=1e-7, t_max=20000.0).relax(
                net, x, np.zeros((1, net.n_free)), Phase())
            walls = {}
            for name, (method, max_step, zeros) in SETTINGS.items():
                if name == "old" and old_too_slow:
                    print(f"| {'-'.join(map(str, sizes))} | | old | skipped: the last took {last_old:.0f} s | | | | | |")
                    continue
                write_netlist(folder / "n.cir", net, x[0], analysis=Analysis(t_stop=args.t_stop, max_step=max_step),
                              data_file="n.data")
                text = variant((folder / "n.cir").read_text(), method, zeros)
                (folder / "n.cir").write_text(text)
                devices = len(re.findall(r"^G[pm]_", text, re.M))
                started = time.perf_counter()
                wave = run_netlist(folder / "n.cir", net.sizes, args.t_stop * 1e-6, timeout=30 * args.limit)
                walls[name] = time.perf_counter() - started
                off = 1e3 * np.abs(np.clip(wave.v[-1], 0, 1) - reference.state[0]).max()
                speedup = f"{walls['old'] / walls[name]:.1f}x" if "old" in walls else "-"
                print(f"| {'-'.join(map(str, sizes))} | {devices:,} | {name} | {walls[name]:.1f} | {wave.seconds:.1f} | "
                      f"{wave.points:,} | {off:.3f} | {'yes' if off < 1 else 'no'} | {speedup} |", flush=True)
            if "old" in walls:
                last_old = walls["old"]
                old_too_slow = last_old > args.limit
            print(f"| | | (reference: ODE settled {reference.settled}, residual {reference.residual[0]:.1e} V at "
                  f"{reference.settling_time / 1e-6:.0f} tau) | | | | | | |", flush=True)
            if walls["+ no zero devices"] > args.limit:
                break
        graph = topology.small_world((784, 500, 500, 500, 10), p=0.08, seed=1)
        net = from_graph(graph, seed=0, dtype=np.float64)
        started = time.perf_counter()
        write_netlist(folder / "paper.cir", net, np.random.default_rng(0).uniform(size=784), data_file="p.data")
        print(f"\npaper's small-world 784-500-500-500-10 ({net.n_connections():,} connections): netlist written in "
              f"{time.perf_counter() - started:.1f} s, {(folder / 'paper.cir').stat().st_size / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
