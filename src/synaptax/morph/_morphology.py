"""A neuron's morphology as a tree of unbranched sections with 3-D points and radii."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SECTION_TYPES: dict[int, str] = {
    0: "undefined",
    1: "soma",
    2: "axon",
    3: "basal",
    4: "apical",
}


def type_name(code: int) -> str:
    """Name of an SWC structure code: soma, axon, basal, apical, or ``custom<N>``."""
    return SECTION_TYPES.get(code, f"custom{code}")


@dataclass(frozen=True)
class Section:
    """One unbranched section, as NEURON would create it.

    Attributes:
        type: SWC structure code (1 soma, 2 axon, 3 basal, 4 apical, ...).
        parent: index of the parent section, ``-1`` for the root.
        parent_x: where on the parent the section's 0-end attaches, in [0, 1].
        xyz: ``float[k, 3]`` 3-D points along the section, um (``k >= 2``).
        diam: ``float[k]`` diameters at those points, um.
    """

    type: int
    parent: int
    parent_x: float
    xyz: np.ndarray
    diam: np.ndarray

    @property
    def type_name(self) -> str:
        return type_name(self.type)

    @property
    def arc(self) -> np.ndarray:
        """Cumulative path length at each point, um."""
        steps = np.linalg.norm(np.diff(self.xyz, axis=0), axis=1)
        return np.concatenate([[0.0], np.cumsum(steps)])

    @property
    def length(self) -> float:
        """Section length L, um."""
        return float(self.arc[-1])


@dataclass(frozen=True)
class Morphology:
    """A tree of sections; ``sections[0]`` is the root and parents precede children."""

    sections: tuple[Section, ...]
    source: str = "<memory>"
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.sections:
            raise ValueError(f"{self.source}: a morphology needs at least one section")
        for i, sec in enumerate(self.sections):
            if not (-1 <= sec.parent < i) or (sec.parent == -1) != (i == 0):
                raise ValueError(
                    f"{self.source}: section {i} has parent {sec.parent}; sections must be "
                    "ordered with the single root first and every parent before its children"
                )
            if sec.xyz.shape[0] < 2 or sec.xyz.shape != (sec.diam.shape[0], 3):
                raise ValueError(f"{self.source}: section {i} needs >= 2 points with diameters")

    @property
    def n_sections(self) -> int:
        return len(self.sections)

    def types(self) -> list[str]:
        """Section type names, one per section."""
        return [s.type_name for s in self.sections]

    def path_distance(self) -> np.ndarray:
        """Path distance from the root's midpoint to each section's 0-end, um."""
        dist = np.zeros(self.n_sections)
        for i, sec in enumerate(self.sections):
            if sec.parent >= 0:
                dist[i] = self.distance_at(sec.parent, sec.parent_x, dist)
        return dist

    def distance_at(self, index: int, x: float, section_start: np.ndarray) -> float:
        """Path distance of location x on a section, given its 0-end's distance; the root
        is measured from its midpoint, as NEURON's ``distance()`` with origin soma(0.5)."""
        sec = self.sections[index]
        if index == 0:
            return abs(x - 0.5) * sec.length
        return float(section_start[index]) + x * sec.length

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for s in self.sections:
            counts[s.type_name] = counts.get(s.type_name, 0) + 1
        desc = ", ".join(f"{v} {k}" for k, v in counts.items())
        return f"Morphology({Path(self.source).name}: {self.n_sections} sections: {desc})"
