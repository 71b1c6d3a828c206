"""The tree solvers: exact against a dense solve, batched, and differentiated correctly."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from synaptax.solver import Tree, make_tree_solver


def _system(n, seed=0, n_roots=1):
    rng = np.random.default_rng(seed)
    parent = np.array([-1] + [int(rng.integers(0, i)) for i in range(1, n)])
    parent[1:n_roots] = -1
    lo, up = rng.uniform(-1, -0.1, n), rng.uniform(-1, -0.1, n)
    d = rng.uniform(4, 6, n)
    r = rng.normal(size=n)
    return parent, lo, up, d, r


def _dense(parent, lo, up, d):
    a = np.diag(d)
    for i, p in enumerate(parent):
        if p >= 0:
            a[i, p], a[p, i] = lo[i], up[i]
    return a


@pytest.mark.parametrize("method", ["native", "levels"])
@pytest.mark.parametrize("n_roots", [1, 3])
def test_matches_dense_solve(method, n_roots):
    parent, lo, up, d, r = _system(64, n_roots=n_roots)
    solve = jax.jit(make_tree_solver(Tree(parent), method))
    x = solve(lo, up, d, r)
    np.testing.assert_allclose(
        x, np.linalg.solve(_dense(parent, lo, up, d), r), rtol=1e-12, atol=1e-13
    )


@pytest.mark.parametrize("unroll", [1, 3, True])
def test_levels_unrolled_sweeps_match_dense_solve(unroll, monkeypatch):
    """Unrolling the level loops (the accelerator default) leaves the solve exact,
    also for trees whose depth is not a multiple of the unroll factor (depth 5 here)."""
    from synaptax.solver import tree as tree_mod

    monkeypatch.setattr(tree_mod, "_UNROLL", unroll)
    parent = np.array([-1, 0, 1, 2, 3, 4, 1, 6, 0])
    _, lo, up, d, r = _system(9, seed=5)
    x = jax.jit(make_tree_solver(Tree(parent), "levels"))(lo, up, d, r)
    np.testing.assert_allclose(
        x, np.linalg.solve(_dense(parent, lo, up, d), r), rtol=1e-12, atol=1e-13
    )


@pytest.mark.parametrize("method", ["native", "levels"])
def test_vmap_broadcasts_batched_and_shared_operands(method):
    parent, lo, up, d, _ = _system(40, seed=1)
    rng = np.random.default_rng(2)
    dd = d + rng.uniform(0, 1, (5, 40))
    rr = rng.normal(size=(5, 40))
    solve = make_tree_solver(Tree(parent), method)
    x = jax.jit(jax.vmap(solve, in_axes=(None, None, 0, 0)))(lo, up, dd, rr)
    ref = np.stack([np.linalg.solve(_dense(parent, lo, up, dd[k]), rr[k]) for k in range(5)])
    np.testing.assert_allclose(x, ref, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("method", ["native", "levels"])
def test_gradient_matches_finite_differences(method):
    parent, lo, up, d, r = _system(30, seed=3)
    solve = make_tree_solver(Tree(parent), method)
    w = np.random.default_rng(4).normal(size=30)

    def loss(*args):
        return jnp.sum(w * jnp.tanh(solve(*args)))

    grads = jax.grad(loss, argnums=(0, 1, 2, 3))(lo, up, d, r)
    args = [lo, up, d, r]
    rng = np.random.default_rng(5)
    for k in range(4):
        direction = rng.normal(size=30)
        if k < 2:
            direction[parent < 0] = 0.0  # root entries are not part of the matrix
        eps = 1e-6
        plus = [a.copy() for a in args]
        minus = [a.copy() for a in args]
        plus[k] = plus[k] + eps * direction
        minus[k] = minus[k] - eps * direction
        fd = (loss(*plus) - loss(*minus)) / (2 * eps)
        assert float(jnp.dot(grads[k], direction)) == pytest.approx(float(fd), rel=1e-7)


def test_float32_native_solve():
    parent, lo, up, d, r = _system(50, seed=6)
    solve = make_tree_solver(Tree(parent), "native")
    x = solve(*(jnp.asarray(a, jnp.float32) for a in (lo, up, d, r)))
    assert x.dtype == jnp.float32
    np.testing.assert_allclose(
        x, np.linalg.solve(_dense(parent, lo, up, d), r), rtol=1e-5, atol=1e-6
    )


def test_bad_tree_order_is_reported():
    with pytest.raises(ValueError, match="parents first"):
        Tree(np.array([-1, 2, 0]))
    with pytest.raises((ValueError, TypeError), match="magic"):
        make_tree_solver(Tree(np.array([-1, 0])), "magic")  # type: ignore[arg-type]
