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

from .assess import BLOCKED, WITHIN_LIMITS, CaseResult, assess
from .case import PlanInputs, compare_case, input_digests, input_paths, plan_case, plan_inputs, run_case, run_voxel_case
from .inputs import InputSource, resolve_inputs
from .session import SessionResult, plan_session
from .plan import METHOD_NAMES, PatientPlan, compare_devices, plan_patient
from .voxel import BED_PARAMETERS, ImagingInputs, RegionResult, VoxelResult, compute_dose, load_imaging, voxel_dose

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
