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
from jaxtyping import Array, Float

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


def _windows(rng, x, z, n_train: int, cfg: DistillConfig):
    starts = rng.integers(0, n_train - cfg.window, size=cfg.batch)
    idx = starts[:, None] + np.arange(cfg.window)[None, :]
    return jnp.moveaxis(x[idx], 0, 1), jnp.moveaxis(z[idx], 0, 1)


def evaluate(
    student: AbstractStudent,
    inputs: Float[Array, "time input"],
    latents: Float[Array, "time latent"],
    n_train: int,
    *,
    skip: int = 50,
) -> dict[str, Any]:
    """Held-out figures: CCA fitted on bins ``[skip, n_train)``, scored on ``[n_train, end)``.

    Returns ``cca_heldout`` (mean held-out canonical correlation), ``cca_per_dim``,
    ``frac_rates_in_band``, ``mean_rate_hz``, ``dale_violations`` and ``ei_ratio`` (total
    excitatory over inhibitory recurrent drive over held-out time; 1 is balance).
    """
    pred, spikes = student(inputs)
    fit = fit_cca(pred[skip:n_train], latents[skip:n_train])
    held = heldout_correlations(fit, pred[n_train:], latents[n_train:])
    rates = firing_rates(spikes[n_train:], student.bin_ms)
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
    n_train: int,
    config: DistillConfig | None = None,
    log_every: int = 50,
    verbose: bool = False,
) -> DistillResult:
    """Train ``student`` so that its readout matches ``latents`` (CCA) on training time.

    Args:
        student: the initial student.
        inputs: the session's inputs per bin (time, input).
        latents: the teacher's latents per bin (time, latent).
        n_train: bins ``[0, n_train)`` are training time; the rest is held out.
        config: settings (:class:`DistillConfig`).
        log_every: record the loss every this many steps.
        verbose: print progress.
    """
    cfg = DistillConfig() if config is None else config
    n_bins = inputs.shape[0]
    if latents.shape[0] != n_bins:
        raise ValueError(
            f"inputs and latents must have the same number of bins, got {n_bins} and "
            f"{latents.shape[0]}."
        )
    if not cfg.window < n_train < n_bins:
        raise ValueError(
            f"need window ({cfg.window}) < n_train ({n_train}) < number of bins ({n_bins}); "
            "shorten the window or hold out less time."
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
    for i in range(cfg.n_steps):
        xb, zb = _windows(rng, x_np, z_np, n_train, cfg)
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
            if verbose:
                print(
                    f"  step {i:4d}  loss {loss:+.4f}  cca^2 {rec['cca']:.3f}  "
                    f"rate {rec['mean_rate']:.1f} Hz",
                    flush=True,
                )
    student = eqx.combine(params, static)
    evaluation = evaluate(student, inputs, latents, n_train)
    spt = float(np.median(t_steps)) if t_steps else float("nan")
    return DistillResult(student, history, evaluation, spt)
