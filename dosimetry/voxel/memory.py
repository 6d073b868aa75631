"""The memory a dose computation takes, estimated before it starts (one function, kept up to date).

:func:`dose_memory_estimate` is what :func:`dosimetry.io.bounds.check_dose_memory` compares with
the bound of ``dosimetry.io.bounds.BOUNDS["dose_memory"]``: a computation that would exhaust the
machine is refused with the figure, before any mask or dose array is allocated. When the
computation's footprint changes (issue 22), the coefficients below are measured again and
updated here, nowhere else.

Measured (tracemalloc, ``benchmarks/`` style, the default NM phantom: 80 x 128 x 128 activity
grid, CT 64 x 128 x 128, 5 ROIs): reading and putting the ROIs on the grid peaks at 58-66 bytes
per activity voxel, the dose (local deposition or kernel) at 76-94 bytes including what loading
holds; each ROI adds about 8 bytes per activity voxel (a float32 fraction and a float64 weight
in the statistics); the CT adds its own array and a density temporary. The issue's 512 x 512 x
600 local-deposition case died at 13.7 GB, 87 bytes per voxel.
"""

from __future__ import annotations

import numpy as np

__all__ = ["dose_memory_estimate", "BYTES_PER_ACTIVITY_VOXEL", "BYTES_PER_ROI_VOXEL", "BYTES_PER_CT_VOXEL"]

#: Bytes per activity-grid voxel without ROIs: activity (float64), density and dose maps, the
#: kernel's padded FFT work arrays and temporaries (measured: 60-78, rounded up).
BYTES_PER_ACTIVITY_VOXEL = 64
#: Bytes per activity-grid voxel and ROI: its fraction mask (float32) and a float64 weight.
BYTES_PER_ROI_VOXEL = 8
#: Bytes per CT voxel: the HU array (float64) and the density computed from it.
BYTES_PER_CT_VOXEL = 16


def dose_memory_estimate(activity_shape, *, ct_shape=None, n_rois: int = 1) -> int:
    """Estimated peak memory [bytes] of reading the ROIs onto an activity grid and computing its dose.

    Parameters
    ----------
    activity_shape : sequence of int
        Voxels of the activity image per axis.
    ct_shape : sequence of int, optional
        Voxels of the CT per axis (None: no CT).
    n_rois : int
        ROIs put on the activity grid (liver parts, tumours, lungs, perfused territory).
    """
    n_act = int(np.prod(np.asarray(activity_shape, dtype=np.int64)))
    n_ct = 0 if ct_shape is None else int(np.prod(np.asarray(ct_shape, dtype=np.int64)))
    return n_act * (BYTES_PER_ACTIVITY_VOXEL + BYTES_PER_ROI_VOXEL * max(int(n_rois), 1)) + n_ct * BYTES_PER_CT_VOXEL
