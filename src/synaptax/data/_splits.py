"""Train / validation / test splits in contiguous time blocks, per brain state.

Bins are never shuffled one by one (neighbouring 10 ms bins are strongly correlated, so
that would leak): each epoch interval is cut into contiguous blocks, every block goes to
one split, and an optional guard gap of ``gap_s`` seconds is left out wherever two
blocks of different splits meet. No block crosses an epoch boundary, so every brain
state (active, passive, spontaneous) is represented in every split in proportion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from jaxtyping import Int

from ._binning import BinnedSpikes
from ._errors import SpikeDataError
from ._types import Real

__all__ = ["SPLIT_NAMES", "Splits", "contiguous_splits"]

SPLIT_NAMES = ("train", "validation", "test")


@dataclass(frozen=True)
class Splits:
    """Assignment of bins to splits.

    Attributes:
        assignment: ``[time]`` 0 train, 1 validation, 2 test, -1 guard gap (unused).
        blocks: ``[block, 3]`` rows ``(first_bin, stop_bin, split)`` of contiguous blocks.
        labels: ``[time]`` epoch (brain-state) name of each bin.
    """

    assignment: np.ndarray
    blocks: np.ndarray
    labels: np.ndarray

    def indices(self, split: str, state: str | None = None) -> Int[np.ndarray, " n"]:
        """Sorted bin indices of a split (``"train"``, ``"validation"``, ``"test"``),
        optionally only the bins of one brain state."""
        if split not in SPLIT_NAMES:
            raise SpikeDataError(None, f"unknown split {split!r}.", f"use {SPLIT_NAMES}.")
        mask = self.assignment == SPLIT_NAMES.index(split)
        if state is not None:
            if state not in set(self.labels.tolist()):
                raise SpikeDataError(
                    None,
                    f"unknown state {state!r}; the bins have {sorted(set(self.labels.tolist()))}.",
                )
            mask &= self.labels == state
        return np.flatnonzero(mask)

    @property
    def train(self) -> np.ndarray:
        return self.indices("train")

    @property
    def validation(self) -> np.ndarray:
        return self.indices("validation")

    @property
    def test(self) -> np.ndarray:
        return self.indices("test")


def _allocate(n_blocks: int, fractions: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
    """Split ids for ``n_blocks`` blocks, counts as close as possible to the fractions
    (largest remainder), each split getting a block when there are enough."""
    raw = fractions * n_blocks
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts))[: n_blocks - counts.sum()]:
        counts[i] += 1
    for i in range(len(counts)):  # make sure every requested split has a block
        if counts[i] == 0 and fractions[i] > 0 and counts.max() > 1:
            counts[np.argmax(counts)] -= 1
            counts[i] += 1
    ids = np.repeat(np.arange(len(counts)), counts)
    return ids if rng is None else rng.permutation(ids)


def contiguous_splits(
    binned: BinnedSpikes,
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    block_s: Real | None = None,
    gap_s: Real = 0.0,
    seed: int | None = 0,
) -> Splits:
    """Split the bins of ``binned`` into train / validation / test blocks.

    Args:
        binned: binned spikes (their epoch intervals define the segments).
        fractions: share of each split, summing to 1.
        block_s: block length in seconds. ``None``: each epoch interval is cut into
            three contiguous parts in time order (train, then validation, then test).
            Otherwise each interval is cut into blocks of ``block_s`` that are dealt to
            the splits (shuffled with ``seed``; ``seed=None`` keeps time order).
        gap_s: guard gap, seconds, dropped at every boundary between blocks of
            different splits (e.g. the context length of a model), so no window of that
            length spans two splits.
        seed: random seed for dealing blocks.

    Returns:
        :class:`Splits`.
    """
    frac = np.asarray(fractions, dtype=np.float64)
    if frac.shape != (3,) or np.any(frac < 0) or not np.isclose(frac.sum(), 1.0):
        raise SpikeDataError(
            None, f"fractions must be 3 non-negative numbers summing to 1, got {fractions}."
        )
    if block_s is not None and not block_s > 0:
        raise SpikeDataError(None, f"block_s must be positive, got {block_s}.")
    if gap_s < 0:
        raise SpikeDataError(None, f"gap_s must be >= 0, got {gap_s}.")
    w = binned.bin_width
    gap = int(np.ceil(gap_s / w - 1e-9))
    rng = None if seed is None else np.random.default_rng(seed)
    assignment = np.full(binned.n_bins, -1, dtype=np.int8)
    blocks = []
    seg = binned.segment
    for s in np.unique(seg):
        idx = np.flatnonzero(seg == s)
        first, n = int(idx[0]), len(idx)
        if block_s is None:
            bounds = np.round(np.cumsum(np.r_[0.0, frac]) * n).astype(int)
            pieces = [(bounds[i], bounds[i + 1], i) for i in range(3) if bounds[i + 1] > bounds[i]]
        else:
            size = max(1, round(block_s / w))
            starts = np.arange(0, n, size)
            ids = _allocate(len(starts), frac, rng)
            pieces = [
                (int(a), int(min(a + size, n)), int(k)) for a, k in zip(starts, ids, strict=True)
            ]
        for j, (a, b, k) in enumerate(pieces):
            stop = b
            if j + 1 < len(pieces) and pieces[j + 1][2] != k:
                stop = max(a, b - gap)
            assignment[first + a : first + stop] = k
            blocks.append((first + a, first + stop, k))
    return Splits(assignment, np.array(blocks, dtype=np.int64).reshape(-1, 3), binned.labels)
