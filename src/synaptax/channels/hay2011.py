"""Calcium-independent channels of the Hay et al. (2011) layer-5 pyramidal cell model.

Every channel here is a conductance ``g(gates) (v - e)`` with first-order gates
``x' = (x_inf(v) - x) / tau_x(v)``, advanced by NEURON's ``cnexp`` at the new potential.
Rates are in 1/ms, time constants in ms, potentials in mV. Where the original NEURON
files guard a removable singularity by nudging ``v`` (``if (v == -38) {v = v + 0.0001}``),
this module evaluates the exact limit instead (they differ only at that one potential).
Temperature factors (SKv3_1 and Ih have none) follow ``celsius`` (Hay et al. simulate at
34 C; some distributed versions of these files fix the factor at its 34 C value).
Reversal potentials are per-channel parameters (Hay et al. use ena = 50, ek = -85,
ehcn = -45 mV: the defaults here).

Example:
    >>> cell.insert("NaTs2_t", gbar=0.98).insert("SKv3_1", gbar=0.3)  # doctest: +SKIP
    >>> cell.insert("Ih", gbar=2e-4).insert("Leak", g=3.4e-5, e=-90.0)  # doctest: +SKIP
    >>> cell.set("celsius", 34.0)  # doctest: +SKIP

References:
    Hay E, Hill S, Schürmann F, Markram H, Segev I (2011). Models of neocortical layer 5b
    pyramidal cells capturing a wide range of dendritic and perisomatic active properties.
    PLoS Comput Biol 7:e1002107.
"""

from typing import ClassVar

import jax.numpy as jnp
from equinox import AbstractVar
from jaxtyping import Array, Float

from synaptax.channels._base import AbstractGatedChannel, Gate, linexp, q10_factor


def _from_rates(alpha, beta, qt):
    """Steady state and time constant (ms) from opening/closing rates (1/ms)."""
    s = alpha + beta
    return alpha / s, 1.0 / (s * qt)


def _transient_na(v, celsius, vm: float, vh: float) -> tuple[Gate, Gate]:
    """Colbert & Pan (2002) transient Na kinetics with half-points ``vm``, ``vh`` (mV)."""
    qt = q10_factor(celsius, 2.3, 21.0)
    am = 0.182 * linexp(v - vm, 6.0)
    bm = 0.124 * linexp(vm - v, 6.0)
    ah = 0.015 * linexp(vh - v, 6.0)
    bh = 0.015 * linexp(v - vh, 6.0)
    return _from_rates(am, bm, qt), _from_rates(ah, bh, qt)


class _SodiumMH(AbstractGatedChannel):
    """The ``m^3 h`` sodium channels (abstract): conductance and reversal."""

    gbar: AbstractVar[Float[Array, " comp"]]
    ena: AbstractVar[Float[Array, " comp"]]

    state_names: ClassVar[tuple[str, ...]] = ("m", "h")
    defaults: ClassVar[dict[str, float]] = {"gbar": 1e-5, "ena": 50.0}
    units: ClassVar[dict[str, str]] = {"gbar": "S/cm^2", "ena": "mV"}

    def conductance(self, state) -> Float[Array, " comp"]:
        m, h = state
        return self.gbar * m**3 * h

    def reversal(self, ions=None) -> Float[Array, " comp"]:
        return self.ena


class NaTaT(_SodiumMH):
    """Fast inactivating (transient) Na current of the axon initial segment, Hay's ``NaTa_t``.

    ``i = gbar m^3 h (v - ena)`` with (rates per ms, ``qt = 2.3^((celsius - 21) / 10)``)::

        alpha_m = 0.182 (v + 38) / (1 - exp(-(v + 38) / 6))
        beta_m  = 0.124 (-v - 38) / (1 - exp((v + 38) / 6))
        alpha_h = 0.015 (-v - 66) / (1 - exp((v + 66) / 6))
        beta_h  = 0.015 (v + 66) / (1 - exp(-(v + 66) / 6))
        x_inf = alpha / (alpha + beta),  tau_x = 1 / (qt (alpha + beta))

    Attributes:
        gbar: conductance density, S/cm^2 (1e-5).
        ena: sodium reversal potential, mV (50).

    References: Colbert & Pan (2002), Nat Neurosci 5:533-538; Hay et al. (2011).
    """

    gbar: Float[Array, " comp"]
    ena: Float[Array, " comp"]

    name: ClassVar[str] = "NaTa_t"

    def gates(self, v, celsius, ions=None) -> tuple[Gate, ...]:
        return _transient_na(v, celsius, -38.0, -66.0)


class NaTs2T(_SodiumMH):
    """Somatic transient Na current, Hay's ``NaTs2_t``: ``NaTa_t`` shifted by +6 mV.

    ``i = gbar m^3 h (v - ena)`` with (rates per ms, ``qt = 2.3^((celsius - 21) / 10)``)::

        alpha_m = 0.182 (v + 32) / (1 - exp(-(v + 32) / 6))
        beta_m  = 0.124 (-v - 32) / (1 - exp((v + 32) / 6))
        alpha_h = 0.015 (-v - 60) / (1 - exp((v + 60) / 6))
        beta_h  = 0.015 (v + 60) / (1 - exp(-(v + 60) / 6))
        x_inf = alpha / (alpha + beta),  tau_x = 1 / (qt (alpha + beta))

    Attributes:
        gbar: conductance density, S/cm^2 (1e-5).
        ena: sodium reversal potential, mV (50).

    References: Colbert & Pan (2002), Nat Neurosci 5:533-538; Hay et al. (2011).
    """

    gbar: Float[Array, " comp"]
    ena: Float[Array, " comp"]

    name: ClassVar[str] = "NaTs2_t"

    def gates(self, v, celsius, ions=None) -> tuple[Gate, ...]:
        return _transient_na(v, celsius, -32.0, -60.0)


class NapEt2(_SodiumMH):
    """Persistent Na current, Hay's ``Nap_Et2``.

    ``i = gbar m^3 h (v - ena)`` with ``qt = 2.3^((celsius - 21) / 10)`` and::

        m_inf = 1 / (1 + exp(-(v + 52.6) / 4.6))
        tau_m = 6 / (qt (alpha_m + beta_m)),  alpha_m, beta_m as in NaTa_t (half-point -38)
        h_inf = 1 / (1 + exp((v + 48.8) / 10))
        alpha_h = 2.88e-6 (-v - 17) / (1 - exp((v + 17) / 4.63))
        beta_h  = 6.94e-6 (v + 64.4) / (1 - exp(-(v + 64.4) / 2.63))
        tau_h = 1 / (qt (alpha_h + beta_h))

    Attributes:
        gbar: conductance density, S/cm^2 (1e-5).
        ena: sodium reversal potential, mV (50).

    References: Magistretti & Alonso (1999), J Gen Physiol 114:491-509; Hay et al. (2011).
    """

    gbar: Float[Array, " comp"]
    ena: Float[Array, " comp"]

    name: ClassVar[str] = "Nap_Et2"

    def gates(self, v, celsius, ions=None) -> tuple[Gate, ...]:
        qt = q10_factor(celsius, 2.3, 21.0)
        am = 0.182 * linexp(v + 38.0, 6.0)
        bm = 0.124 * linexp(-v - 38.0, 6.0)
        m_inf = 1.0 / (1.0 + jnp.exp(-(v + 52.6) / 4.6))
        tau_m = 6.0 / (qt * (am + bm))
        ah = 2.88e-6 * linexp(-v - 17.0, 4.63)
        bh = 6.94e-6 * linexp(v + 64.4, 2.63)
        h_inf = 1.0 / (1.0 + jnp.exp((v + 48.8) / 10.0))
        tau_h = 1.0 / (qt * (ah + bh))
        return (m_inf, tau_m), (h_inf, tau_h)


class _Potassium(AbstractGatedChannel):
    """The potassium channels (abstract): parameters and reversal."""

    gbar: AbstractVar[Float[Array, " comp"]]
    ek: AbstractVar[Float[Array, " comp"]]

    defaults: ClassVar[dict[str, float]] = {"gbar": 1e-5, "ek": -85.0}
    units: ClassVar[dict[str, str]] = {"gbar": "S/cm^2", "ek": "mV"}

    def reversal(self, ions=None) -> Float[Array, " comp"]:
        return self.ek


class SKv31(_Potassium):
    """Fast non-inactivating Kv3.1 potassium current, Hay's ``SKv3_1``.

    ``i = gbar m (v - ek)`` with::

        m_inf = 1 / (1 + exp(-(v - 18.7) / 9.7))
        tau_m = 4 / (1 + exp(-(v + 46.56) / 44.14))   ms

    As in Hay et al.'s model files, the kinetics carry no temperature factor.

    Attributes:
        gbar: conductance density, S/cm^2 (1e-5).
        ek: potassium reversal potential, mV (-85).

    References: Rettig et al. (1992), EMBO J 11:2473-2486; Hay et al. (2011).
    """

    gbar: Float[Array, " comp"]
    ek: Float[Array, " comp"]

    name: ClassVar[str] = "SKv3_1"
    state_names: ClassVar[tuple[str, ...]] = ("m",)

    def gates(self, v, celsius, ions=None) -> tuple[Gate, ...]:
        m_inf = 1.0 / (1.0 + jnp.exp(-(v - 18.7) / 9.7))
        tau_m = 4.0 / (1.0 + jnp.exp(-(v + 46.56) / 44.14))
        return ((m_inf, tau_m),)

    def conductance(self, state) -> Float[Array, " comp"]:
        (m,) = state
        return self.gbar * m


class KTst(_Potassium):
    """Fast inactivating (transient) K current, Hay's ``K_Tst``.

    ``i = gbar m^4 h (v - ek)``; Korngreen & Sakmann's (2000) fits shifted by -10 mV
    (liquid junction potential), ``u = v + 10``, ``qt = 2.3^((celsius - 21) / 10)``::

        m_inf = 1 / (1 + exp(-u / 19))
        tau_m = (0.34 + 0.92 exp(-((u + 71) / 59)^2)) / qt
        h_inf = 1 / (1 + exp((u + 66) / 10))
        tau_h = (8 + 49 exp(-((u + 73) / 23)^2)) / qt

    Some distributed versions of these model files fix ``qt`` at its 34 C value whatever
    ``celsius`` is; here ``qt`` follows ``celsius``: the same at 34 C, Hay et al.'s
    simulation temperature.

    Attributes:
        gbar: conductance density, S/cm^2 (1e-5).
        ek: potassium reversal potential, mV (-85).

    References: Korngreen & Sakmann (2000), J Physiol 525:621-639; Hay et al. (2011).
    """

    gbar: Float[Array, " comp"]
    ek: Float[Array, " comp"]

    name: ClassVar[str] = "K_Tst"
    state_names: ClassVar[tuple[str, ...]] = ("m", "h")

    def gates(self, v, celsius, ions=None) -> tuple[Gate, ...]:
        qt = q10_factor(celsius, 2.3, 21.0)
        u = v + 10.0
        m_inf = 1.0 / (1.0 + jnp.exp(-u / 19.0))
        tau_m = (0.34 + 0.92 * jnp.exp(-(((u + 71.0) / 59.0) ** 2))) / qt
        h_inf = 1.0 / (1.0 + jnp.exp((u + 66.0) / 10.0))
        tau_h = (8.0 + 49.0 * jnp.exp(-(((u + 73.0) / 23.0) ** 2))) / qt
        return (m_inf, tau_m), (h_inf, tau_h)

    def conductance(self, state) -> Float[Array, " comp"]:
        m, h = state
        return self.gbar * m**4 * h


class KPst(_Potassium):
    """Slow inactivating (persistent) K current, Hay's ``K_Pst``.

    ``i = gbar m^2 h (v - ek)``; Korngreen & Sakmann's (2000) fits shifted by -10 mV,
    ``u = v + 10``, ``qt = 2.3^((celsius - 21) / 10)``::

        m_inf = 1 / (1 + exp(-(u + 1) / 12))
        tau_m = (1.25 + 175.03 exp(0.026 u)) / qt    for u < -50
                (1.25 + 13 exp(-0.026 u)) / qt       otherwise (continuous at u = -50)
        h_inf = 1 / (1 + exp((u + 54) / 11))
        tau_h = (360 + (1010 + 24 (u + 55)) exp(-((u + 75) / 48)^2)) / qt

    Some distributed versions of these model files fix ``qt`` at its 34 C value; here it
    follows ``celsius`` (the same at 34 C).

    Attributes:
        gbar: conductance density, S/cm^2 (1e-5).
        ek: potassium reversal potential, mV (-85).

    References: Korngreen & Sakmann (2000), J Physiol 525:621-639; Hay et al. (2011).
    """

    gbar: Float[Array, " comp"]
    ek: Float[Array, " comp"]

    name: ClassVar[str] = "K_Pst"
    state_names: ClassVar[tuple[str, ...]] = ("m", "h")

    def gates(self, v, celsius, ions=None) -> tuple[Gate, ...]:
        qt = q10_factor(celsius, 2.3, 21.0)
        u = v + 10.0
        m_inf = 1.0 / (1.0 + jnp.exp(-(u + 1.0) / 12.0))
        tau_m = (
            jnp.where(
                u < -50.0,
                1.25 + 175.03 * jnp.exp(0.026 * jnp.minimum(u, -50.0)),
                1.25 + 13.0 * jnp.exp(-0.026 * jnp.maximum(u, -50.0)),
            )
            / qt
        )
        h_inf = 1.0 / (1.0 + jnp.exp((u + 54.0) / 11.0))
        tau_h = (360.0 + (1010.0 + 24.0 * (u + 55.0)) * jnp.exp(-(((u + 75.0) / 48.0) ** 2))) / qt
        return (m_inf, tau_m), (h_inf, tau_h)

    def conductance(self, state) -> Float[Array, " comp"]:
        m, h = state
        return self.gbar * m**2 * h


class Im(_Potassium):
    """Muscarinic (M-type) K current, Hay's ``Im``.

    ``i = gbar m (v - ek)`` with ``qt = 2.3^((celsius - 21) / 10)`` and (per ms)::

        alpha_m = 3.3e-3 exp(0.1 (v + 35)),  beta_m = 3.3e-3 exp(-0.1 (v + 35))
        m_inf = alpha_m / (alpha_m + beta_m),  tau_m = 1 / (qt (alpha_m + beta_m))

    Attributes:
        gbar: conductance density, S/cm^2 (1e-5).
        ek: potassium reversal potential, mV (-85).

    References: Adams, Brown & Constanti (1982), J Physiol 330:537-572; Hay et al. (2011).
    """

    gbar: Float[Array, " comp"]
    ek: Float[Array, " comp"]

    name: ClassVar[str] = "Im"
    state_names: ClassVar[tuple[str, ...]] = ("m",)

    def gates(self, v, celsius, ions=None) -> tuple[Gate, ...]:
        qt = q10_factor(celsius, 2.3, 21.0)
        am = 3.3e-3 * jnp.exp(0.1 * (v + 35.0))
        bm = 3.3e-3 * jnp.exp(-0.1 * (v + 35.0))
        return (_from_rates(am, bm, qt),)

    def conductance(self, state) -> Float[Array, " comp"]:
        (m,) = state
        return self.gbar * m


class Ih(AbstractGatedChannel):
    """Hyperpolarisation-activated cation current (HCN), Hay's ``Ih``.

    ``i = gbar m (v - ehcn)`` with (per ms; no temperature factor, as in the original)::

        alpha_m = 6.43e-3 (v + 154.9) / (exp((v + 154.9) / 11.9) - 1)
        beta_m  = 0.193 exp(v / 33.1)
        m_inf = alpha_m / (alpha_m + beta_m),  tau_m = 1 / (alpha_m + beta_m)

    Attributes:
        gbar: conductance density, S/cm^2 (1e-5).
        ehcn: reversal potential, mV (-45).

    References: Kole, Hallermann & Stuart (2006), J Neurosci 26:1677-1687; Hay et al. (2011).
    """

    gbar: Float[Array, " comp"]
    ehcn: Float[Array, " comp"]

    name: ClassVar[str] = "Ih"
    state_names: ClassVar[tuple[str, ...]] = ("m",)
    defaults: ClassVar[dict[str, float]] = {"gbar": 1e-5, "ehcn": -45.0}
    units: ClassVar[dict[str, str]] = {"gbar": "S/cm^2", "ehcn": "mV"}

    def gates(self, v, celsius, ions=None) -> tuple[Gate, ...]:
        am = 6.43e-3 * linexp(-(v + 154.9), 11.9)
        bm = 0.193 * jnp.exp(v / 33.1)
        return (_from_rates(am, bm, 1.0),)

    def conductance(self, state) -> Float[Array, " comp"]:
        (m,) = state
        return self.gbar * m

    def reversal(self, ions=None) -> Float[Array, " comp"]:
        return self.ehcn
