"""The engines' PyTorch path on CPU tensors: the code that runs on the GPU, checked here without one.

A CUDA-graph capture records device work only: a relaxation that reads an array back to the host or copies host
data to the device cannot be captured (docs/performance.md, GPU). :func:`no_host_transfers` turns every such
call on torch tensors into an error, so that a relaxation that would break a capture fails here too. Skipped
without PyTorch (``pip install torch``); the GPU itself is tested in ``test_gpu.py``.
"""

import contextlib

import numpy as np
import pytest

from neurosim.engines import Euler, FixedPoint, Phase

from conftest import skip_net
from test_fixedpoint import layered_net, published_small_world

torch = pytest.importorskip("torch")


def on_torch(net):
    """``net`` with every array a torch CPU tensor (as ``Network.to("cuda")`` makes them, on the CPU)."""
    return net.to_arrays(lambda a: None if a is None else torch.from_numpy(np.ascontiguousarray(a)))


@contextlib.contextmanager
def no_host_transfers(monkeypatch):
    """Inside: reading a torch tensor back to the host (``.cpu()``, ``.numpy()``, ``.item()``, ``.tolist()``,
    ``float()``, ``bool()``, ``np.asarray``) or making a tensor from host data (``torch.tensor`` /
    ``as_tensor`` / ``asarray`` / ``from_numpy`` of anything but a tensor or a Python number) raises."""
    def refuse(what):
        def raise_(*args, **kwargs):
            raise AssertionError(f"host transfer in a relaxation: {what}")
        return raise_

    with monkeypatch.context() as m:
        for name in ("cpu", "numpy", "item", "tolist", "__float__", "__bool__", "__array__"):
            m.setattr(torch.Tensor, name, refuse(f"Tensor.{name}"))
        for name in ("tensor", "as_tensor", "asarray"):
            original = getattr(torch, name)

            def guarded(data, *args, _original=original, _name=name, **kwargs):
                if not isinstance(data, (torch.Tensor, int, float)):
                    raise AssertionError(f"host transfer in a relaxation: torch.{_name}({type(data).__name__})")
                return _original(data, *args, **kwargs)
            m.setattr(torch, name, guarded)
        m.setattr(torch, "from_numpy", refuse("torch.from_numpy"))
        yield


def phases(target):
    return [Phase(), Phase(beta=0.5, target=target), Phase(beta=1.0, target=target, nudge="clamped"),
            Phase(beta=-1.0, target=target, nudge="reference")]


@pytest.mark.parametrize("make, engine", [
    (published_small_world, FixedPoint(n_free=30, n_nudged=30)),
    (layered_net, FixedPoint(n_free=30, n_nudged=30)),
    (skip_net, Euler(n_free=30, n_nudged=30)),
])
def test_a_relaxation_on_torch_tensors_equals_numpy_and_transfers_nothing(make, engine, monkeypatch):
    """The same engine on numpy arrays and on torch tensors gives the same state and residual (float64); the
    torch relaxation neither reads back nor copies from the host, so it can be recorded in a CUDA graph."""
    net = make()
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(4, net.n_inputs))
    target = np.eye(net.n_outputs)[[0, 1, 2, 0]]
    tnet, tx, tstart = on_torch(net), torch.from_numpy(x), torch.zeros(4, net.n_free, dtype=torch.float64)
    for phase in phases(target):
        if phase.nudge not in engine.nudges:
            continue
        expected = engine.relax(net, x, np.zeros((4, net.n_free)), phase)
        tphase = phase if phase.target is None else Phase(beta=phase.beta, nudge=phase.nudge,
                                                          target=torch.from_numpy(phase.target))
        with no_host_transfers(monkeypatch):
            got = engine.relax(tnet, tx, tstart, tphase)
        assert isinstance(got.state, torch.Tensor)
        np.testing.assert_allclose(got.state.numpy(), expected.state, atol=1e-12)
        np.testing.assert_allclose(got.residual.numpy(), expected.residual, atol=1e-12)


def test_the_guard_catches_a_read_back(monkeypatch):
    """The guard itself: a read back of a tensor inside it fails (so the test above can fail)."""
    with no_host_transfers(monkeypatch), pytest.raises(AssertionError, match="host transfer"):
        torch.zeros(3).cpu()
    with no_host_transfers(monkeypatch), pytest.raises(AssertionError, match="host transfer"):
        torch.asarray(np.zeros(3))


@pytest.mark.parametrize("engine", [FixedPoint(n_free=20, n_nudged=8), Euler(n_free=20, n_nudged=8)])
def test_a_training_step_on_torch_tensors_equals_numpy_and_transfers_nothing(engine, monkeypatch):
    """What the GPU path records as one CUDA graph per batch (:class:`Controller` with ``cuda_graphs``): both
    phases, the EqProp gradient and the update, with the reference nudge and a random sign of beta. On torch
    tensors it updates the parameters as on numpy arrays and transfers nothing."""
    from neurosim.controller import Controller, learning_rates
    from neurosim.rules import EqProp

    net = published_small_world()
    tnet = on_torch(net)
    rng = np.random.default_rng(2)
    x, target = rng.uniform(size=(4, net.n_inputs)), np.eye(net.n_outputs)[[0, 1, 2, 0]]
    start = rng.uniform(size=(4, net.n_free))
    results = []
    for network, arrays in ((net, np.asarray), (tnet, torch.from_numpy)):
        controller = Controller(engine=engine, beta=1.0, rates=learning_rates(network, [0.1, 0.05, 0.02, 0.01]),
                                random_sign=True, rule=EqProp(nudge="reference"))
        inputs = [arrays(a) for a in (x, target, start)]
        with no_host_transfers(monkeypatch) if network is tnet else contextlib.nullcontext():
            betas = [controller.step(network, inputs[0], inputs[1], np.random.default_rng(seed), inputs[2]).beta
                     for seed in (0, 2)]
        results.append((betas, [np.asarray(p) for p in network.parameters()]))
    assert results[0][0] == results[1][0] == [1.0, -1.0]  # both signs of beta
    for a, b in zip(results[0][1], results[1][1], strict=True):
        np.testing.assert_allclose(b, a, atol=1e-12)
    assert not np.allclose(results[0][1][-1], published_small_world().bias)  # the step did update
