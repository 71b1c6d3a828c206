"""The compiled, immutable model and its parameters (pytrees that JAX transforms)."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from synaptax.channels import AbstractMechanism
from synaptax.morph.geometry import Discretization
from synaptax.solver.tree import Method, Tree


class Params(eqx.Module):
    """Every trainable quantity of a cell, one value per node (end nodes are ignored).

    Attributes:
        cm: specific membrane capacitance, uF/cm^2.
        Ra: axial resistivity, Ohm cm.
        radius: equivalent radius of each segment, um (area = 2 pi radius length).
        length: segment length, um.
        v_init: initial membrane potential, mV.
        celsius: temperature, degC.
        cai0: initial intracellular calcium concentration, mM (where a calcium dynamics
            mechanism is inserted).
        cao: extracellular calcium concentration, mM (for the Nernst ``eca``).
        channels: one module per inserted mechanism, with one value per segment centre
            (the first ``model.n_center`` nodes).
    """

    cm: Float[Array, " comp"]
    Ra: Float[Array, " comp"]
    radius: Float[Array, " comp"]
    length: Float[Array, " comp"]
    v_init: Float[Array, ""]
    celsius: Float[Array, ""]
    cai0: Float[Array, ""]
    cao: Float[Array, ""]
    channels: tuple[AbstractMechanism, ...]

    def channel(self, name: str) -> AbstractMechanism:
        """The inserted mechanism called ``name`` (e.g. ``"HH"``)."""
        for ch in self.channels:
            if ch.name == name:
                return ch
        raise KeyError(f"no channel {name!r} inserted; have {[c.name for c in self.channels]}")


class _Static:
    """Wraps host data as a static (hashable-by-identity) pytree field."""

    def __init__(self, value):
        self.value = value


class Model(eqx.Module):
    """Topology and fixed geometry factors of a compartmentalised cell.

    Built by :meth:`synaptax.Cell.compile`; pass it to :func:`synaptax.simulate` with
    :class:`Params`. Mechanisms are evaluated only on their ``sites``.
    ``shape_left``/``shape_right`` turn the equivalent cylinder of a
    segment into NEURON's frustum-integrated half resistances (1 for a cylinder).
    """

    tree: Tree = eqx.field(static=True)
    solver: Method = eqx.field(static=True)
    layout: _Static = eqx.field(static=True)
    n_center: int = eqx.field(static=True)
    shape_left: Float[Array, " comp"]
    shape_right: Float[Array, " comp"]
    parent: Int[Array, " comp"]
    has_parent: Bool[Array, " comp"]
    r_prev: Int[Array, " comp"]
    has_prev: Bool[Array, " comp"]
    sites: tuple[_Static, ...] = eqx.field(static=True)

    @property
    def n(self) -> int:
        return self.tree.n

    def site(self, k: int) -> np.ndarray | None:
        """Segment centres where mechanism ``k`` (of ``params.channels``) is inserted, or
        ``None`` where it is everywhere."""
        return self.sites[k].value

    def mask(self, k: int) -> np.ndarray:
        """Boolean mask over the segment centres where mechanism ``k`` is inserted."""
        idx = self.site(k)
        out = np.zeros(self.n_center, bool)
        out[slice(None) if idx is None else idx] = True
        return out

    @property
    def disc(self) -> Discretization:
        return self.layout.value


def solver_inputs(model: Model, params: Params):
    """Axial matrix entries (NEURON's form: rows scaled by 100 / area) from parameters.

    Returns ``(lower, upper, diag_axial, area_eff)`` with ``area_eff`` the node area in
    um^2 (100 for zero-area ends, so their rows are in nA).
    """
    r, L = params.radius, params.length
    is_center = jnp.arange(model.n) < model.n_center  # centres are stored first
    half = 1e-2 * params.Ra * (L / 2.0) / (jnp.pi * r**2)  # MOhm, cylinder half-segment
    r_left = half * model.shape_left
    r_right = half * model.shape_right
    ri = r_left + jnp.where(model.has_prev, r_right[model.r_prev], 0.0)
    g = jnp.where(model.has_parent, 1.0 / jnp.where(model.has_parent, ri, 1.0), 0.0)
    area_eff = jnp.where(is_center, 2.0 * jnp.pi * r * L, 100.0)
    a_par = area_eff[model.parent]
    lower = -100.0 * g / area_eff
    upper = -100.0 * g / a_par
    diag = -lower + jnp.zeros_like(lower).at[model.parent].add(
        jnp.where(model.has_parent, -upper, 0.0)
    )
    return lower, upper, diag, area_eff
