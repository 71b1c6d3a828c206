"""Reconstructions: reading SWC/ASC files into trees of sections, and their geometry."""

from synaptax.morph._morphology import Morphology as Morphology
from synaptax.morph._morphology import Section as Section
from synaptax.morph._morphology import type_name as type_name
from synaptax.morph._swc import MorphologyError as MorphologyError
from synaptax.morph._swc import read_swc as read_swc
