"""Gradients of a somatic voltage loss with respect to every conductance, and a batch
of simulations over a sweep of sodium densities, on a generated cell.

    python examples/sim_gradients.py [--swc path/to/cell.swc] [--out sim_gradients.png]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import matplotlib

import synaptax as sx
from synaptax.morph.synthetic import write_branched_cell

matplotlib.use("Agg")
import matplotlib.pyplot as plt

jax.config.update("jax_enable_x64", True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--swc", type=Path, default=None, help="a reconstruction (default: generated)")
    ap.add_argument("--out", type=Path, default=Path("sim_gradients.png"))
    args = ap.parse_args()
    swc = args.swc or write_branched_cell(Path(tempfile.mkdtemp()) / "cell.swc", seed=3)

    cell = sx.Cell.from_file(swc, nseg=3, Ra=100.0)
    cell.insert("HH")
    model, params = cell.compile()
    t_max, dt = 40.0, 0.025
    stim = [sx.CurrentClamp(cell.soma, sx.step_current(1.0, 5.0, 30.0, t_max, dt))]
    target = -55.0

    def loss(hh):  # mean squared distance of the somatic voltage from -55 mV
        p = eqx.tree_at(lambda q: q.channels[0], params, hh)
        v = sx.simulate(model, p, stim, t_max, dt, record=[("v", cell.soma)])
        return jnp.mean((v - target) ** 2)

    grad = jax.jit(jax.value_and_grad(loss))
    t0 = time.perf_counter()
    value, g = grad(params.channels[0])
    print(
        f"loss {float(value):.2f} mV^2; gradient w.r.t. {3 * cell.n_compartments} "
        f"conductances in {time.perf_counter() - t0:.2f} s (incl. compile)"
    )

    scales = jnp.linspace(0.6, 1.4, 9)  # a batch of sodium densities, one vmapped call

    def run(s):
        p = eqx.tree_at(lambda q: q.channels[0].gnabar, params, params.channels[0].gnabar * s)
        return sx.simulate(model, p, stim, t_max, dt, record=[("v", cell.soma)])[0]

    traces = jax.jit(jax.vmap(run))(scales)

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    t = jnp.arange(traces.shape[1]) * dt
    for s, v in zip(scales, traces, strict=True):
        a1.plot(t, v, lw=1, color=plt.cm.viridis(float((s - 0.6) / 0.8)), label=f"x{float(s):.1f}")
    a1.set(xlabel="time (ms)", ylabel="soma V (mV)", title="gNa sweep (one vmapped call)")
    a1.legend(fontsize=7, frameon=False, ncol=3)
    d = cell.disc.distance[cell.disc.is_center]
    for name, arr in (("gnabar", g.gnabar), ("gkbar", g.gkbar), ("gl", g.gl)):
        a2.scatter(d, arr[cell.disc.is_center], s=6, label=name)
    a2.set(xlabel="distance from soma (um)", ylabel="dLoss/dg (mV^2 cm^2/S)", title="gradients")
    a2.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"figure: {args.out}")


if __name__ == "__main__":
    main()
