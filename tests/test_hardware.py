"""Hardware models: quantisers, rounding, update granularity, device statistics, and training under them."""

import numpy as np
import pytest

from neurosim import topology
from neurosim.circuit import Circuit
from neurosim.config import ConfigError, make_config
from neurosim.energy import rho
from neurosim.engines import ODE, Euler, Phase
from neurosim.hardware import PRESETS, Devices, Hardware, HardwareError, load_hardware
from neurosim.coupling import Coupling
from neurosim.network import from_graph
from neurosim.quantize import quantize_unit, round_integer, weight_levels
from neurosim.build import new_run
from neurosim.training import train


def small_world(sizes=(6, 5, 5, 3), seed=0, dtype=np.float64):
    graph = topology.small_world(sizes, n=6, intralayer=True, seed=seed)
    return from_graph(graph, seed=seed, intra_init=0.3, dtype=dtype)


def hw(**groups) -> Hardware:
    return load_hardware(groups)


# -- quantisers ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mapping", ["weight", "conductance"])
def test_b_bit_grid_has_at_most_2_to_the_b_levels_per_stored_number(mapping):
    w = np.random.default_rng(0).uniform(-1.5, 1.5, 100_000)
    circuit = Circuit(r_leak=1e5, g_min=1e-6, g_max=1.1e-5)  # w_max = R (g_max - g_min) = 1
    outputs = {}
    for bits in (2, 3, 4, 6, 8):
        grid = weight_levels(bits, 1.0, mapping)
        q = grid.snap(w)
        if mapping == "weight":  # the stored number is the signed weight
            assert len(np.unique(q)) <= 2**bits
        else:  # the stored numbers are the two devices' conductances
            g_plus, g_minus = circuit.differential_pair(q, clip=True)
            assert len(np.unique(np.round(g_plus / 1e-12))) <= 2**bits
            assert len(np.unique(np.round(g_minus / 1e-12))) <= 2**bits
        assert np.abs(q).max() <= 1.0 + 1e-12
        np.testing.assert_allclose(q / grid.step, np.rint(q / grid.step), atol=1e-9)  # on the grid
        outputs[bits] = q
    for a, b in zip((2, 3, 4, 6), (3, 4, 6, 8)):
        assert not np.array_equal(outputs[a], outputs[b]), f"{a} and {b} bits quantise alike"


def test_weight_grid_rejects_a_grid_that_cannot_exist():
    with pytest.raises(ValueError, match="bits=1"):
        weight_levels(1, 1.0, "weight")
    with pytest.raises(HardwareError, match="storage: bits=1"):
        load_hardware({"storage": {"bits": 1}})


def test_stochastic_rounding_is_unbiased():
    rng = np.random.default_rng(1)
    x = np.array([-2.7, -0.5, -0.1, 0.0, 0.25, 0.5, 1.9, 3.0])
    n = 200_000
    draws = round_integer(np.broadcast_to(x, (n, len(x))), "stochastic", rng.random((n, len(x))))
    assert set(np.unique(draws)) <= set(np.floor(x)) | set(np.floor(x) + 1)
    # the mean of n Bernoulli draws has standard deviation <= 0.5 / sqrt(n) = 1.1e-3: 5 of them
    np.testing.assert_allclose(draws.mean(axis=0), x, atol=5 * 0.5 / np.sqrt(n))
    np.testing.assert_array_equal(round_integer(x, "nearest"), [-3, -0, -0, 0, 0, 0, 2, 3])  # ties to even


def test_adc_levels():
    v = np.random.default_rng(2).uniform(-0.2, 1.2, 10_000)
    for bits in (1, 3, 6):
        q = quantize_unit(v, bits)
        assert len(np.unique(q)) <= 2**bits and q.min() >= 0 and q.max() <= 1
        assert np.abs(q - np.clip(v, 0, 1)).max() <= 0.5 / (2**bits - 1) + 1e-12
    assert quantize_unit(v, 0) is v


# -- update granularity -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bits", [0, 6])
def test_half_a_step_is_lost_under_nearest_and_kept_on_average_under_stochastic(bits):
    net = small_world()
    step = 0.01
    storage = {"bits": bits, "w_max": 2.0} if bits else {"pulse": step}
    nearest = Devices(hw(storage=storage), net)
    if bits:
        step = nearest.store.levels.step
    nearest.store.program(net)
    before = [p.copy() for p in net.parameters()]
    half = [np.where(p != 0, 0.5 * step, 0.0) if k < len(net.blocks) else np.full_like(p, 0.5 * step)
            for k, p in enumerate(net.parameters())]
    for block, h in zip(net.blocks, half):  # only the connections that exist
        if block.mask is not None:
            h *= block.mask
    changes = nearest.write(net, half)
    for c, p, b in zip(changes, net.parameters(), before):
        assert not np.any(c) and np.array_equal(p, b)

    stochastic = Devices(hw(storage={**storage, "rounding": "stochastic"}), net)
    rng = np.random.default_rng(3)
    total = [np.zeros_like(p) for p in net.parameters()]
    trials = 2000
    for _ in range(trials):
        work = net.copy()
        for t, c in zip(total, stochastic.write(work, half, rng)):
            t += c
    for t, h in zip(total, half):
        moved = h != 0
        assert set(np.unique(np.round(t[~moved] / step))) <= {0}
        # each entry: mean of `trials` draws of 0 or 1 step, sd <= 0.5 step / sqrt(trials)
        np.testing.assert_allclose(t[moved] / trials, h[moved], atol=5 * 0.5 * step / np.sqrt(trials))


def test_writes_keep_the_intralayer_blocks_symmetric_and_the_missing_connections_at_zero():
    net = small_world()
    devices = Devices(hw(storage={"bits": 5, "rounding": "stochastic"}, noise={"write": 0.5}), net)
    devices.store.program(net)
    rng = np.random.default_rng(4)
    for _ in range(20):
        updates = []
        for b in net.blocks:
            u = rng.normal(0, 0.05, b.weight.shape)
            if b.lo == b.hi:
                u = u + u.T
            updates.append(u if b.mask is None else u * b.mask)
        updates += [rng.normal(0, 0.05, len(net.sparse)), rng.normal(0, 0.05, net.n_free)]
        devices.write(net, updates, rng)
    for b in net.blocks:
        if b.lo == b.hi:
            np.testing.assert_array_equal(b.weight, b.weight.T)
        if b.mask is not None:
            assert not np.any(b.weight[~b.mask])
    assert all(np.abs(p).max() <= 1.0 for p in net.parameters())


def test_write_noise_has_the_configured_spread():
    net = from_graph(topology.layered((300, 400)), seed=0)
    net.blocks[0].weight[:] = 0
    devices = Devices(hw(storage={"pulse": 0.01}, noise={"write": 0.3}), net)
    update = np.full((300, 400), 0.04)  # 4 pulses each
    change = devices.write(net, [update, np.zeros(0), np.zeros(400)], np.random.default_rng(5))[0]
    assert abs(change.mean() - 0.04) < 1e-4
    assert change.std() == pytest.approx(0.3 * 0.01 * np.sqrt(4), rel=0.02)


# -- device statistics --------------------------------------------------------------------------------------------
def test_variation_and_stuck_at_faults_have_the_configured_statistics():
    net = from_graph(topology.layered((1000, 1000)), seed=0)
    net.blocks[0].weight[:] = 0.5
    spec = hw(variation={"device_to_device": 0.1, "stuck": 0.04, "stuck_high": 0.25})
    devices = Devices(spec, net, rng=np.random.default_rng(6))
    gain_plus = devices.gain[0][0]
    stuck_plus, stuck_minus = devices.stuck[0]
    assert gain_plus.mean() == pytest.approx(1.0, abs=1e-3) and gain_plus.std() == pytest.approx(0.1, rel=0.01)
    assert np.mean(stuck_plus > 0) == pytest.approx(0.04, abs=0.002)
    assert np.mean(stuck_plus == 2) / np.mean(stuck_plus > 0) == pytest.approx(0.25, abs=0.02)
    eff = devices.effective(net).blocks[0].weight
    healthy = (stuck_plus == 0) & (stuck_minus == 0)
    np.testing.assert_allclose(eff[healthy], 0.5 * gain_plus[healthy])  # g- = 0 carries no gain
    w_max = devices.store.w_max
    only_plus_high = (stuck_plus == 2) & (stuck_minus == 0)
    np.testing.assert_allclose(eff[only_plus_high], w_max)
    minus_high = (stuck_minus == 2) & (stuck_plus == 0)
    np.testing.assert_allclose(eff[minus_high], 0.5 * gain_plus[minus_high] - w_max)
    assert np.all(eff[(stuck_plus == 1) & (stuck_minus == 0)] == 0)
    # the same seed gives the same chip
    again = Devices(spec, net, rng=np.random.default_rng(6)).effective(net).blocks[0].weight
    np.testing.assert_array_equal(eff, again)


def test_read_noise_is_drawn_per_settle_and_mismatch_breaks_symmetry_only_between_directions():
    net = from_graph(topology.layered((600, 700)), seed=0)
    read = Devices(hw(noise={"read": 0.05}), net)
    rng = np.random.default_rng(7)
    a, b = (read.effective(net, rng).blocks[0].weight for _ in range(2))
    ratio = a / net.blocks[0].weight
    assert ratio.std() == pytest.approx(0.05, rel=0.02) and not np.array_equal(a, b)
    assert read.effective(net, rng).blocks[0].back is None  # one device pair: both directions alike

    mismatched = Devices(hw(variation={"mismatch": 0.1}), net, rng=np.random.default_rng(8)).effective(net)
    block = mismatched.blocks[0]
    log_ratio = np.log(block.weight / block.back)
    assert log_ratio.std() == pytest.approx(0.1 * np.sqrt(2), rel=0.03)
    assert not mismatched.symmetric and net.symmetric


def test_couplings_of_a_mismatched_network_agree_across_layouts_and_with_the_dense_matrix():
    net = small_world()
    eff = Devices(hw(variation={"mismatch": 0.2, "device_to_device": 0.1}), net, rng=np.random.default_rng(9)).effective(net)
    assert not eff.symmetric
    x = np.random.default_rng(10).uniform(0, 1, (4, net.n_inputs))
    s = np.random.default_rng(11).uniform(-0.2, 1.2, (4, net.n_free))
    u = np.concatenate([x, rho(s)], axis=1)
    expected = (u @ eff.dense_weights() + np.concatenate([np.zeros(net.n_inputs), eff.bias]))[:, net.n_inputs :]
    for layout in ("blocks", "dense"):
        np.testing.assert_allclose(Coupling(eff, x, layout)(rho(s)), expected, atol=1e-12)
    w = eff.dense_weights()
    edges, forward, backward = eff.edges_and_weights(backward=True)
    np.testing.assert_array_equal(forward, w[edges[:, 0], edges[:, 1]])
    np.testing.assert_array_equal(backward, w[edges[:, 1], edges[:, 0]])


def test_engines_relax_the_same_effective_network():
    net = small_world()
    devices = Devices(PRESETS["analog-6bit"], net, rng=np.random.default_rng(12))
    devices.store.program(net)
    eff = devices.effective(net, np.random.default_rng(13))
    x = np.random.default_rng(14).uniform(0, 1, (3, net.n_inputs))
    start = np.zeros((3, net.n_free))
    euler = Euler(eps=0.05, n_free=4000).relax(eff, x, start, Phase())
    ode = ODE(settle_tol=1e-7, rtol=1e-6, atol=1e-9).relax(eff, x, start, Phase())
    np.testing.assert_allclose(euler.state, ode.state, atol=1e-4)


# -- settings -----------------------------------------------------------------------------------------------------
def test_settings_load_from_presets_toml_and_dicts_and_name_bad_values(tmp_path):
    assert load_hardware("ideal").ideal and not PRESETS["rram-4bit"].ideal
    f = tmp_path / "chip.toml"
    f.write_text('preset = "digital-8bit"\n[storage]\nbits = 5\n[noise]\nread = 0.01\n')
    chip = load_hardware(f)
    assert chip.storage.bits == 5 and chip.readout.bits == 8 and chip.noise.read == 0.01
    assert make_config(hardware=str(f)).hardware == chip
    assert make_config(**make_config(hardware=str(f)).to_dict()).hardware == chip  # as stored in a run file
    for bad, message in (
        ({"storage": {"rounding": "up"}}, "storage.rounding='up'"),
        ({"variation": {"stuck": 1.5}}, "variation.stuck=1.5"),
        ({"noise": {"reed": 0.1}}, "reed"),
        ("no-such-chip", "no-such-chip"),
    ):
        with pytest.raises(HardwareError, match=message):
            load_hardware(bad)
        with pytest.raises(ConfigError, match="hardware"):
            make_config(hardware=bad)
    f.write_text("[storage\n")
    with pytest.raises(HardwareError, match="chip.toml"):
        load_hardware(f)
    with pytest.raises(ConfigError, match="CPU"):
        make_config(hardware="digital-8bit", device="cuda")


# -- training -----------------------------------------------------------------------------------------------------
def digits_config(**kw):
    values = dict(dataset="digits", topology="layered", sizes=(64, 32, 10), epochs=3, lr=(0.05,), seed=1, n_free=60)
    return make_config(**{**values, **kw})


def test_ideal_and_quantised_runs_share_initial_weights(digits):
    ideal = new_run(digits_config(), digits)
    quantised = new_run(digits_config(hardware={"storage": {"bits": 4}}), digits)
    grid = weight_levels(4, 1.0)
    for a, b in zip(ideal.network.parameters(), quantised.network.parameters()):
        np.testing.assert_array_equal(grid.snap(a), b)


def test_eight_bits_with_stochastic_rounding_trains_like_ideal_and_two_bits_do_not(digits):
    errors = {}
    for name, hardware in (("ideal", "ideal"), ("8", {"storage": {"bits": 8, "rounding": "stochastic"}}),
                           ("2", {"storage": {"bits": 2, "rounding": "stochastic"}})):
        run = train(digits_config(hardware=hardware), data=digits, progress=False)
        errors[name] = run.history["test_error"][-1]
    assert errors["ideal"] < 0.5
    assert abs(errors["8"] - errors["ideal"]) < 0.08, errors
    assert errors["2"] > errors["ideal"] + 0.15, errors


def test_a_hardware_run_resumes_exactly(digits, tmp_path):
    config = digits_config(hardware="rram-4bit", epochs=2)
    whole = train(config, data=digits, progress=False)
    first = train(make_config(**{**config.to_dict(), "epochs": 1}), data=digits, progress=False,
                  out=tmp_path / "r.h5")
    resumed = train(config, run=first, data=digits, progress=False)
    assert resumed.history["test_error"] == whole.history["test_error"]
    for a, b in zip(resumed.network.parameters(), whole.network.parameters()):
        np.testing.assert_array_equal(a, b)
    applied, intended = np.array(whole.applied_rms), np.array(whole.rate_rms)
    assert applied.shape == intended.shape and not np.allclose(applied, intended)


def test_the_documented_example_file_loads():
    from pathlib import Path

    chip = load_hardware(Path(__file__).resolve().parents[1] / "docs" / "chip.toml")
    assert chip.storage.bits == 6 and chip.storage.w_max == 0.5 and chip.variation.stuck == 0.001


def test_command_line_hardware_options_go_on_top_of_the_configuration_file(tmp_path):
    from click.testing import CliRunner

    from neurosim.cli import main
    from neurosim.store import load_run

    settings = tmp_path / "run.toml"
    settings.write_text('sizes = [64, 8, 10]\ntopology = "layered"\nepochs = 1\nn_train = 40\nn_test = 20\n'
                        'hardware = "digital-8bit"\n')
    out = tmp_path / "r.h5"
    result = CliRunner().invoke(main, ["train", "--config", str(settings), "--weight-bits", "4", "--rounding",
                                       "stochastic", "--quiet", "-o", str(out)])
    assert result.exit_code == 0, result.output
    hardware = load_run(out).config["hardware"]
    assert hardware["storage"]["bits"] == 4 and hardware["storage"]["rounding"] == "stochastic"
    assert hardware["readout"]["bits"] == 8  # from the preset the file names
    bad = CliRunner().invoke(main, ["train", "--weight-bits", "1", "-o", str(tmp_path / "b.h5")])
    assert bad.exit_code != 0 and "bits=1" in bad.output and not (tmp_path / "b.h5").exists()


def test_one_weight_range_per_crossbar(tmp_path):
    """storage.w_max as a list: each parameter array on its own grid (step w_max_k / (2^(bits-1) - 1)), saturating
    at its own range; a list of equal ranges trains bit for bit as the single range; a list of the wrong length or
    with the conductance mapping is refused, naming the arrays."""
    from neurosim.config import ConfigError, make_config
    from neurosim.hardware import HardwareError, parameter_names
    from neurosim.training import train

    common = dict(topology="layered", sizes=(64, 12, 10), n_train=60, n_test=20, n_free=20, epochs=2, lr=(0.5,),
                  dtype="float64")
    ranges = (0.05, 0.4, 1.0, 2.0)  # weights 0-1, weights 1-2, skips (none here), biases
    run = train(make_config(**common, hardware={"storage": {"bits": 4, "w_max": list(ranges)}}), progress=False)
    assert parameter_names(run.network) == ["weights 0-1", "weights 1-2", "skip weights", "biases"]
    for w_max, param in zip(ranges, run.network.parameters()):
        if param.size:
            step = w_max / (2**3 - 1)  # 15 sign-magnitude levels, -7 .. 7 steps
            np.testing.assert_allclose(param / step, np.round(param / step), atol=1e-9)  # on its own grid
            assert np.abs(param).max() <= w_max + 1e-12
    assert np.abs(run.network.blocks[0].weight).max() == pytest.approx(0.05)  # the narrow array saturates
    same = train(make_config(**common, hardware={"storage": {"bits": 4, "w_max": [0.7] * 4}}), progress=False)
    one = train(make_config(**common, hardware={"storage": {"bits": 4, "w_max": 0.7}}), progress=False)
    for a, b in zip(same.network.parameters(), one.network.parameters(), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(HardwareError, match="3 ranges; this network has 4 parameter arrays: weights 0-1"):
        train(make_config(**common, hardware={"storage": {"bits": 4, "w_max": [1.0, 1.0, 1.0]}}), progress=False)
    with pytest.raises(ConfigError, match="mapping='conductance'"):
        make_config(**common, hardware={"storage": {"bits": 4, "w_max": [1.0] * 4, "mapping": "conductance"}})


def test_the_old_name_of_device_to_device_variation_still_reads(tmp_path):
    """variation.device (before 2026-12) is read as variation.device_to_device, in a dict, a TOML file and a
    training configuration stored in a run file; both names at once are refused, naming both."""
    from neurosim.config import make_config

    new = hw(variation={"device_to_device": 0.1, "mismatch": 0.02})
    assert hw(variation={"device": 0.1, "mismatch": 0.02}) == new and new.variation.device_to_device == 0.1
    (tmp_path / "old.toml").write_text("[variation]\ndevice = 0.1\nmismatch = 0.02\n")
    assert load_hardware(tmp_path / "old.toml") == new
    stored = make_config(hardware={**Hardware().to_dict(), "variation": {"device": 0.1, "mismatch": 0.02,
                                                                          "stuck": 0.0, "stuck_high": 0.5}})
    assert stored.hardware == new
    with pytest.raises(HardwareError, match="variation.device is the old name of variation.device_to_device"):
        hw(variation={"device": 0.1, "device_to_device": 0.2})
