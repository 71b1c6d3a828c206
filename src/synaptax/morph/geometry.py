"""Compartmentalisation and geometry of sections, computed as NEURON computes them.

Each section of ``nseg`` segments has a node at every segment centre and a zero-area
node at its 1-end; the root section also has one at its 0-end. A child's 0-end is the
parent's node at the connection point. For each segment, the membrane area and the
axial resistance of its left and right halves are integrated over the piecewise-linear
(frustum) 3-D profile::

    area  = sum pi (d1 + d2) / 2 * sqrt(dx^2 + (d2 - d1)^2 / 4)        [um^2]
    r_ax  = 1e-2 Ra sum 4 dx / (pi d1 d2)                              [MOhm]

with Ra in Ohm cm. The resistance between a node and its parent is the parent-side
half of one segment plus the child-side half of the next, as NEURON's ``ri()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from synaptax.morph._morphology import Morphology, Section


def _integrate(
    arc: np.ndarray, diam: np.ndarray, a: float, b: float, last: bool
) -> tuple[float, float]:
    """Lateral area (um^2) and int 4/(pi d^2) dx (1/um) of the profile over [a, b].

    Each piece between consecutive points is clipped to [a, b]; a zero-length piece
    (two points at one place, a step in diameter) adds its annulus to the half that
    contains it (half-open on the right except for the section's last half).
    """
    s0, s1 = arc[:-1], arc[1:]
    d0, d1 = diam[:-1], diam[1:]
    lo, hi = np.maximum(s0, a), np.minimum(s1, b)
    step = s1 <= s0
    span = np.where(step, 1.0, s1 - s0)
    da = np.where(step, d0, d0 + (lo - s0) / span * (d1 - d0))
    db = np.where(step, d1, d0 + (hi - s0) / span * (d1 - d0))
    inside = np.where(step, (s0 >= a) & ((s0 < b) | (last & (s0 <= b))), hi > lo)
    dx = np.where(inside & ~step, hi - lo, 0.0)
    area = np.where(inside, np.pi * (da + db) / 2.0 * np.sqrt(dx**2 + (db - da) ** 2 / 4.0), 0.0)
    use = inside & ~step
    res = np.where(use, 4.0 * dx / (np.pi * np.where(use, da * db, 1.0)), 0.0)
    return float(area.sum()), float(res.sum())


def segment_geometry(sec: Section, nseg: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-segment membrane area (um^2) and left/right half resistance integrals (1/um).

    Multiply the integrals by ``1e-2 * Ra`` (Ra in Ohm cm) to get MOhm.
    """
    arc = sec.arc
    length = arc[-1]
    if length <= 0:
        raise ValueError(f"section of type {sec.type_name} has zero length; check its points")
    ds = length / nseg
    area = np.empty(nseg)
    rl = np.empty(nseg)
    rr = np.empty(nseg)
    for j in range(nseg):
        a1, r1 = _integrate(arc, sec.diam, j * ds, (j + 0.5) * ds, False)
        a2, r2 = _integrate(arc, sec.diam, (j + 0.5) * ds, (j + 1) * ds, j == nseg - 1)
        area[j], rl[j], rr[j] = a1 + a2, r1, r2
    return area, rl, rr


def d_lambda_nseg(
    sec: Section, *, d_lambda: float = 0.1, freq: float = 100.0, ra: float = 35.4, cm: float = 1.0
) -> int:
    """Odd number of segments so that each is at most ``d_lambda`` of the AC length
    constant at ``freq`` Hz (NEURON's ``fixnseg.hoc`` rule, integrated over 3-D points).

    Args:
        d_lambda: fraction of the length constant per segment.
        freq: frequency in Hz. ra: axial resistivity, Ohm cm. cm: uF/cm^2.
    """
    arc, d = sec.arc, sec.diam
    lam = np.sum(np.diff(arc) / np.sqrt(d[:-1] + d[1:]))
    lam *= np.sqrt(2.0) * 1e-5 * np.sqrt(4.0 * np.pi * freq * ra * cm)
    lambda_f = sec.length / lam
    return int((sec.length / (d_lambda * lambda_f) + 0.9) / 2) * 2 + 1


@dataclass(frozen=True)
class Discretization:
    """Node layout of a compartmentalised morphology (all arrays have one entry per node).

    Attributes:
        parent: parent node, ``-1`` for the root's 0-end; parents precede children.
        section: section index of each node.
        x: NEURON location of the node on its section (segment centres, 0 or 1 ends).
        is_center: True for segment centres (nodes with membrane), False for ends.
        area: membrane area, um^2 (0 at ends).
        r_left: resistance integral of the segment's left half, 1/um (0 at ends).
        r_right: same for the right half.
        r_prev: node whose right half lies between this node and its parent, or -1.
        distance: path distance from the root's midpoint, um.
        nseg: segments per section.
        section_type: SWC type code of each node's section.
        order: a parents-first sweep order of the nodes (breadth-first).

    Segment centres are stored first (``n_center`` of them), then the ends.
    """

    parent: np.ndarray
    section: np.ndarray
    x: np.ndarray
    is_center: np.ndarray
    area: np.ndarray
    r_left: np.ndarray
    r_right: np.ndarray
    r_prev: np.ndarray
    distance: np.ndarray
    nseg: np.ndarray
    section_type: np.ndarray
    order: np.ndarray

    @property
    def n_center(self) -> int:
        return int(self.is_center.sum())

    @property
    def n(self) -> int:
        return int(self.parent.shape[0])

    def node_at(self, section: int, x: float) -> int:
        """Index of the node NEURON uses for location ``x`` of a section."""
        if not 0.0 <= x <= 1.0:
            raise ValueError(f"location x must be in [0, 1], got {x}")
        nodes = np.flatnonzero(self.section == section)
        if nodes.size == 0:
            raise ValueError(f"no section {section}; the cell has {int(self.section.max()) + 1}")
        if x == 1.0:
            return int(nodes[~self.is_center[nodes]][-1])
        if x == 0.0:
            if section == 0:
                return int(np.flatnonzero(self.parent < 0)[0])
            first_center = nodes[self.is_center[nodes]][0]
            return int(self.parent[first_center])
        ns = int(self.nseg[section])
        centers = nodes[self.is_center[nodes]]
        return int(centers[min(int(x * ns), ns - 1)])


def discretize(morph: Morphology, nseg: int | np.ndarray | Sequence[int]) -> Discretization:
    """Lay out the nodes of a morphology with ``nseg`` segments per section."""
    nsec = morph.n_sections
    ns = np.broadcast_to(np.asarray(nseg, dtype=int), (nsec,)).copy()
    if np.any(ns < 1):
        raise ValueError(f"nseg must be >= 1 for every section, got min {ns.min()}")
    sec_start = morph.path_distance()
    cols: dict[str, list] = {
        k: []
        for k in (
            "parent",
            "section",
            "x",
            "is_center",
            "area",
            "r_left",
            "r_right",
            "r_prev",
            "distance",
            "section_type",
        )
    }
    end_node = np.empty(nsec, dtype=int)

    def add(**kw) -> int:
        for k, v in kw.items():
            cols[k].append(v)
        return len(cols["parent"]) - 1

    # Node at x of an existing section (used for children's attachment points).
    center_nodes: list[list[int]] = []
    for i, sec in enumerate(morph.sections):
        area, rl, rr = segment_geometry(sec, int(ns[i]))
        stype = sec.type
        if i == 0:
            attach = add(
                parent=-1,
                section=0,
                x=0.0,
                is_center=False,
                area=0.0,
                r_left=0.0,
                r_right=0.0,
                r_prev=-1,
                distance=morph.distance_at(0, 0.0, sec_start),
                section_type=stype,
            )
        else:
            px = sec.parent_x
            pc = center_nodes[sec.parent]
            if px == 1.0:
                attach = int(end_node[sec.parent])
            elif px == 0.0:
                attach = 0 if sec.parent == 0 else int(cols["parent"][pc[0]])
            else:
                attach = pc[min(int(px * len(pc)), len(pc) - 1)]
        prev = attach
        centers = []
        for j in range(int(ns[i])):
            xj = (j + 0.5) / ns[i]
            node = add(
                parent=prev,
                section=i,
                x=xj,
                is_center=True,
                area=area[j],
                r_left=rl[j],
                r_right=rr[j],
                r_prev=centers[-1] if centers else -1,
                distance=morph.distance_at(i, xj, sec_start),
                section_type=stype,
            )
            centers.append(node)
            prev = node
        end_node[i] = add(
            parent=prev,
            section=i,
            x=1.0,
            is_center=False,
            area=0.0,
            r_left=0.0,
            r_right=0.0,
            r_prev=prev,
            distance=morph.distance_at(i, 1.0, sec_start),
            section_type=stype,
        )
        center_nodes.append(centers)
    parent = np.asarray(cols["parent"], dtype=np.int64)
    r_prev = np.asarray(cols["r_prev"], dtype=np.int64)
    # Storage: segment centres first (so channels act on one contiguous block), then the
    # zero-area ends; each block breadth-first. The tree solve sweeps nodes in
    # breadth-first order (``order``), where consecutive nodes lie on independent paths
    # and the sweeps overlap well on out-of-order CPUs.
    depth = np.zeros(len(parent), dtype=np.int64)
    for k in range(1, len(parent)):
        depth[k] = depth[parent[k]] + 1
    is_center = np.asarray(cols["is_center"], dtype=bool)
    order = np.lexsort((depth, ~is_center))  # centres first, then by depth (stable)
    new_of = np.empty_like(order)
    new_of[order] = np.arange(len(order))
    sweep = new_of[np.argsort(depth, kind="stable")].astype(np.int32)

    def remap(idx: np.ndarray) -> np.ndarray:
        return np.where(idx >= 0, new_of[np.maximum(idx, 0)], -1).astype(np.int32)[order]

    def take(key: str, dtype) -> np.ndarray:
        return np.asarray(cols[key], dtype=dtype)[order]

    return Discretization(
        parent=remap(parent),
        section=take("section", np.int32),
        x=take("x", float),
        is_center=take("is_center", bool),
        area=take("area", float),
        r_left=take("r_left", float),
        r_right=take("r_right", float),
        r_prev=remap(r_prev),
        distance=take("distance", float),
        nseg=ns,
        section_type=take("section_type", np.int32),
        order=sweep,
    )
