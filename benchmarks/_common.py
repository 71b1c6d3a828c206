"""Shared helpers for the benchmarks: machine description, timing, result files."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

from synaptax.memory import keep_freed_memory

# Every simulator timed in a benchmark process reuses freed memory instead of paying page
# faults on fresh pages per call (see synaptax.memory); recorded in the results.
MEMORY_REUSE = keep_freed_memory()

RESULTS = Path(__file__).resolve().parent / "results"
SHARED_DATA = Path(
    os.environ.get("SYNAPTAX_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


def machine() -> dict:
    """A short description of where the numbers were measured."""
    import jax

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "device_kind": jax.devices()[0].device_kind,
        "keep_freed_memory": MEMORY_REUSE,
    }


def best_of(fn: Callable[[], object], repeats: int = 3) -> float:
    """Minimum wall time (s) of ``repeats`` calls; ``fn`` must block until done."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def finish(name: str, figures: dict, table: list[tuple[str, str]], write: bool) -> None:
    """Print a table and the final JSON line; optionally write ``results/NAME.json``."""
    width = max(len(k) for k, _ in table) if table else 0
    for k, v in table:
        print(f"{k:<{width}}  {v}")
    if write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"{name}.json").write_text(
            json.dumps({**figures, "machine": machine()}, indent=2) + "\n"
        )
    print(json.dumps(figures))
