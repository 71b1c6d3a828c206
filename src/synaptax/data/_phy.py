"""Read Kilosort / phy output folders into a :class:`Session`.

Files used (as written by Kilosort 2-4 and curated in phy):

* ``spike_times.npy`` - spike times in samples (integers), one per spike.
* ``spike_clusters.npy`` - cluster id of each spike (``spike_templates.npy`` if absent).
* ``params.py`` - ``sample_rate`` in Hz.
* ``cluster_group.tsv`` (or ``cluster_KSLabel.tsv``) - ``cluster_id`` and the label
  ``good`` / ``mua`` / ``noise``; ``cluster_info.tsv`` columns are added when present.
* ``amplitudes.npy`` (optional) - spike amplitudes, used for ``amplitude_cutoff``.
"""

from __future__ import annotations

import ast
import csv
from pathlib import Path

import numpy as np

from ._errors import SpikeDataError
from ._session import ArraySpikeTrains, Epochs, Session
from ._table import Table
from ._types import Real

__all__ = ["read_phy"]


def _read_params(path: Path) -> dict[str, object]:
    """Literal assignments of ``params.py``, parsed without executing the file."""
    try:
        tree = ast.parse(path.read_text(), filename=str(path))
    except SyntaxError as exc:
        raise SpikeDataError(
            path,
            f"params.py is not valid Python ({exc.msg}, line {exc.lineno}).",
            "fix or regenerate params.py.",
        ) from exc
    params: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                try:
                    params[target.id] = ast.literal_eval(node.value)
                except ValueError:
                    continue
    return params


def _read_tsv(path: Path) -> dict[str, list[str]]:
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    if not rows:
        raise SpikeDataError(path, "the file is empty.", "re-export it from phy.")
    header, body = rows[0], [r for r in rows[1:] if r]
    cols: dict[str, list[str]] = {h: [] for h in header}
    for i, r in enumerate(body, start=2):
        if len(r) != len(header):
            raise SpikeDataError(
                path,
                f"line {i} has {len(r)} fields, the header {len(header)}.",
                "re-export it from phy.",
            )
        for h, v in zip(header, r, strict=True):
            cols[h].append(v)
    return cols


def _load_npy(path: Path) -> np.ndarray:
    if not path.exists():
        raise SpikeDataError(
            path,
            "required file is missing from the phy folder.",
            "point to a complete Kilosort/phy output folder.",
        )
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise SpikeDataError(
            path,
            f"not a readable .npy file ({exc}).",
            "the file may be truncated; re-run the export.",
        ) from exc


def read_phy(
    folder: str | Path,
    exclude_groups: tuple[str, ...] = ("noise",),
    t_stop: Real | None = None,
) -> Session:
    """Read a Kilosort/phy folder.

    Args:
        folder: the output folder.
        exclude_groups: cluster labels to leave out (``noise`` by default; ``()`` keeps
            everything). Labels go to the ``quality`` column of the units table.
        t_stop: recording duration (s) if known; spikes beyond it are then an error.
            Default: the last spike.

    Returns:
        A :class:`Session` without epochs (add them with ``dataclasses.replace``).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SpikeDataError(folder, "not a folder.", "pass the Kilosort/phy output folder.")
    params_path = folder / "params.py"
    if not params_path.exists():
        raise SpikeDataError(
            params_path,
            "params.py is missing (it holds sample_rate).",
            "copy params.py from the Kilosort output.",
        )
    params = _read_params(params_path)
    fs = params.get("sample_rate")
    if not isinstance(fs, int | float) or isinstance(fs, bool) or fs <= 0:
        raise SpikeDataError(
            params_path,
            f"sample_rate is missing or invalid ({fs!r}).",
            "add e.g. `sample_rate = 30000.0`.",
        )
    samples = _load_npy(folder / "spike_times.npy").reshape(-1)
    clu_path = folder / "spike_clusters.npy"
    if not clu_path.exists() and (folder / "spike_templates.npy").exists():
        clu_path = folder / "spike_templates.npy"
    clusters = _load_npy(clu_path).reshape(-1).astype(np.int64)
    if samples.shape != clusters.shape:
        raise SpikeDataError(
            clu_path,
            f"{clusters.size} cluster ids for {samples.size} spike times in spike_times.npy.",
            "the two files come from different runs; re-export.",
        )
    if samples.dtype.kind not in "iu" and samples.dtype.kind != "f":
        raise SpikeDataError(
            folder / "spike_times.npy",
            f"unexpected dtype {samples.dtype}.",
            "expected sample indices.",
        )
    if samples.size and samples.min() < 0:
        raise SpikeDataError(
            folder / "spike_times.npy",
            f"negative sample index {samples.min()}.",
            "spike times must be samples >= 0.",
        )
    times = samples.astype(np.float64) / float(fs)

    labels: dict[int, str] = {}
    for name in ("cluster_group.tsv", "cluster_KSLabel.tsv"):
        p = folder / name
        if p.exists():
            cols = _read_tsv(p)
            key = next((c for c in cols if c != "cluster_id"), None)
            if "cluster_id" not in cols or key is None:
                raise SpikeDataError(
                    p, "expected columns cluster_id and group.", "re-export it from phy."
                )
            labels = {int(c): g for c, g in zip(cols["cluster_id"], cols[key], strict=True)}
            break
    else:
        raise SpikeDataError(
            folder / "cluster_group.tsv",
            "missing (no cluster_group.tsv or cluster_KSLabel.tsv).",
            "save the curation in phy, or copy Kilosort's cluster_KSLabel.tsv.",
        )

    order = np.argsort(clusters, kind="stable")
    ids, counts = np.unique(clusters, return_counts=True)
    keep = np.array([labels.get(int(c), "unsorted") not in exclude_groups for c in ids])
    offsets = np.concatenate([[0], np.cumsum(counts)])
    flat_all = times[order]
    pieces = [flat_all[offsets[i] : offsets[i + 1]] for i in np.flatnonzero(keep)]
    spikes = ArraySpikeTrains.from_list(pieces, source=str(folder))
    unit_ids = ids[keep]
    unit_cols: dict[str, np.ndarray] = {
        "unit_id": unit_ids.astype(np.int64),
        "quality": np.array([labels.get(int(c), "unsorted") for c in unit_ids], dtype=object),
    }
    amplitudes = None
    amp_path = folder / "amplitudes.npy"
    if amp_path.exists():
        amps = _load_npy(amp_path).reshape(-1)
        if amps.shape != samples.shape:
            raise SpikeDataError(
                amp_path,
                f"{amps.size} amplitudes for {samples.size} spikes.",
                "the files come from different runs; re-export.",
            )
        amps_sorted = amps[order].astype(np.float64)
        amplitudes = ArraySpikeTrains.from_list(
            [amps_sorted[offsets[i] : offsets[i + 1]] for i in np.flatnonzero(keep)],
            source=str(amp_path),
        )
    info_path = folder / "cluster_info.tsv"
    if info_path.exists():
        info = _read_tsv(info_path)
        if "cluster_id" in info:
            row = {int(c): i for i, c in enumerate(info["cluster_id"])}
            for col, values in info.items():
                if col in ("cluster_id", "id", "group", "KSLabel") or col in unit_cols:
                    continue
                vals = [values[row[int(c)]] if int(c) in row else "" for c in unit_ids]
                try:
                    unit_cols[col] = np.array([float(v) for v in vals])
                except ValueError:
                    unit_cols[col] = np.array(vals, dtype=object)
    end = float(times.max()) if times.size else 0.0
    return Session(
        spikes=spikes,
        units=Table(unit_cols),
        epochs=Epochs.empty(),
        t_start=0.0,
        t_stop=end if t_stop is None else float(t_stop),
        source=str(folder),
        amplitudes=amplitudes,
    )
