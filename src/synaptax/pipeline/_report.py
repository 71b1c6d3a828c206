"""Figures and the HTML report of the pipeline.

Every figure is drawn on held-out (test-block) time:

* ``raster_<state>.png``: the student's spikes, excitatory and inhibitory neurons in
  separate panels, with the population rates;
* ``rates.png``: mean rate of each neuron, per population and brain state, with the
  5-20 Hz band;
* ``currents.png``: excitatory, inhibitory, net recurrent and feed-forward input
  currents (population means over time, per state) and each neuron's mean excitatory
  vs inhibitory current;
* ``cca.png``: held-out canonical correlation per latent dimension, overall and per state;
* ``latents_<state>.png``: the teacher's and the student's canonical variates over time;
* ``training.png``: teacher and student losses.

The HTML page embeds the PNGs (base64), so it can be moved on its own.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

import numpy as np

from ._config import PipelineConfig, ReportConfig

__all__ = ["make_figures", "write_html"]

_E_COLOR, _I_COLOR = "#c0392b", "#2c6fbb"
_BAND = (5.0, 20.0)


def _figure(w: float | int, h: float | int):
    from matplotlib.figure import Figure

    return Figure(figsize=(w, h))


def _save(fig, path: Path, dpi: int) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    return path


def _raster(arrays, state: str, max_neurons: int):
    a, b = arrays["windows"][state]
    spikes = arrays["spikes"][a:b]
    n_exc = arrays["n_exc"]
    dt = arrays["bin_ms"] / 1000.0
    t = np.arange(a, b) * dt
    t = t - t[0] if len(t) else t
    fig = _figure(10, 7)
    axes = fig.subplots(3, 1, sharex=True, height_ratios=[3, 1.2, 1])
    pops = (("excitatory", slice(0, n_exc), _E_COLOR), ("inhibitory", slice(n_exc, None), _I_COLOR))
    for ax, (name, sl, color) in zip(axes[:2], pops, strict=True):
        s = spikes[:, sl][:, :max_neurons]
        ti, ni = np.nonzero(s > 0)
        ax.scatter(t[ti], ni, s=2, c=color, marker="|", linewidths=0.8)
        ax.set_ylabel(f"{name}\nneuron")
        ax.set_ylim(-1, s.shape[1])
        ax.set_title(f"{name} ({s.shape[1]} of {spikes[:, sl].shape[1]} shown)", fontsize=9)
    bin_s = arrays["bin_ms"] / 1000.0
    for name, sl, color in pops:
        r = spikes[:, sl].mean(1) / bin_s
        axes[2].plot(t, r, color=color, lw=1, label=name)
    axes[2].axhspan(*_BAND, color="0.9", zorder=0, label="5-20 Hz")
    axes[2].set_ylabel("rate (Hz)")
    axes[2].set_xlabel(f"time in a held-out {state} block (s)")
    axes[2].legend(frameon=False, fontsize=8, ncol=3)
    fig.suptitle(f"student spikes, {state} (held out)")
    return fig


def _rates(arrays, rates_by_state: dict[str, np.ndarray], states: list[str]):
    n_exc = arrays["n_exc"]
    cols = ["all", *states]
    fig = _figure(3.6 * len(cols), 5.5)
    axes = fig.subplots(2, len(cols), squeeze=False)
    top = max(float(np.max(r)) for r in rates_by_state.values())
    bins = np.linspace(0, max(30.0, top * 1.05), 40)
    for j, col in enumerate(cols):
        r = rates_by_state[col]
        for i, (name, rr, color) in enumerate(
            (("excitatory", r[:n_exc], _E_COLOR), ("inhibitory", r[n_exc:], _I_COLOR))
        ):
            ax = axes[i, j]
            ax.axvspan(*_BAND, color="0.9", zorder=0)
            ax.hist(rr, bins=bins, color=color)
            frac = np.mean((rr >= _BAND[0]) & (rr <= _BAND[1]))
            ax.set_title(f"{name}, {col}: {frac:.0%} in 5-20 Hz", fontsize=9)
            ax.set_xlabel("mean rate over held-out time (Hz)")
            ax.set_ylabel("neurons")
    return fig


def _currents(arrays, states: list[str]):
    n_exc = arrays["n_exc"]
    fig = _figure(4.5 * len(states), 6.5)
    axes = fig.subplots(2, len(states), squeeze=False)
    labels, test = arrays["labels"], arrays["test"]
    dt = arrays["bin_ms"] / 1000.0
    for j, state in enumerate(states):
        a, b = arrays["windows"][state]
        t = (np.arange(a, b) - a) * dt
        ax = axes[0, j]
        ie, ii, iff = (arrays[k][a:b].mean(1) for k in ("i_exc", "i_inh", "i_ff"))
        ax.plot(t, ie, color=_E_COLOR, lw=1, label="excitatory")
        ax.plot(t, ii, color=_I_COLOR, lw=1, label="inhibitory")
        ax.plot(t, ie + ii, color="k", lw=1, label="net recurrent")
        ax.plot(t, iff, color="0.5", lw=1, label="feed-forward")
        ax.set_title(f"{state}: population-mean input per bin", fontsize=9)
        ax.set_xlabel("time (s)")
        ax.set_ylabel("current (threshold units / bin)")
        ax.legend(frameon=False, fontsize=7)
        ax = axes[1, j]
        m = test & (labels == state)
        e = arrays["i_exc"][m].mean(0)
        i = -arrays["i_inh"][m].mean(0)
        ax.scatter(e[:n_exc], i[:n_exc], s=6, c=_E_COLOR, label="E neurons")
        ax.scatter(e[n_exc:], i[n_exc:], s=6, c=_I_COLOR, label="I neurons")
        hi = float(max(e.max(), i.max(), 1e-6))
        ax.plot([0, hi], [0, hi], "k--", lw=0.8, label="balance")
        ax.set_xlabel("mean excitatory input")
        ax.set_ylabel("mean |inhibitory| input")
        ax.set_title(f"{state}: E/I balance per neuron (held out)", fontsize=9)
        ax.legend(frameon=False, fontsize=7)
    return fig


def _cca(metrics, states: list[str]):
    cols = [("all held-out", metrics["student"]["cca_per_dim"])]
    cols += [(s, metrics["per_state"][s]["cca_per_dim"]) for s in states]
    k = len(cols[0][1])
    fig = _figure(max(6.0, 1.2 * k + 3), 4)
    ax = fig.subplots()
    width = 0.8 / len(cols)
    for i, (name, vals) in enumerate(cols):
        ax.bar(
            np.arange(k) + (i - (len(cols) - 1) / 2) * width,
            vals,
            width,
            label=f"{name} (mean {np.mean(vals):.2f})",
        )
    ax.axhline(0.7, color="k", ls=":", lw=0.8, label="target 0.7")
    ax.set_xticks(np.arange(k), [f"{i + 1}" for i in range(k)])
    ax.set_xlabel("canonical dimension")
    ax.set_ylabel("held-out correlation")
    ax.set_ylim(min(0.0, float(np.min([np.min(v) for _, v in cols]))), 1.0)
    ax.set_title("student vs teacher latents: CCA fitted on training blocks, scored held out")
    ax.legend(frameon=False, fontsize=8, loc="lower left")
    return fig


def _latents(arrays, metrics, state: str):
    a, b = arrays["windows"][state]
    t = (np.arange(a, b) - a) * arrays["bin_ms"] / 1000.0
    cs, ct = arrays["cv_student"][a:b], arrays["cv_teacher"][a:b]
    k = cs.shape[1]
    corr = metrics["per_state"][state]["cca_per_dim"]
    fig = _figure(10, 1.3 * k + 1)
    axes = fig.subplots(k, 1, sharex=True, squeeze=False)[:, 0]
    for i, ax in enumerate(axes):
        ax.plot(t, ct[:, i], color="k", lw=1.2, label="teacher")
        ax.plot(t, cs[:, i], color="tab:orange", lw=1, label="student")
        ax.set_ylabel(f"dim {i + 1}\nr={corr[i]:.2f}", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].legend(frameon=False, fontsize=8, ncol=2, loc="upper right")
    axes[-1].set_xlabel(f"time in a held-out {state} block (s)")
    fig.suptitle(f"learned vs teacher latents (canonical variates), {state}")
    return fig


def _training(history):
    fig = _figure(11, 3.2)
    axes = fig.subplots(1, 3)
    th = history["teacher"]
    if th:
        axes[0].plot([h["step"] for h in th], [h["loss"] for h in th], color="k")
    axes[0].set_title("teacher loss (LeJEPA)", fontsize=9)
    axes[0].set_xlabel("step")
    sh = history["student"]
    steps = [h["step"] for h in sh]
    axes[1].plot(steps, [h["cca"] for h in sh], color="tab:orange")
    axes[1].set_title("student: training CCA similarity (mean rho^2)", fontsize=9)
    axes[1].set_xlabel("step")
    axes[2].plot(steps, [h["mean_rate"] for h in sh], color="tab:green")
    axes[2].axhspan(*_BAND, color="0.9", zorder=0)
    axes[2].set_title("student: mean rate in training windows (Hz)", fontsize=9)
    axes[2].set_xlabel("step")
    return fig


def make_figures(
    out: Path,
    metrics: dict[str, Any],
    arrays: dict[str, Any],
    rates_by_state: dict[str, np.ndarray],
    history: dict[str, list[dict[str, float]]],
    states: list[str],
    report: ReportConfig,
) -> dict[str, Path]:
    """Draw every figure into ``out``; returns the PNG paths by name."""
    figs: dict[str, Any] = {}
    for s in states:
        figs[f"raster_{s}"] = _raster(arrays, s, report.max_neurons)
    figs["rates"] = _rates(arrays, rates_by_state, states)
    figs["currents"] = _currents(arrays, states)
    figs["cca"] = _cca(metrics, states)
    for s in states:
        figs[f"latents_{s}"] = _latents(arrays, metrics, s)
    figs["training"] = _training(history)
    return {name: _save(fig, out / f"{name}.png", report.dpi) for name, fig in figs.items()}


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    if isinstance(v, list) and v and isinstance(v[0], float):
        return ", ".join(f"{x:.3f}" for x in v)
    if isinstance(v, list):
        return ", ".join(str(x) for x in v)
    if v is None:
        return "n/a"
    return str(v)


def _table(rows: dict[str, Any]) -> str:
    body = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>"
        for k, v in rows.items()
        if not isinstance(v, dict)
    )
    return f"<table>{body}</table>"


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def write_html(
    out: Path, metrics: dict[str, Any], figures: dict[str, Path], cfg: PipelineConfig
) -> Path:
    """Write ``out/report.html`` (figures embedded) and return its path."""
    st = metrics["student"]
    states = list(metrics["per_state"])
    state_rows = "".join(
        "<tr><th>{}</th><td>{:.3f}</td><td>{:.0%}</td><td>{:.1f} / {:.1f}</td>"
        "<td>{:.2f}</td><td>{}</td></tr>".format(
            html.escape(s),
            m["cca_heldout"] or float("nan"),
            m["frac_rates_in_band"] or 0.0,
            m["mean_rate_exc_hz"] or float("nan"),
            m["mean_rate_inh_hz"] or float("nan"),
            m["ei_ratio"] or float("nan"),
            m["n_bins"],
        )
        for s, m in [("all held-out", st), *metrics["per_state"].items()]
    )
    sections = [
        ("Student spikes", [f"raster_{s}" for s in states]),
        ("Firing rates per population", ["rates"]),
        ("Excitatory and inhibitory input currents", ["currents"]),
        ("CCA per latent dimension (held out)", ["cca"]),
        ("Learned vs teacher latents over time", [f"latents_{s}" for s in states]),
        ("Training", ["training"]),
    ]
    figs_html = "".join(
        f"<h2>{html.escape(title)}</h2>"
        + "".join(_img(figures[n], n) for n in names if n in figures)
        for title, names in sections
    )
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>synaptax pipeline report</title>
<style>
body {{ font-family: sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 3px 8px; text-align: left; font-size: 90%; }}
img {{ max-width: 100%; display: block; margin: 0.5em 0 1.5em; }}
pre {{ background: #f6f6f6; padding: 0.8em; font-size: 80%; overflow-x: auto; }}
</style></head><body>
<h1>synaptax pipeline: spiking student distilled from a LeJEPA teacher</h1>
<p>Data <code>{html.escape(str(metrics["data"]["source"]))}</code>:
{metrics["data"]["n_units_passed_qc"]} of {metrics["data"]["n_units"]} units pass quality
control; {metrics["data"]["n_bins"]} bins of {metrics["data"]["bin_ms"]:g} ms
({metrics["data"]["n_train_bins"]} training, {metrics["data"]["n_test_bins"]} held out).
Student: {st["n_neurons"]} LIF neurons ({st["n_excitatory"]} excitatory), Dale's principle,
trained {st["n_steps"]} steps. All figures are on held-out time; CCA is fitted on
training blocks only.</p>
<h2>Summary</h2>
<table><tr><th></th><th>held-out CCA</th><th>neurons at 5-20 Hz</th>
<th>mean rate E / I (Hz)</th><th>E/I drive ratio</th><th>bins</th></tr>{state_rows}</table>
<h3>Student</h3>{_table(st)}
<h3>Teacher</h3>{_table(metrics["teacher"])}
<h3>Data</h3>{_table(metrics["data"])}
<h3>Stage times (s)</h3>{_table(metrics["seconds"])}
{figs_html}
<h2>Configuration</h2><pre>{html.escape(json.dumps(cfg.to_dict(), indent=2))}</pre>
</body></html>
"""
    path = out / "report.html"
    path.write_text(page)
    return path
