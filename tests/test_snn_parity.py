"""Parity with snnTorch (``Leaky``, ``RLeaky``, ``Synaptic``) in float64.

Same beta, threshold, inputs and weights: the membrane traces agree to rounding
(the only difference is the order of floating-point additions, ~1e-15) and the spike
trains are identical. Gradients through the surrogate are compared as well.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from synaptax import snn

torch = pytest.importorskip("torch")
snntorch = pytest.importorskip("snntorch")
from snntorch import surrogate as tsurrogate  # noqa: E402

T, B, N, NIN = 120, 4, 24, 5


def _inputs(seed: int, shape, scale=0.6, offset=0.15):
    rng = np.random.default_rng(seed)
    return rng.normal(offset, scale, size=shape)


def _run_ours(neuron, currents):
    def body(state, cur):
        state, s = neuron.step(state, cur)
        return state, (s, state.v)

    _, (s, v) = jax.lax.scan(body, neuron.init((B,)), jnp.asarray(currents))
    return np.asarray(s), np.asarray(v)


@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_leaky_matches_snntorch(reset):
    tau = np.linspace(3.0, 40.0, N)
    thr = np.linspace(0.7, 1.3, N)
    lif = snn.LIF(N, tau_mem=tau, threshold=thr, dt=1.0, reset=reset)
    beta = np.asarray(lif.beta)
    x = _inputs(0, (T, B, N))
    s_ours, v_ours = _run_ours(lif, x)

    leaky = snntorch.Leaky(
        beta=torch.tensor(beta), threshold=torch.tensor(thr), reset_mechanism=reset
    )
    mem = torch.zeros(B, N, dtype=torch.float64)
    s_ref, v_ref = [], []
    with torch.no_grad():
        for t in range(T):
            spk, mem = leaky(torch.tensor(x[t]), mem)
            s_ref.append(spk.numpy())
            v_ref.append(mem.numpy())
    s_ref, v_ref = np.stack(s_ref), np.stack(v_ref)
    assert s_ref.sum() > 50, "the test input should make the neurons fire"
    np.testing.assert_array_equal(s_ours, s_ref)
    np.testing.assert_allclose(v_ours, v_ref, rtol=0, atol=1e-13)


def test_synaptic_matches_snntorch():
    lif = snn.SynapticLIF(N, tau_syn=4.0, tau_mem=15.0, threshold=1.0, dt=1.0)
    alpha, beta = np.asarray(lif.alpha), np.asarray(lif.beta)
    x = _inputs(1, (T, B, N), scale=0.3, offset=0.03)
    s_ours, v_ours = _run_ours(lif, x)
    syn_t = snntorch.Synaptic(alpha=torch.tensor(alpha), beta=torch.tensor(beta))
    syn = torch.zeros(B, N, dtype=torch.float64)
    mem = torch.zeros(B, N, dtype=torch.float64)
    s_ref, v_ref = [], []
    with torch.no_grad():
        for t in range(T):
            spk, syn, mem = syn_t(torch.tensor(x[t]), syn, mem)
            s_ref.append(spk.numpy())
            v_ref.append(mem.numpy())
    s_ref, v_ref = np.stack(s_ref), np.stack(v_ref)
    assert s_ref.sum() > 50
    np.testing.assert_array_equal(s_ours, s_ref)
    np.testing.assert_allclose(v_ours, v_ref, rtol=0, atol=1e-12)


def _torch_rleaky(net, beta, thr):
    fast = tsurrogate.fast_sigmoid(slope=25)
    fc = torch.nn.Linear(NIN, N, dtype=torch.float64)
    rl = snntorch.RLeaky(
        beta=torch.tensor(beta),
        threshold=torch.tensor(thr),
        linear_features=N,
        # snnTorch's surrogates return float32 spikes; cast so the recurrence stays float64.
        spike_grad=lambda x: fast(x).double(),
    ).double()
    with torch.no_grad():
        fc.weight.copy_(torch.tensor(np.asarray(net.w_in)))
        fc.bias.copy_(torch.tensor(np.asarray(net.bias)))
        rl.recurrent.weight.copy_(torch.tensor(np.asarray(net.w_rec.weight)))
        rl.recurrent.bias.zero_()
    return fc, rl


def test_rleaky_matches_snntorch_forward_and_gradient():
    thr = 1.0
    net = snn.RecurrentNetwork(
        jax.random.key(3),
        NIN,
        snn.LIF(N, tau_mem=12.0, threshold=thr, dt=1.0),
        in_gain=1.0,
        rec_gain=2.0,
        bias=0.1,
    )
    beta = np.asarray(net.neuron.beta)
    x = _inputs(2, (T, B, NIN), scale=1.0, offset=0.2)
    target = _inputs(5, (T, B, N), scale=0.1, offset=0.0)

    def loss_ours(net):
        _, s, v = snn.simulate(net, jnp.asarray(x), record_voltage=True)  # (state, spikes, v)
        return jnp.sum(v * target), (s, v)

    (l_ours, (s_ours, v_ours)), g = eqx.filter_value_and_grad(loss_ours, has_aux=True)(net)

    fc, rl = _torch_rleaky(net, beta, np.full(N, thr))
    spk = torch.zeros(B, N, dtype=torch.float64)
    mem = torch.zeros(B, N, dtype=torch.float64)
    s_ref, v_ref = [], []
    for t in range(T):
        spk, mem = rl(fc(torch.tensor(x[t])), spk, mem)
        s_ref.append(spk)
        v_ref.append(mem)
    v_all = torch.stack(v_ref)
    l_ref = (v_all * torch.tensor(target)).sum()
    l_ref.backward()
    s_ref = torch.stack(s_ref).detach().numpy()
    assert s_ref.sum() > 50
    np.testing.assert_array_equal(np.asarray(s_ours), s_ref)
    np.testing.assert_allclose(np.asarray(v_ours), v_all.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(float(l_ours), l_ref.item(), rtol=1e-12)
    # Same surrogate (fast sigmoid, slope 25), same detached reset: same gradients, up to
    # snnTorch's surrogate backward, which runs in float32 (its spikes are float32): ~1e-7.
    np.testing.assert_allclose(np.asarray(g.w_in), fc.weight.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(g.bias), fc.bias.grad.numpy(), rtol=1e-5, atol=1e-6)
    # d/dW of the effective weight: chain through |M| * sign.
    w_grad = np.asarray(g.w_rec.magnitude) * np.sign(np.asarray(net.w_rec.magnitude))
    w_grad_ref = rl.recurrent.weight.grad.numpy() * np.asarray(net.w_rec.weight != 0)
    w_grad_ref = w_grad_ref * np.asarray(net.w_rec.sign)[None, :]
    np.testing.assert_allclose(w_grad, w_grad_ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (snn.arctan(2.0), tsurrogate.atan(alpha=2.0)),
        (snn.fast_sigmoid(25.0), tsurrogate.fast_sigmoid(slope=25)),
        (snn.sigmoid(25.0), tsurrogate.sigmoid(slope=25)),
    ],
)
def test_surrogates_match_snntorch(ours, theirs):
    x = np.linspace(-0.5, 0.5, 101)
    g = jax.vmap(jax.grad(ours))(jnp.asarray(x))
    xt = torch.tensor(x, requires_grad=True)
    out = theirs(xt)
    out.sum().backward()
    np.testing.assert_array_equal(np.asarray(ours(jnp.asarray(x))), out.detach().numpy())
    np.testing.assert_allclose(np.asarray(g), xt.grad.numpy(), rtol=1e-12, atol=1e-14)
