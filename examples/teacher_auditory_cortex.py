"""Train the LeJEPA teacher on real spikes: rat auditory cortex (Szabó & Barthó 2021).

50 units, 1,800 trials of 500 ms (18 sounds), laid end to end by
``synaptax.data.read_trial_raster_csv`` and binned at 10 ms. The data's own roles give
the split (train / val / test epochs); the linear probe decodes the sound identity of
each bin from the latents (chance = the most frequent sound). The trials are
concatenated, so a window can span the end of one trial and the start of the next.

    python examples/teacher_auditory_cortex.py [RUN_DIR]

Writes RUN_DIR (default ``teacher_auditory``) with the checkpoints, ``metrics.csv``,
``losses.png`` and ``report.json``; prints the held-out evaluation.
"""

import sys
from pathlib import Path

from synaptax.jepa._cli import train

DATA = (
    Path(__file__).resolve().parents[2]
    / "shared/data/spikes/auditory_cortex_szabo_bartho2021/D_A_I.csv"
)

CONFIG = f"""
[data]
source = "{DATA}"
bin_ms = 10.0
split = "epochs"
probe = "trials:sound_ID"

[teacher]
latent_dim = 8
hidden = 32
batch = 128
n_steps = 600
lam = 0.05
"""

if __name__ == "__main__":
    run = Path(sys.argv[1] if len(sys.argv) > 1 else "teacher_auditory")
    run.mkdir(parents=True, exist_ok=True)
    (run / "teacher.toml").write_text(CONFIG)
    train(run / "teacher.toml", run_dir=run)  # trains, then evaluates on the test epochs
