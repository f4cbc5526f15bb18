"""The example netlists in netlists/: the generator still writes them, and ngspice runs them as they are."""

import importlib.util
import re
import shutil
import subprocess

import numpy as np
from conftest import REPO

spec = importlib.util.spec_from_file_location("regenerate", REPO / "netlists" / "regenerate.py")
regenerate = importlib.util.module_from_spec(spec)
spec.loader.exec_module(regenerate)

NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def split_numbers(text: str) -> tuple[str, np.ndarray]:
    """The text with every number replaced by '#', and the numbers."""
    return NUMBER.sub("#", text), np.array([float(n) for n in NUMBER.findall(text)])


def test_generator_output_for_the_examples_is_unchanged(tmp_path):
    """Text identical except numbers, numbers within 1e-6 (the nudged examples start at an ODE equilibrium, which
    may differ in the last digits between machines)."""
    written = regenerate.regenerate(tmp_path)
    assert len(written) == len(regenerate.EXAMPLES) >= 4
    for path in written:
        stored = (REPO / "netlists" / path.name).read_text()
        new = path.read_text()
        stored_text, stored_numbers = split_numbers(stored)
        new_text, new_numbers = split_numbers(new)
        assert new_text == stored_text, f"{path.name}: the generator's text changed; run netlists/regenerate.py"
        np.testing.assert_allclose(new_numbers, stored_numbers, rtol=1e-6, atol=1e-12, err_msg=path.name)


def test_examples_run_in_ngspice_from_their_folder_and_end_at_neurosims_equilibrium(tmp_path, ngspice, monkeypatch):
    """Each stored example netlist, run as it is, ends within 1 mV of neurosim's own equilibrium of the run,
    example, phase and crossbar its header records (the ODE engine: independent of the netlist's numbers, so a
    wrong value in a stored netlist fails here, not only a changed comment)."""
    from click.testing import CliRunner

    from neurosim.cli import main

    (tmp_path / "netlists").mkdir()
    (tmp_path / "circuits").symlink_to(REPO / "circuits")
    (tmp_path / "netlists" / "runs").symlink_to(REPO / "netlists" / "runs")
    monkeypatch.chdir(tmp_path / "netlists")
    for run, example, phase, crossbar in regenerate.EXAMPLES:
        name = regenerate.netlist_name(run, example, phase, crossbar)
        shutil.copy(REPO / "netlists" / name, tmp_path / "netlists")
        done = subprocess.run([ngspice, "-b", name], cwd=tmp_path / "netlists", capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        rows = np.loadtxt(tmp_path / "netlists" / name.replace(".cir", ".data"), skiprows=1)
        assert rows.shape[1] == 1 + (26 if run.startswith("layered") else 42)
        assert np.all((rows[-1, 1:] > -1e-3) & (rows[-1, 1:] < 1.001))
        compared = CliRunner().invoke(main, ["waveform", name.replace(".cir", ".data")])
        assert compared.exit_code == 0 and f"compared with runs/{run}.h5, test example {example}, {phase} phase" \
            in compared.output, compared.output
        assert float(re.search(r"max \|dV\| = ([0-9.]+) mV", compared.output).group(1)) < 1.0, (name, compared.output)
