"""y90-dosimetry: planning and voxel dosimetry for Y-90 radioembolization.

Quantities are pint Quantities from :data:`dosimetry.units.ureg` (``Q_``). The main job's entry
points are importable from here:

>>> import dosimetry as y90
>>> pf = y90.load_patient("patient.toml")            # validated inputs      # doctest: +SKIP
>>> plan = y90.plan_patient(pf)                      # prescription, vial    # doctest: +SKIP
>>> case = y90.assess(plan)                          # one verdict           # doctest: +SKIP
>>> case.status, case.headline()                                             # doctest: +SKIP
>>> case = y90.run_case(pf)                          # plan + voxel + verdict # doctest: +SKIP
>>> report = y90.render_report(case)                 # PDF / JSON / text     # doctest: +SKIP

- :func:`load_patient` reads a patient TOML file (docs/patient-file.md);
- :func:`plan_patient` plans it; :mod:`dosimetry.planning` has the models themselves;
- :func:`load_imaging` reads DICOM images and ROIs, :func:`voxel_dose` computes the dose over
  in-memory Volumes, :func:`compute_dose` does both;
- :func:`assess` gives one :class:`CaseResult` over every safety check of a plan and/or a voxel
  dosimetry; :func:`run_case` does the whole job for a patient file;
- :func:`render_report` renders a CaseResult, :func:`write_report` writes its files.
- :func:`run_cohort` runs many cases (patient files or manifest rows) into two tables (docs/cohort.md).

The job's entry points are loaded on first use, so ``import dosimetry`` stays light.
"""

from __future__ import annotations

from .errors import InputError
from .lazy import lazy_names
from .units import Q_, ureg

__version__ = "0.1.0"

_LAZY = {
    "load_patient": "io.patient",
    "plan_patient": "workflow",
    "compare_devices": "workflow",
    "load_imaging": "workflow",
    "voxel_dose": "workflow",
    "compute_dose": "workflow",
    "assess": "workflow",
    "run_case": "workflow",
    "CaseResult": "workflow",
    "run_cohort": "workflow.cohort",
    "render_report": "report.build",
    "write_report": "report.build",
}

__all__ = ["InputError", "Q_", "ureg", "__version__", *_LAZY]


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
