"""Vectorized voxel dosimetry: geometry, Y-90 dose-voxel kernel, dose maps and metrics (numpy/scipy only)."""

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

__all__ = [
    "Volume",
    "resample_to",
    "dose_voxel_kernel",
    "absorbed_fraction_kernel",
    "HU_DENSITY_CURVE",
    "DENSITY_METHODS",
    "LUNG_METHODS",
    "with_nominal_density",
    "lung_kernel_dose",
    "density_from_hu",
    "activity_per_voxel",
    "local_deposition",
    "convolve_dose",
    "DVH",
    "RegionStats",
    "dvh",
    "region_stats",
    "bed",
    "mean_bed",
    "eud",
    "tumour_to_normal_ratio",
    "sampling_recovery",
    "sampled_mean_fraction",
]
