"""Linear dynamical system baseline: EM with a Kalman filter and RTS smoother.

The model, for square-root counts ``y_t`` (one row per 10 ms bin),

    x_t = A x_{t-1} + w_t,   w_t ~ N(0, Q),       x_1 ~ N(m0, V0)   (per contiguous run)
    y_t = C x_t + b + v_t,   v_t ~ N(0, diag(r)),

is fitted on the training bins by expectation-maximisation (Shumway & Stoffer 1982;
Ghahramani & Hinton 1996), starting from PCA of the smoothed observations: ``C`` the top
principal directions, ``x`` the projections, ``A`` and ``Q`` from a least-squares fit of
the projections' one-step dynamics. The training bins fall into contiguous runs (split
blocks, epoch intervals); each run restarts from the initial state, so no dynamics are
learnt across a gap. The latents are the smoothed posterior means ``E[x_t | y_{1..T}]``
(acausal, like GPFA) or the filtered means ``E[x_t | y_{1..t}]`` (causal).

With a diagonal observation noise the filter works in the latent dimension only
(information form: ``J = C' R^-1 C`` and ``C' R^-1 (y_t - b)``), so hundreds of units
cost little; the recursions are ``jax.lax.scan`` loops.

References:
    Shumway & Stoffer (1982), An approach to time series smoothing and forecasting using
    the EM algorithm, J. Time Series Analysis 3.
    Ghahramani & Hinton (1996), Parameter estimation for linear dynamical systems,
    Technical report CRG-TR-96-2, University of Toronto.
    Yu et al. (2009), Gaussian-process factor analysis for low-dimensional single-trial
    analysis of neural population activity, J. Neurophysiology 102.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Bool, Float, Int, Real
from scipy.ndimage import gaussian_filter1d

__all__ = ["LDSParams", "fit_lds", "lds_latents", "lds_runs", "lds_smooth"]


@dataclass(frozen=True)
class LDSParams:
    """``x_t = A x_{t-1} + N(0, Q)``, ``y_t = C x_t + b + N(0, diag(r))``, runs start at
    ``N(m0, V0)``."""

    A: np.ndarray
    Q: np.ndarray
    C: np.ndarray
    b: np.ndarray
    r: np.ndarray
    m0: np.ndarray
    V0: np.ndarray


def lds_runs(
    mask: Bool[np.ndarray, " time"], segment: Int[np.ndarray, " time"]
) -> Bool[np.ndarray, " selected"]:
    """For the bins selected by ``mask``, True where one begins a new contiguous run (a
    gap in the selection or a new epoch interval): the ``start`` of :func:`fit_lds`."""
    mask, segment = np.asarray(mask, bool), np.asarray(segment)
    idx = np.flatnonzero(mask)
    start = np.ones(len(idx), bool)
    start[1:] = (np.diff(idx) != 1) | (segment[idx[1:]] != segment[idx[:-1]])
    return start


def _sym(m):
    return 0.5 * (m + jnp.swapaxes(m, -1, -2))


@jax.jit
def _kalman(params: dict, y, start):
    """Filter and RTS smoother over the concatenated runs (``start`` marks run starts).

    Returns smoothed means and covariances, lag-one cross covariances
    ``Cov(x_t, x_{t-1} | all)`` (zero at run starts), filtered means and the
    log-likelihood."""
    A, Q, C, b, r, m0, V0 = (params[k] for k in ("A", "Q", "C", "b", "r", "m0", "V0"))
    d = A.shape[0]
    eye = jnp.eye(d, dtype=y.dtype)
    rinv = 1.0 / r
    J = _sym(C.T @ (rinv[:, None] * C))
    h = (y - b) @ (rinv[:, None] * C)  # time, d

    def fwd(carry, inp):
        m, P = carry
        ht, st, yt = inp
        mp = jnp.where(st, m0, A @ m)
        Pp = jnp.where(st, V0, _sym(A @ P @ A.T + Q))
        Pp_inv = jnp.linalg.inv(Pp)
        Pf = jnp.linalg.inv(_sym(Pp_inv + J))
        Pf = _sym(Pf)
        mf = Pf @ (Pp_inv @ mp + ht)
        # log-likelihood of y_t (matrix determinant lemma / Woodbury in d dimensions)
        e = yt - b - C @ mp
        Re = rinv * e
        u = C.T @ Re
        quad = e @ Re - u @ Pf @ u
        logdet = jnp.sum(jnp.log(r)) + jnp.linalg.slogdet(eye + Pp @ J)[1]
        ll = -0.5 * (quad + logdet + len(r) * jnp.log(2 * jnp.pi))
        return (mf, Pf), (mf, Pf, mp, Pp, ll)

    init = (jnp.zeros(d, y.dtype), jnp.zeros((d, d), y.dtype))
    _, (mf, Pf, mp, Pp, ll) = jax.lax.scan(fwd, init, (h, start, y))
    # the prediction of step t + 1 (from t) is used in the smoother; a run start at t + 1
    # cuts the link: the smoothed state at t is then the filtered one
    nxt_start = jnp.concatenate([start[1:], jnp.ones(1, bool)])
    mp1 = jnp.concatenate([mp[1:], mp[:1]])
    Pp1 = jnp.concatenate([Pp[1:], Pp[:1]])

    def bwd(carry, inp):
        ms_next, Ps_next = carry
        mft, Pft, mpn, Ppn, cut = inp
        G = jnp.where(cut, 0.0, Pft @ A.T @ jnp.linalg.inv(Ppn))
        ms = mft + G @ (ms_next - mpn)
        Ps = _sym(Pft + G @ (Ps_next - Ppn) @ G.T)
        # Cov(x_{t+1}, x_t | all) = Ps_{t+1} G_t'
        cross = Ps_next @ G.T
        return (jnp.where(cut, mft, ms), jnp.where(cut, Pft, Ps)), (
            jnp.where(cut, mft, ms),
            jnp.where(cut, Pft, Ps),
            cross,
        )

    last = (mf[-1], Pf[-1])
    _, (ms, Ps, cross) = jax.lax.scan(bwd, last, (mf, Pf, mp1, Pp1, nxt_start), reverse=True)
    # cross[t] = Cov(x_{t+1}, x_t); shift so that cross_prev[t] = Cov(x_t, x_{t-1})
    cross_prev = jnp.concatenate([jnp.zeros((1, d, d), y.dtype), cross[:-1]])
    cross_prev = jnp.where(start[:, None, None], 0.0, cross_prev)
    return ms, Ps, cross_prev, mf, jnp.sum(ll)


def _to_jax(p: LDSParams, dtype) -> dict:
    return {k: jnp.asarray(getattr(p, k), dtype) for k in ("A", "Q", "C", "b", "r", "m0", "V0")}


def _m_step(y: np.ndarray, start: np.ndarray, ms, Ps, cross, min_r: float) -> LDSParams:
    """Maximisation step from the smoothed moments (sums over time, without forming the
    ``[time, d, d]`` second moments)."""
    T, d = ms.shape
    cont = (~start).astype(Ps.dtype)
    prev = np.zeros(T, Ps.dtype)
    prev[np.flatnonzero(~start) - 1] = 1.0

    def wsum(w, P):  # sum_t w_t P_t, in float64
        return np.einsum("t,tij->ij", w, P).astype(float)

    # observation model: regress y on [x, 1]
    S = np.zeros((d + 1, d + 1))
    S[:d, :d] = Ps.sum(0).astype(float) + ms.T @ ms
    S[:d, d] = S[d, :d] = ms.sum(0)
    S[d, d] = T
    Yx = np.hstack([y.T @ ms, y.sum(0)[:, None]])  # unit, d + 1
    Cb = np.linalg.solve(S, Yx.T).T
    C, b = Cb[:, :d], Cb[:, d]
    r = np.maximum(np.mean(y**2, 0) - np.sum(Cb * Yx, 1) / T, min_r)
    # dynamics over the pairs (t - 1, t) inside runs
    c, pv = cont.astype(bool), prev.astype(bool)
    S10 = wsum(cont, cross) + ms[c].T @ ms[pv]  # sum E[x_t x_{t-1}']
    S00 = wsum(prev, Ps) + ms[pv].T @ ms[pv]  # sum E[x_{t-1} x_{t-1}']
    S11 = wsum(cont, Ps) + ms[c].T @ ms[c]
    A = np.linalg.solve(S00.T, S10.T).T
    Q = (S11 - A @ S10.T) / max(int(c.sum()), 1)
    Q = 0.5 * (Q + Q.T) + 1e-6 * np.eye(d)
    m0 = ms[start].mean(0)
    dev = ms[start] - m0
    V0 = wsum(start.astype(Ps.dtype), Ps) / start.sum() + dev.T @ dev / start.sum()
    V0 = 0.5 * (V0 + V0.T) + 1e-6 * np.eye(d)
    return LDSParams(A, Q, C, b, r, m0, V0)


def _init(y: np.ndarray, start: np.ndarray, dim: int, sigma: float = 3.0) -> LDSParams:
    """PCA start: ``C`` the top principal directions of ``y`` smoothed within each run
    (Gaussian, ``sigma`` bins; unsmoothed, noise-dominated directions would come first
    otherwise), scaled so that the smoothed projections ``x`` have unit variance; ``A``,
    ``Q`` by least squares on consecutive projections."""
    b = y.mean(0)
    run_id = np.cumsum(start)
    ys = np.empty_like(y)
    for r in np.unique(run_id):
        sel = run_id == r
        ys[sel] = gaussian_filter1d(y[sel] - b, sigma, axis=0, mode="nearest")
    _, _, vt = np.linalg.svd(ys, full_matrices=False)
    x = ys @ vt[:dim].T
    sd = x.std(0) + 1e-12
    x = x / sd
    C = vt[:dim].T * sd
    resid = (y - b) - x @ C.T
    r = np.maximum(resid.var(0), 1e-3 * y.var(0).mean())
    cont = ~start
    x0, x1 = np.vstack([np.zeros((1, dim)), x[:-1]])[cont], x[cont]
    A = np.linalg.lstsq(x0, x1, rcond=None)[0].T
    e = x1 - x0 @ A.T
    Q = np.cov(e.T).reshape(dim, dim) + 1e-6 * np.eye(dim)
    return LDSParams(A, Q, C, b, r, np.zeros(dim), np.eye(dim))


def fit_lds(
    y: Real[np.ndarray, "time obs"],
    start: Bool[np.ndarray, " time"],
    dim: int,
    n_iter: int = 30,
) -> tuple[LDSParams, list[float]]:
    """Fit an LDS by EM to observations ``y`` made of contiguous runs (``start`` True at the
    first bin of each run). Returns the parameters and the log-likelihood per iteration
    (before each M-step; it does not decrease, up to round-off)."""
    y = np.asarray(y, float)
    start = np.asarray(start, bool).copy()
    start[0] = True
    if dim < 1 or dim > y.shape[1]:
        raise ValueError(f"latent dim must be in [1, {y.shape[1]}] (observations), got {dim}.")
    p = _init(y, start, dim)
    min_r = 1e-4 * float(y.var(0).mean())
    lls = []
    yj, sj = jnp.asarray(y), jnp.asarray(start)
    for _ in range(n_iter):
        ms, Ps, cross, _, ll = _kalman(_to_jax(p, yj.dtype), yj, sj)
        lls.append(float(ll))
        p = _m_step(y, start, np.asarray(ms, float), np.asarray(Ps), np.asarray(cross), min_r)
    return p, lls


def lds_smooth(
    p: LDSParams,
    y: Real[np.ndarray, "time obs"],
    start: Bool[np.ndarray, " time"],
    causal: bool = False,
) -> Float[np.ndarray, "time latent"]:
    """Smoothed (or, ``causal``, filtered) posterior means of the latents."""
    y = np.asarray(y, float)
    yj = jnp.asarray(y)
    start = np.asarray(start, bool).copy()
    start[0] = True
    ms, _, _, mf, _ = _kalman(_to_jax(p, yj.dtype), yj, jnp.asarray(start))
    return np.asarray(mf if causal else ms, float)


def lds_latents(
    counts: Real[np.ndarray, "time unit"],
    segment: Int[np.ndarray, " time"],
    train: Bool[np.ndarray, " time"],
    dim: int,
    causal: bool = False,
    n_iter: int = 30,
) -> Float[np.ndarray, "time latent"]:
    """LDS baseline: fit on the square-root counts of the training bins (their contiguous
    runs), then the smoothed (or filtered, ``causal``) latents of every bin, each epoch
    interval (``segment``) one run."""
    y = np.sqrt(np.asarray(counts, float))
    segment = np.asarray(segment)
    train = np.asarray(train, bool)
    p, _ = fit_lds(y[train], lds_runs(train, segment), dim, n_iter)
    everything = np.ones(len(y), bool)
    return lds_smooth(p, y, lds_runs(everything, segment), causal)
