"""The Hay et al. (2011) L5PC rebuilt in Jaxley 0.14 with jaxley-mech 0.4's ``l5pc`` channels.

:func:`jaxley_l5pc` takes our cell (:func:`synaptax.models.l5pc`) and its compiled
``(model, params)`` and builds the equivalent ``jx.Cell``: one branch per section with the
same number of compartments and the same parents, and per compartment our length, radius
(equivalent cylinder: our membrane area), the two half-compartment axial resistive loads
(with our frustum factors, i.e. NEURON's axial resistances), cm, Ra, the leak, and every
Hay channel on exactly the compartments where ours is inserted, with our densities
(CaDynamics_E2 -> ``CaPump`` plus ``CaNernstReversal``), ek -85, ena 50, Ih's -45 mV,
v_init from ``params``. Everything is written straight into ``cell.nodes`` (thousands of
``.set`` calls are slow); ``jx.integrate`` copies it to the arrays it simulates
(``to_jax``). Jaxley derives area, volume and the resistive loads from radius and length
only inside ``.set``, so they are written here as well.

Matching NEURON's topology: Jaxley attaches a child branch to its parent's 1-end, NEURON
(and we) attach the dendrites and the axon to the soma's midpoint. The soma is one
compartment, so the soma's 1-end resistive load is made negligible (1e-6 of its half
cylinder): the branch point then sits on the soma's node, as in NEURON.

Temperature: jaxley-mech hard-codes the 34 C factors (``qt = 2.3^((34 - 21) / 10)``;
SKv3_1, Ih and Ca_HVA have none), which is our ``celsius``; its ``CaNernstReversal``
fixes ``T = 279.45 K`` (6.3 C, the original simulation's ``eca``); here ``T`` is set to
our ``celsius``, as in our model. Remaining differences are Jaxley's: gates advance
before the voltage solve at the old potential (ours after it, at the new one, as in
NEURON), currents are linearised by a finite difference, SK_E2 starts at
``z_inf(5e-5 mM)``.
"""

from __future__ import annotations

import time

import numpy as np

# our mechanism -> (jaxley-mech class, {our parameter: jaxley parameter suffix})
_CHANNELS = {
    "NaTa_t": ("NaTaT", {"gbar": "gNaTaT"}),
    "NaTs2_t": ("NaTs2T", {"gbar": "gNaTs2T"}),
    "Nap_Et2": ("NapEt2", {"gbar": "gNapEt2"}),
    "K_Pst": ("KPst", {"gbar": "gKPst"}),
    "K_Tst": ("KTst", {"gbar": "gKTst"}),
    "SK_E2": ("SKE2", {"gbar": "gSKE2"}),
    "SKv3_1": ("SKv3_1", {"gbar": "gSKv3_1"}),
    "Im": ("M", {"gbar": "gM"}),
    "Ca_HVA": ("CaHVA", {"gbar": "gCaHVA"}),
    "Ca_LVAst": ("CaLVA", {"gbar": "gCaLVA"}),
    "Ih": ("H", {"gbar": "gH"}),
    "CaDynamics_E2": (
        "CaPump",
        {"gamma": "gamma", "decay": "decay", "depth": "depth", "minCai": "minCai"},
    ),
}
# reversal potentials, one column each in Jaxley (shared by its channels)
_REVERSALS = {"ena": "eNa", "ek": "eK", "ehcn": "eH"}
_MIDPOINT_LOAD = 1e-6  # soma's 1-end load / its half cylinder (children on its node)


def jaxley_l5pc(cell, model, params):
    """The ``jx.Cell`` equivalent to our compiled L5PC, soma voltage recorded.

    Returns ``(jcell, (branch, comp))``: the Jaxley cell and the location of our soma
    node. Calcium: ``CaPump`` is inserted before ``CaNernstReversal``, so each step
    updates ``cai`` and then ``eCa`` from it.
    """
    import jaxley as jx
    from jaxley.channels import Leak
    from jaxley_mech.channels import l5pc as mech

    d = cell.disc
    secs = cell.morphology.sections
    nseg = [int(n) for n in d.nseg]
    midpoint = np.zeros(len(secs), bool)  # sections whose children sit on their centre
    for s in secs:
        if s.parent < 0 or s.parent_x == 1.0:
            continue
        if s.parent_x == 0.5 and nseg[s.parent] == 1:
            midpoint[s.parent] = True
        else:
            raise ValueError(f"Jaxley cannot attach a section at x={s.parent_x} of its parent")
    if any(midpoint[s.parent] and s.parent_x == 1.0 for s in secs if s.parent >= 0):
        raise ValueError("children on both the centre and the 1-end of a section")

    # one Branch per distinct ncomp (building one is slow; jx.Cell copies their nodes)
    proto = {n: jx.Branch(jx.Compartment(), ncomp=n) for n in sorted(set(nseg))}
    jcell = jx.Cell([proto[n] for n in nseg], parents=[s.parent for s in secs])
    nc = model.n_center
    # Jaxley's nodes: by branch, then compartment from the 0-end
    order = np.lexsort((d.x[:nc], d.section[:nc]))  # Jaxley node j is our centre order[j]
    nodes = jcell.nodes
    if len(nodes) != nc or not np.array_equal(
        nodes["global_branch_index"].to_numpy(), d.section[:nc][order]
    ):
        raise RuntimeError("Jaxley's compartment layout differs from ours")

    def ours(a):
        return np.asarray(a, dtype=float)[:nc][order]

    length, radius = ours(params.length), ours(params.radius)
    half = (length / 2.0) / (np.pi * radius**2)  # 1/um, Jaxley's resistive load
    load_out = half * ours(model.shape_right)
    load_out[midpoint[d.section[:nc][order]]] *= _MIDPOINT_LOAD
    nodes["length"] = length
    nodes["radius"] = radius
    nodes["area"] = 2.0 * np.pi * radius * length
    nodes["volume"] = np.pi * radius**2 * length
    nodes["resistive_load_in"] = half * ours(model.shape_left)  # the 0-end half
    nodes["resistive_load_out"] = load_out  # the 1-end half
    nodes["capacitance"] = ours(params.cm)
    nodes["axial_resistivity"] = ours(params.Ra)

    by_name = {ch.name: k for k, ch in enumerate(params.channels)}
    unknown = sorted(set(by_name) - set(_CHANNELS) - {"Leak"})
    if unknown:
        raise ValueError(f"no jaxley-mech equivalent for {unknown}")

    def insert(jch, k):
        jcell.insert(jch)
        jcell.nodes[jch._name] = ours(model.mask(k)).astype(bool)
        return jcell.nodes

    leak = params.channels[by_name["Leak"]]
    nodes = insert(Leak(), by_name["Leak"])
    nodes["Leak_gLeak"] = ours(leak.g)
    nodes["Leak_eLeak"] = ours(leak.e)
    for name in sorted(set(by_name) - {"Leak"}, key=lambda n: (n != "CaDynamics_E2", n)):
        k = by_name[name]
        ch = params.channels[k]
        cls_name, pmap = _CHANNELS[name]
        jch = getattr(mech, cls_name)()
        nodes = insert(jch, k)
        for ours_p, theirs in pmap.items():
            nodes[f"{jch._name}_{theirs}"] = ours(getattr(ch, ours_p))
        for ours_p, col in _REVERSALS.items():
            if hasattr(ch, ours_p):
                vals = np.unique(np.asarray(getattr(ch, ours_p))[model.mask(k)])
                if vals.size != 1:
                    raise ValueError(f"{name}.{ours_p} varies; Jaxley has one {col}")
                nodes[col] = float(vals[0])
        if name == "CaDynamics_E2":
            nernst = mech.CaNernstReversal()
            consts = nernst.channel_constants
            consts["T"] = 273.15 + float(params.celsius)  # eca at our celsius
            nodes = insert(nernst, k)
            cai0, cao = float(params.cai0), float(params.cao)
            nodes["CaCon_i"] = cai0
            nodes["CaCon_e"] = cao
            nodes["eCa"] = 1e3 * consts["R"] * consts["T"] / (2 * consts["F"]) * np.log(cao / cai0)

    nodes["v"] = float(params.v_init)
    jcell.init_states()
    b = int(d.section[cell.soma])
    c = int(np.flatnonzero(order == cell.soma)[0]) - int(sum(nseg[:b]))
    jcell.branch(b).comp(c).record("v", verbose=False)
    return jcell, (b, c)


def time_jaxley_l5pc(cell, model, params, amp, delay, dur, t_max, dt, repeats):
    """Jaxley's jitted forward of a somatic step (``amp`` nA from ``delay`` for ``dur``
    ms) on the equivalent cell, as ``time_jaxley`` in ``speed_single_cell``: compile,
    then the best of ``repeats``. Returns ``{"fwd", "compile", "build", "v"}`` (seconds;
    ``v`` the somatic trace)."""
    import jax
    import jaxley as jx

    t0 = time.perf_counter()
    jcell, (b, c) = jaxley_l5pc(cell, model, params)
    build_s = time.perf_counter() - t0
    current = jx.step_current(i_delay=delay, i_dur=dur, i_amp=amp, delta_t=dt, t_max=t_max)
    jcell.branch(b).comp(c).stimulate(current, verbose=False)
    fwd = jax.jit(
        lambda p: jx.integrate(
            jcell, params=p, delta_t=dt, t_max=t_max, voltage_solver="jaxley.dhs"
        )
    )
    t0 = time.perf_counter()
    compiled = fwd.lower([]).compile()
    compile_s = time.perf_counter() - t0
    v = np.asarray(compiled([]).block_until_ready())[0]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        compiled([]).block_until_ready()
        times.append(time.perf_counter() - t0)
    return {"fwd": min(times), "compile": compile_s, "build": build_s, "v": v}
