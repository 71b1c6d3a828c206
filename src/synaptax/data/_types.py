"""Type aliases of the data package (checked at runtime by jaxtyping + beartype)."""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import numpy.typing as npt

__all__ = ["ArrayLike", "Real"]

#: A real number: Python or numpy, int or float (``bin_ms=10`` and ``10.0`` both work).
Real: TypeAlias = float | int | np.floating | np.integer
#: Anything numpy turns into an array (arrays, lists, tuples).
ArrayLike: TypeAlias = npt.ArrayLike
