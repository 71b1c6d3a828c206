"""Training speed on one accelerator: the LeJEPA teacher and the spiking student's step.

    python -m benchmarks.gpu_training [--quick] [--write]

1. Teacher: the benchmark teacher of ``benchmarks/teacher.py`` (``TEACHER``) trained on
   its quick synthetic session (300 units, 2 x 120 s) for 600 steps (quick: 100);
   ``teacher_steps_per_s`` and the held-out CCA with the true latents it reached.
2. Student: one training step (forward, backward, clipping, Adam) of the recurrent LIF
   student of ``benchmarks/distill.py`` at the benchmark's size (512 neurons, 200 steps,
   batch 32) and at a larger one (4,096 neurons, batch 256), float32, against snnTorch on
   the same device when it is installed (its CUDA build for a GPU). On a GPU the student
   runs the generic ``lax.scan`` path (the fused LIF kernel is CPU-only).

Meant for a GPU; on a CPU it times the same code. Final JSON line: ``teacher_steps_per_s``,
``teacher_gt_latent_cca`` and, per size, ``step_ms`` and ``step_vs_snntorch``.
"""

from __future__ import annotations

import argparse
import time

import jax

from benchmarks._common import best_of, finish


def teacher_speed(n_steps: int) -> dict:
    from benchmarks.teacher import TEACHER, benchmark_session
    from synaptax import jepa

    _, b, x, counts, tr, te = benchmark_session(120.0)
    cfg = jepa.TeacherConfig(**TEACHER, n_steps=n_steps)
    t0 = time.perf_counter()
    res = jepa.train(counts, tr, b.segment, cfg, progress=False)
    wall = time.perf_counter() - t0
    z = jepa.teacher_latents(res.model, counts, res.views)
    return {
        "teacher_steps_per_s": res.steps_per_s,
        "teacher_train_s": wall,
        "teacher_n_steps": n_steps,
        "teacher_batch": cfg.batch,
        "teacher_gt_latent_cca": jepa.heldout_cca(z, x, tr, te),
    }


def _sync_torch():
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def student_speed(n: int, t: int, b: int, repeats: int) -> dict:
    from benchmarks.distill import _jax_step, _torch_step

    ours, student = _jax_step(n, t, b, 6, 6)
    out: dict = {"step_ms": 1e3 * best_of(ours, repeats)}
    try:
        import snntorch  # noqa: F401
        import torch
    except ImportError:
        return out
    device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        with torch.device(device):
            run = _torch_step(student, t, b, 6, 6)

            def theirs():
                run()
                _sync_torch()

            theirs()
            out["snntorch_step_ms"] = 1e3 * best_of(theirs, repeats)
    except Exception as err:  # reported in the results, the other figures still count
        out["snntorch_error"] = f"{type(err).__name__}: {err}"
        return out
    out["snntorch_device"] = device
    out["step_vs_snntorch"] = out["step_ms"] / out["snntorch_step_ms"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--write", action="store_true", help="write results/gpu_training.json")
    ap.add_argument("--skip-teacher", action="store_true")
    args = ap.parse_args()
    figures: dict = {"device": str(jax.devices()[0])}
    table = [("device", figures["device"])]
    if not args.skip_teacher:
        tf = teacher_speed(100 if args.quick else 600)
        figures.update(tf)
        table += [
            ("teacher steps/s", f"{tf['teacher_steps_per_s']:.1f} (batch {tf['teacher_batch']})"),
            ("teacher held-out CCA vs true latents", f"{tf['teacher_gt_latent_cca']:.3f}"),
        ]
    sizes = [(512, 200, 32)] if args.quick else [(512, 200, 32), (4096, 200, 256)]
    for n, t, b in sizes:
        key = f"student_{n}x{t}x{b}"
        r = student_speed(n, t, b, 3 if args.quick else 10)
        figures[key] = r
        msg = f"{r['step_ms']:.1f} ms"
        if "snntorch_error" in r:
            msg += f", snnTorch failed: {r['snntorch_error']}"
        if "snntorch_step_ms" in r:
            msg += f", snnTorch ({r['snntorch_device']}) {r['snntorch_step_ms']:.1f} ms"
            msg += f", ratio {r['step_vs_snntorch']:.3f}"
        table.append((f"student step, {n} neurons x {t} steps x batch {b}", msg))
    finish("gpu_training", figures, table, write=args.write)


if __name__ == "__main__":
    main()
