"""The main job of ``make demo``: build a cell from a generated reconstruction, simulate
a somatic current step, and plot traces and the morphology coloured by peak voltage."""

from __future__ import annotations

import time
from pathlib import Path

import jax
import numpy as np
from rich.console import Console

import synaptax as sx
from synaptax.morph import type_name
from synaptax.morph.synthetic import write_branched_cell
from synaptax.testing.neuron_ref import spike_times


def run_simulator_demo(out: Path, t_max: float = 60.0, dt: float = 0.025) -> Path:
    """Write ``cell.swc``, ``traces.npz`` and ``simulator_demo.png`` into ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from synaptax.viz import plot_morphology

    jax.config.update("jax_enable_x64", True)
    console = Console()
    out.mkdir(parents=True, exist_ok=True)
    swc = write_branched_cell(out / "cell.swc", seed=1)
    cell = sx.Cell.from_swc(swc, nseg="d_lambda", Ra=100.0)
    cell.insert("HH")
    cell.select(types="apical", distance=(100, None)).set("HH.gnabar", 0.06)
    console.print(
        f"[bold]cell[/bold] {cell.morphology}, {cell.n_compartments} compartments (d_lambda rule)"
    )
    model, params = cell.compile()
    stim = [sx.CurrentClamp(cell.soma, sx.step_current(1.5, 5.0, 50.0, t_max, dt))]
    t0 = time.perf_counter()
    v = np.asarray(jax.jit(lambda p: sx.simulate(model, p, stim, t_max, dt))(params))
    console.print(
        f"simulated {t_max:g} ms at dt {dt} ms in {time.perf_counter() - t0:.2f} s (incl. compile)"
    )
    np.savez_compressed(out / "traces.npz", v=v, dt=dt)

    d = cell.disc
    tips = [cell.location(s, 1.0) for s in range(cell.morphology.n_sections)]
    by_type: dict[int, int] = {}
    for n in tips:  # the farthest tip of each section type
        k = int(d.section_type[n])
        if k != 1 and d.distance[n] > d.distance[by_type.get(k, n)] - (k not in by_type):
            by_type[k] = n
    far = list(by_type.values())
    t = np.arange(v.shape[1]) * dt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 5))
    ax1.plot(t, v[cell.soma], "k", lw=1.5, label="soma")
    for n in far[:3]:
        ax1.plot(
            t,
            v[n],
            lw=1,
            label=f"{type_name(int(d.section_type[n]))} tip, {d.distance[n]:.0f} um",
        )
    ax1.set_xlabel("time (ms)")
    ax1.set_ylabel("membrane potential (mV)")
    ax1.set_title("1.5 nA somatic step (HH)")
    ax1.legend(frameon=False, fontsize=8)
    plot_morphology(ax2, cell.morphology, d, v.max(axis=1), cmap="plasma", label="peak V (mV)")
    ax2.set_title("morphology coloured by peak voltage")
    fig.tight_layout()
    png = out / "simulator_demo.png"
    fig.savefig(png, dpi=120)
    plt.close(fig)
    n_spikes = len(spike_times(v[cell.soma], dt))
    console.print(f"somatic spikes: {n_spikes}; figure: [cyan]{png}[/cyan]")
    return png


def run_data_demo(out: Path) -> Path:
    """The spike-data stage on the embedded synthetic session: NWB in the Allen layout,
    lazy read-back, Allen quality control, 10 ms bins per brain state, the report."""
    from synaptax import data

    console = Console()
    out.mkdir(parents=True, exist_ok=True)
    session, truth = data.make_synthetic_session(n_units=200, latent_dim=4, seed=0)
    path = data.write_synthetic(out / "synthetic_session.nwb", session, truth)
    session, truth = data.read_synthetic(path)
    qc = data.qc_filter(session)
    console.print(
        f"[bold]session[/bold] {path.name}: {len(qc.passed)} units, "
        f"{int(qc.passed.sum())} pass the Allen quality criteria "
        f"(planted bad units rejected: {np.mean(~qc.passed[~truth.good]):.0%})"
    )
    binned = data.bin_spikes(
        session, bin_ms=10, epochs=["active", "passive"], units=np.flatnonzero(qc.passed)
    )
    n_bins, n_units = binned.counts.shape[:2]  # type: ignore[index]
    console.print(f"binned at 10 ms: {n_bins} bins x {n_units} units")
    _, page = data.write_report(session, out / "data_report", qc=qc)
    console.print(f"data-quality report: [cyan]{page}[/cyan]")
    return page
