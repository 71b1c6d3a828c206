"""Calcium channels: the Hay et al. (2011) calcium currents and the calcium-activated SK
channel.

Calcium channels (``ion = "ca"``) drive the calcium concentration of their compartment,
and their current uses the calcium reversal potential ``eca`` that NEURON computes from
the concentrations by the Nernst equation at every step,
``eca = (R T / 2 F) ln(cao / cai)`` (``T = celsius + 273.15``; ``cao`` and the initial
``cai0`` are per-cell values, :meth:`synaptax.Cell.set`). The concentration follows a
calcium dynamics mechanism (:class:`synaptax.mechanisms.CaDynamicsE2`); a calcium
channel in a compartment without one is an error at :meth:`synaptax.Cell.compile`.

Within a time step the order is NEURON's: currents at the present potential with the
present ``eca``; the voltage solve; the concentration advanced with that step's calcium
current; then the gates at the new potential and the new concentration.

Example (the somatic calcium set of Hay et al.'s model)::

    cell.insert("Ca_HVA", gbar=9.92e-4).insert("Ca_LVAst", gbar=3.43e-3)
    cell.insert("SK_E2", gbar=0.0441).insert("CaDynamics_E2", gamma=5.01e-4, decay=460.0)

References:
    Hay E, Hill S, Schürmann F, Markram H, Segev I (2011). Models of neocortical layer 5b
    pyramidal cells capturing a wide range of dendritic and perisomatic active properties.
    PLoS Comput Biol 7:e1002107.
"""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, Float

from synaptax.channels._base import (
    AbstractGatedChannel,
    Gate,
    Ions,
    linexp,
    q10_factor,
)


def _need_ions(name: str, ions: Ions | None) -> Ions:
    if ions is None:
        raise ValueError(
            f"{name} needs the calcium state (ions=Ions(cai, eca)); in a cell, insert a "
            "calcium dynamics mechanism such as 'CaDynamics_E2' on the same compartments"
        )
    return ions


class _Calcium(AbstractGatedChannel):
    """A calcium current ``gbar m^2 h (v - eca)`` (abstract)."""

    gbar: Float[Array, " comp"]

    ion: ClassVar[str] = "ca"
    state_names: ClassVar[tuple[str, ...]] = ("m", "h")
    defaults: ClassVar[dict[str, float]] = {"gbar": 1e-5}
    units: ClassVar[dict[str, str]] = {"gbar": "S/cm^2"}

    def conductance(self, state) -> Float[Array, " comp"]:
        m, h = state
        return self.gbar * m**2 * h

    def reversal(self, ions=None) -> Float[Array, " comp"]:
        return _need_ions(self.name, ions).eca


def _hva_gates(v) -> tuple[Gate, Gate]:
    """Reuveni et al. (1993) high-voltage-activated calcium kinetics (no temperature
    factor)."""
    am = 0.055 * linexp(v + 27.0, 3.8)
    bm = 0.94 * jnp.exp((-75.0 - v) / 17.0)
    ah = 0.000457 * jnp.exp((-13.0 - v) / 50.0)
    bh = 0.0065 / (jnp.exp((-v - 15.0) / 28.0) + 1.0)
    return (am / (am + bm), 1.0 / (am + bm)), (ah / (ah + bh), 1.0 / (ah + bh))


class CaHVA(_Calcium):
    """High-voltage-activated calcium current, Hay's ``Ca_HVA``.

    ``i = gbar m^2 h (v - eca)`` with (per ms; no temperature factor, as in the original)::

        alpha_m = 0.055 (-27 - v) / (exp((-27 - v) / 3.8) - 1)
        beta_m  = 0.94 exp((-75 - v) / 17)
        alpha_h = 0.000457 exp((-13 - v) / 50)
        beta_h  = 0.0065 / (exp((-v - 15) / 28) + 1)
        x_inf = alpha / (alpha + beta),  tau_x = 1 / (alpha + beta)

    The removable singularity of ``alpha_m`` at -27 mV is evaluated as its limit.

    Attributes:
        gbar: conductance density, S/cm^2 (1e-5).

    References: Reuveni, Friedman, Amitai & Gutnick (1993), J Neurosci 13:4609-4621;
    Hay et al. (2011).
    """

    name: ClassVar[str] = "Ca_HVA"

    def gates(self, v, celsius, ions=None) -> tuple[Gate, ...]:
        return _hva_gates(v)


class CaLVAst(_Calcium):
    """Low-voltage-activated (T-type) calcium current, Hay's ``Ca_LVAst``.

    ``i = gbar m^2 h (v - eca)``; fits of Avery & Johnston (1996), time constants after
    Randall & Tsien (1997), shifted by -10 mV, ``u = v + 10``,
    ``qt = 2.3^((celsius - 21) / 10)``::

        m_inf = 1 / (1 + exp(-(u + 30) / 6))
        tau_m = (5 + 20 / (1 + exp((u + 25) / 5))) / qt
        h_inf = 1 / (1 + exp((u + 80) / 6.4))
        tau_h = (20 + 50 / (1 + exp((u + 40) / 7))) / qt

    Attributes:
        gbar: conductance density, S/cm^2 (1e-5).

    References: Avery & Johnston (1996), J Neurosci 16:5567-5582; Randall & Tsien (1997),
    Neuropharmacology 36:879-893; Hay et al. (2011).
    """

    name: ClassVar[str] = "Ca_LVAst"

    def gates(self, v, celsius, ions=None) -> tuple[Gate, ...]:
        qt = q10_factor(celsius, 2.3, 21.0)
        u = v + 10.0
        m_inf = 1.0 / (1.0 + jnp.exp(-(u + 30.0) / 6.0))
        tau_m = (5.0 + 20.0 / (1.0 + jnp.exp((u + 25.0) / 5.0))) / qt
        h_inf = 1.0 / (1.0 + jnp.exp((u + 80.0) / 6.4))
        tau_h = (20.0 + 50.0 / (1.0 + jnp.exp((u + 40.0) / 7.0))) / qt
        return (m_inf, tau_m), (h_inf, tau_h)


class SKE2(AbstractGatedChannel):
    """Small-conductance calcium-activated potassium current, Hay's ``SK_E2``.

    ``i = gbar z (v - ek)``; the gate follows the calcium concentration (mM), not ``v``::

        z_inf = 1 / (1 + (4.3e-4 / c)^4.8),  c = cai (+ 1e-7 if cai < 1e-7)
        tau_z = 1 ms

    Attributes:
        gbar: conductance density, S/cm^2 (1e-6).
        ek: potassium reversal potential, mV (-85).

    References: Köhler et al. (1996), Science 273:1709-1714; Hay et al. (2011).
    """

    gbar: Float[Array, " comp"]
    ek: Float[Array, " comp"]

    name: ClassVar[str] = "SK_E2"
    reads_calcium: ClassVar[bool] = True
    state_names: ClassVar[tuple[str, ...]] = ("z",)
    defaults: ClassVar[dict[str, float]] = {"gbar": 1e-6, "ek": -85.0}
    units: ClassVar[dict[str, str]] = {"gbar": "S/cm^2", "ek": "mV"}

    def gates(self, v, celsius, ions=None) -> tuple[Gate, ...]:
        cai = _need_ions(self.name, ions).cai
        c = jnp.where(cai < 1e-7, cai + 1e-7, cai)
        z_inf = 1.0 / (1.0 + (4.3e-4 / c) ** 4.8)
        return ((z_inf, jnp.ones_like(z_inf)),)

    def conductance(self, state) -> Float[Array, " comp"]:
        (z,) = state
        return self.gbar * z

    def reversal(self, ions=None) -> Float[Array, " comp"]:
        return self.ek
