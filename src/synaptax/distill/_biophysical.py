"""A biophysical student: a recurrent network of Hodgkin-Huxley point neurons.

Each neuron is one isopotential compartment with the simulator's ``HH`` channel (NEURON's
``hh``: sodium, potassium, leak; densities per neuron, held fixed during training for now).
Trained: input weights, bias, Dale recurrent weights, readout. Per step of
``dt`` (ms):

    i_syn[t] = exp(-dt / tau_syn) i_syn[t-1] + W_rec s[t-1]                (uA/cm^2)
    I[t]     = W_in x[t] + b + i_syn[t]                                    (uA/cm^2)
    cm (v[t] - v[t-1]) / dt = I[t] - 1000 (i_ion(v[t-1]) + g_ion (v[t] - v[t-1]))
    gates: exponential Euler at v[t] (NEURON's cnexp)
    s[t]     = H((v[t] - v_spike) / 10 mV) (1 - H(v[t-1] - v_spike))       (upward crossing)

The potential step is linearly implicit (``g_ion = d i_ion / dv``), stable at the time
steps used here. ``W_rec`` is Dale-constrained (:class:`synaptax.snn.DaleWeights`), in
uA/cm^2 of synaptic current per presynaptic spike; ``cm`` in uF/cm^2, ion currents in
mA/cm^2 (hence the factor 1000). The spike's surrogate gradient flows through ``v[t]``;
the "was already above" factor is detached. Each 10 ms bin is ``bin_ms / dt`` steps, and
every bin is rematerialised in the backward pass (``jax.checkpoint``) to bound memory.

References: Hodgkin & Huxley (1952), J Physiol 117; Hines & Carnevale (1997), The NEURON
simulation environment, Neural Computation 9.
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from ..channels import HH
from ..snn import DaleWeights, SpikeFn, dale_weights, fast_sigmoid
from ._student import AbstractStudent, filtered_readout


class HHState(NamedTuple):
    """State of one neuron population: potential (mV), HH gates, synaptic current."""

    v: Float[Array, " neuron"]
    gates: tuple[Float[Array, " neuron"], ...]
    syn: Float[Array, " neuron"]
    spikes: Float[Array, " neuron"]


class HHNetwork(eqx.Module):
    """Recurrent network of HH point neurons with Dale-constrained current synapses.

    Attributes:
        channel: HH channel, one "compartment" per neuron (S/cm^2, mV), not trained.
        w_in: input weights (neuron, input), uA/cm^2 per unit input.
        bias: constant current per neuron, uA/cm^2.
        w_rec: Dale weights, uA/cm^2 of synaptic current per presynaptic spike.
        dt, tau_syn, cm, celsius, v_spike: ms, ms, uF/cm^2, degC, mV.
    """

    channel: HH
    w_in: Float[Array, "neuron input"]
    bias: Float[Array, " neuron"]
    w_rec: DaleWeights
    dt: float = eqx.field(static=True)
    tau_syn: float = eqx.field(static=True)
    cm: float = eqx.field(static=True)
    celsius: float = eqx.field(static=True)
    v_spike: float = eqx.field(static=True)
    spike_fn: SpikeFn = eqx.field(static=True)

    def __init__(
        self,
        key: PRNGKeyArray,
        n_neurons: int,
        n_inputs: int,
        *,
        dt: float = 0.1,
        tau_syn: float = 5.0,
        cm: float = 1.0,
        celsius: float = 6.3,
        v_spike: float = 0.0,
        in_gain: float = 3.0,
        bias: float = -1.0,
        rec_gain: float = 20.0,
        frac_excitatory: float = 0.8,
        spike_fn: SpikeFn | None = None,
    ):
        if not 0 < dt <= 0.1:
            raise ValueError(
                f"`dt` = {dt} ms is outside (0, 0.1] ms; HH kinetics need steps of at most "
                "0.1 ms (NEURON's default is 0.025 ms)."
            )
        k_in, k_rec = jax.random.split(key)
        channel = HH.with_defaults(n_neurons, dtype=jnp.result_type(float))
        if not isinstance(channel, HH):  # pragma: no cover - with_defaults returns cls
            raise TypeError(f"expected an HH channel, got {type(channel).__name__}")
        self.channel = channel
        self.w_in = jax.random.normal(k_in, (n_neurons, n_inputs)) * in_gain / jnp.sqrt(n_inputs)
        self.bias = jnp.full((n_neurons,), float(bias))
        self.w_rec = dale_weights(k_rec, n_neurons, frac_excitatory=frac_excitatory, gain=rec_gain)
        self.dt = float(dt)
        self.tau_syn = float(tau_syn)
        self.cm = float(cm)
        self.celsius = float(celsius)
        self.v_spike = float(v_spike)
        self.spike_fn = fast_sigmoid() if spike_fn is None else spike_fn

    @property
    def n_neurons(self) -> int:
        return self.bias.shape[0]

    def init(self, v0: float = -65.0) -> HHState:
        """Rest: ``v = v0`` (mV), gates at steady state, no synaptic current."""
        v = jnp.full((self.n_neurons,), v0, self.bias.dtype)
        gates = tuple(self.channel.init_state(v, jnp.asarray(self.celsius)))
        z = jnp.zeros_like(v)
        return HHState(v, gates, z, z)

    def step(self, state: HHState, drive: Float[Array, " neuron"], w_rec) -> HHState:
        """One step of ``dt``; ``drive`` is the feed-forward current (uA/cm^2)."""
        syn = jnp.exp(-self.dt / self.tau_syn) * state.syn + w_rec @ state.spikes
        # Channel densities are held fixed: Adam's fixed-size steps would drive small
        # densities such as gl (3e-4 S/cm^2) negative; train them in log space to free them.
        channel = jax.lax.stop_gradient(self.channel)
        # The gates' sensitivities are detached: through the unstable upstroke of an action
        # potential the full adjoint grows ~1e20-fold over a 1 s window (measured).
        gates_in = jax.lax.stop_gradient(state.gates)
        i_ion, g_ion = channel.current_and_conductance(state.v, gates_in)
        dv = (drive + syn - 1000.0 * i_ion) / (self.cm / self.dt + 1000.0 * g_ion)
        v = state.v + dv
        gates = tuple(channel.update(v, gates_in, self.dt, jnp.asarray(self.celsius)))
        was_above = jax.lax.stop_gradient((state.v > self.v_spike).astype(v.dtype))
        s = self.spike_fn((v - self.v_spike) / 10.0) * (1.0 - was_above)
        return HHState(v, gates, syn, s)


def simulate_hh(
    network: HHNetwork, inputs: Float[Array, "time batch input"], bin_ms: float
) -> Float[Array, "time batch neuron"]:
    """Spike counts per bin of ``bin_ms`` (inputs held constant within a bin)."""
    substeps = round(bin_ms / network.dt)
    if substeps < 1 or abs(substeps * network.dt - bin_ms) > 1e-9 * bin_ms:
        raise ValueError(f"bin_ms ({bin_ms}) must be a whole number of steps of {network.dt} ms.")
    w_rec = network.w_rec.weight
    drive = inputs @ network.w_in.T + network.bias

    def one(x_b):  # one batch element: (time, neuron) drive
        @jax.checkpoint
        def bin_step(state, d):
            def sub(st, _):
                st = network.step(st, d, w_rec)
                return st, st.spikes

            state, ss = jax.lax.scan(sub, state, None, length=substeps)
            return state, jnp.sum(ss, axis=0)

        _, counts = jax.lax.scan(bin_step, network.init(), x_b)
        return counts

    return jax.vmap(one, in_axes=1, out_axes=1)(drive)


class BiophysicalStudent(AbstractStudent):
    """An :class:`HHNetwork` read out like :class:`SpikingStudent` (filtered linear map)."""

    network: HHNetwork
    w_out: Float[Array, "latent neuron"]
    b_out: Float[Array, " latent"]
    bin_ms: float = eqx.field(static=True)
    tau_filter: float = eqx.field(static=True)

    def __init__(
        self,
        key: PRNGKeyArray,
        network: HHNetwork,
        n_latents: int,
        *,
        bin_ms: float = 10.0,
        tau_filter: float = 50.0,
    ):
        n = network.n_neurons
        self.network = network
        self.w_out = jax.random.normal(key, (n_latents, n)) / jnp.sqrt(n)
        self.b_out = jnp.zeros((n_latents,))
        self.bin_ms = float(bin_ms)
        self.tau_filter = float(tau_filter)

    def __call__(
        self, inputs: Float[Array, "time *batch input"]
    ) -> tuple[Float[Array, "time *batch latent"], Float[Array, "time *batch neuron"]]:
        """Filtered readout and spike counts per bin, from rest."""
        squeeze = inputs.ndim == 2
        x = inputs[:, None, :] if squeeze else inputs
        spikes = simulate_hh(self.network, x, self.bin_ms)
        if squeeze:
            spikes = spikes[:, 0]
        out = filtered_readout(spikes, self.w_out, self.b_out, self.bin_ms, self.tau_filter)
        return out, spikes
