"""``y90 dvh``: per-ROI dose figures of a dose map that ``y90 dose`` wrote (RT Dose, NRRD, NIfTI)."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .flags import FlagNames, subcommand, text_output
from .output import EXIT_OK, emit, json_doc

#: ``y90 dvh``: an InputError naming one of these library fields is re-raised naming the command's flag.
DVH_FLAGS = {"dose": "--dose", "dose_unit": "--dose-unit", "segmentation": "--segmentation", "imaging.labels": "--labels", "labels": "--labels"}


def add_parser(sub) -> None:
    dv = subcommand(
        sub, "dvh", help="per-ROI dose figures of a dose map (RT Dose, NRRD or NIfTI)",
        description="Per-ROI dose figures (mean, D95, V100 ...) of an RT Dose file.",
        examples=["y90 dvh --dose rtdose.dcm --rtstruct rs.dcm", "y90 dvh --dose rtdose.dcm --rtstruct rs.dcm --format json -o -"],
        codes="plain",
    )
    dv.add_argument("--dose", required=True, help="dose map written by y90 dose: RT Dose (rtdose.dcm), NRRD (dose.nrrd) or NIfTI (dose.nii.gz)")
    dv.add_argument("--segmentation", "--rtstruct", dest="segmentation", required=True,
                    help="RT Structure Set, DICOM SEG, Slicer .seg.nrrd, or a label map (NRRD / NIfTI, with --labels)")
    dv.add_argument("--labels", help="name table of a label map: 'value name [r g b a]' lines (Slicer colour table) or a JSON object")
    dv.add_argument("--dose-unit", help="unit of an NRRD / NIfTI dose map that does not state it: Gy, cGy or mGy (y90 dose writes Gy and says so)")
    dv.add_argument("--roi", action="append", help="ROI name (repeat; default every ROI on the dose grid)")
    dv.add_argument("--allow-mismatch", action="store_true", help="accept a segmentation of another patient / study / frame of reference")
    text_output(dv)
    dv.set_defaults(func=run)


def run(args) -> int:
    """Per-ROI figures of a dose map that ``y90 dose`` wrote (RT Dose, NRRD, NIfTI), on any segmentation
    it reads (RTSTRUCT, DICOM SEG, .seg.nrrd, label map with --labels): the ROIs are put on the dose
    grid as ``y90 dose`` puts them on the activity grid (partial-volume fractions), so the figures agree."""
    from ..io.dosemap import read_dose_map
    from ..io.segmentation import read_segmentation
    from ..report.regions import region_json, regions_text

    for flag, path in (("--dose", args.dose), ("--segmentation", args.segmentation)):
        if Path(path).is_dir():
            raise InputError(flag, f"{path} is a folder; expected a file ({'a dose map' if flag == '--dose' else 'a segmentation'})")
    with FlagNames(DVH_FLAGS):
        dm = read_dose_map(args.dose, unit=args.dose_unit)
        seg = read_segmentation(args.segmentation, labels=args.labels)
    notes = _identity_notes(dm, seg, args.allow_mismatch)
    stats, skipped = _region_stats(dm.volume, seg, args.roi, notes)
    if args.format == "json":
        text = json_doc({n: dict(region_json(s), name=n) for n, s in stats.items()})
    else:
        text = regions_text(stats) + "".join(f"\nskipped {s}" for s in skipped) + "".join(f"\nWarning: {n}" for n in dict.fromkeys(notes))
    emit(text, args.output, inputs=[args.dose, args.segmentation] + ([args.labels] if args.labels else []), force=args.force)
    return EXIT_OK


def _identity_notes(dm, seg, allow_mismatch: bool) -> list[str]:
    """The readers' notes, and whether the dose map and the segmentation are of one patient and space."""
    from ..io import check_consistency

    notes = list(dm.warnings) + list(seg.warnings)
    if dm.identity is not None and seg.identity is not None:
        notes += list(check_consistency(dm.identity, seg.identity, allow_mismatch=allow_mismatch))
    else:
        notes.append("the dose map or the segmentation carries no patient or frame-of-reference identifiers: they are taken to be of one patient, in one patient space")
    return notes


def _region_stats(dose, seg, rois, notes) -> tuple[dict, list[str]]:
    """Figures of each ROI asked for (refused when one cannot be put on the dose grid), or of every ROI
    of the segmentation (those that cannot are skipped, saying why)."""
    from ..voxel import region_stats
    from ..workflow.voxel import roi_masks_on

    stats, skipped = {}, []
    for n in rois or list(seg.names):
        try:
            mask = roi_masks_on(seg, [n], dose, notes)[n]
        except InputError as exc:
            if rois:  # asked for by name: refuse
                raise
            skipped.append(f"{n}: {exc.message}")
            continue
        stats[n] = region_stats(dose, mask)
    return stats, skipped
