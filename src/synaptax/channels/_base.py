"""The abstract ion channel: typed per-compartment parameters, gating states, kinetics."""

from __future__ import annotations

import abc
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

State = tuple[Float[Array, " comp"], ...]


class AbstractChannel(eqx.Module):
    """A membrane mechanism with density parameters and gating states.

    Subclasses declare their parameters as ``Float[Array, "comp"]`` fields (one value
    per compartment, units in the docstring), list defaults in ``defaults`` and their
    state names in ``state_names``, and implement the three methods below. Currents are
    outward-positive densities in mA/cm^2, as in NEURON.
    """

    name: ClassVar[str]
    state_names: ClassVar[tuple[str, ...]]
    defaults: ClassVar[dict[str, float]]
    units: ClassVar[dict[str, str]]

    @abc.abstractmethod
    def init_state(self, v: Float[Array, " comp"], celsius: Float[Array, ""]) -> State:
        """Steady-state gates at membrane potential ``v`` (mV)."""

    @abc.abstractmethod
    def current(self, v: Float[Array, " comp"], state: State) -> Float[Array, " comp"]:
        """Outward current density, mA/cm^2."""

    @abc.abstractmethod
    def update(
        self, v: Float[Array, " comp"], state: State, dt: float, celsius: Float[Array, ""]
    ) -> State:
        """Advance the gates by ``dt`` (ms) at the new potential ``v`` (NEURON's cnexp)."""

    def current_and_conductance(
        self, v: Float[Array, " comp"], state: State
    ) -> tuple[Float[Array, " comp"], Float[Array, " comp"]]:
        """Current density and its slope dI/dV (S/cm^2), for the semi-implicit step."""
        return jax.jvp(lambda u: self.current(u, state), (v,), (jnp.ones_like(v),))

    @classmethod
    def with_defaults(cls, n: int, dtype=jnp.float64, **overrides: float) -> AbstractChannel:
        """An instance whose parameters are the defaults (or overrides) on ``n`` nodes."""
        unknown = set(overrides) - set(cls.defaults)
        if unknown:
            raise ValueError(
                f"{cls.name} has no parameter(s) {sorted(unknown)}; known: {sorted(cls.defaults)}"
            )
        vals = {**cls.defaults, **overrides}
        return cls(**{k: jnp.full((n,), v, dtype=dtype) for k, v in vals.items()})


def exp_euler(x, inf, tau, dt):
    """NEURON's ``cnexp`` for ``x' = (inf - x) / tau``: exact for frozen inf and tau."""
    return inf + (x - inf) * jnp.exp(-dt / tau)
