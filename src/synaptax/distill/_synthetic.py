"""Synthetic stand-in for a teacher: a smooth, input-driven low-dimensional latent system.

Until the teacher (the LeJEPA encoder) exists, the student is distilled to latents from a
known system that resembles a visual-behaviour session (10 ms bins):

* inputs: image flashes (250 ms on, 500 ms off, one of ``n_images`` one-hot channels),
  an image-change pulse channel, and a running-speed channel (a smoothed, rectified
  Ornstein-Uhlenbeck process);
* latents: ``tau dz/dt = -z + tanh(A z) + B u + sigma xi`` (``tau = 100`` ms, ``A`` a random
  matrix of spectral radius 0.9, ``xi`` white noise), integrated with forward Euler at the
  bin, then standardised. The latents therefore carry both input-locked responses and slow
  intrinsic fluctuations.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float


def synthetic_latents(
    seed: int,
    n_bins: int,
    *,
    n_latents: int = 6,
    n_images: int = 4,
    bin_ms: float = 10.0,
    tau: float = 100.0,
    noise: float = 0.3,
) -> tuple[Float[Array, "time input"], Float[Array, "time latent"]]:
    """Inputs ``(time, n_images + 2)`` and standardised latents ``(time, n_latents)``.

    Args:
        seed: random seed.
        n_bins: number of time bins.
        n_latents: latent dimension.
        n_images: number of distinct images (one input channel each).
        bin_ms: bin width (ms).
        tau: latent time constant (ms).
        noise: intrinsic noise amplitude (latent units per sqrt(ms)).
    """
    if n_bins < 100:
        raise ValueError(f"`n_bins` must be at least 100 (1 s at 10 ms), got {n_bins}.")
    rng = np.random.default_rng(seed)
    t_ms = np.arange(n_bins) * bin_ms
    cycle = 750.0
    flash_idx = (t_ms // cycle).astype(int)
    on = (t_ms % cycle) < 250.0
    n_flash = int(flash_idx.max()) + 1
    image = np.zeros(n_flash, int)
    for k in range(1, n_flash):  # an image repeats several times, then changes
        image[k] = image[k - 1] if rng.random() < 0.7 else rng.integers(n_images)
    images = np.zeros((n_bins, n_images))
    images[np.arange(n_bins), image[flash_idx]] = on
    change = np.zeros(n_bins)
    first_bin = np.searchsorted(flash_idx, np.arange(n_flash))
    changed = np.flatnonzero(np.diff(image) != 0) + 1
    for k in changed:
        change[first_bin[k] : first_bin[k] + round(100.0 / bin_ms)] = 1.0
    ou = np.zeros(n_bins)
    a = np.exp(-bin_ms / 2000.0)
    for t in range(1, n_bins):
        ou[t] = a * ou[t - 1] + np.sqrt(1 - a**2) * rng.normal()
    speed = np.maximum(ou, 0.0)
    u = np.concatenate([images, change[:, None], speed[:, None]], axis=1)

    a_mat = rng.normal(size=(n_latents, n_latents))
    a_mat *= 0.9 / np.max(np.abs(np.linalg.eigvals(a_mat)))
    b_mat = rng.normal(size=(n_latents, u.shape[1])) * 1.5
    xi = rng.normal(size=(n_bins, n_latents)) * noise * np.sqrt(bin_ms) / tau

    def step(z, inp):
        ut, xt = inp
        z = z + bin_ms / tau * (-z + jnp.tanh(z @ a_mat.T) + ut @ b_mat.T) + xt
        return z, z

    _, z = jax.lax.scan(step, jnp.zeros(n_latents), (jnp.asarray(u), jnp.asarray(xi)))
    z = (z - z.mean(0)) / z.std(0)
    return jnp.asarray(u), z
