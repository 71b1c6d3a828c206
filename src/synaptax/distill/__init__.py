"""Distillation of teacher latents into a spiking student: CCA/CKA similarity and training."""

from ._biophysical import BiophysicalStudent as BiophysicalStudent
from ._biophysical import HHNetwork as HHNetwork
from ._biophysical import simulate_hh as simulate_hh
from ._similarity import CCAFit as CCAFit
from ._similarity import canonical_correlations as canonical_correlations
from ._similarity import cca_similarity as cca_similarity
from ._similarity import fit_cca as fit_cca
from ._similarity import heldout_correlations as heldout_correlations
from ._similarity import linear_cka as linear_cka
from ._student import AbstractStudent as AbstractStudent
from ._student import SpikingStudent as SpikingStudent
from ._student import distillation_loss as distillation_loss
from ._student import filtered_readout as filtered_readout
from ._synthetic import synthetic_latents as synthetic_latents
from ._train import DistillConfig as DistillConfig
from ._train import DistillResult as DistillResult
from ._train import distill as distill
from ._train import evaluate as evaluate
from ._train import make_step as make_step
from ._train import window_starts as window_starts
