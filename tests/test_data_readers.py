"""Readers: real NWB / CSV / MAT files, phy folders and tables written here, bad input."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from conftest import shared_data

from synaptax.data import (
    NWBSpikeTrains,
    SpikeDataError,
    bin_spikes,
    qc_filter,
    quality_metrics,
    read_nwb,
)
from synaptax.data._load import load_session
from synaptax.data._phy import read_phy
from synaptax.data._tables import read_mat_spike_times, read_spike_table, read_trial_raster_csv


def test_real_nwb_from_pynapple() -> None:
    path = shared_data("spikes", "nwb_pynapple_phy", "A8604-211122.nwb")
    s = read_nwb(path)
    assert s.n_units == 3
    assert s.spikes.n_spikes == 21354
    assert isinstance(s.spikes, NWBSpikeTrains)
    np.testing.assert_array_equal(s.unit_ids, [6, 191, 206])
    assert s.epochs.names == ["wake"]
    with h5py.File(path, "r") as f:
        flat = f["units/spike_times"][:]
        index = f["units/spike_times_index"][:]
    np.testing.assert_array_equal(s.spike_times(1), flat[index[0] : index[1]])
    for u in range(3):
        t = s.spike_times(u)
        assert np.all(np.diff(t) >= 0) and t.min() >= 0 and t.max() <= s.t_stop


def test_real_auditory_cortex_raster() -> None:
    path = shared_data("spikes", "auditory_cortex_szabo_bartho2021", "D_A_I.csv")
    s = read_trial_raster_csv(path)
    raw = np.loadtxt(path, delimiter=",", skiprows=1, usecols=range(500))
    assert s.n_units == 50 and s.spikes.n_spikes == np.count_nonzero(raw)
    assert s.trials.n_rows == 1800 and set(s.trials["role"]) == {"train", "val", "test"}
    assert set(s.epochs.names) == {"train", "val", "test"}
    # Unit 7's spikes of trial 3 land at the bin centres of that trial.
    u = int(np.flatnonzero(s.unit_ids == 7)[0])
    t = s.spike_times(u)
    trial3 = t[(t >= 1.5) & (t < 2.0)]
    np.testing.assert_allclose(trial3, 1.5 + (np.flatnonzero(raw[3] == 7) + 0.5) * 1e-3)


def test_real_tetrode_mat() -> None:
    path = shared_data("spikes", "hippocampus_tetrode_synapticonn", "all_unit.mat")
    s = read_mat_spike_times(path)
    assert s.n_units == 16
    assert s.spikes.counts[0] == 3238 and s.spikes.counts[10] == 5230
    assert 990 < s.t_stop < 1000
    assert s.spike_times(0)[0] == pytest.approx(0.70148)


def _write_phy(folder, n_spikes=3000, fs=30000.0, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    samples = np.sort(rng.integers(0, int(60 * fs), n_spikes)).astype(np.uint64)
    clusters = rng.choice([0, 3, 5, 9], size=n_spikes).astype(np.int32)
    np.save(folder / "spike_times.npy", samples)
    np.save(folder / "spike_clusters.npy", clusters)
    np.save(folder / "amplitudes.npy", rng.normal(100, 20, n_spikes))
    (folder / "params.py").write_text(
        "dat_path = 'raw.bin'\nn_channels_dat = 385\ndtype = 'int16'\n"
        f"offset = 0\nsample_rate = {fs}\nhp_filtered = False\n"
    )
    (folder / "cluster_group.tsv").write_text(
        "cluster_id\tgroup\n0\tgood\n3\tmua\n5\tnoise\n9\tgood\n"
    )
    (folder / "cluster_info.tsv").write_text(
        "cluster_id\tdepth\tch\n0\t120.5\t3\n3\t40.0\t1\n5\t0\t0\n9\t3000\t300\n"
    )
    return samples, clusters


def test_phy_folder(tmp_path) -> None:
    samples, clusters = _write_phy(tmp_path / "ks")
    s = read_phy(tmp_path / "ks")
    np.testing.assert_array_equal(s.unit_ids, [0, 3, 9])  # noise left out
    assert list(s.units["quality"]) == ["good", "mua", "good"]
    np.testing.assert_array_equal(s.units["depth"], [120.5, 40.0, 3000.0])
    for i, c in enumerate([0, 3, 9]):
        np.testing.assert_array_equal(s.spike_times(i), samples[clusters == c] / 30000.0)
    assert s.amplitudes is not None
    cut = quality_metrics(s)["amplitude_cutoff"]
    assert np.all(np.isfinite(cut)) and np.all(cut < 0.1)  # untruncated Gaussians
    assert qc_filter(s).unknown["amplitude_cutoff < 0.1"].sum() == 0
    sub = s.select_units(np.array([2]))
    np.testing.assert_array_equal(sub.amplitudes.unit(0), s.amplitudes.unit(2))
    everything = read_phy(tmp_path / "ks", exclude_groups=())
    assert everything.n_units == 4


@pytest.mark.parametrize(
    "missing", ["spike_times.npy", "spike_clusters.npy", "params.py", "cluster_group.tsv"]
)
def test_phy_missing_file_is_named(tmp_path, missing) -> None:
    _write_phy(tmp_path / "ks")
    (tmp_path / "ks" / missing).unlink()
    with pytest.raises(SpikeDataError) as info:
        read_phy(tmp_path / "ks")
    assert missing in str(info.value)


def test_phy_inconsistent_and_bad_params(tmp_path) -> None:
    _write_phy(tmp_path / "ks")
    np.save(tmp_path / "ks" / "spike_clusters.npy", np.zeros(5, np.int32))
    with pytest.raises(SpikeDataError, match="5 cluster ids for 3000 spike times"):
        read_phy(tmp_path / "ks")
    _write_phy(tmp_path / "ks2")
    (tmp_path / "ks2" / "params.py").write_text("n_channels_dat = 4\n")
    with pytest.raises(SpikeDataError, match="sample_rate is missing"):
        read_phy(tmp_path / "ks2")
    _write_phy(tmp_path / "ks3")
    (tmp_path / "ks3" / "spike_times.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(SpikeDataError, match=r"spike_times.npy.*not a readable"):
        read_phy(tmp_path / "ks3")


def test_spike_table_csv_and_npz(tmp_path) -> None:
    csv_path = tmp_path / "spikes.csv"
    csv_path.write_text("unit,time\n2,0.5\n1,0.25\n2,0.75\n1,1.5\n")
    s = read_spike_table(csv_path)
    np.testing.assert_array_equal(s.unit_ids, [1, 2])
    np.testing.assert_array_equal(s.spike_times(0), [0.25, 1.5])
    np.testing.assert_array_equal(s.spike_times(1), [0.5, 0.75])
    ms = read_spike_table(csv_path, time_unit="ms")
    np.testing.assert_allclose(ms.spike_times(0), [0.00025, 0.0015])
    npz = tmp_path / "spikes.npz"
    np.savez(npz, spike_times=np.array([0.1, 0.2, 0.3]), spike_units=np.array([4, 4, 8]))
    z = read_spike_table(npz)
    np.testing.assert_array_equal(z.unit_ids, [4, 8])
    per_unit = tmp_path / "per_unit.npz"
    np.savez(per_unit, unit_3=np.array([0.1, 0.4]), unit_7=np.array([0.2]))
    p = read_spike_table(per_unit)
    np.testing.assert_array_equal(p.spike_times(0), [0.1, 0.4])
    assert load_session(csv_path).n_units == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("neuron_label,when\n1,0.5\n")
    with pytest.raises(SpikeDataError, match=r"bad.csv.*lacks a unit column"):
        read_spike_table(bad)


def test_unsorted_table_fails_when_binned(tmp_path) -> None:
    csv_path = tmp_path / "unsorted.csv"
    csv_path.write_text("unit,time\n1,0.5\n1,0.25\n")
    s = read_spike_table(csv_path)
    with pytest.raises(SpikeDataError, match=r"unsorted.csv: unit 1: spike times are not sorted"):
        bin_spikes(s, cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_not_nwb_and_truncated(tmp_path) -> None:
    text = tmp_path / "notes.nwb"
    text.write_text("hello")
    with pytest.raises(SpikeDataError, match=r"notes.nwb: not an HDF5/NWB file"):
        read_nwb(text)
    plain = tmp_path / "plain.nwb"
    with h5py.File(plain, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(SpikeDataError, match=r"plain.nwb: an HDF5 file but not NWB"):
        read_nwb(plain)
    real = shared_data("spikes", "nwb_pynapple_phy", "A8604-211122.nwb").read_bytes()
    cut = tmp_path / "cut.nwb"
    cut.write_bytes(real[: len(real) // 2])
    with pytest.raises(SpikeDataError, match=r"cut.nwb") as info:
        read_nwb(cut)
    assert "truncated" in str(info.value) or "could not read" in str(info.value)
    with pytest.raises(SpikeDataError, match="file not found"):
        read_nwb(tmp_path / "absent.nwb")


def test_vbn_like_nwb_written_by_pynwb(tmp_path) -> None:
    """A file laid out like DANDI 000713: ragged amplitudes and 2-D waveforms that must be
    skipped, areas on the electrodes table, one image table holding both the active and
    the passive block, a gabor block and a spontaneous block."""
    from datetime import UTC, datetime

    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.epoch import TimeIntervals

    nwb = NWBFile(
        session_description="vbn-like",
        identifier="vbn",
        session_start_time=datetime(2026, 1, 1, tzinfo=UTC),
    )
    device = nwb.create_device(name="probeA")
    group = nwb.create_electrode_group(name="probeA", description="", location="", device=device)
    nwb.add_electrode_column(name="structure_acronym", description="area")
    for ch, area in enumerate(["VISp", "VISp", "CA1", "LGd"]):
        nwb.add_electrode(
            id=100 + ch, x=0.0, y=0.0, z=0.0, location=area, group=group, structure_acronym=area
        )
    nwb.add_unit_column(name="peak_channel_id", description="")
    nwb.add_unit_column(name="quality", description="")
    nwb.add_unit_column(name="spike_amplitudes", description="", index=True)
    nwb.add_unit_column(name="waveform_mean", description="")
    rng = np.random.default_rng(0)
    trains = [np.sort(rng.uniform(0, 100, n)) for n in (50, 80, 20)]
    for i, t in enumerate(trains):
        nwb.add_unit(
            id=7 + i,
            spike_times=t,
            peak_channel_id=101 + i,
            quality="good",
            spike_amplitudes=rng.normal(1e-4, 2e-5, t.size),
            waveform_mean=rng.normal(size=(82, 4)),
        )
    images = TimeIntervals(name="Natural_Images_Lum_Matched_set_G_presentations", description="")
    for col in ("stimulus_block", "active", "image_name", "is_change", "omitted"):
        images.add_column(name=col, description=col)
    for block, active, t0 in ((0, True, 0.0), (5, False, 60.0)):
        for k in range(20):
            images.add_row(
                start_time=t0 + 0.75 * k,
                stop_time=t0 + 0.75 * k + 0.25,
                stimulus_block=block,
                active=active,
                image_name=f"im{k % 3}",
                is_change=k % 5 == 0,
                omitted=False,
            )
    gabor = TimeIntervals(name="gabor_20_deg_250ms_presentations", description="")
    gabor.add_column(name="stimulus_block", description="")
    for k in range(10):
        gabor.add_row(start_time=30.0 + k, stop_time=30.25 + k, stimulus_block=2)
    spont = TimeIntervals(name="spontaneous_presentations", description="")
    spont.add_column(name="stimulus_block", description="")
    spont.add_row(start_time=16.0, stop_time=29.0, stimulus_block=1)
    for table in (images, gabor, spont):
        nwb.add_time_intervals(table)
    path = tmp_path / "vbn.nwb"
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)

    s = read_nwb(path)
    np.testing.assert_array_equal(s.unit_ids, [7, 8, 9])
    assert "spike_amplitudes" not in s.units and "waveform_mean" not in s.units
    assert isinstance(s.amplitudes, NWBSpikeTrains)
    assert np.all(np.isfinite(quality_metrics(s)["amplitude_cutoff"]))
    assert list(s.units["structure_acronym"]) == ["VISp", "CA1", "LGd"]
    assert list(s.epochs.name) == ["active", "spontaneous", "gabor_20_deg_250ms", "passive"]
    np.testing.assert_allclose(s.epochs.start, [0.0, 16.0, 30.0, 60.0])
    np.testing.assert_allclose(s.epochs.stop, [14.5, 29.0, 39.25, 74.5])
    assert s.stimulus.n_rows == 51 and np.all(np.diff(s.stimulus["start_time"]) >= 0)
    b = bin_spikes(s, epochs=["active", "passive"])
    assert b.counts.sum() == sum(
        np.sum((t >= a) & (t <= z)) for t in trains for a, z in ((0.0, 14.5), (60.0, 74.5))
    )


def test_allen_eye_tracking_pupil_area() -> None:
    """The VBN files keep pupil area in an extension type; the reader looks for
    ``acquisition[...].pupil_tracking.area`` (a stand-in object here: the extension's
    namespace is not installed)."""
    from types import SimpleNamespace

    from synaptax.data._nwb import _allen_pupil_area

    tracking = SimpleNamespace(area=np.array([1.0, 2.0]), timestamps=np.array([0.5, 0.6]))
    nwb = SimpleNamespace(acquisition={"EyeTracking": SimpleNamespace(pupil_tracking=tracking)})
    ts = _allen_pupil_area(nwb)
    assert ts is not None
    np.testing.assert_array_equal(ts.data, [1.0, 2.0])
    np.testing.assert_array_equal(ts.timestamps, [0.5, 0.6])
    assert _allen_pupil_area(SimpleNamespace(acquisition={})) is None
