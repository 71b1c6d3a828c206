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

That AR(1) is fitted to the encoder's latents, which are smoother than the latents they
estimate, so its prior smooths too much (the weakest latent dimensions suffer most).
:func:`fit_dynamics` refits ``A`` and ``Q`` by Laplace EM: the posterior covariances
(the inverse Hessian's diagonal and first off-diagonal blocks, from the same
factorisation) enter the M-step, so ``Q`` does not shrink as it does when an AR(1) is
refitted to MAP point estimates. :func:`refined_latents` chains the three: the
teacher's Poisson model, its dynamics by Laplace EM, the MAP latents of every bin.

Runs of equal length are stacked and solved together (``jax.vmap``); everything runs in
float64 (``jax.enable_x64``), whatever JAX's default.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Bool, Float, Int, Real

from ._eval import teacher_latents
from ._model import Teacher

__all__ = [
    "PoissonLDSParams",
    "fit_ar1",
    "fit_dynamics",
    "poisson_smooth",
    "refined_latents",
    "teacher_smoother",
]


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


def _model_fns(p: PoissonLDSParams):
    """One run's negative log-posterior, Newton direction and E-step, ``f(x, y)`` over a
    stack of runs of equal length (float64; call under ``jax.enable_x64``). The model's
    arrays are arguments of the compiled functions, so new dynamics (an EM iteration) do
    not recompile them."""
    q = tuple(
        jnp.asarray(v, jnp.float64)
        for v in (p.C, p.b, p.A, np.linalg.inv(p.Q), np.linalg.inv(p.P0), p.m)
    )
    return tuple(functools.partial(f, q) for f in _compiled())


@functools.cache
def _compiled():
    def batched(i):
        def f(q, x, y):
            return _one_run(q)[i](x, y)

        return jax.jit(jax.vmap(f, in_axes=(None, 0, 0)))

    return batched(0), batched(1), batched(2)


def _one_run(q):
    C, b, A, Qi, P0i, m = q
    L = -Qi @ A  # Hessian block (t, t - 1)
    AQA = A.T @ Qi @ A

    def objective(x, y):
        eta = b + x @ C.T
        lik = jnp.sum(jnp.exp(eta) - y * eta)
        e = (x[1:] - m) - (x[:-1] - m) @ A.T
        x0 = x[0] - m
        return lik + 0.5 * jnp.sum((e @ Qi) * e) + 0.5 * (x0 @ P0i @ x0)

    def factor(x):
        """Inverses of the block Thomas algorithm's pivots ``S_t`` (``S_1 = H_11``,
        ``S_t = H_tt - L S_{t-1}^-1 L'``)."""
        n = x.shape[0]
        t = jnp.arange(n)
        fisher = jnp.einsum("tn,ni,nj->tij", jnp.exp(b + x @ C.T), C, C)

        def step(si_prev, inp):
            h, first, last = inp
            h = h + jnp.where(first, P0i, Qi) + jnp.where(last, 0.0, AQA)
            s = jnp.where(first, h, h - L @ si_prev @ L.T)
            si = jnp.linalg.inv(s)
            si = 0.5 * (si + si.T)
            return si, si

        _, si = jax.lax.scan(step, jnp.zeros_like(Qi), (fisher, t == 0, t == n - 1))
        return si

    def newton(g, si):
        """``H^-1 g`` from the pivots' inverses (forward and back substitution)."""

        def fwd(r_prev, inp):
            gt, si_prev, first = inp
            r = jnp.where(first, gt, gt - L @ (si_prev @ r_prev))
            return r, r

        si_prev = jnp.concatenate([si[:1], si[:-1]])
        _, r = jax.lax.scan(fwd, jnp.zeros_like(g[0]), (g, si_prev, jnp.arange(len(g)) == 0))

        def bwd(nxt, inp):
            rt, sit = inp
            cur = sit @ (rt - L.T @ nxt)
            return cur, cur

        _, dx = jax.lax.scan(bwd, jnp.zeros_like(g[0]), (r, si), reverse=True)
        return dx

    def direction(x, y):
        """Newton direction ``H^-1 g`` and the decrement ``g' H^-1 g``."""
        g = jax.grad(objective)(x, y)
        dx = newton(g, factor(x))
        return dx, jnp.sum(g * dx)

    def moments(x, si):
        """Sums over consecutive pairs ``(t - 1, t)`` of the posterior (Laplace) second
        moments of ``x - m``: ``E[x_{t-1} x_{t-1}']``, ``E[x_t x_t']``, ``E[x_t x_{t-1}']``,
        with ``Cov(x_t) = S_t^-1 + S_t^-1 L' Cov(x_{t+1}) L S_t^-1`` and
        ``Cov(x_{t+1}, x_t) = -Cov(x_{t+1}) L S_t^-1`` (backward recursion); also the
        number of pairs and the summed posterior variance of all bins."""

        def bwd(carry, sit):
            sig_next, s_prev, s_next, s_cross, tot = carry
            sig = sit + sit @ L.T @ sig_next @ L @ sit
            cross = -sig_next @ L @ sit
            carry = (sig, s_prev + sig, s_next + sig_next, s_cross + cross, tot + jnp.trace(sig))
            return carry, None

        zero = jnp.zeros_like(Qi)
        init = (si[-1], zero, zero, zero, jnp.trace(si[-1]))
        (_, s00, s11, s10, tot), _ = jax.lax.scan(bwd, init, si[:-1], reverse=True)
        xc = x - m
        s00 = s00 + xc[:-1].T @ xc[:-1]
        s11 = s11 + xc[1:].T @ xc[1:]
        s10 = s10 + xc[1:].T @ xc[:-1]
        return s00, s11, s10, jnp.asarray(x.shape[0] - 1), tot

    def estep(x, y):
        """One factorisation at ``x``: the objective there, the Newton direction and
        decrement from ``x``, and the posterior moments at ``x``."""
        f, g = jax.value_and_grad(objective)(x, y)
        si = factor(x)
        dx = newton(g, si)
        return f, dx, jnp.sum(g * dx), moments(x, si)

    return objective, direction, estep


def _groups(segment: np.ndarray) -> list[np.ndarray]:
    """The bins of each run (bins of one ``segment`` value, in order), runs of equal
    length stacked: a list of ``[runs, length]`` index arrays."""
    by_len: dict[int, list[np.ndarray]] = {}
    for s in np.unique(segment):
        sel = np.flatnonzero(segment == s)
        by_len.setdefault(len(sel), []).append(sel)
    return [np.stack(v) for _, v in sorted(by_len.items())]


def _step(objective, x, dx, dec, f, active, y):
    """Backtracking (Armijo) line search along ``-dx`` for each active run of a stack:
    ``(x, f, moved)``."""
    step = np.where(active, 1.0, 0.0)
    todo = active.copy()
    xn = np.array(x)
    while todo.any() and step[todo].max() > 1e-4:
        cand = x - step[:, None, None] * dx
        fc = np.asarray(objective(cand, y))
        ok = todo & np.isfinite(fc) & (fc <= f - 1e-4 * step * dec)
        xn[ok], f[ok] = np.asarray(cand)[ok], fc[ok]
        todo &= ~ok
        step = np.where(todo, step / 2, step)
    return jnp.asarray(xn), f, active & ~todo


def _newton(fns, x, y, max_iter: int, tol: float):
    """Damped Newton for a stack of runs, a backtracking line search per run."""
    objective, direction, _ = fns
    f = np.array(objective(x, y))
    active = np.ones(len(f), bool)
    for _ in range(max_iter):
        dx, dec = (np.asarray(v) for v in direction(x, y))
        active &= np.isfinite(dec) & (dec / 2 >= tol * x.shape[1])
        if not active.any():
            break
        # a run that finds no descent has converged as far as it can
        x, f, active = _step(objective, x, dx, dec, f, active, y)
    return x


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
        ``[time, latent]`` MAP latents (NumPy, float64: the smoother runs in double
        precision whatever JAX's default).
    """
    counts = np.asarray(counts, float)
    segment = np.asarray(segment)
    if counts.shape[1] != p.C.shape[0] or len(segment) != counts.shape[0]:
        raise ValueError(
            f"counts {counts.shape} need {p.C.shape[0]} units and one segment per bin "
            f"({len(segment)} given)."
        )
    d = p.A.shape[0]
    start = np.broadcast_to(p.m, (len(segment), d)) if init is None else np.asarray(init)
    out = np.empty((len(segment), d))
    with jax.enable_x64(True):
        fns = _model_fns(p)
        for idx in _groups(segment):
            y = jnp.asarray(counts[idx])
            x = _newton(fns, jnp.asarray(start[idx], jnp.float64), y, max_iter, tol)
            out[idx] = np.asarray(x)
    return out


def fit_dynamics(
    p: PoissonLDSParams,
    counts: Real[np.ndarray, "time unit"],
    train: Bool[np.ndarray, " time"],
    segment: Int[np.ndarray, " time"],
    init: Float[np.ndarray, "time latent"] | None = None,
    n_iter: int = 30,
    progress: bool = False,
) -> tuple[PoissonLDSParams, list[float]]:
    """Laplace EM for the dynamics ``A``, ``Q`` of the model above, ``C``, ``b``, ``m``,
    ``P0`` held fixed, on the contiguous runs of training bins (:func:`lds_runs`).

    The runs are first smoothed to the MAP (:func:`poisson_smooth`, from ``init``).
    Each iteration then factorises the Hessian once per run at the current trajectory,
    which gives both the Laplace posterior covariances (the inverse Hessian's diagonal
    and first off-diagonal blocks) and a Newton step that keeps the trajectory at the
    MAP as the dynamics change; the M-step is ``A = S10 S00^-1``,
    ``Q = (S11 - A S10') / n`` from the posterior second moments over consecutive
    training pairs. Unlike a least-squares AR(1) fit of point estimates
    (:func:`fit_ar1`), which sees trajectories smoother than the latents and fits a
    prior that smooths them further, the posterior covariances keep ``Q`` from
    shrinking.

    Args:
        p: starting model (e.g. from :func:`teacher_smoother`).
        counts: ``[time, unit]`` counts, ``C``'s units.
        train: bins to fit on.
        segment: epoch interval of each bin.
        init: starting latents ``[time, latent]`` (e.g. the encoder's); ``m`` by default.
        n_iter: EM iterations.
        progress: show a progress bar.

    Returns:
        ``(params, history)``, ``history`` the mean posterior variance per training bin
        (trace of the Laplace covariance) at each E-step.
    """
    from ._lds import lds_runs

    train = np.asarray(train, bool)
    run = np.cumsum(lds_runs(train, segment))
    y_all = np.asarray(counts, float)[train]
    x_all = poisson_smooth(p, y_all, run, None if init is None else np.asarray(init)[train])
    groups = _groups(run)
    d = p.A.shape[0]
    history: list[float] = []
    with jax.enable_x64(True):
        xs = [jnp.asarray(x_all[idx]) for idx in groups]
        ys = [jnp.asarray(y_all[idx]) for idx in groups]
        for _ in _progress_range(n_iter, progress, "Laplace EM"):
            objective, _, estep = _model_fns(p)
            stats = []
            for k, (x, y) in enumerate(zip(xs, ys, strict=True)):
                f, dx, dec, st = estep(x, y)
                stats.append([np.asarray(v).sum(0) for v in st])
                f, dec = np.array(f), np.asarray(dec)
                xs[k] = _step(objective, x, dx, dec, f, np.isfinite(dec) & (dec > 0), y)[0]
            s00, s11, s10, n_pairs, var = (np.sum(v, axis=0) for v in zip(*stats, strict=True))
            A = np.linalg.solve(s00.T, s10.T).T
            Q = (s11 - A @ s10.T) / n_pairs
            p = dataclasses.replace(p, A=A, Q=0.5 * (Q + Q.T) + 1e-9 * np.eye(d))
            history.append(float(var) / len(y_all))
    return p, history


def _progress_range(n: int, show: bool, what: str):
    if not show:
        return range(n)
    from rich.progress import track

    return track(range(n), description=what)


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
    z = teacher_latents(model, counts, views, session)
    return _smoother(model, z, views, train, segment, session)


def _smoother(model: Teacher, z, views, train, segment, session: int):
    """:func:`teacher_smoother` from the teacher's latents ``z``, already computed."""
    if model.readouts is None:
        raise ValueError(
            "the Poisson smoother needs a teacher with read-outs: train it with "
            "TeacherConfig(obs_weight > 0, obs_poisson=True)."
        )
    A, Q, P0, m = fit_ar1(z, train, segment)
    ro = (model.readouts[2 * session], model.readouts[2 * session + 1])
    C = np.concatenate([np.asarray(r.weight, float) for r in ro])
    b = np.concatenate([np.asarray(r.bias, float) for r in ro])
    units = np.concatenate([np.asarray(v) for v in views])
    return PoissonLDSParams(A, Q, P0, m, C, b), units


def refined_latents(
    model: Teacher,
    counts: Real[np.ndarray, "time unit"],
    views: tuple[np.ndarray, np.ndarray],
    train: Bool[np.ndarray, " time"],
    segment: Int[np.ndarray, " time"],
    session: int = 0,
    em_iter: int = 30,
    progress: bool = False,
) -> tuple[Float[np.ndarray, "time latent"], PoissonLDSParams]:
    """The teacher's latents refined by inference in its own Poisson model: the model of
    :func:`teacher_smoother` (the teacher's cross-view read-outs as ``C``, ``b``), its
    dynamics fitted by Laplace EM on the training bins (:func:`fit_dynamics`, ``em_iter``
    iterations from the AR(1) of the encoder's latents), then the MAP trajectory of every
    bin (:func:`poisson_smooth`, started at the encoder's latents). Nothing in it sees
    true latents. Returns ``(latents, params)``; ``params.C``'s rows are the units of
    ``views`` (view A first)."""
    z0 = teacher_latents(model, counts, views, session)
    params, units = _smoother(model, z0, views, train, segment, session)
    c = np.asarray(counts)[:, units]
    if em_iter > 0:
        params, _ = fit_dynamics(params, c, train, segment, z0, em_iter, progress)
    return poisson_smooth(params, c, segment, init=z0), params
