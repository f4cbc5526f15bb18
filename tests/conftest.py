import os
from pathlib import Path

import numpy as np
import pytest

from neurosim import network, topology

REPO = Path(__file__).resolve().parents[1]
#: Real MNIST: ../shared/data/mnist beside the checkout, or where NEUROSIM_MNIST_DIR points.
MNIST_DIR = Path(os.environ.get("NEUROSIM_MNIST_DIR", REPO.parent / "shared" / "data" / "mnist"))


@pytest.fixture
def mnist_dir():
    if not (MNIST_DIR / "train-labels-idx1-ubyte.gz").exists():
        pytest.skip(f"MNIST not found at {MNIST_DIR} (set NEUROSIM_MNIST_DIR)")
    return MNIST_DIR


def skip_net(seed=0, scale=0.3, bias=(0.2, 0.5), intralayer=True):
    """A 6-5-4-3 small-world network with skip and (unless not ``intralayer``) intralayer connections whose states
    sit mostly inside (0, 1): weights scaled by ``scale``, biases uniform in ``bias``. float64."""
    graph = topology.small_world([6, 5, 4, 3], n=6, seed=3 + seed, intralayer=intralayer)
    net = network.from_graph(graph, seed=2 + seed, dtype=np.float64)
    rng = np.random.default_rng(seed)
    for p in net.parameters()[:-1]:
        p *= scale
    net.bias[:] = rng.uniform(*bias, size=net.bias.shape)
    return net


def chain():
    """The hand-solved chain of the circuit tests: x - h - y, W_hx = 0.8, W_yh = -0.5, b = (0.1, 0.6), input 1 V."""
    net = network.from_graph(topology.layered([1, 1, 1]), seed=0, dtype=np.float64)
    net.blocks[0].weight[:] = 0.8
    net.blocks[1].weight[:] = -0.5
    net.bias[:] = [0.1, 0.6]
    return net


@pytest.fixture
def ngspice():
    """The ngspice executable; the test is skipped without it, unless NEUROSIM_REQUIRE_NGSPICE is set (CI), where
    a missing ngspice fails it."""
    import shutil

    path = shutil.which("ngspice")
    if path is None:
        if os.environ.get("NEUROSIM_REQUIRE_NGSPICE"):
            pytest.fail("ngspice is required (NEUROSIM_REQUIRE_NGSPICE is set) but not on PATH")
        pytest.skip("ngspice not installed (apt-get install ngspice)")
    return path


@pytest.fixture(scope="session")
def digits():
    """The bundled 8x8 digits data set (scikit-learn), all of it."""
    from neurosim.data import load_dataset

    return load_dataset("digits")


def restamp(path) -> None:
    """Make a run file's ``digest`` match its contents again after a test changed them with h5py, as a writer with
    a bug would have written it: what is then refused, the consistency checks refuse, not the digest."""
    import h5py

    from neurosim.store import digest, read_layout

    with h5py.File(path, "r+") as f:
        f.attrs["digest"] = digest(*read_layout(f))


def as_older_format(path, version: int = 2) -> None:
    """Mark a run file as written by an earlier neurosim (format ``version``, no ``digest``), after a test made
    its contents look like such a file's."""
    import h5py

    with h5py.File(path, "r+") as f:
        f.attrs["format_version"] = version
        if "digest" in f.attrs:
            del f.attrs["digest"]


def assert_learns(config, data, points=0.25):
    """Training ``config`` on ``data`` ends at least ``points`` below the test error of its initial network (the
    rule's own prediction, from the run's initial rule parameters)."""
    from neurosim.build import controller_of, new_run
    from neurosim.training import evaluate, train

    start = new_run(config, data)
    controller = controller_of(config, start.network, learned=start.rule_parameters)
    before = evaluate(controller, start.network, data.x_test.astype(np.float32), data.y_test,
                      noise_rng=np.random.default_rng(0)).error
    after = train(config, data=data, progress=False).history["test_error"][-1]
    assert after < before - points, (before, after)


def whole_and_resumed(config_of, tmp_path):
    """The run of ``config_of(2)`` (two epochs) trained at once and trained one epoch then resumed for the second,
    after checking that their networks are bit for bit equal; both runs."""
    from neurosim.store import load_run
    from neurosim.training import train

    whole = train(config_of(2), out=tmp_path / "whole.h5", progress=False)
    train(config_of(1), out=tmp_path / "half.h5", progress=False)
    resumed = train(config_of(2), out=tmp_path / "half.h5", run=load_run(tmp_path / "half.h5"), progress=False)
    for a, b in zip(whole.network.parameters(), resumed.network.parameters(), strict=True):
        np.testing.assert_array_equal(a, b)
    return whole, resumed
