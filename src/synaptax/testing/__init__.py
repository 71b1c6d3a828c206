"""Helpers for checking synaptax against reference simulators (NEURON)."""
