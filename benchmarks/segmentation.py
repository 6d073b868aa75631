"""Segmentation benchmarks: a CT-sized Slicer .seg.nrrd onto the SPECT grid, against the RTSTRUCT path.

Run: ``python benchmarks/segmentation.py [--repeat 3]``

The phantom ``make_arrays(size="ct")`` (512 x 512 x 300 CT, 80 x 128 x 128 SPECT at 4.42 mm) is
written as a two-layer .seg.nrrd (liver; tumours and lungs) on the CT grid. Timed (best of
``--repeat``): reading the .seg.nrrd, the occupancy fractions of the five segments on the SPECT
grid (exact box overlap), and for comparison ``read_rtstruct`` + fractional ``rasterize_roi`` of
the same ROIs from the phantom's RTSTRUCT. Target: a segmentation on the dose grid in under 5 s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "io"))

import phantoms  # noqa: E402
from phantoms.anatomy import LABEL_LUNG_L, LABEL_LUNG_R, LABEL_NORMAL_LIVER, LABEL_TUMOUR_BASE  # noqa: E402
from seg_factory import write_seg_nrrd  # noqa: E402
from dosimetry.io import load_series, rasterize_roi, read_rtstruct  # noqa: E402
from dosimetry.io.segmentation import read_segmentation  # noqa: E402

NAMES = ("Liver", "Tumour 1", "Tumour 2", "Lung L", "Lung R")


def best(f, n):
    out, t = None, []
    for _ in range(n):
        t0 = time.perf_counter()
        out = f()
        t.append(time.perf_counter() - t0)
    return min(t), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        phantoms.make_patient(d / "p", size="ct", seed=1)
        arrays = phantoms.make_arrays(size="ct", seed=1)
        lab = np.asarray(arrays.labels_ct.array)
        liver = np.isin(lab, [LABEL_NORMAL_LIVER, LABEL_TUMOUR_BASE + 1, LABEL_TUMOUR_BASE + 2])
        parts = [(n, lab == v) for n, v in (("Tumour 1", LABEL_TUMOUR_BASE + 1), ("Tumour 2", LABEL_TUMOUR_BASE + 2), ("Lung L", LABEL_LUNG_L), ("Lung R", LABEL_LUNG_R))]
        write_seg_nrrd(d / "ct.seg.nrrd", [[("Liver", liver)], parts], arrays.labels_ct, space="LPS")
        nm = load_series(d / "p" / "nm").volume
        print(f"CT grid {lab.shape}, SPECT grid {nm.shape}; .seg.nrrd {(d / 'ct.seg.nrrd').stat().st_size / 1e6:.1f} MB (gzip)")
        t_read, seg = best(lambda: read_segmentation(d / "ct.seg.nrrd"), a.repeat)
        t_frac, (masks, _) = best(lambda: seg.masks(NAMES, nm), a.repeat)
        t_rs, rs = best(lambda: read_rtstruct(d / "p" / "rtstruct.dcm"), a.repeat)
        t_ras, rmasks = best(lambda: {n: rasterize_roi(rs.roi(n), nm, fractional=True) for n in NAMES}, a.repeat)
        print(f"read .seg.nrrd {t_read:.2f} s; fractions of 5 segments on the SPECT grid {t_frac:.2f} s")
        print(f"read_rtstruct {t_rs:.2f} s; fractional rasterize_roi of the same 5 ROIs {t_ras:.2f} s")
        v = nm.voxel_volume.magnitude
        for n in NAMES:
            print(f"  {n:9s} seg.nrrd {float(np.sum(masks[n].array)) * v:8.2f} mL   RTSTRUCT {float(np.sum(rmasks[n].array)) * v:8.2f} mL")


if __name__ == "__main__":
    main()
