"""Tree-structured linear solves and time steppers for the cable equation."""

from synaptax.solver.tree import Tree as Tree
from synaptax.solver.tree import make_tree_solver as make_tree_solver
from synaptax.solver.tree import resolve_method as resolve_method
