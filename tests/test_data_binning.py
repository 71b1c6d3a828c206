"""Binning: exact agreement with numpy.histogram, epochs, sparse output, chunking, cache."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import shared_data

from synaptax.data import (
    ArraySpikeTrains,
    Epochs,
    Session,
    SpikeDataError,
    Table,
    bin_edges_for,
    bin_spikes,
)
from synaptax.data._tables import read_mat_spike_times, read_trial_raster_csv


def _session(trains: list[np.ndarray], t_stop: float, epochs: Epochs | None = None) -> Session:
    return Session(
        spikes=ArraySpikeTrains.from_list(trains),
        units=Table({"unit_id": np.arange(len(trains))}),
        epochs=epochs if epochs is not None else Epochs.empty(),
        t_start=0.0,
        t_stop=t_stop,
    )


def _numpy_reference(session: Session, edges_per_epoch: list[np.ndarray]) -> np.ndarray:
    cols = []
    for u in range(session.n_units):
        t = session.spike_times(u)
        cols.append(np.concatenate([np.histogram(t, bins=e)[0] for e in edges_per_epoch]))
    return np.stack(cols, axis=1)


@pytest.mark.parametrize("bin_ms", [10.0, 1.0, 7.3, 250.0])
def test_matches_numpy_histogram_random(bin_ms: float) -> None:
    rng = np.random.default_rng(int(bin_ms * 10))
    T = 37.123
    trains = [np.sort(rng.uniform(0, T, rng.integers(0, 3000))) for _ in range(23)]
    s = _session(trains, T)
    b = bin_spikes(s, bin_ms=bin_ms)
    edges = bin_edges_for(0.0, T, bin_ms / 1000)
    np.testing.assert_array_equal(b.counts, _numpy_reference(s, [edges]))
    np.testing.assert_array_equal(b.edges(0), edges)
    assert b.counts.shape == (len(edges) - 1, 23)


def test_spikes_exactly_on_edges_and_last_edge_inclusive() -> None:
    w = 0.01
    edges = bin_edges_for(0.0, 1.0, w)
    on_edges = edges.copy()  # every edge, including the very last one
    near = np.concatenate([np.nextafter(edges, -np.inf), np.nextafter(edges, np.inf)])
    t = np.sort(np.clip(np.concatenate([on_edges, near]), 0.0, 1.0))
    s = _session([t, edges[:-1]], 1.0)
    b = bin_spikes(s, bin_ms=10)
    np.testing.assert_array_equal(b.counts, _numpy_reference(s, [edges]))
    assert b.counts[-1, 1] == 1 and b.counts[-1, 0] >= 2  # last edge counted in last bin
    excl = bin_spikes(s, bin_ms=10, last_edge_inclusive=False)
    n_at_end = int(np.sum(t == edges[-1]))
    assert n_at_end >= 1
    assert excl.counts[-1, 0] == b.counts[-1, 0] - n_at_end  # spikes at t = 1.0 dropped
    np.testing.assert_array_equal(excl.counts[:-1], b.counts[:-1])


def test_epochs_alignment_and_labels() -> None:
    rng = np.random.default_rng(1)
    T = 100.0
    trains = [np.sort(rng.uniform(0, T, 5000)) for _ in range(7)]
    ep = Epochs([0.0, 40.003, 70.0], [39.5, 69.0, 100.0], ["active", "spontaneous", "passive"])
    s = _session(trains, T, ep)
    b = bin_spikes(s, bin_ms=10, epochs=["passive", "active"])
    e_active = bin_edges_for(0.0, 39.5, 0.01)
    e_passive = bin_edges_for(70.0, 100.0, 0.01)
    np.testing.assert_array_equal(b.counts, _numpy_reference(s, [e_active, e_passive]))
    assert list(b.epochs.name) == ["active", "passive"]
    assert (b.labels[: len(e_active) - 1] == "active").all()
    assert (b.labels[len(e_active) - 1 :] == "passive").all()
    assert b.n_bins == 3950 + 3000
    # Bins of one epoch are contiguous and start at the epoch start.
    assert b.bin_starts[len(e_active) - 1] == 70.0


def test_sparse_dtype_and_chunking_agree() -> None:
    rng = np.random.default_rng(2)
    T = 20.0
    trains = [np.sort(rng.uniform(0, T, rng.integers(0, 2000))) for _ in range(50)]
    s = _session(trains, T)
    ref = bin_spikes(s).counts
    chunked = bin_spikes(s, max_chunk_spikes=1000)
    np.testing.assert_array_equal(chunked.counts, ref)
    sp = bin_spikes(s, sparse=True, dtype=np.uint16)
    np.testing.assert_array_equal(sp.dense(), ref)
    assert sp.counts.dtype == np.uint16
    units = np.array([3, 4, 5, 40, 11])
    sub = bin_spikes(s, units=units, max_chunk_spikes=500)
    np.testing.assert_array_equal(sub.counts, ref[:, units])
    np.testing.assert_array_equal(sub.unit_ids, units)


def test_overflow_is_an_error() -> None:
    t = np.full(300, 0.5)
    s = _session([t], 1.0)
    with pytest.raises(SpikeDataError, match="more than uint8"):
        bin_spikes(s, dtype=np.uint8)


def test_real_data_matches_numpy() -> None:
    raster = read_trial_raster_csv(
        shared_data("spikes", "auditory_cortex_szabo_bartho2021", "D_A_I.csv")
    )
    b = bin_spikes(raster, bin_ms=10, epochs=["val", "test"])
    edges = [bin_edges_for(a, c, 0.01) for a, c in zip(b.epochs.start, b.epochs.stop, strict=True)]
    np.testing.assert_array_equal(b.counts, _numpy_reference(raster, edges))
    # Spike totals are preserved: every spike of these epochs is in exactly one bin.
    assert b.counts.sum() > 10_000
    mat = read_mat_spike_times(
        shared_data("spikes", "hippocampus_tetrode_synapticonn", "all_unit.mat")
    )
    bm = bin_spikes(mat, bin_ms=10)
    ref = _numpy_reference(mat, [bin_edges_for(0.0, mat.t_stop, 0.01)])
    np.testing.assert_array_equal(bm.counts, ref)


def test_bad_requests() -> None:
    s = _session([np.array([0.1, 0.2])], 1.0, Epochs([0.0], [1.0], ["active"]))
    with pytest.raises(SpikeDataError, match=r"unknown epoch name\(s\) \['passive'\]"):
        bin_spikes(s, epochs=["passive"])
    with pytest.raises(SpikeDataError, match="positive"):
        bin_spikes(s, bin_ms=0)
    with pytest.raises(SpikeDataError, match="unit indices"):
        bin_spikes(s, units=np.array([1]))


@pytest.mark.parametrize(
    ("train", "message"),
    [
        (np.array([0.5, 0.2, 0.7]), "not sorted"),
        (np.array([-0.1, 0.2]), "negative"),
        (np.array([0.1, 5.0]), "beyond the session end"),
        (np.array([0.1, np.nan]), "not finite"),
    ],
)
def test_bad_spike_times_fail_and_leave_no_cache(train, message, tmp_path) -> None:
    s = _session([np.array([0.1, 0.3]), train], 1.0)
    with pytest.raises(SpikeDataError, match=message) as info:
        bin_spikes(s, cache_dir=tmp_path)
    assert "unit 1" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_cache_hit_and_key(tmp_path) -> None:
    rng = np.random.default_rng(3)
    trains = [np.sort(rng.uniform(0, 10, 500)) for _ in range(5)]
    s = _session(trains, 10.0)
    first = bin_spikes(s, cache_dir=tmp_path)
    files = sorted(tmp_path.glob("binned-*.npz"))
    assert len(files) == 1
    again = bin_spikes(s, cache_dir=tmp_path)
    np.testing.assert_array_equal(again.counts, first.counts)
    np.testing.assert_array_equal(again.bin_starts, first.bin_starts)
    bin_spikes(s, bin_ms=20, cache_dir=tmp_path)
    bin_spikes(s, sparse=True, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("binned-*.npz"))) == 3
    sp = bin_spikes(s, sparse=True, cache_dir=tmp_path)
    np.testing.assert_array_equal(sp.dense(), first.counts)
    # Different spikes -> different key (the cache never returns stale counts).
    trains[0] = trains[0] + 0.001
    s2 = dataclasses.replace(s, spikes=ArraySpikeTrains.from_list(trains))
    other = bin_spikes(s2, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("binned-*.npz"))) == 4
    assert not np.array_equal(other.counts, first.counts)
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_failure_in_a_later_block_writes_nothing(tmp_path) -> None:
    good = [np.linspace(0.1, 0.9, 50) for _ in range(5)]
    s = _session([*good, np.array([0.5, 0.4])], 1.0)
    with pytest.raises(SpikeDataError, match="unit 5: spike times are not sorted"):
        bin_spikes(s, cache_dir=tmp_path, max_chunk_spikes=60)  # six blocks
    assert list(tmp_path.iterdir()) == []


def test_a_unit_larger_than_a_block_is_split_in_time(tmp_path) -> None:
    rng = np.random.default_rng(5)
    T = 10.0
    big = np.sort(rng.uniform(0, T, 20_000))
    big = np.sort(np.concatenate([big, np.full(7, 5.0), np.full(5, 2.5)]))  # runs at edges
    trains = [np.sort(rng.uniform(0, T, 300)), big, np.sort(rng.uniform(0, T, 50))]
    s = _session(trains, T)
    ref = bin_spikes(s).counts
    for chunk in (1000, 997, 60):
        np.testing.assert_array_equal(bin_spikes(s, max_chunk_spikes=chunk).counts, ref)
    sp = bin_spikes(s, max_chunk_spikes=997, sparse=True)
    np.testing.assert_array_equal(sp.dense(), ref)
    sub = bin_spikes(s.select_units(np.array([1, 2])), max_chunk_spikes=500)
    np.testing.assert_array_equal(sub.counts, ref[:, 1:])
    big_bad = big.copy()
    big_bad[15_000] = 0.001  # out of order exactly at a piece boundary (1000-spike pieces)
    bad = _session([big_bad], T)
    with pytest.raises(SpikeDataError, match="not sorted"):
        bin_spikes(bad, max_chunk_spikes=1000, cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []
