"""The ``synaptax`` command line."""

from __future__ import annotations

from pathlib import Path

import typer

from synaptax.data._cli import app as data_app
from synaptax.jepa._cli import app as teacher_app
from synaptax.pipeline._cli import app as pipeline_app

app = typer.Typer(
    help="synaptax: differentiable biophysical simulation and latent-dynamics distillation.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(data_app, name="data")
app.add_typer(teacher_app, name="teacher")
app.add_typer(pipeline_app, name="pipeline")


@app.command()
def demo(
    out: Path = typer.Option(Path("demo_output"), help="Folder for the figures and traces."),
) -> None:
    """Run the main job on embedded data: build a cell, simulate a current step and plot
    it; then generate a synthetic spike session, quality-control it, bin it and report."""
    from synaptax.demo import run_data_demo, run_simulator_demo

    run_simulator_demo(out)
    run_data_demo(out)


def main() -> None:  # pragma: no cover - console entry
    app()
