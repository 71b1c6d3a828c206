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
from synaptax.channels import AbstractChannel, AbstractConcentration, Ions, nernst
from synaptax.solver.tree import make_tree_solver
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
        unroll: time steps per iteration of the compiled loop; try it when gradients
            are computed many times, as in fitting, and measure. With 16, HH cells' reverse
            mode was 13% faster (CA1 n120, 4,000 steps: 195 -> 170 ms) and the Hay L5PC's
            (12 mechanisms) 50% slower; the forward stayed the same and the compile time
            doubled (0.43 -> 0.8 s).

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

    def step(carry, x):
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
        u = solve(lower, upper, diag, rhs)
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

    carry0 = (v0, s0, cai0)
    # Reverse mode stores only the carry (v and gates) per step and recomputes the
    # step's intermediates: half the gradient time of storing them all (memory-bound).
    step = jax.checkpoint(step, prevent_cse=False)  # inside scan CSE cannot undo remat
    if checkpoint is None:
        _, rec = jax.lax.scan(step, carry0, xs, unroll=unroll)
    else:
        if not (isinstance(checkpoint, int) and checkpoint >= 1):
            raise ValueError(f"checkpoint must be a positive number of steps, got {checkpoint!r}")
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
