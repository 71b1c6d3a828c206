"""The ``Session`` type: units with spike times, epochs, stimuli, trials, behaviour.

All times are in seconds from the session start (the NWB convention). Spike times are
held as a ragged array (one flat, per-unit-sorted vector plus offsets), either in memory
(:class:`ArraySpikeTrains`) or lazily in an HDF5/NWB file (:class:`NWBSpikeTrains`), so a
large file is never read whole to list units or to bin a subset of them.
"""

from __future__ import annotations

import abc
import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from jaxtyping import Float, Int

from ._errors import SpikeDataError
from ._table import Table
from ._types import ArrayLike, Real

__all__ = [
    "ArraySpikeTrains",
    "Epochs",
    "NWBSpikeTrains",
    "Session",
    "SpikeTrains",
    "TimeSeries",
]


class SpikeTrains(abc.ABC):
    """Ragged per-unit spike times (seconds). Abstract: subclasses say where they live."""

    source: str

    @property
    @abc.abstractmethod
    def offsets(self) -> Int[np.ndarray, " unit_plus_one"]:
        """Start of each unit's spikes in the flat vector; ``offsets[-1]`` = total."""

    @abc.abstractmethod
    def _read_flat(self, start: int, stop: int) -> np.ndarray:
        """Flat spike times ``[start, stop)`` as float64."""

    @property
    def n_units(self) -> int:
        return len(self.offsets) - 1

    @property
    def counts(self) -> Int[np.ndarray, " unit"]:
        """Number of spikes of each unit."""
        return np.diff(self.offsets)

    @property
    def n_spikes(self) -> int:
        return int(self.offsets[-1])

    def read(
        self, units: Int[np.ndarray, " k"]
    ) -> tuple[Float[np.ndarray, " n"], Int[np.ndarray, " k_plus_one"]]:
        """Spike times of the given unit indices as ``(flat, offsets)``.

        Consecutive indices are read with one slice each, so reading a contiguous block
        of units touches only that block of the file.
        """
        units = np.asarray(units, dtype=np.int64)
        if units.size and (units.min() < 0 or units.max() >= self.n_units):
            raise SpikeDataError(
                self.source,
                f"unit index out of range 0..{self.n_units - 1}: {units.min()}..{units.max()}.",
                "pass indices into the session's units (not unit ids).",
            )
        off = self.offsets
        counts = off[units + 1] - off[units]
        new_off = np.zeros(len(units) + 1, dtype=np.int64)
        np.cumsum(counts, out=new_off[1:])
        if units.size == 0:
            return np.zeros(0), new_off
        breaks = np.flatnonzero(np.diff(units) != 1) + 1
        pieces = []
        for run in np.split(units, breaks):
            pieces.append(self._read_flat(int(off[run[0]]), int(off[run[-1] + 1])))
        flat = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
        return np.asarray(flat, dtype=np.float64), new_off

    def read_part(self, unit: int, start: int, stop: int) -> Float[np.ndarray, " n"]:
        """Spikes ``start:stop`` (positions within the unit) of one unit (by index)."""
        base = int(self.offsets[unit])
        n = int(self.offsets[unit + 1]) - base
        if not 0 <= start <= stop <= n:
            raise SpikeDataError(self.source, f"spikes {start}:{stop} out of 0:{n}.")
        return self._read_flat(base + start, base + stop)

    def unit(self, index: int) -> Float[np.ndarray, " n"]:
        """Spike times of one unit (by index), seconds."""
        flat, _ = self.read(np.array([index]))
        return flat

    def fingerprint(self) -> str:
        """A hex digest that changes when the spike data change (for the cache key)."""
        h = hashlib.blake2b(digest_size=16)
        h.update(np.ascontiguousarray(self.offsets, dtype=np.int64).tobytes())
        for start in range(0, self.n_spikes, 1 << 24):
            stop = min(start + (1 << 24), self.n_spikes)
            h.update(np.ascontiguousarray(self._read_flat(start, stop), np.float64).tobytes())
        return h.hexdigest()


@dataclass(frozen=True, eq=False, init=False)
class ArraySpikeTrains(SpikeTrains):
    """Spike trains in memory (or a numpy memmap): flat times and offsets.

    Attributes:
        flat: all spike times, seconds, sorted within each unit, shape ``[n_spikes]``.
        unit_offsets: ``[n_units + 1]`` start of each unit's spikes in ``flat``.
        source: where the data came from, used in error messages.
    """

    flat: np.ndarray
    unit_offsets: np.ndarray
    source: str

    def __init__(self, flat: np.ndarray, unit_offsets: ArrayLike, source: str = "<memory>"):
        off = np.asarray(unit_offsets, dtype=np.int64)
        if off.ndim != 1 or len(off) < 1 or off[0] != 0 or np.any(np.diff(off) < 0):
            raise SpikeDataError(
                source,
                "spike-train offsets must start at 0 and never decrease.",
                "build them as np.concatenate([[0], np.cumsum(spike_counts)]).",
            )
        if off[-1] != len(flat):
            raise SpikeDataError(
                source,
                f"offsets end at {off[-1]} but there are {len(flat)} spike times.",
                "the last offset must equal the number of spikes.",
            )
        object.__setattr__(self, "flat", flat)
        object.__setattr__(self, "unit_offsets", off)
        object.__setattr__(self, "source", source)

    @classmethod
    def from_list(cls, trains: list[np.ndarray], source: str = "<memory>") -> ArraySpikeTrains:
        """Build from one array of spike times (seconds) per unit."""
        counts = np.array([len(t) for t in trains], dtype=np.int64)
        off = np.zeros(len(trains) + 1, dtype=np.int64)
        np.cumsum(counts, out=off[1:])
        flat = (
            np.concatenate([np.asarray(t, dtype=np.float64).ravel() for t in trains])
            if trains
            else np.zeros(0)
        )
        return cls(flat, off, source)

    @property
    def offsets(self) -> Int[np.ndarray, " unit_plus_one"]:
        return self.unit_offsets

    def _read_flat(self, start: int, stop: int) -> np.ndarray:
        return np.asarray(self.flat[start:stop], dtype=np.float64)


@dataclass(frozen=True, eq=False)
class NWBSpikeTrains(SpikeTrains):
    """Spike trains left in an NWB (HDF5) file and read on demand with h5py.

    Attributes:
        path: the NWB file.
        dataset: HDF5 path of the flat spike-time vector (``/units/spike_times``).
        unit_offsets: ``[n_units + 1]`` offsets, from the ``spike_times_index`` column.
    """

    path: Path
    dataset: str
    unit_offsets: np.ndarray
    source: str = ""

    def __post_init__(self) -> None:
        if not self.source:
            object.__setattr__(self, "source", str(self.path))

    @property
    def offsets(self) -> Int[np.ndarray, " unit_plus_one"]:
        return self.unit_offsets

    def _read_flat(self, start: int, stop: int) -> np.ndarray:
        try:
            with h5py.File(self.path, "r") as f:
                dataset: Any = f[self.dataset]
                return np.asarray(dataset[start:stop], dtype=np.float64)
        except (OSError, KeyError) as exc:
            raise SpikeDataError(
                self.path,
                f"could not read spike times {self.dataset}[{start}:{stop}] ({exc}).",
                "check that the file still exists and is not truncated.",
            ) from exc

    def fingerprint(self) -> str:
        st = Path(self.path).stat()
        key = f"{Path(self.path).resolve()}|{st.st_size}|{st.st_mtime_ns}|{self.dataset}"
        return hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


@dataclass(frozen=True, init=False)
class Epochs:
    """Named time intervals (seconds): brain states or stimulus blocks.

    Standard names: ``"active"`` (task engagement), ``"passive"`` (replay of the same
    images), ``"spontaneous"`` (grey screen); other blocks keep their stimulus name.
    """

    start: np.ndarray
    stop: np.ndarray
    name: np.ndarray

    def __init__(self, start: ArrayLike, stop: ArrayLike, name: ArrayLike) -> None:
        start_a = np.asarray(start, dtype=np.float64).reshape(-1)
        stop_a = np.asarray(stop, dtype=np.float64).reshape(-1)
        name_a = np.asarray(name, dtype=object).reshape(-1)
        if not (len(start_a) == len(stop_a) == len(name_a)):
            raise ValueError("Epochs start, stop and name must have the same length.")
        if np.any(stop_a < start_a):
            bad = int(np.flatnonzero(stop_a < start_a)[0])
            raise ValueError(
                f"epoch {name_a[bad]!r} stops ({stop_a[bad]}) before it starts ({start_a[bad]})."
            )
        object.__setattr__(self, "start", start_a)
        object.__setattr__(self, "stop", stop_a)
        object.__setattr__(self, "name", name_a)

    def __len__(self) -> int:
        return len(self.start)

    @classmethod
    def empty(cls) -> Epochs:
        """No epochs."""
        return cls(np.zeros(0), np.zeros(0), np.zeros(0, dtype=object))

    @property
    def names(self) -> list[str]:
        """Distinct names in order of first appearance."""
        return list(dict.fromkeys(str(n) for n in self.name))

    def select(self, names: list[str] | tuple[str, ...], source: str = "") -> Epochs:
        """Epochs whose name is in ``names`` (in time order); unknown names are an error."""
        known = self.names
        unknown = [n for n in names if n not in known]
        if unknown:
            raise SpikeDataError(
                source or None,
                f"unknown epoch name(s) {unknown}; this session has {known}.",
                "pick names from the session's epochs (see `synaptax data inspect`).",
            )
        keep = np.isin(self.name.astype(str), list(names))
        order = np.argsort(self.start[keep], kind="stable")
        return Epochs(self.start[keep][order], self.stop[keep][order], self.name[keep][order])

    def equals(self, other: Epochs) -> bool:
        return (
            np.array_equal(self.start, other.start)
            and np.array_equal(self.stop, other.stop)
            and list(self.name) == list(other.name)
        )


@dataclass(frozen=True)
class TimeSeries:
    """A behavioural signal: timestamps (s), data ``[time, ...]`` and the data's unit."""

    timestamps: np.ndarray
    data: np.ndarray
    unit: str = ""


@dataclass(frozen=True)
class Session:
    """One recording session.

    Attributes:
        spikes: per-unit spike times (seconds), possibly lazy.
        units: one row per unit: ``unit_id`` and metadata such as the Allen quality
            columns (``isi_violations``, ``amplitude_cutoff``, ``presence_ratio``, ``snr``,
            ``firing_rate`` in Hz, ``quality``, ``structure_acronym``) where known.
        epochs: named intervals (``active``, ``passive``, ``spontaneous``, ...).
        stimulus: stimulus presentations (``start_time``, ``stop_time``,
            ``stimulus_block``, ``active``, ``image_name``, ``is_change``, ``omitted``).
        trials: behavioural trials (``start_time``, ``stop_time``, ...).
        behaviour: named time series (``running_speed`` cm/s, ``licks``, ``pupil_area``).
        t_start, t_stop: extent of the session, seconds.
        source: the file (or description) it was read from, for messages.
        amplitudes: optional per-spike amplitudes, ragged like ``spikes`` (e.g. the
            NWB ``spike_amplitudes`` column or phy's ``amplitudes.npy``); used to compute
            ``amplitude_cutoff`` when the units table lacks it.
    """

    spikes: SpikeTrains
    units: Table
    epochs: Epochs
    t_start: Real
    t_stop: Real
    stimulus: Table = field(default_factory=Table)
    trials: Table = field(default_factory=Table)
    behaviour: dict[str, TimeSeries] = field(default_factory=dict)
    source: str = "<memory>"
    amplitudes: SpikeTrains | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "t_start", float(self.t_start))
        object.__setattr__(self, "t_stop", float(self.t_stop))
        if self.amplitudes is not None and not np.array_equal(
            self.amplitudes.offsets, self.spikes.offsets
        ):
            raise SpikeDataError(
                self.source,
                "spike amplitudes do not match the spike times (different counts per unit).",
                "give one amplitude per spike.",
            )
        if "unit_id" not in self.units:
            raise SpikeDataError(self.source, "the units table has no 'unit_id' column.")
        if self.units.n_rows != self.spikes.n_units:
            raise SpikeDataError(
                self.source,
                f"{self.units.n_rows} rows of unit metadata but "
                f"{self.spikes.n_units} spike trains.",
                "give one metadata row per spike train.",
            )
        if not self.t_stop >= self.t_start:
            raise SpikeDataError(
                self.source, f"session stops ({self.t_stop}) before it starts ({self.t_start})."
            )

    @property
    def n_units(self) -> int:
        return self.spikes.n_units

    @property
    def unit_ids(self) -> np.ndarray:
        return np.asarray(self.units["unit_id"])

    @property
    def duration(self) -> float:
        """Session length in seconds."""
        return float(self.t_stop - self.t_start)

    def spike_times(self, unit_index: int) -> Float[np.ndarray, " n"]:
        """Spike times (seconds) of the unit at ``unit_index``."""
        return self.spikes.unit(unit_index)

    def select_units(self, mask_or_index: np.ndarray) -> Session:
        """A session with a subset of units (boolean mask or indices); stays lazy."""
        idx = np.asarray(mask_or_index)
        if idx.dtype == bool:
            if len(idx) != self.n_units:
                raise SpikeDataError(
                    self.source,
                    f"unit mask has {len(idx)} entries for {self.n_units} units.",
                )
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.int64)
        amps = self.amplitudes
        return replace(
            self,
            spikes=_SubsetSpikeTrains(self.spikes, idx),
            units=self.units.select(idx),
            amplitudes=None if amps is None else _SubsetSpikeTrains(amps, idx),
        )


@dataclass(frozen=True, eq=False)
class _SubsetSpikeTrains(SpikeTrains):
    """A lazy view of some units of another :class:`SpikeTrains`."""

    parent: SpikeTrains
    index: np.ndarray
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", self.parent.source)
        pc = self.parent.counts[self.index]
        off = np.zeros(len(self.index) + 1, dtype=np.int64)
        np.cumsum(pc, out=off[1:])
        object.__setattr__(self, "_off", off)

    @property
    def offsets(self) -> Int[np.ndarray, " unit_plus_one"]:
        return self._off  # type: ignore[attr-defined]

    def read(
        self, units: Int[np.ndarray, " k"]
    ) -> tuple[Float[np.ndarray, " n"], Int[np.ndarray, " k_plus_one"]]:
        units = np.asarray(units, dtype=np.int64)
        if units.size and (units.min() < 0 or units.max() >= self.n_units):
            raise SpikeDataError(
                self.source,
                f"unit index out of range 0..{self.n_units - 1}: {units.min()}..{units.max()}.",
                "pass indices into the selected units (not unit ids).",
            )
        return self.parent.read(self.index[units])

    def read_part(self, unit: int, start: int, stop: int) -> Float[np.ndarray, " n"]:
        return self.parent.read_part(int(self.index[unit]), start, stop)

    def _read_flat(self, start: int, stop: int) -> np.ndarray:
        # Only used by fingerprint(); read everything through the parent.
        flat, _ = self.parent.read(self.index)
        return flat[start:stop]

    def fingerprint(self) -> str:
        h = hashlib.blake2b(digest_size=16)
        h.update(self.parent.fingerprint().encode())
        h.update(self.index.tobytes())
        return h.hexdigest()
