"""Spiking neural networks: LIF neurons, surrogate gradients, Dale's principle, homeostasis.

Every neuron is an ``(init, step)`` pair with explicit state; :func:`simulate` is the one
driver that scans a :class:`RecurrentNetwork` over time.
"""

from ._dale import DaleWeights as DaleWeights
from ._dale import dale_violations as dale_violations
from ._dale import dale_weights as dale_weights
from ._dale import ei_balance as ei_balance
from ._homeostasis import firing_rates as firing_rates
from ._homeostasis import fraction_in_band as fraction_in_band
from ._homeostasis import rate_penalty as rate_penalty
from ._network import NetworkState as NetworkState
from ._network import RecurrentNetwork as RecurrentNetwork
from ._network import Simulation as Simulation
from ._network import simulate as simulate
from ._neurons import LIF as LIF
from ._neurons import AbstractNeuron as AbstractNeuron
from ._neurons import AdaptiveLIF as AdaptiveLIF
from ._neurons import AdaptiveLIFState as AdaptiveLIFState
from ._neurons import LIFState as LIFState
from ._neurons import SynapticLIF as SynapticLIF
from ._neurons import SynapticLIFState as SynapticLIFState
from ._surrogate import SpikeFn as SpikeFn
from ._surrogate import arctan as arctan
from ._surrogate import custom as custom
from ._surrogate import fast_sigmoid as fast_sigmoid
from ._surrogate import sigmoid as sigmoid
from ._surrogate import triangular as triangular
