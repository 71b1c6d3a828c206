"""A small immutable column table (name -> 1-D numpy array, all of one length)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from ._types import ArrayLike

__all__ = ["Table"]


@dataclass(frozen=True, init=False)
class Table(Mapping[str, np.ndarray]):
    """Columns of equal length, read-only.

    Used for unit metadata, stimulus presentations and trials. Columns are numpy arrays
    (strings as ``object`` or ``<U`` arrays). Times are in seconds.
    """

    columns: dict[str, np.ndarray]

    def __init__(self, columns: Mapping[str, ArrayLike] | None = None) -> None:
        cols = {str(k): np.asarray(v) for k, v in (columns or {}).items()}
        lengths = {name: len(col) for name, col in cols.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"Table columns differ in length: {lengths}")
        object.__setattr__(self, "columns", cols)

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.columns[name]
        except KeyError:
            raise KeyError(f"no column {name!r}; the table has {sorted(self.columns)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.columns)

    def __len__(self) -> int:
        """Number of columns (``Mapping`` convention); use :attr:`n_rows` for rows."""
        return len(self.columns)

    @property
    def n_rows(self) -> int:
        """Number of rows (0 for a table without columns)."""
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def select(self, rows: np.ndarray) -> Table:
        """A new table with the given rows (boolean mask or integer indices)."""
        return Table({k: np.asarray(v)[rows] for k, v in self.columns.items()})

    def with_columns(self, **new: np.ndarray) -> Table:
        """A new table with columns added or replaced."""
        return Table({**self.columns, **{k: np.asarray(v) for k, v in new.items()}})
