"""``synaptax data``: inspect, bin, report and generate spike sessions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table as RichTable

app = typer.Typer(help="Spike data: inspect, QC, bin and report.", no_args_is_help=True)
console = Console()


def _fail(exc: Exception) -> None:
    Console(stderr=False, soft_wrap=True, highlight=False).print(f"error: {exc}", markup=False)
    raise typer.Exit(code=2)


@app.command()
def inspect(
    file: Annotated[Path, typer.Argument(help="NWB file, phy folder, .mat, .npz or .csv.")],
) -> None:
    """Summary of a session and its quality-control table."""
    from . import SpikeDataError, qc_filter
    from ._load import load_session

    try:
        s = load_session(file)
        qc = qc_filter(s)
    except SpikeDataError as exc:
        _fail(exc)
        return
    console.print(f"[bold]{s.source}[/bold]")
    console.print(
        f"{s.n_units} units, {s.spikes.n_spikes} spikes, {s.t_start:.2f}-{s.t_stop:.2f} s"
        f"; stimulus presentations: {s.stimulus.n_rows}; trials: {s.trials.n_rows}"
        f"; behaviour: {', '.join(s.behaviour) or 'none'}"
    )
    ep = RichTable(title="epochs")
    for c in ("name", "start (s)", "stop (s)"):
        ep.add_column(c)
    for a, b, n in zip(s.epochs.start, s.epochs.stop, s.epochs.name, strict=True):
        ep.add_row(str(n), f"{a:.2f}", f"{b:.2f}")
    console.print(ep)
    t = RichTable(title="quality control")
    for c in ("criterion", "pass", "fail", "unknown"):
        t.add_column(c)
    for name, p, f, u in qc.summary():
        t.add_row(name, str(p), str(f), str(u))
    console.print(t)


@app.command("bin")
def bin_cmd(
    file: Annotated[Path, typer.Argument(help="NWB file, phy folder, .mat, .npz or .csv.")],
    bin_ms: Annotated[float, typer.Option(help="Bin width (ms).")] = 10.0,
    epochs: Annotated[
        str, typer.Option(help="Comma-separated epoch names; empty: whole session.")
    ] = "",
    out: Annotated[Path, typer.Option(help="Output .npz.")] = Path("binned.npz"),
    qc: Annotated[bool, typer.Option(help="Keep only units passing the Allen QC defaults.")] = True,
    cache_dir: Annotated[Path | None, typer.Option(help="Cache folder for binned results.")] = None,
) -> None:
    """Bin spike counts per unit (time x unit) and save them with labels to .npz."""
    from . import SpikeDataError, bin_spikes, qc_filter
    from ._load import load_session

    try:
        s = load_session(file)
        units = np.flatnonzero(qc_filter(s).passed) if qc else None
        names = [e.strip() for e in epochs.split(",") if e.strip()] or None
        b = bin_spikes(s, bin_ms=bin_ms, epochs=names, units=units, cache_dir=cache_dir)
    except SpikeDataError as exc:
        _fail(exc)
        return
    tmp = out.with_name(out.name + ".partial.npz")
    np.savez(
        tmp,
        counts=b.dense(),
        bin_starts=b.bin_starts,
        bin_width=b.bin_width,
        labels=b.labels,
        unit_ids=b.unit_ids,
        segment=b.segment,
    )
    tmp.replace(out)
    console.print(f"{b.n_bins} bins x {b.n_units} units -> {out}")


@app.command()
def report(
    file: Annotated[Path, typer.Argument(help="NWB file, phy folder, .mat, .npz or .csv.")],
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("data_report"),
) -> None:
    """Data-quality report (raster, rate histogram, QC, per-state rates) as PNG + HTML."""
    from . import SpikeDataError
    from ._load import load_session
    from ._report import write_report

    try:
        png, page = write_report(load_session(file), out)
    except SpikeDataError as exc:
        _fail(exc)
        return
    console.print(f"wrote {png} and {page}")


@app.command()
def synthetic(
    out: Annotated[Path, typer.Argument(help="Output NWB file.")] = Path("synthetic.nwb"),
    units: Annotated[int, typer.Option(help="Number of units.")] = 200,
    latent_dim: Annotated[int, typer.Option(help="Latent dimension.")] = 4,
    active_s: Annotated[float, typer.Option(help="Active block (s).")] = 300.0,
    passive_s: Annotated[float, typer.Option(help="Passive block (s).")] = 300.0,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    spiking: Annotated[str, typer.Option(help="'poisson' or 'glm'.")] = "poisson",
) -> None:
    """Generate a synthetic session with ground-truth latents (NWB + .truth.npz)."""
    from . import SpikeDataError, make_synthetic_session, truth_path, write_synthetic

    try:
        s, truth = make_synthetic_session(
            n_units=units,
            latent_dim=latent_dim,
            active_s=active_s,
            passive_s=passive_s,
            seed=seed,
            spiking=spiking,
        )
    except SpikeDataError as exc:
        _fail(exc)
        return
    write_synthetic(out, s, truth)
    console.print(
        f"wrote {out} and {truth_path(out)}: {s.n_units} units, "
        f"{s.spikes.n_spikes} spikes, {s.duration:.0f} s"
    )
