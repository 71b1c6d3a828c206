"""Ion dynamics: calcium buffering and removal; the Nernst reversal potential."""

from synaptax.channels._base import AbstractConcentration, nernst
from synaptax.mechanisms.calcium import CaDynamicsE2

MECHANISMS: dict[str, type[AbstractConcentration]] = {cls.name: cls for cls in (CaDynamicsE2,)}

__all__ = ["MECHANISMS", "AbstractConcentration", "CaDynamicsE2", "nernst"]
