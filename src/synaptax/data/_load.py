"""Open any supported spike-data source by its path."""

from __future__ import annotations

from pathlib import Path

from ._errors import SpikeDataError
from ._nwb import read_nwb
from ._phy import read_phy
from ._session import Session
from ._tables import read_mat_spike_times, read_spike_table, read_trial_raster_csv

__all__ = ["load_session"]


def load_session(path: str | Path) -> Session:
    """Read a session, choosing the reader from the path.

    ``*.nwb`` -> :func:`read_nwb`; a folder -> :func:`read_phy`; ``*.mat`` ->
    :func:`read_mat_spike_times`; ``*.npz`` -> :func:`read_spike_table`; ``*.csv`` ->
    :func:`read_spike_table` when the header names unit and time columns, else
    :func:`read_trial_raster_csv`.
    """
    p = Path(path)
    if not p.exists():
        raise SpikeDataError(p, "file or folder not found.", "check the path.")
    if p.is_dir():
        return read_phy(p)
    suffix = p.suffix.lower()
    if suffix == ".mat":
        return read_mat_spike_times(p)
    if suffix == ".npz":
        return read_spike_table(p)
    if suffix in (".csv", ".tsv", ".txt"):
        with p.open() as fh:
            header = fh.readline().strip().lower().split(",")
        if any(h in header for h in ("unit", "unit_id", "cluster", "cluster_id")):
            return read_spike_table(p)
        return read_trial_raster_csv(p)
    return read_nwb(p)
