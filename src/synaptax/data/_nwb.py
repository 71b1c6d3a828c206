"""Read and write sessions as NWB files in the Allen Visual Behavior Neuropixels layout.

Layout (as in DANDI 000713):

* ``units``: ``spike_times`` (ragged, seconds) and one scalar column per metric
  (``isi_violations``, ``amplitude_cutoff``, ``presence_ratio``, ``snr``,
  ``firing_rate``, ``quality``, ``structure_acronym``, ...).
* ``intervals/<stimulus_name>_presentations``: one table per stimulus type, with
  ``stimulus_block``, ``stimulus_name``, ``active``, ``image_name``, ``is_change``,
  ``omitted``; ``intervals/trials``.
* ``processing/running/running_speed`` (cm/s), ``processing/licking/licks``,
  ``processing/eye_tracking/pupil_area``.

Reading is lazy: the reader loads the units' metadata and the ``spike_times_index``
offsets only; spike times stay in the file and are read a block of units at a time.
Epochs come from the NWB ``epochs`` table (first tag = name) if present, otherwise from
the stimulus blocks: the block of the task is ``active``, a replay of the same stimulus
without the task ``passive``, a grey screen ``spontaneous``; others keep their name.
"""

from __future__ import annotations

import uuid
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pynwb
from hdmf.common import VectorIndex
from pynwb import NWBHDF5IO, NWBFile
from pynwb.epoch import TimeIntervals

from ._errors import SpikeDataError
from ._session import Epochs, NWBSpikeTrains, Session, TimeSeries
from ._table import Table
from ._types import Real

__all__ = ["read_nwb", "write_nwb"]

_BEHAVIOUR_MODULES = {"running_speed": "running", "licks": "licking", "pupil_area": "eye_tracking"}
_UNIT_SKIP = {
    "spike_times",
    "electrodes",
    "electrode_group",
    "group",
    "waveform_mean",
    "waveform_sd",
    "obs_intervals",
    "spike_amplitudes",
}


def _check_hdf5(path: Path) -> None:
    if not path.exists():
        raise SpikeDataError(path, "file not found.", "check the path.")
    if not h5py.is_hdf5(path):
        raise SpikeDataError(
            path,
            "not an HDF5/NWB file (no HDF5 signature).",
            "pass an NWB 2.x file, or use read_phy / read_spike_table for other formats.",
        )
    try:
        with h5py.File(path, "r") as f:
            kind = f.attrs.get("neurodata_type")
            kind = kind.decode() if isinstance(kind, bytes) else kind
            if kind != "NWBFile":
                raise SpikeDataError(
                    path,
                    f"an HDF5 file but not NWB (root neurodata_type={kind!r}).",
                    "pass an NWB 2.x file.",
                )
    except OSError as exc:
        raise SpikeDataError(
            path,
            f"cannot open the HDF5 file; it may be truncated or corrupt ({exc}).",
            "download or copy the file again and check its size.",
        ) from exc


def _column(data: object) -> np.ndarray | None:
    """A 1-D scalar column as numpy (strings decoded), or None for anything else."""
    if isinstance(data, h5py.Dataset):
        if data.ndim != 1:
            return None
        if h5py.check_string_dtype(data.dtype) is not None:
            raw = data[:]
            return np.array([v.decode() if isinstance(v, bytes) else v for v in raw], dtype=object)
        if data.dtype.kind not in "biuf":
            return None
        return np.asarray(data[:])
    arr = np.asarray(data)
    if arr.ndim != 1 or arr.dtype.kind not in "biufUO":
        return None
    if arr.dtype.kind == "O":
        if len(arr) and not isinstance(arr[0], str | bytes):
            return None
        arr = np.array([a.decode() if isinstance(a, bytes) else a for a in arr], dtype=object)
    return arr


def _read_dynamic_table(table: object) -> Table:
    cols: dict[str, np.ndarray] = {}
    for name in ["start_time", "stop_time", *table.colnames]:  # type: ignore[attr-defined]
        if name in cols or name not in table:  # type: ignore[operator]
            continue
        col = table[name]  # type: ignore[index]
        if isinstance(col, VectorIndex):
            continue
        values = _column(col.data)
        if values is not None:
            cols[name] = values
    return Table(cols)


def _concat_tables(tables: list[Table]) -> Table:
    if not tables:
        return Table()
    names = list(dict.fromkeys(c for t in tables for c in t))
    cols = {}
    for name in names:
        parts = []
        for t in tables:
            if name in t:
                parts.append(np.asarray(t[name]))
            else:
                parts.append(np.full(t.n_rows, None, dtype=object))
        kinds = {p.dtype.kind for p in parts}
        cols[name] = (
            np.concatenate(parts)
            if len(kinds) == 1
            else np.concatenate([p.astype(object) for p in parts])
        )
    merged = Table(cols)
    return merged.select(np.argsort(merged["start_time"], kind="stable"))


def _epochs_from_stimulus(stim: Table) -> Epochs:
    if stim.n_rows == 0 or "stimulus_block" not in stim:
        return Epochs.empty()
    blocks = np.asarray(stim["stimulus_block"])
    names = (
        np.asarray(stim["stimulus_name"]).astype(str)
        if "stimulus_name" in stim
        else np.full(len(blocks), "block", dtype=object)
    )
    active = (
        np.asarray(stim["active"]).astype(bool) if "active" in stim else np.zeros(len(blocks), bool)
    )
    active_names = set(names[active])
    starts, stops, labels = [], [], []
    for b in dict.fromkeys(blocks.tolist()):
        sel = blocks == b
        stim_name = str(names[sel][0])
        if active[sel].any():
            label = "active"
        elif stim_name in active_names:
            label = "passive"
        elif "spontaneous" in stim_name.lower():
            label = "spontaneous"
        else:
            label = stim_name
        starts.append(float(np.min(stim["start_time"][sel])))
        stops.append(float(np.max(stim["stop_time"][sel])))
        labels.append(label)
    order = np.argsort(starts, kind="stable")
    return Epochs(
        np.array(starts)[order], np.array(stops)[order], np.array(labels, dtype=object)[order]
    )


def read_nwb(path: str | Path, t_stop: Real | None = None) -> Session:
    """Read an NWB file into a lazy :class:`Session` (spike times stay in the file).

    Args:
        path: the ``.nwb`` file.
        t_stop: session end (s), if known; spike times beyond it are then an error.
            By default the end is the latest of the epochs, stimuli, trials, behaviour and
            spikes.

    Raises:
        SpikeDataError: the file is missing, not NWB, truncated, has no units table or
            no ``spike_times`` column.

    Example:
        >>> session = read_nwb("session.nwb")
        >>> session.n_units, session.epochs.names
    """
    path = Path(path)
    _check_hdf5(path)
    try:
        with warnings.catch_warnings():
            # Files written by other tools often carry fields that pynwb now deprecates
            # (e.g. Device.manufacturer); those warnings are about the file, not the call.
            warnings.filterwarnings("ignore", category=DeprecationWarning, module="pynwb")
            warnings.filterwarnings("ignore", category=DeprecationWarning, module="hdmf")
            warnings.filterwarnings("ignore", message=".*namespace.*", category=UserWarning)
            with NWBHDF5IO(path=str(path), mode="r") as io:
                nwb = io.read()
                return _session_from_nwbfile(nwb, path, t_stop)
    except SpikeDataError:
        raise
    except Exception as exc:  # pynwb/hdmf raise many types on malformed files
        raise SpikeDataError(
            path,
            f"pynwb could not read the file ({type(exc).__name__}: {exc}).",
            "check that it is a valid NWB 2.x file (e.g. with `nwbinspector`).",
        ) from exc


def _session_from_nwbfile(nwb: Any, path: Path, t_stop: Real | None) -> Session:
    units = nwb.units
    if units is None:
        raise SpikeDataError(
            path,
            "the file has no units table (/units).",
            "spike-sorted units are needed; this may be a raw-data file.",
        )
    if "spike_times" not in units.colnames:
        raise SpikeDataError(
            path,
            "the units table has no 'spike_times' column.",
            "write spike times with Units.add_unit(spike_times=...).",
        )
    st = units["spike_times"]
    if isinstance(st, VectorIndex):
        index = np.asarray(st.data[:], dtype=np.int64)
        flat = st.target.data
    else:  # a single unit written without index is not valid NWB
        raise SpikeDataError(
            path,
            "units/spike_times has no spike_times_index.",
            "write spike times as a ragged column.",
        )
    offsets = np.concatenate([[0], index]).astype(np.int64)
    if not isinstance(flat, h5py.Dataset):
        raise SpikeDataError(path, "units/spike_times is not an HDF5 dataset.")
    if np.any(np.diff(offsets) < 0) or offsets[-1] != flat.shape[0]:
        raise SpikeDataError(
            path,
            "units/spike_times_index is inconsistent with "
            f"spike_times ({offsets[-1]} vs {flat.shape[0]} spikes).",
            "the file is corrupt; re-export it.",
        )
    unit_cols: dict[str, np.ndarray] = {"unit_id": np.asarray(units.id.data[:], np.int64)}
    for name in units.colnames:
        if name in _UNIT_SKIP or isinstance(units[name], VectorIndex):
            continue
        values = _column(units[name].data)
        if values is not None and len(values) == len(offsets) - 1:
            unit_cols[name] = values
    _join_structure(nwb, unit_cols)
    spikes = NWBSpikeTrains(path, str(flat.name), offsets)
    amplitudes = None
    if "spike_amplitudes" in units.colnames:
        amp = units["spike_amplitudes"]
        if isinstance(amp, VectorIndex) and isinstance(amp.target.data, h5py.Dataset):
            amp_off = np.concatenate([[0], np.asarray(amp.data[:], dtype=np.int64)])
            if np.array_equal(amp_off, offsets):
                amplitudes = NWBSpikeTrains(path, str(amp.target.data.name), offsets)

    stim_tables, trials = [], Table()
    for name, table in (nwb.intervals or {}).items():
        if name.endswith("presentations") and isinstance(table, TimeIntervals):
            t = _read_dynamic_table(table)
            if "stimulus_name" not in t:
                stim_name = name.removesuffix("_presentations")
                t = t.with_columns(stimulus_name=np.full(t.n_rows, stim_name, dtype=object))
            stim_tables.append(t)
    stimulus = _concat_tables(stim_tables)
    if nwb.trials is not None:
        trials = _read_dynamic_table(nwb.trials)

    if nwb.epochs is not None and len(nwb.epochs) > 0:
        ep = _read_dynamic_table(nwb.epochs)
        tags = nwb.epochs["tags"][:] if "tags" in nwb.epochs.colnames else None
        names = [
            (t[0] if len(t) else f"epoch{i}") if tags is not None else f"epoch{i}"
            for i, t in enumerate(tags if tags is not None else [[]] * ep.n_rows)
        ]
        epochs = Epochs(ep["start_time"], ep["stop_time"], np.array(names, dtype=object))
    else:
        epochs = _epochs_from_stimulus(stimulus)

    behaviour: dict[str, TimeSeries] = {}
    for module in nwb.processing.values():
        for name, obj in module.data_interfaces.items():
            if isinstance(obj, pynwb.TimeSeries):
                obj: Any = obj
                ts = (
                    np.asarray(obj.timestamps[:])
                    if obj.timestamps is not None
                    else obj.starting_time + np.arange(len(obj.data)) / obj.rate
                )
                behaviour[name] = TimeSeries(ts, np.asarray(obj.data[:]), obj.unit or "")
    pupil = _allen_pupil_area(nwb)
    if pupil is not None and "pupil_area" not in behaviour:
        behaviour["pupil_area"] = pupil

    extents = [0.0, *epochs.stop.tolist()]
    for tab in (stimulus, trials):
        if "stop_time" in tab and tab.n_rows:
            extents.append(float(np.nanmax(tab["stop_time"])))
    extents += [float(ts.timestamps[-1]) for ts in behaviour.values() if len(ts.timestamps)]
    if t_stop is None:
        counts = np.diff(offsets)
        last = offsets[1:][counts > 0] - 1
        if last.size:
            extents.append(float(np.max(flat[np.unique(last)])))
        t_stop = max(extents)
    end: float = float(t_stop)  # pyright: ignore[reportArgumentType]
    return Session(
        spikes=spikes,
        units=Table(unit_cols),
        epochs=epochs,
        t_start=0.0,
        t_stop=end,
        stimulus=stimulus,
        trials=trials,
        behaviour=behaviour,
        source=str(path),
        amplitudes=amplitudes,
    )


def _allen_pupil_area(nwb: Any) -> TimeSeries | None:
    """Pupil area from the Allen ``EyeTracking`` acquisition (ndx-ellipse-eye-tracking:
    ``pupil_tracking.area`` with its timestamps), if the file has one."""
    for obj in nwb.acquisition.values():
        tracking = getattr(obj, "pupil_tracking", None)
        area = getattr(tracking, "area", None)
        stamps = getattr(tracking, "timestamps", None)
        if area is None or stamps is None:
            continue
        try:
            stamps = stamps.timestamps if hasattr(stamps, "timestamps") else stamps
            return TimeSeries(np.asarray(stamps[:]), np.asarray(area[:]), "pixels^2")
        except (TypeError, ValueError, IndexError):
            return None
    return None


def _join_structure(nwb: Any, unit_cols: dict[str, np.ndarray]) -> None:
    """Add ``structure_acronym`` from the electrodes table via ``peak_channel_id``
    (the VBN layout keeps brain areas on channels, not units)."""
    if "structure_acronym" in unit_cols or "peak_channel_id" not in unit_cols:
        return
    el = nwb.electrodes
    if el is None:
        return
    col = (
        "structure_acronym"
        if "structure_acronym" in el.colnames
        else ("location" if "location" in el.colnames else None)
    )
    if col is None:
        return
    ids = np.asarray(el.id.data[:])
    values = _column(el[col].data)
    if values is None:
        return
    lookup = dict(zip(ids.tolist(), values.tolist(), strict=True))
    unit_cols["structure_acronym"] = np.array(
        [lookup.get(int(c), "") for c in unit_cols["peak_channel_id"]], dtype=object
    )


def write_nwb(
    session: Session,
    path: str | Path,
    *,
    identifier: str | None = None,
    description: str = "synaptax session",
    start_time: datetime | None = None,
    write_epochs: bool | None = None,
) -> Path:
    """Write a session to an NWB file in the Allen Visual Behavior Neuropixels layout.

    Args:
        session: the session (its spike times are read a unit at a time).
        path: output ``.nwb`` file; written to a temporary name and renamed when
            complete, so a failed write never leaves a partial file.
        identifier, description, start_time: NWB file metadata.
        write_epochs: also write the NWB ``epochs`` table (tag = epoch name). By default
            only when the session has no stimulus table to derive the epochs from.

    Returns:
        The path written.
    """
    path = Path(path)
    nwb: Any = NWBFile(
        session_description=description,
        identifier=identifier or str(uuid.uuid4()),
        session_start_time=start_time or datetime(2026, 1, 1, tzinfo=UTC),
    )
    meta = {k: np.asarray(v) for k, v in session.units.columns.items() if k != "unit_id"}
    for name in meta:
        nwb.add_unit_column(name=name, description=name)
    for i in range(session.n_units):
        row = {k: _py(v[i]) for k, v in meta.items()}
        nwb.add_unit(spike_times=session.spike_times(i), id=int(session.unit_ids[i]), **row)

    stim = session.stimulus
    if stim.n_rows:
        names = (
            np.asarray(stim["stimulus_name"]).astype(str)
            if "stimulus_name" in stim
            else np.full(stim.n_rows, "stimulus")
        )
        for stim_name in dict.fromkeys(names.tolist()):
            rows = np.flatnonzero(names == stim_name)
            ti = TimeIntervals(
                name=f"{stim_name}_presentations", description=f"presentations of {stim_name}"
            )
            extra = [c for c in stim if c not in ("start_time", "stop_time")]
            for c in extra:
                ti.add_column(name=c, description=c)
            for r in rows:
                ti.add_row(
                    start_time=float(stim["start_time"][r]),
                    stop_time=float(stim["stop_time"][r]),
                    **{c: _py(stim[c][r]) for c in extra},
                )
            nwb.add_time_intervals(ti)

    trials = session.trials
    if trials.n_rows:
        extra = [c for c in trials if c not in ("start_time", "stop_time")]
        for c in extra:
            nwb.add_trial_column(name=c, description=c)
        for r in range(trials.n_rows):
            nwb.add_trial(
                start_time=float(trials["start_time"][r]),
                stop_time=float(trials["stop_time"][r]),
                **{c: _py(trials[c][r]) for c in extra},
            )

    if write_epochs is None:
        write_epochs = stim.n_rows == 0
    if write_epochs:
        for a, b, n in zip(
            session.epochs.start, session.epochs.stop, session.epochs.name, strict=True
        ):
            nwb.add_epoch(start_time=float(a), stop_time=float(b), tags=[str(n)])

    for name, ts in session.behaviour.items():
        module_name = _BEHAVIOUR_MODULES.get(name, "behavior")
        module = (
            nwb.processing[module_name]
            if module_name in nwb.processing
            else nwb.create_processing_module(module_name, f"{module_name} data")
        )
        module.add(
            pynwb.TimeSeries(
                name=name,
                data=np.asarray(ts.data),
                timestamps=np.asarray(ts.timestamps),
                unit=ts.unit or "n.a.",
            )
        )

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.partial.nwb")
    try:
        with NWBHDF5IO(path=str(tmp), mode="w") as io:
            io.write(nwb)  # pyright: ignore[reportCallIssue]
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _py(value: object) -> object:
    """numpy scalar -> Python scalar (pynwb's type checks want plain types)."""
    return value.item() if isinstance(value, np.generic) else value
