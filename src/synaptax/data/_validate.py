"""Checks on spike times as they are read: sorted, finite, inside the session."""

from __future__ import annotations

import numpy as np

from ._errors import SpikeDataError
from ._types import Real

__all__ = ["check_spike_chunk"]


def check_spike_chunk(
    flat: np.ndarray,
    offsets: np.ndarray,
    unit_ids: np.ndarray,
    t_start: Real,
    t_stop: Real,
    source: str,
    tolerance: Real = 1e-6,
) -> None:
    """Raise :class:`SpikeDataError` unless every unit's spike times are finite, sorted
    and inside ``[t_start - tolerance, t_stop + tolerance]`` (seconds)."""
    if flat.size == 0:
        return
    counts = np.diff(offsets)

    def _fail(pos: int, problem: str, fix: str) -> None:
        unit = int(np.searchsorted(offsets, pos, side="right") - 1)
        raise SpikeDataError(source, f"unit {unit_ids[unit]}: {problem}", fix)

    finite = np.isfinite(flat)
    if not finite.all():
        pos = int(np.argmin(finite))
        _fail(pos, f"spike time {flat[pos]} is not finite.", "remove NaN/inf spike times.")
    if flat.size > 1:
        dec = np.diff(flat) < 0
        # A decrease across a unit boundary is allowed.
        starts = offsets[1:-1]
        starts = starts[(starts > 0) & (starts < flat.size)]
        dec[starts - 1] = False
        if dec.any():
            pos = int(np.argmax(dec)) + 1
            _fail(
                pos,
                f"spike times are not sorted (t={flat[pos - 1]!r} then t={flat[pos]!r} s).",
                "sort each unit's spike times (np.sort).",
            )
    # Sorted within units: the extremes are each unit's first and last spike.
    nonempty = counts > 0
    firsts = offsets[:-1][nonempty]
    lasts = offsets[1:][nonempty] - 1
    lo = flat[firsts] < t_start - tolerance
    if lo.any():
        pos = int(firsts[np.argmax(lo)])
        what = "negative" if flat[pos] < 0 else f"before the session start {t_start} s"
        _fail(
            pos,
            f"spike time {flat[pos]!r} s is {what}.",
            "spike times are seconds from the session start; check the clock "
            "alignment or the time unit.",
        )
    hi = flat[lasts] > t_stop + tolerance
    if hi.any():
        pos = int(lasts[np.argmax(hi)])
        _fail(
            pos,
            f"spike time {flat[pos]!r} s is beyond the session end {t_stop} s.",
            "check the time unit (seconds, not samples or ms) or the session extent.",
        )
