"""Read Neurolucida ASC reconstructions with MorphIO, with NEURON's soma treatment.

A soma drawn as a closed contour becomes, as in NEURON's Import3d, a chain of 21 points
along the contour's principal axis whose diameters are the contour's widths across it
(Import3d's ``contour2centroid``). Neurite trees attach to the soma's middle
(``parentx = 0.5``) by a wire; child sections start at their parent's last point.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from synaptax.morph._morphology import Morphology, Section
from synaptax.morph._swc import MorphologyError

_TYPES = {"soma": 1, "axon": 2, "basal_dendrite": 3, "apical_dendrite": 4}


def _resample_contour(contour: np.ndarray, n: int = 100) -> np.ndarray:
    """``n + 1`` points evenly spaced along the contour's path from its first to its last
    point, arc length measured in the x-y plane (as Import3d's ``contourcenter``)."""
    steps = np.linalg.norm(np.diff(contour[:, :2], axis=0), axis=1)
    perim = np.concatenate([[0.0], np.cumsum(steps)])
    at = np.arange(n + 1) * (perim[-1] / n)
    return np.stack([np.interp(at, perim, contour[:, k]) for k in range(3)], axis=1)


def _monotone(d: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop points (scanning from the end) that do not increase, as Import3d does."""
    dl, rl = list(d), list(r)
    j = len(dl) - 1
    while j > 0:
        if dl[j] <= dl[j - 1]:
            del dl[j], rl[j]
            if j != len(dl):
                j += 1
        j -= 1
    return np.asarray(dl), np.asarray(rl)


def contour_to_centroid(contour: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points (um) and diameters (um) of the cylinder chain NEURON builds from a soma
    contour: the principal axis of the resampled contour, cut into 20 slices."""
    pts = _resample_contour(np.asarray(contour, dtype=float))
    mean = pts.mean(axis=0)
    rel = pts - mean
    evals, evecs = np.linalg.eigh(rel.T @ rel)
    imax, imin = int(np.argmax(evals)), int(np.argmin(evals))
    major = evecs[:, imax]
    if major[np.argmax(np.abs(major))] < 0:
        major = -major
    minor = evecs[:, 3 - imin - imax].copy()
    minor[2] = 0.0
    if np.linalg.norm(minor) < 1e-6 * np.linalg.norm(major):
        raise MorphologyError("failed to compute the soma centroid from its contour")
    minor /= np.linalg.norm(minor)
    d = rel @ major
    rad = rel @ minor
    top = int(np.argmax(d))
    d, rad = np.roll(d, -top), np.roll(rad, -top)
    low = int(np.argmin(d))
    side2, rad2 = d[low:], rad[low:]
    d, rad = d[:low][::-1], rad[:low][::-1]
    d, rad = _monotone(d, rad)
    side2, rad2 = _monotone(side2, rad2)
    both = np.sort(np.concatenate([d, side2]))
    lo, hi = both[1], both[-2]
    grid = lo + np.arange(21) * ((hi - lo) / 20)
    r1 = np.interp(grid, d, rad)
    r2 = np.interp(grid, side2, rad2)
    xyz = mean + grid[:, None] * major[None, :]
    diam = np.abs(r1 - r2)
    diam[0] = (diam[0] + diam[1]) / 2
    diam[-1] = (diam[-1] + diam[-2]) / 2
    return xyz, diam


def read_asc(path: str | Path) -> Morphology:
    """Read a Neurolucida ASC file (via MorphIO) into NEURON-like sections.

    Raises:
        MorphologyError: naming the file when MorphIO rejects it or no soma is found.
    """
    import morphio

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such morphology file: {path}")
    try:
        m = morphio.Morphology(str(path))
    except morphio.MorphioError as err:
        raise MorphologyError(f"{path}: MorphIO could not read it: {err}") from err
    soma_pts = np.asarray(m.soma.points, dtype=float)
    if soma_pts.shape[0] == 0:
        raise MorphologyError(f"{path}: no soma (CellBody) found; synaptax needs one")
    notes = []
    if soma_pts.shape[0] >= 3 and "CONTOUR" in str(m.soma_type):
        xyz, diam = contour_to_centroid(soma_pts)
        notes.append("soma contour turned into a 21-point centroid chain (Import3d)")
    elif soma_pts.shape[0] == 1:
        c, dd = soma_pts[0], float(m.soma.diameters[0])
        half = np.array([dd / 2, 0.0, 0.0])
        xyz, diam = np.stack([c - half, c, c + half]), np.full(3, dd)
    else:
        xyz, diam = soma_pts, np.asarray(m.soma.diameters, dtype=float)
    sections = [Section(1, -1, 0.0, xyz, diam)]
    index: dict[int, int] = {}
    for sec in m.iter():  # depth-first: parents before children
        stype = _TYPES.get(str(sec.type).split(".")[-1], 0)
        pts = np.asarray(sec.points, dtype=float)
        ds = np.asarray(sec.diameters, dtype=float)
        if sec.is_root:
            parent, px = 0, 0.5
        else:
            parent, px = index[sec.parent.id], 1.0
            ppts = sections[parent].xyz
            if not np.allclose(pts[0], ppts[-1]):
                pts = np.vstack([ppts[-1:], pts])
                ds = np.concatenate([sections[parent].diam[-1:], ds])
        if pts.shape[0] < 2:
            raise MorphologyError(f"{path}: section {sec.id} has a single point")
        if np.any(ds <= 0):
            raise MorphologyError(f"{path}: section {sec.id} has a non-positive diameter")
        index[sec.id] = len(sections)
        sections.append(Section(stype, parent, px, pts, ds))
    return Morphology(tuple(sections), source=str(path), notes=tuple(notes))
