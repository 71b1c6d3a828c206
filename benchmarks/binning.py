"""Binning throughput: synaptax.data.bin_spikes vs a per-unit numpy.histogram loop.

A session of ``--spikes`` spikes over ``--units`` units (full: 100M over 2,000 units,
one hour) is generated chunk-wise, in a child process, into a ``.npy`` file that is
memory-mapped, so neither the generation nor the input dominates the measured memory.
Both methods bin it at 10 ms over the whole session into dense int32 ``[time, unit]``
counts, each timed as the best of two calls (output allocation included; the first call
on a fresh VM also pays the host's first touch of memory, reported separately); the
results must be identical. ``peak_rss_gb`` is the peak resident memory of this
process after the synaptax run (output array included: bins x units x 4 bytes).

    python -m benchmarks.binning            # full
    python -m benchmarks.binning --quick    # under a minute
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._common import finish


def generate(folder: Path, n_spikes: int, n_units: int, duration: float, seed: int = 0) -> None:
    """Write ``spikes.npy`` (flat, sorted per unit) and ``offsets.npy`` chunk-wise."""
    rng = np.random.default_rng(seed)
    rates = rng.lognormal(0.0, 1.0, n_units)
    counts = np.floor(rates / rates.sum() * n_spikes).astype(np.int64)
    counts[: n_spikes - counts.sum()] += 1
    offsets = np.concatenate([[0], np.cumsum(counts)])
    flat = np.lib.format.open_memmap(folder / "spikes.npy", "w+", np.float64, (n_spikes,))
    for u in range(n_units):
        n = int(counts[u])
        t = np.cumsum(rng.exponential(duration / (n + 1), n))
        t *= duration / max(t[-1], duration) if n else 1.0  # stay inside the session
        flat[offsets[u] : offsets[u + 1]] = t
        if u % 100 == 99:
            flat.flush()
    flat.flush()
    del flat
    np.save(folder / "offsets.npy", offsets)


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="5M spikes, 200 units.")
    ap.add_argument("--spikes", type=int, default=None)
    ap.add_argument("--units", type=int, default=None)
    ap.add_argument("--duration", type=float, default=3600.0, help="Session length (s).")
    ap.add_argument("--no-write", action="store_true", help="Do not write results JSON.")
    ap.add_argument("--generate-into", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    n_spikes = args.spikes or (5_000_000 if args.quick else 100_000_000)
    n_units = args.units or (200 if args.quick else 2000)
    duration = 600.0 if args.quick and args.duration == 3600.0 else args.duration
    if args.generate_into:
        generate(args.generate_into, n_spikes, n_units, duration)
        return

    from synaptax.data import ArraySpikeTrains, Epochs, Session, Table, bin_edges_for, bin_spikes

    with tempfile.TemporaryDirectory(prefix="synaptax-bench-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.binning",
                "--generate-into",
                str(folder),
                "--spikes",
                str(n_spikes),
                "--units",
                str(n_units),
                "--duration",
                str(duration),
            ],
            check=True,
        )
        gen_s = time.perf_counter() - t0
        flat = np.load(folder / "spikes.npy", mmap_mode="r")
        offsets = np.load(folder / "offsets.npy")
        session = Session(
            spikes=ArraySpikeTrains(flat, offsets, source=str(folder)),
            units=Table({"unit_id": np.arange(n_units)}),
            epochs=Epochs.empty(),
            t_start=0.0,
            t_stop=duration,
        )
        rss_before = _rss_gb()
        ours_times = []
        for _ in range(2):  # the first call also pays the VM's first touch of memory
            binned = None
            t0 = time.perf_counter()
            binned = bin_spikes(session, bin_ms=10.0)
            ours_times.append(time.perf_counter() - t0)
        ours_s = min(ours_times)
        peak_rss = _rss_gb()

        edges = bin_edges_for(0.0, duration, 0.01)
        numpy_times = []
        for _ in range(2):
            reference = None
            t0 = time.perf_counter()
            reference = np.zeros((len(edges) - 1, n_units), dtype=np.int32)
            for u in range(n_units):
                reference[:, u] = np.histogram(flat[offsets[u] : offsets[u + 1]], bins=edges)[0]
            numpy_times.append(time.perf_counter() - t0)
        numpy_s = min(numpy_times)
        identical = bool(np.array_equal(reference, binned.counts))
        del flat, reference

    figures = {
        "vs_numpy_ratio": round(ours_s / numpy_s, 4),
        "spikes_per_s": round(n_spikes / ours_s),
        "spikes_per_s_first_call": round(n_spikes / ours_times[0]),
        "numpy_spikes_per_s": round(n_spikes / numpy_s),
        "peak_rss_gb": round(peak_rss, 3),
        "output_gb": round(binned.counts.nbytes / 1024**3, 3),
        "n_spikes": n_spikes,
        "n_units": n_units,
        "n_bins": binned.n_bins,
        "bin_ms": 10.0,
        "identical_to_numpy": identical,
        "mode": "quick" if args.quick else "full",
    }
    table = [
        ("session", f"{n_spikes:,} spikes, {n_units} units, {duration:.0f} s, 10 ms bins"),
        ("generation (child process)", f"{gen_s:.1f} s"),
        ("synaptax bin_spikes, best of 2", f"{ours_s:.2f} s ({n_spikes / ours_s / 1e6:.1f} M/s)"),
        ("synaptax bin_spikes, first call", f"{ours_times[0]:.2f} s"),
        (
            "numpy.histogram per unit, best of 2",
            f"{numpy_s:.2f} s  ({n_spikes / numpy_s / 1e6:.1f} M spikes/s)",
        ),
        ("time ratio synaptax/numpy", f"{ours_s / numpy_s:.3f}"),
        ("identical counts", str(identical)),
        ("peak RSS before / after binning", f"{rss_before:.2f} / {peak_rss:.2f} GB"),
        ("output array", f"{binned.counts.nbytes / 1024**3:.2f} GB"),
    ]
    finish("binning", figures, table, write=not args.no_write and not args.quick)
    if not identical:
        raise SystemExit("binned counts differ from numpy.histogram")


if __name__ == "__main__":
    main()
