"""Parameter values as functions of path distance from the soma.

The four rules of the Hay et al. (2011) template (``calculate_distribution`` in their
``L5PCtemplate.hoc``), for a distance ``x`` (um, or normalised by the longest path of
the section list: ``normalized=True``), all multiplied by ``scale``::

    linear       a + b x
    sigmoid      a + b / (1 + exp((x - c) / d))
    exponential  a + d exp(b (x - c))
    step         a if c <= x <= d else b

A :class:`Distribution` is a callable on distances, so it can be passed to
:meth:`synaptax.Cell.set`, which evaluates it on the path distances (from the soma's
midpoint) of the selected compartments:

    >>> from synaptax.build.distributions import exponential, step
    >>> ih = exponential(-0.8696, 3.6161, 0.0, 2.087, scale=2e-4, normalized=True)
    >>> hot_zone = step(1.0, 0.01, 685.0, 885.0, scale=0.0187)
    >>> float(hot_zone(700.0)), float(hot_zone(900.0))
    (0.0187, 0.000187)
    >>> cell.select(types="apical").set("Ca_LVAst.gbar", hot_zone)  # doctest: +SKIP

A normalised rule needs the normalising length: :meth:`Distribution.values` takes it, and
:func:`synaptax.build.apply_parameter_file` computes it the way the template does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Kind = Literal["linear", "sigmoid", "exponential", "step"]
#: The integer codes of the Hay template's ``distribute_channels`` (``dist_type``).
HAY_CODES: dict[int, Kind] = {0: "linear", 1: "sigmoid", 2: "exponential", 3: "step"}
_N_ARGS: dict[Kind, int] = {"linear": 2, "sigmoid": 4, "exponential": 4, "step": 4}


@dataclass(frozen=True)
class Distribution:
    """A rule ``kind`` with arguments ``args`` (a, b[, c, d]), times ``scale``.

    ``normalized=True`` means ``x`` is a distance divided by a length (Hay's
    ``distance / maxLength``); calling such a distribution on raw distances is an error,
    use :meth:`values` with the length.
    """

    kind: str  # one of Kind; checked with a helpful message below
    args: tuple[float, ...]
    scale: float = 1.0
    normalized: bool = False

    def __post_init__(self) -> None:
        if self.kind not in _N_ARGS:  # also for callers without a type checker
            raise ValueError(
                f"unknown distribution {self.kind!r}; use one of {sorted(_N_ARGS)} "
                f"(or the Hay codes {HAY_CODES})"
            )
        need = _N_ARGS[self.kind]  # type: ignore[index]
        if len(self.args) != need:
            names = "a, b" if need == 2 else "a, b, c, d"
            raise ValueError(
                f"a {self.kind} distribution takes {need} arguments ({names}), got "
                f"{len(self.args)}: {self.args}"
            )
        if not all(np.isfinite(a) for a in (*self.args, self.scale)):
            raise ValueError(f"{self.kind} distribution: arguments must be finite, got {self}")
        if self.kind == "sigmoid" and self.args[3] == 0:
            raise ValueError("a sigmoid distribution needs a non-zero slope d")

    def evaluate(self, x) -> np.ndarray:
        """The rule at (possibly normalised) distances ``x``."""
        x = np.asarray(x, dtype=float)
        if self.kind == "linear":
            a, b = self.args
            val = a + b * x
        elif self.kind == "sigmoid":
            a, b, c, d = self.args
            val = a + b / (1.0 + np.exp((x - c) / d))
        elif self.kind == "exponential":
            a, b, c, d = self.args
            val = a + d * np.exp(b * (x - c))
        else:
            a, b, c, d = self.args
            val = np.where((x >= c) & (x <= d), a, b)
        return self.scale * val

    def values(self, distance, length: float | None = None) -> np.ndarray:
        """Values at path distances ``distance`` (um); ``length`` normalises them."""
        if self.normalized:
            if length is None or not length > 0:
                raise ValueError(
                    "a normalized distribution needs the (positive) length to divide the "
                    f"distances by, got {length!r}"
                )
            return self.evaluate(np.asarray(distance, dtype=float) / length)
        return self.evaluate(distance)

    def __call__(self, distance) -> np.ndarray:
        if self.normalized:
            raise ValueError(
                "this distribution is normalized: evaluate it with .values(distance, length)"
            )
        return self.evaluate(distance)


def linear(a: float, b: float, *, scale: float = 1.0, normalized: bool = False) -> Distribution:
    """``scale * (a + b x)``."""
    return Distribution("linear", (a, b), scale, normalized)


def sigmoid(
    a: float, b: float, c: float, d: float, *, scale: float = 1.0, normalized: bool = False
) -> Distribution:
    """``scale * (a + b / (1 + exp((x - c) / d)))``."""
    return Distribution("sigmoid", (a, b, c, d), scale, normalized)


def exponential(
    a: float, b: float, c: float, d: float, *, scale: float = 1.0, normalized: bool = False
) -> Distribution:
    """``scale * (a + d exp(b (x - c)))``."""
    return Distribution("exponential", (a, b, c, d), scale, normalized)


def step(
    a: float, b: float, c: float, d: float, *, scale: float = 1.0, normalized: bool = False
) -> Distribution:
    """``scale * a`` for ``c <= x <= d``, else ``scale * b``."""
    return Distribution("step", (a, b, c, d), scale, normalized)


def hay_distribution(dist_type: int, args) -> Distribution:
    """A rule in the Hay template's form: ``dist_type`` 0-3 (linear, sigmoid, exponential,
    step) and ``args = [a, b, c, d, base]``; types 0-2 use normalised distance (the
    template divides by the longest path of the section list), type 3 raw distance."""
    if dist_type not in HAY_CODES:
        raise ValueError(f"dist_type must be one of {HAY_CODES}, got {dist_type!r}")
    args = [float(a) for a in args]
    if len(args) != 5:
        raise ValueError(f"Hay distributions take 5 arguments [a, b, c, d, base], got {args}")
    kind = HAY_CODES[dist_type]
    a, b, c, d, base = args
    rule_args = (a, b) if kind == "linear" else (a, b, c, d)
    return Distribution(kind, rule_args, base, normalized=dist_type != 3)
