"""Command line: ``python -m phantoms OUT_DIR [--modality NM|PT] [--size small|ct] ...``.

Writes one phantom patient (see :func:`phantoms.make_patient`) and prints a short summary.
Exit status 0 on success, 2 on invalid input (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys

from dosimetry.errors import InputError

from .patient import make_patient


def main(argv=None) -> int:
    """Parse arguments, write the phantom, print the truth summary; return the exit status."""
    p = argparse.ArgumentParser(prog="python -m phantoms", description="Write a digital phantom patient (Y-90 or Tc-99m MAA image) as DICOM.")
    p.add_argument("out_dir", help="folder to create (must not exist, or be empty)")
    p.add_argument("--modality", default="NM", choices=["NM", "PT"], help="emission image (default NM)")
    p.add_argument("--radionuclide", default="Y-90", choices=["Y-90", "Tc-99m"],
                   help="imaged radionuclide: Y-90 (verification) or Tc-99m MAA SPECT (planning); default Y-90")
    p.add_argument("--tracer-activity", default=None, help="Tc-99m MAA injected (default '150 MBq')")
    p.add_argument("--size", default="small", choices=["small", "ct"], help="CT grid (default small)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tumours", type=int, default=2, help="number of preset tumours, 0-4 (default 2)")
    p.add_argument("--lung-shunt-fraction", default="0.08", help="e.g. 0.08 or '8 %%'")
    p.add_argument("--administered", default="2 GBq", help="Y-90 activity at administration (default '2 GBq')")
    p.add_argument("--delay", default=None, help="acquisition start after administration (default '20 h' Y-90, '1 h' Tc-99m)")
    p.add_argument("--fwhm-mm", type=float, default=None, help="resolution FWHM in mm (default 15 Y-90 NM, 6 PT, 10 Tc-99m NM; 0 = none)")
    p.add_argument("--noise", action="store_true", help="add seeded Poisson noise")
    p.add_argument("--contrast", action="store_true", help="contrast-enhanced CT (liver 120 HU)")
    p.add_argument("--patient-id", default="PHANTOM-001")
    a = p.parse_args(argv)
    try:
        lsf = a.lung_shunt_fraction
        try:
            lsf = float(lsf)
        except ValueError:
            pass
        truth = make_patient(
            a.out_dir, modality=a.modality, size=a.size, seed=a.seed, tumours=a.tumours, lung_shunt_fraction=lsf,
            administered=a.administered, acquisition_delay=a.delay, fwhm_mm=a.fwhm_mm, noise=a.noise,
            patient_id=a.patient_id, radionuclide=a.radionuclide, tracer_activity=a.tracer_activity, contrast=a.contrast,
        )
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {a.out_dir}: {truth.modality} phantom, patient {truth.patient_id}")
    for name, r in truth.regions.items():
        dose = f"{r.mean_dose.to('Gy').magnitude:8.2f} Gy" if r.mean_dose is not None else "       -   "
        print(f"  {name:<13} {r.volume.to('mL').magnitude:9.1f} mL  {r.activity.to('GBq').magnitude:7.4f} GBq  {dose}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
