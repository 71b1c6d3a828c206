"""Synthetic sessions: NWB round trip, ground truth, QC on bad units, lazy reading."""

from __future__ import annotations

import dataclasses

import h5py
import numpy as np
import pytest
from pynwb import NWBHDF5IO, NWBFile

from synaptax.data import (
    NWBSpikeTrains,
    SpikeDataError,
    bin_spikes,
    make_synthetic_session,
    qc_filter,
    quality_metrics,
    read_nwb,
    read_synthetic,
    write_nwb,
    write_synthetic,
)


@pytest.fixture(scope="module")
def synthetic():
    return make_synthetic_session(
        n_units=120, active_s=90.0, spontaneous_s=20.0, passive_s=90.0, seed=3
    )


@pytest.fixture(scope="module")
def written(synthetic, tmp_path_factory):
    path = tmp_path_factory.mktemp("syn") / "session.nwb"
    write_synthetic(path, *synthetic)
    return path


def test_round_trip_is_identical(synthetic, written) -> None:
    session, truth = synthetic
    back, truth_back = read_synthetic(written)
    assert isinstance(back.spikes, NWBSpikeTrains)
    assert back.n_units == session.n_units
    np.testing.assert_array_equal(back.spikes.offsets, session.spikes.offsets)
    for u in range(session.n_units):
        np.testing.assert_array_equal(back.spike_times(u), session.spike_times(u))
    assert back.epochs.equals(session.epochs)
    assert back.t_stop == session.t_stop
    for field in dataclasses.fields(truth):
        a, b = getattr(truth_back, field.name), getattr(truth, field.name)
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype, field.name
    for name in session.units:
        np.testing.assert_array_equal(back.units[name], session.units[name])
    for name in session.stimulus:
        np.testing.assert_array_equal(back.stimulus[name], session.stimulus[name])
    for name in session.trials:
        a, b = back.trials[name], session.trials[name]
        np.testing.assert_array_equal(a, b)
    assert set(back.behaviour) == {"running_speed", "licks", "pupil_area"}
    np.testing.assert_array_equal(
        back.behaviour["running_speed"].data, session.behaviour["running_speed"].data
    )


def test_allen_layout_in_file(written) -> None:
    with h5py.File(written, "r") as f:
        assert "units/spike_times" in f and "units/spike_times_index" in f
        for col in (
            "isi_violations",
            "amplitude_cutoff",
            "presence_ratio",
            "snr",
            "firing_rate",
            "quality",
            "structure_acronym",
        ):
            assert f"units/{col}" in f
        pres = [k for k in f["intervals"] if k.endswith("_presentations")]
        assert "spontaneous_presentations" in pres and len(pres) == 2
        img = f[f"intervals/{next(p for p in pres if p.startswith('Natural'))}"]
        for col in ("stimulus_block", "active", "image_name", "is_change", "omitted"):
            assert col in img
        assert "processing/running/running_speed" in f
        assert "processing/licking/licks" in f
        assert "processing/eye_tracking/pupil_area" in f
        assert "epochs" not in f.get("intervals", {})  # derived from stimulus blocks


def test_qc_rejects_the_bad_units(synthetic) -> None:
    session, truth = synthetic
    report = qc_filter(session)
    assert not report.passed[~truth.good].any()  # every corrupted unit is caught
    assert report.passed[truth.good].mean() > 0.8
    # Good units that fail do so only on presence (sparse or latent-silenced units in a
    # short session), never on refractoriness or amplitude.
    missed = truth.good & ~report.passed
    assert not report.per_criterion["presence_ratio > 0.9"][missed].any()
    assert np.median(session.units["firing_rate"][missed]) < np.median(
        session.units["firing_rate"][truth.good]
    )
    assert report.per_criterion["isi_violations < 0.5"][truth.good].all()
    # Each kind of badness is caught by its own criterion.
    kinds = {
        "contaminated": "isi_violations < 0.5",
        "drift": "presence_ratio > 0.9",
        "small": "amplitude_cutoff < 0.1",
    }
    for kind, criterion in kinds.items():
        assert not report.per_criterion[criterion][truth.bad_kind == kind].any()
    # Metrics recomputed from spikes agree with those stored in the file.
    computed = quality_metrics(session)
    np.testing.assert_allclose(computed["isi_violations"], session.units["isi_violations"])
    np.testing.assert_allclose(computed["presence_ratio"], session.units["presence_ratio"])


def test_rates_are_realistic_and_refractory(synthetic) -> None:
    session, truth = synthetic
    rates = session.units["firing_rate"][truth.good]
    assert 1.5 < np.median(rates) < 10 and rates.max() < 100 and rates.min() > 0.05
    for u in np.flatnonzero(truth.good)[:30]:
        assert np.diff(session.spike_times(int(u))).min() >= 0.002 - 1e-12


def test_state_changes_dynamics_and_spikes_follow_latents(synthetic) -> None:
    session, truth = synthetic
    act, pas = truth.state == 0, truth.state == 1
    # Image changes drive the latents harder in the active state than in passive replay.
    stim = session.stimulus
    changes = stim["start_time"][stim["is_change"]]
    resp = {}
    for name, active in (("active", True), ("passive", False)):
        times = changes[stim["active"][stim["is_change"]] == active]
        idx = np.searchsorted(truth.times, times)
        win = [
            np.linalg.norm(truth.latents[i : i + 40].mean(0) - truth.latents[i - 20 : i].mean(0))
            for i in idx
            if i > 20 and i + 40 < len(truth.times)
        ]
        resp[name] = np.mean(win)
    assert resp["active"] > 1.3 * resp["passive"]
    assert not np.isclose(truth.latents[act].var(), truth.latents[pas].var(), rtol=0.05)
    # Counts in 250 ms bins follow the true rates averaged over the same bins.
    b = bin_spikes(session, bin_ms=250, epochs=["active"])
    good = np.flatnonzero(truth.good)[:20]
    cum = np.cumsum(np.vstack([np.zeros(len(good)), truth.rates(good)]), axis=0)
    first = np.searchsorted(truth.times, b.bin_starts)
    n = round(0.25 / (truth.times[1] - truth.times[0]))
    mean_rate = (cum[first + n] - cum[first]) / n
    corr = [np.corrcoef(b.counts[:, u], mean_rate[:, k])[0, 1] for k, u in enumerate(good)]
    assert np.median(corr) > 0.35


def test_same_seed_same_session() -> None:
    a, ta = make_synthetic_session(n_units=10, active_s=20, spontaneous_s=5, passive_s=20, seed=7)
    b, tb = make_synthetic_session(n_units=10, active_s=20, spontaneous_s=5, passive_s=20, seed=7)
    np.testing.assert_array_equal(a.spikes.flat, b.spikes.flat)
    np.testing.assert_array_equal(ta.latents, tb.latents)
    with pytest.raises(SpikeDataError, match="bad_fraction"):
        make_synthetic_session(n_units=10, bad_fraction=1.5)


def test_lazy_reading_touches_only_requested_units(written, monkeypatch) -> None:
    session = read_nwb(written)
    reads: list[tuple[int, int]] = []
    original = NWBSpikeTrains._read_flat

    def spy(self, start, stop):
        reads.append((start, stop))
        return original(self, start, stop)

    monkeypatch.setattr(NWBSpikeTrains, "_read_flat", spy)
    assert session.n_units == 120 and session.spikes.counts.sum() > 0  # no spike read
    assert reads == []
    units = np.array([5, 6, 7, 50])
    b = bin_spikes(session, units=units, epochs=["passive"])
    off = session.spikes.offsets
    touched = sum(stop - start for start, stop in reads)
    assert touched == sum(off[u + 1] - off[u] for u in units)
    assert sorted(reads) == [(off[5], off[8]), (off[50], off[51])]
    assert b.counts.shape[1] == 4


def test_units_without_spike_times_and_beyond_session(tmp_path, synthetic) -> None:
    from datetime import UTC, datetime

    nwb = NWBFile(
        session_description="x", identifier="x", session_start_time=datetime(2026, 1, 1, tzinfo=UTC)
    )
    nwb.add_unit_column(name="snr", description="snr")
    nwb.add_unit(snr=1.0)
    path = tmp_path / "nospikes.nwb"
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    with pytest.raises(SpikeDataError, match=r"nospikes.nwb: the units table has no 'spike_times'"):
        read_nwb(path)
    session, _ = synthetic
    small = session.select_units(np.arange(3))
    out = write_nwb(small, tmp_path / "small.nwb")
    with pytest.raises(SpikeDataError, match=r"small.nwb: unit \d+: .*beyond the session end"):
        bin_spikes(read_nwb(out, t_stop=10.0))
    assert not list(tmp_path.glob(".*"))  # no partial files left by the writer


def test_latents_in_bins_match_a_direct_average(synthetic) -> None:
    session, truth = synthetic
    b = bin_spikes(session, bin_ms=20, epochs=["passive"])
    z = truth.latents_in_bins(b.bin_starts, b.bin_width)
    assert z.shape == (b.n_bins, truth.latents.shape[1])
    k = 123
    steps = (truth.times >= b.bin_starts[k] - 1e-9) & (
        truth.times < b.bin_starts[k] + b.bin_width - 1e-9
    )
    assert steps.sum() == 4
    np.testing.assert_allclose(z[k], truth.latents[steps].mean(0))


def test_generic_session_round_trip_through_the_epochs_table(synthetic, tmp_path) -> None:
    from synaptax.data import Epochs, Session, Table

    session, _ = synthetic
    plain = Session(
        spikes=session.spikes,
        units=Table({"unit_id": session.unit_ids, "quality": session.units["quality"]}),
        epochs=Epochs(np.array([0.0, 50.0]), np.array([50.0, 120.0]), ["wake", "sleep"]),
        t_start=0.0,
        t_stop=120.0 if session.t_stop <= 120 else session.t_stop,
    )
    path = write_nwb(plain, tmp_path / "plain.nwb")
    back = read_nwb(path)
    with h5py.File(path, "r") as f:
        assert "intervals/epochs" in f
    assert back.epochs.equals(plain.epochs)
    np.testing.assert_array_equal(back.units["quality"], plain.units["quality"])
    for u in (0, 17, 119):
        np.testing.assert_array_equal(back.spike_times(u), plain.spike_times(u))


def test_glm_spiking_has_relative_refractoriness() -> None:
    kw = {"n_units": 60, "active_s": 40.0, "spontaneous_s": 5.0, "passive_s": 40.0, "seed": 4}
    glm, truth = make_synthetic_session(spiking="glm", **kw)
    poisson, _ = make_synthetic_session(**kw)
    good = np.flatnonzero(truth.good)

    def short_isi_fraction(session):
        isis = np.concatenate([np.diff(session.spike_times(int(u))) for u in good])
        assert isis.min() >= 0.002 - 1e-9  # absolute refractory period
        return np.mean(isis < 0.006)

    assert short_isi_fraction(glm) < 0.7 * short_isi_fraction(poisson)
    rates = glm.units["firing_rate"][good]
    assert 1.0 < np.median(rates) < 10.0
    report = qc_filter(glm)
    assert not report.passed[~truth.good].any()
    with pytest.raises(SpikeDataError, match="spiking must be"):
        make_synthetic_session(n_units=5, spiking="hawkes")
