"""The spike-data pipeline end to end on a synthetic session with known latents.

Generates a session in the Allen Visual Behavior Neuropixels layout (active block,
spontaneous grey screen, passive replay), writes it to NWB with its ground truth beside
it, reads it back lazily, applies the Allen quality filter, bins the passing units at
10 ms in the active and passive epochs, makes contiguous train/validation/test splits
and writes the data-quality report.

    python examples/data_synthetic_pipeline.py [OUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from synaptax import data


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    session, truth = data.make_synthetic_session(n_units=200, latent_dim=4, seed=0)
    path = data.write_synthetic(out / "synthetic.nwb", session, truth)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) and {data.truth_path(path).name}")

    session, truth = data.read_synthetic(path)  # spike times stay in the file
    qc = data.qc_filter(session)  # Allen defaults
    print(qc.format())
    caught = np.mean(~qc.passed[~truth.good])
    print(f"bad units rejected: {caught:.0%}; good units kept: {qc.passed[truth.good].mean():.0%}")

    binned = data.bin_spikes(
        session,
        bin_ms=10,
        epochs=["active", "passive"],
        units=np.flatnonzero(qc.passed),
        cache_dir=out / "cache",
    )
    states = sorted(set(binned.labels.tolist()))
    print(f"counts {binned.counts.shape} (time, unit), states {states}")
    splits = data.contiguous_splits(binned, (0.7, 0.15, 0.15), block_s=10.0, gap_s=0.5)
    for name in ("train", "validation", "test"):
        sizes = {s: len(splits.indices(name, s)) for s in ("active", "passive")}
        print(f"{name:<11} bins per state: {sizes}")
    _, page = data.write_report(session, out / "report", qc=qc)
    print(f"report: {page}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("data_demo_output"))
