"""Current and voltage clamps, sampled the way NEURON's fixed-step integrator sees them.

A waveform holds one value per time step: the value applied during step ``k``, which
NEURON evaluates at the step's midpoint ``t = (k + 1/2) dt``.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float


def n_steps(t_max: float, dt: float) -> int:
    """Number of steps of ``dt`` (ms) in ``t_max`` (ms); both must be positive and
    ``t_max`` a whole number of steps."""
    if not (np.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be a positive number of ms, got {dt}")
    if dt > 1.0:
        raise ValueError(
            f"dt = {dt} ms is too large for channel kinetics (ms time scales); use dt <= 1 ms"
        )
    if not (np.isfinite(t_max) and t_max > 0):
        raise ValueError(f"t_max must be a positive number of ms, got {t_max}")
    n = round(t_max / dt)
    if n < 1 or abs(n * dt - t_max) > 1e-9 * max(1.0, t_max):
        raise ValueError(f"t_max = {t_max} ms is not a whole number of steps of dt = {dt} ms")
    return n


def step_times(t_max: float, dt: float) -> np.ndarray:
    """Midpoints of the time steps, ms."""
    return (np.arange(n_steps(t_max, dt)) + 0.5) * dt


def step_current(amp: float, delay: float, dur: float, t_max: float, dt: float) -> np.ndarray:
    """A current step of ``amp`` nA from ``delay`` to ``delay + dur`` ms (NEURON's IClamp)."""
    t = step_times(t_max, dt)
    return np.where((t >= delay) & (t < delay + dur), float(amp), 0.0)


def ramp_current(
    amp0: float, amp1: float, delay: float, dur: float, t_max: float, dt: float
) -> np.ndarray:
    """A current ramping linearly from ``amp0`` to ``amp1`` nA over ``[delay, delay+dur)``."""
    t = step_times(t_max, dt)
    frac = (t - delay) / dur
    return np.where((t >= delay) & (t < delay + dur), amp0 + frac * (amp1 - amp0), 0.0)


def epsp_current(
    imax: float,
    onset: float,
    tau_rise: float,
    tau_decay: float,
    t_max: float,
    dt: float,
) -> np.ndarray:
    """An EPSP-shaped current (nA): ``a (exp(-s / tau_decay) - exp(-s / tau_rise))`` for
    ``s = t - onset >= 0``, with ``a`` such that the peak is ``imax`` (the ``epsp``
    point process of Hay et al. 2011's BAC protocol: ``tau_rise`` 0.5, ``tau_decay``
    5 ms)."""
    if not 0 < tau_rise < tau_decay:
        raise ValueError(f"need 0 < tau_rise < tau_decay, got {tau_rise}, {tau_decay}")
    t_peak = tau_rise * tau_decay * np.log(tau_decay / tau_rise) / (tau_decay - tau_rise)
    norm = np.exp(-t_peak / tau_decay) - np.exp(-t_peak / tau_rise)
    s = step_times(t_max, dt) - onset
    shape = np.exp(-np.maximum(s, 0.0) / tau_decay) - np.exp(-np.maximum(s, 0.0) / tau_rise)
    return np.where(s >= 0, imax * shape / norm, 0.0)


class CurrentClamp(eqx.Module):
    """Inject ``current`` (nA, one value per step) at a node (see ``Cell.location``)."""

    node: int = eqx.field(static=True)
    current: Float[Array, " time"]

    def __init__(self, node: int, current):
        self.node = int(node)
        self.current = jnp.asarray(current)


class VoltageClamp(eqx.Module):
    """Clamp a node to ``voltage`` (mV per step) through a series resistance ``rs`` (MOhm),
    as NEURON's ``SEClamp``: ``i = (vc - v) / rs`` nA, solved implicitly."""

    node: int = eqx.field(static=True)
    voltage: Float[Array, " time"]
    rs: float = eqx.field(static=True, default=1e-3)

    def __init__(self, node: int, voltage, rs: float = 1e-3):
        if not rs > 0:
            raise ValueError(f"series resistance rs must be positive (MOhm), got {rs}")
        self.node, self.voltage, self.rs = int(node), jnp.asarray(voltage), float(rs)


Stimulus = CurrentClamp | VoltageClamp
