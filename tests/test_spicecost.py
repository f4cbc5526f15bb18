"""The netlist's size said before export, ngspice's cost model against its own measurements, and the
operating-point route: started at neurosim's equilibrium, checked against it."""

import csv
import re
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import REPO

from neurosim import network, topology
from neurosim.cli import main
from neurosim.netlist import netlist_text
from neurosim.spicecost import MODEL, estimate_seconds, netlist_size, NetlistSize
from neurosim.waveform import read_data

MEASURED = REPO / "docs" / "results" / "spice-cost.csv"


@pytest.mark.parametrize("sizes, kind", [((16, 8, 6, 4), "small-world"), ((20, 7, 5), "layered")])
def test_the_size_counts_the_lines_the_netlist_writes(sizes, kind):
    graph = topology.layered(sizes) if kind == "layered" else topology.small_world(sizes, n=6, seed=2)
    net = network.from_graph(graph, seed=0, dtype=np.float64)
    net.blocks[0].weight[0, :2] = 0.0  # a zero weight has no device
    text = netlist_text(net, np.full(sizes[0], 0.5))
    size = netlist_size(net)
    assert size.devices == len(re.findall(r"^G[pm]_", text, re.M))
    assert size.free_nodes == len(re.findall(r"^Xn_", text, re.M)) and size.nodes == sum(sizes)
    assert 0.5 < size.bytes / len(text) < 2.0


def test_the_cost_model_is_within_a_factor_of_3_of_every_measurement_it_was_fitted_to():
    rows = [r for r in csv.DictReader(MEASURED.open()) if r["finished"] == "True"]
    assert len(rows) >= 30 and {r["analysis"] for r in rows} == {"tran", "op", "check"}
    for r in rows:
        size = NetlistSize(int(r["devices"]), 0, int(r["free_nodes"]))
        route = {"tran": ("tran", 250.0, "rest"), "op": ("op", 250.0, "equilibrium"),
                 "check": ("tran", 5.0, "equilibrium")}[r["analysis"]]
        ratio = estimate_seconds(size, *route) / float(r["wall_seconds"])
        if float(r["wall_seconds"]) >= 1.0:  # below a second, ngspice's start dominates
            assert 1 / 3 <= ratio <= 3, (r, ratio)
    assert all(a > 0 and b > 0 for a, b in MODEL.values())


def test_the_paper_network_from_rest_is_estimated_beyond_what_a_user_waits_for_and_its_check_within():
    graph = topology.small_world((784, 500, 500, 500, 10), n=89700, intralayer=False, seed=1)
    size = netlist_size(network.from_graph(graph, seed=0, dtype=np.float32))
    assert size.devices > 1_300_000 and size.free_nodes == 1510
    assert estimate_seconds(size, "tran") > 600 > estimate_seconds(size, "tran", 5.0, "equilibrium")


def test_export_says_the_size_before_writing_and_the_operating_point_matches_neurosim(tmp_path, ngspice):
    runner = CliRunner()
    run_file = tmp_path / "r.h5"
    trained = runner.invoke(main, ["train", "--sizes", "64-12-10", "--topology", "layered", "--n-train", "60",
                                   "--n-test", "20", "--epochs", "1", "--quiet", "-o", str(run_file)])
    assert trained.exit_code == 0, trained.output
    out = tmp_path / "op.cir"
    result = runner.invoke(main, ["export", str(run_file), "--example", "3", "-o", str(out), "--analysis", "op"])
    assert result.exit_code == 0, result.output
    note, wrote = result.output.splitlines()
    assert note.startswith("netlist: 1,008 devices, 86 nodes (22 free)") and "operating point" in note, note
    assert wrote.startswith(f"wrote {out}") and "one row" in wrote
    assert ".op" in out.read_text() and ".nodeset" in out.read_text()
    done = subprocess.run([ngspice, "-b", out.name], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(read_data(tmp_path / "op.data").t) == 1
    compared = runner.invoke(main, ["waveform", str(tmp_path / "op.data"), "--run", str(run_file), "--example", "3"])
    assert compared.exit_code == 0, compared.output
    mv = float(re.search(r"max \|dV\| = ([0-9.]+) mV", compared.output).group(1))
    assert mv < 1.0, compared.output
    check = tmp_path / "check.cir"  # the other route: a short transient from neurosim's equilibrium
    result = runner.invoke(main, ["export", str(run_file), "--example", "3", "-o", str(check), "--start",
                                  "equilibrium", "--t-stop", "5", "--phase", "nudged"])
    assert result.exit_code == 0 and "transient of 5 tau from neurosim's equilibrium" in result.output, result.output
    assert subprocess.run([ngspice, "-b", check.name], cwd=tmp_path, capture_output=True).returncode == 0
    compared = runner.invoke(main, ["waveform", str(tmp_path / "check.data"), "--run", str(run_file), "--example",
                                    "3", "--phase", "nudged"])
    assert compared.exit_code == 0 and len(read_data(tmp_path / "check.data").t) > 2, compared.output
    assert float(re.search(r"max \|dV\| = ([0-9.]+) mV", compared.output).group(1)) < 1.0, compared.output
