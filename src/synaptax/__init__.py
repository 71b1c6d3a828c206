"""synaptax: differentiable biophysical simulation and latent-dynamics distillation in JAX.

Units follow NEURON: ms, mV, um, uF/cm^2, Ohm cm, S/cm^2 (conductance density),
mA/cm^2 (density current), nA (point current), uS (point conductance), mM, degC.
"""

from synaptax.build import Cell as Cell
from synaptax.build import Model as Model
from synaptax.build import Params as Params
from synaptax.channels import HH as HH
from synaptax.channels import AbstractChannel as AbstractChannel
from synaptax.channels import Leak as Leak
from synaptax.morph import Morphology as Morphology
from synaptax.morph import read_swc as read_swc
from synaptax.simulate import simulate as simulate
from synaptax.stimuli import CurrentClamp as CurrentClamp
from synaptax.stimuli import VoltageClamp as VoltageClamp
from synaptax.stimuli import epsp_current as epsp_current
from synaptax.stimuli import ramp_current as ramp_current
from synaptax.stimuli import step_current as step_current

__version__ = "0.1.0"
