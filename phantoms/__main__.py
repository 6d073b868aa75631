"""Command line: ``python -m phantoms OUT_DIR [--modality NM|PT] [--size small|ct] ...``.

Writes one phantom patient (see :func:`phantoms.make_patient`) and prints a short summary; with
``--post-treatment PT|NM`` writes instead the post-treatment study of the patient that the other
flags describe (:func:`phantoms.make_post_treatment`). Exit status 0 on success, 2 on invalid
input (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys

from dosimetry.errors import InputError

from .patient import make_patient
from .post import DEFAULT_LUNG_SHUNT_CHANGE, DEFAULT_RESIDUAL_FRACTION, make_post_treatment
from .pose import DEFAULT_POST_TRANSFORM


def _triple(text: str) -> tuple:
    """'x,y,z' -> three floats (argparse type)."""
    try:
        vals = tuple(float(v) for v in text.split(","))
    except ValueError:
        vals = ()
    if len(vals) != 3:
        raise argparse.ArgumentTypeError(f"{text!r}: expected three numbers separated by commas, e.g. 12,-9,-15")
    return vals


def _factor(text: str) -> tuple:
    """'Tumour 2=0.5' -> ('Tumour 2', 0.5) (argparse type)."""
    name, sep, value = text.rpartition("=")
    try:
        if sep and name.strip():
            return name.strip(), float(value)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=FACTOR, e.g. 'Tumour 2=0.5'")


def _post_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("post-treatment study (the patient described by the other flags, after treatment)")
    g.add_argument("--post-treatment", choices=["PT", "NM"], default=None,
                   help="write the post-treatment Y-90 PET (PT) or bremsstrahlung SPECT (NM) instead of the planning study; "
                        "--delay, --fwhm-mm and --noise then describe that image")
    g.add_argument("--residual-fraction", default=None, help=f"activity not delivered (default {DEFAULT_RESIDUAL_FRACTION:g})")
    g.add_argument("--lung-shunt-change", type=float, default=DEFAULT_LUNG_SHUNT_CHANGE,
                   help=f"delivered minus planned lung shunt fraction (default {DEFAULT_LUNG_SHUNT_CHANGE:g})")
    g.add_argument("--tumour-ratio-factor", type=_factor, action="append", default=None, metavar="NAME=FACTOR",
                   help="delivered / planned tumour-to-normal ratio, repeatable (default 'Tumour 2=0.5')")
    t = DEFAULT_POST_TRANSFORM
    g.add_argument("--rotation-deg", type=float, default=t.rotation_deg, help=f"rotation angle (default {t.rotation_deg:g})")
    g.add_argument("--rotation-axis", type=_triple, default=None, help="rotation axis x,y,z (default 0.3,0,1)")
    g.add_argument("--translation-mm", type=_triple, default=t.translation_mm, help="translation x,y,z in mm (default 12,-9,-15)")


def _write(a, lsf):
    """Write the planning study, or its post-treatment study with --post-treatment."""
    patient = dict(modality=a.modality, size=a.size, seed=a.seed, tumours=a.tumours, lung_shunt_fraction=lsf,
                   administered=a.administered, patient_id=a.patient_id, radionuclide=a.radionuclide,
                   tracer_activity=a.tracer_activity, contrast=a.contrast)
    image = dict(acquisition_delay=a.delay, fwhm_mm=a.fwhm_mm, noise=a.noise)
    if a.post_treatment is None:
        return make_patient(a.out_dir, **patient, **image)
    post = dict(modality=a.post_treatment, lung_shunt_change=a.lung_shunt_change,
                transform={"rotation_deg": a.rotation_deg, "rotation_axis": a.rotation_axis or DEFAULT_POST_TRANSFORM.rotation_axis,
                           "translation_mm": a.translation_mm})
    if a.residual_fraction is not None:
        post["residual_fraction"] = a.residual_fraction
    if a.tumour_ratio_factor is not None:
        post["tumour_ratio_factors"] = dict(a.tumour_ratio_factor)
    return make_post_treatment(a.out_dir, planning=patient, **post, **image)


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
    _post_arguments(p)
    a = p.parse_args(argv)
    try:
        lsf = a.lung_shunt_fraction
        try:
            lsf = float(lsf)
        except ValueError:
            pass
        truth = _write(a, lsf)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    kind = "post-treatment " if truth.post_treatment is not None else ""
    print(f"wrote {a.out_dir}: {truth.modality} {kind}phantom, patient {truth.patient_id}")
    for name, r in truth.regions.items():
        dose = f"{r.mean_dose.to('Gy').magnitude:8.2f} Gy" if r.mean_dose is not None else "       -   "
        print(f"  {name:<13} {r.volume.to('mL').magnitude:9.1f} mL  {r.activity.to('GBq').magnitude:7.4f} GBq  {dose}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
