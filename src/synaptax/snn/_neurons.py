"""Leaky integrate-and-fire neurons as pure ``(init, step)`` pairs with explicit state.

All three models share one discrete-time membrane update (dimensionless potential, the
threshold is typically 1, the resting potential 0):

    r[t]  = H(v[t-1] - theta[t-1])                        (reset signal, gradient stopped)
    v[t]  = beta v[t-1] + I[t] - r[t] theta[t-1]           (reset="subtract")
    v[t]  = beta (1 - r[t]) v[t-1] + I[t]                  (reset="zero")
    s[t]  = H(v[t] - theta[t])                             (spike, surrogate gradient)

with ``beta = exp(-dt / tau_mem)``. ``I[t]`` is the drive of one step, in threshold units.
This is the exact solution of ``tau dv/dt = -v`` between steps plus an instantaneous input,
and it is the convention of snnTorch (``Leaky``, ``Synaptic``; the reset is applied at the
step after the threshold crossing, so a recorded trace shows the supra-threshold value at the
spike). With the same ``beta``, threshold and inputs, the traces agree with snnTorch exactly.

Refractoriness: after a spike, the neuron ignores its input and cannot spike for
``round(refractory / dt)`` steps (its potential only leaks).

Units: ``dt``, ``tau_*`` and ``refractory`` in ms; potentials and thresholds dimensionless.

References:
    Gerstner, Kistler, Naud & Paninski (2014), Neuronal Dynamics, ch. 1 and 6.
    Eshraghian et al. (2023), Training spiking neural networks using lessons from deep
    learning, Proc. IEEE 111(9) (snnTorch).
    Bellec et al. (2018), Long short-term memory and learning-to-learn in networks of spiking
    neurons, NeurIPS (adaptive LIF).
"""

from __future__ import annotations

import abc
import math
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._surrogate import SpikeFn, fast_sigmoid

_RESETS = ("subtract", "zero", "none")
_TAU_MIN = 1e-3  # ms; time constants are clipped here so that beta stays in (0, 1)


def _per_neuron(name: str, value, n: int, *, positive: bool) -> Float[Array, " neuron"]:
    arr = jnp.asarray(value, dtype=float)
    if arr.ndim == 0:
        arr = jnp.full((n,), arr)
    if arr.shape != (n,):
        raise ValueError(
            f"`{name}` must be a scalar or have shape ({n},) (one value per neuron), got shape "
            f"{arr.shape}; pass a float or an array of length n_neurons."
        )
    if not bool(jnp.all(jnp.isfinite(arr))) or (positive and not bool(jnp.all(arr > 0))):
        raise ValueError(
            f"`{name}` must be finite{' and positive' if positive else ''}, got {arr}; "
            f"time constants are in ms and thresholds in potential units (default 1.0)."
        )
    return arr


def _check_common(n_neurons: int, dt: float, reset: str, refractory: float) -> int:
    if not isinstance(n_neurons, int) or n_neurons < 1:
        raise ValueError(f"`n_neurons` must be a positive int, got {n_neurons!r}.")
    if not (isinstance(dt, int | float) and math.isfinite(dt) and dt > 0):
        raise ValueError(f"`dt` must be a positive time step in ms (e.g. 1.0), got {dt!r}.")
    if reset not in _RESETS:
        raise ValueError(f"`reset` must be one of {_RESETS}, got {reset!r}.")
    if not (math.isfinite(refractory) and refractory >= 0):
        raise ValueError(f"`refractory` must be >= 0 ms, got {refractory!r}.")
    return round(refractory / dt)


def _decay(tau: Float[Array, " neuron"], dt: float) -> Float[Array, " neuron"]:
    return jnp.exp(-dt / jnp.maximum(tau, _TAU_MIN))


def _update(
    v,
    drive,
    beta,
    theta_old,
    theta_new,
    refrac,
    *,
    reset: str,
    n_refractory: int,
    spike_fn: SpikeFn,
    detach_reset: bool,
):
    """Shared membrane update; returns (v, spikes, refractory counter, reset signal)."""
    r = spike_fn(v - theta_old)
    if detach_reset:
        r = jax.lax.stop_gradient(r)
    if n_refractory > 0:
        free = (refrac <= 0).astype(v.dtype)
        r = r * free  # a neuron in its refractory period does not reset again
        refrac = jnp.where(r > 0, float(n_refractory), jnp.maximum(refrac - 1.0, 0.0))
        drive = drive * (refrac <= 0).astype(v.dtype)
    if reset == "subtract":
        v = beta * v + drive - r * theta_old
    elif reset == "zero":
        v = beta * (1.0 - r) * v + drive
    else:
        v = beta * v + drive
    s = spike_fn(v - theta_new)
    if n_refractory > 0:
        s = s * (refrac <= 0).astype(v.dtype)
    return v, s, refrac, r


class AbstractNeuron(eqx.Module):
    """A spiking neuron model: ``init(batch_shape) -> state`` and
    ``step(state, current) -> (state, spikes)``; ``dt`` (ms) and ``n_neurons`` describe it."""

    dt: eqx.AbstractVar[float]

    @property
    @abc.abstractmethod
    def n_neurons(self) -> int:
        """Number of neurons."""

    @abc.abstractmethod
    def init(self, batch_shape: tuple[int, ...] = ()):
        """Resting state for a batch of the given shape."""

    @abc.abstractmethod
    def step(self, state, current: Float[Array, "*batch neuron"]):
        """Advance one step of ``dt``; returns ``(state, spikes)``."""


class LIFState(NamedTuple):
    """State of :class:`LIF`: potential ``v`` and remaining refractory steps."""

    v: Float[Array, "*batch neuron"]
    refractory: Float[Array, "*batch neuron"]


class LIF(AbstractNeuron):
    """Current-based leaky integrate-and-fire neuron (snnTorch ``Leaky``).

    ``v[t] = beta v[t-1] + I[t] - r[t] theta`` with ``beta = exp(-dt / tau_mem)``; see the
    module docstring for resets and refractoriness.

    Attributes:
        tau_mem: membrane time constant per neuron (ms), learnable.
        threshold: firing threshold per neuron (dimensionless), learnable.
        dt: time step (ms), e.g. 1.0 (inside 10 ms bins) or 10.0 (one step per bin).
        reset: "subtract" (default), "zero" or "none".
        refractory: absolute refractory period (ms), 0 by default.
        spike_fn: surrogate spike function (default :func:`fast_sigmoid`).
        detach_reset: stop the gradient through the reset signal (snnTorch's default).

    Example:
        >>> lif = LIF(3, tau_mem=20.0, dt=1.0)
        >>> state = lif.init((8,))              # batch of 8
        >>> state, spikes = lif.step(state, jnp.ones((8, 3)))
    """

    tau_mem: Float[Array, " neuron"]
    threshold: Float[Array, " neuron"]
    dt: float = eqx.field(static=True)
    reset: str = eqx.field(static=True)
    refractory: float = eqx.field(static=True)
    spike_fn: SpikeFn = eqx.field(static=True)
    detach_reset: bool = eqx.field(static=True)

    def __init__(
        self,
        n_neurons: int,
        *,
        tau_mem=20.0,
        threshold=1.0,
        dt: float = 1.0,
        reset: str = "subtract",
        refractory: float = 0.0,
        spike_fn: SpikeFn | None = None,
        detach_reset: bool = True,
    ):
        _check_common(n_neurons, dt, reset, refractory)
        self.tau_mem = _per_neuron("tau_mem", tau_mem, n_neurons, positive=True)
        self.threshold = _per_neuron("threshold", threshold, n_neurons, positive=True)
        self.dt = float(dt)
        self.reset = reset
        self.refractory = float(refractory)
        self.spike_fn = fast_sigmoid() if spike_fn is None else spike_fn
        self.detach_reset = detach_reset

    @property
    def n_neurons(self) -> int:
        return self.tau_mem.shape[0]

    @property
    def beta(self) -> Float[Array, " neuron"]:
        """Per-step decay ``exp(-dt / tau_mem)``."""
        return _decay(self.tau_mem, self.dt)

    def init(self, batch_shape: tuple[int, ...] = ()) -> LIFState:
        """Resting state (``v = 0``, not refractory) for a batch of the given shape."""
        z = jnp.zeros((*batch_shape, self.n_neurons), self.tau_mem.dtype)
        return LIFState(z, z)

    def step(
        self, state: LIFState, current: Float[Array, "*batch neuron"]
    ) -> tuple[LIFState, Float[Array, "*batch neuron"]]:
        """Advance one step of ``dt`` with drive ``current`` (threshold units per step)."""
        v, s, refrac, _ = _update(
            state.v,
            current,
            self.beta,
            self.threshold,
            self.threshold,
            state.refractory,
            reset=self.reset,
            n_refractory=round(self.refractory / self.dt),
            spike_fn=self.spike_fn,
            detach_reset=self.detach_reset,
        )
        return LIFState(v, refrac), s


class SynapticLIFState(NamedTuple):
    """State of :class:`SynapticLIF`: synaptic current, potential, refractory steps."""

    syn: Float[Array, "*batch neuron"]
    v: Float[Array, "*batch neuron"]
    refractory: Float[Array, "*batch neuron"]


class SynapticLIF(AbstractNeuron):
    """LIF neuron with an exponentially decaying synaptic current (snnTorch ``Synaptic``).

        i[t] = alpha i[t-1] + I[t],   alpha = exp(-dt / tau_syn)
        v[t] = beta v[t-1] + i[t] - r[t] theta,   beta = exp(-dt / tau_mem)

    Attributes are those of :class:`LIF` plus ``tau_syn`` (ms, per neuron, learnable).
    With ``reset="zero"`` only the potential is reset (snnTorch also zeroes the current).
    """

    tau_syn: Float[Array, " neuron"]
    tau_mem: Float[Array, " neuron"]
    threshold: Float[Array, " neuron"]
    dt: float = eqx.field(static=True)
    reset: str = eqx.field(static=True)
    refractory: float = eqx.field(static=True)
    spike_fn: SpikeFn = eqx.field(static=True)
    detach_reset: bool = eqx.field(static=True)

    def __init__(
        self,
        n_neurons: int,
        *,
        tau_syn=5.0,
        tau_mem=20.0,
        threshold=1.0,
        dt: float = 1.0,
        reset: str = "subtract",
        refractory: float = 0.0,
        spike_fn: SpikeFn | None = None,
        detach_reset: bool = True,
    ):
        _check_common(n_neurons, dt, reset, refractory)
        self.tau_syn = _per_neuron("tau_syn", tau_syn, n_neurons, positive=True)
        self.tau_mem = _per_neuron("tau_mem", tau_mem, n_neurons, positive=True)
        self.threshold = _per_neuron("threshold", threshold, n_neurons, positive=True)
        self.dt = float(dt)
        self.reset = reset
        self.refractory = float(refractory)
        self.spike_fn = fast_sigmoid() if spike_fn is None else spike_fn
        self.detach_reset = detach_reset

    @property
    def n_neurons(self) -> int:
        return self.tau_mem.shape[0]

    @property
    def alpha(self) -> Float[Array, " neuron"]:
        """Per-step synaptic decay ``exp(-dt / tau_syn)``."""
        return _decay(self.tau_syn, self.dt)

    @property
    def beta(self) -> Float[Array, " neuron"]:
        """Per-step membrane decay ``exp(-dt / tau_mem)``."""
        return _decay(self.tau_mem, self.dt)

    def init(self, batch_shape: tuple[int, ...] = ()) -> SynapticLIFState:
        """Resting state for a batch of the given shape."""
        z = jnp.zeros((*batch_shape, self.n_neurons), self.tau_mem.dtype)
        return SynapticLIFState(z, z, z)

    def step(
        self, state: SynapticLIFState, current: Float[Array, "*batch neuron"]
    ) -> tuple[SynapticLIFState, Float[Array, "*batch neuron"]]:
        """Advance one step of ``dt`` with synaptic drive ``current`` (threshold units)."""
        syn = self.alpha * state.syn + current
        v, s, refrac, _ = _update(
            state.v,
            syn,
            self.beta,
            self.threshold,
            self.threshold,
            state.refractory,
            reset=self.reset,
            n_refractory=round(self.refractory / self.dt),
            spike_fn=self.spike_fn,
            detach_reset=self.detach_reset,
        )
        return SynapticLIFState(syn, v, refrac), s


class AdaptiveLIFState(NamedTuple):
    """State of :class:`AdaptiveLIF`: potential, adaptation variable, refractory steps."""

    v: Float[Array, "*batch neuron"]
    a: Float[Array, "*batch neuron"]
    refractory: Float[Array, "*batch neuron"]


class AdaptiveLIF(AbstractNeuron):
    """LIF neuron with an adaptive threshold (ALIF, Bellec et al. 2018).

        theta[t] = theta_0 + adaptation * a[t]
        a[t]     = rho a[t-1] + r[t],   rho = exp(-dt / tau_adapt)

    where ``r[t]`` is the (delayed) reset signal, i.e. the spike of the previous step; the
    membrane update is that of :class:`LIF` with the moving threshold (a subtractive reset
    removes the threshold in force when the spike was emitted).

    Attributes are those of :class:`LIF` plus ``tau_adapt`` (ms) and ``adaptation`` (threshold
    increment per spike, dimensionless), both per neuron and learnable.
    """

    tau_mem: Float[Array, " neuron"]
    threshold: Float[Array, " neuron"]
    tau_adapt: Float[Array, " neuron"]
    adaptation: Float[Array, " neuron"]
    dt: float = eqx.field(static=True)
    reset: str = eqx.field(static=True)
    refractory: float = eqx.field(static=True)
    spike_fn: SpikeFn = eqx.field(static=True)
    detach_reset: bool = eqx.field(static=True)

    def __init__(
        self,
        n_neurons: int,
        *,
        tau_mem=20.0,
        threshold=1.0,
        tau_adapt=200.0,
        adaptation=0.2,
        dt: float = 1.0,
        reset: str = "subtract",
        refractory: float = 0.0,
        spike_fn: SpikeFn | None = None,
        detach_reset: bool = True,
    ):
        _check_common(n_neurons, dt, reset, refractory)
        self.tau_mem = _per_neuron("tau_mem", tau_mem, n_neurons, positive=True)
        self.threshold = _per_neuron("threshold", threshold, n_neurons, positive=True)
        self.tau_adapt = _per_neuron("tau_adapt", tau_adapt, n_neurons, positive=True)
        self.adaptation = _per_neuron("adaptation", adaptation, n_neurons, positive=False)
        self.dt = float(dt)
        self.reset = reset
        self.refractory = float(refractory)
        self.spike_fn = fast_sigmoid() if spike_fn is None else spike_fn
        self.detach_reset = detach_reset

    @property
    def n_neurons(self) -> int:
        return self.tau_mem.shape[0]

    @property
    def beta(self) -> Float[Array, " neuron"]:
        """Per-step membrane decay ``exp(-dt / tau_mem)``."""
        return _decay(self.tau_mem, self.dt)

    @property
    def rho(self) -> Float[Array, " neuron"]:
        """Per-step decay of the adaptation variable ``exp(-dt / tau_adapt)``."""
        return _decay(self.tau_adapt, self.dt)

    def init(self, batch_shape: tuple[int, ...] = ()) -> AdaptiveLIFState:
        """Resting state for a batch of the given shape."""
        z = jnp.zeros((*batch_shape, self.n_neurons), self.tau_mem.dtype)
        return AdaptiveLIFState(z, z, z)

    def step(
        self, state: AdaptiveLIFState, current: Float[Array, "*batch neuron"]
    ) -> tuple[AdaptiveLIFState, Float[Array, "*batch neuron"]]:
        """Advance one step of ``dt`` with drive ``current`` (threshold units per step)."""
        theta_old = self.threshold + self.adaptation * state.a
        r = jax.lax.stop_gradient(self.spike_fn(state.v - theta_old))
        if round(self.refractory / self.dt) > 0:
            r = r * (state.refractory <= 0)
        a = self.rho * state.a + r
        theta_new = self.threshold + self.adaptation * a
        v, s, refrac, _ = _update(
            state.v,
            current,
            self.beta,
            theta_old,
            theta_new,
            state.refractory,
            reset=self.reset,
            n_refractory=round(self.refractory / self.dt),
            spike_fn=self.spike_fn,
            detach_reset=self.detach_reset,
        )
        return AdaptiveLIFState(v, a, refrac), s
