"""Spike data: read sessions (NWB, Kilosort/phy, tables), quality control, binning,
splits and synthetic sessions with ground-truth latents.

Times are seconds from the session start (the NWB convention); bin widths are given
in milliseconds (``bin_ms``); rates are in Hz.

Example:
    >>> from synaptax import data
    >>> session, truth = data.make_synthetic_session(n_units=200, seed=0)
    >>> data.write_synthetic("session.nwb", session, truth)
    >>> session = data.read_nwb("session.nwb")  # lazy: spike times stay in the file
    >>> qc = data.qc_filter(session)  # Allen defaults
    >>> binned = data.bin_spikes(session, bin_ms=10, epochs=["active", "passive"],
    ...                          units=np.flatnonzero(qc.passed))
    >>> splits = data.contiguous_splits(binned)
"""

from ._binning import BinnedSpikes as BinnedSpikes
from ._binning import bin_edges_for as bin_edges_for
from ._binning import bin_spikes as bin_spikes
from ._errors import SpikeDataError as SpikeDataError
from ._load import load_session as load_session
from ._nwb import read_nwb as read_nwb
from ._nwb import write_nwb as write_nwb
from ._phy import read_phy as read_phy
from ._quality import QCCriteria as QCCriteria
from ._quality import QCReport as QCReport
from ._quality import amplitude_cutoff as amplitude_cutoff
from ._quality import isi_violations as isi_violations
from ._quality import presence_ratio as presence_ratio
from ._quality import qc_filter as qc_filter
from ._quality import quality_metrics as quality_metrics
from ._report import write_report as write_report
from ._session import ArraySpikeTrains as ArraySpikeTrains
from ._session import Epochs as Epochs
from ._session import NWBSpikeTrains as NWBSpikeTrains
from ._session import Session as Session
from ._session import SpikeTrains as SpikeTrains
from ._session import TimeSeries as TimeSeries
from ._splits import Splits as Splits
from ._splits import contiguous_splits as contiguous_splits
from ._synthetic import SyntheticTruth as SyntheticTruth
from ._synthetic import make_synthetic_session as make_synthetic_session
from ._synthetic import read_synthetic as read_synthetic
from ._synthetic import truth_path as truth_path
from ._synthetic import write_synthetic as write_synthetic
from ._table import Table as Table
from ._tables import read_mat_spike_times as read_mat_spike_times
from ._tables import read_spike_table as read_spike_table
from ._tables import read_trial_raster_csv as read_trial_raster_csv

__all__ = [
    "ArraySpikeTrains",
    "BinnedSpikes",
    "Epochs",
    "NWBSpikeTrains",
    "QCCriteria",
    "QCReport",
    "Session",
    "SpikeDataError",
    "SpikeTrains",
    "Splits",
    "SyntheticTruth",
    "Table",
    "TimeSeries",
    "amplitude_cutoff",
    "bin_edges_for",
    "bin_spikes",
    "contiguous_splits",
    "isi_violations",
    "load_session",
    "make_synthetic_session",
    "presence_ratio",
    "qc_filter",
    "quality_metrics",
    "read_mat_spike_times",
    "read_nwb",
    "read_phy",
    "read_spike_table",
    "read_synthetic",
    "read_trial_raster_csv",
    "truth_path",
    "write_nwb",
    "write_report",
    "write_synthetic",
]
