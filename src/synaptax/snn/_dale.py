"""Dale's principle: recurrent weights whose signs are fixed by the presynaptic cell type.

The effective weight matrix is

    W[post, pre] = |M[post, pre]| * sign[pre] * mask[post, pre]

where ``M`` is the trainable magnitude, ``sign`` is +1 for excitatory and -1 for inhibitory
presynaptic neurons and ``mask`` is a fixed (optionally sparse) connectivity. The sign is
not an array leaf at all (it is derived from the static number of excitatory neurons, which
come first) and the mask is boolean, so neither is touched by ``equinox.filter_grad``, an
optimiser or weight decay: no training step can flip a weight's sign, a magnitude can only
shrink to zero.

Units: a weight is the jump of the postsynaptic potential (in threshold units) caused by one
presynaptic spike.

References:
    Song, Yang & Wang (2016), Training excitatory-inhibitory recurrent neural networks for
    cognitive tasks, PLoS Comput Biol 12(2).
    Cornford et al. (2021), Learning to live with Dale's principle, ICLR.
    van Vreeswijk & Sompolinsky (1996), Chaos in neuronal networks with balanced excitatory
    and inhibitory activity, Science 274.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray


class DaleWeights(eqx.Module):
    """Sign-constrained weight matrix ``W = |magnitude| * sign[pre] * mask``.

    Attributes:
        magnitude: trainable raw weights, shape (post, pre); only ``|magnitude|`` is used.
        mask: boolean connectivity, shape (post, pre), fixed.
        n_excitatory: the first ``n_excitatory`` presynaptic neurons are excitatory, the
            others inhibitory (static).
    """

    magnitude: Float[Array, "post pre"]
    mask: Bool[Array, "post pre"]
    n_excitatory: int = eqx.field(static=True)

    @property
    def sign(self) -> Float[Array, " pre"]:
        """+1 for excitatory, -1 for inhibitory presynaptic neurons."""
        n_pre = self.magnitude.shape[1]
        return jnp.where(jnp.arange(n_pre) < self.n_excitatory, 1.0, -1.0).astype(
            self.magnitude.dtype
        )

    @property
    def weight(self) -> Float[Array, "post pre"]:
        """The effective, sign-constrained weight matrix."""
        return jnp.where(self.mask, jnp.abs(self.magnitude) * self.sign[None, :], 0.0)


def dale_weights(
    key: PRNGKeyArray,
    n_post: int,
    n_pre: int | None = None,
    *,
    frac_excitatory: float = 0.8,
    p_connect: float = 1.0,
    gain: float = 1.0,
    balanced: bool = True,
    no_self_connections: bool = True,
) -> DaleWeights:
    """Random Dale-constrained weights with a balanced start.

    The first ``round(frac_excitatory * n_pre)`` presynaptic neurons are excitatory, the rest
    inhibitory. Magnitudes are half-normal with scale ``gain / sqrt(K)`` (``K`` the expected
    number of inputs per neuron). With ``balanced=True`` the inhibitory magnitudes of each row
    are rescaled so that every neuron's summed excitatory and inhibitory weights cancel
    exactly (``sum_pre W[post, pre] = 0``; a row of a sparse matrix that received no
    inhibitory connection is left as drawn): with all neurons firing at the same rate the net
    recurrent input is zero, so activity does not run away at the start of training.

    Args:
        key: JAX PRNG key.
        n_post, n_pre: numbers of post- and presynaptic neurons (``n_pre`` defaults to
            ``n_post``, a recurrent matrix).
        frac_excitatory: share of excitatory presynaptic neurons, in (0, 1) (default 0.8).
        p_connect: connection probability in (0, 1] (sparse connectivity when < 1).
        gain: overall scale of the magnitudes (threshold units per spike times sqrt(K)).
        balanced: rescale inhibition row by row to cancel excitation exactly.
        no_self_connections: zero the diagonal of a square matrix.
    """
    n_pre = n_post if n_pre is None else n_pre
    if not (0.0 < frac_excitatory < 1.0):
        raise ValueError(
            f"`frac_excitatory` must be in (0, 1), got {frac_excitatory!r}; "
            "use 0.8 for the cortical 80/20 split."
        )
    if not (0.0 < p_connect <= 1.0):
        raise ValueError(f"`p_connect` must be in (0, 1], got {p_connect!r}.")
    if gain < 0:
        raise ValueError(f"`gain` must be >= 0, got {gain!r}.")
    n_exc = round(frac_excitatory * n_pre)
    if n_exc == 0 or n_exc == n_pre:
        raise ValueError(
            f"with n_pre={n_pre} and frac_excitatory={frac_excitatory} one population is "
            "empty; use more neurons or a fraction further from 0 and 1."
        )
    k_mag, k_mask = jax.random.split(key)
    sign = jnp.where(jnp.arange(n_pre) < n_exc, 1.0, -1.0)
    mask = jnp.ones((n_post, n_pre), bool)
    if p_connect < 1.0:
        mask = jax.random.bernoulli(k_mask, p_connect, (n_post, n_pre))
    if no_self_connections and n_post == n_pre:
        mask = mask & ~jnp.eye(n_post, dtype=bool)
    k_in = max(p_connect * n_pre, 1.0)
    mag = jnp.abs(jax.random.normal(k_mag, (n_post, n_pre))) * gain / jnp.sqrt(k_in)
    mag = jnp.where(mask, mag, 0.0)
    if balanced:
        exc = sign > 0
        e_sum = jnp.sum(jnp.where(exc[None, :], mag, 0.0), axis=1, keepdims=True)
        i_sum = jnp.sum(jnp.where(exc[None, :], 0.0, mag), axis=1, keepdims=True)
        scale = jnp.where(i_sum > 0, e_sum / jnp.where(i_sum > 0, i_sum, 1.0), 1.0)
        mag = jnp.where(exc[None, :], mag, mag * scale)
    return DaleWeights(mag, mask, n_exc)


def dale_violations(weight: Float[Array, "post pre"], sign: Float[Array, " pre"]) -> Int[Array, ""]:
    """Number of nonzero weights whose sign differs from the presynaptic neuron's type."""
    wrong = (weight * sign[None, :]) < 0
    return jnp.sum(wrong)


def ei_balance(
    weight: Float[Array, "post pre"],
    sign: Float[Array, " pre"],
    rates: Float[Array, " pre"],
) -> Float[Array, ""]:
    """Ratio of total excitatory to total inhibitory recurrent drive, ``sum_E / |sum_I|``.

    ``drive_pop = sum_post sum_{pre in pop} W[post, pre] * rate[pre]``; 1 is exact balance.
    ``rates`` in Hz (any unit: the ratio does not depend on it).
    """
    exc = sign > 0
    drive = weight * rates[None, :]
    e = jnp.sum(jnp.where(exc[None, :], drive, 0.0))
    i = jnp.sum(jnp.where(exc[None, :], 0.0, drive))
    return e / jnp.maximum(jnp.abs(i), jnp.finfo(drive.dtype).tiny)
