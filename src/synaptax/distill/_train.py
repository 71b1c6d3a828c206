"""The distillation loop: random windows, Adam with clipping, held-out evaluation.

Training samples ``batch`` random windows of ``window`` bins from the training time only,
and minimises :func:`distillation_loss`. Evaluation runs the student once, continuously,
over the whole session, fits CCA between its readout and the latents on training time only
and reports the canonical correlations on held-out time, with firing-rate statistics over
held-out time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, Bool, Float, Int

from ..snn import dale_violations, ei_balance, firing_rates, fraction_in_band
from ._similarity import fit_cca, heldout_correlations
from ._student import AbstractStudent, distillation_loss


@dataclass
class DistillConfig:
    """Settings of :func:`distill`.

    Attributes:
        n_steps: optimisation steps.
        batch: windows per step.
        window: bins per window.
        burn_in: leading bins of each window left out of the loss.
        lr: Adam learning rate.
        clip: global gradient-norm clip.
        rate_weight: weight of the rate penalty.
        rate_band: (low, high) band of the rate penalty in Hz; a band a little inside the
            5-20 Hz target leaves a margin for the held-out time.
        ridge: relative ridge of the CCA loss.
        similarity: "cca" (default) or "cka", see :func:`distillation_loss`.
        seed: seed of the window sampler.
    """

    n_steps: int = 400
    batch: int = 32
    window: int = 200
    burn_in: int = 20
    lr: float = 3e-3
    clip: float = 1.0
    rate_weight: float = 20.0
    rate_band: tuple[float, float] = (7.0, 17.0)
    ridge: float = 1e-3
    similarity: str = "cca"
    seed: int = 0


@dataclass
class DistillResult:
    """Trained student, training history and held-out evaluation."""

    student: AbstractStudent
    history: list[dict[str, float | int]] = field(default_factory=list)
    evaluation: dict[str, Any] = field(default_factory=dict)
    seconds_per_step: float = float("nan")


def make_step(optimizer: optax.GradientTransformation, static, cfg: DistillConfig):
    """A jitted ``(params, opt_state, inputs, latents) -> (params, opt_state, loss, aux)``."""

    @jax.jit
    def step(params, opt_state, inputs, latents):
        def loss_fn(p):
            return distillation_loss(
                eqx.combine(p, static),
                inputs,
                latents,
                burn_in=cfg.burn_in,
                rate_weight=cfg.rate_weight,
                ridge=cfg.ridge,
                rate_band=cfg.rate_band,
                similarity=cfg.similarity,
            )

        (loss, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss, aux

    return step


def window_starts(
    train: Bool[np.ndarray, " time"], segment: Int[np.ndarray, " time"] | None, length: int
) -> Int[np.ndarray, " window"]:
    """Start bins of every window of ``length`` bins that lies wholly inside training time
    and inside one segment (epoch interval): such windows never straddle a split boundary
    or a change of brain state."""
    train = np.asarray(train, bool)
    n = len(train)
    if n < length:
        return np.zeros(0, np.int64)
    ok = train.copy()
    if segment is not None:
        seg = np.asarray(segment)
        ok[1:] &= seg[1:] == seg[:-1]  # bin i continues bin i - 1
    bad = np.concatenate([[0], np.cumsum(~ok)])
    starts = np.arange(n - length + 1)
    breaks = bad[starts + length] - bad[starts + 1]
    return starts[train[starts] & (breaks == 0)]


def _windows(rng, x, z, starts, cfg: DistillConfig):
    s = starts[rng.integers(0, len(starts), size=cfg.batch)]
    idx = s[:, None] + np.arange(cfg.window)[None, :]
    return jnp.moveaxis(x[idx], 0, 1), jnp.moveaxis(z[idx], 0, 1)


def _masks(n_bins: int, n_train, train_mask, test_mask, skip: int):
    """(train, test) boolean masks from ``n_train`` or from explicit masks."""
    if (n_train is None) == (train_mask is None):
        raise ValueError(
            "give exactly one of `n_train` (bins [0, n_train) are training time) and "
            "`train_mask` (a boolean mask of training bins)."
        )
    if n_train is not None:
        train = np.arange(n_bins) < n_train
        test = ~train if test_mask is None else np.asarray(test_mask, bool)
    else:
        train = np.asarray(train_mask, bool)
        test = ~train if test_mask is None else np.asarray(test_mask, bool)
    for name, m in (("train_mask", train), ("test_mask", test)):
        if m.shape != (n_bins,):
            raise ValueError(f"`{name}` must have shape ({n_bins},), got {m.shape}.")
    if np.any(train & test):
        raise ValueError("training and held-out bins overlap; the masks must be disjoint.")
    train = train & (np.arange(n_bins) >= skip)  # the student starts at rest at bin 0
    return train, test


def evaluate(
    student: AbstractStudent,
    inputs: Float[Array, "time input"],
    latents: Float[Array, "time latent"],
    n_train: int | None = None,
    *,
    train_mask: Bool[np.ndarray, " time"] | None = None,
    test_mask: Bool[np.ndarray, " time"] | None = None,
    skip: int = 50,
) -> dict[str, Any]:
    """Held-out figures: CCA fitted on training bins, scored on held-out bins.

    Training bins are ``[skip, n_train)`` (or ``train_mask`` without the first ``skip``
    bins, while the student leaves rest); held-out bins are ``[n_train, end)`` (or
    ``test_mask``, by default every bin that is not training time). The student runs once,
    continuously, over the whole session.

    Returns ``cca_heldout`` (mean held-out canonical correlation), ``cca_per_dim``,
    ``frac_rates_in_band``, ``mean_rate_hz``, ``dale_violations`` and ``ei_ratio`` (total
    excitatory over inhibitory recurrent drive over held-out time; 1 is balance).
    """
    train, test = _masks(inputs.shape[0], n_train, train_mask, test_mask, skip)
    pred, spikes = student(inputs)
    fit = fit_cca(pred[train], latents[train])
    held = heldout_correlations(fit, pred[test], latents[test])
    rates = firing_rates(spikes[test], student.bin_ms)
    w = student.network.w_rec
    return {
        "cca_heldout": float(jnp.mean(held)),
        "cca_train": float(jnp.mean(fit.correlations)),
        "cca_per_dim": [float(c) for c in held],
        "frac_rates_in_band": float(fraction_in_band(rates)),
        "mean_rate_hz": float(jnp.mean(rates)),
        "median_rate_hz": float(jnp.median(rates)),
        "dale_violations": int(dale_violations(w.weight, w.sign)),
        "ei_ratio": float(ei_balance(w.weight, w.sign, rates)),
    }


def distill(
    student: AbstractStudent,
    inputs: Float[Array, "time input"],
    latents: Float[Array, "time latent"],
    *,
    n_train: int | None = None,
    train_mask: Bool[np.ndarray, " time"] | None = None,
    test_mask: Bool[np.ndarray, " time"] | None = None,
    segment: Int[np.ndarray, " time"] | None = None,
    config: DistillConfig | None = None,
    log_every: int = 50,
    verbose: bool = False,
    progress: bool = False,
) -> DistillResult:
    """Train ``student`` so that its readout matches ``latents`` (CCA) on training time.

    Args:
        student: the initial student.
        inputs: the session's inputs per bin (time, input).
        latents: the teacher's latents per bin (time, latent).
        n_train: bins ``[0, n_train)`` are training time; the rest is held out.
        train_mask: instead of ``n_train``, a boolean mask of training bins (e.g.
            ``splits.assignment == 0``); windows lie wholly inside training time and
            inside one ``segment``.
        test_mask: held-out bins for the evaluation (default: all bins not in training).
        segment: epoch interval of each bin (``BinnedSpikes.segment``), with ``train_mask``.
        config: settings (:class:`DistillConfig`).
        log_every: record the loss every this many steps.
        verbose: print progress lines.
        progress: show a progress bar (rich).
    """
    cfg = DistillConfig() if config is None else config
    n_bins = inputs.shape[0]
    if latents.shape[0] != n_bins:
        raise ValueError(
            f"inputs and latents must have the same number of bins, got {n_bins} and "
            f"{latents.shape[0]}."
        )
    if n_train is not None and not cfg.window < n_train < n_bins:
        raise ValueError(
            f"need window ({cfg.window}) < n_train ({n_train}) < number of bins ({n_bins}); "
            "shorten the window or hold out less time."
        )
    train, test = _masks(n_bins, n_train, train_mask, test_mask, 0)
    starts = window_starts(train, segment, cfg.window)
    if len(starts) == 0:
        raise ValueError(
            f"no window of {cfg.window} bins fits inside one stretch of training time; "
            "shorten `window` or use longer training blocks."
        )
    for name, arr in (("inputs", inputs), ("latents", latents)):
        bad = ~np.isfinite(np.asarray(arr))
        if bad.any():
            col = int(np.flatnonzero(bad.any(axis=0))[0])
            raise ValueError(
                f"`{name}` holds {int(bad.sum())} non-finite values (first in column {col}); "
                "a constant column standardised by its zero std gives NaN: drop it or add a "
                "small epsilon to the std."
            )
    optimizer = optax.chain(optax.clip_by_global_norm(cfg.clip), optax.adam(cfg.lr))
    params, static = eqx.partition(student, eqx.is_inexact_array)
    opt_state = optimizer.init(params)
    step = make_step(optimizer, static, cfg)
    rng = np.random.default_rng(cfg.seed)
    x_np, z_np = np.asarray(inputs), np.asarray(latents)
    history = []
    t_steps = []
    from rich.progress import Progress

    bar = Progress(disable=not progress, transient=True)
    task = bar.add_task("student", total=cfg.n_steps)
    bar.start()
    try:
        for i in range(cfg.n_steps):
            xb, zb = _windows(rng, x_np, z_np, starts, cfg)
            t0 = time.perf_counter()
            params, opt_state, loss, aux = step(params, opt_state, xb, zb)
            loss = float(loss)
            if i > 0:
                t_steps.append(time.perf_counter() - t0)
            if not np.isfinite(loss):
                raise FloatingPointError(
                    f"the distillation loss became {loss} at step {i}; lower `lr` or the "
                    "recurrent gain, or raise `ridge`."
                )
            if i % log_every == 0 or i == cfg.n_steps - 1:
                rec = {"step": i, "loss": loss, **{k: float(v) for k, v in aux.items()}}
                history.append(rec)
                bar.update(task, description=f"student: cca^2 {rec['cca']:.3f}")
                if verbose:
                    print(
                        f"  step {i:4d}  loss {loss:+.4f}  cca^2 {rec['cca']:.3f}  "
                        f"rate {rec['mean_rate']:.1f} Hz",
                        flush=True,
                    )
            bar.update(task, completed=i + 1)
    finally:
        bar.stop()
    student = eqx.combine(params, static)
    evaluation = evaluate(student, inputs, latents, train_mask=train, test_mask=test)
    spt = float(np.median(t_steps)) if t_steps else float("nan")
    return DistillResult(student, history, evaluation, spt)
