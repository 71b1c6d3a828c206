"""Draw a morphology in 2-D, optionally coloured by a value per compartment."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection

from synaptax.morph import Morphology
from synaptax.morph.geometry import Discretization


def plot_morphology(
    ax: Axes,
    morph: Morphology,
    disc: Discretization | None = None,
    values: np.ndarray | None = None,
    *,
    cmap: str = "viridis",
    label: str = "",
    dims: tuple[int, int] = (0, 1),
) -> Axes:
    """Draw sections as lines (width from diameter), coloured by ``values`` per node.

    Args:
        ax: matplotlib axes. morph: the morphology.
        disc, values: a discretisation and one value per node (e.g. peak voltage, mV);
            each segment takes the value of its centre node.
        dims: which coordinates to project on (0 = x, 1 = y, 2 = z).
    """
    segs, widths, cols = [], [], []
    for i, sec in enumerate(morph.sections):
        arc = sec.arc
        pts = sec.xyz[:, list(dims)]
        for k in range(len(pts) - 1):
            segs.append(pts[k : k + 2])
            widths.append(max(0.5, float(sec.diam[k]) * 0.6))
            if disc is not None and values is not None:
                x = 0.5 * (arc[k] + arc[k + 1]) / max(arc[-1], 1e-12)
                cols.append(values[disc.node_at(i, min(max(x, 1e-9), 1 - 1e-9))])
    lc = LineCollection(segs, linewidths=widths, cmap=cmap)
    if cols:
        lc.set_array(np.asarray(cols))
        ax.figure.colorbar(lc, ax=ax, label=label, shrink=0.7)
    else:
        lc.set_color("k")
    ax.add_collection(lc)
    ax.autoscale()
    ax.set_aspect("equal")
    ax.set_xlabel("um")
    return ax
