"""Single-sided differential pairs (hardware.pair): every device only potentiated, the pair refreshed near
saturation. Each write against the pulses worked out by hand or the closed form of the device's step; the device
state stored in the run file, checked on load and resumed exactly; the default scheme bit for bit today's."""

import h5py
import numpy as np
import pytest

from neurosim.build import controller_of, new_run
from neurosim.config import make_config
from neurosim.hardware import Devices, HardwareError, load_hardware, pair_names
from neurosim.runcheck import inconsistency
from neurosim.store import load_run
from neurosim.training import train
from conftest import restamp, whole_and_resumed

STEP = 1 / 7  # 4 bits over +-1: 15 levels, a step of 2 / 14


def chip(pair: dict, **storage) -> Devices:
    """A one-array chip of 8 entries on the 4-bit grid (nearest rounding unless said) with ``pair``'s settings."""
    hardware = load_hardware({"storage": {"bits": 4, "w_max": 1.0, **storage},
                              "pair": {"scheme": "single-sided", **pair}})
    return Devices.of_arrays(hardware, [(8,)])


def test_each_update_climbs_one_device_by_whole_steps_and_a_saturated_device_loses_it():
    devices = chip({"refresh_upper": 1.0})  # never refreshed
    plus = np.array([2, 0, 0, 3, 7, 7, 1, 4]) * STEP
    minus = np.array([0, 1, 2, 0, 1, 0, 1, 6]) * STEP
    weight, held = plus - minus, minus.copy()
    devices.hold([held])
    steps = np.array([2, 1, -3, -0.4, 1, -2, 0.6, -1])  # in grid steps; -0.4 rounds to none, 0.6 to one
    changes = devices.write_arrays([weight], [steps * STEP])
    n = np.array([2, 1, -3, 0, 1, -2, 1, -1])
    plus_after = np.minimum(plus + np.maximum(n, 0) * STEP, 1.0)  # a device cannot pass w_max
    minus_after = np.minimum(minus + np.maximum(-n, 0) * STEP, 1.0)
    np.testing.assert_allclose(held, minus_after, atol=1e-12)
    np.testing.assert_allclose(weight, plus_after - minus_after, atol=1e-12)
    np.testing.assert_allclose(changes[0], (plus_after - minus_after) - (plus - minus), atol=1e-12)
    assert np.all(held >= minus) and np.all(weight + held >= plus - 1e-12)  # only ever up
    assert weight[4] == pytest.approx(6 * STEP)  # saturated plus device: the +1 step is lost (6 steps, not 7)
    assert devices.refreshed[0] == 0


def test_a_pair_is_refreshed_when_its_larger_device_passes_the_upper_and_its_smaller_the_lower_threshold():
    devices = chip({"refresh_upper": 0.75, "refresh_lower": 0.25})
    plus = np.array([6, 6, 3, 1, 6, 0, 2, 5]) * STEP
    minus = np.array([3, 1, 2, 6, 6, 0, 2, 1]) * STEP
    weight, held = plus - minus, minus.copy()
    devices.hold([held])
    devices.write_arrays([weight], [np.zeros(8)])
    # larger > 0.75 (6/7 = 0.857 is, 5/7 = 0.714 is not) and smaller > 0.25 (2/7 = 0.286 is, 1/7 is not)
    refresh = np.array([True, False, False, False, True, False, False, False])
    np.testing.assert_allclose(weight, plus - minus, atol=1e-12)  # a refresh keeps the weight
    np.testing.assert_allclose(held, np.where(refresh, np.maximum(minus - plus, 0), minus), atol=1e-12)
    assert devices.refreshed[0] == refresh.sum()


def test_under_soft_bounds_each_device_follows_the_closed_form_of_its_up_steps():
    """Soft bounds, no spreads: n up pulses from g0 take a device to b - (b - g0)(1 - dw_min / b)^n (b = w_max)."""
    hardware = load_hardware({"response": {"model": "soft-bounds", "dw_min": 0.02, "w_min": -1.0, "w_max": 1.0},
                              "storage": {"w_max": 0.5}, "pair": {"scheme": "single-sided", "refresh_upper": 1.0}})
    devices = Devices.of_arrays(hardware, [(4,)])
    plus, minus = np.array([0.1, 0.0, 0.3, 0.2]), np.array([0.0, 0.2, 0.1, 0.4])  # weight units (w_max 0.5)
    weight, held = plus - minus, minus.copy()
    devices.hold([held])
    n = np.array([5, -3, 12, -7])
    devices.write_arrays([weight], [n * 0.02 * 0.5])  # whole nominal steps dw_min * w_max
    def climbed(g, count):
        return 0.5 * (1 - (1 - g / 0.5) * (1 - 0.02) ** count)
    np.testing.assert_allclose(held, np.where(n < 0, climbed(minus, -n), minus), rtol=1e-12)
    np.testing.assert_allclose(weight + held, np.where(n > 0, climbed(plus, n), plus), rtol=1e-12)


def test_the_default_scheme_keeps_no_device_state_and_refuses_some():
    hardware = load_hardware({"storage": {"bits": 4}})
    devices = Devices.of_arrays(hardware, [(8,)])
    with pytest.raises(HardwareError, match="pair.scheme='differential' keeps no device state"):
        devices.hold([np.zeros(8)])
    with pytest.raises(HardwareError, match="shapes"):
        chip({}).hold([np.zeros(7)])
    with pytest.raises(HardwareError, match="pair.scheme='single'"):
        load_hardware({"pair": {"scheme": "single"}})
    with pytest.raises(HardwareError, match="mapping"):
        load_hardware({"storage": {"bits": 4, "mapping": "conductance"}, "pair": {"scheme": "single-sided"}})


def config_of(scheme, **kw):
    hardware = {"storage": {"bits": 5, "rounding": "stochastic"}, "noise": {"write": 0.3},
                "pair": {"scheme": scheme, "refresh_upper": 0.5, "refresh_lower": 0.1}}
    values = dict(dataset="digits", topology="layered", sizes=(64, 16, 10), epochs=2, lr=(0.2,), n_train=300,
                  n_test=100, persistent=False, rule="bp", hardware=hardware)
    return make_config(**{**values, **kw})


def test_a_single_sided_run_stores_its_devices_climbs_them_and_resumes_exactly(tmp_path, digits):
    start = new_run(config_of("single-sided"), digits)
    assert sorted(start.pairs) == sorted(pair_names(start.network))
    for name, param in zip(pair_names(start.network), start.network.parameters()):
        np.testing.assert_array_equal(start.pairs[name], np.maximum(-param, 0))  # programmed on one device each
    whole, resumed = whole_and_resumed(lambda epochs: config_of("single-sided", epochs=epochs), tmp_path)
    stored = load_run(tmp_path / "whole.h5")
    for name in whole.pairs:
        np.testing.assert_array_equal(resumed.pairs[name], whole.pairs[name])
        np.testing.assert_array_equal(stored.pairs[name], whole.pairs[name])
    assert np.abs(whole.pairs["L0-L1"]).max() > 0
    with h5py.File(tmp_path / "whole.h5", "r") as f:
        assert sorted(f["pairs"]) == sorted(pair_names(whole.network))


def test_every_step_of_a_run_only_potentiates_or_refreshes(digits):
    config = config_of("single-sided")
    run = new_run(config, digits)
    controller = controller_of(config, run.network, learned=run.rule_parameters, pairs=run.pairs)
    rng, noise = np.random.default_rng(0), np.random.default_rng(1)
    refreshed = 0
    for batch in range(15):
        index = slice(20 * batch, 20 * batch + 20)
        minus = [m.copy() for m in run.pairs.values()]
        plus = [p + m for p, m in zip(run.network.parameters(), run.pairs.values())]
        x, target = digits.x_train[index].astype(np.float32), np.eye(10, dtype=np.float32)[digits.y_train[index]]
        controller.step(run.network, x, target, rng, noise_rng=noise)
        for p0, m0, w, m in zip(plus, minus, run.network.parameters(), run.pairs.values()):
            climbed = (w + m >= p0 - 1e-6) & (m >= m0 - 1e-6)
            reset = np.isclose(m, np.maximum(-w, 0), atol=1e-6) & np.isclose(w + m, np.maximum(w, 0), atol=1e-6)
            assert np.all(climbed | reset)
            refreshed += int(np.count_nonzero(~climbed))
    assert controller.hardware.refreshed.sum() >= refreshed > 0  # refreshes happened, and only there


def test_the_differential_scheme_is_the_run_it_always_was(digits):
    runs = [train(config_of(None, hardware=hardware), data=digits, progress=False)
            for hardware in ({"storage": {"bits": 5, "rounding": "stochastic"}, "noise": {"write": 0.3}},
                             {"storage": {"bits": 5, "rounding": "stochastic"}, "noise": {"write": 0.3},
                              "pair": {"scheme": "differential"}})]
    for a, b in zip(runs[0].network.parameters(), runs[1].network.parameters()):
        np.testing.assert_array_equal(a, b)
    assert runs[0].pairs == runs[1].pairs == {}


def test_a_run_whose_pair_state_does_not_fit_is_refused(tmp_path, digits):
    path = tmp_path / "r.h5"
    train(config_of("single-sided", epochs=1), out=path, data=digits, progress=False)
    run = load_run(path)
    assert inconsistency(run) is None
    run.pairs["bias"] = -run.pairs["bias"] - 1
    assert "negative conductance" in inconsistency(run)
    del run.pairs["bias"]
    assert "pair state" in inconsistency(run)
    with h5py.File(path, "r+") as f:
        f["pairs/L0-L1"][0, 0] = -1.0
    restamp(path)
    with pytest.raises(Exception, match="negative conductance"):
        load_run(path)


def test_single_sided_pairs_lose_their_skip_devices_with_the_skips_and_resume_exactly(tmp_path):
    """remove_skip_after: the pair state of the skip connections goes with them, the rest is kept, in a run resumed
    across the removal too."""
    def config(epochs):
        return make_config(dataset="digits", sizes=(64, 12, 12, 10), topology="small-world", epochs=epochs,
                           remove_skip_after=1, n_train=120, n_test=40, persistent=False,
                           hardware={"storage": {"bits": 6, "rounding": "stochastic"},
                                     "pair": {"scheme": "single-sided"}})
    whole, resumed = whole_and_resumed(config, tmp_path)
    assert whole.pairs["sparse"].shape == (0,) and len(whole.network.sparse) == 0
    for name in whole.pairs:
        np.testing.assert_array_equal(resumed.pairs[name], whole.pairs[name])
    assert inconsistency(load_run(tmp_path / "whole.h5")) is None


def test_continuous_storage_climbs_by_the_update_with_write_noise_in_proportion():
    """bits 0: each device climbs by the update itself, write noise N(0, (write · update)^2) on the pulsed device
    (mean and spread within 5 standard errors over 20,000 pairs), the other device untouched."""
    hardware = load_hardware({"noise": {"write": 0.5}, "pair": {"scheme": "single-sided", "refresh_upper": 1.0}})
    devices = Devices.of_arrays(hardware, [(20_000,)])
    weight, held = np.zeros(20_000), np.full(20_000, 0.2)
    devices.hold([held])
    update = np.where(np.arange(20_000) % 2 == 0, 0.01, -0.01)
    devices.write_arrays([weight], [update], np.random.default_rng(3))
    climbed_plus = (weight + held - 0.2)[::2]
    climbed_minus = (held - 0.2)[1::2]
    for climbed in (climbed_plus, climbed_minus):
        assert abs(climbed.mean() - 0.01) < 5 * 0.005 / np.sqrt(climbed.size)
        assert abs(climbed.std() - 0.005) < 5 * 0.005 / np.sqrt(2 * climbed.size)
    np.testing.assert_array_equal(held[::2], 0.2)  # the minus device of a positive update is not touched
