"""``synaptax teacher train / eval`` on a tiny synthetic session."""

import json
import tomllib

from typer.testing import CliRunner

from synaptax.cli import app

CONFIG = """
[data]
n_units = 30
latent_dim = 3
active_s = 30.0
spontaneous_s = 5.0
passive_s = 30.0
block_s = 5.0
gap_s = 0.2

[teacher]
latent_dim = 3
hidden = 8
horizons = [0, 1]
kernel = 3
dilations = [1]
context = 4
batch = 16
n_steps = 10
num_slices = 8
log_every = 5
"""


def test_train_then_eval(tmp_path):
    cfg = tmp_path / "t.toml"
    cfg.write_text(CONFIG)
    run = tmp_path / "run"
    r = CliRunner().invoke(app, ["teacher", "train", str(cfg), "--run-dir", str(run)])
    assert r.exit_code == 0, r.output
    report = json.loads((run / "report.json").read_text())
    assert set(report) == {"teacher", "pca_causal", "pca_acausal", "lds", "probe_chance"}
    for k in ("gt_latent_cca", "effective_rank_frac", "latent_std", "probe_acc", "pred_r2"):
        assert k in report["teacher"]
    (run / "report.json").unlink()
    r = CliRunner().invoke(app, ["teacher", "eval", str(run)])
    assert r.exit_code == 0, r.output
    assert json.loads((run / "report.json").read_text())["teacher"] == report["teacher"]


def test_bad_config_and_run_dir(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[teacher]\nlatnt_dim = 3\n")
    r = CliRunner().invoke(app, ["teacher", "train", str(cfg), "--run-dir", str(tmp_path / "r")])
    assert r.exit_code == 2 and "unknown teacher setting" in r.output
    r = CliRunner().invoke(app, ["teacher", "eval", str(tmp_path / "nothing")])
    assert r.exit_code == 2 and "not found" in r.output


def test_poisson_teacher_reports_its_refined_latents(tmp_path):
    cfg = tmp_path / "t.toml"
    cfg.write_text(CONFIG + "obs_weight = 10.0\nobs_poisson = true\n")
    run = tmp_path / "run"
    r = CliRunner().invoke(app, ["teacher", "train", str(cfg), "--run-dir", str(run)])
    assert r.exit_code == 0, r.output
    report = json.loads((run / "report.json").read_text())
    assert "teacher_refined" in report
    assert 0.0 < report["teacher_refined"]["gt_latent_cca"] <= 1.0


def test_several_sessions_train_one_teacher_and_report_each(tmp_path):
    from synaptax import jepa
    from synaptax.jepa._cli import _prepare

    cfg = tmp_path / "t.toml"
    text = CONFIG.replace("[data]\n", '[data]\nsource = ["synthetic", "synthetic"]\nseed = 4\n')
    cfg.write_text(text + "obs_weight = 10.0\nobs_poisson = true\n")
    run = tmp_path / "run"
    r = CliRunner().invoke(app, ["teacher", "train", str(cfg), "--run-dir", str(run)])
    assert r.exit_code == 0, r.output
    assert "2 session(s)" in r.output and "session_1" in r.output
    report = json.loads((run / "report.json").read_text())
    assert set(report) == {"session_0", "session_1"}
    _, model, views = jepa.load_sessions_run(run)
    assert len(views) == 2 and len(model.readins) == 4
    for s in (0, 1):
        rows = report[f"session_{s}"]
        assert {"teacher", "teacher_refined", "lds", "probe_chance"} <= set(rows)
        # each table is that session's: its own data (seed 4 + s) through its own read-ins
        small = tomllib.loads(CONFIG)["data"]
        counts, train, test, _, _, x = _prepare({**small, "source": "synthetic", "seed": 4 + s})
        z = jepa.teacher_latents(model, counts, views[s], session=s)
        assert rows["teacher"]["gt_latent_cca"] == jepa.heldout_cca(z, x, train, test)
    assert report["session_0"]["teacher"] != report["session_1"]["teacher"]
    # a config that no longer matches the run is refused
    (run / "teacher.toml").write_text(CONFIG)
    r = CliRunner().invoke(app, ["teacher", "eval", str(run)])
    assert r.exit_code == 2 and "names 1 session(s)" in r.output
