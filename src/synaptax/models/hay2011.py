"""The Hay et al. (2011) layer-5b pyramidal cell.

:func:`l5pc` builds the model the way the original ``L5PCtemplate.hoc`` does: the
reconstruction (``cell1.asc``) with its axon replaced by two 30 um x 1 um sections
(``axon[0]`` on the soma's midpoint, ``axon[1]`` on its end), ``nseg = 1 + 2 int(L / 40)``
per section, then the densities of a parameter file (e.g. ``L5PCbiophys3``, the model of
their Fig. 4 with BAC firing and step firing), at 34 C with ``v_init = -80`` mV.

Two differences from the original files, both explicit choices:

* the channels' temperature factors follow ``celsius`` (34 C here, where the original
  files hard-code the same factor), and
* the calcium reversal potential is the Nernst potential at ``celsius`` = 34 C; the
  original simulation leaves NEURON's ``celsius`` at its default 6.3 C, which only the
  Nernst potential sees (``eca`` about 12 mV lower than here at the same ``cai``).

Example:
    >>> from synaptax.models import l5pc
    >>> cell = l5pc("cell1.asc", "biophys_params_transcribed.json")   # doctest: +SKIP
    >>> model, params = cell.compile()                                 # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from synaptax.build._cell import Cell
from synaptax.build._paramfile import apply_parameter_file
from synaptax.morph import Morphology, read_morphology
from synaptax.morph._morphology import Section

AXON_LENGTH = 30.0  # um, each of the two replacement sections
AXON_DIAM = 1.0  # um


def l5pc_morphology(path: str | Path) -> Morphology:
    """The reconstruction with its axon replaced as in Hay et al.'s template."""
    morph = read_morphology(path)
    secs = morph.sections
    if secs[0].type != 1:
        raise ValueError(f"{path}: the first section should be the soma, got {secs[0].type_name}")
    keep = [i for i, s in enumerate(secs) if s.type != 2]
    index = {old: new for new, old in enumerate(keep)}
    new_secs = []
    for i in keep:
        s = secs[i]
        if s.parent >= 0 and s.parent not in index:
            raise ValueError(f"{path}: section {i} ({s.type_name}) hangs on the axon")
        new_secs.append(replace(s, parent=index.get(s.parent, -1)))
    soma = secs[0]
    mid = soma.xyz[np.searchsorted(soma.arc, soma.length / 2.0)]
    down = np.array([0.0, -AXON_LENGTH, 0.0])
    diam = np.full(2, AXON_DIAM)
    new_secs.append(Section(2, 0, 0.5, np.stack([mid, mid + down]), diam))
    new_secs.append(
        Section(2, len(new_secs) - 1, 1.0, np.stack([mid + down, mid + 2 * down]), diam)
    )
    n_axon = len(secs) - len(keep)
    return Morphology(
        tuple(new_secs),
        source=morph.source,
        notes=(*morph.notes, f"axon ({n_axon} sections) replaced by 2 x {AXON_LENGTH} um stubs"),
    )


def hay_nseg(morph: Morphology) -> list[int]:
    """``1 + 2 int(L / 40)`` segments per section (the template's ``geom_nseg``)."""
    return [1 + 2 * int(s.length / 40.0) for s in morph.sections]


def l5pc(
    morphology: str | Path,
    parameters: str | Path,
    model: str = "L5PCbiophys3",
    *,
    celsius: float = 34.0,
    v_init: float = -80.0,
) -> Cell:
    """The Hay et al. (2011) L5PC as a :class:`synaptax.Cell` (compile it to simulate).

    Args:
        morphology: the reconstruction (``cell1.asc`` in the original).
        parameters: a JSON parameter file (layout in :mod:`synaptax.build._paramfile`).
        model: which model of the file (``L5PCbiophys1``-``4``; 3 is Fig. 4's).
        celsius: temperature of the channel kinetics, degC.
        v_init: initial potential, mV.
    """
    morph = l5pc_morphology(morphology)
    cell = Cell(morph, hay_nseg(morph), Ra=100.0, cm=1.0)
    apply_parameter_file(cell, parameters, model)
    cell.set("celsius", celsius)
    cell.set("v_init", v_init)
    return cell
