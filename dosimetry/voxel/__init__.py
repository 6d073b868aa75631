"""Vectorized voxel dosimetry: geometry, Y-90 dose-voxel kernel, dose maps and metrics (numpy/scipy only)."""

from .geometry import Volume

__all__ = ["Volume"]
