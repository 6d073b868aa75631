"""Rigid motion of the phantom patient between the planning and the post-treatment study.

Convention (the one written to truth.json): a point with planning patient coordinates ``p``
(DICOM LPS, mm, in the planning study's FrameOfReferenceUID) has post-treatment patient
coordinates ``p' = R p + t`` (in the post-treatment study's FrameOfReferenceUID), i.e. in
homogeneous column vectors ``[p'; 1] = M [p; 1]`` with the 4 x 4 matrix ``M = [[R, t], [0 0 0 1]]``.
``R`` turns by ``rotation_deg`` about the unit axis ``rotation_axis`` through the planning origin
(0, 0, 0), right-handed (counter-clockwise seen from the axis tip), by Rodrigues' formula
``R = cos(a) I + sin(a) [k]x + (1 - cos(a)) k k^T``; ``t`` is ``translation_mm``. Its inverse
maps post-treatment coordinates back to the planning ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["RigidTransform", "DEFAULT_POST_TRANSFORM"]


@dataclass(frozen=True)
class RigidTransform:
    """``p_post = R p_planning + t`` (module docstring for the convention).

    Parameters
    ----------
    rotation_deg : float
        Rotation angle [degrees], [0, 30].
    rotation_axis : tuple of 3 float
        Rotation axis through the planning origin (normalized on construction; any length > 0).
    translation_mm : tuple of 3 float
        Translation [mm], each component within +-100 mm.
    """

    rotation_deg: float
    rotation_axis: tuple
    translation_mm: tuple

    def __post_init__(self):
        angle = float(self.rotation_deg)
        axis = np.asarray(self.rotation_axis, dtype=float)
        t = np.asarray(self.translation_mm, dtype=float)
        if not (math.isfinite(angle) and 0.0 <= angle <= 30.0):
            raise ValueError(f"rotation_deg: {self.rotation_deg!r} is out of range; allowed [0, 30] degrees")
        if axis.shape != (3,) or not np.all(np.isfinite(axis)) or np.linalg.norm(axis) == 0:
            raise ValueError(f"rotation_axis: expected 3 finite values, not all zero, got {self.rotation_axis!r}")
        if t.shape != (3,) or not np.all(np.isfinite(t)) or np.any(np.abs(t) > 100.0):
            raise ValueError(f"translation_mm: expected 3 values within +-100 mm, got {self.translation_mm!r}")
        object.__setattr__(self, "rotation_deg", angle)
        object.__setattr__(self, "rotation_axis", tuple(float(v) for v in axis / np.linalg.norm(axis)))
        object.__setattr__(self, "translation_mm", tuple(float(v) for v in t))

    @property
    def rotation(self) -> np.ndarray:
        """R, 3 x 3 (Rodrigues' formula)."""
        k = np.asarray(self.rotation_axis)
        a = math.radians(self.rotation_deg)
        kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
        return math.cos(a) * np.eye(3) + math.sin(a) * kx + (1.0 - math.cos(a)) * np.outer(k, k)

    @property
    def matrix(self) -> np.ndarray:
        """M, 4 x 4: ``[p_post; 1] = M [p_planning; 1]``."""
        m = np.eye(4)
        m[:3, :3] = self.rotation
        m[:3, 3] = self.translation_mm
        return m

    def apply(self, points) -> np.ndarray:
        """Post-treatment coordinates of planning points, shape (3,) or (n, 3) [mm]."""
        p = np.asarray(points, dtype=float)
        return p @ self.rotation.T + np.asarray(self.translation_mm)

    def to_json(self) -> dict:
        """The transform as written to truth.json (matrix rows, and its parameters)."""
        return {
            "matrix": [[float(v) for v in row] for row in self.matrix],
            "convention": "[x_post, y_post, z_post, 1]^T = matrix @ [x_planning, y_planning, z_planning, 1]^T; "
                          "DICOM patient coordinates (LPS) in mm, planning frame of reference -> post-treatment frame of reference",
            "rotation_deg": self.rotation_deg,
            "rotation_axis": list(self.rotation_axis),
            "rotation_centre_mm": [0.0, 0.0, 0.0],
            "translation_mm": list(self.translation_mm),
        }


#: Default motion of the patient between the planning and the post-treatment scans: 4 degrees
#: about the axis (0.3, 0, 1) (mostly a roll about the cranio-caudal axis with some pitch), then
#: 12 mm to the patient's left, 9 mm anterior and 15 mm caudal. Chosen to be typical of
#: repositioning on another day (a few degrees, a few cm), and to keep liver and lungs inside the
#: scanned range of the phantom CT; an assumption, not a measured value.
DEFAULT_POST_TRANSFORM = RigidTransform(4.0, (0.3, 0.0, 1.0), (12.0, -9.0, -15.0))
