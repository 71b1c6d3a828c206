"""Spike counts in time bins (10 ms by default), aligned to epochs, chunked and cached.

For each selected epoch ``[a, b]`` the bin edges are ``a + k w`` for
``k = 0 .. floor((b - a) / w)`` (a final partial bin is dropped). A spike at time ``t``
falls in bin ``k`` when ``e_k <= t < e_{k+1}``; the last bin of an epoch also takes
``t == e_n`` (exactly as :func:`numpy.histogram` does, unless
``last_edge_inclusive=False``). Counts are computed by turning spike times into integer
bin indices (a floor, then an exact correction against the edge array); since each
unit's spikes are sorted, equal indices are adjacent and are counted as runs, written
straight into the output, a block of units at a time so memory stays bounded.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from jaxtyping import Float, Int

from ._errors import SpikeDataError
from ._session import Epochs, Session
from ._types import Real
from ._validate import check_spike_chunk

__all__ = ["BinnedSpikes", "bin_edges_for", "bin_spikes"]

_CACHE_VERSION = 1


@dataclass(frozen=True)
class BinnedSpikes:
    """Spike counts per bin and unit.

    Attributes:
        counts: ``[time, unit]`` counts; a numpy array, or a ``scipy.sparse.csr_array``
            when binned with ``sparse=True``.
        bin_starts: ``[time]`` left edge of each bin, seconds.
        bin_width: bin width, seconds.
        segment: ``[time]`` index of the epoch interval (row of ``epochs``) of each bin;
            bins of one segment are contiguous in time.
        epochs: the epoch intervals that were binned, in time order.
        unit_ids: ``[unit]`` ids of the binned units.
    """

    counts: np.ndarray | sp.csr_array
    bin_starts: np.ndarray
    bin_width: Real
    segment: np.ndarray
    epochs: Epochs
    unit_ids: np.ndarray

    @property
    def n_bins(self) -> int:
        return len(self.bin_starts)

    @property
    def n_units(self) -> int:
        return len(self.unit_ids)

    @property
    def labels(self) -> np.ndarray:
        """``[time]`` epoch (brain-state) name of each bin."""
        return self.epochs.name[self.segment].astype(str)

    @property
    def bin_centers(self) -> np.ndarray:
        return self.bin_starts + 0.5 * self.bin_width

    def dense(self) -> np.ndarray:
        """Counts as a dense ``[time, unit]`` numpy array."""
        if isinstance(self.counts, sp.csr_array):
            return self.counts.toarray()
        return np.asarray(self.counts)

    def edges(self, segment: int) -> np.ndarray:
        """Bin edges (seconds, ``n + 1`` values) of one epoch interval (row of ``epochs``)."""
        starts = self.bin_starts[self.segment == segment]
        if starts.size == 0:
            return np.array([self.epochs.start[segment]])
        return np.append(starts, starts[-1] + self.bin_width)

    def select_bins(self, index: np.ndarray) -> BinnedSpikes:
        """The bins at ``index`` (boolean mask or integer indices)."""
        counts = self.counts[index] if not sp.issparse(self.counts) else self.counts[index, :]
        return BinnedSpikes(
            counts,
            self.bin_starts[index],
            self.bin_width,
            self.segment[index],
            self.epochs,
            self.unit_ids,
        )


def bin_edges_for(start: Real, stop: Real, width: Real) -> Float[np.ndarray, " edge"]:
    """Edges ``start + k * width`` (seconds) of the whole bins that fit in ``[start, stop]``.

    The count of bins is ``floor((stop - start) / width)``, with a relative tolerance of
    1e-9 so that an epoch of exactly ``n`` bins is not cut to ``n - 1`` by rounding.
    """
    n = int(np.floor((stop - start) / width * (1 + 1e-12) + 1e-9))
    return start + width * np.arange(max(n, 0) + 1, dtype=np.float64)


def _bin_indices(
    t: np.ndarray, edges: np.ndarray, last_inclusive: bool, all_inside: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Bin index of each spike (``searchsorted(edges, t, 'right') - 1`` semantics, with
    numpy.histogram's closed last bin) and the mask of spikes inside the edges (``None``
    when ``all_inside``: the caller knows every spike is inside)."""
    n = len(edges) - 1
    a, b = edges[0], edges[-1]
    if all_inside:
        inside, tt = None, t
    else:
        inside = (t >= a) & ((t <= b) if last_inclusive else (t < b))
        tt = t[inside]
    idx = tt - a
    idx *= 1.0 / (edges[1] - edges[0])
    idx = idx.astype(np.int64)
    np.clip(idx, 0, n - 1, out=idx)
    # The floor above can be off by one next to an edge; correct it against the edges.
    down = tt < edges[idx]
    if down.any():
        idx[down] -= 1
    up = tt >= edges[idx + 1]
    up &= idx < n - 1
    if up.any():
        idx[up] += 1
    return idx, inside


def _unit_blocks(counts: np.ndarray, max_spikes: int) -> list[tuple[int, int]]:
    """Split units into consecutive blocks of at most ``max_spikes`` spikes (a unit with
    more spikes forms a block of its own)."""
    blocks, start, spikes = [], 0, 0
    for i, c in enumerate(counts.tolist()):
        if i > start and spikes + c > max_spikes:
            blocks.append((start, i))
            start, spikes = i, 0
        spikes += c
    if start < len(counts):
        blocks.append((start, len(counts)))
    return blocks


def _pieces(
    session: Session, unit_idx: np.ndarray, blocks: list[tuple[int, int]], max_spikes: int
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray, float | None]]:
    """Yield ``(u0, u1, flat, offsets, continued)`` for each block of units; a single unit
    with more than ``max_spikes`` spikes is split in time into pieces, and ``continued``
    is then the last spike time of the previous piece (``None`` for a first piece)."""
    counts = session.spikes.counts
    for u0, u1 in blocks:
        unit = int(unit_idx[u0])
        if u1 - u0 > 1 or counts[unit] <= max_spikes:
            flat, off = session.spikes.read(unit_idx[u0:u1])
            yield u0, u1, flat, off, None
            continue
        previous: float | None = None
        for start in range(0, int(counts[unit]), max_spikes):
            stop = min(start + max_spikes, int(counts[unit]))
            part = session.spikes.read_part(unit, start, stop)
            yield u0, u1, part, np.array([0, part.size], dtype=np.int64), previous
            previous = float(part[-1])


def _cache_key(session: Session, options: dict) -> str:
    payload = {"version": _CACHE_VERSION, "spikes": session.spikes.fingerprint(), **options}
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=20).hexdigest()


def _save_cache(path: Path, binned: BinnedSpikes) -> None:
    """Write atomically: a temporary file in the same folder, renamed when complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {
        "bin_starts": binned.bin_starts,
        "bin_width": np.array(binned.bin_width),
        "segment": binned.segment,
        "ep_start": binned.epochs.start,
        "ep_stop": binned.epochs.stop,
        "ep_name": binned.epochs.name.astype(str),
        "unit_ids": np.asarray(binned.unit_ids),
    }
    c = binned.counts
    if isinstance(c, sp.csr_array):
        arrays.update(
            sparse=np.array(True),
            data=c.data,
            indices=c.indices,
            indptr=c.indptr,
            shape=np.array(c.shape),
        )
    else:
        arrays.update(sparse=np.array(False), counts=c)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)  # pyright: ignore[reportArgumentType]
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load_cache(path: Path) -> BinnedSpikes:
    with np.load(path, allow_pickle=False) as z:
        if bool(z["sparse"]):
            counts = sp.csr_array((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
        else:
            counts = z["counts"]
        epochs = Epochs(z["ep_start"], z["ep_stop"], z["ep_name"].astype(object))
        return BinnedSpikes(
            counts,
            z["bin_starts"],
            float(z["bin_width"]),
            z["segment"],
            epochs,
            z["unit_ids"],
        )


def bin_spikes(
    session: Session,
    bin_ms: Real = 10.0,
    epochs: str | list[str] | tuple[str, ...] | None = None,
    units: Int[np.ndarray, " k"] | None = None,
    *,
    sparse: bool = False,
    dtype: type | np.dtype = np.int32,
    last_edge_inclusive: bool = True,
    validate: bool = True,
    cache_dir: str | Path | None = None,
    max_chunk_spikes: int = 4_000_000,
) -> BinnedSpikes:
    """Count spikes per unit in bins of ``bin_ms`` milliseconds, aligned to epochs.

    Args:
        session: the recording (spike times in seconds; may be lazy).
        bin_ms: bin width in milliseconds (any positive value; 10 ms by default).
        epochs: epoch names to bin (``["active", "passive"]`` or ``"active,passive"``);
            each interval of those names is binned from its own start, and the bins
            are concatenated in time order. ``None`` bins the whole session ``[t_start, t_stop]``.
        units: indices of the units to bin (e.g. ``np.flatnonzero(qc.passed)``);
            ``None`` for all.
        sparse: return a ``scipy.sparse.csr_array`` instead of a dense array.
        dtype: integer type of the counts (``int32`` by default; ``uint16`` halves the
            memory and is checked for overflow).
        last_edge_inclusive: the last bin of each epoch also counts spikes exactly on its
            right edge, as in :func:`numpy.histogram`.
        validate: check that spike times are sorted, finite and inside the session.
        cache_dir: if given, results are cached there under a key derived from the spike
            data and every option; a cached result is returned without reading spikes.
            The cache file is written atomically (never partially).
        max_chunk_spikes: memory bound: spikes read and processed at once (a block of
            units; about 40 bytes of temporaries per spike).

    Returns:
        :class:`BinnedSpikes` with counts ``[time, unit]``.

    Example:
        >>> binned = bin_spikes(session, bin_ms=10, epochs=["active", "passive"])
        >>> binned.counts.shape, set(binned.labels)
    """
    src = session.source
    if not (np.isfinite(bin_ms) and bin_ms > 0):
        raise SpikeDataError(src, f"bin_ms must be a positive number of ms, got {bin_ms}.")
    width = float(bin_ms) / 1000.0
    if epochs is None:
        eps = Epochs(np.array([session.t_start]), np.array([session.t_stop]), ["session"])
    else:
        if isinstance(epochs, str):
            epochs = [e.strip() for e in epochs.split(",") if e.strip()]
        eps = session.epochs.select(list(epochs), source=src)
    unit_idx = (
        np.arange(session.n_units, dtype=np.int64)
        if units is None
        else np.asarray(units, dtype=np.int64).reshape(-1)
    )
    if unit_idx.size and (unit_idx.min() < 0 or unit_idx.max() >= session.n_units):
        raise SpikeDataError(
            src,
            f"unit indices must be in 0..{session.n_units - 1}.",
            "pass indices (np.flatnonzero(mask)), not unit ids.",
        )
    out_dtype = np.dtype(dtype)
    if out_dtype.kind not in "iu":
        raise SpikeDataError(src, f"dtype must be an integer type, got {out_dtype}.")

    cache_path = None
    if cache_dir is not None:
        options = {
            "bin_ms": float(bin_ms),
            "epochs": [eps.start.tolist(), eps.stop.tolist(), eps.name.astype(str).tolist()],
            "units": hashlib.blake2b(unit_idx.tobytes(), digest_size=16).hexdigest(),
            "sparse": sparse,
            "dtype": out_dtype.str,
            "inclusive": last_edge_inclusive,
            "t": [session.t_start, session.t_stop],
        }
        cache_path = Path(cache_dir) / f"binned-{_cache_key(session, options)}.npz"
        if cache_path.exists():
            return _load_cache(cache_path)

    edges_list = [bin_edges_for(a, b, width) for a, b in zip(eps.start, eps.stop, strict=True)]
    n_per = np.array([len(e) - 1 for e in edges_list], dtype=np.int64)
    seg_off = np.concatenate([[0], np.cumsum(n_per)])
    n_bins = int(seg_off[-1])
    n_units = len(unit_idx)
    bin_starts = np.concatenate([e[:-1] for e in edges_list]) if edges_list else np.zeros(0)
    segment = np.repeat(np.arange(len(eps)), n_per)
    unit_ids = np.asarray(session.unit_ids)[unit_idx]
    max_val = np.iinfo(out_dtype).max

    dense = None if sparse else np.zeros((n_bins, n_units), dtype=out_dtype)
    coo_rows, coo_cols, coo_vals = [], [], []
    unit_counts = session.spikes.counts[unit_idx]
    blocks = _unit_blocks(unit_counts, max_chunk_spikes)

    dense_flat = None if dense is None else dense.reshape(-1)  # a view: C-contiguous
    for u0, u1, flat, off, continued in _pieces(session, unit_idx, blocks, max_chunk_spikes):
        if validate:
            check_spike_chunk(flat, off, unit_ids[u0:u1], session.t_start, session.t_stop, src)
            if continued is not None and flat.size and flat[0] < continued:
                raise SpikeDataError(
                    src,
                    f"unit {unit_ids[u0]}: spike times are not sorted (t={continued!r} "
                    f"then t={flat[0]!r} s).",
                    "sort each unit's spike times (np.sort).",
                )
        column = np.repeat(np.arange(u0, u1, dtype=np.int64), np.diff(off))
        nonempty = np.diff(off) > 0
        t_first = flat[off[:-1][nonempty]]
        t_last = flat[off[1:][nonempty] - 1]
        for s, edges in enumerate(edges_list):
            n = len(edges) - 1
            if n < 1 or flat.size == 0:
                continue
            hi = t_last.max()
            all_inside = bool(
                t_first.min() >= edges[0]
                and (hi <= edges[-1] if last_edge_inclusive else hi < edges[-1])
            )
            key, inside = _bin_indices(flat, edges, last_edge_inclusive, all_inside)
            if key.size == 0:
                continue
            # Row-major position in the [bin, unit] output. Within a unit the spikes are
            # sorted, so equal positions are adjacent: count runs instead of scattering.
            key += seg_off[s]
            key *= n_units
            key += column if inside is None else column[inside]
            new_run = np.empty(key.size, dtype=bool)
            new_run[0] = True
            np.not_equal(key[1:], key[:-1], out=new_run[1:])
            starts = np.flatnonzero(new_run)
            run_counts = np.diff(starts, append=key.size)
            positions = key[starts]
            if dense_flat is not None and continued is not None:
                # A piece of a unit split in time: its first bin may continue the last
                # bin of the previous piece (never-written cells are still zero).
                run_counts[0] += int(dense_flat[positions[0]])
            if run_counts.max() > max_val:
                raise SpikeDataError(
                    src,
                    f"a bin holds {run_counts.max()} spikes, more than {out_dtype} can hold.",
                    "use a wider integer dtype (e.g. dtype=np.int32).",
                )
            if dense_flat is not None:
                dense_flat[positions] = run_counts
            else:  # duplicates from split units are summed by the CSR conversion
                coo_rows.append(positions // n_units)
                coo_cols.append(positions % n_units)
                coo_vals.append(run_counts.astype(out_dtype))
    if sparse:
        rows = np.concatenate(coo_rows) if coo_rows else np.zeros(0, np.int64)
        cols = np.concatenate(coo_cols) if coo_cols else np.zeros(0, np.int64)
        vals = np.concatenate(coo_vals) if coo_vals else np.zeros(0, out_dtype)
        counts: np.ndarray | sp.csr_array = sp.csr_array(
            sp.coo_array((vals, (rows, cols)), shape=(n_bins, n_units))
        )
    else:
        assert dense is not None  # internal invariant: dense output was allocated
        counts = dense
    binned = BinnedSpikes(counts, bin_starts, width, segment, eps, unit_ids)
    if cache_path is not None:
        _save_cache(cache_path, binned)
    return binned
