"""Firing rates and the homeostatic rate penalty that keeps neurons in a biological band.

The penalty for a neuron with mean rate ``r`` (Hz) and band ``[low, high]`` is

    P(r) = (relu(low - r) / low)^2 + (relu(r - high) / high)^2

averaged over neurons: zero inside the band, quadratic (in relative units) outside. The
default band, 5-20 Hz, is the range of typical cortical pyramidal-cell rates.

References:
    Zenke, Agnes & Gerstner (2015), Diverse synaptic plasticity mechanisms orchestrated to
    form and retrieve memories in spiking neural networks, Nat Commun 6.
    Turrigiano (2008), The self-tuning neuron: synaptic scaling of excitatory synapses, Cell.
"""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float


def _check_dt(dt: float) -> None:
    if not dt > 0:
        raise ValueError(f"`dt` must be the positive duration of one time step in ms, got {dt!r}.")


def firing_rates(spikes: Float[Array, "time *batch neuron"], dt: float) -> Float[Array, " neuron"]:
    """Mean firing rate of each neuron in Hz.

    Args:
        spikes: spike counts per time step (0/1 per step, or counts per bin).
        dt: duration of one step or bin in ms.
    """
    _check_dt(dt)
    axes = tuple(range(spikes.ndim - 1))
    return jnp.mean(spikes, axis=axes) * (1000.0 / dt)


def rate_penalty(
    spikes: Float[Array, "time *batch neuron"],
    dt: float,
    low: float = 5.0,
    high: float = 20.0,
) -> Float[Array, ""]:
    """Homeostatic penalty ``mean_n P(r_n)`` pulling each neuron's rate into ``[low, high]`` Hz.

    Args:
        spikes: spike counts per step or bin.
        dt: duration of one step or bin in ms.
        low, high: the band in Hz (defaults 5 and 20).
    """
    if not 0 < low < high:
        raise ValueError(f"the rate band needs 0 < low < high (Hz), got low={low}, high={high}.")
    r = firing_rates(spikes, dt)
    under = jnp.maximum(low - r, 0.0) / low
    over = jnp.maximum(r - high, 0.0) / high
    return jnp.mean(under**2 + over**2)


def fraction_in_band(
    rates: Float[Array, " neuron"], low: float = 5.0, high: float = 20.0
) -> Float[Array, ""]:
    """Share of neurons whose mean rate (Hz) lies in ``[low, high]``."""
    return jnp.mean((rates >= low) & (rates <= high))
