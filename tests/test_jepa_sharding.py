"""Teacher training with the batch sharded over several devices: two XLA host devices
(``--xla_force_host_platform_device_count=2``, set before JAX starts, so each run is a
fresh process) give the single device's losses and latents."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import jax
    import numpy as np
    from synaptax import data, jepa

    s, _ = data.make_synthetic_session(
        n_units=30, latent_dim=3, active_s=30, spontaneous_s=5, passive_s=30,
        bad_fraction=0.0, seed=3,
    )
    b = data.bin_spikes(s, bin_ms=10, epochs=["active", "passive"])
    sp = data.contiguous_splits(b, (0.7, 0.15, 0.15), block_s=5.0, gap_s=0.2)
    cfg = jepa.TeacherConfig(
        latent_dim=3, hidden=8, horizons=(0, 1), kernel=3, dilations=(1, 2), context=4,
        batch=16, n_steps=12, lr=1e-2, num_slices=8, checkpoint_every=100, log_every=4,
    )
    res = jepa.train(b.dense(), sp.assignment == 0, b.segment, cfg, progress=False)
    z = jepa.teacher_latents(res.model, b.dense(), res.views)
    json.dump({
        "devices": jax.device_count(),
        "loss": [h["loss"] for h in res.history],
        "z": np.asarray(z[:200]).tolist(),
    }, sys.stdout)
    """
)


def _run(devices: int) -> dict:
    env = dict(os.environ)
    flags = env.get("XLA_FLAGS", "")
    env["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={devices}".strip()
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_two_devices_train_like_one():
    one, two = _run(1), _run(2)
    # batch 16 divides over 2 devices: make_step shards the windows there
    assert one["devices"] == 1 and two["devices"] == 2
    # the same windows and SIGReg directions on every device: the same training, up to the
    # order of float32 reductions across the two shards
    np.testing.assert_allclose(two["loss"], one["loss"], rtol=1e-5)
    np.testing.assert_allclose(np.asarray(two["z"]), np.asarray(one["z"]), rtol=0, atol=1e-5)
