"""The fused Hodgkin-Huxley cell: a whole simulation in one native call, and its adjoint.

For cells whose membrane carries only NEURON's ``hh`` and passive leaks, on CPU,
:func:`synaptax.simulate` runs the time loop in one C++ call (``_native/hh.cc``) instead
of a ``lax.scan`` of small XLA kernels: per step the assembly, the tree solve and the gate
update are three passes over the compartments, with no kernel launch per operation. The
reverse pass is the discrete adjoint (one transposed tree solve per step), also in one
call, over the states the forward kept. Batches (``jax.vmap``) are shared out between
threads, one simulation per thread at a time.

The kernel takes the model in a reduced form computed here in JAX (conductances and
reversals per compartment, the leak folded into ``gleak`` and ``il0``, the axial matrix,
``dtq = dt q10``), so gradients reach every parameter (geometry, ``Ra``, ``cm``,
``celsius``, ``v_init``, the stimuli) through JAX's own differentiation of that form.
Results equal the ``lax.scan`` path's up to rounding (tested in float64).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from synaptax.solver._native import NativeKernel

_KERNEL = NativeKernel(
    Path(__file__).with_name("_native") / "hh.cc",
    "hh",
    "the fused HH kernel",
    ("-march=native", "-pthread", "-fopenmp-simd", "-fno-math-errno"),
    {
        ("forward", "float32"): ("synaptax_hh_forward_f32", "SynaptaxHHForwardF32"),
        ("forward", "float64"): ("synaptax_hh_forward_f64", "SynaptaxHHForwardF64"),
        ("backward", "float32"): ("synaptax_hh_backward_f32", "SynaptaxHHBackwardF32"),
        ("backward", "float64"): ("synaptax_hh_backward_f64", "SynaptaxHHBackwardF64"),
    },
)
THREADS = 0  # simulations of a batch run on this many threads; 0: one per hardware thread

# The kernel's floating-point inputs, in call order (see _native/hh.cc).
INPUTS = (
    "v0", "m0", "h0", "n0", "gna", "gk", "ena", "ek", "gleak", "il0", "cap",
    "lower", "upper", "dax", "dtq", "xs", "scale",
)  # fmt: skip


def available() -> bool:
    """Whether the fused kernel can run here (CPU backend, and it builds)."""
    return _KERNEL.available()


def use_fused(enabled: bool):
    """Within the block, ``simulate(..., fused=None)`` picks the fused kernel only if
    ``enabled``. Trace-time only; benchmarks and tests use it to time or check the scan."""
    return _KERNEL.switch(enabled)


def enabled_by_default() -> bool:
    return _KERNEL.switched() is not False


@dataclass(frozen=True, eq=False)
class Layout:
    """What the kernel needs to know besides the arrays (fixed per compiled model).

    ``checkpoint``: the forward keeps the state every ``checkpoint`` steps for the
    reverse pass, which recomputes the steps in between (1: keeps every step's state).
    """

    parent: np.ndarray
    order: np.ndarray
    n_center: int
    n_steps: int
    stim_node: np.ndarray
    stim_kind: np.ndarray  # 0: current (rhs only), 1: voltage clamp (rhs and diagonal)
    rec_node: np.ndarray
    crank_nicolson: bool
    checkpoint: int = 1

    @property
    def trajectory_rows(self) -> int:
        return self.n_steps // self.checkpoint + 1

    def attrs(self) -> dict:
        n = int(self.parent.shape[0])
        dims = [n, self.n_center, self.n_steps, len(self.stim_node), len(self.rec_node)]
        dims += [int(self.crank_nicolson), self.checkpoint, THREADS]
        tables = [self.parent, self.order, self.stim_node, self.stim_kind, self.rec_node]
        return {
            "dims": np.asarray(dims, dtype=np.int64),
            "tables": np.concatenate([np.asarray(a, np.int32).ravel() for a in tables]),
        }


def run(layout: Layout, inputs: dict[str, jax.Array]) -> jax.Array:
    """The recordings ``[time, probe]`` (after each step) of the simulation ``inputs``
    (the arrays named in :data:`INPUTS`), differentiable in all of them (reverse mode)."""
    missing = set(INPUTS) - set(inputs)
    if missing:
        raise ValueError(f"fused HH kernel: missing inputs {sorted(missing)}")
    dtype = jnp.result_type(*inputs.values())
    args = [jnp.asarray(inputs[k], dtype) for k in INPUTS]
    return _runner(layout, dtype)(*args)


def _runner(layout: Layout, dtype):
    attrs = layout.attrs()
    n = int(layout.parent.shape[0])
    width = n + 3 * layout.n_center
    nt, n_rec = layout.n_steps, int(layout.rec_node.shape[0])
    call = lambda op, outs, *a: _KERNEL.call(
        op, dtype, outs, *a, vmap_method="broadcast_all", **attrs
    )

    @jax.custom_vjp
    def fused(*args):
        return call("forward", [(nt, n_rec)], *args)[0]

    def fused_fwd(*args):
        rec, traj = call("forward", [(nt, n_rec), (layout.trajectory_rows, width)], *args)
        return rec, (args, traj)

    def fused_bwd(res, rec_bar):
        args, traj = res
        shapes = [jnp.shape(a) for a in args]
        return tuple(call("backward", shapes, *args, traj, rec_bar))

    fused.defvjp(fused_fwd, fused_bwd)
    return fused
