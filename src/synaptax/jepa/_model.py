"""Encoder, predictor and the JEPA loss of the teacher.

The units of a session are split into two disjoint *views* (halves, ``A`` and ``B``).
Each view has its own read-in layer (square-root counts, standardised with fixed
training statistics, then a linear map to ``hidden`` channels); everything after it, a
dilated temporal convolution network ``f``, is shared by all views and all sessions.
The latent trajectory of view ``v`` is

    z_v(t) = f(W_v ((sqrt(c_v) - mu_v) / s_v) + b_v)(t)

which depends on bins ``<= t`` (causal encoder) or on a window centred on ``t``
(``causal=False``, a smoother), through GELU residual blocks or, with
``nonlinear=False``, through a linear filter bank. With ``temporal="exponential"``,
``f`` is instead a bidirectional diagonal linear recurrence (learned exponential, and
optionally oscillating, filters per channel over ``support`` bins each way, like a
Kalman smoother; :class:`ExpEncoder`) with a linear read-out. A predictor maps the latent at ``t``
to the latent of the *other* view at ``t + k``,

    zhat(t + k) = z(t) + g([z(t), onehot(k)]),    k in horizons (k = 0: identity).

Because the two views share no neurons, their Poisson noise is independent and the
only thing one view can predict about the other is the common latent state (the
shared-noise trap of predicting one's own future from overlapping windows is avoided).
The loss is

    L = (1 - lambda) * mean_{t, k, A->B and B->A} ||zhat - z_target||^2 / d
        + lambda * (SIGReg(z_A) + SIGReg(z_B)) / 2,

with SIGReg evaluated at ``sigreg_points`` time points per window, each from ``batch``
independent windows. With ``pointwise_target=True`` the targets are per-bin embeddings
``u_v(t) = h(read-in_v(c_v(t)))`` of the other view (an MLP of one bin, so the targets
cannot hold slow temporal features), SIGReg is applied to them, and a term aligning
``u_A(t)`` with ``u_B(t)`` is added. Nothing is stopped from receiving gradients:
SIGReg, not a stop-gradient or EMA target, prevents the collapse ``z = const``
(Balestriero & LeCun 2025). After training, the teacher's latent is the mean of the two
views' latents (they are aligned by the ``k = 0`` term).

References:
    Assran et al. (2023), Self-supervised learning from images with a joint-embedding
    predictive architecture, CVPR.
    Balestriero & LeCun (2025), LeJEPA, arXiv:2511.08544.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ._sigreg import sigreg

__all__ = [
    "Encoder",
    "ExpEncoder",
    "Predictor",
    "ReadIn",
    "Teacher",
    "jepa_loss",
    "split_units",
    "transform_counts",
]


_TRANSFORMS = ("sqrt", "raw", "log1p")


def _check_transform(kind: str) -> None:
    if kind not in _TRANSFORMS:
        raise ValueError(f"input transform must be one of {list(_TRANSFORMS)}, got {kind!r}.")


def transform_counts(counts, kind: str = "sqrt"):
    """The read-in's input transform of the counts: ``sqrt(c)`` (default, variance
    stabilising), ``c`` (``"raw"``: the Poisson log-likelihood is linear in ``c``) or
    ``log(1 + c)``; NumPy in, NumPy out (at the input's precision)."""
    _check_transform(kind)
    xp = np if isinstance(counts, np.ndarray) else jnp
    if kind == "sqrt":
        return xp.sqrt(counts)
    return counts if kind == "raw" else xp.log1p(counts)


class ReadIn(eqx.Module):
    """Per-view input layer: ``W ((g(c) - mu) / s) + b``, ``mu``, ``s`` fixed, ``g`` the
    input transform (:func:`transform_counts`, ``sqrt`` by default)."""

    linear: eqx.nn.Linear
    mu: Float[Array, " unit"]
    scale: Float[Array, " unit"]
    transform: str = eqx.field(static=True, default="sqrt")

    def __init__(self, n_units: int, hidden: int, *, transform: str = "sqrt", key: PRNGKeyArray):
        _check_transform(transform)
        self.linear = eqx.nn.Linear(n_units, hidden, key=key)
        self.mu = jnp.zeros(n_units)
        self.scale = jnp.ones(n_units)
        self.transform = transform

    def standardise(self, counts: Float[Array, "time unit"]) -> Float[Array, "time unit"]:
        """``(g(c) - mu) / s`` with the fixed training statistics."""
        mu, scale = jax.lax.stop_gradient(self.mu), jax.lax.stop_gradient(self.scale)
        return (jnp.asarray(transform_counts(counts, self.transform)) - mu) / scale

    def __call__(self, counts: Float[Array, "time unit"]) -> Float[Array, "time hidden"]:
        return jax.vmap(self.linear)(self.standardise(counts))


def conv_receptive_field(kernel: int, dilations: tuple[int, ...]) -> int:
    """Bins seen by :class:`Encoder`'s stacked dilated convolutions."""
    return 1 + (kernel - 1) * sum(dilations)


def exp_receptive_field(support: int, causal: bool) -> int:
    """Bins seen by :class:`ExpEncoder`: ``support`` back, and as many ahead if acausal."""
    return 1 + support * (1 if causal else 2)


class _Temporal(eqx.Module):
    """How a temporal network's receptive field splits around the output bin ``t``."""

    causal: eqx.AbstractVar[bool]

    @property
    def receptive_field(self) -> int:
        raise NotImplementedError

    @property
    def lookahead(self) -> int:
        """Future bins that ``z(t)`` depends on (0 for a causal encoder)."""
        return 0 if self.causal else (self.receptive_field - 1) // 2

    @property
    def lookback(self) -> int:
        """Past bins that ``z(t)`` depends on."""
        return self.receptive_field - 1 - self.lookahead


class Encoder(_Temporal):
    """Shared temporal network: residual dilated convolutions, then a linear map to the
    latent dimension. Receptive field ``1 + (kernel - 1) * sum(dilations)`` bins, all in
    the past (``causal``) or centred on the output bin (``causal=False``: each
    convolution looks ``(kernel - 1) * dilation / 2`` bins back and ahead).

    With ``residual > 0`` a GELU MLP of the last convolution's channels ``h(t)`` (one
    bin at a time) is added to the latent, its last layer initialised at zero, so that
    training starts from the plain encoder (with ``nonlinear=False``: from the linear
    filter bank) and the head can only add a pointwise nonlinearity on top of it:

        z(t) = W h(t) + c + V gelu(U h(t) + e),   V = 0 at init.
    """

    convs: tuple[eqx.nn.Conv1d, ...]
    out: eqx.nn.Linear
    residual_in: eqx.nn.Linear | None
    residual_out: eqx.nn.Linear | None
    dilations: tuple[int, ...] = eqx.field(static=True)
    kernel: int = eqx.field(static=True)
    causal: bool = eqx.field(static=True, default=True)
    nonlinear: bool = eqx.field(static=True, default=True)

    def __init__(
        self,
        hidden: int,
        latent_dim: int,
        *,
        kernel: int = 5,
        dilations: tuple[int, ...] = (1, 2, 4, 8),
        causal: bool = True,
        nonlinear: bool = True,
        residual: int = 0,
        key: PRNGKeyArray,
    ):
        if not causal and kernel % 2 == 0:
            raise ValueError(f"an acausal (centred) encoder needs an odd kernel, got {kernel}.")
        if residual < 0:
            raise ValueError(f"`residual` must be >= 0 (0: no residual head), got {residual}.")
        keys = jax.random.split(key, len(dilations) + 1)

        def pad(d: int) -> tuple[int, int]:
            w = (kernel - 1) * d
            return (w, 0) if causal else (w // 2, w // 2)

        self.convs = tuple(
            eqx.nn.Conv1d(hidden, hidden, kernel, dilation=d, padding=[pad(d)], key=k)
            for d, k in zip(dilations, keys[:-1], strict=True)
        )
        self.out = eqx.nn.Linear(hidden, latent_dim, key=keys[-1])
        if residual > 0:
            # Keys folded from the read-out's key: the encoder without a residual head
            # draws exactly the parameters it drew before the option existed.
            k_in, k_out = jax.random.split(jax.random.fold_in(keys[-1], 1))
            self.residual_in = eqx.nn.Linear(hidden, residual, key=k_in)
            lin = eqx.nn.Linear(residual, latent_dim, use_bias=False, key=k_out)
            self.residual_out = eqx.tree_at(lambda m: m.weight, lin, jnp.zeros_like(lin.weight))
        else:
            self.residual_in = self.residual_out = None
        self.dilations = tuple(dilations)
        self.kernel = kernel
        self.causal = causal
        self.nonlinear = nonlinear

    @property
    def receptive_field(self) -> int:
        return conv_receptive_field(self.kernel, self.dilations)

    def __call__(self, h: Float[Array, "time hidden"]) -> Float[Array, "time latent"]:
        x = h.T  # channels, time
        for conv in self.convs:
            y = conv(x)
            x = x + (jax.nn.gelu(y) if self.nonlinear else y) / np.sqrt(len(self.convs))
        z = jax.vmap(self.out)(x.T)
        if self.residual_in is not None and self.residual_out is not None:
            r_in, r_out = self.residual_in, self.residual_out
            z = z + jax.vmap(lambda v: r_out(jax.nn.gelu(r_in(v))))(x.T)
        return z


class ExpEncoder(_Temporal):
    """Bidirectional linear recurrence with few parameters, like a Kalman smoother.

    Each of the ``hidden`` read-in channels ``x_c`` is filtered forward (past bins) and
    backward (future bins) with its own learned decay ``a = sigmoid(theta)`` in (0, 1)
    and, with ``oscillatory``, its own angular frequency ``omega`` (radians per bin):

        f_c(t) = sum_{j=0}^{L} (1 - a_c) a_c^j cos(omega_c j) x_c(t - j)
        g_c(t) = sum_{j=0}^{L} (1 - a_c) a_c^j sin(omega_c j) x_c(t - j)   (oscillatory)
        b_c(t) = sum_{j=1}^{L} (1 - a'_c) a'_c^j cos(omega'_c j) x_c(t + j)
        s_c(t) = sum_{j=1}^{L} (1 - a'_c) a'_c^j sin(omega'_c j) x_c(t + j)  (oscillatory)

    i.e. a diagonal (real or complex) linear recurrence ``h(t) = a e^{i omega} h(t - 1) +
    (1 - a) x(t)`` run in both directions, truncated at ``L = support`` bins so that
    training windows and whole sessions see the same filter (see :meth:`features`).
    With ``timescales = K > 1`` every channel is filtered with ``K`` decays of its own
    (``K`` forward and ``K`` backward filters per channel: a sum of exponentials, any
    smooth kernel), so ``f, g, b, s`` hold ``K hidden`` features each. The latent is a
    linear read-out of ``[x, f, g, b, s]`` plus, with ``residual > 0``, a residual GELU
    MLP of the same features whose last layer starts at zero (training starts from the
    linear encoder):

        z(t) = W [x, f, g, b, s](t) + c + V gelu(U [x, f, g, b, s](t) + e),   V = 0 at init.

    ``causal=True`` drops the backward features (``z(t)`` from bins ``<= t``). Decays
    start log-spaced, time constants ``-1 / log a`` from 1 to ``L / 2`` bins (across
    channels when ``K = 1``, across each channel's ``K`` filters otherwise); frequencies
    start at 0. Parameters: ``2 K hidden`` (``4 K hidden`` oscillatory) for the filters,
    plus the read-out.
    """

    theta: Float[Array, "direction filter"]
    omega: Float[Array, "direction filter"] | None
    out: eqx.nn.Linear
    residual_in: eqx.nn.Linear | None
    residual_out: eqx.nn.Linear | None
    support: int = eqx.field(static=True)
    causal: bool = eqx.field(static=True, default=False)

    def __init__(
        self,
        hidden: int,
        latent_dim: int,
        *,
        support: int = 30,
        causal: bool = False,
        oscillatory: bool = False,
        residual: int = 0,
        timescales: int = 1,
        key: PRNGKeyArray,
    ):
        if support < 1:
            raise ValueError(f"`support` must be >= 1 bin, got {support}.")
        k1, k2, k3 = jax.random.split(key, 3)
        if timescales < 1:
            raise ValueError(f"`timescales` must be >= 1, got {timescales}.")
        n_dir = 1 if causal else 2
        top = max(support / 2, 1.0)
        if timescales == 1:
            tau = np.geomspace(1.0, top, hidden)
        else:
            tau = np.repeat(np.geomspace(1.0, top, timescales), hidden)
        a = np.exp(-1.0 / tau)
        self.theta = jnp.tile(jnp.asarray(np.log(a / (1 - a))), (n_dir, 1))
        self.omega = jnp.zeros((n_dir, timescales * hidden)) if oscillatory else None
        n_feat = hidden * (1 + n_dir * timescales * (2 if oscillatory else 1))
        self.out = eqx.nn.Linear(n_feat, latent_dim, key=k1)
        if residual > 0:
            self.residual_in = eqx.nn.Linear(n_feat, residual, key=k2)
            lin = eqx.nn.Linear(residual, latent_dim, use_bias=False, key=k3)
            self.residual_out = eqx.tree_at(lambda m: m.weight, lin, jnp.zeros_like(lin.weight))
        else:
            self.residual_in = self.residual_out = None
        self.support = support
        self.causal = causal

    @property
    def receptive_field(self) -> int:
        return exp_receptive_field(self.support, self.causal)

    @property
    def decays(self) -> Float[Array, "direction filter"]:
        """``a = sigmoid(theta)`` per direction (forward, backward) and filter (filter
        ``k hidden + c`` is channel ``c``'s ``k``-th time scale)."""
        return jax.nn.sigmoid(self.theta)

    def kernels(self) -> Float[Array, "feature offset"]:
        """Filter kernels over offsets ``-L .. L`` (``x(t + offset)``), rows ordered
        feature-major: for each of ``f, g, b, s`` (those present) one row per filter
        (filter ``k hidden + c`` applies to channel ``c``)."""
        n = self.support
        j = jnp.arange(n + 1, dtype=self.theta.dtype)
        a = self.decays[..., None]  # direction, hidden, 1
        env = (1 - a) * a**j  # direction, hidden, lag
        rows = []
        for d in range(a.shape[0]):
            parts = [env[d]]
            if self.omega is not None:
                w = self.omega[d][:, None] * j
                parts = [env[d] * jnp.cos(w), env[d] * jnp.sin(w)]
            for k in parts:
                if d == 0:  # forward: lags j = 0..L at offsets -j
                    rows.append(jnp.concatenate([k[:, ::-1], jnp.zeros((k.shape[0], n))], 1))
                else:  # backward: leads j = 1..L at offsets +j
                    rows.append(jnp.concatenate([jnp.zeros((k.shape[0], n + 1)), k[:, 1:]], 1))
        return jnp.concatenate(rows, 0)

    def features(self, h: Float[Array, "time hidden"]) -> Float[Array, "time feature"]:
        """``[x, f, g, b, s]`` at every bin (bins outside ``h`` count as zero).

        Computed in ``O(T log T)`` with :func:`jax.lax.associative_scan` of the
        untruncated recurrence ``y(t) = lambda y(t - 1) + x(t)``, ``lambda = a
        e^{i omega}``, truncated exactly by ``y(t) - lambda^(L + 1) y(t - L - 1)``; the
        backward filters run the same on reversed time, without the ``j = 0`` term.
        Equal to correlating ``h`` with :meth:`kernels`."""
        n = self.support
        a = self.decays  # direction, hidden
        lam = a if self.omega is None else a * jnp.exp(1j * self.omega)
        x = jnp.tile(h, (1, a.shape[1] // h.shape[1]))  # one copy per time scale
        x = x if self.omega is None else x.astype(lam.dtype)
        out = [h]
        for d in range(a.shape[0]):
            xd = x if d == 0 else x[::-1]
            ld = jnp.broadcast_to(lam[d], xd.shape)

            def combine(p, q):
                return p[0] * q[0], q[0] * p[1] + q[1]

            _, y = jax.lax.associative_scan(combine, (ld, xd))
            lag = jnp.concatenate([jnp.zeros((n + 1, y.shape[1]), y.dtype), y[: -n - 1]], 0)
            y = y - lam[d] ** (n + 1) * lag[: len(y)]
            if d == 1:
                y = (y - xd)[::-1]  # leads j = 1..L only
            y = (1 - a[d]) * y
            out += [y] if self.omega is None else [jnp.real(y), jnp.imag(y)]
        return jnp.concatenate(out, 1).astype(h.dtype)

    def __call__(self, h: Float[Array, "time hidden"]) -> Float[Array, "time latent"]:
        f = self.features(h)
        z = jax.vmap(self.out)(f)
        if self.residual_in is not None and self.residual_out is not None:
            r_in, r_out = self.residual_in, self.residual_out
            z = z + jax.vmap(lambda v: r_out(jax.nn.gelu(r_in(v))))(f)
        return z


class Predictor(eqx.Module):
    """``zhat(t + k) = z(t) + g([z(t), onehot(k)])``; horizon 0 is the identity."""

    mlp: eqx.nn.MLP
    horizons: tuple[int, ...] = eqx.field(static=True)

    def __init__(self, latent_dim: int, horizons: tuple[int, ...], width: int, *, key):
        self.mlp = eqx.nn.MLP(
            latent_dim + len(horizons), latent_dim, width, 2, activation=jax.nn.gelu, key=key
        )
        self.horizons = tuple(horizons)

    def __call__(self, z: Float[Array, " latent"], index: int) -> Float[Array, " latent"]:
        if self.horizons[index] == 0:
            return z
        onehot = jnp.zeros(len(self.horizons), z.dtype).at[index].set(1.0)
        return z + self.mlp(jnp.concatenate([z, onehot]))


class Teacher(eqx.Module):
    """Read-ins (one per view), shared encoder, predictor.

    Args:
        view_units: number of units of each view (two views per session, e.g. from
            :func:`split_units`).
        latent_dim: latent dimension ``d``.
        hidden: channels of the temporal network.
        horizons: prediction horizons in bins (0 aligns the views at equal times).
        kernel, dilations: convolutions of the encoder.
        causal: ``z(t)`` from bins ``<= t`` only; ``False`` centres the receptive field
            (a smoother: ``z(t)`` also sees ``lookahead`` later bins).
        pointwise_target: predict a *per-bin* embedding of the other view (``target``,
            an MLP of its read-in at one bin) instead of its encoder output; see
            :func:`jepa_loss`.
        nonlinear: GELU in the encoder's residual blocks; ``False`` makes the encoder a
            linear filter bank of the standardised square-root counts (SIGReg can then
            only rotate and scale the latents, not reshape their distribution).
        observation: one linear read-out per view (``readouts[v]``: latent -> the
            view's units) for the auxiliary observation term of :func:`jepa_loss`.
        temporal: ``"conv"`` (default: the dilated convolutions of :class:`Encoder`) or
            ``"exponential"`` (:class:`ExpEncoder`: learned forward and backward
            exponential filters per channel, truncated at ``support`` bins; ``kernel``,
            ``dilations`` and ``nonlinear`` are then unused).
        support, oscillatory, timescales: settings of :class:`ExpEncoder`.
        residual: width of the encoder's zero-initialised residual GELU MLP, with either
            temporal network (:class:`Encoder`, :class:`ExpEncoder`); 0: none.
        input_transform: the read-ins' transform of the counts (``"sqrt"``, ``"raw"``
            or ``"log1p"``; :func:`transform_counts`).
        key: PRNG key.
    """

    readins: tuple[ReadIn, ...]
    encoder: Encoder | ExpEncoder
    predictor: Predictor
    target: eqx.nn.MLP | None = None
    readouts: tuple[eqx.nn.Linear, ...] | None = None

    def __init__(
        self,
        view_units: tuple[int, ...],
        latent_dim: int = 8,
        hidden: int = 32,
        horizons: tuple[int, ...] = (0, 1, 2, 5, 10),
        kernel: int = 5,
        dilations: tuple[int, ...] = (1, 2, 4, 8),
        causal: bool = True,
        nonlinear: bool = True,
        pointwise_target: bool = False,
        observation: bool = False,
        temporal: str = "conv",
        support: int = 30,
        oscillatory: bool = False,
        residual: int = 0,
        timescales: int = 1,
        input_transform: str = "sqrt",
        *,
        key: PRNGKeyArray,
    ):
        if len(view_units) < 2 or len(view_units) % 2:
            raise ValueError(
                f"`view_units` needs two views per session (an even count >= 2), got "
                f"{view_units}; use split_units(n_units) to make the two halves."
            )
        if min(view_units) < 1 or min(horizons) < 0 or latent_dim < 1:
            raise ValueError(
                f"need views with >= 1 unit, horizons >= 0 and latent_dim >= 1; got "
                f"view_units={view_units}, horizons={horizons}, latent_dim={latent_dim}."
            )
        k1, k2, k3, k4, k5 = jax.random.split(key, 5)
        self.readins = tuple(
            ReadIn(n, hidden, transform=input_transform, key=k)
            for n, k in zip(view_units, jax.random.split(k1, len(view_units)), strict=True)
        )
        if temporal == "conv":
            self.encoder = Encoder(
                hidden,
                latent_dim,
                kernel=kernel,
                dilations=dilations,
                causal=causal,
                nonlinear=nonlinear,
                residual=residual,
                key=k2,
            )
        elif temporal == "exponential":
            self.encoder = ExpEncoder(
                hidden,
                latent_dim,
                support=support,
                causal=causal,
                oscillatory=oscillatory,
                residual=residual,
                timescales=timescales,
                key=k2,
            )
        else:
            raise ValueError(f"`temporal` must be 'conv' or 'exponential', got {temporal!r}.")
        self.predictor = Predictor(latent_dim, horizons, 4 * latent_dim, key=k3)
        self.target = (
            eqx.nn.MLP(hidden, latent_dim, hidden, 1, activation=jax.nn.gelu, key=k4)
            if pointwise_target
            else None
        )
        self.readouts = (
            tuple(
                eqx.nn.Linear(latent_dim, n, key=k)
                for n, k in zip(view_units, jax.random.split(k5, len(view_units)), strict=True)
            )
            if observation
            else None
        )

    def encode(self, counts: Float[Array, "time unit"], view: int) -> Float[Array, "time latent"]:
        """Latent trajectory of one view from its units' counts (causal)."""
        return self.encoder(self.readins[view](counts))

    def embed_target(
        self, counts: Float[Array, "time unit"], view: int
    ) -> Float[Array, "time latent"]:
        """Prediction targets of one view: the per-bin embedding (``pointwise_target``)
        or, by default, the view's latent trajectory."""
        if self.target is None:
            return self.encode(counts, view)
        return jax.vmap(self.target)(self.readins[view](counts))


def split_units(n_units: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random disjoint halves of ``range(n_units)`` (sorted): the two views."""
    if n_units < 2:
        raise ValueError(f"need at least 2 units to split into two views, got {n_units}.")
    perm = np.random.default_rng(seed).permutation(n_units)
    return np.sort(perm[: n_units // 2]), np.sort(perm[n_units // 2 :])


def _prediction_loss(model: Teacher, za, zb, ta, tb, first: int, last: int):
    """Mean squared error of predicting the other view's target at t + k, t in
    [first, last] (``ta``, ``tb``: the targets; per-bin targets add the term that aligns
    the two views' targets at equal times)."""
    terms = []
    t = jnp.arange(first, last + 1)
    for i, k in enumerate(model.predictor.horizons):
        pred = jax.vmap(lambda z, i=i: model.predictor(z, i))
        for src, dst in ((za, tb), (zb, ta)):
            p = jax.vmap(pred)(src[:, t])  # batch, t, latent
            terms.append(jnp.mean((p - dst[:, t + k]) ** 2))
    if model.target is not None:
        terms.append(jnp.mean((ta[:, t] - tb[:, t]) ** 2))
    return jnp.mean(jnp.stack(terms))


def _observation_loss(model: Teacher, za, zb, counts_a, counts_b, views, first, last, poisson):
    """Cross-view observation term: each view's latent at ``t`` predicts the *other*
    view's counts in bin ``t`` through that view's linear read-out. Gaussian on the
    standardised square-root counts (mean squared error per unit) or, with ``poisson``,
    the Poisson negative log-likelihood of the counts with rate ``exp(read-out)``
    (constant terms dropped). The two views share no neurons, so the latent can only
    predict the other view's counts through the common state, not its noise."""
    assert model.readouts is not None
    t = jnp.arange(first, last + 1)
    terms = []
    for z, counts, v in ((za, counts_b, views[1]), (zb, counts_a, views[0])):
        out = jax.vmap(jax.vmap(model.readouts[v]))(z[:, t])  # batch, t, unit
        c = counts[:, t]
        if poisson:
            terms.append(jnp.mean(jnp.exp(out) - c * out))
        else:
            y = jax.vmap(model.readins[v].standardise)(c)
            terms.append(jnp.mean((out - y) ** 2))
    return 0.5 * (terms[0] + terms[1])


def jepa_loss(
    model: Teacher,
    key: PRNGKeyArray,
    counts_a: Float[Array, "batch time unit_a"],
    counts_b: Float[Array, "batch time unit_b"],
    lam: float = 0.05,
    context: int = 16,
    num_slices: int = 256,
    views: tuple[int, int] = (0, 1),
    sigreg_points: int = 1,
    obs_weight: float = 0.0,
    obs_poisson: bool = False,
) -> tuple[Float[Array, ""], dict[str, Array]]:
    """JEPA loss of a batch of independent windows (see the module docstring).

    Args:
        model: the teacher.
        key: PRNG key of this step's SIGReg directions.
        counts_a, counts_b: counts of the two views over the same windows; each window
            holds ``T = receptive field + context + max(horizons) - 1`` bins or more.
        lam: SIGReg weight ``lambda`` (0 disables it: the model then collapses).
        context: number of time points per window whose predictions enter the loss.
        num_slices: SIGReg directions.
        views: the read-ins of the two views.
        sigreg_points: time points per window (evenly spaced over the context, the last
            one always included) at which SIGReg is evaluated, averaged; each point's
            samples come from ``batch`` independent windows.
        obs_weight: weight of the auxiliary cross-view observation term (needs a model
            built with ``observation=True``), added to the loss: ``L + obs_weight *
            obs``. Each view's latent at ``t`` predicts the other view's counts in bin
            ``t`` (a linear read-out per view); 0 leaves the loss as above.
        obs_poisson: the observation term is the Poisson negative log-likelihood of
            the counts (rate ``exp(read-out)``) instead of the squared error on the
            standardised square-root counts.

    Returns:
        ``(loss, {"pred": ..., "sigreg": ..., "std": ..., "obs": ...})`` (``obs`` 0
        when the term is off).
    """
    n_time = counts_a.shape[1]
    max_h = max(model.predictor.horizons)
    last = n_time - 1 - max_h - model.encoder.lookahead
    first = last - context + 1
    if first < model.encoder.lookback:
        raise ValueError(
            f"windows of {n_time} bins are too short: need receptive field "
            f"({model.encoder.receptive_field}) + context ({context}) + max horizon "
            f"({max_h}) - 1 = {model.encoder.receptive_field + context + max_h - 1} bins."
        )
    za = jax.vmap(lambda c: model.encode(c, views[0]))(counts_a)
    zb = jax.vmap(lambda c: model.encode(c, views[1]))(counts_b)
    if model.target is None:
        ta, tb = za, zb
    else:
        ta = jax.vmap(lambda c: model.embed_target(c, views[0]))(counts_a)
        tb = jax.vmap(lambda c: model.embed_target(c, views[1]))(counts_b)
    pred = _prediction_loss(model, za, zb, ta, tb, first, last)
    points = np.unique(np.linspace(last, first, max(1, min(sigreg_points, context))).round())
    reg = jnp.zeros(())
    for p in points.astype(int):
        kp = jax.random.fold_in(key, p) if len(points) > 1 else key
        reg = reg + 0.5 * (sigreg(kp, ta[:, p], num_slices) + sigreg(kp, tb[:, p], num_slices))
    reg = reg / len(points)
    loss = (1.0 - lam) * pred + lam * reg
    obs = jnp.zeros(())
    if obs_weight:
        if model.readouts is None:
            raise ValueError(
                "obs_weight > 0 needs a teacher with read-outs: build it with "
                "Teacher(..., observation=True) (TeacherConfig(obs_weight=...) does)."
            )
        obs = _observation_loss(model, za, zb, counts_a, counts_b, views, first, last, obs_poisson)
        loss = loss + obs_weight * obs
    std = jnp.mean(jnp.std(za[:, last], axis=0))
    return loss, {"pred": pred, "sigreg": reg, "std": std, "obs": obs}
