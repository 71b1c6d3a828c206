"""Channels of the Pospischil et al. (2008) minimal cortical neuron models.

Sodium and delayed-rectifier potassium currents in the Traub & Miles (1991) form and a
slow M-type potassium current; the passive leak is :class:`synaptax.channels.Leak`.
The paper gives the kinetics at 36 C without a temperature factor. Away from 36 C the
rates here are scaled by ``3^((celsius - 36) / 10)`` (Na, K) and ``2.3^((celsius - 36) / 10)``
(Km), the factors of the authors' NEURON files as we recall them: the published
equations are exact at ``celsius = 36``. The calcium currents (CaL, CaT) carry no
temperature factor and read ``eca`` from the calcium state, so they need a calcium
dynamics mechanism (e.g. ``CaDynamics_E2``) on the same compartments.

Example (a regular-spiking cell with spike-frequency adaptation):
    >>> cell.insert("Pospischil_Na", gbar=0.05).insert("Pospischil_K", gbar=0.005)  # +SKIP
    >>> cell.insert("Pospischil_Km", gbar=2e-4, tau_max=600.0)  # doctest: +SKIP
    >>> cell.set("celsius", 36.0)  # doctest: +SKIP

References:
    Pospischil M, Toledo-Rodriguez M, Monier C, Piwkowska Z, Bal T, Frégnac Y, Markram H,
    Destexhe A (2008). Minimal Hodgkin-Huxley type models for different classes of
    cortical and thalamic neurons. Biol Cybern 99:427-441.
"""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, Float

from synaptax.channels._base import (
    AbstractChannel,
    AbstractGatedChannel,
    Gate,
    linexp,
    q10_factor,
)
from synaptax.channels.calcium import _Calcium as _CalciumBase
from synaptax.channels.calcium import _hva_gates


def _from_rates(alpha, beta, tadj):
    s = alpha + beta
    return alpha / s, 1.0 / (s * tadj)


class PospischilNa(AbstractGatedChannel):
    """Fast sodium current ``i = gbar m^3 h (v - ena)`` (Pospischil et al. 2008, eq. 2).

    With ``u = v - vt`` (per ms, ``tadj = 3^((celsius - 36) / 10)``)::

        alpha_m = 0.32 (13 - u) / (exp((13 - u) / 4) - 1)
        beta_m  = 0.28 (u - 40) / (exp((u - 40) / 5) - 1)
        alpha_h = 0.128 exp((17 - u) / 18)
        beta_h  = 4 / (1 + exp((40 - u) / 5))
        x_inf = alpha / (alpha + beta),  tau_x = 1 / (tadj (alpha + beta))

    Attributes:
        gbar: conductance density, S/cm^2 (0.05).
        ena: sodium reversal potential, mV (50).
        vt: spike threshold offset V_T, mV (-56.2).

    References: Pospischil et al. (2008), Biol Cybern 99:427-441; Traub & Miles (1991).
    """

    gbar: Float[Array, " comp"]
    ena: Float[Array, " comp"]
    vt: Float[Array, " comp"]

    name: ClassVar[str] = "Pospischil_Na"
    state_names: ClassVar[tuple[str, ...]] = ("m", "h")
    defaults: ClassVar[dict[str, float]] = {"gbar": 0.05, "ena": 50.0, "vt": -56.2}
    units: ClassVar[dict[str, str]] = {"gbar": "S/cm^2", "ena": "mV", "vt": "mV"}

    def gates(self, v, celsius, ions=None) -> tuple[Gate, ...]:
        tadj = q10_factor(celsius, 3.0, 36.0)
        u = v - self.vt
        am = 0.32 * linexp(u - 13.0, 4.0)
        bm = 0.28 * linexp(40.0 - u, 5.0)
        ah = 0.128 * jnp.exp((17.0 - u) / 18.0)
        bh = 4.0 / (1.0 + jnp.exp((40.0 - u) / 5.0))
        return _from_rates(am, bm, tadj), _from_rates(ah, bh, tadj)

    def conductance(self, state) -> Float[Array, " comp"]:
        m, h = state
        return self.gbar * m**3 * h

    def reversal(self, ions=None) -> Float[Array, " comp"]:
        return self.ena


class PospischilK(AbstractGatedChannel):
    """Delayed-rectifier potassium current ``i = gbar n^4 (v - ek)`` (Pospischil et al. 2008).

    With ``u = v - vt`` (per ms, ``tadj = 3^((celsius - 36) / 10)``)::

        alpha_n = 0.032 (15 - u) / (exp((15 - u) / 5) - 1)
        beta_n  = 0.5 exp((10 - u) / 40)
        n_inf = alpha / (alpha + beta),  tau_n = 1 / (tadj (alpha + beta))

    Attributes:
        gbar: conductance density, S/cm^2 (0.005).
        ek: potassium reversal potential, mV (-90).
        vt: spike threshold offset V_T, mV (-56.2).

    References: Pospischil et al. (2008), Biol Cybern 99:427-441; Traub & Miles (1991).
    """

    gbar: Float[Array, " comp"]
    ek: Float[Array, " comp"]
    vt: Float[Array, " comp"]

    name: ClassVar[str] = "Pospischil_K"
    state_names: ClassVar[tuple[str, ...]] = ("n",)
    defaults: ClassVar[dict[str, float]] = {"gbar": 0.005, "ek": -90.0, "vt": -56.2}
    units: ClassVar[dict[str, str]] = {"gbar": "S/cm^2", "ek": "mV", "vt": "mV"}

    def gates(self, v, celsius, ions=None) -> tuple[Gate, ...]:
        tadj = q10_factor(celsius, 3.0, 36.0)
        u = v - self.vt
        an = 0.032 * linexp(u - 15.0, 5.0)
        bn = 0.5 * jnp.exp((10.0 - u) / 40.0)
        return (_from_rates(an, bn, tadj),)

    def conductance(self, state) -> Float[Array, " comp"]:
        (n,) = state
        return self.gbar * n**4

    def reversal(self, ions=None) -> Float[Array, " comp"]:
        return self.ek


class PospischilKm(AbstractGatedChannel):
    """Slow non-inactivating (M-type) potassium current ``i = gbar p (v - ek)``.

    Pospischil et al. (2008), after Yamada, Koch & Adams (1989); ``tadj =
    2.3^((celsius - 36) / 10)``::

        p_inf = 1 / (1 + exp(-(v + 35) / 10))
        tau_p = tau_max / (tadj (3.3 exp((v + 35) / 20) + exp(-(v + 35) / 20)))

    Attributes:
        gbar: conductance density, S/cm^2 (7e-5).
        ek: potassium reversal potential, mV (-90).
        tau_max: slowest time constant, ms (1000).

    References: Pospischil et al. (2008), Biol Cybern 99:427-441; Yamada et al. (1989).
    """

    gbar: Float[Array, " comp"]
    ek: Float[Array, " comp"]
    tau_max: Float[Array, " comp"]

    name: ClassVar[str] = "Pospischil_Km"
    state_names: ClassVar[tuple[str, ...]] = ("p",)
    defaults: ClassVar[dict[str, float]] = {"gbar": 7e-5, "ek": -90.0, "tau_max": 1000.0}
    units: ClassVar[dict[str, str]] = {"gbar": "S/cm^2", "ek": "mV", "tau_max": "ms"}

    def gates(self, v, celsius, ions=None) -> tuple[Gate, ...]:
        tadj = q10_factor(celsius, 2.3, 36.0)
        p_inf = 1.0 / (1.0 + jnp.exp(-(v + 35.0) / 10.0))
        x = (v + 35.0) / 20.0
        tau_p = self.tau_max / (tadj * (3.3 * jnp.exp(x) + jnp.exp(-x)))
        return ((p_inf, tau_p),)

    def conductance(self, state) -> Float[Array, " comp"]:
        (p,) = state
        return self.gbar * p

    def reversal(self, ions=None) -> Float[Array, " comp"]:
        return self.ek


class PospischilCaL(_CalciumBase):
    """High-threshold (L-type) calcium current ``i = gbar q^2 r (v - eca)``
    (Pospischil et al. 2008, eq. 5; the Reuveni et al. 1993 kinetics, per ms)::

        alpha_q = 0.055 (-27 - v) / (exp((-27 - v) / 3.8) - 1)
        beta_q  = 0.94 exp((-75 - v) / 17)
        alpha_r = 0.000457 exp((-13 - v) / 50)
        beta_r  = 0.0065 / (exp((-15 - v) / 28) + 1)
        x_inf = alpha / (alpha + beta),  tau_x = 1 / (alpha + beta)

    ``eca`` comes from the calcium state (insert a calcium dynamics mechanism).

    Attributes:
        gbar: conductance density, S/cm^2 (1e-4).

    References: Pospischil et al. (2008), Biol Cybern 99:427-441; Reuveni et al. (1993).
    """

    name: ClassVar[str] = "Pospischil_CaL"
    state_names: ClassVar[tuple[str, ...]] = ("q", "r")
    defaults: ClassVar[dict[str, float]] = {"gbar": 1e-4}

    def gates(self, v, celsius, ions=None) -> tuple[Gate, ...]:
        return _hva_gates(v)

    def conductance(self, state) -> Float[Array, " comp"]:
        q, r = state
        return self.gbar * q**2 * r


class PospischilCaT(_CalciumBase):
    """Low-threshold (T-type) calcium current ``i = gbar s_inf(v)^2 u (v - eca)``
    (Pospischil et al. 2008, eq. 6; after Destexhe et al. 1996), activation
    instantaneous. With ``w = v + vx``::

        s_inf = 1 / (1 + exp(-(w + 57) / 6.2))
        u_inf = 1 / (1 + exp((w + 81) / 4))
        tau_u = (30.8 + (211.4 + exp((w + 113.2) / 5)) / (1 + exp((w + 84) / 3.2))) / 3.7  ms

    The current is not linear in ``v`` (``s_inf``), so its slope for the semi-implicit
    step is the exact derivative.

    Attributes:
        gbar: conductance density, S/cm^2 (4e-4).
        vx: voltage shift, mV (2).

    References: Pospischil et al. (2008), Biol Cybern 99:427-441; Destexhe, Contreras,
    Steriade, Sejnowski & Huguenard (1996), J Neurosci 16:169-185.
    """

    vx: Float[Array, " comp"]

    name: ClassVar[str] = "Pospischil_CaT"
    state_names: ClassVar[tuple[str, ...]] = ("u",)
    defaults: ClassVar[dict[str, float]] = {"gbar": 4e-4, "vx": 2.0}
    units: ClassVar[dict[str, str]] = {"gbar": "S/cm^2", "vx": "mV"}

    def gates(self, v, celsius, ions=None) -> tuple[Gate, ...]:
        w = v + self.vx
        u_inf = 1.0 / (1.0 + jnp.exp((w + 81.0) / 4.0))
        tau_u = (
            30.8 + (211.4 + jnp.exp((w + 113.2) / 5.0)) / (1.0 + jnp.exp((w + 84.0) / 3.2))
        ) / 3.7
        return ((u_inf, tau_u),)

    def conductance(self, state) -> Float[Array, " comp"]:
        (u,) = state
        return self.gbar * u

    def current(self, v, state, ions=None) -> Float[Array, " comp"]:
        s_inf = 1.0 / (1.0 + jnp.exp(-(v + self.vx + 57.0) / 6.2))
        return self.conductance(state) * s_inf**2 * (v - self.reversal(ions))

    def current_and_conductance(self, v, state, ions=None):
        return AbstractChannel.current_and_conductance(self, v, state, ions)
