"""Hodgkin-Huxley squid-axon channels, matching NEURON's built-in ``hh`` mechanism."""

from __future__ import annotations

import math
from typing import ClassVar

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from synaptax.channels._base import AbstractChannel, State, q10_factor


def hh_rates(v, celsius):
    """Steady states and time constants (ms) of m, h, n at ``v`` (mV), ``celsius`` (degC).

    Returns ``[(m_inf, tau_m), (h_inf, tau_h), (n_inf, tau_n)]``.
    """
    return [(inf, 1.0 / k) for inf, k in _inf_and_rate(v, celsius)]


def _inf_and_rate(v, celsius):
    """Steady states and relaxation rates 1/tau (1/ms) of m, h, n.

    Rates per ms (Hodgkin & Huxley 1952, shifted to rest at -65 mV as in NEURON)::

        alpha_m = 0.1 vtrap(-(v + 40), 10)      beta_m = 4 exp(-(v + 65) / 18)
        alpha_h = 0.07 exp(-(v + 65) / 20)      beta_h = 1 / (exp(-(v + 35) / 10) + 1)
        alpha_n = 0.01 vtrap(-(v + 55), 10)     beta_n = 0.125 exp(-(v + 65) / 80)

    with tau = 1 / (q10 (alpha + beta)), q10 = 3^((celsius - 6.3) / 10).
    """
    infs, rates = _inf_rate_arrays(v, celsius)
    return list(zip(infs, rates, strict=True))


def hh_q10(celsius):
    """NEURON's ``hh`` temperature factor ``3^((celsius - 6.3) / 10)``."""
    return q10_factor(celsius, 3.0, 6.3)


def _rates_and_slopes(v):
    """alpha and beta of m, h, n and their derivatives in v (tuples of three arrays)."""
    # Three exponentials serve all six rates: with u = v + 65,
    # exp(-(v + 40)/10) = e^2.5 e10, exp(-(v + 35)/10) = e^3 e10, exp(-(v + 55)/10) = e e10,
    # exp(-(v + 65)/20) = e80^4.
    u = v + 65.0
    e10 = jnp.exp(-u / 10.0)
    e18 = jnp.exp(-u / 18.0)
    e80 = jnp.exp(-u / 80.0)
    fm, dfm = _vtrap_and_slope(25.0 - u, math.exp(2.5) * e10)
    fn, dfn = _vtrap_and_slope(10.0 - u, math.e * e10)
    am, dam = 0.1 * fm, -0.1 * dfm
    an, dan = 0.01 * fn, -0.01 * dfn
    bm = 4.0 * e18
    ah = 0.07 * (e80 * e80) ** 2
    bh = 1.0 / (math.exp(3.0) * e10 + 1.0)
    bn = 0.125 * e80
    a = (am, ah, an)
    b = (bm, bh, bn)
    da = (dam, -ah / 20.0, dan)
    db = (-bm / 18.0, math.exp(3.0) * e10 / 10.0 * bh * bh, -bn / 80.0)
    return a, b, da, db


def _vtrap_and_slope(x, ex):
    """f = x / (exp(x/10) - 1) and df/dx, given ex = exp(x/10) (series near x = 0)."""
    small = jnp.abs(x / 10.0) < 1e-6  # NEURON's switch to the series, for f itself
    den = jnp.where(small, 2.0, ex - 1.0)
    f = jnp.where(small, 10.0 * (1.0 - x / 20.0), x / den)
    # the slope's closed form cancels badly near x = 0: use its series for |x| < 0.1
    near = jnp.abs(x) < 0.1
    dsafe = jnp.where(near, 1.0, den)
    df = jnp.where(
        near, -0.5 + x / 60.0 - x**3 / 180000.0, (dsafe - x * ex / 10.0) / (dsafe * dsafe)
    )
    return f, df


@jax.custom_jvp
def _inf_rate_arrays(v, celsius):
    """Steady states and rates 1/tau (1/ms) of m, h, n, as two 3-tuples (an analytic
    derivative rule keeps reverse mode to a few multiplications per gate)."""
    q10 = hh_q10(celsius)
    a, b, _, _ = _rates_and_slopes(v)
    infs = tuple(ai / (ai + bi) for ai, bi in zip(a, b, strict=True))
    rates = tuple(q10 * (ai + bi) for ai, bi in zip(a, b, strict=True))
    return infs, rates


@_inf_rate_arrays.defjvp
def _inf_rate_jvp(primals, tangents):
    v, celsius = primals
    dv, dcel = tangents
    q10 = hh_q10(celsius)
    a, b, da, db = _rates_and_slopes(v)
    infs, rates, d_infs, d_rates = [], [], [], []
    for ai, bi, dai, dbi in zip(a, b, da, db, strict=True):
        s = ai + bi
        inf = ai / s
        k = q10 * s
        infs.append(inf)
        rates.append(k)
        d_infs.append((dai - inf * (dai + dbi)) / s * dv)
        d_rates.append(q10 * (dai + dbi) * dv + k * (math.log(3.0) / 10.0) * dcel)
    return (tuple(infs), tuple(rates)), (tuple(d_infs), tuple(d_rates))


class HH(AbstractChannel):
    """Sodium, potassium and leak currents of Hodgkin & Huxley (1952), NEURON's ``hh``.

    ``i = gnabar m^3 h (v - ena) + gkbar n^4 (v - ek) + gl (v - el)`` in mA/cm^2.
    NEURON tabulates the rates by default (``usetable_hh = 1``, 1 mV steps); this
    computes them exactly, which equals NEURON with ``usetable_hh = 0``.

    Attributes:
        gnabar: sodium conductance density, S/cm^2 (0.12).
        gkbar: potassium conductance density, S/cm^2 (0.036).
        gl: leak conductance density, S/cm^2 (0.0003).
        ena: sodium reversal potential, mV (50).
        ek: potassium reversal potential, mV (-77).
        el: leak reversal potential, mV (-54.3).

    References: Hodgkin & Huxley (1952), J Physiol 117:500-544.
    """

    gnabar: Float[Array, " comp"]
    gkbar: Float[Array, " comp"]
    gl: Float[Array, " comp"]
    ena: Float[Array, " comp"]
    ek: Float[Array, " comp"]
    el: Float[Array, " comp"]

    name: ClassVar[str] = "HH"
    state_names: ClassVar[tuple[str, ...]] = ("m", "h", "n")
    defaults: ClassVar[dict[str, float]] = {
        "gnabar": 0.12,
        "gkbar": 0.036,
        "gl": 0.0003,
        "ena": 50.0,
        "ek": -77.0,
        "el": -54.3,
    }
    units: ClassVar[dict[str, str]] = {
        "gnabar": "S/cm^2",
        "gkbar": "S/cm^2",
        "gl": "S/cm^2",
        "ena": "mV",
        "ek": "mV",
        "el": "mV",
    }

    def init_state(self, v, celsius, ions=None) -> State:
        return tuple(inf for inf, _ in _inf_and_rate(v, celsius))

    def current(self, v, state, ions=None) -> Float[Array, " comp"]:
        m, h, n = state
        ina = self.gnabar * m**3 * h * (v - self.ena)
        ik = self.gkbar * n**4 * (v - self.ek)
        return ina + ik + self.gl * (v - self.el)

    def current_and_conductance(self, v, state, ions=None):
        m, h, n = state  # linear in v: the slope is the total conductance
        g = self.gnabar * m**3 * h + self.gkbar * n**4 + self.gl
        return self.current(v, state), g

    def update(self, v, state, dt, celsius, ions=None) -> State:
        # cnexp: x(t + dt) = inf + (x - inf) exp(-dt / tau)
        return tuple(
            inf + (x - inf) * jnp.exp(-dt * k)
            for x, (inf, k) in zip(state, _inf_and_rate(v, celsius), strict=True)
        )
