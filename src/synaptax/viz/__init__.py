"""Plots: traces and morphologies."""

from synaptax.viz.morph import plot_morphology as plot_morphology
