"""The CUDA path (PyTorch): the same engine code on GPU tensors, and CUDA-graph replay. Skipped without a GPU;
run on the device machine (docs/performance.md)."""

import numpy as np
import pytest

from neurosim.config import make_config
from neurosim.rules import eqprop_gradient
from neurosim.engines import Euler, Phase
from neurosim.engines.graphed import CudaGraphed
from neurosim.training import train

from conftest import skip_net

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")


def test_euler_on_the_gpu_matches_the_cpu():
    net = skip_net(scale=1.0, bias=(-0.3, 0.6))
    gpu = net.to("cuda")
    rng = np.random.default_rng(0)
    x, target = rng.uniform(size=(5, 6)), rng.uniform(size=(5, 3))
    engine = Euler(eps=0.5, n_free=60, n_nudged=60)
    for phase in (Phase(), Phase(beta=0.7, target=target)):
        cpu_state = engine.relax(net, x, np.zeros((5, 12)), phase).state
        gpu_phase = phase if not phase.nudged else Phase(beta=0.7, target=torch.from_numpy(target).cuda())
        gpu_state = engine.relax(gpu, torch.from_numpy(x).cuda(), torch.zeros(5, 12, dtype=torch.float64, device="cuda"), gpu_phase).state
        np.testing.assert_allclose(gpu_state.cpu().numpy(), cpu_state, atol=1e-12)
    grads_cpu = eqprop_gradient(net, x, cpu_state, cpu_state * 0.9, 0.5)
    grads_gpu = eqprop_gradient(gpu, torch.from_numpy(x).cuda(), torch.from_numpy(cpu_state).cuda(), torch.from_numpy(cpu_state * 0.9).cuda(), 0.5)
    for a, b in zip(grads_cpu, grads_gpu, strict=True):
        np.testing.assert_allclose(b.cpu().numpy(), a, atol=1e-12)


def test_graph_replay_equals_eager_and_sees_weight_updates():
    net = skip_net(scale=1.0, bias=(-0.3, 0.6)).to("cuda")
    x = torch.rand(4, 6, dtype=torch.float64, device="cuda")
    s0 = torch.zeros(4, 12, dtype=torch.float64, device="cuda")
    eager, graphed = Euler(n_free=30), CudaGraphed(Euler(n_free=30))
    first = graphed.relax(net, x, s0, Phase()).state
    torch.testing.assert_close(first, eager.relax(net, x, s0, Phase()).state)
    for p in net.parameters():
        p += 0.05  # in place, as the controller updates
    x2 = torch.rand(4, 6, dtype=torch.float64, device="cuda")
    replayed = graphed.relax(net, x2, s0, Phase()).state
    torch.testing.assert_close(replayed, eager.relax(net, x2, s0, Phase()).state)
    assert not torch.equal(replayed, first)


FIXED_POINT = dict(engine="fixedpoint", intralayer=False, nudge="reference", random_sign=True, persistent=True)


@pytest.mark.parametrize("settings", [{}, FIXED_POINT], ids=["euler", "fixedpoint"])
def test_training_on_the_gpu_gives_the_cpu_errors(settings):
    """Seeded training on the GPU (the whole step replayed from CUDA graphs) and on the CPU agree: the Euler
    engine, and the fixed point with skips, the reference nudge, random signs of beta and persistent states."""
    base = dict(n_train=200, n_test=100, sizes=(64, 16, 16, 10), n_free=30, rewire_n=40, epochs=2, dtype="float64",
                seed=1, **settings)
    cpu = train(make_config(**base), progress=False)
    gpu = train(make_config(device="cuda", **base), progress=False)
    assert gpu.history["train_error"] == cpu.history["train_error"]
    assert gpu.history["test_error"] == cpu.history["test_error"]
    for a, b in zip(cpu.network.parameters(), gpu.network.parameters(), strict=True):
        np.testing.assert_allclose(b, a, atol=1e-9)


def test_recorded_training_step_updates_once_like_the_eager_step():
    from neurosim.controller import Controller, learning_rates

    net_eager = skip_net(scale=1.0, bias=(-0.3, 0.6)).to("cuda")
    net_graph = skip_net(scale=1.0, bias=(-0.3, 0.6)).to("cuda")
    engine = Euler(n_free=20, n_nudged=5)
    eager = Controller(engine, beta=0.5, rates=learning_rates(net_eager, [0.1]))
    graphed = Controller(engine, beta=0.5, rates=learning_rates(net_graph, [0.1]), cuda_graphs=True)
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = torch.from_numpy(rng.uniform(size=(4, 6))).cuda()
        t = torch.from_numpy(np.eye(3)[rng.integers(0, 3, 4)]).cuda()
        eager.step(net_eager, x, t, rng)
        graphed.step(net_graph, x, t, rng)
        for a, b in zip(net_eager.parameters(), net_graph.parameters(), strict=True):
            torch.testing.assert_close(b, a)
    assert len(graphed._graphs) == 1
