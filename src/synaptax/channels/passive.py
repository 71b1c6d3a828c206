"""The passive leak, NEURON's ``pas``."""

from __future__ import annotations

from typing import ClassVar

from jaxtyping import Array, Float

from synaptax.channels._base import AbstractChannel, State


class Leak(AbstractChannel):
    """Passive leak ``i = g (v - e)`` in mA/cm^2 (NEURON's ``pas``).

    Attributes:
        g: conductance density, S/cm^2 (0.001).
        e: reversal potential, mV (-70).
    """

    g: Float[Array, " comp"]
    e: Float[Array, " comp"]

    name: ClassVar[str] = "Leak"
    state_names: ClassVar[tuple[str, ...]] = ()
    defaults: ClassVar[dict[str, float]] = {"g": 0.001, "e": -70.0}
    units: ClassVar[dict[str, str]] = {"g": "S/cm^2", "e": "mV"}

    def init_state(self, v, celsius, ions=None) -> State:
        return ()

    def current(self, v, state, ions=None) -> Float[Array, " comp"]:
        return self.g * (v - self.e)

    def current_and_conductance(self, v, state, ions=None):
        return self.current(v, state), self.g + 0.0 * v

    def update(self, v, state, dt, celsius, ions=None) -> State:
        return ()
