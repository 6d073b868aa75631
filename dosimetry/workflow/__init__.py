"""The main job: patient file -> plan -> voxel dosimetry -> one assessment.

- :mod:`.plan` the plan and its vial and timing (:func:`plan_patient`, :func:`compare_devices`);
- :mod:`.voxel` the voxel dosimetry: :func:`load_imaging` reads files, :func:`voxel_dose` computes
  over in-memory Volumes and masks;
- :mod:`.assess` one verdict over every safety check (:func:`assess` -> :class:`CaseResult`);
- :mod:`.inputs` plan inputs typed or measured on the planning images (:func:`resolve_inputs`);
- :mod:`.case` the whole job for one patient file (:func:`run_case`; :func:`plan_case`, the same
  assessment for ``y90 plan``, which writes no files), and the same reading and voxel dosimetry
  assessed without a plan (:func:`run_voxel_case`, ``y90 dose``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_names

# assess first and at once: its function has the name of its module, which importing the module later
# would set on this package (the module, not the function)
from .assess import BLOCKED, WITHIN_LIMITS, CaseResult, assess

if TYPE_CHECKING:  # the names as type checkers see them; _LAZY below loads the same at run time
    from .case import PlanInputs, compare_case, input_digests, input_paths, plan_case, plan_inputs, run_case, run_voxel_case
    from .inputs import InputSource, resolve_inputs
    from .plan import METHOD_NAMES, PatientPlan, compare_devices, plan_patient
    from .session import SessionResult, plan_session
    from .voxel import BED_PARAMETERS, ImagingInputs, RegionResult, VoxelResult, compute_dose, load_imaging, voxel_dose

#: Each public name and the submodule that holds it, loaded on first use (issue 22: ``y90 plan`` on a
#: patient file without images imports neither pydicom nor scipy's FFT and ndimage).
_LAZY = {
    "PlanInputs": "case", "compare_case": "case", "input_digests": "case", "input_paths": "case", "plan_case": "case",
    "plan_inputs": "case", "run_case": "case", "run_voxel_case": "case",
    "InputSource": "inputs", "resolve_inputs": "inputs",
    "METHOD_NAMES": "plan", "PatientPlan": "plan", "compare_devices": "plan", "plan_patient": "plan",
    "SessionResult": "session", "plan_session": "session",
    "BED_PARAMETERS": "voxel", "ImagingInputs": "voxel", "RegionResult": "voxel", "VoxelResult": "voxel", "compute_dose": "voxel",
    "load_imaging": "voxel", "voxel_dose": "voxel",
}


if not TYPE_CHECKING:  # type checkers see the imports above, and refuse a misspelt name
    __getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())


__all__ = [
    "PatientPlan",
    "plan_patient",
    "compare_devices",
    "METHOD_NAMES",
    "ImagingInputs",
    "RegionResult",
    "VoxelResult",
    "load_imaging",
    "voxel_dose",
    "compute_dose",
    "BED_PARAMETERS",
    "CaseResult",
    "assess",
    "run_case",
    "run_voxel_case",
    "plan_case",
    "compare_case",
    "plan_inputs",
    "PlanInputs",
    "InputSource",
    "resolve_inputs",
    "input_digests",
    "input_paths",
    "SessionResult",
    "plan_session",
    "WITHIN_LIMITS",
    "BLOCKED",
]
