"""Read SWC reconstructions into sections the way NEURON's Import3d does.

Section rules (NEURON ``Import3d_SWC_read``, re-implemented):

* a section is a run of points of one type in which every point is its parent's only
  child and immediately follows it in the file; a branch point, a change of type or a
  jump in file order starts a new section;
* a non-root section begins with its parent point; when the parent is the soma and the
  child is not, that first point takes the child's own diameter;
* a soma given as one point, or as the NeuroMorpho three-point convention, becomes a
  cylinder with length = diameter along x (a sphere's area); children connect to its
  middle, with a zero-resistance "wire" instead of their first segment when they have
  more than one point;
* a dendrite that leaves a multi-point soma from an interior point connects to its
  middle (``parentx = 0.5``) by a wire.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from synaptax.morph._morphology import Morphology, Section

_NM_HINT = re.compile(r"nanomet|\bnm\b", re.IGNORECASE)


class MorphologyError(ValueError):
    """A reconstruction that cannot be turned into a valid neuron."""


def _parse(path: Path) -> tuple[np.ndarray, list[int], bool]:
    rows: list[list[float]] = []
    lines: list[int] = []
    nm_hint = False
    with path.open() as fh:
        for lineno, raw in enumerate(fh, start=1):
            line = raw.strip()
            if line.startswith("#"):
                nm_hint |= bool(_NM_HINT.search(line))
                continue
            if not line:
                continue
            parts = line.split()
            if len(parts) < 7:
                raise MorphologyError(
                    f"{path}:{lineno}: expected 7 columns 'id type x y z radius parent', "
                    f"got {len(parts)}: {line!r}"
                )
            try:
                vals = [float(p) for p in parts[:7]]
            except ValueError as err:
                raise MorphologyError(f"{path}:{lineno}: non-numeric value in {line!r}") from err
            if not all(np.isfinite(vals)):
                raise MorphologyError(f"{path}:{lineno}: NaN or infinite value in {line!r}")
            for col, name in ((0, "id"), (1, "type"), (6, "parent")):
                if vals[col] != int(vals[col]):
                    raise MorphologyError(
                        f"{path}:{lineno}: {name} must be an integer, got {parts[col]}"
                    )
            rows.append(vals)
            lines.append(lineno)
    if not rows:
        raise MorphologyError(f"{path}: no sample lines found; is this an SWC file?")
    return np.asarray(rows), lines, nm_hint


def read_swc(path: str | Path, *, units: str = "um", min_diam: float | None = None) -> Morphology:
    """Read an SWC file into a :class:`Morphology` with NEURON's section semantics.

    Args:
        path: the ``.swc`` file.
        units: ``"um"`` (the SWC standard) or ``"nm"`` (coordinates and radii are divided
            by 1000). A file that says it is in nanometres must be read with ``units="nm"``.
        min_diam: if given, diameters below this value (um) are raised to it. Without it,
            a zero or negative radius is an error.

    Raises:
        MorphologyError: naming the file and line for malformed input: wrong columns,
            duplicate ids, missing parents, cycles, several roots, non-positive radii,
            negative type codes, or nanometre coordinates read as micrometres.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such morphology file: {path}")
    data, lines, nm_hint = _parse(path)
    if units not in ("um", "nm"):
        raise MorphologyError(f"units must be 'um' or 'nm', got {units!r}")
    ids = data[:, 0].astype(np.int64)
    types = data[:, 1].astype(np.int64)
    parents = data[:, 6].astype(np.int64)
    xyz = data[:, 2:5].copy()
    diam = 2.0 * data[:, 5]
    if units == "nm":
        xyz /= 1000.0
        diam /= 1000.0
    elif nm_hint or (len(diam) > 1 and np.median(diam) > 200.0):
        raise MorphologyError(
            f"{path}: coordinates look like nanometres (header mentions nm, or median "
            f"diameter {np.median(diam):.0f}); read it with units='nm'"
        )

    index_of: dict[int, int] = {}
    for row, ident in enumerate(ids):
        if ident in index_of:
            raise MorphologyError(
                f"{path}:{lines[row]}: duplicate sample id {ident} "
                f"(first defined on line {lines[index_of[ident]]})"
            )
        index_of[int(ident)] = row
    neg = np.flatnonzero(types < 0)
    if neg.size:
        r = int(neg[0])
        raise MorphologyError(
            f"{path}:{lines[r]}: unknown structure type {types[r]} (must be >= 0)"
        )
    roots = np.flatnonzero(parents == -1)
    if roots.size != 1:
        where = ", ".join(f"line {lines[r]}" for r in roots[:5])
        raise MorphologyError(
            f"{path}: a neuron must have exactly one root (parent -1), found {roots.size}"
            + (f" ({where})" if roots.size else "")
            + "; split the file into one tree per cell"
        )
    par_row = np.empty(len(ids), dtype=np.int64)
    for row, p in enumerate(parents):
        if p == -1:
            par_row[row] = -1
        elif int(p) not in index_of:
            raise MorphologyError(
                f"{path}:{lines[row]}: parent {p} of sample {ids[row]} does not exist"
            )
        else:
            par_row[row] = index_of[int(p)]
    bad = np.flatnonzero(~(diam > 0))
    if bad.size and min_diam is None:
        r = int(bad[0])
        raise MorphologyError(
            f"{path}:{lines[r]}: radius {diam[r] / 2:g} um of sample {ids[r]} is not positive "
            f"({bad.size} samples affected); fix the file or pass min_diam=<um> to raise "
            "small diameters explicitly"
        )
    if min_diam is not None:
        diam = np.maximum(diam, min_diam)

    # Parents must precede children (file order is kept when it already does).
    if np.any(par_row >= np.arange(len(ids))):
        children: list[list[int]] = [[] for _ in ids]
        for row, p in enumerate(par_row):
            if p >= 0:
                children[p].append(row)
        order: list[int] = []
        stack = [int(roots[0])]
        while stack:
            r = stack.pop()
            order.append(r)
            stack.extend(reversed(children[r]))
        if len(order) != len(ids):
            unreached = sorted(set(range(len(ids))) - set(order))
            raise MorphologyError(
                f"{path}:{lines[unreached[0]]}: sample {ids[unreached[0]]} is not connected to "
                f"the root ({len(unreached)} samples form a cycle or a separate tree)"
            )
        perm = np.asarray(order)
        inv = np.empty_like(perm)
        inv[perm] = np.arange(len(perm))
        par_row = np.where(par_row[perm] >= 0, inv[np.maximum(par_row[perm], 0)], -1)
        xyz, diam, types = xyz[perm], diam[perm], types[perm]
    return _sectionify(path, xyz, diam, types, par_row)


def _sectionify(path, xyz, diam, types, par) -> Morphology:
    """Split parents-first samples (root at row 0) into NEURON sections."""
    n = len(types)
    notes: list[str] = []
    children: list[list[int]] = [[] for _ in range(n)]
    for r in range(1, n):
        children[par[r]].append(r)
    three_point = int((types == 1).sum()) == 3 and _is_three_point_soma(
        xyz, diam, types, par, children
    )
    if three_point:  # as Import3d: chain the two extra points so the soma is one run
        par = par.copy()
        par[2] = 1
        children[0].remove(2)
        children[1].append(2)
    # Import3d's child count: contiguous same-type children count 1, others a bit more.
    nchild = np.zeros(n)
    for r in range(1, n):
        p = par[r]
        nchild[p] += 1 + 0.01 * (p != r - 1) + 0.01 * (types[p] != types[r])
    nchild_soma = np.zeros(n, dtype=int)
    for r in range(1, n):
        if types[r] == 1 and types[par[r]] == 1:
            nchild_soma[par[r]] += 1
    for r in range(n - 1):
        if types[r] == 1 and types[r + 1] == 1 and par[r + 1] == r:
            if not (r != 0 and nchild_soma[r] > 1):
                nchild[r] = 1
    ends = np.flatnonzero(nchild != 1)
    first_of = np.concatenate([[0], ends[:-1] + 1])
    sec_of = np.empty(n, dtype=int)
    runs = []
    for k, (a, b) in enumerate(zip(first_of, ends, strict=True)):
        sec_of[a : b + 1] = k
        runs.append(np.arange(a, b + 1))
    if three_point:
        runs[0] = np.array([0])
        notes.append("three-point soma read as a sphere (cylinder with L = diam)")
    elif len(runs[0]) == 1:
        notes.append("single-point soma read as a sphere (cylinder with L = diam)")
    sections: list[Section] = []
    for k, run in enumerate(runs):
        first = int(run[0])
        stype = int(types[first])
        if k == 0:
            pts, ds = xyz[run], diam[run]
            if len(run) == 1:
                c, d = xyz[0], diam[0]
                half = np.array([d / 2, 0.0, 0.0])
                pts = np.stack([c - half, c, c + half])
                ds = np.full(3, d)
            sections.append(Section(stype, -1, 0.0, pts, ds))
            continue
        p = int(par[first])
        psec = int(sec_of[p])
        prun = runs[psec]
        ptype = int(types[prun[0]])
        den_con_soma = ptype == 1 and stype != 1
        parent_x, wire, handled = 1.0, False, False
        if psec == 0:
            handled = True
            if den_con_soma and len(prun) == 1:
                parent_x, wire = 0.5, len(run) > 1
            elif p == prun[0]:
                parent_x = 0.0
                wire = stype != 1 and nchild_soma[p] > 1
            else:
                handled = False
        if not handled and ptype == 1:
            if p != prun[-1]:
                parent_x, wire = 0.5, den_con_soma and len(run) > 1
            elif len(run) > 1 and nchild_soma[p] > 1 and stype != 1:
                wire = True
        if wire:
            pts, ds = xyz[run], diam[run]
        else:
            pts = np.vstack([xyz[p], xyz[run]])
            ds = np.concatenate([[diam[first] if den_con_soma else diam[p]], diam[run]])
        sections.append(Section(stype, psec, parent_x, pts, ds))
    return Morphology(tuple(sections), source=str(path), notes=tuple(notes))


def _is_three_point_soma(xyz, diam, types, par, children) -> bool:
    """NeuroMorpho's convention: rows 1 and 2 are soma children of the root, childless,
    with the root's diameter and a total length equal to it."""
    if len(types) < 3 or not (par[1] == 0 and par[2] == 0 and types[0] == 1):
        return False
    if children[1] or children[2]:
        return False
    if not (diam[1] == diam[0] and diam[2] == diam[0]):
        return False
    length = np.linalg.norm(xyz[1] - xyz[0]) + np.linalg.norm(xyz[2] - xyz[0])
    return bool(abs(length / diam[0] - 1.0) < 0.01)
