"""synaptax: differentiable biophysical simulation and latent-dynamics distillation in JAX.

Units follow NEURON: ms, mV, um, uF/cm^2, Ohm cm, S/cm^2 (conductance density),
mA/cm^2 (density current), nA (point current), uS (point conductance), mM, degC.
"""

__version__ = "0.1.0"
