"""Pure simulation of a compiled cell: ``simulate(model, params, stimuli, t_max, dt)``.

The time step is NEURON's fixed-step scheme (Hines & Carnevale, The NEURON Book, ch. 4):
channel currents are linearised in v around the present potential (semi-implicit),
the tree system is solved exactly, then the gates advance with exponential Euler
(cnexp) at the new potential. ``method="bwd_euler"`` is first order; ``"crank_nicolson"``
is NEURON's ``secondorder``: the same system with 2 C/dt, then v += 2 dv.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, cast

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from synaptax.build._model import Model, Params, solver_inputs
from synaptax.channels import HH, AbstractChannel, AbstractConcentration, Ions, Leak, nernst
from synaptax.channels.hh import hh_q10, hh_rates
from synaptax.solver import hh as fused_hh
from synaptax.solver.tree import (
    make_tree_adjoint,
    make_tree_solver,
    raw_tree_solver,
    resolve_method,
)
from synaptax.stimuli import CurrentClamp, Stimulus, VoltageClamp, n_steps

Probe = tuple[str, int | np.integer]


def _check_params(params: Params) -> Params:
    """Reject NaN/inf parameters: known values at once, traced ones (under ``jit``,
    ``vmap``, ``grad``) when the computation runs (``equinox.error_if``)."""

    def check(path, leaf):
        name = f"parameter params{jax.tree_util.keystr(path)}"
        try:
            values = np.asarray(leaf)
        except jax.errors.TracerArrayConversionError:
            bad = ~jnp.all(jnp.isfinite(leaf))
            return eqx.error_if(
                leaf, bad, f"{name} has NaN/inf values; every parameter must be finite"
            )
        bad = ~np.isfinite(values)
        if bad.any():
            raise ValueError(
                f"{name} has {int(bad.sum())} NaN/inf value(s); every parameter must be finite"
            )
        return leaf

    return jax.tree_util.tree_map_with_path(check, params)


def _probe_reader(model: Model, chans, sites, probes: Sequence[Probe], has_calcium: bool):
    """Turn ``("v", node)``, ``("HH.m", node)``, ``("HH.i", node)`` or ``("cai", node)``
    into a reader of ``(v, states, ions)``; ``chans`` hold their sites' values only."""
    names = [ch.name for ch in chans]
    readers = []
    nc = model.n_center
    for probe in probes:
        if not (isinstance(probe, tuple) and len(probe) == 2):
            raise ValueError(f"a recording is (what, node), e.g. ('v', cell.soma); got {probe!r}")
        what, node = probe
        if not 0 <= int(node) < model.n:
            raise ValueError(f"recording node {node} out of range 0..{model.n - 1}")
        node = int(node)
        if what == "v":
            readers.append(lambda v, st, ions, node=node: v[node])
            continue
        if node >= nc:
            raise ValueError(
                f"cannot record {what!r} at node {node}: it is a zero-area section end "
                "without membrane; record at a segment (cell.location(section, x), 0 < x < 1)"
            )
        if what in ("cai", "eca"):
            if not has_calcium:
                raise ValueError(
                    f"cannot record {what!r}: no calcium dynamics inserted (e.g. 'CaDynamics_E2')"
                )
            j = Ions._fields.index(what)
            readers.append(lambda v, st, ions, j=j, node=node: ions[j][node])
            continue
        ch, _, var = what.partition(".")
        if ch not in names:
            raise ValueError(f"cannot record {what!r}: no channel {ch!r} (have {names})")
        k = names.index(ch)
        chan, idx = chans[k], sites[k]
        if isinstance(chan, AbstractConcentration):
            raise ValueError(f"cannot record {what!r}: record its concentration as ('cai', node)")
        pos = node
        if idx is not None:
            pos = int(np.searchsorted(idx, node))
            if pos >= len(idx) or idx[pos] != node:
                raise ValueError(
                    f"cannot record {what!r} at node {node}: {ch} is not inserted there"
                )
        if var == "i":
            readers.append(
                lambda v, st, ions, k=k, pos=pos, idx=idx: chans[k].current(
                    _take(v[:nc], idx), st[k], _take_ions(ions, idx)
                )[pos]
            )
        elif var in chan.state_names:
            j = chan.state_names.index(var)
            readers.append(lambda v, st, ions, k=k, j=j, pos=pos: st[k][j][pos])
        else:
            raise ValueError(f"cannot record {what!r}: {ch} has states {chan.state_names} and 'i'")
    return readers


def _take(x, idx):
    return x if idx is None else x[idx]


def _take_ions(ions, idx):
    return None if ions is None else Ions(_take(ions.cai, idx), _take(ions.eca, idx))


def _site_groups(chans, sites) -> list[tuple[np.ndarray | None, list[int]]]:
    """Channels grouped by identical sets of sites: (sites, channel indices)."""
    groups: dict[bytes | None, tuple[np.ndarray | None, list[int]]] = {}
    for k, (ch, idx) in enumerate(zip(chans, sites, strict=True)):
        if isinstance(ch, AbstractChannel):
            key = None if idx is None else idx.tobytes()
            groups.setdefault(key, (idx, []))[1].append(k)
    return list(groups.values())


def _spread(x, idx, n: int):
    """Values ``x`` on the sites ``idx`` as a length-``n`` array, zero elsewhere: a gather
    from ``[x, 0]`` (it fuses with its consumers; a scatter would not on CPU)."""
    if idx is None:
        return x
    inv = np.full(n, len(idx), dtype=np.int32)
    inv[idx] = np.arange(len(idx), dtype=np.int32)
    return jnp.concatenate([x, jnp.zeros((1,), x.dtype)])[inv]


def _add(total, idx, x):
    return total + _spread(x, idx, total.shape[0])


def _adjoint_scan(assemble, advance, tree, method, lower, upper, carry0, xs, unroll, cn):
    """The time loop with a hand-written reverse pass (the discrete adjoint).

    The forward pass keeps the state (v, gates, calcium) of every step, as the
    rematerialising scan does. The reverse pass walks back through the steps: for step t it
    linearises ``assemble`` and ``advance`` at the stored state and takes the solved
    potential from the stored state of step t + 1, so each step costs one tree solve
    (the transposed one) instead of two (autodiff also re-runs the forward solve).
    """
    raw = raw_tree_solver(tree, method)
    adjoint = make_tree_adjoint(tree, method)
    x0 = xs[0] if xs.shape[0] else jnp.zeros(xs.shape[1:], xs.dtype)
    asm, asm_k = jax.closure_convert(assemble, carry0, x0)
    _, rhs0, aux0 = jax.eval_shape(assemble, carry0, x0)
    u0 = jnp.zeros(rhs0.shape, rhs0.dtype)
    aux0 = None if aux0 is None else jnp.zeros(aux0.shape, aux0.dtype)
    adv, adv_k = jax.closure_convert(advance, carry0, u0, aux0)

    def step(k, lo, up, c, x):
        asm_k, adv_k = k
        diag, rhs, aux = asm(c, x, *asm_k)
        return adv(c, raw(lo, up, diag, rhs), aux, *adv_k)

    @jax.custom_vjp
    def loop(k, lo, up, c0, xs):
        return jax.lax.scan(lambda c, x: step(k, lo, up, c, x), c0, xs, unroll=unroll)[1]

    def loop_fwd(k, lo, up, c0, xs):
        def keep(c, x):  # the records and the state at the start of each step
            c2, r = step(k, lo, up, c, x)
            return c2, (r, c)

        c_end, (recs, cs) = jax.lax.scan(keep, c0, xs, unroll=unroll)
        return recs, (k, lo, up, cs, c_end, xs)

    def loop_bwd(res, ct_recs):
        k, lo, up, cs, c_end, xs = res
        asm_k, adv_k = k
        zeros = lambda t: jax.tree_util.tree_map(jnp.zeros_like, t)

        def back(carry, inp):
            ct_c, v_next, ct_k, ct_lo, ct_up = carry
            c, x, ct_r = inp
            (diag, _, aux), asm_vjp = jax.vjp(lambda c, x, kk: asm(c, x, *kk), c, x, asm_k)
            u = 0.5 * (v_next + c[0]) if cn else v_next
            _, adv_vjp = jax.vjp(lambda c, u, a, kk: adv(c, u, a, *kk), c, u, aux, adv_k)
            ct_c1, ct_u, ct_aux, ct_adv = adv_vjp((ct_c, ct_r))
            lbar, ubar, dbar, rbar = adjoint(lo, up, diag, u, ct_u)
            ct_c2, ct_x, ct_asm = asm_vjp((dbar, rbar, ct_aux))
            ct_c = jax.tree_util.tree_map(jnp.add, ct_c1, ct_c2)
            ct_k = jax.tree_util.tree_map(jnp.add, ct_k, (ct_asm, ct_adv))
            return (ct_c, c[0], ct_k, ct_lo + lbar, ct_up + ubar), ct_x

        init = (zeros(c_end), c_end[0], zeros(k), jnp.zeros_like(lo), jnp.zeros_like(up))
        (ct_c0, _, ct_k, ct_lo, ct_up), ct_xs = jax.lax.scan(
            back, init, (cs, xs, ct_recs), reverse=True, unroll=unroll
        )
        return ct_k, ct_lo, ct_up, ct_c0, ct_xs

    loop.defvjp(loop_fwd, loop_bwd)
    return loop((asm_k, adv_k), lower, upper, carry0, xs)


def _fused_obstacle(chans, record, adjoint, model, dtype) -> str | None:
    """Why the fused HH kernel cannot run this simulation, or ``None`` if it can."""
    kinds = [type(ch) for ch in chans]
    if any(k not in (HH, Leak) for k in kinds):
        other = sorted({k.__name__ for k in kinds} - {"HH", "Leak"})
        return f"it implements HH and Leak only, the cell also has {other}"
    if kinds.count(HH) > 1:
        return "HH is inserted more than once"
    if any(what != "v" for what, _ in record):
        return "it records 'v' only"
    if not adjoint:
        return "it has its own adjoint (adjoint=False asks for JAX's autodiff)"
    if jnp.dtype(dtype) not in (jnp.dtype(jnp.float32), jnp.dtype(jnp.float64)):
        return f"it runs in float32 and float64, not {jnp.dtype(dtype)}"
    if resolve_method(model.solver) != "native" or not fused_hh.available():
        return "it runs on CPU with the native tree solver only"
    return None


def _checkpoint_steps(checkpoint: int | None, nt: int) -> int:
    if checkpoint is None:
        return 1
    if not (isinstance(checkpoint, int) and checkpoint >= 1):
        raise ValueError(f"checkpoint must be a positive number of steps, got {checkpoint!r}")
    return min(checkpoint, max(nt, 1))


def _fused_inputs(chans, sites, params, v0, nc: int, dt: float) -> dict:
    """The fused kernel's membrane inputs: HH's conductances and reversals on every
    compartment (zero where it is not inserted), the leaks folded into ``gleak`` and
    ``il0`` (sum of g e), the gates at rest and ``dtq = dt q10``."""
    zero = jnp.zeros((nc,), v0.dtype)
    out = dict(gna=zero, gk=zero, ena=zero, ek=zero, gleak=zero, il0=zero)
    for ch, idx in zip(chans, sites, strict=True):
        if isinstance(ch, HH):
            for key, field in (
                ("gna", ch.gnabar),
                ("gk", ch.gkbar),
                ("ena", ch.ena),
                ("ek", ch.ek),
            ):
                out[key] = _spread(field, idx, nc)
            g, e = ch.gl, ch.el
        else:
            g, e = cast(Leak, ch).g, cast(Leak, ch).e
        out["gleak"] = out["gleak"] + _spread(g, idx, nc)
        out["il0"] = out["il0"] + _spread(g * e, idx, nc)
    rates = hh_rates(v0[:nc], params.celsius)
    out.update(m0=rates[0][0], h0=rates[1][0], n0=rates[2][0], v0=v0)
    out["dtq"] = jnp.reshape(dt * hh_q10(params.celsius), (1,)).astype(v0.dtype)
    return out


def simulate(
    model: Model,
    params: Params,
    stimuli: Sequence[Stimulus],
    t_max: float,
    dt: float = 0.025,
    *,
    record: Sequence[Probe] | None = None,
    method: Literal["bwd_euler", "crank_nicolson"] = "bwd_euler",
    checkpoint: int | None = None,
    unroll: int = 1,
    adjoint: bool = True,
    fused: bool | None = None,
) -> Float[Array, " probe time"]:
    """Simulate ``t_max`` ms in steps of ``dt`` ms; returns the recordings.

    Args:
        model, params: from :meth:`synaptax.Cell.compile`.
        stimuli: :class:`CurrentClamp` / :class:`VoltageClamp` with one value per step.
        record: ``(what, node)`` pairs: ``"v"``, ``"<Channel>.<state>"``,
            ``"<Channel>.i"`` (current density, mA/cm^2), ``"cai"`` (mM) or ``"eca"``
            (mV, with calcium dynamics). Default: v at every node.
        method: ``"bwd_euler"`` or ``"crank_nicolson"``.
        checkpoint: steps per checkpointed chunk. Reverse mode always keeps only the state
            (v and gates) of each step and recomputes the rest; with ``checkpoint=k`` it
            keeps the state once per ``k`` steps (memory ~ T / k + k states).
        unroll: time steps per iteration of the compiled loop (the ``lax.scan`` path;
            see ``fused``); try it when gradients
            are computed many times, as in fitting, and measure. With 16, HH cells' reverse
            mode was 13% faster (CA1 n120, 4,000 steps: 195 -> 170 ms) and the Hay L5PC's
            (12 mechanisms) 50% slower; the forward stayed the same and the compile time
            doubled (0.43 -> 0.8 s).
        adjoint: reverse mode through the hand-written discrete adjoint (default): it keeps
            the state of every step and takes each step's solved potential from the next
            stored state, so a step of the reverse pass costs one tree solve instead of
            two. Measured with HH everywhere (4,000 steps, unroll 16): CA1 n120 170 ->
            162 ms, the L5PC morphology 321 -> 301 ms; but the Hay L5PC (12 mechanisms,
            calcium; unroll 1) 1.03 -> 1.09 s, so measure for models with many
            mechanisms. Gradients equal autodiff's to rounding (tested). ``False``
            differentiates the loop with JAX's autodiff through a rematerialising scan
            (the reference); ``checkpoint`` implies ``False``. Both are reverse mode only
            (the tree solve has its own reverse rule and no forward one).
        fused: run the whole time loop, and its adjoint, in one native call
            (:mod:`synaptax.solver.hh`). It applies to cells with only ``HH`` and ``Leak``
            channels, recordings of ``"v"``, on CPU, with ``adjoint=True``.
            ``None`` (default) uses it where it applies; ``True``
            raises where it does not (saying why); ``False`` always runs the
            ``lax.scan``. Measured on CA1 n120 (624 compartments, HH, 4,000 steps, 2-core
            CPU, ``benchmarks/speed_single_cell.py``): forward 54.0 -> 31.4 ms, gradient
            176.8 -> 83.0 ms. ``unroll`` does not apply to it. Its reverse pass keeps
            every step's state (8 (n + 3 n_center) bytes per step in float64: 80 MB for
            CA1's 4,000 steps); with ``checkpoint=k`` it keeps every k-th and recomputes
            the steps in between (memory ~ (T / k + 2 k) states, one more forward; CA1,
            k = 64: 3.9 MB, gradient 85.8 -> 114.8 ms, the same values).

    Returns:
        ``[probe, time]`` with ``time = n_steps + 1`` (the initial state first).
        Under ``jax.vmap`` a batch axis comes first.
    """
    nt = n_steps(t_max, dt)
    if not (isinstance(unroll, int) and unroll >= 1):
        raise ValueError(f"unroll must be a positive number of steps, got {unroll!r}")
    if method not in ("bwd_euler", "crank_nicolson"):
        raise ValueError(f"method must be 'bwd_euler' or 'crank_nicolson', got {method!r}")
    if record is None:
        record = [("v", i) for i in range(model.n)]
    params = _check_params(params)
    # every mechanism is evaluated on its own sites only (gathered once, outside the loop)
    sites = [model.site(k) for k in range(len(params.channels))]
    chans = tuple(
        ch if idx is None else jax.tree_util.tree_map(lambda a, idx=idx: a[idx], ch)
        for ch, idx in zip(params.channels, sites, strict=True)
    )
    conc = [(k, ch) for k, ch in enumerate(chans) if isinstance(ch, AbstractConcentration)]
    has_ca = bool(conc)
    groups = _site_groups(chans, sites)
    readers = _probe_reader(model, chans, sites, record, has_ca)
    iclamps = [s for s in stimuli if isinstance(s, CurrentClamp)]
    vclamps = [s for s in stimuli if isinstance(s, VoltageClamp)]
    if len(iclamps) + len(vclamps) != len(stimuli):
        raise TypeError("stimuli must be CurrentClamp or VoltageClamp objects")
    for s in stimuli:
        wave = s.current if isinstance(s, CurrentClamp) else s.voltage
        if wave.shape[-1] != nt:
            raise ValueError(
                f"{type(s).__name__} at node {s.node} has {wave.shape[-1]} samples but the "
                f"simulation has {nt} steps (t_max={t_max}, dt={dt}); build it with "
                "step_current(..., t_max, dt) or give one value per step"
            )
        if not 0 <= s.node < model.n:
            raise ValueError(f"stimulus node {s.node} out of range 0..{model.n - 1}")

    dtype = params.cm.dtype
    solve = make_tree_solver(model.tree, model.solver)
    lower, upper, diag_ax, area_eff = solver_inputs(model, params)
    crank_nicolson = method == "crank_nicolson"
    cap = 1e-3 * params.cm * (2.0 if crank_nicolson else 1.0) / dt  # mA/cm^2 per mV

    ic_nodes = jnp.asarray([s.node for s in iclamps], dtype=jnp.int32)
    ic_scale = 100.0 / area_eff[ic_nodes]
    vc_nodes = jnp.asarray([s.node for s in vclamps], dtype=jnp.int32)
    vc_g = jnp.asarray([1.0 / s.rs for s in vclamps], dtype=dtype) * 100.0 / area_eff[vc_nodes]
    drive = []
    if iclamps:
        drive.append(jnp.stack([jnp.asarray(s.current, dtype) for s in iclamps], axis=-1))
    if vclamps:
        drive.append(jnp.stack([jnp.asarray(s.voltage, dtype) for s in vclamps], axis=-1))
    xs = jnp.concatenate(drive, axis=-1) if drive else jnp.zeros((nt, 0), dtype)
    n_ic = len(iclamps)
    nc = model.n_center  # segment centres come first; the rest are zero-area ends
    cap_c = cap[:nc]
    ends = jnp.zeros((model.n - nc,), dtype)

    want = fused or (fused is None and fused_hh.enabled_by_default())
    why_not = _fused_obstacle(chans, record, adjoint, model, dtype) if want else "not asked"
    if fused and why_not:
        raise ValueError(f"fused=True but the fused HH kernel does not apply: {why_not}")
    if why_not is None:
        v0 = jnp.full((model.n,), params.v_init, dtype=dtype)
        layout = fused_hh.Layout(
            parent=model.tree.parent,
            order=np.asarray(model.tree.order),
            n_center=nc,
            n_steps=nt,
            stim_node=np.asarray([s.node for s in [*iclamps, *vclamps]], np.int32),
            stim_kind=np.asarray([0] * n_ic + [1] * len(vclamps), np.int32),
            rec_node=np.asarray([int(node) for _, node in record], np.int32),
            crank_nicolson=crank_nicolson,
            checkpoint=_checkpoint_steps(checkpoint, nt),
        )
        inputs = _fused_inputs(chans, sites, params, v0, nc, dt)
        scale = jnp.concatenate([ic_scale, vc_g]).astype(dtype)
        inputs.update(cap=cap_c, lower=lower, upper=upper, dax=diag_ax, xs=xs, scale=scale)
        rec = fused_hh.run(layout, inputs)
        return jnp.concatenate([v0[layout.rec_node][None], rec], axis=0).T

    def ions_at(cai):
        if not has_ca:
            return None
        return Ions(cai, nernst(cai, params.cao, 2, params.celsius))

    def init_state(ch, idx, v, ions):
        if isinstance(ch, AbstractConcentration):
            return ()
        return ch.init_state(_take(v, idx), params.celsius, _take_ions(ions, idx))

    v0 = jnp.full((model.n,), params.v_init, dtype=dtype)
    cai0 = jnp.full((nc,) if has_ca else (0,), params.cai0, dtype=dtype)
    s0 = tuple(
        init_state(ch, idx, v0[:nc], ions_at(cai0)) for ch, idx in zip(chans, sites, strict=True)
    )

    def record_now(v, st, cai):
        if not readers:
            return jnp.zeros((0,), dtype)
        ions = ions_at(cai)
        return jnp.stack([r(v, st, ions) for r in readers])

    def assemble(carry, x):
        """This step's matrix diagonal and right-hand side (and the calcium current)."""
        v, st, cai = carry
        vc = v[:nc]
        ions = ions_at(cai)
        i_ion = jnp.zeros_like(vc)
        g_ion = jnp.zeros_like(vc)
        i_ca = jnp.zeros_like(vc)
        for idx, members in groups:  # one gather each way per set of sites
            v_g, ions_g = _take(vc, idx), _take_ions(ions, idx)
            i_g = g_g = ca_g = None
            for k in members:
                i, g = cast(AbstractChannel, chans[k]).current_and_conductance(v_g, st[k], ions_g)
                i_g = i if i_g is None else i_g + i
                g_g = g if g_g is None else g_g + g
                if chans[k].ion == "ca":
                    ca_g = i if ca_g is None else ca_g + i
            i_ion, g_ion = _add(i_ion, idx, i_g), _add(g_ion, idx, g_g)
            if ca_g is not None:
                i_ca = _add(i_ca, idx, ca_g)
        # Solve for the new potential directly: the axial terms stay in the matrix, so
        # (C/dt + g_ion + A) u = (C/dt + g_ion) v - i_ion + stimuli, u = v(t + dt) for
        # backward Euler and v(t + dt/2) for Crank-Nicolson (then v(t + dt) = 2u - v).
        g_c = cap_c + g_ion
        rhs = jnp.concatenate([g_c * vc - i_ion, ends])
        diag = diag_ax + jnp.concatenate([g_c, ends])
        if n_ic:
            rhs = rhs.at[ic_nodes].add(ic_scale * x[:n_ic])
        if vclamps:
            rhs = rhs.at[vc_nodes].add(vc_g * x[n_ic:])
            diag = diag.at[vc_nodes].add(vc_g)
        return diag, rhs, (i_ca if conc else None)

    def advance(carry, u, i_ca):
        """The state after the step, from the solved potential ``u``, and its record."""
        v, st, cai = carry
        v = 2.0 * u - v if crank_nicolson else u
        vc = v[:nc]
        # concentrations advance with this step's current, then the gates see them
        for k, dyn in conc:
            idx = sites[k]
            new = dyn.update(_take(cai, idx), _take(i_ca, idx), dt)
            cai = new if idx is None else jnp.where(model.mask(k), _spread(new, idx, nc), cai)
        ions = ions_at(cai)
        st = tuple(
            ch.update(_take(vc, idx), s, dt, params.celsius, _take_ions(ions, idx))
            if isinstance(ch, AbstractChannel)
            else s
            for ch, idx, s in zip(chans, sites, st, strict=True)
        )
        return (v, st, cai), record_now(v, st, cai)

    def step(carry, x):
        diag, rhs, i_ca = assemble(carry, x)
        return advance(carry, solve(lower, upper, diag, rhs), i_ca)

    carry0 = (v0, s0, cai0)
    if checkpoint is None and adjoint:
        rec = _adjoint_scan(
            assemble,
            advance,
            model.tree,
            model.solver,
            lower,
            upper,
            carry0,
            xs,
            unroll,
            crank_nicolson,
        )
    elif checkpoint is None:
        # Reverse mode stores only the carry (v and gates) per step and recomputes the
        # step's intermediates: half the gradient time of storing them all (memory-bound).
        step = jax.checkpoint(step, prevent_cse=False)  # inside scan CSE cannot undo remat
        _, rec = jax.lax.scan(step, carry0, xs, unroll=unroll)
    else:
        if not (isinstance(checkpoint, int) and checkpoint >= 1):
            raise ValueError(f"checkpoint must be a positive number of steps, got {checkpoint!r}")
        step = jax.checkpoint(step, prevent_cse=False)
        k = min(checkpoint, nt)
        n_chunks, rem = divmod(nt, k)

        @jax.checkpoint
        def chunk(carry, xc):
            return jax.lax.scan(step, carry, xc, unroll=unroll)

        carry, rec = jax.lax.scan(chunk, carry0, xs[: n_chunks * k].reshape(n_chunks, k, -1))
        rec = rec.reshape(n_chunks * k, -1)
        if rem:
            _, tail = jax.lax.scan(step, carry, xs[n_chunks * k :], unroll=unroll)
            rec = jnp.concatenate([rec, tail], axis=0)
    rec = jnp.concatenate([record_now(v0, s0, cai0)[None], rec], axis=0)
    return rec.T
