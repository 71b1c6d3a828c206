"""Evaluation of latent trajectories and the baselines they are measured against.

* **Future prediction** ``R^2 = 1 - sum ||zhat(t + k) - z(t + k)||^2 /
  sum ||z(t + k) - mean||^2`` on held-out time, pooled over horizons ``k > 0`` and both
  directions (view A -> B, B -> A).
* **Effective rank** ``exp(-sum p_i log p_i)``, ``p_i = lambda_i / sum lambda`` the
  eigenvalues of the latents' covariance (Roy & Vetterli 2007). It is scale invariant, so
  it does *not* detect a collapse to a tiny but isotropic cloud: report the latents'
  standard deviation next to it.
* **Linear probe**: ridge regression on one-hot classes (features standardised with
  training statistics), accuracy on held-out bins; for a continuous variable (running
  speed) the held-out R^2 of a ridge regression.
* **CCA with true latents**: canonical directions fitted on training bins,
  correlations on held-out bins (:func:`synaptax.distill.heldout_correlations`), mean.
* **PCA baseline**: PCA of square-root counts smoothed within each epoch interval,
  causally (exponential, ``tau`` 50 ms) or acausally (Gaussian, ``sigma`` 30 ms),
  fitted on training bins.

References:
    Roy & Vetterli (2007), The effective rank: a measure of effective dimensionality,
    EUSIPCO.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Bool, Float, Int, Real
from scipy.ndimage import gaussian_filter1d
from scipy.signal import lfilter

from ..distill import fit_cca, heldout_correlations
from ._model import Teacher

__all__ = [
    "effective_rank",
    "future_r2",
    "heldout_cca",
    "linear_probe_accuracy",
    "linear_probe_r2",
    "pca_latents",
    "teacher_latents",
]


def teacher_latents(
    model: Teacher,
    counts: Real[np.ndarray, "time unit"],
    views: tuple[np.ndarray, np.ndarray],
    session: int = 0,
) -> Float[np.ndarray, "time latent"]:
    """The teacher's latent trajectory: mean of the two (aligned) views' latents
    (``session``: which session's read-ins, for a teacher of several sessions)."""
    c = jnp.asarray(counts, jnp.result_type(float))
    za = model.encode(c[:, views[0]], 2 * session)
    zb = model.encode(c[:, views[1]], 2 * session + 1)
    return np.asarray(0.5 * (za + zb))


def future_r2(
    model: Teacher,
    counts: Real[np.ndarray, "time unit"],
    views: tuple[np.ndarray, np.ndarray],
    test: Bool[np.ndarray, " time"],
    session: int = 0,
) -> float:
    """Held-out R^2 of predicting the other view's latent ``k`` bins ahead (module doc).

    A source time ``t`` counts when ``t`` and ``t + k`` are both test bins."""
    c = jnp.asarray(counts, jnp.result_type(float))
    z = (
        np.asarray(model.encode(c[:, views[0]], 2 * session)),
        np.asarray(model.encode(c[:, views[1]], 2 * session + 1)),
    )
    tgt = (
        np.asarray(model.embed_target(c[:, views[0]], 2 * session)),
        np.asarray(model.embed_target(c[:, views[1]], 2 * session + 1)),
    )
    test = np.asarray(test, bool)
    sse, sst = 0.0, 0.0
    for i, k in enumerate(model.predictor.horizons):
        if k == 0:
            continue
        t = np.flatnonzero(test[: len(test) - k] & test[k:])
        pred = jax.vmap(lambda v, i=i: model.predictor(v, i))
        for src, dst in ((z[0], tgt[1]), (z[1], tgt[0])):
            p = np.asarray(pred(jnp.asarray(src[t])))
            y = dst[t + k]
            sse += float(np.sum((p - y) ** 2))
            sst += float(np.sum((y - y.mean(0)) ** 2))
    if sst == 0.0:
        return float("nan")
    return 1.0 - sse / sst


def effective_rank(z: Float[np.ndarray, "time latent"]) -> float:
    """Effective rank of the latents' covariance (scale invariant: see module doc)."""
    ev = np.clip(np.linalg.eigvalsh(np.cov(np.asarray(z, float), rowvar=False)), 0, None)
    if ev.sum() <= 0:
        return 0.0
    p = ev / ev.sum()
    p = p[p > 0]
    return float(np.exp(-np.sum(p * np.log(p))))


def linear_probe_accuracy(
    z: Float[np.ndarray, "time latent"],
    labels: np.ndarray,
    train: Bool[np.ndarray, " time"],
    test: Bool[np.ndarray, " time"],
    ridge: float = 1e-2,
) -> float:
    """Held-out accuracy of a ridge-regression classifier (one-hot targets) on ``z``."""
    labels = np.asarray(labels)
    classes = np.unique(labels[train])
    if len(classes) < 2:
        raise ValueError(
            f"the training bins hold a single class ({classes}); a probe needs two or more."
        )
    mu, sd = z[train].mean(0), z[train].std(0) + 1e-12
    x = np.hstack([(z - mu) / sd, np.ones((len(z), 1))])
    y = (labels[:, None] == classes[None, :]).astype(float)
    xt = x[train]
    w = np.linalg.solve(xt.T @ xt + ridge * len(xt) * np.eye(x.shape[1]), xt.T @ y[train])
    pred = classes[np.argmax(x[test] @ w, axis=1)]
    return float(np.mean(pred == labels[test]))


def linear_probe_r2(
    z: Float[np.ndarray, "time latent"],
    y: Float[np.ndarray, " time"],
    train: Bool[np.ndarray, " time"],
    test: Bool[np.ndarray, " time"],
    ridge: float = 1e-2,
) -> float:
    """Held-out R^2 of a ridge regression from ``z`` to a continuous variable ``y``
    (e.g. running speed), ``1 - SSE / SST`` on the test bins."""
    mu, sd = z[train].mean(0), z[train].std(0) + 1e-12
    x = np.hstack([(z - mu) / sd, np.ones((len(z), 1))])
    xt = x[train]
    w = np.linalg.solve(xt.T @ xt + ridge * len(xt) * np.eye(x.shape[1]), xt.T @ y[train])
    res = y[test] - x[test] @ w
    sst = np.sum((y[test] - y[test].mean()) ** 2)
    return float(1.0 - np.sum(res**2) / sst) if sst > 0 else float("nan")


def heldout_cca(
    z: Float[np.ndarray, "time latent"],
    truth: Float[np.ndarray, "time dim"],
    train: Bool[np.ndarray, " time"],
    test: Bool[np.ndarray, " time"],
    ridge: float = 1e-3,
) -> float:
    """Mean held-out canonical correlation between ``z`` and the true latents."""
    fit = fit_cca(jnp.asarray(z[train]), jnp.asarray(truth[train]), ridge)
    return float(
        jnp.mean(heldout_correlations(fit, jnp.asarray(z[test]), jnp.asarray(truth[test])))
    )


def _smooth(x: np.ndarray, segment: np.ndarray, causal: bool, bin_s: float) -> np.ndarray:
    out = np.empty_like(x)
    for s in np.unique(segment):
        sel = segment == s
        if causal:
            a = np.exp(-bin_s / 0.05)
            out[sel] = lfilter([1 - a], [1, -a], x[sel], axis=0)
        else:
            out[sel] = gaussian_filter1d(x[sel], 0.03 / bin_s, axis=0, mode="nearest")
    return out


def pca_latents(
    counts: Real[np.ndarray, "time unit"],
    segment: Int[np.ndarray, " time"],
    train: Bool[np.ndarray, " time"],
    dim: int,
    causal: bool = True,
    bin_s: float = 0.01,
) -> Float[np.ndarray, "time latent"]:
    """PCA baseline: top ``dim`` principal components (fitted on training bins) of
    square-root counts smoothed within each epoch interval (module doc)."""
    x = _smooth(np.sqrt(np.asarray(counts, float)), np.asarray(segment), causal, bin_s)
    mu = x[train].mean(0)
    _, _, vt = np.linalg.svd(x[train] - mu, full_matrices=False)
    return (x - mu) @ vt[:dim].T
