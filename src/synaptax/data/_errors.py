"""Errors raised for bad spike data: each names the file, the problem and the fix."""

from __future__ import annotations

from pathlib import Path

__all__ = ["SpikeDataError"]


class SpikeDataError(ValueError):
    """Bad spike data or a bad request on it.

    The message always says which file (or in-memory source) was involved, what was
    wrong and how to fix it. It subclasses ``ValueError`` so callers that already catch
    value errors keep working.
    """

    def __init__(self, source: str | Path | None, problem: str, fix: str = "") -> None:
        self.source = None if source is None else str(source)
        self.problem = problem
        self.fix = fix
        where = f"{self.source}: " if self.source else ""
        message = f"{where}{problem}"
        if fix:
            message += f" Fix: {fix}"
        super().__init__(message)
