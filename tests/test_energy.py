import numpy as np

from neurosim.energy import energy, grad_f
from neurosim.engines import Euler, Phase
from neurosim.coupling import Coupling

from conftest import skip_net


def energy_eq3(net, x, s):
    """E(u) of eq 3 written out as its double sum over i != j, from the dense weight matrix."""
    u = np.concatenate([x, s], axis=1)
    r = np.clip(u, 0, 1)
    w = net.dense_weights()
    b = np.concatenate([np.zeros(net.n_inputs), net.bias])
    n = u.shape[1]
    pair = sum(w[i, j] * r[:, i] * r[:, j] for i in range(n) for j in range(n) if i != j)
    return 0.5 * (u**2).sum(1) - 0.5 * pair - (b * r).sum(1)


def test_energy_is_eq_3():
    net = skip_net()
    rng = np.random.default_rng(0)
    x, s = rng.uniform(size=(3, 6)), rng.uniform(-0.2, 1.2, size=(3, net.n_free))
    np.testing.assert_allclose(energy(net, x, s), energy_eq3(net, x, s), rtol=1e-12)


def test_gradient_is_derivative_of_f():
    net = skip_net()
    rng = np.random.default_rng(1)
    x, s = rng.uniform(size=(2, 6)), rng.uniform(0.05, 0.95, size=(2, net.n_free))
    target = rng.uniform(size=(2, 3))
    g = grad_f(net, Coupling(net, x), s, beta=0.7, target=target)
    h = 1e-6
    fd = np.zeros_like(s)
    for k in range(net.n_free):
        d = np.zeros_like(s)
        d[:, k] = h
        fd[:, k] = (energy(net, x, s + d, 0.7, target) - energy(net, x, s - d, 0.7, target)) / (2 * h)
    np.testing.assert_allclose(g, fd, atol=1e-7)


def test_energy_never_increases_along_a_free_phase():
    net = skip_net(scale=1.0, bias=(-0.2, 0.6))  # Glorot-sized weights: some states saturate, some do not
    rng = np.random.default_rng(2)
    x = rng.uniform(size=(8, 6))
    step = Euler(eps=0.05, n_free=1)
    s = np.zeros((8, net.n_free))
    energies = [energy(net, x, s)]
    for _ in range(400):
        s = step.relax(net, x, s, Phase()).state
        energies.append(energy(net, x, s))
    energies = np.array(energies)
    assert np.all(np.diff(energies, axis=0) <= 1e-12)
    assert np.all(energies[-1] < energies[0] - 0.1)  # it did move


def test_euler_records_residual_and_stays_in_range():
    net = skip_net(scale=1.0, bias=(-1, 2))
    x = np.random.default_rng(3).uniform(size=(5, 6))
    rel = Euler(eps=0.5, n_free=3).relax(net, x, np.zeros((5, net.n_free)), Phase())
    assert rel.steps == 3 and rel.residual.shape == (5,)
    assert np.all(rel.residual > 0)  # three steps from zero are not an equilibrium
    assert rel.state.min() >= 0 and rel.state.max() <= 1
    converged = Euler(eps=0.5, n_free=3000).relax(net, x, np.zeros((5, net.n_free)), Phase())
    assert converged.residual.max() < 1e-12


def test_tolerance_stops_a_phase_early_at_the_same_equilibrium():
    net = skip_net()
    x = np.random.default_rng(4).uniform(size=(5, 6))
    s0 = np.zeros((5, net.n_free))
    full = Euler(eps=0.5, n_free=400).relax(net, x, s0, Phase())
    early = Euler(eps=0.5, n_free=400, tol=1e-6, check_every=5).relax(net, x, s0, Phase())
    assert full.steps == 400 and early.steps < 400 and early.steps % 5 == 0
    assert early.residual.max() < 1e-6
    np.testing.assert_allclose(early.state, full.state, atol=1e-5)
    never = Euler(eps=0.5, n_free=30, tol=1e-30).relax(net, x, s0, Phase())
    assert never.steps == 30  # the tolerance caps nothing: at most n_free steps
