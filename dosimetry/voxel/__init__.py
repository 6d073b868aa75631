"""Vectorized voxel dosimetry: geometry, Y-90 dose-voxel kernel, dose maps and metrics (numpy/scipy only).

The names are loaded on first use from the submodule that holds them (issue 22: a command that
computes no dose imports neither scipy.fft nor scipy.ndimage).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_names

if TYPE_CHECKING:  # the names as type checkers see them; _LAZY below loads the same at run time
    from .dose import (
        DENSITY_METHODS,
        HU_DENSITY_CURVE,
        LUNG_METHODS,
        activity_per_voxel,
        convolve_dose,
        density_from_hu,
        local_deposition,
        lung_kernel_dose,
        with_nominal_density,
    )
    from .geometry import Volume
    from .kernel import absorbed_fraction_kernel, dose_voxel_kernel
    from .metrics import DVH, RegionStats, bed, dvh, eud, mean_bed, region_stats, sampled_mean_fraction, sampling_recovery, tumour_to_normal_ratio
    from .resample import resample_to

#: Each public name and the submodule that holds it.
_LAZY = {
    "Volume": "geometry",
    "resample_to": "resample",
    "dose_voxel_kernel": "kernel",
    "absorbed_fraction_kernel": "kernel",
    "HU_DENSITY_CURVE": "dose",
    "DENSITY_METHODS": "dose",
    "LUNG_METHODS": "dose",
    "with_nominal_density": "dose",
    "lung_kernel_dose": "dose",
    "density_from_hu": "dose",
    "activity_per_voxel": "dose",
    "local_deposition": "dose",
    "convolve_dose": "dose",
    "DVH": "metrics",
    "RegionStats": "metrics",
    "dvh": "metrics",
    "region_stats": "metrics",
    "bed": "metrics",
    "mean_bed": "metrics",
    "eud": "metrics",
    "tumour_to_normal_ratio": "metrics",
    "sampling_recovery": "metrics",
    "sampled_mean_fraction": "metrics",
}

__all__ = list(_LAZY)


if not TYPE_CHECKING:  # type checkers see the imports above, and refuse a misspelt name
    __getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
