"""Shared plumbing of the spiking network's native CPU kernels (``_native/*.cc``): the
:class:`~synaptax.solver._native.NativeKernel` class and the kernels' directory."""

from __future__ import annotations

from pathlib import Path

from ..solver._native import NativeKernel

SOURCES = Path(__file__).with_name("_native")

__all__ = ["SOURCES", "NativeKernel"]
