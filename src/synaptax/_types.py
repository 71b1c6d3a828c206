"""Shared jaxtyping aliases. Axis names: ``comp`` compartments, ``time`` time steps,
``batch`` a vmapped axis, ``site`` recording sites, ``unit`` neurons of a recording."""

from typing import TypeAlias

import numpy as np
from jaxtyping import Array, Float, Int

Scalar: TypeAlias = Float[Array, ""] | float
CompArray: TypeAlias = Float[Array, " comp"]
TimeArray: TypeAlias = Float[Array, " time"]
NPFloat: TypeAlias = Float[np.ndarray, "..."]
NPInt: TypeAlias = Int[np.ndarray, "..."]
