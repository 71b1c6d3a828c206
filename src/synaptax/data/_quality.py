"""Unit quality metrics and the Allen quality-control filter.

Metrics (computed when a file lacks them):

* **ISI violations** (Hill, Mehta & Kleinfeld 2011, J. Neurosci. 31:8699; the Allen
  ``isi_violations`` definition): the rate of refractory-period violations relative to
  the unit's rate, ``fp = n_viol * T / (2 * N**2 * (tau_r - tau_c))`` with ``n_viol`` the
  number of inter-spike intervals shorter than ``tau_r`` (1.5 ms), ``tau_c`` the censored
  period (0 ms), ``N`` the spike count and ``T`` the duration (s). It approximates the
  contaminating rate over the unit's rate; 0 for a clean unit, can exceed 1.
* **Presence ratio**: the fraction of 100 equal blocks of the session that hold at
  least one spike of the unit.
* **Firing rate** (Hz) over the session and per epoch.
* **Amplitude cutoff** (Hill et al. 2011; Allen): the estimated number of spikes
  missed below the detection threshold, relative to the detected ones (``m / (1 - m)``
  for a true missed fraction ``m``), from the histogram of spike amplitudes, capped at
  0.5. Needs amplitudes; NaN otherwise.

Allen defaults for the filter: ``isi_violations < 0.5``, ``amplitude_cutoff < 0.1``,
``presence_ratio > 0.9``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from jaxtyping import Float
from scipy.ndimage import gaussian_filter1d

from ._session import Session
from ._table import Table
from ._types import Real
from ._validate import check_spike_chunk

__all__ = [
    "QCCriteria",
    "QCReport",
    "amplitude_cutoff",
    "isi_violations",
    "presence_ratio",
    "qc_filter",
    "quality_metrics",
]


def isi_violations(
    spike_times: Float[np.ndarray, " n"],
    duration: Real,
    isi_threshold: Real = 0.0015,
    min_isi: Real = 0.0,
) -> float:
    """Hill et al. (2011) ISI-violation rate of one unit (see the module docstring).

    Args:
        spike_times: sorted spike times, seconds.
        duration: recording duration, seconds.
        isi_threshold: refractory period ``tau_r``, seconds (1.5 ms).
        min_isi: censored period ``tau_c``, seconds (0).

    Returns:
        The false-positive rate estimate (dimensionless); 0 for fewer than 2 spikes.
    """
    n = len(spike_times)
    if n < 2:
        return 0.0
    n_viol = int(np.count_nonzero(np.diff(spike_times) < isi_threshold))
    return float(n_viol * duration / (2.0 * n * n * (isi_threshold - min_isi)))


def presence_ratio(
    spike_times: Float[np.ndarray, " n"], t_start: Real, t_stop: Real, n_blocks: int = 100
) -> float:
    """Fraction of ``n_blocks`` equal blocks of ``[t_start, t_stop]`` (s) with a spike."""
    if t_stop <= t_start:
        return 0.0
    h, _ = np.histogram(spike_times, bins=n_blocks, range=(float(t_start), float(t_stop)))
    return float(np.count_nonzero(h) / n_blocks)


def amplitude_cutoff(
    amplitudes: Float[np.ndarray, " n"], n_bins: int = 500, smoothing: Real = 3.0
) -> float:
    """Estimated spikes missed below the detection threshold, per detected spike.

    The amplitude histogram is smoothed (Gaussian, ``smoothing`` bins); the part of the
    distribution above its peak whose density equals the density at the lowest observed
    amplitude marks the mirror of the threshold, and the mass beyond it estimates the
    missing fraction (capped at 0.5). Returns NaN with fewer than 10 amplitudes.
    """
    a = np.asarray(amplitudes, dtype=np.float64)
    if a.size < 10 or not np.all(np.isfinite(a)):
        return float("nan")
    pdf, edges = np.histogram(a, bins=n_bins, density=True)
    pdf = gaussian_filter1d(pdf, smoothing)
    width = edges[1] - edges[0]
    peak = int(np.argmax(pdf))
    mirror = peak + int(np.argmin(np.abs(pdf[peak:] - pdf[0])))
    return float(min(np.sum(pdf[mirror:]) * width, 0.5))


def quality_metrics(
    session: Session,
    isi_threshold: Real = 0.0015,
    n_blocks: int = 100,
    validate: bool = True,
    max_chunk_spikes: int = 8_000_000,
) -> Table:
    """Compute ISI violations, presence ratio and firing rates of every unit.

    Reads spikes a block of units at a time (memory-bounded, works on lazy sessions).

    Returns:
        A table with one row per unit: ``unit_id``, ``isi_violations``,
        ``presence_ratio``, ``firing_rate`` (Hz, whole session), ``n_spikes``,
        ``amplitude_cutoff`` (NaN unless the session has spike amplitudes) and one
        ``rate_<epoch>`` column (Hz) per epoch name (spikes in all intervals of that name
        over their total duration).
    """
    T = session.duration
    names = session.epochs.names
    n = session.n_units
    isi = np.zeros(n)
    pres = np.zeros(n)
    amp_cut = np.full(n, np.nan)
    rates = {name: np.zeros(n) for name in names}
    counts = session.spikes.counts
    start = 0
    while start < n:
        stop = start + 1
        total = int(counts[start])
        while stop < n and total + counts[stop] <= max_chunk_spikes:
            total += int(counts[stop])
            stop += 1
        idx = np.arange(start, stop)
        flat, off = session.spikes.read(idx)
        if validate:
            check_spike_chunk(
                flat, off, session.unit_ids[idx], session.t_start, session.t_stop, session.source
            )
        if session.amplitudes is not None:
            amps, aoff = session.amplitudes.read(idx)
            for j, u in enumerate(idx):
                amp_cut[u] = amplitude_cutoff(amps[aoff[j] : aoff[j + 1]])
        for j, u in enumerate(idx):
            t = flat[off[j] : off[j + 1]]
            isi[u] = isi_violations(t, T, isi_threshold)
            pres[u] = presence_ratio(t, session.t_start, session.t_stop, n_blocks)
            for name in names:
                sel = session.epochs.name == name
                dur = float(np.sum(session.epochs.stop[sel] - session.epochs.start[sel]))
                c = 0
                for a, b in zip(session.epochs.start[sel], session.epochs.stop[sel], strict=True):
                    c += int(np.searchsorted(t, b, "right") - np.searchsorted(t, a, "left"))
                rates[name][u] = c / dur if dur > 0 else np.nan
        start = stop
    cols = {
        "unit_id": session.unit_ids,
        "isi_violations": isi,
        "presence_ratio": pres,
        "firing_rate": counts / T if T > 0 else np.full(n, np.nan),
        "n_spikes": counts.astype(np.int64),
        "amplitude_cutoff": amp_cut,
    }
    cols.update({f"rate_{name}": r for name, r in rates.items()})
    return Table(cols)


@dataclass(frozen=True)
class QCCriteria:
    """Thresholds of the quality filter (Allen Visual Behavior Neuropixels defaults).

    A unit passes when ``isi_violations < isi_violations_max``, ``amplitude_cutoff <
    amplitude_cutoff_max``, ``presence_ratio > presence_ratio_min`` and (if set)
    ``firing_rate >= firing_rate_min`` Hz and ``snr >= snr_min``. Set a threshold to
    ``None`` to skip it. A metric that is missing (NaN, or no column) fails the unit when
    ``missing_fails`` and is ignored otherwise (the report counts it as unknown).
    """

    isi_violations_max: Real | None = 0.5
    amplitude_cutoff_max: Real | None = 0.1
    presence_ratio_min: Real | None = 0.9
    firing_rate_min: Real | None = None
    snr_min: Real | None = None
    missing_fails: bool = False

    def rules(self) -> list[tuple[str, str, float]]:
        out = []
        for col, op, val in [
            ("isi_violations", "<", self.isi_violations_max),
            ("amplitude_cutoff", "<", self.amplitude_cutoff_max),
            ("presence_ratio", ">", self.presence_ratio_min),
            ("firing_rate", ">=", self.firing_rate_min),
            ("snr", ">=", self.snr_min),
        ]:
            if val is not None:
                out.append((col, op, float(val)))
        return out


@dataclass(frozen=True)
class QCReport:
    """Result of :func:`qc_filter`.

    Attributes:
        passed: ``[unit]`` True where the unit passes every criterion.
        per_criterion: criterion (e.g. ``"isi_violations < 0.5"``) -> ``[unit]`` bool.
        unknown: criterion -> ``[unit]`` True where the metric was missing.
        metrics: the metric table used.
    """

    passed: np.ndarray
    per_criterion: dict[str, np.ndarray]
    unknown: dict[str, np.ndarray]
    metrics: Table

    @property
    def n_units(self) -> int:
        return len(self.passed)

    @property
    def n_passed(self) -> int:
        return int(np.count_nonzero(self.passed))

    def summary(self) -> list[tuple[str, int, int, int]]:
        """Rows ``(criterion, n_pass, n_fail, n_unknown)`` plus ``("all", ...)``."""
        rows = []
        for name, ok in self.per_criterion.items():
            unk = self.unknown[name]
            rows.append((name, int(np.sum(ok & ~unk)), int(np.sum(~ok & ~unk)), int(np.sum(unk))))
        rows.append(("all", self.n_passed, self.n_units - self.n_passed, 0))
        return rows

    def format(self) -> str:
        lines = [f"{'criterion':<28}{'pass':>8}{'fail':>8}{'unknown':>9}"]
        for name, p, f, u in self.summary():
            lines.append(f"{name:<28}{p:>8}{f:>8}{u:>9}")
        return "\n".join(lines)


def qc_filter(
    session: Session,
    criteria: QCCriteria | None = None,
    metrics: Table | None = None,
) -> QCReport:
    """Apply quality criteria (Allen defaults) to the units of a session.

    Metrics come from ``metrics`` if given, else from the session's unit table; those
    missing there (e.g. ISI violations of a Kilosort folder) are computed with
    :func:`quality_metrics`. ``amplitude_cutoff`` is computed from the session's spike
    amplitudes when it has them; ``snr`` needs waveforms and is missing unless the file
    has it.

    Example:
        >>> report = qc_filter(session)
        >>> good = session.select_units(report.passed)
    """
    criteria = criteria or QCCriteria()
    table = metrics if metrics is not None else session.units
    rules = criteria.rules()
    ruled = {col for col, _, _ in rules}
    computable = {"isi_violations", "presence_ratio", "firing_rate"}
    if session.amplitudes is not None:
        computable.add("amplitude_cutoff")

    def _usable(col: str) -> bool:
        if col not in table:
            return False
        values = np.asarray(table[col])
        return values.dtype.kind in "fiub" and bool(np.all(np.isfinite(values)))

    todo = sorted(c for c in ruled & computable if not _usable(c))
    if metrics is None and todo:
        computed = quality_metrics(session)
        table = table.with_columns(**{c: computed[c] for c in todo})
    n = session.n_units
    passed = np.ones(n, dtype=bool)
    per, unknown = {}, {}
    for col, op, val in rules:
        name = f"{col} {op} {val:g}"
        values = np.asarray(table[col], dtype=np.float64) if col in table else np.full(n, np.nan)
        missing = ~np.isfinite(values)
        with np.errstate(invalid="ignore"):
            ok = {"<": values < val, ">": values > val, ">=": values >= val}[op]
        ok = np.where(missing, not criteria.missing_fails, ok)
        per[name], unknown[name] = ok, missing
        passed &= ok
    return QCReport(passed, per, unknown, table)
