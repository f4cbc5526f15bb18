"""Pulse-response device models (neurosim.hardware.response): each model's step after n pulses against its closed
form or a loop written here, bounds, asymmetry and the spreads' statistics, the pulse trains of an update, the
ideal setting unchanged, exact resume under every model, and one-line errors for bad settings."""

import numpy as np
import pytest
from conftest import skip_net

from neurosim.config import ConfigError, make_config
from neurosim.hardware import Devices, HardwareError, load_hardware
from neurosim.hardware.response import MODELS, ResponseDraws, pulse
from neurosim.training import train

ACTIVE = [name for name in MODELS if name != "none"]


def response(model, **values):
    return load_hardware({"response": {"model": model, **values}}).response


def draws(model_response, shape=(1,)):
    """The draws of one parameter array of ``shape``, no symmetry."""
    return ResponseDraws.draw(model_response, [shape], lambda k, a: a, np.random.default_rng(0))


def pulses(model_response, w0, n, up=True):
    """w after n pulses from w0, through neurosim's pulse()."""
    d = draws(model_response, np.shape(w0))
    w = np.asarray(w0, dtype=np.float64)
    for _ in range(n):
        w = pulse(model_response, w, np.full(w.shape, 1.0 if up else -1.0), d, 0)
    return w


@pytest.mark.parametrize("up", [True, False])
def test_n_pulses_of_the_affine_models_reach_their_closed_forms(up):
    """constant: w0 + n s; soft bounds: b + (w0 - b) (1 - s / b)^n; linear (gamma g): b/g + (w0 - b/g) (1 - s g / b)^n,
    with s = +-dw_min (1 +- beta) and b the bound the pulses move to."""
    w0, n, dw, beta = np.array([-0.3, 0.0, 0.4]), 37, 0.01, 0.2
    d = 1.0 if up else -1.0
    s = d * dw * (1 + d * beta)
    b = 1.0 if up else -0.8
    np.testing.assert_allclose(pulses(response("constant", dw_min=dw, up_down=beta, w_min=-0.8), w0, n, up),
                               np.clip(w0 + n * s, -0.8, 1.0), rtol=1e-12)
    np.testing.assert_allclose(pulses(response("soft-bounds", dw_min=dw, up_down=beta, w_min=-0.8), w0, n, up),
                               b + (w0 - b) * (1 - s / b) ** n, rtol=1e-12)
    g = 0.6
    linear = response("linear", dw_min=dw, up_down=beta, w_min=-0.8, gamma_up=g, gamma_down=g)
    np.testing.assert_allclose(pulses(linear, w0, n, up), b / g + (w0 - b / g) * (1 - s * g / b) ** n, rtol=1e-12)


@pytest.mark.parametrize("up", [True, False])
def test_n_pulses_of_the_exponential_and_power_models_follow_a_loop_written_here(up):
    w0, n = np.array([-0.5, 0.1, 0.7]), 25
    exp = response("exponential", dw_min=0.02, w_min=-1.0, w_max=1.0)
    w = w0.copy()
    for _ in range(n):  # aihwkit's ExpStepDevice: z = 2 a w / (b_max - b_min) + b, y = 1 - A exp(d gamma z)
        z = 2 * 0.244 * w / 2.0 + 0.2425
        y = 1 - (0.00081 * np.exp(12.44625 * z) if up else 0.36833 * np.exp(-12.78785 * z))
        w = np.clip(w + (1 if up else -1) * 0.02 * np.maximum(y, 0), -1.0, 1.0)
    np.testing.assert_allclose(pulses(exp, w0, n, up), w, rtol=1e-12)
    power = response("power", dw_min=0.03, w_min=-1.0, w_max=1.0, pow_gamma=1.5, pow_up_down=0.2)
    w = w0.copy()
    for _ in range(n):  # omega = (b_max - w) / (b_max - b_min); up: omega^(g (1 + .2)), down: (1 - omega)^(g (1 - .2))
        omega = (1.0 - w) / 2.0
        w = np.clip(w + (0.03 * omega**1.8 if up else -0.03 * (1 - omega) ** 1.2), -1.0, 1.0)
    np.testing.assert_allclose(pulses(power, w0, n, up), w, rtol=1e-12)


@pytest.mark.parametrize("model", ACTIVE)
def test_bounds_hold_for_every_device(model):
    r = response(model, dw_min=0.05, w_max_dtod=0.3, w_min_dtod=0.3, dw_min_dtod=0.3, dw_min_std=0.5)
    d = draws(r, (2000,))
    rng = np.random.default_rng(1)
    w = np.zeros(2000)
    for direction in (1.0, -1.0):
        for _ in range(300):
            w = pulse(r, w, np.full(2000, direction), d, 0, rng.standard_normal(2000))
            assert np.all(w <= d.b_max[0]) and np.all(w >= d.b_min[0])
    assert np.all(d.b_min[0] < 0) and np.all(d.b_max[0] > 0)


def test_asymmetry_and_spreads_have_the_configured_statistics():
    r = response("constant", dw_min=0.01, up_down=0.25, up_down_dtod=0.05, dw_min_dtod=0.1, w_max_dtod=0.2,
                 w_min_dtod=0.1, w_min=-0.5, dw_min_std=0.3)
    n = 200_000
    d = draws(r, (n,))
    assert np.mean(d.beta[0]) == pytest.approx(0.25, abs=1e-3) and np.std(d.beta[0]) == pytest.approx(0.05, rel=0.02)
    assert np.std(d.dw_min[0]) / 0.01 == pytest.approx(0.1, rel=0.02)
    assert np.mean(d.b_max[0]) == pytest.approx(1.0, abs=2e-3) and np.std(d.b_max[0]) == pytest.approx(0.2, rel=0.02)
    assert np.std(d.b_min[0]) == pytest.approx(0.05, rel=0.02)
    quiet = response("constant", dw_min=0.01, up_down=0.25)
    one = draws(quiet)
    up = pulse(quiet, np.zeros(1), np.ones(1), one, 0)[0]
    down = -pulse(quiet, np.zeros(1), -np.ones(1), one, 0)[0]
    assert up / down == pytest.approx(1.25 / 0.75, rel=1e-12)
    steps = pulse(r, np.zeros(n), np.ones(n), d, 0, np.random.default_rng(2).standard_normal(n))
    relative = steps / (d.dw_min[0] * (1 + d.beta[0]))
    assert np.std(relative) == pytest.approx(0.3, rel=0.02) and np.mean(relative) == pytest.approx(1.0, abs=3e-3)


def test_states_are_derived_from_the_model():
    assert response("constant", dw_min=0.0016).states == pytest.approx(1250)
    assert response("soft-bounds", dw_min=0.002, w_min=-0.75, w_max=1.25).states == pytest.approx(1000)
    assert response("constant", dw_min=1 / 32, w_min=-1.0, w_max=1.0).bits == pytest.approx(6)


def test_an_update_is_a_pulse_train_of_its_size_in_steps():
    """Devices.write: 2.4 steps -> 2 pulses (nearest), -7 steps -> 7 down pulses, 100 steps -> max_pulses (31),
    each pulse's step from the weight it meets (soft bounds)."""
    net = skip_net(intralayer=False)
    hardware = load_hardware({"response": {"model": "soft-bounds", "dw_min": 0.01}})
    devices = Devices(hardware, net)
    params = net.parameters()
    before = [p.copy() for p in params]
    updates = [np.zeros_like(p) for p in params]
    k = len(params) - 1  # the biases: every entry a device
    updates[k][:3] = [0.024, -0.07, 1.0]
    devices.write(net, updates)
    expected = []
    for w0, n, up in ((before[k][0], 2, True), (before[k][1], 7, False), (before[k][2], 31, True)):
        b = 1.0 if up else -1.0
        s = 0.01 if up else -0.01
        expected.append(b + (w0 - b) * (1 - s / b) ** n)
    np.testing.assert_allclose(net.parameters()[k][:3], expected, rtol=1e-12)
    np.testing.assert_array_equal(net.parameters()[k][3:], before[k][3:])


def digits_config(**values):
    return make_config(dataset="digits", n_train=200, n_test=100, topology="layered", sizes=(64, 12, 10), epochs=2,
                       n_free=12, n_nudged=3, dtype="float64", lr=(0.1,), **values)


def test_no_response_is_todays_run_bit_for_bit():
    plain = train(digits_config(hardware={"storage": {"bits": 6}}), progress=False)
    none = train(digits_config(hardware={"storage": {"bits": 6}, "response": {"model": "none"}}), progress=False)
    assert none.history["test_error"] == plain.history["test_error"]
    for a, b in zip(none.network.parameters(), plain.network.parameters()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("model", ACTIVE)
def test_a_run_under_every_model_resumes_exactly(model, tmp_path):
    hardware = {"storage": {"rounding": "stochastic"}, "noise": {"write": 0.2},
                "response": {"model": model, "dw_min": 0.01, "up_down": 0.1, "dw_min_dtod": 0.2, "dw_min_std": 0.3,
                             "w_max_dtod": 0.1}}
    config = digits_config(hardware=hardware)
    whole = train(config, progress=False)
    first = train(make_config(**{**config.to_dict(), "epochs": 1}), progress=False, out=tmp_path / "r.h5")
    resumed = train(config, run=first, progress=False)
    assert resumed.history["test_error"] == whole.history["test_error"]
    for a, b in zip(resumed.network.parameters(), whole.network.parameters()):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(whole.applied_rms, whole.rate_rms)  # the devices changed what was written


@pytest.mark.parametrize("values, needle", [
    ({"model": "constant", "dw_min_dtod": -0.1}, "dw_min_dtod=-0.1"),
    ({"model": "soft-bounds", "w_min": 0.2}, "w_min=0.2"),
    ({"model": "soft-bounds", "w_max": -0.2}, "w_max=-0.2"),
    ({"model": "linear", "up_down": 1.5}, "up_down=1.5"),
    ({"model": "softbounds"}, "'softbounds'"),
])
def test_bad_settings_are_one_line_naming_the_value(values, needle):
    with pytest.raises(HardwareError, match=needle) as err:
        load_hardware({"response": values})
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="bits = 0"):
        digits_config(hardware={"storage": {"bits": 4}, "response": {"model": "constant"}})


def test_every_preset_names_where_its_numbers_come_from():
    from neurosim.hardware import PRESETS, PROVENANCE

    assert set(PROVENANCE) == set(PRESETS)
    fitted = [name for name, hardware in PRESETS.items() if hardware.response.active]
    assert len(fitted) >= 5
    for name in fitted:
        assert "aihwkit" in PROVENANCE[name] and ("nature.com" in PROVENANCE[name] or "ieeexplore" in PROVENANCE[name]
                                                  or "doi:" in PROVENANCE[name]), name
        assert load_hardware(name) == PRESETS[name] and PRESETS[name].response.states > 100
