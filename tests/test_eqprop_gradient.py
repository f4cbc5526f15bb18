"""The EqProp gradient theorem: as beta -> 0 the local update equals the gradient of the loss at the free
equilibrium. Compared with finite differences of re-converged equilibria (an independent computation)."""

import numpy as np
import pytest

from neurosim.rules import eqprop_gradient
from neurosim.energy import cost
from neurosim.engines import Euler, Phase

from conftest import skip_net

ENGINE = Euler(eps=0.5, n_free=400, n_nudged=400)  # converges to an exact fixed point by ~200 steps
TOL = 1e-9


def free_equilibrium(net, x):
    rel = ENGINE.relax(net, x, np.zeros((len(x), net.n_free)), Phase())
    assert rel.residual.max() < TOL
    return rel.state


def loss(net, x, target):
    return cost(net, free_equilibrium(net, x), target).mean()


def finite_difference_gradient(net, x, target, h=1e-6):
    """-dC/dtheta for every parameter, one symmetric weight (both of its matrix entries) at a time."""
    grads = []
    for k, param in enumerate(net.parameters()):
        block = net.blocks[k] if k < len(net.blocks) else None
        g = np.zeros_like(param)
        for idx in np.ndindex(param.shape):
            if block is not None and block.mask is not None and not block.mask[idx]:
                continue
            intra = block is not None and block.lo == block.hi
            if intra and idx[0] >= idx[1]:
                continue
            entries = [idx, idx[::-1]] if intra else [idx]

            def shift(delta):
                for e in entries:
                    param[e] += delta

            shift(h)
            plus = loss(net, x, target)
            shift(-2 * h)
            minus = loss(net, x, target)
            shift(h)
            for e in entries:
                g[e] = -(plus - minus) / (2 * h)
        grads.append(g)
    return np.concatenate([g.ravel() for g in grads])


@pytest.fixture(scope="module")
def problem():
    net = skip_net()
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(5, net.n_inputs))
    target = np.eye(3)[rng.integers(0, 3, size=5)]
    s0 = free_equilibrium(net, x)
    clipped = np.mean((s0 == 0) | (s0 == 1))
    assert clipped < 0.3, "most states saturated: the test would compare zeros"
    assert len(net.sparse) > 0 and any(b.lo == b.hi for b in net.blocks), "needs skip and intralayer weights"
    return net, x, target, s0, finite_difference_gradient(net, x, target)


def nudged(net, x, target, s0, beta):
    rel = ENGINE.relax(net, x, s0, Phase(beta=beta, target=target))
    assert rel.residual.max() < TOL
    return np.concatenate([g.ravel() for g in eqprop_gradient(net, x, s0, rel.state, beta)])


def compare(estimate, reference):
    cosine = estimate @ reference / (np.linalg.norm(estimate) * np.linalg.norm(reference))
    relative = np.linalg.norm(estimate - reference) / np.linalg.norm(reference)
    return cosine, relative


def test_one_sided_estimate_matches_finite_differences(problem):
    net, x, target, s0, fd = problem
    cosine, relative = compare(nudged(net, x, target, s0, 1e-4), fd)
    assert cosine > 0.999 and relative < 1e-2


def test_symmetric_estimate_matches_finite_differences(problem):
    net, x, target, s0, fd = problem
    symmetric = 0.5 * (nudged(net, x, target, s0, 1e-4) + nudged(net, x, target, s0, -1e-4))
    cosine, relative = compare(symmetric, fd)
    assert cosine > 0.999 and relative < 1e-2


def test_large_beta_is_biased(problem):
    """The comparison can fail: with beta = 1 the one-sided estimate is visibly off the gradient."""
    net, x, target, s0, fd = problem
    _, relative = compare(nudged(net, x, target, s0, 1.0), fd)
    assert relative > 1e-2
