"""``synaptax teacher``: train a LeJEPA teacher from a TOML file and evaluate a run.

A config file (every section and key optional)::

    [data]
    source = "synthetic"      # or a path readable by synaptax.data.load_session, or a
                              #   list of them: one teacher for several sessions
                              #   (synaptax.jepa.train_sessions; synthetic entries of a
                              #   list get seeds seed, seed + 1, ...)
    n_units = 300             # synthetic only: n_units, latent_dim, active_s,
    latent_dim = 6            #   spontaneous_s, passive_s, seed
    bin_ms = 10.0
    epochs = ["active", "passive"]   # epochs to bin (synthetic default); all when absent
    split = "blocks"          # "blocks" (contiguous_splits) or "epochs": train/test bins
                              #   are the epochs named "train" / "test"
    block_s = 10.0
    gap_s = 0.5
    probe = "state"           # "state" (bin labels) or "trials:COLUMN" (a trials-table
                              #   column, e.g. "trials:sound_ID")

    [teacher]                 # any TeacherConfig field
    n_steps = 600
    lam = 0.05

The run directory receives the config (``teacher.toml``), the checkpoints and logs of
:func:`synaptax.jepa.train`, and ``report.json`` from the evaluation (the teacher, the
PCA baselines and the LDS baseline, all with the teacher's latent dimension; for a
teacher trained with the Poisson observation term also ``teacher_refined``, its latents
refined by :func:`synaptax.jepa.refined_latents`). With several sessions the report
holds one such table per session (``session_0``, ``session_1``, ...), each on that
session's held-out bins.
"""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table as RichTable

app = typer.Typer(help="LeJEPA teacher: train and evaluate.", no_args_is_help=True)
console = Console()

_DATA_KEYS = {
    "source", "n_units", "latent_dim", "active_s", "spontaneous_s", "passive_s", "seed",
    "bin_ms", "epochs", "split", "block_s", "gap_s", "probe",
}  # fmt: skip


def _load_config(path: Path) -> dict:
    try:
        cfg = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{path}: config file not found.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc}). Fix the syntax.") from None
    unknown = sorted(set(cfg) - {"data", "teacher"})
    bad = sorted(set(cfg.get("data", {})) - _DATA_KEYS)
    if unknown or bad:
        raise ValueError(
            f"{path}: unknown section(s) {unknown} or [data] key(s) {bad}; sections are "
            f"[data] and [teacher], [data] keys are {sorted(_DATA_KEYS)}."
        )
    return cfg


def _sources(dcfg: dict) -> list[dict]:
    """One ``[data]`` table per session: ``source`` a string, or a list of sources
    (synthetic entries then get seeds ``seed``, ``seed + 1``, ... in list order)."""
    source = dcfg.get("source", "synthetic")
    if isinstance(source, str):
        return [dcfg]
    if not isinstance(source, list) or not source or not all(isinstance(v, str) for v in source):
        raise ValueError(
            f"[data] source must be a string or a non-empty list of strings, got {source!r}."
        )
    seed = int(dcfg.get("seed", 0))
    return [{**dcfg, "source": v, "seed": seed + i} for i, v in enumerate(source)]


def _prepare(dcfg: dict):
    """Counts, train/test masks, segments, probe labels and true latents (or None)."""
    from synaptax import data

    source = dcfg.get("source", "synthetic")
    truth = None
    if source == "synthetic":
        kw = {k: dcfg[k] for k in ("n_units", "latent_dim", "active_s", "spontaneous_s",
                                   "passive_s", "seed") if k in dcfg}  # fmt: skip
        kw.setdefault("n_units", 300)
        kw.setdefault("latent_dim", 6)
        session, truth = data.make_synthetic_session(bad_fraction=0.0, **kw)
        epochs = dcfg.get("epochs", ["active", "passive"])
    else:
        session = data.load_session(source)
        default = ["train", "val", "test"] if dcfg.get("split") == "epochs" else None
        epochs = dcfg.get("epochs", default)
    b = data.bin_spikes(session, bin_ms=float(dcfg.get("bin_ms", 10.0)), epochs=epochs)
    if dcfg.get("split", "blocks") == "epochs":
        train, test = b.labels == "train", b.labels == "test"
        if not train.any() or not test.any():
            raise ValueError(
                "split = 'epochs' needs epochs named 'train' and 'test'; this session has "
                f"{sorted(set(b.labels))}. Use split = 'blocks'."
            )
    else:
        sp = data.contiguous_splits(
            b, (0.7, 0.15, 0.15), block_s=float(dcfg.get("block_s", 10.0)),
            gap_s=float(dcfg.get("gap_s", 0.5)),
        )  # fmt: skip
        train, test = sp.assignment == 0, sp.assignment == 2
    probe = dcfg.get("probe", "state")
    if probe == "state":
        labels = b.labels
    elif probe.startswith("trials:"):
        col = probe.split(":", 1)[1]
        tr = session.trials
        k = np.searchsorted(np.asarray(tr["start_time"]), b.bin_centers, side="right") - 1
        labels = np.asarray(tr[col]).astype(str)[np.clip(k, 0, None)]
    else:
        raise ValueError(f"probe must be 'state' or 'trials:COLUMN', got {probe!r}.")
    x = None if truth is None else truth.latents_in_bins(b.bin_starts, b.bin_width)
    return b.dense().astype(np.float32), train, test, b.segment, labels, x


def evaluate_run(run_dir: Path) -> dict:
    """Evaluate a trained run on its held-out bins, with the PCA and LDS baselines; a run
    on several sessions gets one table per session (``session_0``, ...)."""
    from synaptax import jepa

    cfg = _load_config(run_dir / "teacher.toml")
    tcfg, model, views = jepa.load_sessions_run(run_dir)
    dcfgs = _sources(cfg.get("data", {}))
    if len(dcfgs) != len(views):
        raise ValueError(
            f"{run_dir}: the config names {len(dcfgs)} session(s), the run was trained on "
            f"{len(views)}."
        )
    tables = [_evaluate(tcfg, model, views[s], s, _prepare(d)) for s, d in enumerate(dcfgs)]
    rows = tables[0] if len(tables) == 1 else {f"session_{s}": t for s, t in enumerate(tables)}
    (run_dir / "report.json").write_text(json.dumps(rows, indent=2) + "\n")
    return rows


def _evaluate(tcfg, model, views, session: int, prepared) -> dict:
    """One session's table: the teacher (and its refined latents), PCA and the LDS."""
    from synaptax import jepa

    counts, train, test, segment, labels, x = prepared
    rows = {}
    z = jepa.teacher_latents(model, counts, views, session)
    cands = {"teacher": z}
    if model.readouts is not None and tcfg.obs_poisson:
        # a teacher with the Poisson observation term: also its refined latents
        cands["teacher_refined"] = jepa.refined_latents(
            model, counts, views, train, segment, session
        )[0]
    for name, causal in (("pca_causal", True), ("pca_acausal", False)):
        cands[name] = jepa.pca_latents(counts, segment, train, tcfg.latent_dim, causal=causal)
    cands["lds"] = jepa.lds_latents(counts, segment, train, tcfg.latent_dim, n_iter=20)
    for name, zz in cands.items():
        r = {
            "effective_rank_frac": jepa.effective_rank(zz[test]) / zz.shape[1],
            "latent_std": float(np.mean(zz[test].std(0))),
            "probe_acc": jepa.linear_probe_accuracy(zz, labels, train, test),
        }
        if x is not None:
            r["gt_latent_cca"] = jepa.heldout_cca(zz, x, train, test)
        rows[name] = r
    rows["teacher"]["pred_r2"] = jepa.future_r2(model, counts, views, test, session)
    rows["probe_chance"] = {
        "probe_acc": float(np.max(np.unique(labels[test], return_counts=True)[1]) / test.sum())
    }
    return rows


@app.command()
def train(
    config: Annotated[Path, typer.Argument(help="TOML config (see `synaptax teacher --help`).")],
    run_dir: Annotated[Path, typer.Option(help="Run directory (checkpoints, logs).")] = Path(
        "teacher_run"
    ),
) -> None:
    """Train a teacher (resuming a run found in RUN_DIR), then evaluate it."""
    from synaptax import jepa

    try:
        cfg = _load_config(config)
        tcfg = jepa.TeacherConfig.from_dict(cfg.get("teacher", {}))
        sessions = [_prepare(d) for d in _sources(cfg.get("data", {}))]
    except (ValueError, OSError) as exc:
        console.print(f"error: {exc}", markup=False)
        raise typer.Exit(code=2) from None
    run_dir.mkdir(parents=True, exist_ok=True)
    if config.resolve() != (run_dir / "teacher.toml").resolve():
        shutil.copyfile(config, run_dir / "teacher.toml")
    if len(sessions) == 1:
        counts, train_mask, _, segment, _, _ = sessions[0]
        res = jepa.train(counts, train_mask, segment, tcfg, run_dir=run_dir)
    else:
        res = jepa.train_sessions(
            [(c, tr, seg) for c, tr, _, seg, _, _ in sessions], tcfg, run_dir=run_dir
        )
    console.print(
        f"trained {tcfg.n_steps} steps on {len(sessions)} session(s) "
        f"({res.steps_per_s:.1f} steps/s) into {run_dir}"
    )
    _print(evaluate_run(run_dir))


@app.command("eval")
def eval_cmd(
    run_dir: Annotated[Path, typer.Argument(help="A run directory made by `teacher train`.")],
) -> None:
    """Evaluate a trained run on held-out time; writes RUN_DIR/report.json."""
    try:
        rows = evaluate_run(run_dir)
    except (ValueError, OSError) as exc:
        console.print(f"error: {exc}", markup=False)
        raise typer.Exit(code=2) from None
    _print(rows)


def _print(rows: dict, title: str = "held-out evaluation") -> None:
    if all(k.startswith("session_") for k in rows):
        for name, table in rows.items():
            _print(table, f"held-out evaluation, {name}")
        return
    keys = sorted({k for r in rows.values() for k in r})
    t = RichTable(title=title)
    t.add_column("model")
    for k in keys:
        t.add_column(k)
    for name, r in rows.items():
        t.add_row(name, *(f"{r[k]:.3f}" if k in r else "" for k in keys))
    console.print(t)
