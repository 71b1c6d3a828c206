"""The ``synaptax data`` command line."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from synaptax.cli import app
from synaptax.data import make_synthetic_session, read_nwb, write_synthetic

runner = CliRunner()


@pytest.fixture(scope="module")
def nwb_file(tmp_path_factory):
    s, truth = make_synthetic_session(
        n_units=30, active_s=30.0, spontaneous_s=10.0, passive_s=30.0, seed=2
    )
    path = tmp_path_factory.mktemp("cli") / "s.nwb"
    write_synthetic(path, s, truth)
    return path


def test_inspect(nwb_file) -> None:
    res = runner.invoke(app, ["data", "inspect", str(nwb_file)])
    assert res.exit_code == 0, res.output
    for word in ("30 units", "active", "passive", "spontaneous", "isi_violations"):
        assert word in res.output


def test_bin(nwb_file, tmp_path) -> None:
    out = tmp_path / "b.npz"
    res = runner.invoke(
        app,
        [
            "data",
            "bin",
            str(nwb_file),
            "--bin-ms",
            "10",
            "--epochs",
            "active,passive",
            "--out",
            str(out),
            "--no-qc",
        ],
    )
    assert res.exit_code == 0, res.output
    with np.load(out) as z:
        counts, labels = z["counts"], z["labels"]
    s = read_nwb(nwb_file)
    assert counts.shape[1] == 30 and set(labels.tolist()) == {"active", "passive"}
    assert counts.sum() == sum(
        np.sum((s.spike_times(u) >= a) & (s.spike_times(u) <= b))
        for u in range(30)
        for a, b, n in zip(s.epochs.start, s.epochs.stop, s.epochs.name, strict=True)
        if n in ("active", "passive")
    )


def test_errors_are_clear(nwb_file, tmp_path) -> None:
    res = runner.invoke(
        app, ["data", "bin", str(nwb_file), "--epochs", "sleep", "--out", str(tmp_path / "x.npz")]
    )
    assert res.exit_code == 2
    assert "unknown epoch name" in res.output and not (tmp_path / "x.npz").exists()
    bogus = tmp_path / "bogus.nwb"
    bogus.write_text("not nwb")
    res = runner.invoke(app, ["data", "inspect", str(bogus)])
    assert res.exit_code == 2 and "not an HDF5/NWB file" in res.output


def test_report_and_synthetic(nwb_file, tmp_path) -> None:
    res = runner.invoke(app, ["data", "report", str(nwb_file), "--out", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    png, page = tmp_path / "r" / "report.png", tmp_path / "r" / "report.html"
    assert png.read_bytes()[:4] == b"\x89PNG" and "quality control" in page.read_text().lower()
    res = runner.invoke(
        app,
        [
            "data",
            "synthetic",
            str(tmp_path / "g.nwb"),
            "--units",
            "12",
            "--active-s",
            "20",
            "--passive-s",
            "20",
        ],
    )
    assert res.exit_code == 0, res.output
    assert read_nwb(tmp_path / "g.nwb").n_units == 12
    assert (tmp_path / "g.truth.npz").exists()
