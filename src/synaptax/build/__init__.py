"""The builder (mutable, user-facing) and the compiled model (immutable pytrees)."""

from synaptax.build._cell import Cell as Cell
from synaptax.build._cell import Selection as Selection
from synaptax.build._model import Model as Model
from synaptax.build._model import Params as Params
from synaptax.build._paramfile import ParameterSet as ParameterSet
from synaptax.build._paramfile import apply_parameter_file as apply_parameter_file
from synaptax.build._paramfile import apply_parameter_set as apply_parameter_set
from synaptax.build._paramfile import read_parameter_file as read_parameter_file
