"""The Hay et al. (2011) L5PC (biophys3): synaptax vs NEURON 9 (CPU, float64).

    python -m benchmarks.l5pc [--quick] [--write]

The model is built by :func:`synaptax.models.l5pc` and, independently, in NEURON from the
same files (:mod:`synaptax.testing.hay_neuron`, our NMODL twins of the channels). Somatic
steps of 0.619, 0.793 and 1.507 nA from 700 to 2700 ms, 3000 ms at dt 0.025 (quick: the
0.793 nA step only, from 200 ms, 700 ms in all). Both simulators run in this one process.

Figures: ``mean_abs_dv_mv`` mean |dV| at the soma over the first second (worst step),
``spike_count_diff`` |our spikes - NEURON's| summed over the steps,
``max_spike_shift_ms`` over the first 10 spikes of each step, ``fwd_vs_neuron`` our
compiled forward / NEURON's run (summed over the steps), ``grad_over_fwd`` our gradient
of the mean somatic potential over 200 ms w.r.t. every parameter (all channel densities
per compartment, cm, Ra, radius, length) / the forward of the same 200 ms,
and the BAC protocol: somatic spikes and time the apical site (620 um) spends above -20 mV.

Against Jaxley 0.14 (jaxley-mech 0.4's ``l5pc`` channels) on the same cell, built from
ours by :mod:`benchmarks._jaxley_l5pc` (same branches, compartments, geometry, densities,
protocol), timed in this process: ``fwd_vs_jaxley`` our compiled forward / Jaxley's jitted
forward (best of 3 each, ``jaxley.dhs``, float64) of the 0.793 nA step (full: Jaxley runs that
step only, compared with our forward of the same step, 3000 ms), ``jaxley_spikes`` its
somatic spike count (ours in ``jaxley_spikes_ours``), ``jaxley_compile_s`` its compile
time. All three are null, with the reason printed, when Jaxley cannot be imported.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import synaptax as sx
from benchmarks._common import SHARED_DATA, best_of, finish
from benchmarks._jaxley_l5pc import time_jaxley_l5pc
from synaptax.models import l5pc
from synaptax.testing.hay_neuron import NeuronL5PC, load_mechanisms
from synaptax.testing.neuron_ref import spike_times

jax.config.update("jax_enable_x64", True)
DT = 0.025
MODEL = "L5PCbiophys3"
NMODL = Path(__file__).resolve().parents[1] / "tests" / "nmodl"
ASC = SHARED_DATA / "morphologies" / "hay2011" / "cell1.asc"
PARAMS = SHARED_DATA / "params" / "hay2011_l5pc" / "biophys_params_transcribed.json"
JAXLEY_AMP = 0.793  # nA, the step Jaxley runs
JAXLEY_REPEATS = 3


def bac(cell, model, params, t_max=420.0):
    d = cell.disc
    apical = np.flatnonzero(d.section_type[: d.n_center] == 4)
    near = apical[np.abs(d.distance[apical] - 620.0) < 20.0]
    site = int(near[np.argmax(np.asarray(params.radius)[near])])
    stims = [
        sx.CurrentClamp(cell.soma, sx.step_current(1.9, 295.0, 5.0, t_max, DT)),
        sx.CurrentClamp(site, sx.epsp_current(0.5, 300.0, 0.5, 5.0, t_max, DT)),
    ]
    v = np.asarray(
        sx.simulate(model, params, stims, t_max, DT, record=[("v", cell.soma), ("v", site)])
    )
    return len(spike_times(v[0], DT)), float((v[1][int(290 / DT) :] > -20.0).sum() * DT)


def jaxley_vs_ours(cell, model, params, fwd, ours, delay, dur, t_max):
    """Jaxley's forward of the ``JAXLEY_AMP`` step on the same cell, against ours (best
    of ``JAXLEY_REPEATS`` each, here). Empty (the reason printed) without Jaxley."""
    try:
        import jaxley  # noqa: F401
        import jaxley_mech  # noqa: F401
    except ImportError as err:
        print(f"fwd_vs_jaxley: null, Jaxley cannot be imported ({err}); pip install -e .[bench]")
        return {}
    wave, spikes = ours
    r = time_jaxley_l5pc(cell, model, params, JAXLEY_AMP, delay, dur, t_max, DT, JAXLEY_REPEATS)
    t_ours = best_of(lambda: fwd(params, wave).block_until_ready(), JAXLEY_REPEATS)
    theirs = spike_times(r["v"], DT)
    k = min(10, len(spikes), len(theirs))
    shift = float(np.max(np.abs(spikes[:k] - theirs[:k]))) if k else float("nan")
    return {
        "fwd_vs_jaxley": t_ours / r["fwd"],
        "jaxley_spikes": len(theirs),
        "jaxley_spikes_ours": len(spikes),
        "jaxley_compile_s": r["compile"],
        "rows": [
            (
                f"{JAXLEY_AMP} nA forward ours / Jaxley",
                f"{t_ours:.2f} s / {r['fwd']:.2f} s = {t_ours / r['fwd']:.3f}",
            ),
            (
                "Jaxley compile, build; spikes (ours)",
                f"{r['compile']:.1f} s, {r['build']:.1f} s; {len(theirs)} ({len(spikes)}), "
                f"first-10 shift {shift:.2e} ms",
            ),
        ],
    }


def main(quick: bool, write: bool) -> None:
    amps = [0.793] if quick else [0.619, 0.793, 1.507]
    t_max = 700.0 if quick else 3000.0
    delay, dur = (200.0, 500.0) if quick else (700.0, 2000.0)
    cell = l5pc(ASC, PARAMS, MODEL)
    model, params = cell.compile()
    rec = [("v", cell.soma)]
    fwd = jax.jit(
        lambda p, i: sx.simulate(model, p, [sx.CurrentClamp(cell.soma, i)], t_max, DT, record=rec)
    )
    h = load_mechanisms(NMODL, tempfile.mkdtemp(prefix="synaptax_l5pc_"))
    hay = NeuronL5PC(h, ASC, PARAMS, MODEL)
    rows, dv, count_diff, shifts, t_ours, t_nrn = [], [], 0, [], 0.0, 0.0
    ours_by_amp = {}
    first_s = int(1000.0 / DT) + 1
    for amp in amps:
        wave = jnp.asarray(sx.step_current(amp, delay, dur, t_max, DT))
        fwd(params, wave).block_until_ready()  # compile (once: same shapes)
        start = time.perf_counter()
        v = np.asarray(fwd(params, wave).block_until_ready())[0]
        t_ours += time.perf_counter() - start
        vn, tn = hay.run(
            t_max, DT, iclamps=[(hay.soma(0.5), amp, delay, dur)], record=[hay.soma(0.5)]
        )
        t_nrn += tn
        ours, theirs = spike_times(v, DT), spike_times(vn[0], DT)
        ours_by_amp[amp] = (wave, ours)
        count_diff += abs(len(ours) - len(theirs))
        k = min(10, len(ours), len(theirs))
        shift = float(np.max(np.abs(ours[:k] - theirs[:k]))) if k else 0.0
        shifts.append(shift)
        dv.append(float(np.abs(v[:first_s] - vn[0][:first_s]).mean()))
        rows.append((f"{amp} nA spikes ours / NEURON", f"{len(ours)} / {len(theirs)}"))
        rows.append(
            (f"{amp} nA first-10 shift, mean |dV| 1st s", f"{shift:.2e} ms, {dv[-1]:.2e} mV")
        )
    hay.delete()
    vs_jaxley = jaxley_vs_ours(cell, model, params, fwd, ours_by_amp[JAXLEY_AMP], delay, dur, t_max)
    rows += vs_jaxley.pop("rows", [("Jaxley", "not run (see above)")])

    # gradient cost, 200 ms with a step from 50 ms
    t_g = 200.0
    wave_g = sx.step_current(0.793, 50.0, 1e4, t_g, DT)
    stim_g = [sx.CurrentClamp(cell.soma, wave_g)]

    def loss(p):
        # autodiff's reverse pass: for this cell (12 mechanisms, calcium) the hand-written
        # adjoint was 5.6% slower (1.09 vs 1.03 s), and unroll=16 slower still (4.7x)
        return jnp.mean(sx.simulate(model, p, stim_g, t_g, DT, record=rec, adjoint=False))

    f200 = jax.jit(loss)
    g200 = jax.jit(jax.grad(loss))
    f200(params).block_until_ready()
    jax.block_until_ready(g200(params))
    t_f = best_of(lambda: f200(params).block_until_ready(), 2)
    t_gr = best_of(lambda: jax.block_until_ready(g200(params)), 2)
    n_params = sum(x.size for x in jax.tree_util.tree_leaves(params))

    bac_spikes, bac_ca_ms = bac(cell, model, params)
    figures = {
        "mean_abs_dv_mv": max(dv),
        "spike_count_diff": count_diff,
        "max_spike_shift_ms": max(shifts),
        "fwd_vs_neuron": t_ours / t_nrn,
        "fwd_vs_jaxley": vs_jaxley.get("fwd_vs_jaxley"),
        "jaxley_spikes": vs_jaxley.get("jaxley_spikes"),
        "jaxley_spikes_ours": vs_jaxley.get("jaxley_spikes_ours"),
        "jaxley_compile_s": vs_jaxley.get("jaxley_compile_s"),
        "grad_over_fwd": t_gr / t_f,
        "bac_somatic_spikes": bac_spikes,
        "bac_apical_above_minus20_ms": bac_ca_ms,
        "compartments": cell.n_compartments,
        "gradient_parameters": int(n_params),
        "t_max_ms": t_max,
        "amps_na": amps,
        "quick": quick,
    }
    rows += [
        ("forward ours / NEURON", f"{t_ours:.2f} s / {t_nrn:.2f} s = {t_ours / t_nrn:.2f}"),
        ("gradient / forward (200 ms)", f"{t_gr:.2f} s / {t_f:.2f} s = {t_gr / t_f:.2f}"),
        ("BAC", f"{bac_spikes} somatic spikes, apical > -20 mV for {bac_ca_ms:.1f} ms"),
    ]
    finish("l5pc", figures, rows, write)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    main(args.quick, args.write)
