"""Reconstructions: reading SWC/ASC files into trees of sections, and their geometry."""

from synaptax.morph._asc import read_asc as read_asc
from synaptax.morph._morphology import Morphology as Morphology
from synaptax.morph._morphology import Section as Section
from synaptax.morph._morphology import type_name as type_name
from synaptax.morph._swc import MorphologyError as MorphologyError
from synaptax.morph._swc import read_swc as read_swc


def read_morphology(path, **kw) -> Morphology:
    """Read ``.swc`` (:func:`read_swc`) or ``.asc`` (:func:`read_asc`) by file extension."""
    from pathlib import Path

    suffix = Path(path).suffix.lower()
    if suffix == ".swc":
        return read_swc(path, **kw)
    if suffix == ".asc":
        return read_asc(path, **kw)
    raise MorphologyError(f"{path}: unknown morphology format {suffix!r}; use .swc or .asc")
