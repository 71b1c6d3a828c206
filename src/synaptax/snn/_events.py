"""Event-driven spike propagation: ``s @ W.T`` that skips silent neurons (native kernel).

A spiking network's recurrent input is ``W s`` for a spike vector ``s`` that is mostly
zero (at 5-20 Hz and 10 ms bins, 5-20 % of the neurons spike per step). A dense matrix
product spends the same work on the silent neurons; :func:`spike_matmul` sums only the
columns of ``W`` of the neurons that spiked (a C++ kernel called through XLA's FFI),
and its weight gradient ``sum_t g[t] s[t]^T`` only the rows of the spiking ones. The
results equal the dense products up to the order of floating-point additions.

The kernel is compiled once per machine with the system C++ compiler (``$CXX`` or
``g++``) against the XLA FFI headers of jaxlib and cached under ``$SYNAPTAX_CACHE``
(default ``~/.cache/synaptax``). It applies to the generic ``lax.scan`` path of
:func:`synaptax.snn.simulate` (neurons the fused kernel of :mod:`synaptax.snn._fused` does
not cover, or ``fused=False``), where it is opt-in (``simulate(..., event_driven=True)`` or
:func:`use_events`): on the 2-core test machine a whole training step of a 512-neuron
network at 17 % spikes per step was no faster with it than with dense products, although
the product alone was. The fused kernel is event-driven throughout.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._kernel import SOURCES, NativeKernel

_KERNEL = NativeKernel(
    SOURCES / "spikes.cc",
    "spikes",
    "the spike kernel",
    ("-march=native",),
    {
        ("matmul", "float32"): ("synaptax_spike_matmul_f32", "SynaptaxSpikeMatmulF32"),
        ("matmul", "float64"): ("synaptax_spike_matmul_f64", "SynaptaxSpikeMatmulF64"),
        ("outer", "float32"): ("synaptax_spike_outer_f32", "SynaptaxSpikeOuterF32"),
        ("outer", "float64"): ("synaptax_spike_outer_f64", "SynaptaxSpikeOuterF64"),
    },
)


def available() -> bool:
    """Whether the event-driven kernel can run here (CPU backend, the kernel builds)."""
    return _KERNEL.available()


def default() -> bool:
    """Whether :func:`synaptax.snn.simulate` uses the kernel when ``event_driven=None``:
    off, unless switched on with :func:`use_events` (and available)."""
    return bool(_KERNEL.switched()) and _KERNEL.available()


def use_events(enabled: bool):
    """Within the block, :func:`synaptax.snn.simulate` with ``event_driven=None`` uses (or
    does not use) the event-driven kernel. Trace-time only: a function compiled earlier
    keeps its choice."""
    return _KERNEL.switch(enabled)


def _call(kind: str, a, b, out_shape):
    return _KERNEL.call(kind, jnp.result_type(a, b), out_shape, a, b)


def spike_outer(
    spikes: Float[Array, "row pre"], grads: Float[Array, "row post"]
) -> Float[Array, "pre post"]:
    """``spikes^T @ grads``, skipping zero spikes (event-driven; no gradient rule)."""
    return _call("outer", spikes, grads, (spikes.shape[1], grads.shape[1]))


@jax.custom_vjp
def spike_matmul(
    spikes: Float[Array, "row pre"], wt: Float[Array, "pre post"]
) -> Float[Array, "row post"]:
    """``spikes @ wt``, summing only the rows of ``wt`` of neurons that spiked.

    Args:
        spikes: spike counts (mostly zero), one row per sample.
        wt: transposed weights (presynaptic, postsynaptic).
    """
    return _call("matmul", spikes, wt, (spikes.shape[0], wt.shape[1]))


def _fwd(spikes, wt):
    return spike_matmul(spikes, wt), (spikes, wt)


def _bwd(res, g):
    spikes, wt = res
    return g @ wt.T, spike_outer(spikes, g)


spike_matmul.defvjp(_fwd, _bwd)
