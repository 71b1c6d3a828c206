"""Exact O(n) solves of tree-structured (Hines) linear systems, with their own VJP.

A cable tree discretised by finite volumes gives a matrix whose off-diagonal
pattern is the tree itself (Hines 1984). With nodes ordered so that every parent
precedes its children, Gaussian elimination from the leaves to the root and back
substitution from the root to the leaves solve it exactly in O(n) without fill-in.

Row ``i`` of ``A x = r`` reads::

    diag[i] x[i] + lower[i] x[parent[i]] + sum_{c: parent[c] = i} upper[c] x[c] = r[i]

Two interchangeable back ends compute the same solve:

* ``"native"``: a C++ kernel called through XLA's FFI (CPU), sequential over nodes and
  batched over vmapped leading axes;
* ``"levels"``: pure JAX, level-scheduled: all nodes at one depth are eliminated at
  once, so the sequential length is the tree depth (the choice for GPUs).

The reverse-mode rule solves the transposed system with the same kernel (swap
``lower`` and ``upper``), so a gradient costs one more tree solve, not a trace
through the elimination.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from synaptax.solver import _native

Method = Literal["native", "levels", "auto"]


@dataclass(frozen=True, eq=False)
class Tree:
    """Static topology of a forest of nodes (hashable by identity).

    Attributes:
        parent: ``int32[n]``, the parent of each node, ``-1`` for roots.
        order: ``int32[n]``, a sweep order in which every parent precedes its children
            (default: ``0..n-1``, which then requires ``parent[i] < i``).
        depth: ``int32[n]``, distance in nodes from the node's root.
    """

    parent: np.ndarray
    order: np.ndarray | None = None
    depth: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        parent = np.asarray(self.parent, dtype=np.int32)
        n = parent.shape[0]
        if parent.ndim != 1 or n == 0:
            raise ValueError(f"parent must be a non-empty 1-D array, got shape {parent.shape}")
        order = (
            np.arange(n, dtype=np.int32) if self.order is None else np.asarray(self.order, np.int32)
        )
        if order.shape != (n,) or not np.array_equal(np.sort(order), np.arange(n)):
            raise ValueError(f"order must be a permutation of 0..{n - 1}")
        position = np.empty(n, dtype=np.int64)
        position[order] = np.arange(n)
        bad = (parent < -1) | (parent >= n)
        bad |= (parent >= 0) & (position[np.clip(parent, 0, n - 1)] >= position)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"nodes must be swept parents first: node {i} has parent {parent[i]}, which "
                "does not come before it; reorder the nodes (e.g. depth-first from the root)"
            )
        depth = np.zeros(n, dtype=np.int32)
        for i in order:
            if parent[i] >= 0:
                depth[i] = depth[parent[i]] + 1
        object.__setattr__(self, "parent", parent)
        object.__setattr__(self, "order", order)
        object.__setattr__(self, "depth", depth)

    @property
    def n(self) -> int:
        return int(self.parent.shape[0])


def _native_solve(tree: Tree, lower, upper, diag, rhs):
    _native.register()
    dtype = jnp.result_type(rhs)
    name = _native.TARGETS.get(str(dtype))
    if name is None:
        raise TypeError(f"native tree solver supports float32 and float64, got {dtype}")
    lower, upper, diag = (jnp.asarray(a, dtype) for a in (lower, upper, diag))
    nb = max(a.ndim for a in (lower, upper, diag, rhs))
    shape = jnp.broadcast_shapes(lower.shape, upper.shape, diag.shape, rhs.shape)

    def expand(a):  # match ranks so the kernel's broadcasting sees size-1 batch axes
        return a.reshape((1,) * (nb - a.ndim) + a.shape)

    out_struct = jax.ShapeDtypeStruct(shape, dtype)
    call = jax.ffi.ffi_call(name, out_struct, vmap_method="expand_dims")
    one = (1,) * (nb - 1) + (tree.n,)
    return call(
        expand(lower),
        expand(upper),
        expand(diag),
        expand(rhs),
        jnp.asarray(tree.parent).reshape(one),
        jnp.asarray(tree.order).reshape(one),
    )


# Loop unrolling of the level sweeps: ``None`` picks per backend (see _levels_unroll).
_UNROLL: int | bool | None = None


def _levels_unroll() -> int | bool:
    """How far the level loops are unrolled: 8 levels per loop iteration on accelerators,
    where each iteration is a few tiny kernels plus a loop-condition round trip (on an
    H200 this made a small batch 4.3x faster, as fast as unrolling fully, at less than half
    the compile time; ``docs/gpu.md``); not at all on CPU."""
    if _UNROLL is not None:
        return _UNROLL
    return 1 if jax.default_backend() == "cpu" else 8


def _levels_solve(tree: Tree, lower, upper, diag, rhs):
    """Level-scheduled elimination in pure JAX (same arithmetic as the kernel)."""
    n = tree.n
    parent = tree.parent
    max_depth = int(tree.depth.max())
    by_level = [np.flatnonzero(tree.depth == k) for k in range(max_depth + 1)]
    width = max(len(v) for v in by_level)
    # Pad each level to `width` with a dummy node n (its updates land in a scratch slot).
    nodes = np.full((max_depth + 1, width), n, dtype=np.int32)
    for k, v in enumerate(by_level):
        nodes[k, : len(v)] = v
    par_ext = np.append(np.where(parent < 0, n, parent), n).astype(np.int32)
    nodes_j, par_j = jnp.asarray(nodes), jnp.asarray(par_ext)
    shape = jnp.broadcast_shapes(lower.shape, upper.shape, diag.shape, rhs.shape)
    pad = [(0, 0)] * (len(shape) - 1) + [(0, 1)]

    def ext(a, fill):
        return jnp.pad(jnp.broadcast_to(a, shape), pad, constant_values=fill)

    lo, up = ext(lower, 0.0), ext(upper, 0.0)
    d, x = ext(diag, 1.0), ext(rhs, 0.0)

    def eliminate(k, carry):
        d, x = carry
        idx = nodes_j[max_depth - k]
        p = par_j[idx]
        f = up[..., idx] / d[..., idx]
        d = d.at[..., p].add(-f * lo[..., idx])
        x = x.at[..., p].add(-f * x[..., idx])
        return d, x

    unroll = _levels_unroll()
    d, x = jax.lax.fori_loop(0, max_depth, eliminate, (d, x), unroll=unroll)

    def substitute(k, x):
        idx = nodes_j[k]
        p = par_j[idx]
        xp = jnp.where(p == n, 0.0, x[..., p])
        return x.at[..., idx].set((x[..., idx] - lo[..., idx] * xp) / d[..., idx])

    x = jax.lax.fori_loop(0, max_depth + 1, substitute, x, unroll=unroll)
    return x[..., :n]


def resolve_method(method: Method) -> Literal["native", "levels"]:
    """``"auto"`` picks the native kernel on CPU when it can be built, else ``"levels"``."""
    if method == "auto":
        if jax.default_backend() == "cpu" and _native.available():
            return "native"
        return "levels"
    if method not in ("native", "levels"):
        raise ValueError(f"unknown tree-solver method {method!r}; use 'native', 'levels' or 'auto'")
    return method


def raw_tree_solver(tree: Tree, method: Method = "auto") -> Callable[..., Array]:
    """``solve(lower, upper, diag, rhs) -> x`` without a differentiation rule (for code
    that writes its own reverse pass around it, with :func:`make_tree_adjoint`)."""
    kind = resolve_method(method)
    return functools.partial(_native_solve if kind == "native" else _levels_solve, tree)


def make_tree_adjoint(tree: Tree, method: Method = "auto") -> Callable[..., tuple]:
    """``adjoint(lower, upper, diag, x, xbar) -> (lbar, ubar, dbar, rbar)``: the cotangents
    of the solve's inputs given its solution ``x`` and the cotangent ``xbar`` of ``x``
    (one solve with the transposed matrix; arrays in the broadcast shape of the solve)."""
    raw = raw_tree_solver(tree, method)
    parent = np.where(tree.parent < 0, 0, tree.parent)
    is_child = tree.parent >= 0  # numpy: the VJP must not close over tracers

    def adjoint(lower, upper, diag, x, xbar):
        rbar = raw(upper, lower, diag, xbar)  # A^T rbar = xbar
        dbar = -rbar * x
        lbar = jnp.where(is_child, -rbar * x[..., parent], 0.0)
        ubar = jnp.where(is_child, -rbar[..., parent] * x, 0.0)
        return lbar, ubar, dbar, rbar

    return adjoint


def make_tree_solver(
    tree: Tree, method: Method = "auto"
) -> Callable[[Array, Array, Array, Array], Array]:
    """Return ``solve(lower, upper, diag, rhs) -> x`` for this tree, differentiable in all four.

    Arrays have the node axis last; leading axes broadcast (vmap works too).
    """
    raw = raw_tree_solver(tree, method)
    adjoint = make_tree_adjoint(tree, method)

    @jax.custom_vjp
    def solve(lower, upper, diag, rhs):
        return raw(lower, upper, diag, rhs)

    def fwd(lower, upper, diag, rhs):
        x = raw(lower, upper, diag, rhs)
        return x, (lower, upper, diag, rhs, x)

    def bwd(res, xbar):
        lower, upper, diag, rhs, x = res
        lbar, ubar, dbar, rbar = adjoint(lower, upper, diag, x, xbar)
        return (
            _unbroadcast(lbar, lower),
            _unbroadcast(ubar, upper),
            _unbroadcast(dbar, diag),
            _unbroadcast(rbar, rhs),
        )

    solve.defvjp(fwd, bwd)
    return solve


def _unbroadcast(g: Float[Array, ...], like) -> Array:
    """Sum a cotangent over the axes on which ``like`` was broadcast."""
    like = jnp.asarray(like)
    extra = g.ndim - like.ndim
    if extra:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(
        i for i, (a, b) in enumerate(zip(like.shape, g.shape, strict=True)) if a == 1 and b != 1
    )
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.astype(like.dtype)
