"""Single-cell speed: synaptax vs Jaxley 0.14 vs NEURON 9 (CPU, float64).

    python -m benchmarks.speed_single_cell [--quick] [--write]

CA1 n120 and the L5PC with axon, 4 compartments per section, HH everywhere, Ra 100,
a somatic step (10-90 ms), 100 ms at dt 0.025 (quick: CA1 only, 3 repeats of 50 ms).
All three run in this one process; times are minima over repeats.

Figures (ratios first, worst cell): ``fwd_vs_jaxley`` our forward / Jaxley's,
``fwd_vs_neuron`` our forward / NEURON's, ``grad_over_fwd`` our gradient of a scalar loss
w.r.t. every conductance (gnabar, gkbar, gl per compartment) / our forward,
``batch_per_sim_vs_neuron`` per-simulation time of a vmapped batch of 64 parameter sets
(sharded over one XLA host device per core) / one NEURON run, ``compile_vs_jaxley``
our forward's compile time / Jaxley's (trace, lower and compile of a fresh jit, minimum
over the repeats, after JAX's process start-up was paid on a trivial function).
"Ours" is :func:`synaptax.simulate` with its defaults: these HH cells run in the fused
native kernel (:mod:`synaptax.solver.hh`). The ``lax.scan`` path's forward and gradient
(unroll 16, its faster setting for gradients) are reported beside them (``ms``).
"""

from __future__ import annotations

import argparse
import os
import time

# One XLA host device per core, so a batch can be sharded over the cores (jax.sharding);
# single simulations still run on one device.
os.environ.setdefault("XLA_FLAGS", f"--xla_force_host_platform_device_count={os.cpu_count()}")

import equinox as eqx
import jax
import jax.numpy as jnp

import synaptax as sx
from benchmarks._common import SHARED_DATA, best_of, finish
from synaptax.solver.hh import use_fused
from synaptax.testing.neuron_ref import run_neuron

jax.config.update("jax_enable_x64", True)
CELLS = {"ca1_n120": "morph_ca1_n120.swc", "l5pc_with_axon": "morph_l5pc_with_axon.swc"}
DT = 0.025


def compile_time(make, arg, repeats: int) -> float:
    """Minimum time to trace, lower and compile a fresh ``make()`` jit (a new function
    each time, so nothing is reused from the previous compile but JAX's process-wide
    start-up, which :func:`main` pays before timing anything)."""
    times = []
    for _ in range(repeats):
        fn = make()
        t0 = time.perf_counter()
        fn.lower(arg).compile()
        times.append(time.perf_counter() - t0)
    return min(times)


def time_synaptax(path, t_max, repeats, batch):
    cell = sx.Cell.from_swc(path, nseg=4, Ra=100.0)
    cell.insert("HH")
    model, params = cell.compile()
    stim = [sx.CurrentClamp(cell.soma, sx.step_current(1.0, 10.0, 80.0, t_max, DT))]
    rec = [("v", cell.soma)]
    make = lambda: jax.jit(lambda p: sx.simulate(model, p, stim, t_max, DT, record=rec))
    compile_s = compile_time(make, params, repeats)
    fwd = make()
    fwd(params).block_until_ready()
    t_fwd = best_of(lambda: fwd(params).block_until_ready(), repeats)

    def loss(hh, unroll=1):
        p = eqx.tree_at(lambda q: q.channels[0], params, hh)
        return jnp.mean(sx.simulate(model, p, stim, t_max, DT, record=rec, unroll=unroll))

    grad = jax.jit(jax.grad(loss))
    jax.block_until_ready(grad(params.channels[0]))
    t_grad = best_of(lambda: jax.block_until_ready(grad(params.channels[0])), repeats)
    # the lax.scan path, for reference (unroll 16 is its faster setting for gradients)
    with use_fused(False):
        fwd_scan = make()
        grad_scan = jax.jit(jax.grad(lambda hh: loss(hh, 16)))
        fwd_scan(params).block_until_ready()
        jax.block_until_ready(grad_scan(params.channels[0]))
    t_fwd_scan = best_of(lambda: fwd_scan(params).block_until_ready(), repeats)
    t_grad_scan = best_of(lambda: jax.block_until_ready(grad_scan(params.channels[0])), repeats)

    scale = jnp.linspace(0.9, 1.1, batch)
    gna = params.channels[0].gnabar[None, :] * scale[:, None]
    if batch % jax.device_count() == 0:  # split the batch over the cores
        mesh = jax.sharding.Mesh(jax.devices(), ("batch",))
        gna = jax.device_put(
            gna, jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("batch"))
        )
    bfwd = jax.jit(jax.vmap(lambda g: fwd(eqx.tree_at(lambda q: q.channels[0].gnabar, params, g))))
    bfwd(gna).block_until_ready()
    t_batch = best_of(lambda: bfwd(gna).block_until_ready(), max(1, repeats - 1)) / batch
    return {
        "fwd": t_fwd,
        "grad": t_grad,
        "batch_per_sim": t_batch,
        "compile": compile_s,
        "ncomp": cell.n_compartments,
        "fwd_scan": t_fwd_scan,
        "grad_scan": t_grad_scan,
    }


def jaxley_cell(path, t_max):
    """The benchmark cell in Jaxley: 4 compartments per branch, HH, Ra 100, a 1 nA step
    (10-90 ms) into and a recording of the first compartment of branch 0."""
    import jaxley as jx
    from jaxley.channels import HH

    cell = jx.read_swc(str(path), ncomp=4, ignore_swc_tracing_interruptions=False)
    cell.insert(HH())
    cell.set("axial_resistivity", 100.0)
    cell.set("capacitance", 1.0)
    cell.branch(0).comp(0).record("v", verbose=False)
    current = jx.step_current(i_delay=10.0, i_dur=80.0, i_amp=1.0, delta_t=DT, t_max=t_max)
    cell.branch(0).comp(0).stimulate(current, verbose=False)
    return cell


def time_jaxley(path, t_max, repeats):
    import jaxley as jx

    cell = jaxley_cell(path, t_max)
    cell.to_jax()
    make = lambda: jax.jit(
        lambda p: jx.integrate(cell, params=p, delta_t=DT, t_max=t_max, voltage_solver="jaxley.dhs")
    )
    compile_s = compile_time(make, [], repeats)
    fwd = make()
    fwd([]).block_until_ready()
    t_fwd = best_of(lambda: fwd([]).block_until_ready(), repeats)
    return {"fwd": t_fwd, "compile": compile_s}


def time_neuron(path, t_max, repeats):
    cell = sx.Cell.from_swc(path, nseg=4, Ra=100.0)
    times = []
    for _ in range(repeats):
        _, elapsed = run_neuron(  # NEURON's defaults: tabulated hh rates (its fastest)
            cell,
            iclamps=[(cell.soma, 1.0, 10.0, 80.0)],
            record=[cell.soma],
            t_max=t_max,
            dt=DT,
            exact_rates=False,
        )
        times.append(elapsed)
    return {"fwd": min(times)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument(
        "--write", action="store_true", help="write benchmarks/results/speed_single_cell.json"
    )
    ap.add_argument("--no-jaxley", action="store_true", help="skip Jaxley (not installed)")
    args = ap.parse_args()
    # JAX's one-time start-up (first trace, first compile) must not count as either
    # simulator's compile time: pay it on a trivial function first.
    jax.jit(lambda x: jnp.sin(x) + 1.0).lower(jnp.ones(3)).compile()
    names = ["ca1_n120"] if args.quick else list(CELLS)
    t_max, repeats, batch = (50.0, 3, 16) if args.quick else (100.0, 5, 64)
    table, per_cell = [], {}
    for name in names:
        path = SHARED_DATA / "morphologies" / "jaxley" / CELLS[name]
        ours = time_synaptax(path, t_max, repeats, batch)
        nrn = time_neuron(path, t_max, repeats)
        jxl = None if args.no_jaxley else time_jaxley(path, t_max, repeats)
        r = {
            "fwd_vs_neuron": ours["fwd"] / nrn["fwd"],
            "grad_over_fwd": ours["grad"] / ours["fwd"],
            "batch_per_sim_vs_neuron": ours["batch_per_sim"] / nrn["fwd"],
        }
        if jxl:
            r["fwd_vs_jaxley"] = ours["fwd"] / jxl["fwd"]
            r["compile_vs_jaxley"] = ours["compile"] / jxl["compile"]
        r["ms"] = {k: round(ours[k] * 1e3, 2) for k in ("fwd", "grad", "batch_per_sim")}
        r["ms"].update(
            fwd_scan=round(ours["fwd_scan"] * 1e3, 2),
            grad_scan=round(ours["grad_scan"] * 1e3, 2),
            neuron=round(nrn["fwd"] * 1e3, 2),
        )
        if jxl:
            r["ms"]["jaxley"] = round(jxl["fwd"] * 1e3, 2)
        per_cell[name] = r
        table.append((name, f"{ours['ncomp']} compartments"))
        table.append(
            (
                "  synaptax fwd / grad / batch-per-sim / compile",
                f"{ours['fwd'] * 1e3:.1f} / {ours['grad'] * 1e3:.1f} / "
                f"{ours['batch_per_sim'] * 1e3:.2f} ms / {ours['compile']:.2f} s",
            )
        )
        table.append(
            (
                "  synaptax lax.scan path fwd / grad",
                f"{ours['fwd_scan'] * 1e3:.1f} / {ours['grad_scan'] * 1e3:.1f} ms",
            )
        )
        table.append(("  NEURON fwd", f"{nrn['fwd'] * 1e3:.1f} ms"))
        if jxl:
            table.append(
                ("  Jaxley fwd / compile", f"{jxl['fwd'] * 1e3:.1f} ms / {jxl['compile']:.2f} s")
            )
        table.append(("  ratios", ", ".join(f"{k} {v:.3f}" for k, v in r.items() if k != "ms")))
    keys = [
        "fwd_vs_jaxley",
        "fwd_vs_neuron",
        "grad_over_fwd",
        "batch_per_sim_vs_neuron",
        "compile_vs_jaxley",
    ]
    figures = {
        k: max(c[k] for c in per_cell.values())
        for k in keys
        if all(k in c for c in per_cell.values())
    }
    figures.update(
        {"per_cell": per_cell, "t_max_ms": t_max, "dt_ms": DT, "batch": batch, "dtype": "float64"}
    )
    finish("speed_single_cell", figures, table, write=args.write)


if __name__ == "__main__":
    main()
