"""The configuration and grid files shipped in experiments/ stay valid as the configuration grows."""

import tomllib
from pathlib import Path

import pytest

from neurosim.config import load_config, make_config
from neurosim.sweep import load_grid

FILES = sorted((Path(__file__).parent.parent / "experiments").rglob("*.toml"))


def test_there_are_experiment_files():
    assert len(FILES) >= 9


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_experiment_file_is_a_valid_configuration_or_a_grid_of_valid_points(path):
    if "grid" in tomllib.loads(path.read_text()):
        points = load_grid(path).points()
        assert points
        for point in points:
            make_config(**point.values)
    else:
        load_config(path)
