"""The student's inputs: stimulus and behaviour of a session, one row per bin.

From the stimulus table (Allen Visual Behavior ``stimulus_presentations`` columns
``start_time``, ``stop_time``, ``image_name``, ``is_change``, ``omitted``) and the
behaviour time series (``running_speed``, ``pupil_area``):

* ``images``: one channel per image name, 1 in bins whose centre lies inside a flash;
* ``change``: 1 for the first 100 ms of a flash that follows an image change;
* ``omitted``: 1 during an omitted flash;
* ``running_speed``, ``pupil_area``: linear interpolation at the bin centres;
* ``state``: 1 in bins of the first binned epoch name (e.g. ``active``: engaged in the
  task), 0 elsewhere.
"""

from __future__ import annotations

import numpy as np

from ..data import BinnedSpikes, Session

__all__ = ["session_inputs"]

_CHANGE_S = 0.1
_BLANK = {"", "omitted", "nan", "None"}


def _spans(centers: np.ndarray, start: np.ndarray, stop: np.ndarray):
    return np.searchsorted(centers, start), np.searchsorted(centers, stop)


def session_inputs(
    session: Session, binned: BinnedSpikes, kinds: tuple[str, ...], first_state: str
) -> tuple[np.ndarray, list[str], list[str]]:
    """Input features per bin.

    Args:
        session: the session (its stimulus table and behaviour).
        binned: the binned spikes (their bin centres and labels).
        kinds: the feature kinds to build (see the module docstring).
        first_state: the epoch name whose bins get ``state = 1``.

    Returns:
        ``(inputs [time, feature], feature names, missing kinds)``; a kind is missing when
        the session lacks its columns or series, or when it is constant over the binned
        time (it would carry nothing).
    """
    centers = binned.bin_centers
    cols: list[np.ndarray] = []
    names: list[str] = []
    missing: list[str] = []
    stim = session.stimulus
    have = set(stim.columns) if stim.n_rows else set()
    for kind in kinds:
        before = len(cols)
        if kind in ("images", "change", "omitted") and {"start_time", "stop_time"} <= have:
            start = np.asarray(stim["start_time"], float)
            stop = np.asarray(stim["stop_time"], float)
            if kind == "images" and "image_name" in have:
                img = np.asarray(stim["image_name"]).astype(str)
                for name in sorted(set(img) - _BLANK):
                    sel = img == name
                    col = np.zeros(len(centers))
                    for a, b in zip(*_spans(centers, start[sel], stop[sel]), strict=True):
                        col[a:b] = 1.0
                    cols.append(col)
                    names.append(f"image {name}")
            elif kind == "change" and "is_change" in have:
                sel = np.asarray(stim["is_change"]).astype(bool)
                col = np.zeros(len(centers))
                a, b = _spans(centers, start[sel], start[sel] + _CHANGE_S)
                for i, j in zip(a, b, strict=True):
                    col[i:j] = 1.0
                cols.append(col)
                names.append("change")
            elif kind == "omitted" and "omitted" in have:
                sel = np.asarray(stim["omitted"]).astype(bool)
                col = np.zeros(len(centers))
                for i, j in zip(*_spans(centers, start[sel], stop[sel]), strict=True):
                    col[i:j] = 1.0
                cols.append(col)
                names.append("omitted")
        elif kind in ("running_speed", "pupil_area") and kind in session.behaviour:
            ts = session.behaviour[kind]
            t, y = np.asarray(ts.timestamps, float), np.asarray(ts.data, float).reshape(-1)
            ok = np.isfinite(t) & np.isfinite(y)
            if ok.sum() >= 2:
                cols.append(np.interp(centers, t[ok], y[ok]))
                names.append(kind.replace("_", " "))
        elif kind == "state":
            cols.append((binned.labels == first_state).astype(float))
            names.append(f"state ({first_state})")
        # drop constant columns of this kind
        keep = [i for i in range(before, len(cols)) if np.ptp(cols[i]) > 0]
        cols = cols[:before] + [cols[i] for i in keep]
        names = names[:before] + [names[i] for i in keep]
        if len(cols) == before:
            missing.append(kind)
    if not cols:
        raise ValueError(
            f"none of the input kinds {list(kinds)} is available in {session.source} over "
            "the binned epochs (no stimulus table with start/stop times, no behaviour "
            "series): the student needs inputs. Check [data] inputs and epochs."
        )
    return np.stack(cols, axis=1), names, missing
