"""Biophysical parameter files: mechanisms and densities per section list, plus rules of
distance (the layout of Hay et al.'s ``L5PCbiophys*.hoc``, as JSON).

The JSON layout (one file may hold several models under ``"models"``)::

    {"models": {"L5PCbiophys3": {
        "sections": {
            "all":     {"insert": ["pas"], "params": {"cm": 1.0, "Ra": 100.0, "e_pas": -90.0}},
            "somatic": {"insert": ["NaTa_t", "CaDynamics_E2"],
                        "params": {"ena": 50.0, "gNaTa_tbar_NaTa_t": 2.04,
                                   "decay_CaDynamics_E2": 460.0}},
            ...},
        "distributions": [
            {"seclist": "apic", "param": "gIhbar_Ih", "dist_type": 2,
             "args": [-0.8696, 3.6161, 0.0, 2.087, 0.0002]}, ...]}}}

Names follow NEURON: section lists ``all``, ``somatic``, ``axonal``, ``basal``,
``apical`` (and the section arrays ``soma``, ``axon``, ``dend``, ``apic``); parameters
``<name>_<mechanism>`` (``g<mechanism>bar_<mechanism>`` is the mechanism's ``gbar``),
``g_pas``/``e_pas`` for the leak, ``ek``/``ena`` for every channel with that reversal,
``cm`` and ``Ra``. Distributions follow the template's ``distribute_channels``: path
distance from the soma's 0-end (NEURON's ``soma distance()``), normalised for rule types
0-2 by the longest path from the section list's first section to one of its terminals.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from synaptax.build.distributions import Distribution, hay_distribution
from synaptax.mechanisms import ALL

if TYPE_CHECKING:
    from synaptax.build._cell import Cell

#: NEURON section-list (and section-array) names -> section type names.
SECTION_LISTS: dict[str, str | None] = {
    "all": None,
    "somatic": "soma",
    "soma": "soma",
    "axonal": "axon",
    "axon": "axon",
    "basal": "basal",
    "dend": "basal",
    "apical": "apical",
    "apic": "apical",
}
#: NEURON mechanism names that differ from synaptax's.
MECHANISM_NAMES: dict[str, str] = {"pas": "Leak", "hh": "HH"}
_LEAK_PARAMS = {"g_pas": "g", "e_pas": "e"}
_REVERSALS = ("ek", "ena", "ehcn")


@dataclass(frozen=True)
class SectionListParams:
    """Mechanisms to insert and parameters to set on one section list."""

    insert: tuple[str, ...]
    params: dict[str, float]


@dataclass(frozen=True)
class ParameterSet:
    """One model of a parameter file (see the module docstring for the layout)."""

    name: str
    sections: dict[str, SectionListParams]
    distributions: tuple[tuple[str, str, Distribution], ...]
    source: str = "<memory>"


def read_parameter_file(path: str | Path, model: str | None = None) -> ParameterSet:
    """Read one model of a JSON parameter file; ``model`` may be omitted if it has one."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"parameter file not found: {path}") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None
    models = data.get("models", data) if isinstance(data, dict) else None
    if not isinstance(models, dict) or not models:
        raise ValueError(f"{path}: expected an object with a 'models' mapping of model names")
    if model is None:
        if len(models) != 1:
            raise ValueError(f"{path} holds {sorted(models)}; choose one with model=")
        model = next(iter(models))
    if not isinstance(model, str) or model not in models:
        raise ValueError(f"{path} has no model {model!r}; it has {sorted(models)}")
    return parse_parameter_set(models[model], name=model, source=str(path))


def parse_parameter_set(spec: dict, name: str = "model", source: str = "<memory>") -> ParameterSet:
    """A :class:`ParameterSet` from the JSON structure of one model."""
    where = f"{source} [{name}]"
    if not isinstance(spec, dict) or "sections" not in spec:
        raise ValueError(f"{where}: a model needs a 'sections' mapping")
    sections = {}
    for seclist, entry in spec["sections"].items():
        _check_seclist(seclist, where)
        unknown = set(entry) - {"insert", "params"}
        if unknown:
            raise ValueError(f"{where}: section list {seclist!r} has unknown keys {unknown}")
        params = {k: float(v) for k, v in entry.get("params", {}).items()}
        sections[seclist] = SectionListParams(tuple(entry.get("insert", ())), params)
    dists = []
    for k, d in enumerate(spec.get("distributions", ())):
        missing = {"seclist", "param", "dist_type", "args"} - set(d)
        if missing:
            raise ValueError(f"{where}: distribution {k} lacks {sorted(missing)}")
        _check_seclist(d["seclist"], where)
        try:
            rule = hay_distribution(int(d["dist_type"]), d["args"])
        except ValueError as err:
            raise ValueError(f"{where}: distribution {k} ({d['param']}): {err}") from None
        dists.append((d["seclist"], d["param"], rule))
    return ParameterSet(name, sections, tuple(dists), source)


def _check_seclist(name: str, where: str) -> None:
    if name not in SECTION_LISTS:
        raise ValueError(f"{where}: unknown section list {name!r}; known: {sorted(SECTION_LISTS)}")


def mechanism_name(neuron_name: str) -> str:
    """synaptax's name of a NEURON mechanism (``pas`` -> ``Leak``)."""
    name = MECHANISM_NAMES.get(neuron_name, neuron_name)
    if name not in ALL:
        raise ValueError(
            f"unknown mechanism {neuron_name!r}; available: {sorted([*ALL, *MECHANISM_NAMES])}"
        )
    return name


def parameter_name(neuron_param: str, inserted: set[str]) -> list[str]:
    """synaptax parameter names (``"<Mechanism>.<param>"`` or a cell parameter) for a
    NEURON parameter name; ``ek``-like reversals map to every inserted channel using it."""
    if neuron_param in ("cm", "Ra"):
        return [neuron_param]
    if neuron_param in _LEAK_PARAMS:
        return [f"Leak.{_LEAK_PARAMS[neuron_param]}"]
    if neuron_param in _REVERSALS:
        return [f"{m}.{neuron_param}" for m in sorted(inserted) if neuron_param in ALL[m].defaults]
    for mech in sorted(ALL, key=len, reverse=True):
        suffix = f"_{mech}"
        if neuron_param.endswith(suffix):
            p = neuron_param[: -len(suffix)]
            cls = ALL[mech]
            if p == f"g{mech}bar":
                p = "gbar"
            if p not in cls.defaults:
                raise ValueError(
                    f"parameter {neuron_param!r}: {mech} has no parameter {p!r}; "
                    f"known: {sorted(cls.defaults)}"
                )
            return [f"{mech}.{p}"]
    raise ValueError(
        f"cannot map parameter {neuron_param!r}: expected cm, Ra, g_pas, e_pas, ek, ena, "
        "ehcn or '<name>_<mechanism>' with a known mechanism"
    )


def apply_parameter_set(cell: Cell, pset: ParameterSet) -> Cell:
    """Insert the mechanisms and set the parameters of ``pset`` on ``cell``, section list
    by section list in file order, then the distributions."""
    for seclist, entry in pset.sections.items():
        sel = _selection(cell, seclist, pset)
        for mech in entry.insert:
            sel.insert(mechanism_name(mech))
        inserted = set(cell.mechanisms)
        for p, value in entry.params.items():
            for name in parameter_name(p, inserted):
                _require_inserted(cell, name, seclist, pset)
                sel.set(name, value)
    for seclist, p, rule in pset.distributions:
        sel = _selection(cell, seclist, pset)
        (name,) = parameter_name(p, set(cell.mechanisms))
        _require_inserted(cell, name, seclist, pset)
        dist0, max_len = hay_distances(cell, sel.mask, SECTION_LISTS[seclist])
        sel.set(name, rule.values(dist0, max_len))
    return cell


def apply_parameter_file(cell: Cell, path: str | Path, model: str | None = None) -> Cell:
    """:func:`read_parameter_file` then :func:`apply_parameter_set`."""
    return apply_parameter_set(cell, read_parameter_file(path, model))


def _selection(cell: Cell, seclist: str, pset: ParameterSet):
    kind = SECTION_LISTS[seclist]
    if kind is None:
        return cell.all()
    have = sorted(set(cell.morphology.types()))
    if kind not in have:
        raise ValueError(
            f"{pset.source} [{pset.name}] names section list {seclist!r} ({kind} sections) "
            f"but the morphology {cell.morphology.source} has none (it has {have}); use a "
            "reconstruction with those sections or remove that entry from the file"
        )
    return cell.select(types=kind)


def _require_inserted(cell: Cell, name: str, seclist: str, pset: ParameterSet) -> None:
    mech = name.partition(".")[0] if "." in name else None
    if mech is not None and mech not in cell.mechanisms:
        raise ValueError(
            f"{pset.source} [{pset.name}]: {seclist!r} sets {name} but {mech} is not "
            "inserted; list it under 'insert' of that (or an earlier) section list"
        )


def hay_distances(cell: Cell, mask: np.ndarray, kind: str | None) -> tuple[np.ndarray, float]:
    """Distances of the masked compartments from the soma's 0-end (NEURON's
    ``soma distance()``), and the longest path from the first section of type ``kind`` to
    the end of one of its terminal sections (Hay's ``getLongestBranch``)."""
    morph, d = cell.morphology, cell.disc
    secs = morph.sections
    start_mid = morph.path_distance()  # 0-ends of sections, from the root's midpoint
    start0 = np.zeros(len(secs))  # ... and from the root's 0-end
    for i, s in enumerate(secs[1:], start=1):
        start0[i] = (0.0 if s.parent == 0 else start0[s.parent]) + s.parent_x * secs[
            s.parent
        ].length
    sec_of = d.section[mask]
    lengths = np.array([s.length for s in secs])
    dist0 = start0[sec_of] + d.x[mask] * lengths[sec_of]
    members = [i for i, s in enumerate(secs) if kind is None or s.type_name == kind]
    has_child = np.zeros(len(secs), bool)
    for s in secs[1:]:
        has_child[s.parent] = True
    first = members[0]
    ends = [start_mid[i] + secs[i].length - start_mid[first] for i in members if not has_child[i]]
    return dist0, float(max(ends))
