"""Batched simulation on one accelerator: synaptax vs Jaxley 0.14, CA1 n120.

    python -m benchmarks.gpu_batch [--batch 10000] [--dtype float32] [--quick] [--write]

CA1 n120, 4 compartments per section, HH everywhere, Ra 100, a somatic 1 nA step
(10-90 ms), 100 ms at dt 0.025 ms; the batch varies the sodium conductance of every
compartment by a factor in [0.9, 1.1] and records the somatic potential of each run.
Both simulators run ``jax.jit(jax.vmap(...))`` of one simulation in this process, on the
default JAX device (meant for a GPU; it runs on a CPU too, slowly). Times are minima over
repeats after a compile call; ``compile`` is the time of that first call.

Final JSON line: ``per_sim_us`` (our time per simulation, microseconds),
``per_sim_vs_jaxley`` (ours / Jaxley's for the same batch), the absolute times and
compile times of both, the number of compartments each built, and the peak device memory
of our batch. The traces are not compared: Jaxley reads the reconstruction its own way
(its geometry and soma differ from NEURON's, which ours follows; see
``benchmarks/accuracy_neuron.py`` for our accuracy), so the two simulate the same
morphology with the same channel and compartment layout, not identical cables.
"""

from __future__ import annotations

import argparse
import time

import jax

from benchmarks._common import SHARED_DATA, best_of, finish

DT = 0.025
CELL = "morph_ca1_n120.swc"


def _scales(batch: int):
    import jax.numpy as jnp

    return jnp.linspace(0.9, 1.1, batch)


def _peak_bytes() -> int | None:
    stats = jax.devices()[0].memory_stats() or {}
    return stats.get("peak_bytes_in_use")


def _timed(fn, scales, t_max: float, repeats: int) -> tuple[float, float]:
    """First-call time (compile and run) and the best of ``repeats`` later calls; checks
    that every simulation of the batch returned its whole somatic trace."""
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn(scales))
    first = time.perf_counter() - t0
    assert out.shape == (scales.shape[0], round(t_max / DT) + 1), out.shape
    return first, best_of(lambda: jax.block_until_ready(fn(scales)), repeats)


def time_synaptax(path, batch: int, t_max: float, dtype, repeats: int, unroll: int = 1) -> dict:
    import equinox as eqx

    import synaptax as sx

    cell = sx.Cell.from_swc(path, nseg=4, Ra=100.0)
    cell.insert("HH")
    model, params = cell.compile(dtype=dtype)
    stim = [sx.CurrentClamp(cell.soma, sx.step_current(1.0, 10.0, 80.0, t_max, DT).astype(dtype))]
    rec = [("v", cell.soma)]
    gna0 = params.channels[0].gnabar

    def one(scale):
        p = eqx.tree_at(lambda q: q.channels[0].gnabar, params, gna0 * scale)
        return sx.simulate(model, p, stim, t_max, DT, record=rec, unroll=unroll)[0]

    run = jax.jit(jax.vmap(one))
    scales = _scales(batch).astype(dtype)
    first, best = _timed(run, scales, t_max, repeats)
    return {
        "seconds": best,
        "first_call_s": first,
        "ncomp": cell.n_compartments,
        "peak_bytes": _peak_bytes(),
    }


def time_jaxley(path, batch: int, t_max: float, dtype, repeats: int) -> dict:
    import jaxley as jx

    from benchmarks.speed_single_cell import jaxley_cell

    cell = jaxley_cell(path, t_max)
    cell.make_trainable("HH_gNa", verbose=False)
    base = cell.get_parameters()[0]["HH_gNa"]

    def one(scale):
        params = [{"HH_gNa": (base * scale).astype(dtype)}]
        return jx.integrate(cell, params=params, delta_t=DT, t_max=t_max)[0]

    run = jax.jit(jax.vmap(one))
    scales = _scales(batch).astype(dtype)
    first, best = _timed(run, scales, t_max, repeats)
    return {"seconds": best, "first_call_s": first, "ncomp": len(cell.nodes)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--t-max", type=float, default=100.0)
    ap.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="batch 8, 10 ms (a smoke test)")
    ap.add_argument("--no-jaxley", action="store_true")
    ap.add_argument("--scan-unroll", type=int, default=1, help="simulate(unroll=...)")
    ap.add_argument(
        "--levels-unroll",
        default=None,
        help="unrolling of the level-scheduled tree solve: an integer or 'true' "
        "(default: the library's choice for the backend)",
    )
    ap.add_argument("--write", action="store_true", help="write results/gpu_batch_DTYPE.json")
    args = ap.parse_args()
    if args.quick:
        args.batch, args.t_max = 8, 10.0
    if args.dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    from synaptax.solver import tree

    dtype = jnp.dtype(args.dtype)
    if args.levels_unroll is not None:
        lu = args.levels_unroll.lower()
        tree._UNROLL = True if lu == "true" else int(lu)
    path = SHARED_DATA / "morphologies" / "jaxley" / CELL
    ours = time_synaptax(path, args.batch, args.t_max, dtype, args.repeats, args.scan_unroll)
    per_sim = ours["seconds"] / args.batch
    print(f"synaptax: {ours['seconds']:.3f} s per batch, first call {ours['first_call_s']:.1f} s")
    figures: dict = {
        "per_sim_us": per_sim * 1e6,
        "synaptax_batch_s": ours["seconds"],
        "synaptax_first_call_s": ours["first_call_s"],
        "synaptax_peak_bytes": ours["peak_bytes"],
    }
    table = [
        ("cell", f"CA1 n120, {ours['ncomp']} compartments, HH, {args.t_max:g} ms at dt {DT}"),
        ("batch / dtype / device", f"{args.batch} / {args.dtype} / {jax.devices()[0]}"),
        ("synaptax batch (s)", f"{ours['seconds']:.3f} (first call {ours['first_call_s']:.1f})"),
        ("synaptax per simulation (us)", f"{per_sim * 1e6:.1f}"),
    ]
    if not args.no_jaxley:
        jxl = time_jaxley(path, args.batch, args.t_max, dtype, args.repeats)
        figures.update(
            {
                "per_sim_vs_jaxley": ours["seconds"] / jxl["seconds"],
                "jaxley_batch_s": jxl["seconds"],
                "jaxley_first_call_s": jxl["first_call_s"],
                "jaxley_ncomp": jxl["ncomp"],
            }
        )
        table += [
            ("Jaxley batch (s)", f"{jxl['seconds']:.3f} (first call {jxl['first_call_s']:.1f})"),
            ("ours / Jaxley", f"{ours['seconds'] / jxl['seconds']:.3f}"),
            ("compartments, ours / Jaxley", f"{ours['ncomp']} / {jxl['ncomp']}"),
        ]
    figures.update(
        {
            "tree_solver": tree.resolve_method("auto"),
            "levels_unroll": str(tree._levels_unroll()),
            "scan_unroll": args.scan_unroll,
            "ncomp": ours["ncomp"],
            "batch": args.batch,
            "t_max_ms": args.t_max,
            "dt_ms": DT,
            "dtype": args.dtype,
        }
    )
    finish(f"gpu_batch_{args.dtype}", figures, table, write=args.write)


if __name__ == "__main__":
    main()
