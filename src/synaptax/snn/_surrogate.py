"""Surrogate gradients: a Heaviside step whose derivative is replaced by a smooth bump.

The forward pass is the exact spike function ``H(x) = 1 if x > 0 else 0`` (``x`` is the
membrane potential minus the threshold); the backward pass uses a chosen derivative
``sigma'(x)``. Every surrogate is built by :func:`custom` from its derivative, and the named
ones are thin aliases of it (the same pattern as optax's chains or spyx's ``custom``).

References:
    Neftci, Mostafa & Zenke (2019), Surrogate gradient learning in spiking neural networks,
    IEEE Signal Processing Magazine 36(6).
    Zenke & Ganguli (2018), SuperSpike, Neural Computation 30(6).
    Bellec et al. (2018), Long short-term memory and learning-to-learn in networks of
    spiking neurons, NeurIPS.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jaxtyping import Array

SpikeFn = Callable[[Array], Array]
"""A spike function: ``H(x)`` forward, a surrogate derivative backward."""


def _check_positive(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or value <= 0.0:
        raise ValueError(
            f"surrogate parameter `{name}` must be a positive finite number, got {value!r}; "
            f"it sets the width of the surrogate derivative, e.g. `{name}=25.0`."
        )
    return value


def custom(
    derivative: Callable[[Array], Array], *, native: tuple[int, float, float] | None = None
) -> SpikeFn:
    """Build a spike function from a surrogate derivative.

    Forward: ``H(x) = 1[x > 0]`` (in the dtype of ``x``); tangent/backward:
    ``dH/dx := derivative(x)``.

    Args:
        derivative: elementwise function of ``x = v - threshold`` (dimensionless, in units of
            the membrane potential) returning the surrogate ``dH/dx``.
        native: how the fused native LIF kernel (:mod:`synaptax.snn._fused`) computes the
            same derivative, ``(kind, p1, p2)``; set by the named surrogates below. A spike
            function without it runs through the generic scan.

    Returns:
        A function ``spike(x)`` usable under ``jit``, ``grad`` and ``vmap``.

    Example:
        >>> spike = custom(lambda x: 1.0 / (1.0 + 10.0 * jnp.abs(x)) ** 2)
        >>> jax.grad(lambda x: spike(x).sum())(jnp.zeros(3))  # doctest: +SKIP
    """

    @jax.custom_jvp
    def spike(x):
        x = jnp.asarray(x)
        return (x > 0).astype(x.dtype)

    @spike.defjvp
    def _spike_jvp(primals, tangents):
        (x,) = primals
        (dx,) = tangents
        return spike(x), derivative(x) * dx

    spike.native = native  # type: ignore[attr-defined]
    return spike


def arctan(alpha: float = 2.0) -> SpikeFn:
    """Arctangent surrogate (snnTorch's default ``atan``).

    ``sigma(x) = arctan(pi alpha x / 2) / pi + 1/2``, so
    ``sigma'(x) = (alpha / 2) / (1 + (pi alpha x / 2)^2)``. Default ``alpha = 2``.

    Reference: Fang et al. (2021), Incorporating learnable membrane time constant to enhance
    learning of spiking neural networks, ICCV.
    """
    alpha = _check_positive("alpha", alpha)
    return custom(
        lambda x: (alpha / 2.0) / (1.0 + (math.pi / 2.0 * alpha * x) ** 2), native=(1, alpha, 0.0)
    )


def fast_sigmoid(slope: float = 25.0) -> SpikeFn:
    """Fast-sigmoid surrogate (SuperSpike, Zenke & Ganguli 2018).

    ``sigma'(x) = 1 / (1 + slope |x|)^2``. Default ``slope = 25`` (as snnTorch).
    """
    slope = _check_positive("slope", slope)
    return custom(lambda x: 1.0 / (1.0 + slope * jnp.abs(x)) ** 2, native=(0, slope, 0.0))


def sigmoid(slope: float = 25.0) -> SpikeFn:
    """Logistic-sigmoid surrogate.

    ``sigma(x) = 1 / (1 + exp(-slope x))``, so
    ``sigma'(x) = slope exp(-slope x) / (1 + exp(-slope x))^2``. Default ``slope = 25``.
    """
    slope = _check_positive("slope", slope)

    def derivative(x):
        s = jax.nn.sigmoid(slope * x)
        return slope * s * (1.0 - s)

    return custom(derivative, native=(2, slope, 0.0))


def triangular(width: float = 1.0, dampening: float = 0.3) -> SpikeFn:
    """Triangular (piecewise-linear) surrogate of Bellec et al. (2018).

    ``sigma'(x) = dampening * max(0, 1 - |x| / width)``. Defaults ``width = 1`` (one
    threshold unit) and ``dampening = 0.3`` (Bellec et al.'s gamma).
    """
    width = _check_positive("width", width)
    dampening = _check_positive("dampening", dampening)
    return custom(
        lambda x: dampening * jnp.maximum(0.0, 1.0 - jnp.abs(x) / width),
        native=(3, width, dampening),
    )
