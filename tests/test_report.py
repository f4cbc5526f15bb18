"""neurosim report: figures and summary from small generated runs."""

import numpy as np
import pytest
from click.testing import CliRunner

from neurosim.cli import main
from neurosim.config import make_config
from neurosim.data import Dataset
from neurosim.report import run_summary, smoothed_rates
from neurosim.store import load_run, save_run
from neurosim.training import train


@pytest.fixture(scope="module")
def runs(tmp_path_factory, digits):
    d = digits
    data = Dataset("digits", d.x_train[:200], d.y_train[:200], d.x_test[:100], d.y_test[:100], 10)
    folder = tmp_path_factory.mktemp("runs")
    paths = []
    for name, extra in (("layered", dict(topology="layered")), ("sw10", dict(rewire_n=10)),
                        ("sw40", dict(rewire_n=40))):
        config = make_config(dataset="digits", sizes=(64, 12, 12, 10), epochs=2, n_free=30, **extra)
        path = folder / f"{name}.h5"
        save_run(path, train(config, data=data, progress=False))
        paths.append(path)
    return paths


def test_report_writes_figures_and_a_summary_with_l_and_c(runs, tmp_path):
    result = CliRunner().invoke(main, ["report", *map(str, runs), "-o", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    for png in ("errors.png", "rates.png", "replaced.png"):
        assert (tmp_path / "r" / png).read_bytes()[:4] == b"\x89PNG"
    summary = (tmp_path / "r" / "summary.md").read_text()
    for path in runs:
        run = load_run(path)
        assert f"| {path.stem} | {run.topology['kind']} |" in summary
        assert f"{run.topology['path_length']:.4f} | {run.topology['clustering']:.4f}" in summary
        row = next(line for line in summary.splitlines() if line.startswith(f"| {path.stem} |"))
        h = run.history
        assert f"| {100 * min(h['test_error']):.2f} % | {h['silent_outputs'][-1]:.0f} |" in row
    assert "![replaced.png](replaced.png)" in summary
    assert "smoothed over ±25 recorded batches" in summary and "{" not in summary  # the default, written out
    missing = CliRunner().invoke(main, ["report", str(tmp_path / "none.h5")])
    assert missing.exit_code != 0 and "no such run file" in missing.output


def test_summary_numbers_are_eqs_21_to_23_of_the_recorded_rates(runs):
    run = load_run(runs[1])
    rms = np.asarray(run.rate_rms)
    total = rms.sum(axis=0)  # eq 22
    deep = np.sort(total[:-1])  # eq 23 with 2 deep pairs: the faster over the slower
    assert run_summary("x", run)["spread"] == pytest.approx(deep[1] / deep[0])
    batches, smooth = smoothed_rates(run, n=1)
    np.testing.assert_allclose(smooth[5], rms[4:7].mean(axis=0))  # eq 21, window 2n + 1 = 3
    np.testing.assert_array_equal(batches, run.rate_batches)


def test_applied_updates_are_shown_beside_the_proposed_ones(tmp_path, digits):
    """The share of each pair's proposed update the store applied (summed eq 20, applied over proposed): 100 %
    without hardware, what the recorded rates say under 6-bit nearest rounding; the summary and rates.png carry it."""
    from neurosim.metrics import applied_share
    from neurosim.report import smoothed_applied

    np.testing.assert_allclose(applied_share([[2.0, 1.0, 0.0], [2.0, 3.0, 0.0]], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]),
                               [0.25, 0.25, np.nan])
    d = digits
    data = Dataset("digits", d.x_train[:200], d.y_train[:200], d.x_test[:100], d.y_test[:100], 10)
    quantised = train(make_config(dataset="digits", sizes=(64, 12, 12, 10), epochs=1, n_free=30,
                                  hardware={"storage": {"bits": 6}}), data=data, progress=False)
    share = applied_share(quantised.rate_rms, quantised.applied_rms)
    expected = np.sum(quantised.applied_rms, axis=0) / np.sum(quantised.rate_rms, axis=0)
    np.testing.assert_allclose(share, expected)
    assert np.all(share < 1) and run_summary("q", quantised)["applied"] == pytest.approx(share)
    assert smoothed_applied(quantised) is not None
    path = tmp_path / "q.h5"
    save_run(path, quantised)
    result = CliRunner().invoke(main, ["report", str(path), "-o", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    row = next(line for line in (tmp_path / "r" / "summary.md").read_text().splitlines() if line.startswith("| q |"))
    assert row.endswith(" | " + " / ".join(f"{100 * v:.0f} %" for v in share) + " |"), row
    ideal = train(make_config(dataset="digits", sizes=(64, 12, 12, 10), epochs=1, n_free=30), data=data,
                  progress=False)
    assert smoothed_applied(ideal) is None and run_summary("i", ideal)["applied"] == pytest.approx([1, 1, 1])


def test_run_labels_leave_out_the_settings_all_runs_share():
    from neurosim.plots import distinct_parts

    names = ["rule=eqprop, topology=layered, lr=[0.05, 0.1], bits=2", "rule=eqprop, topology=small-world, "
             "lr=[0.05, 0.1], bits=2", "rule=eqprop, topology=layered, lr=[0.05, 0.1], bits=8"]
    assert list(distinct_parts(names).values()) == ["topology=layered, bits=2", "topology=small-world, bits=2",
                                                    "topology=layered, bits=8"]  # a list value stays whole
    assert distinct_parts(["a.h5", "b.h5"]) == {"a.h5": "a.h5", "b.h5": "b.h5"}  # not key=value lists
    assert distinct_parts(["bits=2, seed=0"]) == {"bits=2, seed=0": "bits=2, seed=0"}  # one run: all of it


def test_a_run_whose_corrections_are_all_zero_is_drawn_without_a_warning(tmp_path, recwarn):
    """At too few bits every weight can stay at zero: its panel says so, the log axis comes from the others."""
    from types import SimpleNamespace

    from neurosim.plots import layer_rates

    run = SimpleNamespace(topology={"kind": "layered", "n_rewired": 0}, config={"seed": 0})
    batches = np.arange(5)
    smoothed = {"bits=2": (batches, np.zeros((5, 2))), "bits=8": (batches, np.full((5, 2), 1e-3))}
    layer_rates({"bits=2": run, "bits=8": run}, smoothed, tmp_path / "rates.png")
    assert (tmp_path / "rates.png").stat().st_size > 0
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]


def test_many_runs_are_drawn_in_a_grid_titled_by_what_differs(tmp_path, digits):
    """Issue 42, item 7: six runs were six panels in one 2,500-pixel row, each titled with the same settings; now
    a grid of at most 4 a row, each titled with its name and the settings in which the runs differ."""
    import matplotlib.image

    from neurosim.plots import PANELS_PER_ROW, layer_rates, run_titles

    small = Dataset("digits", digits.x_train[:40], digits.y_train[:40], digits.x_test[:20], digits.y_test[:20], 10)
    runs = {f"r{k}": train(make_config(sizes=(64, 6, 10), n_free=5, epochs=1, n_train=40, n_test=20, seed=k,
                                       lr=(0.01 * (k + 1),)), data=small, progress=False) for k in range(6)}
    titles = run_titles(runs)
    assert titles["r0"] == "r0: lr=0.01, seed=0" and titles["r5"] == "r5: lr=0.06, seed=5"
    smoothed = {name: smoothed_rates(run, 1) for name, run in runs.items()}
    png = layer_rates(runs, smoothed, tmp_path / "rates.png")
    height, width = matplotlib.image.imread(png).shape[:2]
    assert PANELS_PER_ROW == 4 and 1.2 < width / height < 2.2  # 4 panels over 2 rows, not 6 in one row (~5.8)
