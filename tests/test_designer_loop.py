"""The designer's loop end to end on a small MNIST-shaped network (issue 42): train -> info -> export -> ngspice
-> waveform, each step checked against the one before it. Real MNIST from ../shared/data/mnist (skipped, saying
where it looked, without it)."""

import re
import subprocess

from click.testing import CliRunner

from neurosim.cli import main
from neurosim.store import load_run
from neurosim.waveform import read_data


def test_train_info_export_ngspice_waveform_agree(tmp_path, mnist_dir, ngspice, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cli = CliRunner()
    trained = cli.invoke(main, ["train", "--dataset", "mnist", "--data-dir", str(mnist_dir), "--sizes", "784-16-10",
                                "--topology", "layered", "--n-train", "500", "--n-test", "50", "--epochs", "2",
                                "--engine", "fixedpoint", "--n-free", "20", "--lr", "0.05", "--quiet", "-o", "r.h5"])
    assert trained.exit_code == 0, trained.output
    run = load_run("r.h5")
    said = float(re.search(r"test error ([0-9.]+) %", trained.output).group(1))
    assert said == round(100 * run.history["test_error"][-1], 2)  # train's line is the file's last epoch

    info = cli.invoke(main, ["info", "r.h5"])
    assert info.exit_code == 0 and "2/2 epochs" in info.output and "784-16-10" in info.output
    last_epoch = [line for line in info.output.splitlines() if re.match(r"\s+2\s", line)][0]
    assert f"{100 * run.history['test_error'][-1]:.2f}%" in last_epoch  # info shows the file's numbers

    exported = cli.invoke(main, ["export", "r.h5", "--example", "4", "-o", "loop/ex4.cir", "--t-stop", "100"])
    assert exported.exit_code == 0, exported.output
    note, wrote = exported.output.splitlines()
    assert "810 nodes (26 free)" in note  # the netlist is the run's network: 784 + 16 + 10
    text = (tmp_path / "loop" / "ex4.cir").read_text()
    assert len(re.findall(r"^Xn_", text, re.M)) == 26 and len(re.findall(r"^Xin_", text, re.M)) == 784

    command = wrote.split("`")[1]  # as printed, from here
    assert subprocess.run(["bash", "-c", command], capture_output=True).returncode == 0
    data = read_data(tmp_path / "loop" / "ex4.data")
    assert abs(data.t[-1] - 100e-6) < 1e-12 and data.names == tuple(f"h1_{i}" for i in range(16)) + tuple(
        f"y_{i}" for i in range(10))

    compared = cli.invoke(main, ["waveform", "loop/ex4.data"])  # the netlist says which run and example
    assert compared.exit_code == 0, compared.output
    assert "compared with r.h5, test example 4, free phase" in compared.output
    assert float(re.search(r"max \|dV\| = ([0-9.]+) mV", compared.output).group(1)) < 1.0, compared.output
    classes = re.search(r"predicted class: ngspice (\d+), neurosim (\d+), label (\d+)", compared.output)
    assert classes.group(1) == classes.group(2), compared.output
    assert (tmp_path / "loop" / "ex4.png").stat().st_size > 10_000
