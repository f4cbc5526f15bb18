"""A trained network tested on modelled chips (neurosim evaluate): drift and its read noise against their
formulas, the ideal chip against the run's own evaluation, reproducible chips, and the command."""

import math

import h5py
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import skip_net

from neurosim.build import controller_of
from neurosim.cli import main
from neurosim.config import make_config
from neurosim.data import load_dataset
from neurosim.chips import evaluate_on_chips, parse_times
from neurosim.hardware import Devices, load_hardware
from neurosim.hardware.drift import Drift
from neurosim.training import evaluate, train


def test_times_are_read_with_their_units():
    assert parse_times("0,1h,1d,1y") == (0.0, 3600.0, 86400.0, 365.25 * 86400)
    assert parse_times("30, 2m") == (30.0, 120.0)
    for bad in ("1x", "1h,,2h", "-1h", "1h,60m"):
        with pytest.raises(ValueError, match="drift time"):
            parse_times(bad)


def test_a_power_law_drift_shrinks_every_weight_by_its_formula():
    """nu = 0.1 for every device, no read noise: W(t) = W ((t + t0) / t0)^-0.1 (both devices of a pair drift alike)."""
    net = skip_net(intralayer=False)
    devices = Devices(load_hardware({"drift": {"model": "power-law", "nu": 0.1}}), net)
    rng = np.random.default_rng(0)
    for time in (0.0, 3600.0, 3.15e7):
        drifted = devices.weights_at(net, time, np.random.default_rng(1), rng)
        for w, stored in zip(drifted, net.parameters()):
            np.testing.assert_allclose(w, stored * ((time + 20.0) / 20.0) ** -0.1, rtol=1e-12, atol=1e-15)


def test_the_pcm_model_follows_aihwkits_formulas():
    """At x = g / g_max = 0.5: programming noise (0.26348 + 1.9650 x - 1.1731 x^2) / 25 of g_max; nu mean
    clip(-0.0155 ln x + 0.0244, 0.049, 0.1) with spread clip(-0.0125 ln x - 0.0059, 0.008, 0.045); 1/f noise
    Q sqrt(ln((t + t0 + t_read) / (2 t_read))) with Q = min(0.0088 / x^0.65, 0.2)."""
    pcm, n, x = Drift(model="pcm"), 400_000, 0.5
    rng = np.random.default_rng(3)
    g = np.full(n, x)
    programmed = pcm.programmed(g, 1.0, rng.standard_normal(n))
    assert np.std(programmed) == pytest.approx((0.26348 + 1.9650 * x - 1.1731 * x**2) / 25, rel=0.01)
    nu = pcm.exponent(g, 1.0, rng.standard_normal(n))
    assert np.mean(nu) == pytest.approx(0.049, rel=0.01) and np.std(nu) == pytest.approx(0.008, rel=0.02)
    time = 86400.0
    read = pcm.at(g, 1.0, time, np.zeros(n), rng.standard_normal(n))
    q = min(0.0088 / x**0.65, 0.2)
    assert np.std(read) / x == pytest.approx(q * math.sqrt(math.log((time + 20 + 250e-9) / 500e-9)), rel=0.01)
    small = pcm.exponent(np.full(n, 0.01), 1.0, rng.standard_normal(n))  # low conductances drift faster
    assert np.mean(small) > np.mean(nu) + 0.02


@pytest.fixture(scope="module")
def digits_run():
    config = make_config(dataset="digits", n_train=500, n_test=120, topology="layered", sizes=(64, 32, 10), epochs=5,
                         n_free=20, n_nudged=4, lr=(0.2,), persistent=False)
    return train(config, progress=False)


def test_the_ideal_chip_is_the_runs_own_evaluation(digits_run):
    config = make_config(**digits_run.config)
    data = load_dataset(config.dataset, None, config.n_train, config.n_test)
    own = evaluate(controller_of(config, digits_run.network, digits_run.edges), digits_run.network,
                   data.x_test.astype(config.dtype), data.y_test)
    chip = evaluate_on_chips(digits_run, "ideal", times=(0.0, 3600.0))
    assert np.all(chip.errors == own.error) and own.error < 0.4


def test_chips_differ_and_the_same_seed_gives_the_same_chips(digits_run):
    hardware = {"storage": {"bits": 5}, "variation": {"device_to_device": 0.3}, "drift": {"model": "pcm"}}
    a = evaluate_on_chips(digits_run, hardware, times=(0.0, 3.15e7), chips=3, seed=4)
    b = evaluate_on_chips(digits_run, hardware, times=(0.0, 3.15e7), chips=3, seed=4)
    np.testing.assert_array_equal(a.errors, b.errors)
    assert len(set(a.errors[:, 0])) > 1 and a.spread[0] > 0


def test_the_command_writes_a_table_a_file_and_a_figure(digits_run, tmp_path):
    from neurosim.store import save_run

    save_run(tmp_path / "r.h5", digits_run)
    cli = CliRunner()
    done = cli.invoke(main, ["evaluate", str(tmp_path / "r.h5"), "--hardware", "pcm-joshi2020", "--drift-time",
                             "0,1d", "--repeats", "2"])
    assert done.exit_code == 0, done.output
    assert "1 d |" in done.output and (tmp_path / "r-evaluate.png").stat().st_size > 10_000
    with h5py.File(tmp_path / "r-evaluate.h5") as f:
        assert f["errors"].shape == (1, 2, 2) and list(f["times"]) == [0.0, 86400.0]
    bits = cli.invoke(main, ["evaluate", str(tmp_path / "r.h5"), "--hardware", "ideal", "--weight-bits", "3,8", "-o",
                             str(tmp_path / "b.h5")])
    assert bits.exit_code == 0, bits.output
    rows = {line.split("|")[0].strip(): float(line.split("|")[2]) for line in bits.output.splitlines() if "bits |" in line}
    assert rows["3 bits"] > rows["8 bits"]  # a 3-bit store loses what an 8-bit one keeps
    with h5py.File(tmp_path / "b.h5") as f:
        assert list(f["bits"]) == [3, 8] and f["errors"].shape == (2, 1, 1)
    for args, needle in ((["--drift-time", "1x"], "drift time '1x'"), (["--hardware", "pcm-joshi"], "pcm-joshi")):
        bad = cli.invoke(main, ["evaluate", str(tmp_path / "r.h5"), "--hardware", "ideal", *args])
        assert bad.exit_code != 0 and needle in bad.output and "Traceback" not in bad.output


def test_global_drift_compensation_undoes_a_uniform_drift(digits_run):
    """A power-law drift of one exponent for every device scales every weight alike: compensated, the chip a year
    on is the chip at once (to rounding), uncompensated it is not."""
    hardware = {"drift": {"model": "power-law", "nu": 0.2}}
    plain = evaluate_on_chips(digits_run, hardware, times=(0.0, 3.15e7))
    fixed = evaluate_on_chips(digits_run, hardware, times=(0.0, 3.15e7), compensate=True)
    assert fixed.errors[0, 1] == fixed.errors[0, 0] == plain.errors[0, 0]
    assert plain.errors[0, 1] != plain.errors[0, 0]
