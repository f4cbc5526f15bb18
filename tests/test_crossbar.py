"""The circuit models of the crossbar (ideal, passive, op-amp neurons): a hand-solved circuit, ngspice against the
ODE engine, and the parts a circuit can build."""

import dataclasses
import subprocess

import numpy as np
import pytest
from scipy.linalg import expm
from conftest import chain, skip_net

from neurosim import network, topology
from neurosim.circuit import Circuit
from neurosim.crossbars import CROSSBARS, OpAmpCrossbar, PassiveCrossbar
from neurosim.coupling import Coupling
from neurosim.config import ConfigError, make_config
from neurosim.engines import ODE, FixedPoint, Phase, Spice
from neurosim.engines.spice import run_netlist
from neurosim.netlist import Analysis, netlist_text, write_netlist
from neurosim.waveform import read_data

TIGHT = dict(rtol=1e-10, atol=1e-12, settle_tol=1e-10)


def passive(**settings) -> Circuit:
    return Circuit(crossbar=PassiveCrossbar(**settings))


def opamp(**settings) -> Circuit:
    return Circuit(crossbar=OpAmpCrossbar(**settings))


def test_passive_chain_settles_where_kirchhoff_puts_it(tmp_path, ngspice):
    """KCL by hand, R = 1 MOhm: row h holds a 0.8 uS device to x (1 V) and a 0.5 uS device to the inverted y, row y a
    0.5 uS device to the inverted h; so (1 + 1.3) h = 0.8 + 0.1 - 0.5 y and (1 + 0.5) y = 0.6 - 0.5 h:
    h = 21/64 V, y = 93/320 V (the ideal circuit: h = 0.9 - 0.5 y, y = 0.6 - 0.5 h, so h = 0.8, y = 0.2)."""
    net, circuit = chain(), Circuit(crossbar="passive")
    np.testing.assert_allclose(circuit.row_load(net), [1.3, 0.5])
    ode = ODE(circuit=circuit, **TIGHT).relax(net, np.ones((1, 1)), np.zeros((1, 2)), Phase())
    np.testing.assert_allclose(ode.state[0], [21 / 64, 93 / 320], atol=1e-9)
    write_netlist(tmp_path / "p.cir", net, [1.0], circuit=circuit, analysis=Analysis(t_stop=60), data_file="p.data")
    np.testing.assert_allclose(run_netlist(tmp_path / "p.cir", net.sizes, 60e-6).v[-1], [21 / 64, 93 / 320], atol=1e-7)
    ideal = ODE(**TIGHT).relax(net, np.ones((1, 1)), np.zeros((1, 2)), Phase())
    np.testing.assert_allclose(ideal.state[0], [0.8, 0.2], atol=1e-9)


def test_gain_trimmed_drivers_put_the_passive_chain_where_the_ideal_circuit_is(tmp_path, ngspice):
    """Drivers of gain 1 + lambda (2.3 for h, 1.5 for y): KCL at h's node V_h with the driver outputs as columns,
    -V_h + 0.8 (1 - V_h) + 0.5 (-y - V_h) + 0.1 = 0 with y = 1.5 V_y, and at y, -V_y + 0.5 (-h - V_y) + 0.6 = 0 with
    h = 2.3 V_h: solved by hand, V_h = 0.8 / 2.3 and V_y = 0.2 / 1.5, so the drivers carry h = 0.8, y = 0.2 V, the
    ideal equilibrium. ngspice's capacitor nodes and drivers, and the ODE's states."""
    net, circuit = chain(), passive(gain_trim=True)
    ode = ODE(circuit=circuit, **TIGHT).relax(net, np.ones((1, 1)), np.zeros((1, 2)), Phase())
    np.testing.assert_allclose(ode.state[0], [0.8, 0.2], atol=1e-9)
    text = netlist_text(net, [1.0], circuit=circuit, analysis=Analysis(t_stop=60), data_file="t.data")
    (tmp_path / "t.cir").write_text(text.replace("wrdata t.data v(h1_0) v(y_0)",
                                                 "wrdata t.data v(h1_0) v(y_0) v(c_h1_0) v(c_y_0)"))
    subprocess.run(["ngspice", "-b", "t.cir"], cwd=tmp_path, capture_output=True, check=True)
    data = read_data(tmp_path / "t.data")
    assert list(data.names) == ["h1_0", "y_0", "c_h1_0", "c_y_0"]
    np.testing.assert_allclose(data.v[-1], [0.8, 0.2, 0.8 / 2.3, 0.2 / 1.5], atol=1e-7)


def test_gain_trim_belongs_to_the_passive_crossbar_without_wires():
    with pytest.raises(ValueError, match="gain_trim with r_line=1000.0"):
        PassiveCrossbar(gain_trim=True, r_line=1e3)
    for kind in ("opamp", "ideal"):
        with pytest.raises(ConfigError, match=f"gain_trim=True: a setting of the passive crossbar, not crossbar='{kind}'"):
            make_config(engine="ode", crossbar=kind, gain_trim=True)
    assert make_config(engine="ode", crossbar="passive", gain_trim=True).circuit.crossbar.gain_trim
    text = netlist_text(chain(), [1.0], circuit=passive(gain_trim=True))
    lines = [line for line in text.splitlines() if line[:1] in "ERX" and not line.startswith("Xin")]
    assert lines == ["Xn_h1_0 c_h1_0 neuron r=1000000 c=1e-12 gclamp=0.23 vmax=0.434782609",
                     "Xn_y_0 c_y_0 neuron r=1000000 c=1e-12 gclamp=0.15 vmax=0.666666667",
                     "Edrv_h1_0 h1_0 0 c_h1_0 0 2.3", "Edrv_y_0 y_0 0 c_y_0 0 1.5",
                     "Einv_h1_0 n_h1_0 0 h1_0 0 -1", "Einv_y_0 n_y_0 0 y_0 0 -1",
                     "Rp_c_h1_0_x_0 c_h1_0 x_0 1.250000000e+06", "Rm_c_y_0_h1_0 c_y_0 n_h1_0 2.000000000e+06",
                     "Rm_c_h1_0_y_0 c_h1_0 n_y_0 2.000000000e+06"]


def test_a_sinh_device_conducts_g_v_read_at_the_read_voltage():
    circuit, g = PassiveCrossbar(sinh_v0=0.25, v_read=0.4), 2e-6
    assert circuit.device_current(g, 0.4) == pytest.approx(g * 0.4, rel=1e-12)
    assert circuit.device_current(g, -0.4) == pytest.approx(-g * 0.4, rel=1e-12)  # odd
    slope = circuit.device_current(g, 1e-7) / 1e-7  # small-signal: g (V_read / V0) / sinh(V_read / V0)
    assert slope == pytest.approx(g * 1.6 / np.sinh(1.6), rel=1e-9) and slope < g
    assert circuit.device_current(g, 0.8) > 2 * g * 0.4  # above the read voltage it conducts more than G
    ohmic = PassiveCrossbar(sinh_v0=1e6, v_read=0.4)
    assert ohmic.device_current(g, 0.9) == pytest.approx(g * 0.9, rel=1e-9)


@pytest.mark.parametrize("crossbar", ["passive", "opamp"])
def test_a_sinh_device_settles_where_its_kcl_puts_it(tmp_path, ngspice, crossbar):
    """One neuron fed by one device (W = 0.8, so G = 0.8 / R) from a 0.4 V input, b = 0.1, V0 = 0.3 V, V_read = 0.25 V,
    f(dV) = V_read sinh(dV / V0) / sinh(V_read / V0): KCL solved by brentq. Passive: -s + R G f(0.4 - s) + b = 0.
    Op-amp (A = 300, V_os = 2 mV; the device on the inverted column, the row at V_os - s / A):
    -s + kappa (V_os - R G f(-0.4 - V_os + s / A) + b) = 0."""
    from scipy.optimize import brentq

    net = network.from_graph(topology.layered([1, 1]), seed=0, dtype=np.float64)
    net.blocks[0].weight[:], net.bias[:] = 0.8, 0.1
    circuit = (passive(sinh_v0=0.3, v_read=0.25) if crossbar == "passive" else
               opamp(sinh_v0=0.3, v_read=0.25, gain=300.0, offset=2e-3))
    f = lambda dv: 0.25 * np.sinh(dv / 0.3) / np.sinh(0.25 / 0.3)  # noqa: E731
    if crossbar == "passive":
        expected = brentq(lambda s: -s + 0.8 * f(0.4 - s) + 0.1, 0, 1, xtol=1e-14)
    else:
        a, vos = 300.0, 2e-3
        expected = brentq(lambda s: -s + a / (a + 1) * (vos - 0.8 * f(-0.4 - vos + s / a) + 0.1), 0, 1, xtol=1e-14)
    x = np.full((1, 1), 0.4)
    ohmic = ODE(circuit=dataclasses.replace(circuit, crossbar=dataclasses.replace(circuit.crossbar, sinh_v0=0.0)), **TIGHT).relax(net, x, np.zeros((1, 1)), Phase())
    assert abs(expected - ohmic.state[0, 0]) > 1e-3  # the I-V matters here (4.4 mV passive, 60 mV op-amp)
    ode = ODE(circuit=circuit, **TIGHT).relax(net, x, np.zeros((1, 1)), Phase())
    np.testing.assert_allclose(ode.state[0], [expected], atol=1e-9)
    write_netlist(tmp_path / "d.cir", net, [0.4], circuit=circuit, analysis=Analysis(t_stop=60), data_file="d.data")
    assert "Bp_" in (tmp_path / "d.cir").read_text()
    np.testing.assert_allclose(run_netlist(tmp_path / "d.cir", net.sizes, 60e-6).v[-1], [expected], atol=1e-7)


@pytest.mark.parametrize("g_min", [0.0, 2e-8])
@pytest.mark.parametrize("kind", ["passive", "opamp"])
def test_sinh_devices_summed_as_two_products_equal_the_sum_over_every_device(kind, g_min):
    """sinh(sigma a - b) = sigma sinh(a) cosh(b) - cosh(a) sinh(b): the drive of every row by the two sparse products
    equals each device's current computed and summed (to 1e-12 V at V0 = 0.3 V, on a network with skip and
    intralayer connections, columns read from one state and rows' own voltages from another; their matrices read
    from the weights, or with a floor conductance g_min from the listed devices); below V0 ~ 0.14 V the products
    would round too much and the sum over devices is used."""
    from neurosim.crossbars.sinh import DeviceCoupling, SummedRows

    net = skip_net()
    circuit = (passive if kind == "passive" else opamp)(sinh_v0=0.3, v_read=0.5, **({} if kind == "passive" else
                                                                                     dict(gain=300.0, offset=-0.004)))
    circuit = dataclasses.replace(circuit, g_min=g_min)
    rng = np.random.default_rng(3)
    x, r, own = rng.uniform(size=(4, 6)), rng.uniform(size=(4, net.n_free)), rng.uniform(size=(4, net.n_free))
    plus = 1.0 if kind == "passive" else -1.0
    coupling = DeviceCoupling(net, x, circuit, circuit.crossbar, plus)
    assert coupling.split
    summed = SummedRows(coupling, np.arange(net.n_free)).given(r)(own)
    assert np.abs(summed - coupling.bias).max() > 0.05  # the devices drive the rows
    np.testing.assert_allclose(coupling.rows(slice(None)).given(r)(own), summed, rtol=0, atol=1e-12)
    rows = np.array([1, 4, 7])
    np.testing.assert_allclose(coupling.rows(rows).given(r)(own[:, rows]), summed[:, rows], rtol=0, atol=1e-12)
    sharp = dataclasses.replace(circuit, crossbar=dataclasses.replace(circuit.crossbar, sinh_v0=0.05))
    assert not DeviceCoupling(net, x, sharp, sharp.crossbar, plus).split


@pytest.mark.parametrize("v0", [0.3, 0.05])
def test_a_device_coupling_is_freed_without_the_garbage_collector(v0):
    """A phase's device coupling holds dense matrices (55 MB on the paper's network); a reference cycle would keep
    every phase's until the collector's next full pass (a training run of the paper's network ran out of 24 GB
    that way): dropped, it is gone at once."""
    import gc
    import weakref

    from neurosim.crossbars.sinh import DeviceCoupling

    net, circuit = skip_net(), passive(sinh_v0=v0)
    x, r = np.full((2, 6), 0.5), np.full((2, net.n_free), 0.4)
    gc.disable()
    try:
        coupling = DeviceCoupling(net, x, circuit, circuit.crossbar)
        coupling.rows(slice(0, 3)).given(r)(r[:, :3])
        coupling(r)
        gone = weakref.ref(coupling)
        del coupling
        assert gone() is None
    finally:
        gc.enable()


def test_a_sinh_i_v_belongs_to_the_physical_crossbars_without_wires():
    for kind, bad in ((PassiveCrossbar, dict(r_line=1e3)), (PassiveCrossbar, dict(gain_trim=True)),
                      (OpAmpCrossbar, dict(gbw=1e6))):
        with pytest.raises(ValueError, match="sinh_v0=0.3 with"):
            kind(sinh_v0=0.3, **bad)
    with pytest.raises(ConfigError, match="sinh_v0=0.3: a setting of the passive and opamp crossbar, not crossbar='ideal'"):
        make_config(engine="ode", sinh_v0=0.3)
    with pytest.raises(ValueError, match="v_read=0"):
        PassiveCrossbar(sinh_v0=0.3, v_read=0.0)
    with pytest.raises(ConfigError, match="sinh_v0=-1"):
        make_config(engine="ode", crossbar="passive", sinh_v0=-1.0)


def test_opamp_neurons_tend_to_the_ideal_circuit_as_the_gain_grows():
    """kappa -> 1 and the devices' load / A -> 0; at A = 100 the chain's equilibrium solves the reduced equation
    s = kappa (u + V_os (1 + lambda) - lambda s / A), a 2 x 2 linear system solved here directly."""
    net, x, s0 = chain(), np.ones((1, 1)), np.zeros((1, 2))
    ideal = ODE(**TIGHT).relax(net, x, s0, Phase()).state
    big = ODE(circuit=opamp(gain=1e12), **TIGHT).relax(net, x, s0, Phase()).state
    np.testing.assert_allclose(big, ideal, atol=1e-9)
    a, vos, lam = 100.0, 0.01, np.array([1.3, 0.5])
    kappa = a / (a + 1)
    w = np.array([[0.0, -0.5], [-0.5, 0.0]])
    const = np.array([0.8 + 0.1, 0.6]) + vos * (1 + lam)
    expected = np.linalg.solve(np.eye(2) / kappa - w + np.diag(lam / a), const)
    reduced = ODE(circuit=opamp(gain=a, offset=vos), **TIGHT).relax(net, x, s0, Phase())
    np.testing.assert_allclose(reduced.state[0], expected, atol=1e-9)


def test_row_load_sums_every_device_on_the_row():
    """lambda_i from the dense coupling matrix: sum over row i of |W_ij| over free and input connections, plus
    2 R g_min per device pair."""
    net = skip_net()
    circuit = Circuit(crossbar="passive", g_min=1e-8, g_max=1e-5)
    dense = Coupling(net, np.zeros((1, net.n_inputs)), "dense")
    w_sx = np.zeros((net.n_inputs, net.n_free))
    for k in range(net.n_inputs):  # the input couplings, one input at a time through the dense layout
        x = np.zeros((1, net.n_inputs))
        x[0, k] = 1.0
        w_sx[k] = Coupling(net, x, "dense").const[0] - net.bias
    abs_w = np.abs(dense.w_ss).sum(axis=1) + np.abs(w_sx).sum(axis=0)
    pairs = (dense.w_ss != 0).sum(axis=1) + (w_sx != 0).sum(axis=0)
    np.testing.assert_allclose(circuit.row_load(net), abs_w + 2 * circuit.r_leak * 1e-8 * pairs, rtol=1e-12)


@pytest.mark.parametrize("circuit", [Circuit(crossbar="passive", g_min=1e-7), Circuit(crossbar="passive", g_max=2e-7)])
def test_row_load_counts_every_directed_device(circuit):
    """The block sums of row_load against the devices listed one by one (directed_devices), with the two directions
    of each connection different (mismatch), intralayer and skip connections, and weights beyond the range."""
    from neurosim.hardware import Devices, load_hardware

    stored = skip_net(scale=3.0)
    net = Devices(load_hardware({"variation": {"mismatch": 0.3}}), stored).effective(stored)
    assert net.blocks[0].back is not None and net.sparse.back is not None
    row, _, g_plus, g_minus = circuit.directed_devices(net)
    listed = circuit.r_leak * np.bincount(row - net.n_inputs, weights=g_plus + g_minus, minlength=net.n_free)
    np.testing.assert_allclose(circuit.row_load(net), listed, rtol=1e-13)


def test_a_finite_bandwidth_op_amp_follows_the_linear_system_solved_by_the_matrix_exponential():
    """Inside the rails the one-pole op-amp chain is linear, y' = M y + k in (v_c, q), tau = 1 us: KCL at each row
    tau v_c' = -v_c + W q + c + lambda (q - v_c) and tau_a q' = -q + A (V_os - q + v_c); y(t) = y* + e^{Mt}(y0 - y*).
    Its equilibrium is the one-pole-free op-amp's; a bandwidth this low (100 kHz at A = 100) slows it."""
    net, x, s0 = chain(), np.ones((1, 1)), np.full((1, 2), 0.3)
    a, vos, gbw, lam = 100.0, 0.01, 1e5, np.array([1.3, 0.5])
    circuit = opamp(gain=a, offset=vos, gbw=gbw)
    k = 1e-6 / (a / (2 * np.pi * gbw))  # tau / tau_a
    w, c = np.array([[0.0, -0.5], [-0.5, 0.0]]), np.array([0.9, 0.6])
    m = np.block([[-np.eye(2) - np.diag(lam), w + np.diag(lam)], [k * a * np.eye(2), -k * (1 + a) * np.eye(2)]])
    const = np.concatenate([c, k * a * vos * np.ones(2)])
    y_eq = np.linalg.solve(m, -const)
    y0 = np.concatenate([s0[0] - (vos - s0[0] / a), s0[0]])
    times = np.linspace(0, 30e-6, 61)
    expected = np.stack([y_eq + expm(m * t / 1e-6) @ (y0 - y_eq) for t in times])[:, 2:]
    assert 0 < expected.min() and expected.max() < 1  # never at a rail: the linear solution holds throughout
    ode = ODE(circuit=circuit, method="Radau", **TIGHT)
    np.testing.assert_allclose(ode.trajectory(net, x, s0, Phase(), times)[:, 0], expected, atol=1e-7)
    settled = ode.relax(net, x, s0, Phase())
    quick = ODE(circuit=opamp(gain=a, offset=vos), **TIGHT).relax(net, x, s0, Phase())
    np.testing.assert_allclose(settled.state, quick.state, atol=1e-8)
    assert settled.settling_time > 1.5 * quick.settling_time


def test_a_bandwidth_belongs_to_op_amp_neurons_and_is_a_frequency():
    with pytest.raises(ConfigError, match="opamp_gbw=1000000.0: a setting of the opamp crossbar, not crossbar='passive'"):
        make_config(engine="ode", crossbar="passive", opamp_gbw=1e6)
    with pytest.raises(ValueError, match="gbw=-1.0"):
        OpAmpCrossbar(gbw=-1.0)
    assert OpAmpCrossbar().pole == 0.0
    assert OpAmpCrossbar(gain=1e4, gbw=1e6).pole == pytest.approx(1e4 / (2e6 * np.pi))
    assert make_config(engine="ode", crossbar="opamp", opamp_gbw=1e6).circuit.crossbar.gbw == 1e6


def test_ngspice_follows_the_odes_trajectory_of_one_pole_op_amps(tmp_path, ngspice):
    """The transient itself, not only its end: the ODE's two states per neuron against ngspice's op-amp
    subcircuit (gain stage, pole, swing clamp, buffer), 6-5-4-3, 40 tau, ngspice steps of 0.01 tau: within 0.1 mV;
    the one-pole-free op-amp's path is tens of mV away."""
    net = skip_net()
    x, s0 = np.random.default_rng(1).uniform(size=(1, 6)), np.full((1, net.n_free), 0.3)
    slow = opamp(gain=300.0, offset=-0.004, gbw=1e6)
    write_netlist(tmp_path / "a.cir", net, x[0], circuit=slow, start=s0[0], data_file="a.data",
                  analysis=Analysis(t_stop=40, t_step=0.05, max_step=0.01))
    spice = run_netlist(tmp_path / "a.cir", net.sizes, 40e-6)
    ode = ODE(circuit=slow, method="Radau", rtol=1e-9, atol=1e-11, t_max=40).trajectory(net, x, s0, Phase(), spice.t)
    assert np.abs(ode[:, 0] - spice.v).max() < 1e-4
    fast = ODE(circuit=opamp(gain=300.0, offset=-0.004), t_max=40, rtol=1e-9, atol=1e-11)
    assert np.abs(fast.trajectory(net, x, s0, Phase(), spice.t)[:, 0] - spice.v).max() > 1e-2


#: The ngspice-against-ODE matrix every crossbar kind must pass: each registered kind, and its variants.
VARIANTS = {
    "ideal": Circuit(),
    "passive": passive(),
    "passive-trim": passive(gain_trim=True),
    "passive-sinh": passive(sinh_v0=0.3, v_read=0.5),
    "passive-wires": passive(r_line=1e4),
    "opamp": opamp(gain=300.0, offset=-0.004),
    "opamp-1MHz": opamp(gain=300.0, offset=-0.004, gbw=1e6),
    "opamp-sinh": opamp(gain=300.0, offset=-0.004, sinh_v0=0.3, v_read=0.5),
}


@pytest.mark.parametrize("crossbar", list(VARIANTS))
@pytest.mark.parametrize("nudged", [False, "weak", "clamped", "negative"])
def test_ngspice_and_the_ode_agree_on_every_crossbar(ngspice, crossbar, nudged):
    """The ODE integrates the reduced node equation; ngspice simulates the devices, buffers, inverters and op-amps
    themselves (the ideal crossbar's current sources too). 6-5-4-3 with skip and intralayer connections, 3 examples, within 0.1 mV. Gain-trimmed drivers put
    the passive crossbar at the ideal circuit's equilibrium in every phase (to 1e-8 V); the others move it."""
    net = skip_net()
    circuit = VARIANTS[crossbar]
    rng = np.random.default_rng(1)
    x, target = rng.uniform(size=(3, 6)), np.eye(3)[rng.integers(0, 3, size=3)]
    phase = Phase()
    if nudged:
        phase = Phase(beta=-0.5 if nudged == "negative" else 1.0, target=target,
                      nudge="clamped" if nudged == "clamped" else "weak")
    ode = ODE(circuit=circuit, **TIGHT).relax(net, x, np.full((3, net.n_free), 0.3), phase)
    spice = Spice(circuit=circuit, t_max=80).relax(net, x, np.full((3, net.n_free), 0.3), phase)
    assert ode.settled and spice.settled
    assert np.abs(spice.state - ode.state).max() < 1e-4
    assert spice.residual.max() < 1e-3  # the residual of the crossbar's own equation, not the ideal one's
    ideal = ODE(**TIGHT).relax(net, x, np.full((3, net.n_free), 0.3), phase).state
    if circuit.crossbar.trimmed or circuit.ideal:
        assert np.abs(ode.state - ideal).max() < 1e-8
    else:
        assert np.abs(ode.state - ideal).max() > 1e-3  # the crossbar moved the equilibrium


PHASES = ("free", "weak", "clamped", "negative")


def phase_of(name, target):
    return Phase() if name == "free" else Phase(beta=-0.5 if name == "negative" else 1.0, target=target,
                                                nudge="clamped" if name == "clamped" else "weak")


@pytest.mark.parametrize("crossbar", list(VARIANTS))
@pytest.mark.parametrize("nudged", PHASES)
def test_the_fixed_point_lands_on_the_odes_equilibrium_of_every_crossbar(crossbar, nudged):
    """Each neuron solved at the root of its crossbar's node equation, layer by layer: the ODE's equilibrium within
    1e-8 V (6-5-4-3 with skip connections, none within a layer, 3 examples), in float64; the residual of the
    crossbar's own equation at its end is at rounding."""
    net, circuit = skip_net(intralayer=False), VARIANTS[crossbar]
    rng = np.random.default_rng(1)
    x, target = rng.uniform(size=(3, 6)), np.eye(3)[rng.integers(0, 3, size=3)]
    phase, start = phase_of(nudged, target), np.full((3, net.n_free), 0.3)
    fixed = FixedPoint(circuit=circuit, n_free=400, n_nudged=400, tol=1e-13, check_every=1).relax(net, x, start, phase)
    ode = ODE(circuit=circuit, **TIGHT).relax(net, x, start, phase)
    assert fixed.steps < 400 and np.abs(fixed.state - ode.state).max() < 1e-8  # the ODE's own error: up to 1.3e-9
    drift = circuit.crossbar.equation(circuit, net, x).drift(fixed.state, phase, None if phase.target is None else target)
    assert np.abs(drift).max() < 1e-12


@pytest.mark.parametrize("crossbar", ["passive-sinh", "passive-wires", "opamp-1MHz"])
def test_the_fixed_point_lands_where_ngspice_settles(ngspice, crossbar):
    net, circuit = skip_net(intralayer=False), VARIANTS[crossbar]
    rng = np.random.default_rng(2)
    x, target = rng.uniform(size=(2, 6)), np.eye(3)[rng.integers(0, 3, size=2)]
    for phase in (Phase(), Phase(beta=1.0, target=target)):
        fixed = FixedPoint(circuit=circuit, tol=1e-12, check_every=1).relax(net, x, np.zeros((2, net.n_free)), phase)
        spice = Spice(circuit=circuit, t_max=80).relax(net, x, np.zeros((2, net.n_free)), phase)
        assert spice.settled and np.abs(spice.state - fixed.state).max() < 1e-4


def test_the_fixed_point_refuses_the_reference_step_in_one_line():
    with pytest.raises(ConfigError, match="nudge='reference' is the ideal network's Euler step"):
        make_config(engine="fixedpoint", topology="layered", crossbar="passive", nudge="reference")
    config = make_config(engine="fixedpoint", topology="layered", crossbar="opamp", opamp_gain=100.0)
    assert config.nudge == "weak" and config.engine.circuit == opamp(gain=100.0) and not config.random_sign
    with pytest.raises(ValueError, match="nudge='reference'"):
        config.engine.relax(chain(), np.ones((1, 1)), np.zeros((1, 2)), Phase(1.0, np.ones((1, 1)), "reference"))


def test_every_registered_crossbar_is_in_the_matrix():
    assert {circuit.crossbar.name for circuit in VARIANTS.values()} == set(CROSSBARS)


def test_a_negative_beta_is_a_transconductor_not_a_negative_resistor():
    net = skip_net()
    target = np.eye(3)[0]
    text = netlist_text(net, np.zeros(6), phase=Phase(-1.0, target))
    assert "Xnudge_y_0 y_0 repel g=1.000000000e-06" in text
    assert "nudge g=-" not in text and not any(
        line.startswith("R") and " -" in line for line in text.splitlines())


def test_physical_crossbars_leave_out_zero_devices_and_invert_only_what_is_needed():
    net = chain()
    text = netlist_text(net, [1.0], circuit=Circuit(crossbar="passive"))
    lines = [line for line in text.splitlines() if line[:1] in "ER"]
    assert lines == ["Einv_h1_0 n_h1_0 0 h1_0 0 -1", "Einv_y_0 n_y_0 0 y_0 0 -1",  # W_yh < 0: only inverted copies
                     "Rp_h1_0_x_0 h1_0 x_0 1.250000000e+06", "Rm_y_0_h1_0 y_0 n_h1_0 2.000000000e+06",
                     "Rm_h1_0_y_0 h1_0 n_y_0 2.000000000e+06"]
    net.blocks[1].weight[:] = 0.25
    text = netlist_text(net, [1.0], circuit=Circuit(crossbar="passive", g_min=1e-8))
    lines = [line for line in text.splitlines() if line[:1] in "ER"]
    assert lines[:4] == ["Ebuf_h1_0 p_h1_0 0 h1_0 0 1", "Ebuf_y_0 p_y_0 0 y_0 0 1",  # with g_min every side exists
                         "Einv_h1_0 n_h1_0 0 h1_0 0 -1", "Einv_x_0 n_x_0 0 x_0 0 -1"]
    assert "Rp_y_0_h1_0 y_0 p_h1_0 3.846153846e+06" in lines and "Rm_y_0_h1_0 y_0 n_h1_0 1.000000000e+08" in lines


def test_a_physical_crossbar_needs_a_circuit_engine_and_a_known_name():
    with pytest.raises(ConfigError, match="crossbar='passive' is a circuit model"):
        make_config(crossbar="passive")
    with pytest.raises(ConfigError, match="crossbar"):
        make_config(engine="ode", crossbar="memristive")
    with pytest.raises(ValueError, match="gain=0.5"):
        OpAmpCrossbar(gain=0.5)
    assert make_config(engine="ode", crossbar="opamp").circuit.crossbar == OpAmpCrossbar()


def _source_power(netlist, tmp_path, sources):
    """The power ngspice's voltage sources deliver at the transient's last point (watts): -V I of each
    (``sources``: node, branch current vector)."""

    terms = [f"-v({node})[length(v({node}))-1]*{branch}[length({branch})-1]" for node, branch in sources]
    text = netlist.read_text()
    text = text[: text.index(".control")] + (".control\nrun\nlet p = " + " + ".join(terms) +
                                             "\nprint p\nquit\n.endc\n.end\n")
    (tmp_path / "pw.cir").write_text(text)
    out = subprocess.run(["ngspice", "-b", "pw.cir"], cwd=tmp_path, capture_output=True, text=True).stdout
    return float(out.split("p = ")[1].split()[0])


@pytest.mark.parametrize("variant", ["ohmic", "trim", "sinh"])
@pytest.mark.parametrize("beta", [0.0, 0.5])
def test_static_power_equals_what_ngspice_sources_deliver(tmp_path, ngspice, beta, variant):
    """At equilibrium the sources' power (from ngspice's branch currents) is all dissipated: leaks, devices, nudge
    (behind gain-trimmed drivers too, whose nodes sit at s / (1 + lambda); sinh devices dissipate I dV)."""
    from neurosim.dissipation import power

    net = chain()
    circuit = passive(gain_trim=variant == "trim", sinh_v0=0.3 if variant == "sinh" else 0.0)
    target = np.array([1.0])
    phase = Phase(beta=beta, target=target[None]) if beta else Phase()
    state = ODE(circuit=circuit, **TIGHT).relax(net, np.ones((1, 1)), np.zeros((1, 2)), phase).state[0]
    write_netlist(tmp_path / "c.cir", net, [1.0], circuit=circuit, phase=Phase(beta, target) if beta else Phase(),
                  analysis=Analysis(t_stop=60), start=state, data_file="c.data")
    sources = [("x_0", "v.xin_x_0.vin#branch"), ("n_h1_0", "einv_h1_0#branch"), ("n_y_0", "einv_y_0#branch")]
    if beta:
        sources.append(("xnudge_y_0.t", "v.xnudge_y_0.vtarget#branch"))
    delivered = _source_power(tmp_path / "c.cir", tmp_path, sources)
    node = state / circuit.crossbar.node_gain(circuit, net)
    delivered += float(node @ circuit.bias_current(net.bias))  # the bias current sources, V I each
    expected = power(circuit, net, [1.0], state, beta=beta, target=target)[0]
    assert expected > 1e-8
    assert delivered == pytest.approx(expected, rel=1e-6)


def test_energy_of_an_rc_charge_is_what_its_source_delivers():
    """One neuron driven by a constant current V_inf / R (an ideal synapse from a 1 V input, W = 0.4, b = 0.3):
    V = V_inf (1 - e^(-t/tau)), and the source delivers int I V dt = V_inf^2 / R (T - tau (1 - e^(-T/tau))), the
    leak's dissipation plus the capacitor's final 1/2 C V^2. Within 1 mV of the end after tau ln(V_inf / 1 mV)."""
    from neurosim.dissipation import phase_energy, power, settling_within

    net = network.from_graph(topology.layered([1, 1]), seed=0, dtype=np.float64)
    net.blocks[0].weight[:], net.bias[:] = 0.4, 0.3
    circuit, v_inf, t_end = Circuit(), 0.7, 12.0
    tau = circuit.tau
    times = np.linspace(0, t_end, 4801)[1:] * tau
    v = ODE(circuit=circuit, rtol=1e-10, atol=1e-12, t_max=t_end).trajectory(
        net, np.ones((1, 1)), np.zeros((1, 1)), Phase(), times)[:, 0]
    t, v = np.concatenate([[0.0], times]), np.concatenate([[[0.0]], v])
    np.testing.assert_allclose(v[:, 0], v_inf * (1 - np.exp(-t / tau)), atol=1e-8)
    expected = v_inf**2 / circuit.r_leak * (t_end * tau - tau * (1 - np.exp(-t_end)))
    assert phase_energy(circuit, t, power(circuit, net, [1.0], v), v) == pytest.approx(expected, rel=1e-5)
    final = v[-1, 0]
    within = tau * np.log(v_inf / (1e-3 + v_inf - final))  # v_inf e^(-t/tau) = 1 mV + (v_inf - final)
    assert settling_within(t, v, 1e-3) == pytest.approx(within, abs=t_end * tau / 4800)


@pytest.mark.parametrize("crossbar", ["ideal", "opamp", "opamp-1MHz"])
def test_pyspice_runs_an_exported_netlist_to_the_state_ngspice_b_reaches(tmp_path, ngspice, crossbar):
    """The netlist without its .control block loads into PySpice's shared ngspice and simulates the same
    transient as ``ngspice -b`` on the netlist with it (XSPICE's op-amp model included)."""
    import os

    if os.environ.get("NEUROSIM_REQUIRE_NGSPICE"):
        import PySpice  # noqa: F401  (CI installs it: a missing PySpice fails there)
    pytest.importorskip("PySpice")
    from neurosim.pyspice import simulate

    net = skip_net()
    circuit = (Circuit() if crossbar == "ideal" else opamp(gain=300.0, gbw=1e6 if "MHz" in crossbar else 0.0))
    x = np.random.default_rng(0).uniform(size=6)
    write_netlist(tmp_path / "b.cir", net, x, circuit=circuit, analysis=Analysis(t_stop=40), data_file="b.data")
    write_netlist(tmp_path / "p.cir", net, x, circuit=circuit, analysis=Analysis(t_stop=40), control=False)
    assert ".control" not in (tmp_path / "p.cir").read_text()
    batch = run_netlist(tmp_path / "b.cir", net.sizes, 40e-6)
    shared = simulate(tmp_path / "p.cir")
    np.testing.assert_allclose(shared.t, batch.t, rtol=1e-7)  # wrdata writes 9 digits
    np.testing.assert_allclose(shared.v, batch.v, atol=1e-6)
    with pytest.raises(Exception, match="control=False"):
        simulate(tmp_path / "b.cir")


def test_waveform_reads_ngspice_output_and_compares_it_with_the_run(tmp_path, ngspice):
    """export -> ngspice -b -> neurosim waveform: the reader gets ngspice's rows back, the last row equals the ODE
    equilibrium of the same circuit (the passive crossbar given to both) and names the class."""
    from click.testing import CliRunner

    from neurosim.cli import main
    from neurosim.waveform import DataFileError, read_data

    run = str(__import__("conftest").REPO / "netlists" / "runs" / "layered-digits.h5")
    cli = CliRunner()
    done = cli.invoke(main, ["export", run, "--example", "3", "-o", str(tmp_path / "w.cir"), "--crossbar", "passive",
                             "--t-stop", "60"])
    assert done.exit_code == 0, done.output
    again = cli.invoke(main, ["export", run, "--example", "3", "-o", str(tmp_path / "w.cir")])
    assert again.exit_code != 0 and "--overwrite" in again.output
    subprocess.run([ngspice, "-b", "w.cir"], cwd=tmp_path, check=True, capture_output=True)
    data = read_data(tmp_path / "w.data")
    assert data.names[:2] == ("h1_0", "h1_1") and data.v.shape == (len(data.t), 26) and data.t[-1] == pytest.approx(60e-6)
    shown = cli.invoke(main, ["waveform", str(tmp_path / "w.data"), "--run", run, "--example", "3",
                              "--crossbar", "passive"])
    assert shown.exit_code == 0, shown.output
    shift = float(shown.output.split("max |dV| = ")[1].split()[0])
    assert shift < 0.1  # mV
    assert "label 5" in shown.output and (tmp_path / "w.png").stat().st_size > 10_000
    recorded = cli.invoke(main, ["waveform", str(tmp_path / "w.data"), "--run", run, "-o", str(tmp_path / "r.png")])
    assert float(recorded.output.split("max |dV| = ")[1].split()[0]) < 0.1  # example and crossbar from the netlist
    ideal = cli.invoke(main, ["waveform", str(tmp_path / "w.data"), "--run", run, "--crossbar", "ideal"])
    assert ideal.exit_code == 2 and "exported with crossbar passive" in ideal.output, ideal.output
    from neurosim.store import load_run
    from neurosim.waveform import compare_with_run

    other = compare_with_run(data, load_run(run), 3, circuit={"crossbar": "ideal"})
    assert 1e3 * other.max_dv > 100  # the ideal circuit settles elsewhere
    with pytest.raises(DataFileError, match="first line should be 'time v"):
        read_data(tmp_path / "w.cir")


def test_line_resistance_in_series_with_a_single_device():
    """One device (W = 0.8, 1.25 MOhm) between a 1 V input and a neuron (b = 0.3), its row and column wires one
    250 kOhm segment each: 1.75 MOhm in series, R G_eff = 4/7, so s = (4/7 + 0.3) / (1 + 4/7) = 6.1 / 11."""
    net = network.from_graph(topology.layered([1, 1]), seed=0, dtype=np.float64)
    net.blocks[0].weight[:], net.bias[:] = 0.8, 0.3
    circuit = passive(r_line=2.5e5)
    state = ODE(circuit=circuit, **TIGHT).relax(net, np.ones((1, 1)), np.zeros((1, 1)), Phase()).state
    np.testing.assert_allclose(state[0], [6.1 / 11], atol=1e-9)


def test_thin_wires_reduce_to_the_passive_crossbar():
    """A = W - diag(lambda) as r_line -> 0 (1 ohm against devices of megaohms: 1e-5 relative)."""
    from neurosim.crossbars.wires import reduced_coupling

    net = skip_net()
    a = reduced_coupling(Circuit(), net, 1.0)
    dense = Coupling(net, np.zeros((1, net.n_inputs)), "dense").w_ss
    w_sx = np.stack([Coupling(net, np.eye(net.n_inputs)[[k]], "dense").const[0] - net.bias
                     for k in range(net.n_inputs)])
    expected = np.concatenate([w_sx.T, dense - np.diag(Circuit(crossbar="passive").row_load(net))], axis=1)
    np.testing.assert_allclose(a, expected, atol=1e-4 * np.abs(expected).max())


def test_a_plane_reduced_a_few_boundary_nodes_at_a_time_is_the_plane_reduced_at_once(monkeypatch):
    """The chunks of boundary nodes (here 3 at a time of 11) give the admittance the whole solve gives, and it is
    symmetric (a resistor network's Schur complement) and conserves current (each row sums to 0 with the
    devices' and wires' own ground-free network)."""
    from neurosim.crossbars import wires

    g = np.random.default_rng(0).uniform(0, 1e-6, size=(5, 6)) * (np.random.default_rng(1).uniform(size=(5, 6)) > 0.3)
    whole = wires.boundary_admittance(g, 1e3)
    monkeypatch.setattr(wires, "_CHUNK_ELEMENTS", 3 * 2 * g.size)
    np.testing.assert_allclose(wires.boundary_admittance(g, 1e3), whole, rtol=0, atol=1e-18)
    np.testing.assert_allclose(whole, whole.T, rtol=0, atol=1e-18)
    np.testing.assert_allclose(whole.sum(axis=1), 0.0, atol=1e-18)
    assert np.abs(whole).max() > 1e-7


def _random_plane(shape=(7, 11), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1e-5, size=shape) * (rng.uniform(size=shape) > 0.3)


def test_first_order_wires_are_the_exact_reduction_to_second_order():
    """first_order_admittance against the plane's exact Schur complement: the error falls 4x as r_line halves (it is
    the exact admittance's Taylor polynomial in r_line), it is far below the wires' own effect, and the boundary
    admittance stays symmetric with rows summing to zero."""
    from neurosim.crossbars.wires import first_order_admittance, plane_admittance

    g = _random_plane()

    def error(r):
        exact, first = plane_admittance(g, r), first_order_admittance(g, r)
        return max(np.abs(e - f).max() for e, f in zip(exact, first))

    errors = [error(r) for r in (400.0, 200.0, 100.0)]
    assert all(3.6 < errors[k] / errors[k + 1] < 4.4 for k in range(2)), errors
    y_rows, y_drivers = first_order_admittance(g, 100.0)
    thin_rows, thin_drivers = first_order_admittance(g, 0.0)
    effect = max(np.abs(y_rows - thin_rows).max(), np.abs(y_drivers - thin_drivers).max())
    assert errors[-1] < 0.05 * effect and effect > 1e-7
    np.testing.assert_allclose(y_rows, y_rows.T, rtol=0, atol=1e-15 * effect)
    np.testing.assert_allclose(y_rows.sum(axis=1) + y_drivers.sum(axis=1), 0.0, atol=1e-12 * effect)


def test_the_wires_iterated_per_example_give_the_reduced_currents():
    """row_currents (the wires' cell voltages iterated for a batch, no reduction) equals the exact admittance
    applied to the same voltages, and refuses wires that drop too much for it to settle."""
    from neurosim.crossbars.wires import plane_admittance, row_currents

    g = _random_plane()
    rng = np.random.default_rng(2)
    v_rows, v_drivers = rng.uniform(size=(3, 7)), rng.uniform(-1, 1, size=(3, 11))
    y_rows, y_drivers = plane_admittance(g, 500.0)
    currents, iterations = row_currents(g, 500.0, v_rows, v_drivers)
    np.testing.assert_allclose(currents, v_rows @ y_rows.T + v_drivers @ y_drivers.T, rtol=0, atol=1e-16)
    assert np.abs(currents).max() > 1e-6 and 3 < iterations < 40
    with pytest.raises(ValueError, match="r_line=1e[+]06: the wires' cell voltages did not settle"):
        row_currents(g, 1e6, v_rows, v_drivers)


def test_first_order_wires_relax_near_the_exact_ones_and_reuse_their_reduction(monkeypatch):
    """The fixed point with wire_model='first-order' settles within the first-order error of the exact reduction's
    equilibrium (10 kOhm per cell on 6-5-4-3: 5 mV of wire effect, 0.14 mV of error); the second phase on
    unchanged weights reuses the reduction, and a changed weight recomputes it."""
    from neurosim.crossbars import passive as passive_module

    net = skip_net(intralayer=False)
    x = np.random.default_rng(1).uniform(size=(3, 6))
    start, engine = np.zeros((3, net.n_free)), dict(n_free=200, tol=1e-13)
    exact = FixedPoint(circuit=passive(r_line=1e4), **engine).relax(net, x, start, Phase()).state
    first_circuit = passive(r_line=1e4, wire_model="first-order")
    calls = []
    counted = lambda *args, **kwargs: calls.append(1) or passive_module.reduced_coupling.__wrapped__(*args, **kwargs)
    counted.__wrapped__ = passive_module.reduced_coupling
    monkeypatch.setattr(passive_module, "reduced_coupling", counted)
    first = FixedPoint(circuit=first_circuit, **engine).relax(net, x, start, Phase()).state
    thin = FixedPoint(circuit=passive(), **engine).relax(net, x, start, Phase()).state
    assert np.abs(exact - thin).max() > 1e-3
    assert np.abs(first - exact).max() < 0.05 * np.abs(exact - thin).max()  # 2.8 % here
    FixedPoint(circuit=first_circuit, **engine).relax(net, x, start, Phase(beta=0.5, target=np.eye(3)))
    assert len(calls) == 1
    net.blocks[0].weight[0, 0] += 0.01
    FixedPoint(circuit=first_circuit, **engine).relax(net, x, start, Phase())
    assert len(calls) == 2


@pytest.mark.parametrize("nudged", [False, True])
def test_ngspice_wires_equal_the_reduced_coupling(ngspice, nudged):
    """The netlist writes every wire segment and device (615 wire segments here); ngspice's equilibrium equals the
    ODE of the reduced coupling within 1 uV, and 10 kOhm per cell moves it by millivolts."""
    net = skip_net()
    circuit = passive(r_line=1e4)
    rng = np.random.default_rng(1)
    x, target = rng.uniform(size=(3, 6)), np.eye(3)[rng.integers(0, 3, size=3)]
    phase = Phase(beta=1.0, target=target) if nudged else Phase()
    start = np.zeros((3, net.n_free))
    ode = ODE(circuit=circuit, **TIGHT).relax(net, x, start, phase)
    spice = Spice(circuit=circuit, t_max=60).relax(net, x, start, phase)
    assert np.abs(spice.state - ode.state).max() < 1e-6
    thin = ODE(circuit=Circuit(crossbar="passive"), **TIGHT).relax(net, x, start, phase).state
    assert np.abs(ode.state - thin).max() > 1e-3
    text = netlist_text(net, x[0], circuit=circuit)
    assert sum(line.startswith("Rw_") for line in text.splitlines()) > 500
    with pytest.raises(ConfigError, match="r_line=1.0: a setting of the passive crossbar, not crossbar='opamp'"):
        make_config(engine="ode", crossbar="opamp", r_line=1.0)


@pytest.mark.parametrize("crossbar", ["ideal", "passive"])
def test_operating_point_from_the_odes_estimate_reaches_the_equilibrium(ngspice, crossbar):
    """spice_analysis='op': ngspice's .op, Newton started at the ODE's 10 mV estimate, lands on the transient's
    equilibrium (this network has one) and is counted settled by its residual."""
    net = skip_net()
    circuit = Circuit(crossbar=crossbar)
    x = np.random.default_rng(2).uniform(size=(3, 6))
    start = np.zeros((3, net.n_free))
    op = Spice(circuit=circuit, analysis="op", settle_tol=1e-6).relax(net, x, start, Phase())
    ode = ODE(circuit=circuit, **TIGHT).relax(net, x, start, Phase())
    assert op.settled and np.isnan(op.settling_time)
    np.testing.assert_allclose(op.state, ode.state, atol=1e-6)
    assert op.residual.max() < 1e-6
    with pytest.raises(ValueError, match="analysis='dc'"):
        Spice(analysis="dc")


def test_power_with_wires():
    """One device in series with two 250 kOhm wire segments dissipates (V_x - V)^2 / (1/G + 2 r_line), beside the
    leak's V^2 / R; thin wires dissipate what the passive array's devices do."""
    from neurosim.dissipation import power

    net = network.from_graph(topology.layered([1, 1]), seed=0, dtype=np.float64)
    net.blocks[0].weight[:], net.bias[:] = 0.8, 0.3
    wired = passive(r_line=2.5e5)
    v = np.array([[0.2], [0.5]])
    expected = v[:, 0] ** 2 / 1e6 + (1.0 - v[:, 0]) ** 2 / (1.25e6 + 5e5)
    np.testing.assert_allclose(power(wired, net, [1.0], v), expected, rtol=1e-9)
    big = skip_net()
    x, s = np.random.default_rng(3).uniform(size=6), np.random.default_rng(4).uniform(size=(2, big.n_free))
    thin = power(passive(r_line=1.0), big, x, s)
    np.testing.assert_allclose(thin, power(Circuit(crossbar="passive"), big, x, s), rtol=1e-4)
