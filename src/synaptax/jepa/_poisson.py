"""Poisson maximum a posteriori smoother: latents of an exponential-linear count model.

The model, for the counts ``y_t`` of one 10 ms bin (one row per bin),

    x_t - m = A (x_{t-1} - m) + w_t,   w_t ~ N(0, Q),   x_1 - m ~ N(0, P0)  (per run)
    y_{n,t} ~ Poisson(exp(b_n + C_n x_t))                (expected count per bin),

is the generator of :func:`synaptax.data.make_synthetic_session` with its nonlinear
latent dynamics replaced by an AR(1) prior. The log-posterior is concave in ``x``, so
its maximiser (the MAP trajectory, :func:`poisson_smooth`) is found by Newton's method:
the Hessian is block tridiagonal (``d x d`` blocks ``C' diag(rate_t) C + Q^-1 +
A' Q^-1 A``, off-diagonal ``-Q^-1 A``) and each Newton step is one forward and one
backward ``jax.lax.scan`` (block Thomas algorithm), with a backtracking line search.
Unlike a Kalman smoother of square-root counts, the estimate is a *nonlinear* function
of the counts: every unit is weighted by its current rate (the Fisher information).

:func:`teacher_smoother` builds the model from a trained teacher with the Poisson
observation term: ``C``, ``b`` are the teacher's own read-outs (each view's units from
the read-out trained to predict them from the *other* view's latent), ``A``, ``Q``,
``P0`` and ``m`` a least-squares AR(1) fit of the teacher's latents on consecutive
training bins (:func:`fit_ar1`). Nothing in it sees the true latents.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Bool, Float, Int, Real

from ._eval import teacher_latents
from ._model import Teacher

__all__ = ["PoissonLDSParams", "fit_ar1", "poisson_smooth", "teacher_smoother"]


@dataclass(frozen=True)
class PoissonLDSParams:
    """``x_t - m = A (x_{t-1} - m) + N(0, Q)``, runs start at ``N(m, P0)``, counts
    ``Poisson(exp(b + C x_t))`` per bin (``C`` ``[unit, d]``, ``b`` ``[unit]``, log
    expected counts per bin)."""

    A: np.ndarray
    Q: np.ndarray
    P0: np.ndarray
    m: np.ndarray
    C: np.ndarray
    b: np.ndarray


def fit_ar1(
    z: Float[np.ndarray, "time latent"],
    train: Bool[np.ndarray, " time"],
    segment: Int[np.ndarray, " time"],
    jitter: float = 1e-6,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares AR(1) fit of ``z`` over the pairs of consecutive bins that are both
    training bins of one epoch interval: ``(A, Q, P0, m)``, ``m`` and ``P0`` the mean and
    covariance of ``z`` on the training bins, ``Q`` the residuals' covariance
    (``jitter`` added to the diagonals)."""
    z = np.asarray(z, float)
    train, segment = np.asarray(train, bool), np.asarray(segment)
    m = z[train].mean(0)
    x = z - m
    pair = train[1:] & train[:-1] & (segment[1:] == segment[:-1])
    if pair.sum() <= z.shape[1]:
        raise ValueError(f"need more than {z.shape[1]} consecutive training pairs to fit A.")
    x0, x1 = x[:-1][pair], x[1:][pair]
    A = np.linalg.lstsq(x0, x1, rcond=None)[0].T
    e = x1 - x0 @ A.T
    eye = jitter * np.eye(z.shape[1])
    return A, e.T @ e / len(e) + eye, np.cov(x[train].T).reshape(len(m), len(m)) + eye, m


def _newton_fns(p: PoissonLDSParams, dtype):
    C, b, A = (jnp.asarray(v, dtype) for v in (p.C, p.b, p.A))
    Qi = jnp.asarray(np.linalg.inv(p.Q), dtype)
    P0i = jnp.asarray(np.linalg.inv(p.P0), dtype)
    m = jnp.asarray(p.m, dtype)
    L = -Qi @ A  # Hessian block (t, t - 1)
    AQA = A.T @ Qi @ A

    def terms(x, y):
        """Negative log-posterior per bin (constants dropped), to be summed in float64."""
        eta = b + x @ C.T
        lik = jnp.sum(jnp.exp(eta) - y * eta, axis=1)
        e = (x[1:] - m) - (x[:-1] - m) @ A.T
        dyn = 0.5 * jnp.sum((e @ Qi) * e, axis=1)
        x0 = x[0] - m
        return lik + jnp.concatenate([0.5 * (x0 @ P0i @ x0)[None], dyn])

    @jax.jit
    def direction(x, y):
        """Newton direction ``H^-1 g`` and the decrement ``g' H^-1 g``."""
        g = jax.grad(lambda v: jnp.sum(terms(v, y)))(x)
        n = x.shape[0]
        rate = jnp.exp(b + x @ C.T)
        H = jnp.einsum("tn,ni,nj->tij", rate, C, C)
        t = jnp.arange(n)[:, None, None]
        H = H + jnp.where(t >= 1, Qi, P0i) + jnp.where(t < n - 1, AQA, 0.0)

        def forward(carry, inp):
            s_prev, r_prev = carry
            h, gt = inp
            s = h - L @ jnp.linalg.solve(s_prev, L.T)
            r = gt - L @ jnp.linalg.solve(s_prev, r_prev)
            return (s, r), (s, r)

        _, (s, r) = jax.lax.scan(forward, (H[0], g[0]), (H[1:], g[1:]))
        s = jnp.concatenate([H[:1], s])
        r = jnp.concatenate([g[:1], r])
        last = jnp.linalg.solve(s[-1], r[-1])

        def backward(nxt, inp):
            st, rt = inp
            cur = jnp.linalg.solve(st, rt - L.T @ nxt)
            return cur, cur

        _, rest = jax.lax.scan(backward, last, (s[:-1], r[:-1]), reverse=True)
        dx = jnp.concatenate([rest, last[None]])
        return dx, jnp.sum(g * dx)

    return jax.jit(terms), direction


def poisson_smooth(
    p: PoissonLDSParams,
    counts: Real[np.ndarray, "time unit"],
    segment: Int[np.ndarray, " time"],
    init: Float[np.ndarray, "time latent"] | None = None,
    max_iter: int = 50,
    tol: float = 1e-6,
) -> Float[np.ndarray, "time latent"]:
    """MAP latents ``argmax_x log p(x | y)`` of the model above, each epoch interval
    (``segment``) one run.

    Args:
        p: the model (``C`` rows in the order of ``counts``' columns).
        counts: ``[time, unit]`` spike counts per bin.
        segment: ``[time]`` epoch interval of each bin; the dynamics restart in each.
        init: starting trajectory (e.g. an encoder's latents); ``m`` by default.
        max_iter: Newton iterations per run at most.
        tol: stop when the Newton decrement ``g' H^-1 g / 2`` per bin falls below it.

    Returns:
        ``[time, latent]`` MAP latents (NumPy, the dtype of ``jnp.asarray(counts)``).
    """
    y_all = jnp.asarray(counts, jnp.result_type(float))
    dtype = y_all.dtype
    segment = np.asarray(segment)
    if y_all.shape[1] != p.C.shape[0] or len(segment) != y_all.shape[0]:
        raise ValueError(
            f"counts {y_all.shape} need {p.C.shape[0]} units and one segment per bin "
            f"({len(segment)} given)."
        )
    terms, direction = _newton_fns(p, dtype)
    d = p.A.shape[0]
    start = np.broadcast_to(p.m, (len(segment), d)) if init is None else np.asarray(init)
    out = np.empty((len(segment), d), dtype)
    for s in np.unique(segment):
        sel = np.flatnonzero(segment == s)
        y = y_all[sel]
        x = jnp.asarray(start[sel], dtype)
        f = float(np.sum(np.asarray(terms(x, y), float)))
        for _ in range(max_iter):
            dx, dec = direction(x, y)
            dec = float(dec)
            if not np.isfinite(dec) or dec / 2 < tol * len(sel):
                break
            step, moved = 1.0, False
            while step > 1e-4:
                xn = x - step * dx
                fn = float(np.sum(np.asarray(terms(xn, y), float)))
                if np.isfinite(fn) and fn <= f - 1e-4 * step * dec:
                    x, f, moved = xn, fn, True
                    break
                step *= 0.5
            if not moved:
                break
        out[sel] = np.asarray(x)
    return out


def teacher_smoother(
    model: Teacher,
    counts: Real[np.ndarray, "time unit"],
    views: tuple[np.ndarray, np.ndarray],
    train: Bool[np.ndarray, " time"],
    segment: Int[np.ndarray, " time"],
    session: int = 0,
) -> tuple[PoissonLDSParams, np.ndarray]:
    """The Poisson model of a teacher trained with the Poisson observation term (module
    docstring): ``(params, units)``, ``units`` the columns of ``counts`` that ``C``'s rows
    refer to (both views, view A first). Smooth with ``poisson_smooth(params,
    counts[:, units], segment, init=teacher_latents(...))``."""
    if model.readouts is None:
        raise ValueError(
            "the Poisson smoother needs a teacher with read-outs: train it with "
            "TeacherConfig(obs_weight > 0, obs_poisson=True)."
        )
    z = teacher_latents(model, counts, views, session)
    A, Q, P0, m = fit_ar1(z, train, segment)
    ro = (model.readouts[2 * session], model.readouts[2 * session + 1])
    C = np.concatenate([np.asarray(r.weight, float) for r in ro])
    b = np.concatenate([np.asarray(r.bias, float) for r in ro])
    units = np.concatenate([np.asarray(v) for v in views])
    return PoissonLDSParams(A, Q, P0, m, C, b), units
