"""Intracellular calcium dynamics (NEURON's ``USEION ca ... WRITE cai`` mechanisms).

A calcium dynamics mechanism owns the calcium concentration ``cai`` of its compartments;
calcium channels (:mod:`synaptax.channels.calcium`) feed it and read the Nernst
reversal potential ``eca`` computed from it at every step.
"""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, Float

from synaptax.channels._base import FARADAY, AbstractConcentration


class CaDynamicsE2(AbstractConcentration):
    """Intracellular calcium in a submembrane shell with buffering and first-order
    removal, Hay's ``CaDynamics_E2``::

        dcai/dt = -1e4 gamma ica / (2 F depth) - (cai - minCai) / decay

    ``ica`` in mA/cm^2 (outward positive, so inward calcium current raises ``cai``),
    ``F`` Faraday's constant, the factor 1e4 converts the units (mM um / ms). Advanced
    exactly for the step's current (NEURON's ``cnexp``).

    Attributes:
        gamma: fraction of calcium influx left unbuffered, 1 (0.05).
        decay: time constant of removal, ms (80).
        depth: depth of the submembrane shell, um (0.1).
        minCai: resting concentration, mM (1e-4).

    References: Destexhe, Babloyantz & Sejnowski (1993), Biophys J 65:1538-1552 (the
    shell model); Hay et al. (2011).
    """

    gamma: Float[Array, " comp"]
    decay: Float[Array, " comp"]
    depth: Float[Array, " comp"]
    minCai: Float[Array, " comp"]

    name: ClassVar[str] = "CaDynamics_E2"
    ion: ClassVar[str] = "ca"
    state_names: ClassVar[tuple[str, ...]] = ("cai",)
    defaults: ClassVar[dict[str, float]] = {
        "gamma": 0.05,
        "decay": 80.0,
        "depth": 0.1,
        "minCai": 1e-4,
    }
    units: ClassVar[dict[str, str]] = {"gamma": "1", "decay": "ms", "depth": "um", "minCai": "mM"}

    def update(self, conc, current, dt):
        drive = -1e4 * current * self.gamma / (2.0 * FARADAY * self.depth)  # mM/ms
        c_inf = self.minCai + self.decay * drive
        return c_inf + (conc - c_inf) * jnp.exp(-dt / self.decay)
