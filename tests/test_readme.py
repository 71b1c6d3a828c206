"""The README's example runs as written (on a generated reconstruction)."""

from __future__ import annotations

import re
from pathlib import Path

from synaptax.morph.synthetic import write_branched_cell

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_simulation_example_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    code = next(b for b in blocks if "sx.Cell.from_swc" in b)
    write_branched_cell(tmp_path / "cell.swc", seed=2)
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(code, str(README), "exec"), scope)
    v, grads = scope["v"], scope["grads"]
    assert v.shape == (2, 4001)
    assert float(abs(grads.channels[0].gnabar).sum()) > 0
