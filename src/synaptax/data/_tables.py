"""Read spike times from plain tables: CSV, NPZ, MATLAB files and trial rasters."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import numpy as np
import scipy.io

from ._errors import SpikeDataError
from ._session import ArraySpikeTrains, Epochs, Session
from ._table import Table
from ._types import Real

__all__ = ["read_mat_spike_times", "read_spike_table", "read_trial_raster_csv"]

_UNIT_NAMES = ("unit_id", "unit", "cluster_id", "cluster", "neuron", "cell")
_TIME_NAMES = ("spike_time", "spike_times", "time", "times", "t")
_SCALE = {"s": 1.0, "ms": 1e-3, "us": 1e-6}


def _scale(time_unit: str, path: Path) -> float:
    if time_unit not in _SCALE:
        raise SpikeDataError(
            path, f"unknown time_unit {time_unit!r}.", f"use one of {sorted(_SCALE)}."
        )
    return _SCALE[time_unit]


def _session_from_long(
    units: np.ndarray,
    times: np.ndarray,
    path: Path,
    t_stop: Real | None,
    epochs: Epochs | None = None,
) -> Session:
    ids, inverse = np.unique(units, return_inverse=True)
    order = np.lexsort((np.arange(len(times)), inverse))  # stable by unit, file order kept
    counts = np.bincount(inverse, minlength=len(ids))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    spikes = ArraySpikeTrains(times[order], offsets, source=str(path))
    end = float(times.max()) if times.size else 0.0
    try:
        unit_ids = ids.astype(np.int64)
    except (ValueError, TypeError):
        unit_ids = np.arange(len(ids), dtype=np.int64)
    cols = {"unit_id": unit_ids, "unit_name": ids.astype(str).astype(object)}
    return Session(
        spikes=spikes,
        units=Table(cols),
        epochs=epochs if epochs is not None else Epochs.empty(),
        t_start=0.0,
        t_stop=end if t_stop is None else float(t_stop),
        source=str(path),
    )


def read_spike_table(path: str | Path, time_unit: str = "s", t_stop: Real | None = None) -> Session:
    """Read spike times from a long table: one row per spike, a unit and a time.

    * CSV with a header naming a unit column (``unit_id``, ``unit``, ``cluster``...) and
      a time column (``spike_time``, ``time``, ``t``...).
    * NPZ with arrays ``spike_times`` and ``spike_units`` of equal length, or one array
      per unit named ``unit_<id>``.

    Args:
        path: the file.
        time_unit: unit of the times in the file: ``"s"``, ``"ms"`` or ``"us"``.
        t_stop: session end (s), if known; later spikes are then an error.
    """
    path = Path(path)
    if not path.exists():
        raise SpikeDataError(path, "file not found.", "check the path.")
    scale = _scale(time_unit, path)
    if path.suffix.lower() == ".npz":
        try:
            z = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise SpikeDataError(path, f"not a readable .npz file ({exc}).") from exc
        with z:
            keys = list(z.keys())
            if "spike_times" in keys and "spike_units" in keys:
                times, units = z["spike_times"].ravel(), z["spike_units"].ravel()
            elif keys and all(k.startswith("unit_") for k in keys):
                units = np.concatenate([np.full(z[k].size, k[5:]) for k in keys])
                times = np.concatenate([z[k].ravel() for k in keys])
            else:
                raise SpikeDataError(
                    path,
                    f"unrecognised arrays {keys}.",
                    "store `spike_times` and `spike_units`, or one "
                    "array per unit named `unit_<id>`.",
                )
        if times.shape != units.shape:
            raise SpikeDataError(path, f"{times.size} spike times but {units.size} units.")
        return _session_from_long(units, times.astype(np.float64) * scale, path, t_stop)
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        header = [h.strip().lower() for h in next(reader, [])]
        ucol = next((header.index(n) for n in _UNIT_NAMES if n in header), None)
        tcol = next((header.index(n) for n in _TIME_NAMES if n in header), None)
        if ucol is None or tcol is None:
            raise SpikeDataError(
                path,
                f"CSV header {header} lacks a unit column "
                f"({'/'.join(_UNIT_NAMES)}) or a time column "
                f"({'/'.join(_TIME_NAMES)}).",
                "add a header row.",
            )
        units_l, times_l = [], []
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            try:
                times_l.append(float(row[tcol]))
            except (ValueError, IndexError) as exc:
                raise SpikeDataError(path, f"line {line}: bad spike time {row!r}.") from exc
            units_l.append(row[ucol].strip())
    units_a = np.array(units_l)
    try:
        units_a = units_a.astype(np.int64)
    except ValueError:
        pass
    return _session_from_long(units_a, np.array(times_l) * scale, path, t_stop)


def read_mat_spike_times(
    path: str | Path,
    variable: str | None = None,
    time_unit: str = "s",
    t_stop: Real | None = None,
) -> Session:
    """Read a MATLAB file holding a cell array of spike-time vectors (one per unit).

    Args:
        path: the ``.mat`` file (v5; v7.3 files are HDF5 and not supported here).
        variable: name of the cell array; by default the only cell array in the file.
        time_unit: unit of the stored times (``"s"``, ``"ms"``, ``"us"``).
        t_stop: session end (s), if known.
    """
    path = Path(path)
    scale = _scale(time_unit, path)
    try:
        mat = scipy.io.loadmat(path)
    except (ValueError, OSError, NotImplementedError) as exc:
        raise SpikeDataError(
            path,
            f"scipy.io.loadmat could not read it ({exc}).",
            "save as MATLAB v5/v7 (`save -v7`).",
        ) from exc
    cells = {
        k: v
        for k, v in mat.items()
        if not k.startswith("__") and isinstance(v, np.ndarray) and v.dtype == object
    }
    if variable is None:
        if len(cells) != 1:
            raise SpikeDataError(
                path,
                f"expected one cell array, found {sorted(cells)}.",
                "name it with variable=...",
            )
        variable = next(iter(cells))
    if variable not in cells:
        raise SpikeDataError(path, f"no cell array named {variable!r}; found {sorted(cells)}.")
    trains = [np.asarray(c, dtype=np.float64).ravel() * scale for c in cells[variable].ravel()]
    spikes = ArraySpikeTrains.from_list(trains, source=str(path))
    end = max((float(t.max()) for t in trains if t.size), default=0.0)
    return Session(
        spikes=spikes,
        units=Table({"unit_id": np.arange(len(trains))}),
        epochs=Epochs.empty(),
        t_start=0.0,
        t_stop=end if t_stop is None else float(t_stop),
        source=str(path),
    )


def read_trial_raster_csv(
    path: str | Path,
    trial_s: Real = 0.5,
    bin_s: Real = 0.001,
    label_columns: int = 2,
) -> Session:
    """Read a trial raster (rows = trials, columns = time bins holding the id of the unit
    that fired, 0 for none), as in the auditory cortex data of Szabó & Barthó (2021).

    Trials are laid end to end: trial ``k`` spans ``[k trial_s, (k + 1) trial_s)`` s and
    a spike in bin ``j`` is placed at the bin centre ``k trial_s + (j + 1/2) bin_s``. The
    trailing ``label_columns`` (e.g. ``sound_ID``, ``role``) become the trials table,
    and runs of consecutive trials with the same last label become epochs.
    """
    path = Path(path)
    if not path.exists():
        raise SpikeDataError(path, "file not found.", "check the path.")
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    if len(rows) < 2:
        raise SpikeDataError(path, "no trials in the file.")
    header, body = rows[0], [r for r in rows[1:] if r]
    n_bins = len(header) - label_columns
    try:
        raster = np.array([[int(float(v)) for v in r[:n_bins]] for r in body], dtype=np.int64)
    except ValueError as exc:
        raise SpikeDataError(path, f"non-numeric raster value ({exc}).") from exc
    if n_bins * bin_s > trial_s + 1e-12:
        raise SpikeDataError(path, f"{n_bins} bins of {bin_s} s exceed trial_s={trial_s}.")
    trial, col = np.nonzero(raster)
    times = trial * trial_s + (col + 0.5) * bin_s
    units = raster[trial, col]
    n_trials = raster.shape[0]
    labels = {
        header[n_bins + j]: np.array([r[n_bins + j] for r in body], dtype=object)
        for j in range(label_columns)
    }
    starts = np.arange(n_trials) * trial_s
    epochs = Epochs.empty()
    if label_columns:
        last = labels[header[-1]]
        change = np.flatnonzero(np.r_[True, last[1:] != last[:-1]])
        ends = np.r_[change[1:], n_trials]
        epochs = Epochs(starts[change], ends * trial_s, last[change])
    session = _session_from_long(units, times, path, n_trials * trial_s, epochs)
    trials = Table({"start_time": starts, "stop_time": starts + trial_s, **labels})
    return replace(session, trials=trials)
