"""docs/api.md's walkthrough runs as written, and the package's names all resolve."""

import re

import numpy as np
from conftest import REPO

import neurosim


def test_every_public_name_resolves():
    for name in neurosim.__all__:
        assert getattr(neurosim, name) is not None, name


def test_the_api_page_runs(tmp_path, monkeypatch, ngspice):
    code = "\n".join(re.findall(r"```python\n(.*?)```", (REPO / "docs" / "api.md").read_text(), re.S))
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(code, "docs/api.md", "exec"), namespace)
    assert (tmp_path / "api-digits.h5").exists() and (tmp_path / "ex0.data").exists()
    assert len(namespace["run"].history["test_error"]) == 2
    assert np.abs(namespace["wave"].v[-1] - namespace["state"]).max() < 1e-4  # volts
