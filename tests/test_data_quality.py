"""Quality metrics against hand-computed values, and the QC filter."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from synaptax.data import (
    ArraySpikeTrains,
    Epochs,
    QCCriteria,
    Session,
    Table,
    amplitude_cutoff,
    isi_violations,
    presence_ratio,
    qc_filter,
    quality_metrics,
)


def test_isi_violations_formula() -> None:
    # 10 spikes, 2 intervals below 1.5 ms, over 100 s:
    # fp = n_viol * T / (2 N^2 tau) = 2 * 100 / (2 * 100 * 0.0015) = 666.67
    t = np.array([1.0, 1.001, 2.0, 3.0, 3.0005, 4.0, 5.0, 6.0, 7.0, 8.0])
    assert isi_violations(t, 100.0) == pytest.approx(2 * 100 / (2 * 100 * 0.0015))
    assert isi_violations(t[::2], 100.0) == 0.0
    assert isi_violations(np.array([1.0]), 100.0) == 0.0


def test_isi_violations_tracks_contamination() -> None:
    # Hill et al.: for a refractory unit mixed with a Poisson contaminant at rate rc,
    # fp ~ (2 rc rt + rc^2) / (2 (rt + rc)^2) (violations from pairs within tau).
    rng = np.random.default_rng(0)
    T, rt, rc = 2000.0, 10.0, 2.0
    clean = np.cumsum(0.003 + rng.exponential(1 / rt - 0.003, int(rt * T * 1.1)))
    clean = clean[clean < T]
    mixed = np.sort(np.concatenate([clean, rng.uniform(0, T, int(rc * T))]))
    rt_eff = clean.size / T
    expected = (2 * rc * rt_eff + rc**2) / (2 * (rt_eff + rc) ** 2)
    assert isi_violations(clean, T) == 0.0
    assert isi_violations(mixed, T) == pytest.approx(expected, rel=0.15)


def test_presence_ratio() -> None:
    t = np.linspace(0.5, 49.5, 50)  # one spike per second in the first half
    assert presence_ratio(t, 0.0, 100.0) == pytest.approx(0.5)
    assert presence_ratio(np.linspace(0, 99.9, 1000), 0.0, 100.0) == 1.0
    assert presence_ratio(np.array([]), 0.0, 100.0) == 0.0


@pytest.mark.parametrize("missing", [0.02, 0.2, 0.4])
def test_amplitude_cutoff_recovers_truncation(missing) -> None:
    rng = np.random.default_rng(1)
    amps = rng.normal(0, 1, 400_000)
    threshold = norm.ppf(missing)
    # Allen's definition: missing mass relative to the detected spikes, capped at 0.5.
    expected = min(missing / (1 - missing), 0.5)
    assert amplitude_cutoff(amps[amps > threshold]) == pytest.approx(expected, abs=0.03)
    assert np.isnan(amplitude_cutoff(amps[:5]))


def _session(trains, T, epochs, units=None):
    return Session(
        spikes=ArraySpikeTrains.from_list(trains),
        units=units or Table({"unit_id": np.arange(len(trains))}),
        epochs=epochs,
        t_start=0.0,
        t_stop=T,
    )


def test_quality_metrics_and_per_epoch_rates() -> None:
    ep = Epochs([0.0, 50.0, 80.0], [50.0, 80.0, 100.0], ["active", "spontaneous", "active"])
    trains = [np.arange(0.05, 100, 0.1), np.arange(0.05, 50, 0.5)]
    s = _session(trains, 100.0, ep)
    m = quality_metrics(s)
    np.testing.assert_allclose(m["firing_rate"], [10.0, 1.0])
    np.testing.assert_allclose(m["rate_active"], [10.0, 100 / 70])
    np.testing.assert_allclose(m["rate_spontaneous"], [10.0, 0.0])
    np.testing.assert_allclose(m["presence_ratio"], [1.0, 0.5])
    np.testing.assert_allclose(m["isi_violations"], [0.0, 0.0])


def test_qc_filter_uses_file_metrics_and_counts() -> None:
    units = Table(
        {
            "unit_id": np.arange(5),
            "isi_violations": np.array([0.1, 0.6, 0.1, 0.1, 0.1]),
            "amplitude_cutoff": np.array([0.01, 0.01, 0.2, np.nan, 0.01]),
            "presence_ratio": np.array([0.95, 0.95, 0.95, 0.95, 0.5]),
            "quality": np.array(["good"] * 5, dtype=object),
        }
    )
    trains = [np.array([1.0])] * 5
    s = _session(trains, 10.0, Epochs.empty(), units)
    r = qc_filter(s)
    np.testing.assert_array_equal(r.passed, [True, False, False, True, False])
    rows = {name: (p, f, u) for name, p, f, u in r.summary()}
    assert rows["isi_violations < 0.5"] == (4, 1, 0)
    assert rows["amplitude_cutoff < 0.1"] == (3, 1, 1)
    assert rows["presence_ratio > 0.9"] == (4, 1, 0)
    assert rows["all"] == (2, 3, 0)
    strict = qc_filter(s, QCCriteria(missing_fails=True))
    assert not strict.passed[3]
    loose = qc_filter(s, QCCriteria(isi_violations_max=None, presence_ratio_min=0.4))
    np.testing.assert_array_equal(loose.passed, [True, True, False, True, True])
    assert "amplitude_cutoff" in r.format()


def test_qc_computes_missing_metrics() -> None:
    T = 100.0
    clean = np.arange(0.05, T, 0.1)
    dirty = np.sort(np.concatenate([clean, clean[::2] + 0.0005]))
    s = _session([clean, dirty, clean[:100]], T, Epochs.empty())
    r = qc_filter(s)
    np.testing.assert_array_equal(r.passed, [True, False, False])
    assert r.unknown["amplitude_cutoff < 0.1"].all()
