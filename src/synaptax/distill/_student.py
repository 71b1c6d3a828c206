"""A spiking student read out linearly, and the distillation loss.

The student is a :class:`synaptax.snn.RecurrentNetwork` driven by the session's inputs
(stimulus, behaviour), one input bin at a time (``substeps`` neuron steps per bin). Its
spike counts ``s[t]`` are read by a linear map and filtered by a causal exponential kernel
(time constant ``tau_filter``, ms):

    h[t] = k h[t-1] + W_out s[t] + b_out,    k = exp(-bin / tau_filter)

(filtering after the readout is the same as reading out filtered spikes, because both are
linear, and it is cheaper). The loss is

    L = -cca_similarity(h, z; ridge) + rate_weight * rate_penalty(s; 5-20 Hz)

(or ``-linear_cka(h, z)`` in place of the CCA term)
with ``z`` the teacher's latents, bins of the first ``burn_in`` steps of each window left
out (the network starts at rest).
"""

from __future__ import annotations

import abc
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from ..snn import RecurrentNetwork, rate_penalty, simulate
from ._similarity import cca_similarity, linear_cka


class AbstractStudent(eqx.Module):
    """A spiking network read out linearly: ``student(inputs) -> (readout, spike counts)``.

    Subclasses provide ``network`` (with Dale weights ``network.w_rec``), ``bin_ms`` and
    ``__call__``; :func:`distillation_loss`, :func:`synaptax.distill.distill` and
    :func:`synaptax.distill.evaluate` work with any of them.
    """

    network: eqx.AbstractVar[Any]
    bin_ms: eqx.AbstractVar[float]

    @abc.abstractmethod
    def __call__(
        self, inputs: Float[Array, "time *batch input"]
    ) -> tuple[Float[Array, "time *batch latent"], Float[Array, "time *batch neuron"]]:
        """Filtered readout and spike counts per bin, from rest."""


def filtered_readout(
    spikes: Float[Array, "time *batch neuron"],
    w_out: Float[Array, "latent neuron"],
    b_out: Float[Array, " latent"],
    bin_ms: float,
    tau_filter: float,
) -> Float[Array, "time *batch latent"]:
    """``h[t] = k h[t-1] + W_out s[t] + b_out`` with ``k = exp(-bin_ms / tau_filter)``."""
    drive = spikes @ w_out.T + b_out
    k = jnp.exp(-bin_ms / tau_filter)

    def filt(h, u):
        h = k * h + u
        return h, h

    _, out = jax.lax.scan(filt, jnp.zeros_like(drive[0]), drive)
    return out


class SpikingStudent(AbstractStudent):
    """Recurrent spiking network plus linear readout of its filtered spikes.

    Attributes:
        network: the spiking network.
        w_out: readout weights, shape (latent, neuron).
        b_out: readout bias, shape (latent,).
        bin_ms: duration of one input bin (ms).
        substeps: neuron steps per bin (``network.neuron.dt * substeps == bin_ms``).
        tau_filter: readout filter time constant (ms).
    """

    network: RecurrentNetwork
    w_out: Float[Array, "latent neuron"]
    b_out: Float[Array, " latent"]
    bin_ms: float = eqx.field(static=True)
    substeps: int = eqx.field(static=True)
    tau_filter: float = eqx.field(static=True)

    def __init__(
        self,
        key: PRNGKeyArray,
        network: RecurrentNetwork,
        n_latents: int,
        *,
        bin_ms: float = 10.0,
        tau_filter: float = 50.0,
    ):
        substeps = round(bin_ms / network.neuron.dt)
        if substeps < 1 or abs(substeps * network.neuron.dt - bin_ms) > 1e-9 * bin_ms:
            raise ValueError(
                f"the bin ({bin_ms} ms) must be a whole number of neuron steps "
                f"(dt = {network.neuron.dt} ms); choose dt = bin_ms / k for an integer k."
            )
        if tau_filter <= 0:
            raise ValueError(f"`tau_filter` must be positive (ms), got {tau_filter!r}.")
        n = network.n_neurons
        self.network = network
        self.w_out = jax.random.normal(key, (n_latents, n)) / jnp.sqrt(n)
        self.b_out = jnp.zeros((n_latents,))
        self.bin_ms = float(bin_ms)
        self.substeps = substeps
        self.tau_filter = float(tau_filter)

    def __call__(
        self, inputs: Float[Array, "time *batch input"]
    ) -> tuple[Float[Array, "time *batch latent"], Float[Array, "time *batch neuron"]]:
        """Filtered readout and spike counts per bin, from rest."""
        spikes = simulate(self.network, inputs, substeps=self.substeps).spikes
        out = filtered_readout(spikes, self.w_out, self.b_out, self.bin_ms, self.tau_filter)
        return out, spikes


def distillation_loss(
    student: AbstractStudent,
    inputs: Float[Array, "time *batch input"],
    latents: Float[Array, "time *batch latent"],
    *,
    burn_in: int = 0,
    rate_weight: float = 1.0,
    ridge: float = 1e-3,
    rate_band: tuple[float, float] = (5.0, 20.0),
    similarity: str = "cca",
) -> tuple[Float[Array, ""], dict[str, Float[Array, ""]]]:
    """Distillation loss ``-similarity + rate_weight * rate penalty`` and its parts.

    Args:
        student: the student.
        inputs: input features per bin (time-major).
        latents: teacher latents aligned with ``inputs``.
        burn_in: leading bins excluded from both terms.
        rate_weight: weight of the homeostatic penalty.
        ridge: relative ridge of the CCA.
        rate_band: (low, high) firing-rate band in Hz.
        similarity: ``"cca"`` (ridge CCA, :func:`cca_similarity`; invariant to any linear
            map of the readout) or ``"cka"`` (:func:`linear_cka`; invariant to rotations
            and scale only).

    Returns:
        ``(loss, {"cca": ..., "rate_penalty": ..., "mean_rate": ...})``; the ``"cca"`` entry
        holds the similarity used (CKA when ``similarity="cka"``).
    """
    if similarity not in ("cca", "cka"):
        raise ValueError(f"`similarity` must be 'cca' or 'cka', got {similarity!r}.")
    if burn_in < 0 or burn_in >= inputs.shape[0]:
        raise ValueError(f"`burn_in` must be in [0, time) = [0, {inputs.shape[0]}), got {burn_in}.")
    pred, spikes = student(inputs)
    pred, spikes, lat = pred[burn_in:], spikes[burn_in:], latents[burn_in:]
    pred2, lat2 = pred.reshape(-1, pred.shape[-1]), lat.reshape(-1, lat.shape[-1])
    if similarity == "cca":
        sim = cca_similarity(pred2, lat2, ridge)
    else:
        sim = linear_cka(pred2, lat2)
    pen = rate_penalty(spikes, student.bin_ms, *rate_band)
    mean_rate = jnp.mean(spikes) * 1000.0 / student.bin_ms
    return -sim + rate_weight * pen, {"cca": sim, "rate_penalty": pen, "mean_rate": mean_rate}
