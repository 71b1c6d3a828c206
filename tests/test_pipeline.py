"""The end-to-end pipeline: a tiny run, its report and metrics; config errors; inputs."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from synaptax import data, pipeline
from synaptax.cli import app

ROOT = Path(__file__).resolve().parents[1]

TINY = {
    "data": {
        "n_units": 40,
        "active_s": 40.0,
        "spontaneous_s": 5.0,
        "passive_s": 40.0,
        "block_s": 5.0,
    },
    "teacher": {
        "latent_dim": 3,
        "n_steps": 10,
        "batch": 8,
        "hidden": 8,
        "num_slices": 16,
        "dilations": [1, 2],
        "horizons": [0, 1, 2],
        "context": 8,
    },
    "student": {"n_neurons": 40, "n_steps": 10, "batch": 4, "window": 100, "burn_in": 10},
    "report": {"raster_s": 2.0, "dpi": 40},
}


def _numbers(x, path=""):
    if isinstance(x, dict):
        for k, v in x.items():
            yield from _numbers(v, f"{path}.{k}")
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from _numbers(v, f"{path}[{i}]")
    elif isinstance(x, bool) or isinstance(x, str):
        return
    else:
        yield path, x


def test_tiny_pipeline_writes_report_and_finite_metrics(tmp_path):
    cfg = pipeline.config_from_dict(TINY)
    res = pipeline.run_pipeline(cfg, tmp_path, progress=False)
    names = ["rates", "currents", "cca", "training"]
    names += [f"{k}_{s}" for k in ("raster", "latents") for s in ("active", "passive")]
    for n in names:
        png = tmp_path / f"{n}.png"
        assert png.exists() and png.stat().st_size > 1000, n
    page = (tmp_path / "report.html").read_text()
    assert page.count("data:image/png;base64,") == len(names)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics == res.metrics
    for path, v in _numbers(metrics):
        assert v is not None and math.isfinite(v), f"metric {path} is {v}"
    st = metrics["student"]
    assert st["dale_violations"] == 0
    assert len(st["cca_per_dim"]) == 3
    assert set(metrics["per_state"]) == {"active", "passive"}
    assert 0 < st["n_excitatory"] < st["n_neurons"]
    assert -1 <= st["cca_heldout"] <= 1 and 0 <= st["frac_rates_in_band"] <= 1
    assert "gt_latent_cca" in metrics["teacher"]
    assert json.loads((tmp_path / "config.json").read_text())["student"]["n_neurons"] == 40


def test_pipeline_distils_the_refined_latents(tmp_path, monkeypatch):
    from synaptax import distill, jepa

    seen = {}
    refine, fit = jepa.refined_latents, distill.distill

    def spy_refine(*args, **kwargs):
        seen["refined"], params = refine(*args, **kwargs)
        seen["em_iter"] = kwargs["em_iter"]
        return seen["refined"], params

    def spy_distill(student, inputs, latents, **kwargs):
        seen["targets"] = np.asarray(latents)
        return fit(student, inputs, latents, **kwargs)

    monkeypatch.setattr(jepa, "refined_latents", spy_refine)
    monkeypatch.setattr(distill, "distill", spy_distill)
    teacher = {**TINY["teacher"], "obs_weight": 1.0, "obs_poisson": True, "refine_em_iter": 2}
    cfg = pipeline.config_from_dict({**TINY, "teacher": teacher})
    res = pipeline.run_pipeline(cfg, tmp_path, progress=False)
    assert seen["em_iter"] == 2
    # the student's targets are the refined latents, standardised on the training bins
    zr, z = seen["refined"], seen["targets"]
    corr = [abs(np.corrcoef(zr[:, i], z[:, i])[0, 1]) for i in range(z.shape[1])]
    np.testing.assert_allclose(corr, 1.0, atol=1e-5)
    t = res.metrics["teacher"]
    assert t["refine_em_iter"] == 2 and "refine" in res.metrics["seconds"]
    assert t["gt_latent_cca"] != t["encoder_gt_latent_cca"]


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"model": {}}, r"unknown section\(s\) \['model'\]"),
        ({"student": {"neurons": 10}}, r"unknown key\(s\) \['neurons'\] in \[student\]"),
        ({"student": {"n_neurons": 12.5}}, r"\[student\] n_neurons must be an integer"),
        ({"data": {"qc": "yes"}}, r"\[data\] qc must be true or false"),
        ({"data": {"epochs": "active"}}, r"\[data\] epochs must be a list"),
        ({"data": {"inputs": ["images", "lick"]}}, r"inputs \['lick'\] unknown"),
        ({"student": {"rate_band": [5.0]}}, r"rate_band must have 2 numbers"),
        ({"teacher": {"depth": 3}}, r"unknown teacher setting"),
        ({"student": {"window": 2000}}, r"shorter than a split block"),
        ({"data": 3}, r"must be a \[section\] table"),
        ({"teacher": {"refine_em_iter": 2}}, r"needs obs_poisson = true"),
        ({"teacher": {"refine_em_iter": -1}}, r"refine_em_iter must be a non-negative"),
    ],
)
def test_config_errors_say_what_is_wrong(raw, match):
    with pytest.raises(ValueError, match=match):
        pipeline.config_from_dict(raw)


def test_load_config_files_and_cli_errors(tmp_path):
    cfg = pipeline.load_config(ROOT / "examples" / "pipeline.toml")
    assert cfg.data.source == "synthetic" and cfg.student.n_neurons > 0
    assert pipeline.load_config(None, quick=True) == pipeline.quick_config()
    with pytest.raises(ValueError, match="config file not found"):
        pipeline.load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[data\nsource = 1")
    with pytest.raises(ValueError, match="not valid TOML"):
        pipeline.load_config(bad)
    bad.write_text("[student]\nsize = 3\n")
    res = CliRunner().invoke(app, ["pipeline", "run", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "unknown key(s) ['size'] in [student]" in res.output


def test_session_inputs_follow_the_stimulus_table():
    session, _ = data.make_synthetic_session(
        n_units=5, active_s=15.0, spontaneous_s=2.0, passive_s=15.0, seed=3
    )
    binned = data.bin_spikes(session, bin_ms=10, epochs=["active", "passive"])
    u, names, missing = pipeline.session_inputs(
        session, binned, ("images", "change", "running_speed", "state"), "active"
    )
    assert u.shape == (binned.n_bins, len(names)) and not missing
    img = [i for i, n in enumerate(names) if n.startswith("image ")]
    # at most one image on screen; flashes of 250 ms every 750 ms: on a third of the time
    on = u[:, img].sum(1)
    assert set(np.unique(on)) <= {0.0, 1.0}
    assert 0.25 < on.mean() < 0.4
    state = u[:, names.index("state (active)")]
    np.testing.assert_array_equal(state, binned.labels == "active")
    with pytest.raises(ValueError, match="student needs inputs"):
        pipeline.session_inputs(
            data.Session(session.spikes, session.units, session.epochs, 0.0, session.t_stop),
            binned,
            ("images", "running_speed"),
            "active",
        )
