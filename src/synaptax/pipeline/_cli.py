"""``synaptax pipeline``: run the end-to-end pipeline from a TOML config."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(
    help="End-to-end pipeline: data, teacher, spiking student, report.", no_args_is_help=True
)
console = Console()


@app.command()
def run(
    config: Annotated[
        Path | None,
        typer.Argument(help="TOML config (see docs/pipeline.md); defaults when omitted."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Output folder for the report.")] = Path(
        "pipeline_output"
    ),
    quick: Annotated[
        bool, typer.Option("--quick", help="Start from the small demo settings.")
    ] = False,
) -> None:
    """Run data -> QC -> bins -> splits -> teacher -> student -> report into OUT."""
    from ._config import load_config
    from ._run import run_pipeline

    try:
        cfg = load_config(config, quick=quick)
    except ValueError as exc:
        console.print(f"error: {exc}", markup=False)
        raise typer.Exit(code=2) from None
    try:
        run_pipeline(cfg, out, console=console)
    except (ValueError, OSError) as exc:
        console.print(f"error: {exc}", markup=False)
        raise typer.Exit(code=2) from None
