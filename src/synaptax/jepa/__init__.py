"""LeJEPA teacher: latent dynamics from binned spikes, regularised by SIGReg.

Example:
    >>> from synaptax import data, jepa
    >>> session, truth = data.make_synthetic_session(n_units=300, latent_dim=6)
    >>> b = data.bin_spikes(session, bin_ms=10, epochs=["active", "passive"])
    >>> sp = data.contiguous_splits(b, block_s=10.0, gap_s=0.5)
    >>> res = jepa.train(b.dense(), sp.assignment == 0, b.segment, jepa.TeacherConfig())
    >>> z = jepa.teacher_latents(res.model, b.dense(), res.views)
"""

from ._eval import effective_rank as effective_rank
from ._eval import future_r2 as future_r2
from ._eval import heldout_cca as heldout_cca
from ._eval import linear_probe_accuracy as linear_probe_accuracy
from ._eval import linear_probe_r2 as linear_probe_r2
from ._eval import pca_latents as pca_latents
from ._eval import teacher_latents as teacher_latents
from ._lds import LDSParams as LDSParams
from ._lds import fit_lds as fit_lds
from ._lds import lds_latents as lds_latents
from ._lds import lds_runs as lds_runs
from ._lds import lds_smooth as lds_smooth
from ._model import Encoder as Encoder
from ._model import ExpEncoder as ExpEncoder
from ._model import Predictor as Predictor
from ._model import ReadIn as ReadIn
from ._model import Teacher as Teacher
from ._model import jepa_loss as jepa_loss
from ._model import split_units as split_units
from ._model import transform_counts as transform_counts
from ._poisson import PoissonLDSParams as PoissonLDSParams
from ._poisson import fit_ar1 as fit_ar1
from ._poisson import fit_dynamics as fit_dynamics
from ._poisson import poisson_smooth as poisson_smooth
from ._poisson import refined_latents as refined_latents
from ._poisson import teacher_smoother as teacher_smoother
from ._sigreg import epps_pulley as epps_pulley
from ._sigreg import gaussian_expectation as gaussian_expectation
from ._sigreg import random_directions as random_directions
from ._sigreg import sigreg as sigreg
from ._train import MultiTrainResult as MultiTrainResult
from ._train import TeacherConfig as TeacherConfig
from ._train import TrainResult as TrainResult
from ._train import load_run as load_run
from ._train import load_sessions_run as load_sessions_run
from ._train import make_step as make_step
from ._train import train as train
from ._train import train_sessions as train_sessions
from ._train import window_starts as window_starts
