"""The builder (mutable, user-facing) and the compiled model (immutable pytrees)."""

from synaptax.build._cell import Cell as Cell
from synaptax.build._cell import Selection as Selection
from synaptax.build._model import Model as Model
from synaptax.build._model import Params as Params
