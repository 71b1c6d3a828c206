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


Gate = tuple[Float[Array, " comp"], Float[Array, " comp"]]


def linexp(x, k):
    """``x / (1 - exp(-x / k))``; its series ``k (1 + u/2 + u^2/12)``, ``u = x / k``, near 0.

    Every "x over exponential minus one" rate of the Hodgkin-Huxley type is a multiple of
    this: ``x / (exp(x / k) - 1) = linexp(-x, k)``. The series is used for ``|u| < 1e-6``;
    elsewhere ``expm1`` keeps it accurate near 0 in float32 too. Gradients are finite.
    """
    u = x / k
    small = jnp.abs(u) < 1e-6
    safe = jnp.where(small, 1.0, u)
    return jnp.where(small, k * (1.0 + u * (0.5 + u / 12.0)), k * safe / -jnp.expm1(-safe))


def q10_factor(celsius, q10: float, reference: float):
    """Rate multiplier ``q10^((celsius - reference) / 10)``."""
    return q10 ** ((celsius - reference) / 10.0)


class AbstractGatedChannel(AbstractChannel):
    """A conductance ``i = g(state) (v - e)`` with independent first-order gates.

    Subclasses provide :meth:`gates` (steady state and time constant of every gate),
    :meth:`conductance` and :meth:`reversal`; the current is linear in ``v``, so its
    slope for the semi-implicit step is the conductance itself.
    """

    @abc.abstractmethod
    def gates(self, v: Float[Array, " comp"], celsius: Float[Array, ""]) -> tuple[Gate, ...]:
        """``(x_inf, tau_x)`` of every gate in ``state_names`` order; tau in ms."""

    @abc.abstractmethod
    def conductance(self, state: State) -> Float[Array, " comp"]:
        """Open conductance density, S/cm^2."""

    @abc.abstractmethod
    def reversal(self) -> Float[Array, " comp"]:
        """Reversal potential, mV."""

    def init_state(self, v, celsius) -> State:
        return tuple(inf for inf, _ in self.gates(v, celsius))

    def current(self, v, state) -> Float[Array, " comp"]:
        return self.conductance(state) * (v - self.reversal())

    def current_and_conductance(self, v, state):
        g = self.conductance(state)
        return g * (v - self.reversal()), g

    def update(self, v, state, dt, celsius) -> State:
        return tuple(
            exp_euler(x, inf, tau, dt)
            for x, (inf, tau) in zip(state, self.gates(v, celsius), strict=True)
        )
