"""Netlists and the ngspice engine, against analytic solutions and the ODE engine."""

import re
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import skip_net

from neurosim import network, topology
from neurosim.circuit import Circuit, ConductanceRangeError
from neurosim.cli import main
from neurosim.config import make_config
from neurosim.data import load_dataset
from neurosim.engines import ODE, EngineError, Phase, Spice
from neurosim.engines.spice import NgspiceNotFound, run_netlist, settling_time
from neurosim.netlist import Analysis, netlist_text, node_names, write_netlist
from neurosim.store import load_run
from neurosim.build import controller_of, new_run
from neurosim.training import evaluate


def one_neuron(weight=0.4, bias=0.3):
    net = network.from_graph(topology.layered([1, 1]), seed=0, dtype=np.float64)
    net.blocks[0].weight[:] = weight
    net.bias[:] = bias
    return net


@pytest.mark.parametrize("circuit", [Circuit(), Circuit(r_leak=3.3e3, c_node=4.7e-6, g_max=1e-3)])
def test_neuron_transient_in_ngspice_is_an_rc_charge(tmp_path, ngspice, circuit):
    net, tau = one_neuron(), circuit.tau
    write_netlist(tmp_path / "n.cir", net, [1.0], circuit=circuit, data_file="n.data",
                  analysis=Analysis(t_stop=8, t_step=0.01, max_step=0.01))
    wave = run_netlist(tmp_path / "n.cir", net.sizes, 8 * tau)
    t, v = wave.t, wave.v[:, 0]
    keep = t > 0.05 * tau
    np.testing.assert_allclose(v[keep], 0.7 * (1 - np.exp(-t[keep] / tau)), rtol=5e-3)
    assert wave.seconds >= 0 and wave.points > 100


def net_16_12_12_4():
    """16-12-12-4 with intralayer and layer-skipping connections, weights scaled so that the equilibrium is unique."""
    graph = topology.small_world([16, 12, 12, 4], n=30, seed=5)
    net = network.from_graph(graph, seed=5, intra_init=0.3, dtype=np.float64)
    for p in net.parameters()[:-1]:
        p *= 0.5
    net.bias[:] = np.random.default_rng(5).uniform(0.0, 0.4, size=net.bias.shape)
    assert len(net.sparse) > 0 and any(b.lo == b.hi for b in net.blocks)
    return net


@pytest.mark.parametrize("nudged", [False, "weak", "clamped"])
def test_ngspice_equilibrium_matches_the_ode_within_1_mv(ngspice, nudged):
    net = net_16_12_12_4()
    rng = np.random.default_rng(0)
    x, target = rng.uniform(size=(4, 16)), np.eye(4)[rng.integers(0, 4, size=4)]
    phase = Phase(beta=1.0, target=target, nudge=nudged) if nudged else Phase()
    start = np.zeros((4, net.n_free))
    if nudged:  # the nudged phase starts at the free equilibrium, as in training
        start = ODE(rtol=1e-8, atol=1e-10, settle_tol=1e-8).relax(net, x, start, Phase()).state
    ode = ODE(rtol=1e-8, atol=1e-10, settle_tol=1e-8).relax(net, x, start, phase)
    spice = Spice(t_max=60).relax(net, x, start, phase)
    assert ode.settled and spice.settled
    assert np.abs(spice.state - ode.state).max() < 1e-3
    assert np.any(ode.state == 0) or np.any(ode.state == 1)  # some node is held by its clamp
    ode_settling = ODE(rtol=1e-6, settle_tol=1e-3).relax(net, x, start, phase).settling_time
    assert spice.settling_time == pytest.approx(ode_settling, rel=0.1)
    assert spice.simulator_seconds > 0 and spice.steps > 0


def test_exported_netlist_runs_unchanged_and_equals_the_engine(tmp_path, ngspice):
    runner = CliRunner()
    run_file = tmp_path / "r.h5"
    trained = runner.invoke(main, ["train", "--sizes", "64-12-10", "--topology", "layered", "--n-train", "60",
                                   "--n-test", "20", "--epochs", "1", "--quiet", "--t-max", "40", "-o", str(run_file)])
    assert trained.exit_code == 0, trained.output
    for phase in ("free", "nudged"):
        out = tmp_path / f"{phase}.cir"
        result = runner.invoke(main, ["export", str(run_file), "--example", "3", "--phase", phase, "-o", str(out)])
        assert result.exit_code == 0, result.output
        done = subprocess.run([ngspice, "-b", out.name], cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        rows = np.loadtxt(tmp_path / f"{phase}.data", skiprows=1)
        run = load_run(run_file)
        net = run.network.astype(np.float64)
        data = load_dataset("digits", n_train=60, n_test=20)
        x = data.x_test[3:4].astype(np.float64)
        start, relax_phase = np.zeros((1, net.n_free)), Phase()
        if phase == "nudged":
            start = ODE(settle_tol=1e-5, t_max=40).relax(net, x, start, Phase()).state
            # the default reference nudge at eps = .5, beta = 1 is the clamped circuit
            relax_phase = Phase(beta=1.0, target=np.eye(10)[data.y_test[3:4]], nudge="clamped")
        engine = Spice(t_max=40).relax(net, x, start, relax_phase)
        np.testing.assert_allclose(np.clip(rows[-1, 1:], 0, 1), engine.state[0], atol=1e-9)
        assert "Xhold_" in out.read_text() if phase == "nudged" else "Xhold_" not in out.read_text()
    spaced = runner.invoke(main, ["export", str(run_file), "--example", "3", "-o", str(tmp_path / "a b.cir")])
    assert spaced.exit_code != 0 and "file names use letters" in spaced.output and not (tmp_path / "a b.cir").exists()
    missing = runner.invoke(main, ["export", str(run_file), "--example", "20", "-o", str(tmp_path / "x.cir")])
    assert missing.exit_code != 0 and "example=20" in missing.output


def test_weight_beyond_the_conductance_range_is_reported_unless_clipped():
    net = one_neuron(weight=12.5)
    with pytest.raises(ConductanceRangeError, match=r"W=12\.5 \(between x_0 and y_0\).*g_max - g_min = 1e-05 S"):
        netlist_text(net, [1.0])
    text = netlist_text(net, [1.0], clip=True)
    assert "Gp_y_0_x_0 0 y_0 x_0 0 1.000000000e-05" in text and "Gm_" not in text  # the zero device left out
    narrow = Circuit(g_min=1e-7, g_max=2e-7)
    assert narrow.w_max == pytest.approx(0.1)
    g_plus, g_minus = narrow.differential_pair(np.array([-0.05, 0.0, 0.099]))
    np.testing.assert_allclose(narrow.r_leak * (g_plus - g_minus), [-0.05, 0.0, 0.099])
    assert np.all((g_plus >= 1e-7) & (g_plus <= 2e-7) & (g_minus >= 1e-7) & (g_minus <= 2e-7))


def test_clamped_netlist_holds_every_output_at_its_target_by_a_source():
    net = net_16_12_12_4()
    target = np.eye(4)[2]
    text = netlist_text(net, np.zeros(16), phase=Phase(1.0, target, "clamped"), start=np.zeros(net.n_free))
    holds = [line for line in text.splitlines() if line.startswith("Xhold_")]
    assert holds == [f"Xhold_y_{k} y_{k} hold target={target[k]:.9g}" for k in range(4)]
    assert "Xnudge_" not in text and "clamped (outputs held at the target)" in text
    with pytest.raises(ValueError, match="nudge='reference'"):
        netlist_text(net, np.zeros(16), phase=Phase(1.0, target, "reference"))


def test_netlist_names_nodes_by_layer_and_keeps_text_in_comments():
    assert list(node_names([2, 3, 1])) == ["x_0", "x_1", "h1_0", "h1_1", "h1_2", "y_0"]
    net = skip_net()
    text = netlist_text(net, np.zeros(6), title="evil\n.include /etc/passwd\r\nR1 a b 1")
    statements = [line for line in text.splitlines() if line and not line.startswith(("*", "+"))]
    assert not any("passwd" in line or line.startswith("R1") for line in statements)
    n_free_free = int(np.sum(net.edges_and_weights()[0][:, 0] >= 6))
    n_input = len(net.edges_and_weights()[0]) - n_free_free
    weights = net.edges_and_weights()[1]
    n_devices = n_input + 2 * n_free_free - int(np.sum(weights == 0) + np.sum(weights[n_input:] == 0))
    assert sum(line.startswith(("Gp_", "Gm_")) for line in statements) == n_devices  # one device per direction
    assert sum(line.startswith("Xn_") for line in statements) == net.n_free
    for bad in ("out.data\nquit", "two words.data", ""):
        with pytest.raises(ValueError, match="data_file="):
            netlist_text(net, np.zeros(6), data_file=bad)
    with pytest.raises(ValueError, match="library="):
        netlist_text(net, np.zeros(6), library="/tmp/x.lib\n.control")


def test_spice_training_lowers_the_error(tmp_path, ngspice):
    out = tmp_path / "spice.h5"
    args = ["--engine", "spice", "--topology", "layered", "--sizes", "64-16-10", "--n-train", "200", "--n-test",
            "60", "--batch-size", "10", "--lr", "0.5", "--t-max", "40", "--epochs", "1", "--quiet", "-o", str(out)]
    result = CliRunner().invoke(main, ["train", *args])
    assert result.exit_code == 0, result.output
    run = load_run(out)
    config = make_config(**{**run.config, "engine": "euler"})
    data = load_dataset("digits", n_train=200, n_test=60)
    untrained = new_run(config, data).network
    before = evaluate(controller_of(config, untrained), untrained, data.x_test.astype(np.float32), data.y_test).error
    assert run.history["test_error"][0] < before - 0.15  # Euler with this seed: 0.88 -> 0.58
    assert np.all(np.asarray(run.batches["free_settling_time"]) > 0)
    assert run.history["simulator_seconds"][0] > 0
    info = CliRunner().invoke(main, ["info", str(out)])
    assert "ngspice analysis time per epoch" in info.output


def test_missing_or_failing_ngspice_is_explained(tmp_path, ngspice):
    net = one_neuron()
    with pytest.raises(NgspiceNotFound, match="apt-get install ngspice"):
        Spice(executable="ngspice-not-installed").relax(net, np.ones((1, 1)), np.zeros((1, 1)), Phase())
    write_netlist(tmp_path / "bad.cir", net, [1.0], library=tmp_path / "missing.lib", data_file="bad.data")
    with pytest.raises(EngineError, match="ngspice failed") as err:
        run_netlist(tmp_path / "bad.cir", net.sizes, 100e-6)
    assert "missing.lib" in str(err.value) or "neuron" in str(err.value)
    assert not (tmp_path / "bad.data").exists()
    with pytest.raises(EngineError, match="did not finish within 0.001 s"):
        Spice(timeout=0.001).relax(net, np.ones((2, 1)), np.zeros((2, 1)), Phase())


def test_settling_time_of_a_waveform():
    t = np.linspace(0, 10, 11)
    v = np.exp(-t)[:, None] * np.array([[1.0, 0.5]])
    # the step [1, 2] changes by e^-1 - e^-2 = 0.23, the step [2, 3] by 0.086 < 0.1
    assert settling_time(t, v, tau=1.0, tol=0.1) == pytest.approx(2.0)
    assert settling_time(t, v, tau=1.0, tol=1e-9) == np.inf
    # an extra row a nanosecond before the end with microvolts of noise does not count as movement
    t_noisy = np.concatenate([t[:-1], [10 - 1e-9], [10]])
    v_noisy = np.concatenate([v[:-1], v[-1:] + 1e-6, v[-1:]])
    assert settling_time(t_noisy, v_noisy, tau=1.0, tol=1e-3, step=1.0) == pytest.approx(7.0)


def test_exported_hardware_netlist_holds_the_effective_network(tmp_path, ngspice):
    """A run under device models (quantised, varied, stuck, mismatched directions, read noise) exported and run in
    ngspice settles where the ODE engine settles on the effective network the export describes."""
    from neurosim.build import STREAM_NOISE, devices_of, stream

    runner = CliRunner()
    run_file, out = tmp_path / "hw.h5", tmp_path / "hw.cir"
    trained = runner.invoke(main, ["train", "--sizes", "64-10-8-10", "--topology", "small-world", "--n-train", "60",
                                   "--n-test", "20", "--epochs", "1", "--quiet", "--t-max", "60", "--hardware",
                                   "rram-4bit", "-o", str(run_file)])
    assert trained.exit_code == 0, trained.output
    assert runner.invoke(main, ["export", str(run_file), "--example", "2", "-o", str(out)]).exit_code == 0
    done = subprocess.run([ngspice, "-b", out.name], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    spice_state = np.clip(np.loadtxt(tmp_path / "hw.data", skiprows=1)[-1, 1:], 0, 1)
    run = load_run(run_file)
    config = make_config(**run.config)
    net = run.network.astype(np.float64)
    effective = devices_of(config, net).effective(net, stream(config.seed, STREAM_NOISE, config.epochs, 2))
    assert not effective.symmetric
    x = load_dataset("digits", n_train=60, n_test=20).x_test[2:3].astype(np.float64)
    ode = ODE(settle_tol=1e-6, t_max=60).relax(effective, x, np.zeros((1, net.n_free)), Phase())
    np.testing.assert_allclose(spice_state, ode.state[0], atol=1e-3)
    stored = ODE(settle_tol=1e-6, t_max=60).relax(net, x, np.zeros((1, net.n_free)), Phase())
    assert np.abs(stored.state - ode.state).max() > 1e-3  # the devices do change the circuit


def test_the_printed_ngspice_command_works_as_printed_from_where_the_user_stands(tmp_path, ngspice, monkeypatch):
    """Issue 42, item 2: exported into another folder, the command printed runs from the current directory and
    the data file lands where the message says."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["train", "--sizes", "64-6-10", "--n-train", "20", "--n-test", "10", "--epochs", "1",
                                "--n-free", "5", "--quiet", "-o", "r.h5"]).exit_code == 0
    result = runner.invoke(main, ["export", "r.h5", "--example", "0", "-o", "out/dir/x.cir", "--t-stop", "20"])
    assert result.exit_code == 0, result.output
    wrote = result.output.splitlines()[-1]
    command = wrote.split("`")[1]
    assert command == "cd out/dir && ngspice -b x.cir", wrote
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    data = wrote.rsplit(" to ", 1)[1]
    assert data == "out/dir/x.data" and (tmp_path / data).exists() and not (tmp_path / "x.data").exists()


def test_waveform_compares_with_what_the_netlist_was_exported_from_and_refuses_a_contradiction(tmp_path, ngspice,
                                                                                               monkeypatch):
    """Issue 42, item 1: the netlist records its run, example, split, phase and circuit; `waveform DATA` alone
    compares with them, and an option that contradicts them is refused (it used to print a 1000 mV 'disagreement'
    and exit 0)."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["train", "--sizes", "64-6-10", "--n-train", "20", "--n-test", "10", "--epochs", "1",
                                "--n-free", "5", "--quiet", "-o", "r.h5"]).exit_code == 0
    assert runner.invoke(main, ["export", "r.h5", "--example", "7", "-o", "ex7.cir", "--t-stop", "60"]).exit_code == 0
    assert subprocess.run([ngspice, "-b", "ex7.cir"], capture_output=True).returncode == 0
    alone = runner.invoke(main, ["waveform", "ex7.data"])
    assert alone.exit_code == 0, alone.output
    assert "compared with r.h5, test example 7, free phase" in alone.output
    assert float(re.search(r"max \|dV\| = ([0-9.]+) mV", alone.output).group(1)) < 1.0, alone.output
    wrong = runner.invoke(main, ["waveform", "ex7.data", "--run", "r.h5", "--example", "3"])
    assert wrong.exit_code == 2 and wrong.output.count("\n") == 1 and "exported with example 7" in wrong.output
    (tmp_path / "ex7.cir").unlink()  # no netlist to say where it came from
    orphan = runner.invoke(main, ["waveform", "ex7.data", "--example", "7"])
    assert orphan.exit_code == 2 and "give --run RUN" in orphan.output, orphan.output
