"""The abstract mechanisms: ion channels (typed per-compartment parameters, gating
states, kinetics) and ion-concentration dynamics."""

from __future__ import annotations

import abc
from typing import ClassVar, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

State = tuple[Float[Array, " comp"], ...]

# Physical constants exactly as NEURON 9 uses them (2018 CODATA: F = e N_A, R = k N_A):
# C/mol and J/(K mol).
FARADAY = 96485.33212331001
GAS_CONSTANT = 8.31446261815324


class Ions(NamedTuple):
    """Ion state a channel may read, per compartment.

    Attributes:
        cai: intracellular calcium concentration, mM.
        eca: calcium reversal potential, mV (Nernst, from ``cai`` and ``cao``).
    """

    cai: Float[Array, " comp"]
    eca: Float[Array, " comp"]


def nernst(ci, co, valence: int, celsius):
    """Nernst potential (mV) of an ion with concentrations ``ci``, ``co`` (mM) at
    ``celsius`` (NEURON's ``nrn_nernst``)."""
    return 1e3 * GAS_CONSTANT * (celsius + 273.15) / (valence * FARADAY) * jnp.log(co / ci)


class AbstractMechanism(eqx.Module):
    """Anything inserted into membrane compartments: parameters with defaults and units.

    Subclasses declare their parameters as ``Float[Array, "comp"]`` fields (one value
    per compartment, units in the docstring), list defaults in ``defaults`` and state
    names in ``state_names``.
    """

    name: ClassVar[str]
    state_names: ClassVar[tuple[str, ...]]
    defaults: ClassVar[dict[str, float]]
    units: ClassVar[dict[str, str]]
    ion: ClassVar[str | None] = None

    @classmethod
    def with_defaults(cls, n: int, dtype=jnp.float64, **overrides: float):
        """An instance whose parameters are the defaults (or overrides) on ``n`` nodes."""
        unknown = set(overrides) - set(cls.defaults)
        if unknown:
            raise ValueError(
                f"{cls.name} has no parameter(s) {sorted(unknown)}; known: {sorted(cls.defaults)}"
            )
        vals = {**cls.defaults, **overrides}
        return cls(**{k: jnp.full((n,), v, dtype=dtype) for k, v in vals.items()})


class AbstractChannel(AbstractMechanism):
    """A membrane current with density parameters and gating states.

    Implement the three methods below. Currents are outward-positive densities in
    mA/cm^2, as in NEURON. A channel that carries calcium sets ``ion = "ca"`` (its
    current feeds the calcium concentration); one that reads the calcium concentration
    or reversal sets ``reads_calcium = True``. Both get the compartments' :class:`Ions`
    as ``ions`` and need a calcium dynamics mechanism on the same compartments.
    """

    reads_calcium: ClassVar[bool] = False

    @abc.abstractmethod
    def init_state(
        self, v: Float[Array, " comp"], celsius: Float[Array, ""], ions: Ions | None = None
    ) -> State:
        """Steady-state gates at membrane potential ``v`` (mV)."""

    @abc.abstractmethod
    def current(
        self, v: Float[Array, " comp"], state: State, ions: Ions | None = None
    ) -> Float[Array, " comp"]:
        """Outward current density, mA/cm^2."""

    @abc.abstractmethod
    def update(
        self,
        v: Float[Array, " comp"],
        state: State,
        dt: float,
        celsius: Float[Array, ""],
        ions: Ions | None = None,
    ) -> State:
        """Advance the gates by ``dt`` (ms) at the new potential ``v`` (NEURON's cnexp)."""

    def current_and_conductance(
        self, v: Float[Array, " comp"], state: State, ions: Ions | None = None
    ) -> tuple[Float[Array, " comp"], Float[Array, " comp"]]:
        """Current density and its slope dI/dV (S/cm^2), for the semi-implicit step."""
        return jax.jvp(lambda u: self.current(u, state, ions), (v,), (jnp.ones_like(v),))


class AbstractConcentration(AbstractMechanism):
    """Dynamics of an intracellular ion concentration (``ion``), driven by that ion's
    total membrane current. Its one state is the concentration (mM)."""

    @abc.abstractmethod
    def update(
        self, conc: Float[Array, " comp"], current: Float[Array, " comp"], dt: float
    ) -> Float[Array, " comp"]:
        """Advance the concentration by ``dt`` (ms) given the ion's current (mA/cm^2),
        held at its value at the start of the step (NEURON's order)."""


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
    def gates(
        self, v: Float[Array, " comp"], celsius: Float[Array, ""], ions: Ions | None = None
    ) -> tuple[Gate, ...]:
        """``(x_inf, tau_x)`` of every gate in ``state_names`` order; tau in ms."""

    @abc.abstractmethod
    def conductance(self, state: State) -> Float[Array, " comp"]:
        """Open conductance density, S/cm^2."""

    @abc.abstractmethod
    def reversal(self, ions: Ions | None = None) -> Float[Array, " comp"]:
        """Reversal potential, mV."""

    def init_state(self, v, celsius, ions=None) -> State:
        return tuple(inf for inf, _ in self.gates(v, celsius, ions))

    def current(self, v, state, ions=None) -> Float[Array, " comp"]:
        return self.conductance(state) * (v - self.reversal(ions))

    def current_and_conductance(self, v, state, ions=None):
        g = self.conductance(state)
        return g * (v - self.reversal(ions)), g

    def update(self, v, state, dt, celsius, ions=None) -> State:
        return tuple(
            exp_euler(x, inf, tau, dt)
            for x, (inf, tau) in zip(state, self.gates(v, celsius, ions), strict=True)
        )
