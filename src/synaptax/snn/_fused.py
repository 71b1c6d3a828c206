"""The recurrent LIF network fused into two native calls: the forward scan and its reverse.

For the common case, :class:`~synaptax.snn.LIF` neurons with the default subtractive reset
(reset signal detached, no refractory period) and one of the named surrogates,
:func:`synaptax.snn.simulate` runs the whole time loop in one C++ call
(``_native/lif.cc``) instead of a ``lax.scan`` of small XLA kernels, and the whole reverse
scan in a second one. What that buys, on CPU:

- the recurrent input ``s[t-1] @ W^T`` sums only the weights of neurons that spiked
  (event-driven), and so does the weight gradient ``sum_t s[t-1]^T u[t]``;
- the membrane update, the surrogate derivative and the per-neuron gradients are computed
  in the same pass over each row, without a kernel launch per operation and time step;
- the rows (samples) are split between threads that each run the whole time loop, so the
  cores never wait for each other inside the loop.

The only dense product left is the reverse scan's ``u @ W`` (the surrogate gradient is
nonzero everywhere). Results equal the generic scan's up to the order of floating-point
additions (tested in float64, values and gradients); ``simulate(..., fused=False)`` forces
the generic path. The kernel is compiled once per machine like the solver's.
"""

from __future__ import annotations

import functools
from typing import cast

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._kernel import SOURCES, NativeKernel
from ._neurons import LIF, AbstractNeuron

_KERNEL = NativeKernel(
    SOURCES / "lif.cc",
    "lif",
    "the fused LIF kernel",
    ("-march=native", "-pthread"),
    {
        ("forward", "float32"): ("synaptax_lif_forward_f32", "SynaptaxLifForwardF32"),
        ("forward", "float64"): ("synaptax_lif_forward_f64", "SynaptaxLifForwardF64"),
        ("backward", "float32"): ("synaptax_lif_backward_f32", "SynaptaxLifBackwardF32"),
        ("backward", "float64"): ("synaptax_lif_backward_f64", "SynaptaxLifBackwardF64"),
    },
)
_THREADS = 0  # 0: one per hardware thread


def available() -> bool:
    """Whether the fused kernel can run here (CPU backend and the kernel builds)."""
    return _KERNEL.available()


def use_fused(enabled: bool):
    """Within the block, ``simulate(..., fused=None)`` uses the fused kernel only if
    ``enabled`` (and supported). Trace-time only, like :func:`synaptax.snn._events.use_events`;
    the benchmarks use it to time the generic scan through the same training step."""
    return _KERNEL.switch(enabled)


def enabled_by_default() -> bool:
    """Whether ``fused=None`` may pick the fused kernel (yes, unless inside
    ``use_fused(False)``)."""
    return _KERNEL.switched() is not False


def supports(neuron: AbstractNeuron, dtype) -> bool:
    """Whether ``neuron`` is a model the fused kernel implements, in a dtype it handles."""
    return (
        type(neuron) is LIF
        and neuron.reset == "subtract"
        and round(neuron.refractory / neuron.dt) == 0
        and neuron.detach_reset
        and getattr(neuron.spike_fn, "native", None) is not None
        and jnp.dtype(dtype) in (jnp.dtype(jnp.float32), jnp.dtype(jnp.float64))
    )


def _call(target: str, dtype, outs, *args, **attrs):
    return _KERNEL.call(target, dtype, list(outs), *args, **attrs)


@functools.partial(jax.custom_vjp, nondiff_argnums=(6,))
def lif_scan(
    beta: Float[Array, " neuron"],
    theta: Float[Array, " neuron"],
    wt: Float[Array, "pre post"],
    currents: Float[Array, "step row neuron"],
    v0: Float[Array, "row neuron"],
    s0: Float[Array, "row neuron"],
    surrogate: tuple[int, float, float],
) -> tuple[Float[Array, "step row neuron"], Float[Array, "step row neuron"]]:
    """Potentials and spikes after every step of the recurrent LIF network.

    Args:
        beta: per-step decay ``exp(-dt / tau_mem)`` per neuron.
        theta: threshold per neuron.
        wt: transposed recurrent weights (presynaptic, postsynaptic).
        currents: feed-forward drive per step, row and neuron (threshold units).
        v0, s0: potentials and spikes before the first step.
        surrogate: ``(kind, p1, p2)`` of the spike function (its ``native`` attribute).
    """
    v, s = _call(
        "forward",
        currents.dtype,
        2 * [currents.shape],
        currents,
        wt,
        beta,
        theta,
        v0,
        s0,
        threads=_THREADS,
    )
    return v, s


def _fwd(beta, theta, wt, currents, v0, s0, surrogate):
    v, s = cast(tuple, lif_scan(beta, theta, wt, currents, v0, s0, surrogate))
    return (v, s), (beta, theta, wt, v, s, v0, s0)


def _bwd(surrogate, res, cts):
    beta, theta, wt, v, s, v0, s0 = res
    ct_v, ct_s = cts
    kind, p1, p2 = surrogate
    n = wt.shape[0]
    outs = [v.shape, (n, n), (n,), (n,), v0.shape, s0.shape]
    ct_c, ct_wt, ct_beta, ct_theta, ct_v0, ct_s0 = _call(
        "backward",
        v.dtype,
        outs,
        ct_s,
        ct_v,
        v,
        s,
        v0,
        s0,
        wt.T,
        beta,
        theta,
        kind=int(kind),
        p1=float(p1),
        p2=float(p2),
        threads=_THREADS,
    )
    return ct_beta, ct_theta, ct_wt, ct_c, ct_v0, ct_s0


lif_scan.defvjp(_fwd, _bwd)
