"""The Hay et al. (2011) layer-5 pyramidal cell: step currents and BAC firing.

    python examples/l5pc_hay2011.py [--asc cell1.asc] [--params params.json]
                                    [--quick] [--out l5pc_hay2011.png]

Builds the model in one call (:func:`synaptax.models.l5pc`), runs the three somatic steps
of the paper (0.619, 0.793, 1.507 nA from 700 to 2700 ms; ``--quick``: 200-700 ms) and the
BAC protocol (a 1.9 nA, 5 ms somatic pulse and, 5 ms later, an EPSP-shaped current of
0.5 nA peak on the apical trunk 620 um from the soma), and saves a figure: somatic and
apical traces, and the morphology coloured by Ih density. The default files are the
ones in ``../shared/data``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import matplotlib
import numpy as np

import synaptax as sx
from synaptax.models import l5pc
from synaptax.viz.morph import plot_morphology

matplotlib.use("Agg")
import matplotlib.pyplot as plt

jax.config.update("jax_enable_x64", True)
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DT = 0.025


def apical_trunk_site(cell, params, distance: float = 620.0) -> int:
    """The thickest apical compartment within 20 um of ``distance`` from the soma."""
    d = cell.disc
    apical = np.flatnonzero(d.section_type[: d.n_center] == 4)
    near = apical[np.abs(d.distance[apical] - distance) < 20.0]
    return int(near[np.argmax(np.asarray(params.radius)[near])])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--asc", type=Path, default=DATA / "morphologies/hay2011/cell1.asc")
    ap.add_argument(
        "--params",
        type=Path,
        default=DATA / "params/hay2011_l5pc/biophys_params_transcribed.json",
    )
    ap.add_argument("--quick", action="store_true", help="short steps (200-700 ms)")
    ap.add_argument("--out", type=Path, default=Path("l5pc_hay2011.png"))
    args = ap.parse_args()

    cell = l5pc(args.asc, args.params, "L5PCbiophys3")
    model, params = cell.compile()
    site = apical_trunk_site(cell, params)
    print(f"{cell.morphology}: {cell.n_compartments} compartments; apical site {site}")
    record = [("v", cell.soma), ("v", site), ("cai", site)]

    t_max, delay, dur = (700.0, 200.0, 500.0) if args.quick else (3000.0, 700.0, 2000.0)
    run = jax.jit(
        lambda amp: sx.simulate(
            model, params, [sx.CurrentClamp(cell.soma, amp)], t_max, DT, record=record
        )
    )
    steps = {}
    for amp in (0.619, 0.793, 1.507):
        start = time.perf_counter()
        v = np.asarray(run(sx.step_current(amp, delay, dur, t_max, DT)))
        steps[amp] = v
        n_spikes = int(np.sum((v[0][1:] >= 0.0) & (v[0][:-1] < 0.0)))
        print(f"step {amp} nA: {n_spikes} spikes ({time.perf_counter() - start:.1f} s)")

    t_bac = 420.0
    pulse = sx.CurrentClamp(cell.soma, sx.step_current(1.9, 295.0, 5.0, t_bac, DT))
    epsp = sx.CurrentClamp(site, sx.epsp_current(0.5, 300.0, 0.5, 5.0, t_bac, DT))
    bac = {
        name: np.asarray(sx.simulate(model, params, stims, t_bac, DT, record=record))
        for name, stims in {"pulse": [pulse], "EPSP": [epsp], "pulse + EPSP": [pulse, epsp]}.items()
    }

    fig = plt.figure(figsize=(13, 8), constrained_layout=True)
    grid = fig.add_gridspec(2, 3, width_ratios=[1.2, 1.2, 1.0])
    t = np.arange(round(t_max / DT) + 1) * DT
    ax = fig.add_subplot(grid[0, 0])
    for amp, v in steps.items():
        ax.plot(t, v[0], lw=0.6, label=f"{amp} nA")
    ax.set(title="Somatic step currents", xlabel="time (ms)", ylabel="soma v (mV)")
    ax.legend(loc="upper right", fontsize=8)
    ax = fig.add_subplot(grid[1, 0])
    for amp, v in steps.items():
        ax.plot(t, v[1], lw=0.6, label=f"{amp} nA")
    ax.set(title="Apical trunk (620 um)", xlabel="time (ms)", ylabel="apical v (mV)")
    tb = np.arange(round(t_bac / DT) + 1) * DT
    window = tb >= 280.0
    for row, (idx, what) in enumerate([(0, "soma v (mV)"), (1, "apical v (mV)")]):
        ax = fig.add_subplot(grid[row, 1])
        for name, v in bac.items():
            ax.plot(tb[window], v[idx][window], lw=0.9, label=name)
        ax.set(title="BAC firing" if row == 0 else "", xlabel="time (ms)", ylabel=what)
        if row == 0:
            ax.legend(loc="upper right", fontsize=8)
    ax = fig.add_subplot(grid[:, 2])
    k = [c.name for c in params.channels].index("Ih")
    ih = np.full(model.n, np.nan)
    mask = np.concatenate([model.mask(k), np.zeros(model.n - model.n_center, bool)])
    ih[mask] = 1e3 * np.asarray(params.channels[k].gbar)[model.mask(k)]  # type: ignore[attr-defined]
    plot_morphology(ax, cell.morphology, cell.disc, ih, cmap="magma", label="Ih gbar (mS/cm^2)")
    ax.set_title("Ih density")
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
