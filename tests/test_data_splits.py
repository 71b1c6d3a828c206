"""Contiguous train / validation / test splits that never leak across boundaries."""

from __future__ import annotations

import numpy as np
import pytest

from synaptax.data import ArraySpikeTrains, Epochs, Session, SpikeDataError, Table, bin_spikes
from synaptax.data._splits import contiguous_splits


@pytest.fixture(scope="module")
def binned():
    rng = np.random.default_rng(0)
    ep = Epochs([0.0, 100.0, 130.0], [99.5, 130.0, 230.0], ["active", "spontaneous", "passive"])
    trains = [np.sort(rng.uniform(0, 230, 2000)) for _ in range(4)]
    s = Session(
        spikes=ArraySpikeTrains.from_list(trains),
        units=Table({"unit_id": np.arange(4)}),
        epochs=ep,
        t_start=0.0,
        t_stop=230.0,
    )
    return bin_spikes(s, bin_ms=10, epochs=["active", "passive", "spontaneous"])


def _check_blocks(binned, splits, gap_bins):
    a = splits.assignment
    for first, stop, _ in splits.blocks:
        assert len(set(binned.segment[first:stop].tolist())) <= 1  # never crosses an epoch
    # No two bins of different splits closer than the gap inside a segment.
    for s in np.unique(binned.segment):
        idx = np.flatnonzero((binned.segment == s) & (a >= 0))
        change = np.flatnonzero(np.diff(a[idx]) != 0)
        assert np.all(idx[change + 1] - idx[change] > gap_bins)


@pytest.mark.parametrize(("block_s", "gap_s"), [(None, 0.0), (None, 0.5), (5.0, 0.2)])
def test_splits_are_disjoint_contiguous_and_per_state(binned, block_s, gap_s) -> None:
    sp = contiguous_splits(binned, (0.6, 0.2, 0.2), block_s=block_s, gap_s=gap_s)
    sets = [set(sp.train.tolist()), set(sp.validation.tolist()), set(sp.test.tolist())]
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    _check_blocks(binned, sp, round(gap_s / binned.bin_width))
    for state in ("active", "passive", "spontaneous"):
        n_state = np.sum(binned.labels == state)
        for name, frac in zip(("train", "validation", "test"), (0.6, 0.2, 0.2), strict=True):
            share = len(sp.indices(name, state)) / n_state
            assert share == pytest.approx(frac, abs=0.07 + gap_s / 10)
    used = np.count_nonzero(sp.assignment >= 0)
    assert used == binned.n_bins if gap_s == 0 else used < binned.n_bins


def test_time_order_without_blocks(binned) -> None:
    sp = contiguous_splits(binned, block_s=None)
    for state in ("active", "passive"):
        tr, va, te = (sp.indices(n, state) for n in ("train", "validation", "test"))
        assert tr.max() < va.min() <= va.max() < te.min()
        assert np.all(np.diff(tr) == 1)  # one contiguous block per state and split


def test_bad_arguments(binned) -> None:
    with pytest.raises(SpikeDataError, match="summing to 1"):
        contiguous_splits(binned, (0.5, 0.2, 0.2))
    with pytest.raises(SpikeDataError, match="unknown split"):
        contiguous_splits(binned).indices("dev")
    with pytest.raises(SpikeDataError, match="unknown state"):
        contiguous_splits(binned).indices("train", "sleep")
