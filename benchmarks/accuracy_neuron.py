"""Accuracy against NEURON 9 on real reconstructions (float64, HH everywhere, nseg 4).

    python -m benchmarks.accuracy_neuron [--quick]

Same 3-D points, connections and nseg in both simulators; NEURON with exact HH rates
(usetable_hh = 0). Final JSON line: worst per-morphology mean |dV| over recording sites
and the largest somatic spike-time shift, for backward Euler and Crank-Nicolson.
"""

from __future__ import annotations

import argparse

import jax
import numpy as np

import synaptax as sx
from benchmarks._common import SHARED_DATA, finish
from synaptax.testing.neuron_ref import compare_with_neuron

jax.config.update("jax_enable_x64", True)

MORPHS = {
    "ca1_n120": ("morph_ca1_n120.swc", {}, 0.5),
    "ca1_n120_single_point_soma": ("morph_ca1_n120_single_point_soma.swc", {}, 0.5),
    "allen_485574832": ("morph_allen_485574832.swc", {}, 0.5),
    "l5pc_with_axon": ("morph_l5pc_with_axon.swc", {}, 2.0),
    "retina_min_diam_0.5": ("morph_retina_20161028_1.swc", {"min_diam": 0.5}, 2.0),
    "variable_radius_multi": ("morph_variable_radiuses_multi_branch.swc", {}, 0.05),
    "variable_radius_within": ("morph_variable_radiuses_within_branch.swc", {}, 0.05),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="two morphologies, 40 ms")
    ap.add_argument(
        "--write", action="store_true", help="write benchmarks/results/accuracy_neuron.json"
    )
    args = ap.parse_args()
    names = ["ca1_n120", "l5pc_with_axon"] if args.quick else list(MORPHS)
    t_max = 40.0 if args.quick else 100.0
    table, worst_dv, worst_shift = [], 0.0, 0.0
    for name in names:
        fname, kw, amp = MORPHS[name]
        cell = sx.Cell.from_swc(
            SHARED_DATA / "morphologies" / "jaxley" / fname, nseg=4, Ra=100.0, **kw
        )
        cell.insert("HH")
        for method in ("bwd_euler", "crank_nicolson"):
            r = compare_with_neuron(cell, amp=amp, t_max=t_max, dur=t_max - 10.0, method=method)
            dv = float(np.max(r["mean_abs_dv_mv"]))
            worst_dv, worst_shift = max(worst_dv, dv), max(worst_shift, r["max_spike_shift_ms"])
            table.append(
                (
                    f"{name} [{method}]",
                    f"mean|dV| {dv:.2e} mV  max|dV| {r['max_abs_dv_mv']:.2e} mV  "
                    f"spikes {len(r['spikes'])}/{len(r['spikes_neuron'])}  "
                    f"shift {r['max_spike_shift_ms']:.2e} ms",
                )
            )
    figures = {
        "mean_abs_dv_mv": worst_dv,
        "max_spike_shift_ms": worst_shift,
        "morphologies": len(names),
        "t_max_ms": t_max,
        "dt_ms": 0.025,
    }
    finish("accuracy_neuron", figures, table, write=args.write)


if __name__ == "__main__":
    main()
