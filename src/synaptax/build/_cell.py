"""The mutable builder: a cell from a morphology, selections, channels and parameters."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from synaptax.build._model import Model, Params, _Static
from synaptax.channels import AbstractChannel, AbstractConcentration, AbstractMechanism
from synaptax.mechanisms import ALL
from synaptax.morph import Morphology, read_morphology, type_name
from synaptax.morph.geometry import Discretization, d_lambda_nseg, discretize, segment_geometry
from synaptax.solver.tree import Method, Tree

Value = float | Sequence[float] | np.ndarray | Callable[[np.ndarray], np.ndarray]
_CELL_PARAMS = ("cm", "Ra", "radius", "length")
_DEFAULTS = {"cm": 1.0, "Ra": 35.4, "v_init": -65.0, "celsius": 6.3, "cai0": 5e-5, "cao": 2.0}


class Selection:
    """A set of compartments (segment centres) of a :class:`Cell`; chain ``insert``/``set``."""

    def __init__(self, cell: Cell, mask: np.ndarray, description: str):
        self.cell, self.mask, self.description = cell, mask, description

    def insert(self, channel: type[AbstractMechanism] | str, **params: float) -> Selection:
        self.cell.insert(channel, where=self, **params)
        return self

    def set(self, name: str, value: Value) -> Selection:
        self.cell.set(name, value, where=self)
        return self

    @property
    def nodes(self) -> np.ndarray:
        return np.flatnonzero(self.mask)

    def __repr__(self) -> str:
        return f"Selection({self.description}: {int(self.mask.sum())} compartments)"


class Cell:
    """Build a multi-compartment neuron, then :meth:`compile` it for simulation.

    Args:
        morphology: a :class:`Morphology` (see :func:`synaptax.morph.read_swc`).
        nseg: segments per section: an int, one int per section, or ``"d_lambda"``
            (NEURON's rule at 100 Hz, d_lambda 0.1, using the cell's Ra and cm).

    Example:
        >>> cell = Cell.from_swc("cell.swc", nseg="d_lambda")     # doctest: +SKIP
        >>> cell.insert("HH")                                     # doctest: +SKIP
        >>> cell.select(types="apical", distance=(200, None)).set("HH.gkbar", 0.01)  # +SKIP
        >>> model, params = cell.compile()                        # doctest: +SKIP
    """

    def __init__(
        self,
        morphology: Morphology,
        nseg: int | Sequence[int] | str = 1,
        *,
        Ra: float = _DEFAULTS["Ra"],
        cm: float = _DEFAULTS["cm"],
    ):
        self.morphology = morphology
        if isinstance(nseg, str):
            if nseg != "d_lambda":
                raise ValueError(f"nseg must be an int, a list of ints or 'd_lambda', got {nseg!r}")
            nseg = [d_lambda_nseg(s, ra=Ra, cm=cm) for s in morphology.sections]
        self.disc: Discretization = discretize(morphology, nseg)
        n = self.disc.n
        self._values: dict[str, np.ndarray] = {"cm": np.full(n, cm), "Ra": np.full(n, Ra)}
        self._scalars = {k: _DEFAULTS[k] for k in ("v_init", "celsius", "cai0", "cao")}
        self._channels: dict[
            str, tuple[type[AbstractMechanism], np.ndarray, dict[str, np.ndarray]]
        ] = {}
        self._init_geometry()

    @classmethod
    def from_file(cls, path: str | Path, nseg: int | Sequence[int] | str = 1, **kw) -> Cell:
        """Read an SWC or Neurolucida ASC file (by extension) and build a cell. Reader
        options (``units``, ``min_diam`` for SWC) pass through."""
        read_kw = {k: kw.pop(k) for k in ("units", "min_diam") if k in kw}
        return cls(read_morphology(path, **read_kw), nseg, **kw)

    from_swc = from_file

    def _init_geometry(self) -> None:
        d = self.disc
        radius = np.ones(d.n)
        length = np.zeros(d.n)
        sl = np.zeros(d.n)
        sr = np.zeros(d.n)
        for s, sec in enumerate(self.morphology.sections):
            centers = np.flatnonzero((d.section == s) & d.is_center)
            seg_len = sec.length / len(centers)
            area, rl, rr = segment_geometry(sec, len(centers))
            r_eq = area / (2 * np.pi * seg_len)
            cyl_half = (seg_len / 2) / (np.pi * r_eq**2)
            radius[centers], length[centers] = r_eq, seg_len
            sl[centers], sr[centers] = rl / cyl_half, rr / cyl_half
        self._values["radius"], self._values["length"] = radius, length
        self._shape = (sl, sr)

    # -- selections -----------------------------------------------------------------
    @property
    def n_compartments(self) -> int:
        return int(self.disc.is_center.sum())

    def select(
        self,
        *,
        sections: int | Sequence[int] | None = None,
        types: str | Sequence[str] | None = None,
        distance: tuple[float | int | None, float | int | None] | None = None,
    ) -> Selection:
        """Compartments by section index, section type name and/or path distance (um)
        from the soma's midpoint (``(min, max)``, either end ``None``)."""
        d = self.disc
        mask = d.is_center.copy()
        desc = []
        if sections is not None:
            secs = np.atleast_1d(np.asarray(sections, dtype=int))
            nsec = self.morphology.n_sections
            bad = secs[(secs < 0) | (secs >= nsec)]
            if bad.size:
                raise ValueError(
                    f"section index {int(bad[0])} out of range: the cell has {nsec} sections "
                    f"(0..{nsec - 1})"
                )
            mask &= np.isin(d.section, secs)
            desc.append(f"sections {secs.tolist()}")
        if types is not None:
            names = [types] if isinstance(types, str) else list(types)
            have = sorted({type_name(int(t)) for t in d.section_type})
            for nm in names:
                if nm not in have:
                    raise ValueError(f"no sections of type {nm!r}; this cell has {have}")
            mask &= np.isin([type_name(int(t)) for t in d.section_type], names)
            desc.append(f"types {names}")
        if distance is not None:
            lo, hi = distance
            if lo is not None:
                mask &= d.distance >= lo
            if hi is not None:
                mask &= d.distance <= hi
            desc.append(f"distance {lo}..{hi} um")
        if not mask.any():
            raise ValueError(f"the selection ({', '.join(desc)}) contains no compartments")
        return Selection(self, mask, ", ".join(desc) or "all")

    @property
    def mechanisms(self) -> list[str]:
        """Names of the inserted mechanisms, in insertion order."""
        return list(self._channels)

    def all(self) -> Selection:
        return Selection(self, self.disc.is_center.copy(), "all")

    def location(self, section: int, x: float = 0.5) -> int:
        """Node index of location ``x`` in [0, 1] on a section (NEURON's ``sec(x)``)."""
        return self.disc.node_at(section, x)

    @property
    def soma(self) -> int:
        """Node at the middle of the first soma section (or of the root section)."""
        somas = [i for i, s in enumerate(self.morphology.sections) if s.type == 1]
        return self.location(somas[0] if somas else 0, 0.5)

    # -- mechanisms and parameters --------------------------------------------------------
    def insert(
        self,
        channel: type[AbstractMechanism] | str,
        where: Selection | None = None,
        **params: float,
    ) -> Cell:
        """Insert a channel (class or name) on a selection (default: every compartment)."""
        cls = _channel_class(channel)
        mask = (where or self.all()).mask
        if cls.name in self._channels:
            _, old, vals = self._channels[cls.name]
            self._channels[cls.name] = (cls, old | mask, vals)
        else:
            n = self.disc.n
            self._channels[cls.name] = (
                cls,
                mask.copy(),
                {k: np.full(n, v) for k, v in cls.defaults.items()},
            )
        for k, v in params.items():
            self.set(f"{cls.name}.{k}", v, where=Selection(self, mask, ""))
        return self

    def set(self, name: str, value: Value, where: Selection | None = None) -> Cell:
        """Set ``cm``, ``Ra``, ``radius``, ``length``, ``v_init``, ``celsius``, ``cai0``,
        ``cao`` or a channel parameter ``"<Channel>.<param>"`` on a selection. A callable
        value is evaluated on the path distance (um) of the selected compartments."""
        if name in self._scalars:
            if where is not None or callable(value):
                raise ValueError(f"{name} is one value per cell; set it without a selection")
            self._scalars[name] = _finite_scalar(name, value)
            return self
        mask = (where or self.all()).mask
        if name in _CELL_PARAMS:
            target = self._values[name]
        elif "." in name:
            ch, p = name.split(".", 1)
            if ch not in self._channels:
                raise ValueError(
                    f"channel {ch!r} is not inserted; insert it first "
                    f"(have {sorted(self._channels)})"
                )
            vals = self._channels[ch][2]
            if p not in vals:
                raise ValueError(f"{ch} has no parameter {p!r}; known: {sorted(vals)}")
            target = vals[p]
        else:
            raise ValueError(
                f"unknown parameter {name!r}; use one of {[*_CELL_PARAMS, *self._scalars]} "
                "or '<Channel>.<param>'"
            )
        v = value(self.disc.distance[mask]) if callable(value) else value
        arr = np.broadcast_to(np.asarray(v, dtype=float), (int(mask.sum()),))
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name}: values must be finite, got {arr[~np.isfinite(arr)][:3]}")
        if name in ("cm", "Ra", "radius", "length") and np.any(arr <= 0):
            raise ValueError(f"{name} must be positive, got min {arr.min():g}")
        target[mask] = arr
        return self

    # -- compilation ----------------------------------------------------------------------
    def compile(self, dtype=jnp.float64, solver: Method = "auto") -> tuple[Model, Params]:
        """Freeze the cell into an immutable :class:`Model` and its :class:`Params`."""
        self._check_calcium()
        d = self.disc
        f = lambda a: jnp.asarray(a, dtype=dtype)
        # channels live on the segment centres, which are stored first
        nc = d.n_center
        channels, sites = [], []
        for cls, mask, vals in self._channels.values():
            channels.append(cls(**{k: f(v[:nc]) for k, v in vals.items()}))
            idx = np.flatnonzero(mask[:nc])
            sites.append(_Static(None if idx.size == nc else idx))
        model = Model(
            tree=Tree(d.parent, d.order),
            n_center=nc,
            solver=solver,
            layout=_Static(d),
            shape_left=f(self._shape[0]),
            shape_right=f(self._shape[1]),
            parent=jnp.asarray(np.maximum(d.parent, 0)),
            has_parent=jnp.asarray(d.parent >= 0),
            r_prev=jnp.asarray(np.maximum(d.r_prev, 0)),
            has_prev=jnp.asarray(d.r_prev >= 0),
            sites=tuple(sites),
        )
        params = Params(
            cm=f(self._values["cm"]),
            Ra=f(self._values["Ra"]),
            radius=f(self._values["radius"]),
            length=f(self._values["length"]),
            v_init=f(self._scalars["v_init"]),
            celsius=f(self._scalars["celsius"]),
            cai0=f(self._scalars["cai0"]),
            cao=f(self._scalars["cao"]),
            channels=tuple(channels),
        )
        return model, params

    def _check_calcium(self) -> None:
        """Calcium channels need calcium dynamics on their compartments, one at most."""
        dyn = np.zeros(self.disc.n, dtype=int)
        for cls, mask, _ in self._channels.values():
            if issubclass(cls, AbstractConcentration):
                if cls.ion != "ca":
                    raise ValueError(f"{cls.name}: only calcium concentrations are modelled")
                dyn += mask
        if np.any(dyn > 1):
            names = [c.name for c, _, _ in self._channels.values() if c.ion == "ca"]
            raise ValueError(
                f"{int((dyn > 1).sum())} compartments have more than one calcium dynamics "
                f"mechanism ({names}); insert one per compartment"
            )
        for cls, mask, _ in self._channels.values():
            if issubclass(cls, AbstractChannel) and (cls.ion == "ca" or cls.reads_calcium):
                missing = mask & (dyn == 0)
                if missing.any():
                    secs = sorted({int(s) for s in self.disc.section[missing]})
                    raise ValueError(
                        f"{cls.name} {'carries' if cls.ion == 'ca' else 'reads'} calcium but "
                        f"{int(missing.sum())} of its compartments (sections {secs[:8]}"
                        f"{' ...' if len(secs) > 8 else ''}) have no calcium dynamics; insert "
                        "a calcium dynamics mechanism there too, e.g. "
                        f"cell.insert('CaDynamics_E2', where=...)"
                    )


def _channel_class(channel: type[AbstractMechanism] | str) -> type[AbstractMechanism]:
    if isinstance(channel, str):
        if channel not in ALL:
            raise ValueError(f"unknown channel or mechanism {channel!r}; available: {sorted(ALL)}")
        return ALL[channel]
    if not (isinstance(channel, type) and issubclass(channel, AbstractMechanism)):
        raise TypeError(f"expected a channel class or name, got {channel!r}")
    return channel


def _finite_scalar(name: str, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a number, got {value!r}") from err
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    return v
