"""A data-quality report: raster, rate histogram, QC pass/fail, per-state rates."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np

from ._quality import QCReport, qc_filter, quality_metrics
from ._session import Session
from ._types import Real

__all__ = ["write_report"]


def write_report(
    session: Session,
    out_dir: str | Path,
    qc: QCReport | None = None,
    raster_s: Real = 30.0,
    max_raster_units: int = 200,
) -> tuple[Path, Path]:
    """Write ``report.png`` and ``report.html`` (self-contained) into ``out_dir``.

    Panels: a raster of the first ``raster_s`` seconds of the first epoch (units sorted
    by firing rate, QC failures in red), the histogram of firing rates (Hz, log axis),
    the number of units passing / failing each QC criterion, and the median firing rate
    of passing units in each brain state.

    Returns:
        ``(png_path, html_path)``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    metrics = quality_metrics(session)
    qc = qc or qc_filter(session)
    rates = np.asarray(metrics["firing_rate"], dtype=float)

    fig, axes = plt.subplots(2, 2, figsize=(12, 8), constrained_layout=True)
    ax = axes[0, 0]
    t0 = float(session.epochs.start[0]) if len(session.epochs) else session.t_start
    t1 = min(t0 + raster_s, session.t_stop)
    order = np.argsort(-rates)[:max_raster_units]
    flat, off = session.spikes.read(np.sort(order))
    pos = {u: i for i, u in enumerate(np.sort(order))}
    for row, u in enumerate(order):
        t = flat[off[pos[u]] : off[pos[u] + 1]]
        t = t[(t >= t0) & (t < t1)]
        ax.vlines(t, row, row + 0.8, color="k" if qc.passed[u] else "tab:red", lw=0.5)
    ax.set(xlabel="time (s)", ylabel="unit (by rate)", title=f"raster {t0:.0f}-{t1:.0f} s")

    ax = axes[0, 1]
    positive = rates[rates > 0]
    if positive.size:
        bins = np.logspace(np.log10(positive.min()), np.log10(positive.max()) + 1e-9, 30)
        ax.hist(positive, bins=bins, color="tab:blue")
        ax.set_xscale("log")
    ax.set(xlabel="firing rate (Hz)", ylabel="units", title="firing-rate distribution")

    ax = axes[1, 0]
    rows = qc.summary()
    names = [r[0] for r in rows]
    y = np.arange(len(rows))
    ax.barh(y, [r[1] for r in rows], color="tab:green", label="pass")
    ax.barh(y, [r[2] for r in rows], left=[r[1] for r in rows], color="tab:red", label="fail")
    ax.barh(y, [r[3] for r in rows], left=[r[1] + r[2] for r in rows], color="0.7", label="unknown")
    ax.set_yticks(y, names)
    ax.set(xlabel="units", title=f"quality control: {qc.n_passed}/{qc.n_units} pass")
    ax.legend(loc="best", framealpha=0.9)

    ax = axes[1, 1]
    states = session.epochs.names
    medians = [
        float(np.median(metrics[f"rate_{s}"][qc.passed])) if qc.n_passed else 0.0 for s in states
    ]
    if states:
        ax.bar(states, medians, color="tab:purple")
    ax.set(ylabel="median rate of passing units (Hz)", title="firing rate per state")
    png = out / "report.png"
    fig.savefig(png, dpi=100)
    plt.close(fig)

    img = base64.b64encode(png.read_bytes()).decode()
    table = "".join(
        f"<tr><td>{html.escape(n)}</td><td>{p}</td><td>{f}</td><td>{u}</td></tr>"
        for n, p, f, u in rows
    )
    state_rows = "".join(
        f"<tr><td>{html.escape(s)}</td><td>{m:.2f}</td></tr>"
        for s, m in zip(states, medians, strict=True)
    )
    page = f"""<!doctype html><html><head><meta charset="utf-8">
<title>synaptax data report</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:auto}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 8px}}</style>
</head><body><h1>Data-quality report</h1>
<p>Source: {html.escape(session.source)}<br>{session.n_units} units,
{session.spikes.n_spikes} spikes, {session.duration:.1f} s.</p>
<img src="data:image/png;base64,{img}" style="width:100%">
<h2>Quality control</h2><table><tr><th>criterion</th><th>pass</th><th>fail</th>
<th>unknown</th></tr>{table}</table>
<h2>Median firing rate of passing units per state (Hz)</h2>
<table><tr><th>state</th><th>rate</th></tr>{state_rows}</table></body></html>"""
    page_path = out / "report.html"
    page_path.write_text(page)
    return png, page_path
