"""Ion channels: the abstract type and concrete mechanisms."""

from synaptax.channels._base import AbstractChannel as AbstractChannel
from synaptax.channels.hh import HH as HH
from synaptax.channels.passive import Leak as Leak

CHANNELS: dict[str, type[AbstractChannel]] = {"HH": HH, "Leak": Leak}
