"""Training loop of the teacher: independent random windows, Adam, checkpoints, logs.

Each step draws ``batch`` windows (with replacement) among the windows that lie wholly
inside the training time of one epoch interval, gathers both views' counts on device,
and takes one optax step on :func:`jepa_loss`. The step is one jitted pure function
``(model, opt_state, key) -> (model, opt_state, metrics)``; the step key is
``fold_in(seed key, step)``, so a resumed run draws the same windows and SIGReg
directions as an uninterrupted one. With several devices the batch of windows is
sharded across them (``jax.sharding``), the model replicated; the SIGReg directions
come from the one step key and are identical everywhere.

A run directory holds ``config.json``, ``checkpoint.eqx`` (model and optimiser state,
equinox serialisation), ``state.json`` (the step reached), ``metrics.csv`` and
``losses.png``.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Bool, Int, Real

from ._model import (
    Teacher,
    conv_receptive_field,
    exp_receptive_field,
    jepa_loss,
    transform_counts,
)

__all__ = [
    "MultiTrainResult",
    "TeacherConfig",
    "TrainResult",
    "load_run",
    "make_step",
    "train",
    "train_sessions",
    "window_starts",
]


@dataclass(frozen=True)
class TeacherConfig:
    """Settings of the teacher and of :func:`train`.

    Attributes:
        latent_dim: latent dimension ``d``.
        hidden: channels of the temporal network.
        horizons: prediction horizons (bins of 10 ms); 0 aligns the two views.
        kernel, dilations: convolutions of the encoder (receptive field
            ``1 + (kernel - 1) * sum(dilations)`` bins).
        causal: a causal encoder (``z(t)`` from bins ``<= t``); ``False`` centres its
            receptive field (a smoother).
        context: time points per window that enter the prediction loss.
        sigreg_points: time points per window at which SIGReg is evaluated (averaged).
        nonlinear: GELU in the encoder (``False``: a linear filter bank).
        pointwise_target: predict per-bin embeddings of the other view (SIGReg on them)
            instead of its encoder output (see :func:`synaptax.jepa.jepa_loss`).
        obs_weight: weight of the auxiliary cross-view observation term (each view's
            latent predicts the other view's counts in the same bin through a linear
            read-out; see :func:`synaptax.jepa.jepa_loss`); 0 (default) turns it off.
        obs_poisson: Poisson likelihood of the counts for that term instead of the
            squared error on standardised square-root counts.
        temporal: the encoder's temporal network, ``"conv"`` (default, ``kernel`` and
            ``dilations``) or ``"exponential"`` (:class:`synaptax.jepa.ExpEncoder`:
            learned forward and backward exponential filters per channel, each over
            ``support`` bins; receptive field ``1 + 2 support``, or ``1 + support``
            causal).
        support: bins each way of the exponential filters.
        oscillatory: exponential filters with a learned frequency (damped cosine and
            sine kernels: a complex diagonal recurrence).
        residual: width of the encoder's zero-initialised residual GELU MLP, added to
            the latent (either temporal network; with ``nonlinear=False`` a pointwise
            nonlinear head on the linear filter bank); 0 (default): none.
        timescales: exponential filters per channel and direction (decays of their
            own; 1: one per channel).
        input_transform: the read-ins' transform of the counts before standardising:
            ``"sqrt"`` (default), ``"raw"`` or ``"log1p"``.
        batch: independent windows per step (also the SIGReg sample size ``N``; the
            statistic grows with ``N``, see :mod:`synaptax.jepa._sigreg`).
        n_steps: optimisation steps.
        lr: peak Adam learning rate (cosine decay to 10 %).
        clip: global gradient-norm clip.
        lam: SIGReg weight ``lambda``.
        num_slices: SIGReg directions per step.
        seed: model initialisation, window sampling and SIGReg directions.
        checkpoint_every: steps between checkpoints (with a run directory).
        log_every: steps between metric rows.
    """

    latent_dim: int = 8
    hidden: int = 32
    horizons: tuple[int, ...] = (0, 1, 2, 5, 10)
    kernel: int = 5
    dilations: tuple[int, ...] = (1, 2, 4, 8)
    context: int = 16
    batch: int = 64
    n_steps: int = 600
    lr: float = 3e-3
    clip: float = 1.0
    lam: float = 0.05
    num_slices: int = 256
    seed: int = 0
    checkpoint_every: int = 200
    log_every: int = 10
    causal: bool = True
    sigreg_points: int = 1
    nonlinear: bool = True
    pointwise_target: bool = False
    obs_weight: float = 0.0
    obs_poisson: bool = False
    temporal: str = "conv"
    support: int = 30
    oscillatory: bool = False
    residual: int = 0
    timescales: int = 1
    input_transform: str = "sqrt"

    @property
    def window(self) -> int:
        """Bins per training window."""
        if self.temporal == "exponential":
            rf = exp_receptive_field(self.support, self.causal)
        else:
            rf = conv_receptive_field(self.kernel, self.dilations)
        return rf + self.context + max(self.horizons) - 1

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_dict(cls, d: dict) -> TeacherConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(
                f"unknown teacher setting(s) {unknown}; known settings are {sorted(names)}."
            )
        d = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        return cls(**d)


def window_starts(
    train: Bool[np.ndarray, " time"], segment: Int[np.ndarray, " time"], length: int
) -> Int[np.ndarray, " window"]:
    """Start bins of every window of ``length`` bins inside training time and inside one
    epoch interval (``segment``): such windows never straddle a split or a state change."""
    train = np.asarray(train, bool)
    n = len(train)
    if n < length:
        return np.zeros(0, np.int64)
    same = np.ones(n, bool)
    same[1:] = segment[1:] == segment[:-1]  # bin i continues bin i - 1
    ok = train & np.concatenate([[True], same[1:]])
    # a window [s, s + length) is valid when bin s is train and bins s+1..s+length-1 are
    # train continuations: count the breaks with a cumulative sum
    bad = np.concatenate([[0], np.cumsum(~ok)])
    starts = np.arange(n - length + 1)
    breaks = bad[starts + length] - bad[starts + 1]
    return starts[train[starts] & (breaks == 0)]


def _input_stats(
    model: Teacher, counts: np.ndarray, views, train, first: int = 0, poisson: bool = False
) -> Teacher:
    """Fixed read-in statistics from the training bins; with a Poisson observation term
    the read-outs start at each unit's mean log rate (bias ``log mean count``)."""
    for v, units in enumerate(views, start=first):
        c = counts[np.asarray(train)][:, units]
        x = transform_counts(c, model.readins[v].transform)
        mu = jnp.asarray(x.mean(0), counts.dtype)
        sd = jnp.asarray(np.maximum(x.std(0), 1e-3), counts.dtype)
        model = eqx.tree_at(lambda m, v=v: (m.readins[v].mu, m.readins[v].scale), model, (mu, sd))
        if poisson and model.readouts is not None:
            bias = jnp.asarray(np.log(np.maximum(c.mean(0), 1e-4)), counts.dtype)
            model = eqx.tree_at(lambda m, v=v: m.readouts[v].bias, model, bias)
    return model


def make_optimizer(cfg: TeacherConfig) -> optax.GradientTransformation:
    schedule = optax.cosine_decay_schedule(cfg.lr, max(cfg.n_steps, 1), alpha=0.1)
    return optax.chain(optax.clip_by_global_norm(cfg.clip), optax.adam(schedule))


def make_step(cfg: TeacherConfig, optimizer: optax.GradientTransformation):
    """The jitted training step ``step(model, opt_state, key, counts_a, counts_b, starts)``.

    ``counts_a`` / ``counts_b``: ``[time, unit]`` counts of the two views (on device);
    ``starts``: valid window starts (:func:`window_starts`). Returns
    ``(model, opt_state, metrics)`` with ``loss``, ``pred``, ``sigreg``, ``std``.

    Several sessions: pass tuples (one entry per session) for ``counts_a``, ``counts_b``
    and ``starts``; session ``s`` uses read-ins ``2 s`` and ``2 s + 1``, draws its own
    ``batch`` windows, and the loss and metrics are the means over sessions.
    """
    offsets = jnp.arange(cfg.window)
    n_dev = jax.device_count()
    sharding = None
    if n_dev > 1 and cfg.batch % n_dev == 0:
        mesh = jax.sharding.Mesh(np.array(jax.devices()), ("batch",))
        sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("batch"))

    def windows(k, counts_a, counts_b, starts):
        s = jax.random.choice(k, starts, (cfg.batch,))
        idx = s[:, None] + offsets
        xa, xb = counts_a[idx], counts_b[idx]
        if sharding is not None:
            xa = jax.lax.with_sharding_constraint(xa, sharding)
            xb = jax.lax.with_sharding_constraint(xb, sharding)
        return xa, xb

    @eqx.filter_jit
    def step(model, opt_state, key, counts_a, counts_b, starts):
        k_win, k_reg = jax.random.split(key)
        if isinstance(counts_a, tuple | list):
            n = len(counts_a)
            batches = [
                windows(jax.random.fold_in(k_win, i), counts_a[i], counts_b[i], starts[i])
                for i in range(n)
            ]
        else:
            n, batches = 1, [windows(k_win, counts_a, counts_b, starts)]

        def loss_fn(m):
            total, aux = 0.0, {}
            for i, (xa, xb) in enumerate(batches):
                kr = k_reg if n == 1 else jax.random.fold_in(k_reg, i)
                loss, a = jepa_loss(
                    m,
                    kr,
                    xa,
                    xb,
                    cfg.lam,
                    cfg.context,
                    cfg.num_slices,
                    (2 * i, 2 * i + 1),
                    cfg.sigreg_points,
                    cfg.obs_weight,
                    cfg.obs_poisson,
                )
                total = total + loss / n
                aux = {k: aux.get(k, 0.0) + v / n for k, v in a.items()}
            return total, aux

        (loss, aux), grads = eqx.filter_value_and_grad(loss_fn, has_aux=True)(model)
        updates, opt_state = optimizer.update(grads, opt_state, eqx.filter(model, eqx.is_array))
        model = eqx.apply_updates(model, updates)
        return model, opt_state, {"loss": loss, **aux}

    return step


@functools.lru_cache(maxsize=8)
def _cached_step(cfg: TeacherConfig):
    # one compiled step per config in a process (tests, sweeps and resumes reuse it)
    return make_step(cfg, make_optimizer(cfg))


@dataclass
class TrainResult:
    """Trained teacher, the two views' unit indices and the metric history (rows of
    ``step, loss, pred, sigreg, std, seconds``)."""

    model: Teacher
    views: tuple[np.ndarray, np.ndarray]
    history: list[dict[str, float]]
    steps_per_s: float


_FIELDS = ["step", "loss", "pred", "sigreg", "std", "obs", "seconds"]


def _save(run_dir: Path, model, opt_state, step: int) -> None:
    tmp = run_dir / "checkpoint.eqx.tmp"
    eqx.tree_serialise_leaves(tmp, (model, opt_state))
    tmp.replace(run_dir / "checkpoint.eqx")
    (run_dir / "state.json").write_text(json.dumps({"step": step}))


def _plot(run_dir: Path, history: list[dict[str, float]]) -> None:
    from matplotlib.figure import Figure

    if not history:
        return
    fig = Figure(figsize=(9, 3))
    steps = [h["step"] for h in history]
    for i, name in enumerate(("pred", "sigreg", "std")):
        ax = fig.add_subplot(1, 3, i + 1)
        ax.plot(steps, [h[name] for h in history])
        ax.set_xlabel("step")
        ax.set_title({"pred": "prediction loss", "sigreg": "SIGReg", "std": "latent std"}[name])
        if name == "sigreg":
            ax.set_yscale("log")
    fig.tight_layout()
    fig.savefig(run_dir / "losses.png", dpi=100)


def _read_history(path: Path) -> list[dict[str, float]]:
    if not path.exists():
        return []
    with path.open() as fh:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def _log(history: list[dict], metrics, step: int, t0: float) -> None:
    """Append a metrics row (step, losses, seconds since ``t0``); stop on a NaN loss."""
    row = {"step": float(step), **{k: float(v) for k, v in metrics.items()}}
    row["seconds"] = time.perf_counter() - t0
    if not np.isfinite(row["loss"]):
        raise FloatingPointError(
            f"the teacher's loss became {row['loss']} at step {step}; lower the "
            "learning rate (lr) or the gradient clip."
        )
    history.append(row)


def _new_model(cfg: TeacherConfig, view_units: tuple[int, ...]) -> Teacher:
    """An untrained teacher with read-ins of ``view_units`` units (two per session)."""
    return Teacher(
        view_units,
        cfg.latent_dim,
        cfg.hidden,
        cfg.horizons,
        cfg.kernel,
        cfg.dilations,
        cfg.causal,
        cfg.nonlinear,
        cfg.pointwise_target,
        cfg.obs_weight > 0,
        cfg.temporal,
        cfg.support,
        cfg.oscillatory,
        cfg.residual,
        cfg.timescales,
        cfg.input_transform,
        key=jax.random.key(cfg.seed),
    )


def _load_views(run_dir: Path) -> tuple[TeacherConfig, dict[str, np.ndarray]]:
    missing = [
        f for f in ("config.json", "views.npz", "checkpoint.eqx") if not (run_dir / f).exists()
    ]
    if missing:
        raise FileNotFoundError(
            f"{run_dir}: not a complete teacher run directory (missing {missing}). Fix: "
            "train into it first (synaptax teacher train) or point at the right folder."
        )
    cfg = TeacherConfig.from_dict(json.loads((run_dir / "config.json").read_text()))
    with np.load(run_dir / "views.npz") as v:
        return cfg, {k: v[k] for k in v.files}


def _load_model(run_dir: Path, cfg: TeacherConfig, view_units: tuple[int, ...]) -> Teacher:
    model = _new_model(cfg, view_units)
    opt_state = make_optimizer(cfg).init(eqx.filter(model, eqx.is_array))
    model, _ = eqx.tree_deserialise_leaves(run_dir / "checkpoint.eqx", (model, opt_state))
    return model


def load_run(run_dir: str | Path) -> tuple[TeacherConfig, Teacher, tuple[np.ndarray, np.ndarray]]:
    """Config, trained teacher and view unit indices of a single-session run directory
    (:func:`train`); :func:`load_sessions_run` reads those of :func:`train_sessions`."""
    run_dir = Path(run_dir)
    cfg, v = _load_views(run_dir)
    if "a" not in v:
        raise ValueError(
            f"{run_dir} holds a teacher trained on {len(v) // 2} sessions; read it with "
            "jepa.load_sessions_run(run_dir)."
        )
    views = (v["a"], v["b"])
    return cfg, _load_model(run_dir, cfg, (len(views[0]), len(views[1]))), views


def load_sessions_run(
    run_dir: str | Path,
) -> tuple[TeacherConfig, Teacher, list[tuple[np.ndarray, np.ndarray]]]:
    """Config, trained teacher and per-session view unit indices of a run directory of
    :func:`train_sessions`; session ``s``'s latents are ``teacher_latents(model,
    counts_s, views[s], session=s)``. A single-session run reads as one session."""
    run_dir = Path(run_dir)
    cfg, v = _load_views(run_dir)
    if "a" in v:
        views = [(v["a"], v["b"])]
    else:
        n = len(v) // 2
        if sorted(v) != sorted(f"{h}{i}" for i in range(n) for h in "ab"):
            raise ValueError(f"{run_dir}/views.npz: unexpected entries {sorted(v)}.")
        views = [(v[f"a{i}"], v[f"b{i}"]) for i in range(n)]
    units = tuple(len(u) for pair in views for u in pair)
    return cfg, _load_model(run_dir, cfg, units), views


def _open_run(rd: Path | None, cfg: TeacherConfig, views: dict[str, np.ndarray], model, opt_state):
    """Prepare a run directory: resume the run found there (same config and the same
    view sizes), else start one. Returns ``(model, opt_state, start_step, history)``."""
    if rd is None:
        return model, opt_state, 0, []
    rd.mkdir(parents=True, exist_ok=True)
    start_step, history = 0, []
    if (rd / "checkpoint.eqx").exists():
        saved = TeacherConfig.from_dict(json.loads((rd / "config.json").read_text()))
        if saved != cfg:
            raise ValueError(
                f"{rd} holds a run with a different config ({saved}); use a new run "
                "directory or the same config to resume."
            )
        old = np.load(rd / "views.npz")
        sizes = {k: len(old[k]) for k in old.files}
        if sizes != {k: len(v) for k, v in views.items()}:
            raise ValueError(
                f"{rd} holds a run on other sessions or views (view sizes {sizes}); use a "
                "new run directory or the same sessions to resume."
            )
        model, opt_state = eqx.tree_deserialise_leaves(rd / "checkpoint.eqx", (model, opt_state))
        start_step = json.loads((rd / "state.json").read_text())["step"]
        history = [h for h in _read_history(rd / "metrics.csv") if h["step"] <= start_step]
    (rd / "config.json").write_text(cfg.to_json())
    np.savez(rd / "views.npz", **cast(dict[str, Any], views))
    return model, opt_state, start_step, history


def _run_steps(cfg, model, opt_state, data, start_step, end, history, rd, progress):
    """Steps ``start_step .. end - 1`` (checkpoints every ``cfg.checkpoint_every`` steps;
    the final checkpoint, metrics and plot at the end). Returns ``(model, opt_state,
    steps per second without the first, compiling, step)``."""
    step = _cached_step(cfg)
    base = jax.random.key(cfg.seed + 1)
    t0 = time.perf_counter()
    timed_from, t_timed = None, 0.0

    from rich.progress import Progress

    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("teacher", total=cfg.n_steps, completed=start_step)
        for i in range(start_step, end):
            model, opt_state, m = step(model, opt_state, jax.random.fold_in(base, i), *data)
            if i == start_step:  # exclude compilation from the throughput
                jax.block_until_ready(m["loss"])
                timed_from, t_timed = i + 1, time.perf_counter()
            if (i + 1) % cfg.log_every == 0 or i + 1 == end:
                _log(history, m, i + 1, t0)
                bar.update(task, completed=i + 1, description=f"loss {history[-1]['loss']:.4f}")
            if rd is not None and (i + 1) % cfg.checkpoint_every == 0:
                _save(rd, model, opt_state, i + 1)
    jax.block_until_ready(model)
    n_timed = end - (timed_from or end)
    rate = n_timed / (time.perf_counter() - t_timed) if n_timed > 0 else float("nan")
    if rd is not None:
        _save(rd, model, opt_state, max(end, start_step))
        with (rd / "metrics.csv").open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=_FIELDS)
            w.writeheader()
            w.writerows(history)
        _plot(rd, history)
    return model, opt_state, rate


def train(
    counts: Real[np.ndarray, "time unit"],
    train_mask: Bool[np.ndarray, " time"],
    segment: Int[np.ndarray, " time"],
    cfg: TeacherConfig = TeacherConfig(),
    views: tuple[np.ndarray, np.ndarray] | None = None,
    run_dir: str | Path | None = None,
    progress: bool = True,
    stop_after: int | None = None,
) -> TrainResult:
    """Train a teacher on one session's binned counts.

    Args:
        counts: spike counts per 10 ms bin and unit (``BinnedSpikes.dense()``).
        train_mask: bins usable for training (e.g. ``splits.assignment == 0``).
        segment: epoch interval of each bin (``BinnedSpikes.segment``).
        cfg: settings.
        views: unit indices of the two views; default :func:`split_units` (seed
            ``cfg.seed``).
        run_dir: folder for checkpoints and logs; a run found there is resumed (its
            ``config.json`` must match ``cfg``).
        progress: show a progress bar.
        stop_after: stop (with a checkpoint) after this many steps in total, leaving
            the run to be resumed later; ``None`` runs ``cfg.n_steps``.

    Returns:
        :class:`TrainResult`.
    """
    from ._model import split_units

    counts = _check_counts(counts, train_mask, segment)
    if views is None:
        views = split_units(counts.shape[1], cfg.seed)
    starts = window_starts(np.asarray(train_mask), np.asarray(segment), cfg.window)
    if len(starts) == 0:
        raise ValueError(
            f"no training window of {cfg.window} bins fits inside one training block; use "
            "longer split blocks (contiguous_splits(block_s=...)) or a shorter window "
            "(fewer dilations, smaller context or horizons)."
        )
    optimizer = make_optimizer(cfg)
    model = _new_model(cfg, (len(views[0]), len(views[1])))
    model = _input_stats(model, counts, views, train_mask, poisson=cfg.obs_poisson)
    opt_state = optimizer.init(eqx.filter(model, eqx.is_array))
    rd = Path(run_dir) if run_dir is not None else None
    model, opt_state, start_step, history = _open_run(
        rd, cfg, {"a": views[0], "b": views[1]}, model, opt_state
    )
    end = cfg.n_steps if stop_after is None else min(cfg.n_steps, stop_after)
    data = (jnp.asarray(counts[:, views[0]]), jnp.asarray(counts[:, views[1]]), jnp.asarray(starts))
    model, _, rate = _run_steps(cfg, model, opt_state, data, start_step, end, history, rd, progress)
    return TrainResult(model, views, history, rate)


@dataclass
class MultiTrainResult:
    """Teacher trained on several sessions: ``views[s]`` are session ``s``'s two unit
    halves (its read-ins are ``2 s`` and ``2 s + 1``); history rows as in
    :class:`TrainResult` (means over sessions)."""

    model: Teacher
    views: list[tuple[np.ndarray, np.ndarray]]
    history: list[dict[str, float]]
    steps_per_s: float


def _check_counts(counts, train_mask, segment) -> np.ndarray:
    counts = np.asarray(counts, dtype=jnp.result_type(float))
    if counts.ndim != 2 or len(train_mask) != counts.shape[0] or len(segment) != counts.shape[0]:
        raise ValueError(
            f"counts must be (time, unit) with train_mask and segment of length time; got "
            f"counts {counts.shape}, train_mask {np.shape(train_mask)}, segment "
            f"{np.shape(segment)}."
        )
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise ValueError("counts must be finite and non-negative (spike counts per bin).")
    return counts


def train_sessions(
    sessions: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    cfg: TeacherConfig = TeacherConfig(),
    views: list[tuple[np.ndarray, np.ndarray]] | None = None,
    run_dir: str | Path | None = None,
    progress: bool = True,
    stop_after: int | None = None,
) -> MultiTrainResult:
    """Train one teacher on several sessions (different units, shared latent dynamics).

    Each session gets its own two read-ins (its units split into two views); the encoder
    and the predictor are shared. Every step draws ``cfg.batch`` windows from each
    session; the loss is the mean of the sessions' JEPA losses (each with its own
    SIGReg).

    Args:
        sessions: ``(counts, train_mask, segment)`` per session, as for :func:`train`.
        cfg: settings.
        views: per session, the unit indices of its two views; default
            :func:`split_units` (seed ``cfg.seed + s``).
        run_dir: folder for checkpoints and logs, as for :func:`train` (``views.npz``
            holds ``a0, b0, a1, b1, ...``); a run found there is resumed (same config
            and the same sessions' view sizes) and reproduces the uninterrupted run.
        progress: show a progress bar.
        stop_after: stop (with a checkpoint) after this many steps in total.

    Returns:
        :class:`MultiTrainResult`; the latents of session ``s`` are
        ``teacher_latents(model, counts_s, views[s], session=s)``.
    """
    from ._model import split_units

    if len(sessions) < 1:
        raise ValueError("need at least one session.")
    counts = [_check_counts(*sess) for sess in sessions]
    if views is None:
        views = [split_units(c.shape[1], cfg.seed + i) for i, c in enumerate(counts)]
    if len(views) != len(sessions):
        raise ValueError(f"got {len(views)} view pairs for {len(sessions)} sessions.")
    starts = []
    for i, (_, mask, seg) in enumerate(sessions):
        st = window_starts(np.asarray(mask), np.asarray(seg), cfg.window)
        if len(st) == 0:
            raise ValueError(
                f"session {i}: no training window of {cfg.window} bins fits inside one "
                "training block; use longer split blocks or a shorter window."
            )
        starts.append(jnp.asarray(st))
    model = _new_model(cfg, tuple(len(u) for pair in views for u in pair))
    for i, (c, (_, mask, _)) in enumerate(zip(counts, sessions, strict=True)):
        model = _input_stats(model, c, views[i], mask, first=2 * i, poisson=cfg.obs_poisson)
    optimizer = make_optimizer(cfg)
    opt_state = optimizer.init(eqx.filter(model, eqx.is_array))
    rd = Path(run_dir) if run_dir is not None else None
    named = {f"{h}{i}": v[j] for i, v in enumerate(views) for j, h in enumerate("ab")}
    model, opt_state, start_step, history = _open_run(rd, cfg, named, model, opt_state)
    end = cfg.n_steps if stop_after is None else min(cfg.n_steps, stop_after)
    data = (
        tuple(jnp.asarray(c[:, v[0]]) for c, v in zip(counts, views, strict=True)),
        tuple(jnp.asarray(c[:, v[1]]) for c, v in zip(counts, views, strict=True)),
        tuple(starts),
    )
    model, _, rate = _run_steps(cfg, model, opt_state, data, start_step, end, history, rd, progress)
    return MultiTrainResult(model, list(views), history, rate)
