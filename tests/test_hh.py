"""The HH channel's analytic derivative rule against central differences."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from synaptax.channels.hh import _inf_rate_arrays, hh_rates


def test_rate_derivatives_match_finite_differences():
    v = jnp.linspace(-100.3, 60.3, 161)  # avoids vtrap's removable singularities
    celsius = jnp.asarray(16.3)
    jac_v = jax.vmap(jax.jacfwd(lambda x: _inf_rate_arrays(x, celsius)))(v)
    eps = 1e-5
    plus, minus = _inf_rate_arrays(v + eps, celsius), _inf_rate_arrays(v - eps, celsius)
    for k in range(2):
        fd = [(p - m) / (2 * eps) for p, m in zip(plus[k], minus[k], strict=True)]
        np.testing.assert_allclose(jnp.stack(jac_v[k]), jnp.stack(fd), rtol=1e-6, atol=1e-9)
    d_cel = jnp.stack(jax.jacfwd(lambda c: _inf_rate_arrays(v, c)[1])(celsius))
    hi, lo = _inf_rate_arrays(v, celsius + eps)[1], _inf_rate_arrays(v, celsius - eps)[1]
    fd_c = jnp.stack([(a - b) / (2 * eps) for a, b in zip(hi, lo, strict=True)])
    np.testing.assert_allclose(d_cel, fd_c, rtol=1e-7)


def test_rate_derivatives_are_continuous_through_vtrap_singularities():
    celsius = jnp.asarray(6.3)
    jac = jax.vmap(jax.jacfwd(lambda x: _inf_rate_arrays(x, celsius)))
    for v0 in (-40.0, -55.0):  # alpha_m and alpha_n are 0/0 there
        at = jac(jnp.array([v0]))
        near = jac(jnp.array([v0 - 1e-4, v0 + 1e-4]))
        for k in range(2):
            for g in range(3):
                np.testing.assert_allclose(at[k][g][0], near[k][g].mean(), rtol=1e-5)


def test_steady_states_at_rest():
    (m, _), (h, _), (n, _) = hh_rates(jnp.asarray(-65.0), jnp.asarray(6.3))
    # the classic resting values of the squid axon model
    assert abs(float(m) - 0.0529) < 1e-3
    assert abs(float(h) - 0.5961) < 1e-3
    assert abs(float(n) - 0.3177) < 1e-3
