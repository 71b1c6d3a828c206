"""Hay 2011 and Pospischil 2008 channels without NEURON: registry, limits at removable
singularities, cnexp fixed points, float32, gradients against finite differences."""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import synaptax as sx
from synaptax.channels import CHANNELS, AbstractGatedChannel, Leak
from synaptax.channels.hay2011 import linexp

NEW = [
    "NaTa_t",
    "NaTs2_t",
    "Nap_Et2",
    "SKv3_1",
    "K_Tst",
    "K_Pst",
    "Im",
    "Ih",
    "Pospischil_Na",
    "Pospischil_K",
    "Pospischil_Km",
]
# potentials where a rate is 0/0 in its textbook form
SINGULAR = {
    "NaTa_t": [-38.0, -66.0],
    "NaTs2_t": [-32.0, -60.0],
    "Nap_Et2": [-38.0, -17.0, -64.4],
    "Ih": [-154.9],
    "Pospischil_Na": [-56.2 + 13.0, -56.2 + 40.0],
    "Pospischil_K": [-56.2 + 15.0],
}


def test_registry_names_fields_and_units():
    for name in NEW:
        cls = CHANNELS[name]
        assert cls.name == name
        assert issubclass(cls, AbstractGatedChannel)
        fields = {f.name for f in dataclasses.fields(cls)}
        assert set(cls.defaults) == fields == set(cls.units), name
    assert len(set(CHANNELS.values())) == len(CHANNELS)


def test_linexp_is_continuous_through_its_limit():
    x = jnp.asarray([-1e-5, -1e-6, -9.99e-7, 0.0, 9.99e-7, 1e-6, 1e-5])
    for k in (4.0, 6.0, 11.9):
        exact = np.asarray([float(xi) / -np.expm1(-float(xi) / k) if xi else k for xi in x])
        np.testing.assert_allclose(linexp(x, k), exact, rtol=1e-10)
        d = jax.vmap(jax.grad(lambda u, k=k: linexp(u, k)))(x)
        np.testing.assert_allclose(d, 0.5 + x / (6 * k), rtol=1e-9)  # 1/2 + x/(6k) + O(x^3)


@pytest.mark.parametrize("name", NEW)
def test_gates_smooth_at_singular_potentials_and_cnexp_fixed_point(name):
    ch = CHANNELS[name].with_defaults(3)
    celsius = jnp.asarray(34.0)
    for v0 in SINGULAR.get(name, [-65.0]):
        v = jnp.asarray([v0 - 1e-3, v0, v0 + 1e-3])
        gates = ch.gates(v, celsius)  # type: ignore[attr-defined]
        for inf, tau in gates:
            assert np.all(np.isfinite(inf)) and np.all(np.isfinite(tau))
            assert np.all((inf > 0) & (inf < 1)) and np.all(tau > 0)
            # the middle value lies on the line through its neighbours (smooth, no jump)
            for x in (inf, tau):
                np.testing.assert_allclose(x[1], 0.5 * (x[0] + x[2]), rtol=1e-6)
        jac = jax.jacfwd(lambda u: jnp.stack([jnp.stack(g) for g in ch.gates(u, celsius)]))(v)  # type: ignore[attr-defined]
        assert np.all(np.isfinite(jac))
    # steady state is a fixed point of the update; a long step relaxes to it
    v = jnp.linspace(-100.0, 40.0, 3)
    s = ch.init_state(v, celsius)
    for a, b in zip(ch.update(v, s, 0.025, celsius), s, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-14)
    far = ch.update(v, ch.init_state(v - 30.0, celsius), 1e7, celsius)
    for a, b in zip(far, s, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("name", NEW)
def test_float32_is_finite_and_close(name):
    v64 = jnp.linspace(-160.0, 60.0, 221)
    c = jnp.asarray(34.0)
    ch64 = CHANNELS[name].with_defaults(221)
    ch32 = CHANNELS[name].with_defaults(221, dtype=jnp.float32)
    s64 = ch64.init_state(v64, c)
    s32 = ch32.init_state(v64.astype(jnp.float32), c.astype(jnp.float32))
    for a, b in zip(s32, s64, strict=True):
        assert a.dtype == jnp.float32 and np.all(np.isfinite(a))
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7)


def _cylinder(tmp_path):
    path = tmp_path / "cylinder.swc"
    path.write_text("1 3 0 0 0 10 -1\n2 3 20 0 0 10 1\n")
    cell = sx.Cell.from_swc(path, nseg=1, Ra=100.0, cm=1.0)
    cell.insert("NaTs2_t", gbar=0.5).insert("SKv3_1", gbar=0.3).insert("Ih", gbar=1e-4)
    cell.insert("K_Pst", gbar=0.01).insert("Im", gbar=1e-3).insert(Leak, g=5e-5, e=-75.0)
    cell.set("celsius", 34.0)
    cell.set("v_init", -75.0)
    return cell


def test_gradients_match_central_differences(tmp_path):
    t_max, dt = 20.0, 0.025
    cell = _cylinder(tmp_path)
    model, params = cell.compile()
    stim = [sx.CurrentClamp(cell.soma, sx.step_current(0.15, 2.0, 15.0, t_max, dt))]
    # the mean potential over the first spike is smooth in the conductances
    names = ["NaTs2_t", "SKv3_1", "Ih", "K_Pst", "Im"]
    idx = [[ch.name for ch in params.channels].index(n) for n in names]

    def loss(gbars):
        p = eqx.tree_at(lambda q: [q.channels[k].gbar for k in idx], params, list(gbars))
        v = sx.simulate(model, p, stim, t_max, dt, record=[("v", cell.soma)])
        return jnp.mean(v[0, :240])

    g0 = [params.channels[k].gbar for k in idx]  # type: ignore[attr-defined]
    grads = jax.jit(jax.grad(loss))(g0)
    f = jax.jit(loss)
    for j, name in enumerate(names):
        eps = 1e-5 * float(g0[j][0])
        up = [g + (eps if i == j else 0.0) for i, g in enumerate(g0)]
        dn = [g - (eps if i == j else 0.0) for i, g in enumerate(g0)]
        fd = (float(f(up)) - float(f(dn))) / (2 * eps)
        assert float(grads[j][0]) == pytest.approx(fd, rel=1e-5, abs=1e-6), name
