"""A fused recurrent LIF scan with a hand-written reverse-mode rule.

Forward, for steps ``t = 0..T-1`` (``v[-1]``, ``s[-1]`` the initial state):

    r[t] = H(v[t-1] - theta)                       (reset, gradient stopped)
    a[t] = beta (1 - r[t])  if reset == "zero"  else  beta
    v[t] = a[t] v[t-1] + c[t] + W s[t-1] - rho r[t] theta      (rho = 1 for "subtract")
    s[t] = H(v[t] - theta)                         (surrogate derivative sigma')

Reverse (adjoint ``lam[t] = dL/dv[t]``, ``lam[T] = 0``, ``r[t+1] = s[t]``):

    g[t]   = dL/ds[t] + W^T lam[t+1]
    lam[t] = dL/dv[t] + sigma'(v[t] - theta) g[t] + a[t+1] lam[t+1]

and then, outside the time loop, ``dL/dc = lam``, ``dL/dW = sum_t lam[t] s[t-1]^T`` (one
large matrix product instead of one rank-B update of a carried N x N gradient per step,
which is what differentiating ``lax.scan`` does), ``dL/dbeta`` and ``dL/dtheta`` by
reductions. This is exactly the gradient autodiff gives for the same forward pass (tested),
at about half the cost.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from ._surrogate import SpikeFn


def _forward(c, w, beta, theta, v0, s0, spike_fn, reset):
    wt = w.T

    def body(carry, ct):
        v, s = carry
        r = jax.lax.stop_gradient(spike_fn(v - theta))
        if reset == "subtract":
            v = beta * v + ct + s @ wt - r * theta
        elif reset == "zero":
            v = beta * (1.0 - r) * v + ct + s @ wt
        else:
            v = beta * v + ct + s @ wt
        s = spike_fn(v - theta)
        return (v, s), (v, s)

    _, (v, s) = jax.lax.scan(body, (v0, s0), c)
    return v, s


@partial(jax.custom_vjp, nondiff_argnums=(6, 7))
def lif_recurrent_scan(c, w, beta, theta, v0, s0, spike_fn: SpikeFn, reset: str):
    """Run ``T`` steps of a recurrent LIF layer; returns ``(v, s)``, each (T, B, N).

    Args:
        c: feed-forward drive per step (T, B, N), threshold units.
        w: recurrent weights (N post, N pre), threshold units per spike.
        beta: membrane decay per step (N,).
        theta: thresholds (N,).
        v0, s0: initial potential and spikes (B, N).
        spike_fn: surrogate spike function.
        reset: "subtract", "zero" or "none" (the reset signal is detached).
    """
    return _forward(c, w, beta, theta, v0, s0, spike_fn, reset)


def _fwd(c, w, beta, theta, v0, s0, spike_fn, reset):
    v, s = _forward(c, w, beta, theta, v0, s0, spike_fn, reset)
    return (v, s), (v, s, w, beta, theta, v0, s0)


def _bwd(spike_fn, reset, res, cot):
    v, s, w, beta, theta, v0, s0 = res
    gv, gs = cot
    dtype = v.dtype
    gv = jnp.zeros_like(v) if gv is None else gv
    gs = jnp.zeros_like(s) if gs is None else gs
    x = v - theta
    dsig = jax.jvp(spike_fn, (x,), (jnp.ones_like(x),))[1]
    s_prev = jnp.concatenate([s0[None], s[:-1]], axis=0)
    v_prev = jnp.concatenate([v0[None], v[:-1]], axis=0)
    r = spike_fn(v_prev - theta)  # r[t], identical in value to the forward pass
    if reset == "zero":
        a = beta * (1.0 - r)
    else:
        a = jnp.broadcast_to(beta, v.shape).astype(dtype)
    a_next = jnp.concatenate([a[1:], jnp.zeros_like(a[:1])], axis=0)  # a[t+1]

    def body(lam_next, xs):
        gv_t, gs_t, dsig_t, a_next_t = xs
        g = gs_t + lam_next @ w
        lam = gv_t + dsig_t * g + a_next_t * lam_next
        return lam, (lam, g)

    lam_end = jnp.zeros_like(v[0])
    _, (lam, g_all) = jax.lax.scan(body, lam_end, (gv, gs, dsig, a_next), reverse=True)
    n = v.shape[-1]
    lam2 = lam.reshape(-1, n)
    dw = lam2.T @ s_prev.reshape(-1, n)
    decay = (1.0 - r) if reset == "zero" else 1.0
    dbeta = jnp.sum((lam * v_prev * decay).reshape(-1, n), axis=0)
    dtheta = -jnp.sum((dsig * g_all).reshape(-1, n), axis=0)
    if reset == "subtract":
        dtheta = dtheta - jnp.sum((lam * r).reshape(-1, n), axis=0)
    dv0 = a[0] * lam[0]
    ds0 = lam[0] @ w
    return lam, dw, dbeta, dtheta, dv0, ds0


lif_recurrent_scan.defvjp(_fwd, _bwd)
