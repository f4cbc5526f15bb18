"""No netlist neurosim writes can make ngspice run a command or write a file it did not mean to: file names in
it come from a fixed safe alphabet, and a netlist changed afterwards is refused before ngspice sees it."""

import re
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from neurosim import network, topology
from neurosim.cli import main
from neurosim.config import make_config
from neurosim.engines import EngineError
from neurosim.engines.spice import run_netlist
from neurosim.netlist import SAFE_NAME, check_control, netlist_text, write_netlist
from neurosim.training import train

#: What the attacker of issue 38 and its relatives type as the netlist's name.
ATTACKS = ["x`id>pwned`.cir", "x$(touch pwned).cir", "x>pwned.cir", "x<pwned.cir", "x;shell touch pwned.cir",
           "x|touch pwned.cir", "x&.cir", "x!!.cir", "x\nshell touch pwned\n.cir", "x $HOME.cir", "x'y'.cir"]


def tiny_net():
    return network.from_graph(topology.small_world([3, 4, 2], n=2, seed=0), seed=0, dtype=np.float64)


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "run.h5"
    train(make_config(sizes=(64, 6, 10), n_train=20, n_test=10, n_free=5, epochs=1), out=out, progress=False)
    return out


@pytest.mark.parametrize("name", ATTACKS)
def test_export_refuses_a_netlist_name_outside_the_safe_alphabet_in_one_line(tmp_path, run_file, name):
    folder = tmp_path / "out"
    folder.mkdir()
    result = CliRunner().invoke(main, ["export", str(run_file), "--example", "0", "-o", str(folder / name)])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output
    assert list(folder.iterdir()) == []  # no netlist, no data file, no 'pwned'


@settings(max_examples=200, deadline=None)
@given(data_file=st.text(max_size=16), library=st.text(max_size=16), title=st.text(max_size=40))
def test_any_text_in_names_and_title_gives_a_safe_netlist_or_a_value_error(data_file, library, title):
    try:
        text = netlist_text(tiny_net(), [0.1, 0.2, 0.3], data_file=data_file, library=library or None, title=title)
    except ValueError as err:
        assert "\n" not in str(err) and str(err)
        return
    check_control(text)  # the writer's own output passes the runner's check
    commands = [line for line in text.splitlines() if not line.startswith("*")]
    assert not [line for line in commands if re.search(r"[`$<>|&;!'\"]", line)]
    wrdata = next(line for line in commands if line.startswith("wrdata "))
    assert SAFE_NAME.fullmatch(wrdata.split()[1]) and wrdata.split()[1] == data_file
    if library:
        assert f".include {library}" in commands


@pytest.mark.parametrize("tamper, says", [
    (lambda t: t.replace("run\n", "run\nshell touch pwned\n"), "not a command neurosim writes"),
    (lambda t: t.replace("wrdata d.data", "wrdata `touch pwned`d.data"), "not a command neurosim writes"),
    (lambda t: t.replace("wrdata d.data", "wrdata d.data > pwned"), "not a command neurosim writes"),
    (lambda t: t.replace(".end\n", ".control\nshell touch pwned\n.endc\n.end\n"), "second .control"),
    (lambda t: t.replace(".control\n", ".param p=`touch pwned`\n.control\n"), "backquote"),
    (lambda t: "*ng_script\nshell touch pwned\n" + t, "ng_script"),
])
def test_a_netlist_changed_to_run_a_command_is_refused_before_ngspice_runs(tmp_path, ngspice, tamper, says):
    net = tiny_net()
    write_netlist(tmp_path / "n.cir", net, [0.1, 0.2, 0.3], data_file="d.data")
    bad = tmp_path / "bad.cir"
    bad.write_text(tamper((tmp_path / "n.cir").read_text()))
    with pytest.raises(EngineError, match=says):
        run_netlist(bad, net.sizes, 1e-3)
    assert not (tmp_path / "pwned").exists()


def test_the_refused_netlist_would_run_the_command(tmp_path, ngspice):
    """The hazard is real: ngspice itself runs a backquoted command of a .control block (what
    :func:`check_control` refuses above)."""
    write_netlist(tmp_path / "n.cir", tiny_net(), [0.1, 0.2, 0.3], data_file="d.data")
    text = (tmp_path / "n.cir").read_text().replace("wrdata d.data", "wrdata `touch pwned`d.data")
    (tmp_path / "bad.cir").write_text(text)
    subprocess.run([ngspice, "-b", "bad.cir"], cwd=tmp_path, capture_output=True, timeout=60)
    assert (tmp_path / "pwned").exists()
