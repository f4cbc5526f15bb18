"""What ngspice costs on a neurosim netlist, against its size: the measurements behind
:mod:`neurosim.spicecost`'s model (``neurosim export`` prints its estimate before writing).

    python benchmarks/spice_cost.py [--limit 300] [-o docs/results/spice-cost.csv]
    python benchmarks/spice_cost.py --fit      # the model's constants (neurosim.spicecost.MODEL) from the table
    python benchmarks/spice_cost.py --networks layered:784-400-400-10 --routes tran --limit 600 -o more.csv

For growing networks (layered and small-world without intralayer connections, Glorot initialisation, one example
of uniform random inputs, the ideal crossbar, today's netlist settings): the free phase's transient of 250 tau
from 0 V (the export's default length) and the operating point started at the ODE engine's equilibrium
(``.nodeset``, the export's ``--analysis op``). Each row: devices, free nodes, netlist bytes, wall seconds of
``ngspice -b``, and for the operating point how far it landed from the ODE's equilibrium (mV). Networks past the
``--limit`` (seconds, per run) are cut off there and recorded as such."""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

import numpy as np

from neurosim import topology
from neurosim.engines import ODE, EngineError, Phase
from neurosim.engines.spice import run_netlist
from neurosim.netlist import Analysis, write_netlist
from neurosim.network import from_graph
from neurosim.spicecost import netlist_size

NETWORKS = [
    ("layered", (64, 32, 10)), ("layered", (100, 50, 50, 10)), ("layered", (784, 50, 10)),
    ("layered", (784, 100, 10)), ("small-world", (784, 100, 100, 10)), ("layered", (784, 100, 100, 10)),
    ("layered", (784, 200, 10)), ("small-world", (784, 100, 100, 100, 10)), ("layered", (784, 200, 200, 10)),
    ("small-world", (784, 200, 200, 10)), ("layered", (784, 300, 300, 10)), ("layered", (784, 200, 200, 200, 10)),
]


def graph_of(kind, sizes):
    if kind == "layered":
        return topology.layered(sizes)
    return topology.small_world(sizes, p=0.08, intralayer=False, seed=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=float, default=300.0, help="seconds per ngspice run")
    parser.add_argument("-o", "--out", default="docs/results/spice-cost.csv")
    parser.add_argument("--fit", action="store_true", help="only fit the model to the table --out")
    parser.add_argument("--networks", help="KIND:SIZES,... (e.g. layered:784-400-400-10) [the table's twelve]")
    parser.add_argument("--routes", default="tran,op,check", help="of tran, op, check [all three]")
    args = parser.parse_args()
    chosen = [] if not args.networks else [w.split(":") for w in args.networks.split(",")]
    networks = [(kind, tuple(int(n) for n in sizes.split("-"))) for kind, sizes in chosen] or NETWORKS
    routes = args.routes.split(",")
    if args.fit:
        print(fit(args.out))
        return
    rows = []
    columns = ["topology", "sizes", "devices", "free_nodes", "netlist_bytes", "analysis", "wall_seconds", "finished",
               "off_mv"]
    print(" | ".join(columns))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for kind, sizes in networks:
            net = from_graph(graph_of(kind, sizes), seed=0, dtype=np.float64)
            x = np.random.default_rng(0).uniform(size=(1, sizes[0]))
            reference = ODE(rtol=1e-8, atol=1e-10, settle_tol=1e-7, t_max=20000.0).relax(
                net, x, np.zeros((1, net.n_free)), Phase())
            size = netlist_size(net)
            for analysis, solver, t_stop in (("tran", "tran", 250.0), ("op", "op", 250.0), ("check", "tran", 5.0)):
                if analysis not in routes:
                    continue
                start = None if analysis == "tran" else reference.state[0]
                write_netlist(folder / "n.cir", net, x[0], start=start, data_file="n.data",
                              analysis=Analysis(kind=solver, t_stop=t_stop))
                started = time.perf_counter()
                try:
                    wave = run_netlist(folder / "n.cir", net.sizes, t_stop * 1e-6, timeout=args.limit)
                    finished, off = True, 1e3 * float(np.abs(np.clip(wave.v[-1], 0, 1) - reference.state[0]).max())
                except EngineError:
                    finished, off = False, float("nan")
                row = dict(topology=kind, sizes="-".join(map(str, sizes)), devices=size.devices,
                           free_nodes=size.free_nodes, netlist_bytes=(folder / "n.cir").stat().st_size,
                           analysis=analysis, wall_seconds=round(time.perf_counter() - started, 2),
                           finished=finished, off_mv=round(off, 4))
                rows.append(row)
                print(" | ".join(str(row[c]) for c in columns), flush=True)
                Path(args.out).parent.mkdir(parents=True, exist_ok=True)
                with open(args.out, "w", newline="") as f:  # after every run: a long benchmark keeps what it has
                    writer = csv.DictWriter(f, fieldnames=columns)
                    writer.writeheader()
                    writer.writerows(rows)
    print(f"wrote {args.out}")


def fit(path: str) -> dict:
    """(a, b) of seconds = a devices + b free_nodes^3 per route, by non-negative least squares on the relative
    error of the finished runs of at least 0.5 s (below that, ngspice's start dominates)."""
    from scipy.optimize import nnls

    rows = [r for r in csv.DictReader(open(path)) if r["finished"] == "True" and float(r["wall_seconds"]) >= 0.5]
    model = {}
    for route in ("tran", "check", "op"):
        chosen = [r for r in rows if r["analysis"] == route]
        seconds = np.array([float(r["wall_seconds"]) for r in chosen])
        features = np.array([[float(r["devices"]), float(r["free_nodes"]) ** 3] for r in chosen])
        coefficients, _ = nnls(features / seconds[:, None], np.ones(len(chosen)))
        ratio = features @ coefficients / seconds
        model[route] = tuple(float(f"{c:.3g}") for c in coefficients)
        print(f"{route}: a={model[route][0]:.3g} s/device, b={model[route][1]:.3g} s/node^3; estimate / measured "
              f"{ratio.min():.2f} .. {ratio.max():.2f} over {len(chosen)} runs")
    return model


if __name__ == "__main__":
    main()
