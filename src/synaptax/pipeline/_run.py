"""The pipeline: data -> quality control -> 10 ms bins -> splits -> teacher -> spiking
student distilled to the teacher's latents -> report.

Each stage is one call into the package (``synaptax.data``, ``synaptax.jepa``,
``synaptax.distill``); this module only chains them, times them and collects the
figures' arrays. Held-out figures are computed on the test blocks of
:func:`synaptax.data.contiguous_splits`, CCA being fitted on the training blocks only.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from ._config import PipelineConfig

__all__ = ["PipelineResult", "run_pipeline"]


@dataclass
class PipelineResult:
    """Where the report went and its figures.

    Attributes:
        out: output folder.
        report: the HTML report.
        metrics: the content of ``metrics.json``.
        figures: PNG paths by name.
    """

    out: Path
    report: Path
    metrics: dict[str, Any]
    figures: dict[str, Path] = field(default_factory=dict)


def _finite(x: Any) -> Any:
    """JSON-safe copy: numpy scalars to Python, non-finite floats to ``None``."""
    if isinstance(x, dict):
        return {str(k): _finite(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_finite(v) for v in x]
    if isinstance(x, np.ndarray):
        return _finite(x.tolist())
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, int | np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        return float(x) if math.isfinite(float(x)) else None
    return x


class _Stages:
    """Prints one line per stage with its duration."""

    def __init__(self, console: Console):
        self.console = console
        self.seconds: dict[str, float] = {}
        self.t_total = time.perf_counter()

    def run(self, name: str, what: str, fn, *args, **kwargs):
        self.console.print(f"[bold cyan]>[/bold cyan] {what}")
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        self.seconds[name] = time.perf_counter() - t0
        return out


def _load(cfg: PipelineConfig):
    from synaptax import data

    d = cfg.data
    if d.source == "synthetic":
        session, truth = data.make_synthetic_session(
            n_units=d.n_units,
            latent_dim=d.latent_dim,
            active_s=d.active_s,
            spontaneous_s=d.spontaneous_s,
            passive_s=d.passive_s,
            seed=d.seed,
        )
        return session, truth
    path = Path(d.source)
    truth = None
    if path.suffix.lower() == ".nwb" and data.truth_path(path).exists():
        session, truth = data.read_synthetic(path)  # a synthetic session written to NWB
    else:
        session = data.load_session(path)
    return session, truth


def _standardise(x: np.ndarray, train: np.ndarray) -> np.ndarray:
    mu = x[train].mean(0)
    sd = x[train].std(0)
    return (x - mu) / np.where(sd > 0, sd, 1.0)


def _student(cfg: PipelineConfig, n_inputs: int, n_latents: int, bin_ms: float):
    import jax

    from synaptax import distill, snn

    s = cfg.student
    neuron = snn.LIF(
        s.n_neurons,
        tau_mem=s.tau_mem,
        dt=s.dt_ms,
        spike_fn=snn.fast_sigmoid(s.surrogate_slope),
    )
    k1, k2 = jax.random.split(jax.random.key(s.seed))
    net = snn.RecurrentNetwork(
        k1,
        n_inputs,
        neuron,
        frac_excitatory=s.frac_excitatory,
        p_connect=s.p_connect,
        in_gain=s.in_gain,
        rec_gain=s.rec_gain,
    )
    return distill.SpikingStudent(k2, net, n_latents, bin_ms=bin_ms, tau_filter=s.tau_filter)


def input_ridge_cca(
    inputs: np.ndarray,
    latents: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    *,
    lags: int = 100,
    stride: int = 5,
    alpha: float = 1.0,
) -> float:
    """Baseline for the student: held-out CCA of a ridge regression from the last ``lags``
    bins of inputs (every ``stride``-th) to the latents, fitted on training bins.

    It measures how much of the teacher's latents the inputs can explain with a linear
    filter; latent fluctuations that are not driven by the inputs are out of reach of any
    input-driven student.
    """
    import jax.numpy as jnp

    from synaptax import distill

    u = np.asarray(inputs, float)
    feats = np.concatenate(
        [
            np.concatenate([np.zeros((s, u.shape[1])), u[: len(u) - s]])
            for s in range(0, lags, stride)
        ],
        axis=1,
    )
    tr = train & (np.arange(len(u)) >= lags)
    mu = feats[tr].mean(0)
    x = feats - mu
    a = x[tr].T @ x[tr]
    a += alpha * np.trace(a) / a.shape[0] * np.eye(a.shape[0])
    z = np.asarray(latents, float)
    coef = np.linalg.solve(a, x[tr].T @ (z[tr] - z[tr].mean(0)))
    pred = x @ coef
    fit = distill.fit_cca(jnp.asarray(pred[tr]), jnp.asarray(z[tr]))
    held = distill.heldout_correlations(fit, jnp.asarray(pred[test]), jnp.asarray(z[test]))
    return float(np.mean(np.asarray(held)))


def _longest_run(mask: np.ndarray) -> tuple[int, int]:
    """(start, stop) of the longest run of True in ``mask`` ((0, 0) if none)."""
    m = np.concatenate([[False], mask, [False]]).astype(np.int8)
    d = np.diff(m)
    starts, stops = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    if len(starts) == 0:
        return 0, 0
    k = int(np.argmax(stops - starts))
    return int(starts[k]), int(stops[k])


def _analyse(student, inputs, latents, train, test, labels, states, cfg, bin_ms):
    """Held-out figures overall and per brain state, and the arrays of the figures."""
    import jax.numpy as jnp

    from synaptax import distill, snn

    pred, spikes = student(jnp.asarray(inputs))
    pred, spikes = np.asarray(pred), np.asarray(spikes)
    train = train & (np.arange(len(train)) >= 50)  # the student starts at rest
    fit = distill.fit_cca(jnp.asarray(pred[train]), jnp.asarray(latents[train]))
    cv = fit.transform(jnp.asarray(pred), jnp.asarray(latents))
    cv_student, cv_teacher = np.asarray(cv[0]), np.asarray(cv[1])
    net = student.network
    w = np.asarray(net.w_rec.weight)
    n_exc = net.w_rec.n_excitatory
    sign = np.asarray(net.w_rec.sign)
    # recurrent input of each bin comes from the previous bin's spikes (threshold units)
    prev = np.concatenate([np.zeros_like(spikes[:1]), spikes[:-1]])
    i_exc = prev[:, :n_exc] @ w[:, :n_exc].T
    i_inh = prev[:, n_exc:] @ w[:, n_exc:].T
    i_ff = np.asarray(net.input_current(jnp.asarray(inputs))) * student.substeps

    def block(mask: np.ndarray) -> dict[str, Any]:
        held = distill.heldout_correlations(
            fit, jnp.asarray(pred[mask]), jnp.asarray(latents[mask])
        )
        rates = np.asarray(snn.firing_rates(jnp.asarray(spikes[mask]), bin_ms))
        return {
            "n_bins": int(mask.sum()),
            "cca_heldout": float(np.mean(held)),
            "cca_per_dim": [float(c) for c in held],
            "frac_rates_in_band": float(np.mean((rates >= 5) & (rates <= 20))),
            "frac_rates_in_band_exc": float(np.mean((rates[:n_exc] >= 5) & (rates[:n_exc] <= 20))),
            "frac_rates_in_band_inh": float(np.mean((rates[n_exc:] >= 5) & (rates[n_exc:] <= 20))),
            "mean_rate_hz": float(rates.mean()),
            "mean_rate_exc_hz": float(rates[:n_exc].mean()),
            "mean_rate_inh_hz": float(rates[n_exc:].mean()),
            "ei_ratio": float(
                snn.ei_balance(jnp.asarray(w), jnp.asarray(sign), jnp.asarray(rates))
            ),
            "mean_exc_current": float(i_exc[mask].mean()),
            "mean_inh_current": float(i_inh[mask].mean()),
            "mean_ff_current": float(i_ff[mask].mean()),
            "_rates": rates,
        }

    overall = block(test)
    per_state = {s: block(test & (labels == s)) for s in states if np.any(test & (labels == s))}
    n_win = max(1, round(cfg.report.raster_s * 1000.0 / bin_ms))
    windows = {}
    for s in per_state:
        a, b = _longest_run(test & (labels == s))
        windows[s] = (a, min(b, a + n_win))
    arrays = {
        "spikes": spikes,
        "cv_student": cv_student,
        "cv_teacher": cv_teacher,
        "i_exc": i_exc,
        "i_inh": i_inh,
        "i_ff": i_ff,
        "n_exc": n_exc,
        "windows": windows,
        "bin_ms": bin_ms,
        "test": test,
        "labels": labels,
    }
    return overall, per_state, arrays


def run_pipeline(
    cfg: PipelineConfig,
    out: str | Path,
    *,
    console: Console | None = None,
    progress: bool = True,
) -> PipelineResult:
    """Run every stage and write the report into ``out``.

    Writes ``out/report.html`` (self-contained: figures embedded), the figures as PNGs
    beside it, ``metrics.json`` and ``config.json`` (the settings used).

    Args:
        cfg: settings (:func:`synaptax.pipeline.load_config`).
        out: output folder (created).
        console: where progress goes (default: a new ``rich`` console).
        progress: show progress bars while training.

    Returns:
        :class:`PipelineResult`.
    """
    import jax.numpy as jnp

    from synaptax import data, distill, jepa

    from ._inputs import session_inputs
    from ._report import make_figures, write_html

    console = Console() if console is None else console
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    st = _Stages(console)
    d = cfg.data
    ftype = np.dtype(jnp.result_type(float))

    if d.source != "synthetic":
        from ._config import DataConfig

        ignored = [
            k
            for k in ("n_units", "latent_dim", "active_s", "spontaneous_s", "passive_s", "seed")
            if getattr(d, k) != getattr(DataConfig(), k)
        ]
        if ignored:
            console.print(f"  note: {', '.join(ignored)} apply to the synthetic session only")
    session, truth = st.run("data", f"data: {d.source}", _load, cfg)
    console.print(
        f"  {session.n_units} units, {session.duration:.0f} s, epochs "
        f"{sorted(set(session.epochs.names))}"
    )
    if d.qc:
        qc = st.run("qc", "quality control (Allen criteria)", data.qc_filter, session)
        units = np.flatnonzero(qc.passed)
        console.print(f"  {len(units)} of {session.n_units} units pass")
    else:
        units = np.arange(session.n_units)
    if len(units) < 2:
        raise ValueError(
            f"only {len(units)} unit(s) left after quality control; the teacher needs at "
            "least 2. Set [data] qc = false or use a larger session."
        )
    binned = st.run(
        "bin",
        f"binning at {d.bin_ms:g} ms ({', '.join(d.epochs)})",
        data.bin_spikes,
        session,
        bin_ms=d.bin_ms,
        epochs=list(d.epochs),
        units=units,
    )
    splits = data.contiguous_splits(
        binned, d.fractions, block_s=d.block_s, gap_s=d.gap_s, seed=d.split_seed
    )
    train, test = splits.assignment == 0, splits.assignment == 2
    labels = binned.labels
    states = [s for s in d.epochs if np.any(labels == s)]
    console.print(
        f"  {binned.n_bins} bins x {binned.n_units} units; train {int(train.sum())}, "
        f"test {int(test.sum())} bins"
    )
    counts = binned.dense().astype(np.float32)

    from ._config import teacher_settings

    tcfg, em_iter = teacher_settings(cfg.teacher)
    tres = st.run(
        "teacher",
        f"teacher: LeJEPA, {tcfg.latent_dim}-d latents, {tcfg.n_steps} steps",
        jepa.train,
        counts,
        train,
        binned.segment,
        tcfg,
        progress=progress,
    )
    z = np.asarray(jepa.teacher_latents(tres.model, counts, tres.views), ftype)
    teacher_metrics: dict[str, Any] = {
        "latent_dim": tcfg.latent_dim,
        "n_steps": tcfg.n_steps,
        "steps_per_s": tres.steps_per_s,
        "final_loss": tres.history[-1]["loss"] if tres.history else float("nan"),
        "refine_em_iter": em_iter,
    }
    x_true = None if truth is None else truth.latents_in_bins(binned.bin_starts, binned.bin_width)
    if em_iter > 0:
        if x_true is not None:
            teacher_metrics["encoder_gt_latent_cca"] = jepa.heldout_cca(z, x_true, train, test)
        zr, _ = st.run(
            "refine",
            f"refining the teacher's latents ({em_iter} Laplace-EM iterations)",
            jepa.refined_latents,
            tres.model,
            counts,
            tres.views,
            train,
            binned.segment,
            em_iter=em_iter,
            progress=progress,
        )
        z = zr.astype(ftype)
    z = _standardise(z, train)
    if x_true is not None:
        teacher_metrics["gt_latent_cca"] = jepa.heldout_cca(z, x_true, train, test)
        which = "refined" if em_iter > 0 else "encoder"
        console.print(
            f"  teacher ({which}) vs true latents, held-out CCA "
            f"{teacher_metrics['gt_latent_cca']:.3f}"
        )

    u, in_names, missing = session_inputs(session, binned, d.inputs, d.epochs[0])
    u = _standardise(u, train).astype(ftype)
    if missing:
        console.print(f"  inputs not available in this session: {', '.join(missing)}")
    console.print(f"  student inputs: {len(in_names)} ({', '.join(in_names)})")

    s = cfg.student
    student = _student(cfg, u.shape[1], z.shape[1], d.bin_ms)
    dcfg = distill.DistillConfig(
        n_steps=s.n_steps,
        batch=s.batch,
        window=s.window,
        burn_in=s.burn_in,
        lr=s.lr,
        rate_weight=s.rate_weight,
        rate_band=s.rate_band,
        seed=s.seed,
    )
    dres = st.run(
        "student",
        f"student: {s.n_neurons} LIF neurons ({s.frac_excitatory:.0%} excitatory), "
        f"{s.n_steps} steps",
        distill.distill,
        student,
        jnp.asarray(u),
        jnp.asarray(z),
        train_mask=train,
        test_mask=test,
        segment=binned.segment,
        config=dcfg,
        log_every=max(1, s.n_steps // 20),
        progress=progress,
    )
    ev = dres.evaluation
    console.print(
        f"  held-out CCA {ev['cca_heldout']:.3f}, {ev['frac_rates_in_band']:.0%} of neurons at "
        f"5-20 Hz, Dale violations {ev['dale_violations']}"
    )
    overall, per_state, arrays = st.run(
        "analysis",
        "held-out analysis per brain state",
        _analyse,
        dres.student,
        u,
        z,
        train,
        test,
        labels,
        states,
        cfg,
        d.bin_ms,
    )
    rates_by_state = {"all": overall.pop("_rates")}
    for k, v in per_state.items():
        rates_by_state[k] = v.pop("_rates")

    baseline = input_ridge_cca(u, z, train, test)
    console.print(f"  input-filter ridge baseline, held-out CCA {baseline:.3f}")
    metrics: dict[str, Any] = {
        "data": {
            "source": d.source,
            "n_units": session.n_units,
            "n_units_passed_qc": len(units),
            "n_bins": binned.n_bins,
            "bin_ms": d.bin_ms,
            "bins_per_state": {s_: int(np.sum(labels == s_)) for s_ in states},
            "n_train_bins": int(train.sum()),
            "n_test_bins": int(test.sum()),
            "inputs": in_names,
            "missing_inputs": missing,
        },
        "teacher": teacher_metrics,
        "student": {
            "n_neurons": s.n_neurons,
            "n_excitatory": int(arrays["n_exc"]),
            "n_steps": s.n_steps,
            "seconds_per_step": dres.seconds_per_step,
            "cca_train": ev["cca_train"],
            "baseline_input_ridge_cca": baseline,
            "dale_violations": ev["dale_violations"],
            **overall,
        },
        "per_state": per_state,
        "seconds": {},
    }
    history = {"teacher": tres.history, "student": dres.history}
    figures = st.run(
        "figures",
        "figures",
        make_figures,
        out,
        metrics,
        arrays,
        rates_by_state,
        history,
        states,
        cfg.report,
    )
    metrics["seconds"] = {**st.seconds, "total": time.perf_counter() - st.t_total}
    metrics = _finite(metrics)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (out / "config.json").write_text(json.dumps(_finite(cfg.to_dict()), indent=2) + "\n")
    report = write_html(out, metrics, figures, cfg)
    console.print(
        f"[bold green]done[/bold green] in {metrics['seconds']['total']:.0f} s: "
        f"[cyan]{report}[/cyan]"
    )
    return PipelineResult(out, report, metrics, figures)
