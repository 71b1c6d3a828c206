"""A recurrent spiking network with Dale-constrained recurrence, and its simulation driver.

One step of the network, for input features ``x[t]`` (stimulus, behaviour; arbitrary units)
and the spikes ``s[t-1]`` of the previous step:

    I[t] = dt * (W_in x[t] + b) + W_rec s[t-1]
    (state, s[t]) = neuron.step(state, I[t])

``W_in`` and ``b`` are a drive per ms (threshold units per ms per unit input), so the same
weights give the same mean drive whether the neurons step at 1 ms inside 10 ms bins or once
per bin; ``W_rec`` is the potential jump per presynaptic spike (threshold units). With
``dt = 1 ms`` this is exactly snnTorch's ``Linear`` + ``RLeaky`` (with a bias-free recurrent
``Linear``).

:func:`simulate` is the one driver: it hoists the input projection out of the time loop
(one matrix product for all steps) and runs ``lax.scan`` over steps; with ``substeps > 1``
the neurons take several steps of ``dt`` per input bin and the spikes are summed per bin.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from ._dale import DaleWeights, dale_weights
from ._neurons import AbstractNeuron


class NetworkState(NamedTuple):
    """State of :class:`RecurrentNetwork`: the neurons' state and the last step's spikes."""

    neuron: Any
    spikes: Float[Array, "*batch neuron"]


class RecurrentNetwork(eqx.Module):
    """Recurrent spiking network: input projection, Dale-constrained recurrence, neurons.

    Attributes:
        neuron: the neuron model (:class:`LIF`, :class:`SynapticLIF`, :class:`AdaptiveLIF`).
        w_in: input weights, shape (neuron, input), threshold units per ms per unit input.
        bias: constant drive per neuron, threshold units per ms.
        w_rec: Dale-constrained recurrent weights (threshold units per spike).
    """

    neuron: AbstractNeuron
    w_in: Float[Array, "neuron input"]
    bias: Float[Array, " neuron"]
    w_rec: DaleWeights

    def __init__(
        self,
        key: PRNGKeyArray,
        n_inputs: int,
        neuron: AbstractNeuron,
        *,
        frac_excitatory: float = 0.8,
        p_connect: float = 1.0,
        rec_gain: float = 1.0,
        in_gain: float = 0.1,
        bias: float = 0.0,
    ):
        """Random initialisation.

        Args:
            key: PRNG key.
            n_inputs: number of input features.
            neuron: neuron model; its ``n_neurons`` sets the network size.
            frac_excitatory, p_connect, rec_gain: passed to :func:`dale_weights` (balanced).
            in_gain: input weights ~ N(0, in_gain^2 / n_inputs) (per ms).
            bias: initial constant drive (per ms).
        """
        if n_inputs < 1:
            raise ValueError(f"`n_inputs` must be >= 1, got {n_inputs!r}.")
        n = neuron.n_neurons
        k_in, k_rec = jax.random.split(key)
        self.neuron = neuron
        self.w_in = jax.random.normal(k_in, (n, n_inputs)) * in_gain / jnp.sqrt(n_inputs)
        self.bias = jnp.full((n,), float(bias))
        self.w_rec = dale_weights(
            k_rec, n, frac_excitatory=frac_excitatory, p_connect=p_connect, gain=rec_gain
        )

    @property
    def n_neurons(self) -> int:
        return self.neuron.n_neurons

    @property
    def n_inputs(self) -> int:
        return self.w_in.shape[1]

    def init(self, batch_shape: tuple[int, ...] = ()) -> NetworkState:
        """Resting state, no spikes, for a batch of the given shape."""
        s0 = jnp.zeros((*batch_shape, self.n_neurons), self.w_in.dtype)
        return NetworkState(self.neuron.init(batch_shape), s0)

    def input_current(self, x: Float[Array, "*batch input"]) -> Float[Array, "*batch neuron"]:
        """Feed-forward drive of one step, ``dt (W_in x + b)`` (threshold units)."""
        return self.neuron.dt * (x @ self.w_in.T + self.bias)

    def step(
        self, state: NetworkState, x: Float[Array, "*batch input"]
    ) -> tuple[NetworkState, Float[Array, "*batch neuron"]]:
        """Advance one neuron step of ``dt`` with input features ``x``."""
        return _step_current(self.neuron, self.w_rec.weight, state, self.input_current(x))


def _step_current(neuron, w_rec, state: NetworkState, current):
    rec = state.spikes @ w_rec.T
    nstate, s = neuron.step(state.neuron, current + rec)
    return NetworkState(nstate, s), s


def _check_inputs(network: RecurrentNetwork, inputs, substeps: int) -> None:
    if inputs.ndim < 2 or inputs.shape[-1] != network.n_inputs:
        raise ValueError(
            f"`inputs` must have shape (time, *batch, {network.n_inputs}) (time first, "
            f"features last), got {inputs.shape}; transpose batch-major data with "
            "jnp.moveaxis(inputs, 1, 0)."
        )
    if not isinstance(substeps, int) or substeps < 1:
        raise ValueError(f"`substeps` must be a positive int, got {substeps!r}.")


class Simulation(NamedTuple):
    """Result of :func:`simulate`: final state, spike counts per bin, and (optionally) the
    membrane potential at the end of each bin."""

    state: NetworkState
    spikes: Float[Array, "time *batch neuron"]
    v: Float[Array, "time *batch neuron"] | None


def simulate(
    network: RecurrentNetwork,
    inputs: Float[Array, "time *batch input"],
    state: NetworkState | None = None,
    *,
    substeps: int = 1,
    record_voltage: bool = False,
) -> Simulation:
    """Run the network over time (the single ``lax.scan`` driver).

    Args:
        network: the network.
        inputs: input features per bin, time-major.
        state: initial state (default: rest, batch shape taken from ``inputs``).
        substeps: neuron steps of ``network.neuron.dt`` per input bin; the input is held
            constant within a bin (e.g. ``dt = 1 ms``, ``substeps = 10`` for 10 ms bins).
        record_voltage: also return the membrane potential at the end of each bin.

    Returns:
        :class:`Simulation` ``(state, spikes, v)``: final state, spike counts per bin, and
        the potential at the end of each bin (``None`` unless ``record_voltage``).
    """
    _check_inputs(network, inputs, substeps)
    batch_shape = inputs.shape[1:-1]
    if state is None:
        state = network.init(batch_shape)
    neuron = network.neuron
    w_rec = network.w_rec.weight
    currents = network.input_current(inputs)  # one GEMM for all bins

    def bin_step(carry, current):
        if substeps == 1:
            carry, s = _step_current(neuron, w_rec, carry, current)
        else:

            def sub(c, _):
                c, s = _step_current(neuron, w_rec, c, current)
                return c, s

            carry, ss = jax.lax.scan(sub, carry, None, length=substeps)
            s = jnp.sum(ss, axis=0)
        return carry, (s, carry.neuron.v if record_voltage else None)

    final, (spikes, v) = jax.lax.scan(bin_step, state, currents)
    return Simulation(final, spikes, v)
