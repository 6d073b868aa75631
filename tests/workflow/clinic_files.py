"""A lobar MAA SPECT, a CT, a Y-90 PET and a Slicer segmentation, written as a clinic's files are (issue 18).

Shaped like real exports, with every number chosen so that the figures can be computed by hand:

* grid 5 mm (voxel 0.125 mL), axial: axis 0 = slices along +z, axis 1 = rows along +y, axis 2 =
  columns along +x (LPS), origin 0;
* **liver** (Slicer name ``"liver"``): z 5:25, y 10:30, x 5:35 = 12000 voxels = 1500 mL;
* **perfused territory** (``"perfused volume"``, the right lobe of a lobar MAA): x 5:25 = 8000
  voxels = 1000 mL; the other lobe (x 25:35, 4000 voxels, 500 mL) receives no MAA;
* **tumours** (``"tumor 1"``, ``"tumor 2"``) in the perfused lobe: 150 voxels (18.75 mL) and 144
  voxels (18 mL); perfused normal liver 8000 - 294 = 7706 voxels (963.25 mL), whole normal liver
  12000 - 294 = 11706 voxels;
* **lungs** (``"lung left"``, ``"lung right"``): z 32:52, y 6:34, x 3:19 and x 21:37, 8960 voxels
  (1120 mL) each, on the CT (54 slices) at -750 HU; the MAA SPECT covers z 0:30 only (its field
  of view misses the lungs) unless ``lungs_in_view``;
* **MAA SPECT** as int16 counts: 100 cts per voxel in the perfused normal liver, 441 and 372 in
  the tumours (tumour-to-normal 4.41 and 3.72 against the perfused normal liver), 0 in the other
  lobe and the body, 8 cts in the lungs when in view; three body voxels hold -1, -2 and -1 cts
  (reconstruction noise: 3 of 48000 voxels, 4 cts of 890318 = 0.00045 % of the counts);
* against the whole normal liver the same counts give 441 / (100 x 7706 / 11706) = 6.70 and
  372 / 65.83 = 5.65 (the issue's numbers);
* **CT** int16 HU: air -1000 outside the body, 40 HU body, 60 HU liver, -750 HU lungs;
* **Y-90 PET** float64 Bq/mL: 2.0e6 in the perfused normal liver, 2.0e7 in tumor 1 (ratio 10),
  8.0e6 in tumor 2 (ratio 4), 0 elsewhere in the body, NaN outside the body (a masked
  reconstruction), two body voxels at -3e3 Bq/mL.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nrrd
import numpy as np

from dosimetry.voxel import Volume

sys.path.insert(0, str(Path(__file__).parents[1] / "io"))
from seg_factory import _fast_first, _steps_lps, write_seg_nrrd  # noqa: E402

SPACING = 5.0
VOXEL_ML = 0.125
SHAPE_CT = (54, 40, 40)
SHAPE_SPECT = (30, 40, 40)
BODY = (slice(None), slice(4, 36), slice(2, 38))
LIVER = (slice(5, 25), slice(10, 30), slice(5, 35))
PERFUSED = (slice(5, 25), slice(10, 30), slice(5, 25))
TUMOURS = {"tumor 1": (slice(8, 13), slice(13, 18), slice(8, 14)), "tumor 2": (slice(15, 19), slice(20, 26), slice(15, 21))}
LUNGS = {"lung left": (slice(32, 52), slice(6, 34), slice(3, 19)), "lung right": (slice(32, 52), slice(6, 34), slice(21, 37))}
NOISE = {(2, 5, 3): -1, (27, 33, 36): -2, (29, 6, 30): -1}  # body voxels outside every ROI

COUNTS = {"normal": 100, "tumor 1": 441, "tumor 2": 372, "lung": 8}
PET = {"normal": 2.0e6, "tumor 1": 2.0e7, "tumor 2": 8.0e6}


#: Volume direction of an axial grid: columns are the patient directions of axes 0 (z), 1 (y), 2 (x).
AXIAL = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


def grid(shape) -> Volume:
    return Volume(np.zeros(shape, np.float32), (SPACING,) * 3, (0.0, 0.0, 0.0), AXIAL)


def write_dicom_nm(path, counts: np.ndarray, ids=None) -> Path:
    """A Tc-99m MAA SPECT as an NM RECON TOMO multi-frame file with signed int16 counts (as
    reconstructions with scatter subtraction write them): PixelRepresentation 1, RescaleSlope 1."""
    import pydicom

    from dicom_factory import write_nm

    p = write_nm(path, np.zeros(counts.shape, np.uint16), spacing=(SPACING,) * 3, origin=(0.0, 0.0, 0.0), slope=1.0, ids=ids)
    ds = pydicom.dcmread(p)
    ds.PixelRepresentation = 1
    ds.PixelData = np.asarray(counts, "<i2").tobytes()
    ds.save_as(p, enforce_file_format=True)
    return p


def masks(shape=SHAPE_CT) -> dict:
    """Boolean masks [k, j, i] of every segment on a grid of ``shape`` (starting at slice 0)."""
    out = {}
    for name, box in [("liver", LIVER), ("perfused volume", PERFUSED), *TUMOURS.items(), *LUNGS.items()]:
        m = np.zeros(SHAPE_CT, bool)
        m[box] = True
        out[name] = m[: shape[0]]
    return out


def write_image(path, array, shape, dtype) -> Path:
    """An NRRD image as Slicer writes one (space LPS, ``space directions``, gzip), values in ``dtype``."""
    header = {"space": "left-posterior-superior", "space directions": _steps_lps(grid(shape)), "space origin": np.zeros(3),
              "kinds": ["domain"] * 3, "encoding": "gzip"}
    nrrd.write(str(path), _fast_first(np.asarray(array).astype(dtype)), header, index_order="F")
    return Path(path)


def maa_counts(lungs_in_view: bool = False) -> np.ndarray:
    shape = SHAPE_CT if lungs_in_view else SHAPE_SPECT
    m = masks(shape)
    a = np.zeros(shape, np.int16)
    a[m["perfused volume"]] = COUNTS["normal"]
    for n in TUMOURS:
        a[m[n]] = COUNTS[n]
    if lungs_in_view:
        for n in LUNGS:
            a[m[n]] = COUNTS["lung"]
    for idx, v in NOISE.items():
        a[idx] = v
    return a


def ct_hu() -> np.ndarray:
    m = masks()
    a = np.full(SHAPE_CT, -1000, np.int16)
    a[BODY] = 40
    a[m["liver"]] = 60
    for n in LUNGS:
        a[m[n]] = -750
    return a


def pet_bqml() -> np.ndarray:
    m = masks(SHAPE_SPECT)
    a = np.full(SHAPE_SPECT, np.nan)
    a[BODY] = 0.0
    a[m["perfused volume"]] = PET["normal"]
    for n in TUMOURS:
        a[m[n]] = PET[n]
    a[2, 5, 3] = a[27, 33, 36] = -3.0e3
    return a


def write_segmentation(path, names=None) -> Path:
    """The Slicer ``.seg.nrrd`` on the CT grid: liver and perfused volume on layers of their own
    (they overlap the tumours), tumours and lungs on a third layer."""
    m = masks()
    names = names or {}
    rename = lambda n: names.get(n, n)  # noqa: E731
    layers = [[(rename("liver"), m["liver"])], [(rename("perfused volume"), m["perfused volume"])],
              [(rename(n), m[n]) for n in (*TUMOURS, *LUNGS)]]
    write_seg_nrrd(path, layers, grid(SHAPE_CT))
    return Path(path)


def write_clinic(folder, lungs_in_view: bool = False) -> Path:
    """spect.nrrd (int16 counts), ct.nrrd (int16 HU), pet.nrrd (float64 Bq/mL), rois.seg.nrrd."""
    d = Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    spect = maa_counts(lungs_in_view)
    write_image(d / "spect.nrrd", spect, spect.shape, np.int16)
    write_image(d / "ct.nrrd", ct_hu(), SHAPE_CT, np.int16)
    write_image(d / "pet.nrrd", pet_bqml(), SHAPE_SPECT, np.float64)
    write_segmentation(d / "rois.seg.nrrd")
    return d
