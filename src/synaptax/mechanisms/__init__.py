"""Ion dynamics: calcium buffering and removal; the Nernst reversal potential."""

from synaptax.channels import CHANNELS
from synaptax.channels._base import AbstractConcentration, AbstractMechanism, nernst
from synaptax.mechanisms.calcium import CaDynamicsE2

MECHANISMS: dict[str, type[AbstractConcentration]] = {cls.name: cls for cls in (CaDynamicsE2,)}
#: Every insertable mechanism by name: the channels and the ion dynamics.
ALL: dict[str, type[AbstractMechanism]] = {**CHANNELS, **MECHANISMS}

__all__ = ["ALL", "MECHANISMS", "AbstractConcentration", "CaDynamicsE2", "nernst"]
