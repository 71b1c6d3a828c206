"""Published models, built in one call."""

from synaptax.models.hay2011 import l5pc as l5pc
from synaptax.models.hay2011 import l5pc_morphology as l5pc_morphology
