"""LeJEPA teacher: latent dynamics from binned spikes, regularised by SIGReg."""

from ._sigreg import epps_pulley as epps_pulley
from ._sigreg import gaussian_expectation as gaussian_expectation
from ._sigreg import random_directions as random_directions
from ._sigreg import sigreg as sigreg
