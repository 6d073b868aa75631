"""voxel.placement: the counts must sit where the ROIs say (issue 26, orientation that cannot silently mirror).

A digital patient on a 4 mm grid centred on the scanner axis: a liver box on the patient's right
(LPS x < 0), two lung boxes above it, 85 % of the counts in the liver, 5 % in the lungs, 10 %
spread over the body (36 % of the grid). Shares are worked out by hand from those numbers.
"""

import numpy as np
import pytest

from dosimetry.errors import InputError
from dosimetry.voxel import Volume
from dosimetry.voxel.placement import check_activity_placement

SHAPE = (30, 60, 40)  # k (z), j (y), i (x)
SPACING = (4.0, 4.0, 4.0)
ORIGIN = (-78.0, -118.0, -58.0)  # voxel centres from -78 to +78 mm in x, -118 to +118 in y: centred on the axis


def _grid(arr):
    return Volume(np.asarray(arr, np.float64), SPACING, ORIGIN)


def _masks():
    liver = np.zeros(SHAPE)
    liver[5:15, 22:38, 4:16] = 1.0  # x from -62 to -18 mm: the patient's right
    lung_r = np.zeros(SHAPE)
    lung_r[18:27, 22:38, 4:16] = 1.0
    lung_l = np.zeros(SHAPE)
    lung_l[18:27, 22:38, 24:36] = 1.0
    body = np.zeros(SHAPE, bool)
    body[:, 18:42, 2:38] = True  # 24 x 36 of 60 x 40 voxels: 36 % of the grid
    return liver, lung_r, lung_l, body


def _activity(liver, lung_r, lung_l, body):
    a = np.zeros(SHAPE)
    a[liver > 0] = 0.85 / liver.sum()
    a[(lung_r + lung_l) > 0] = 0.05 / (lung_r + lung_l).sum()
    rest = body & (liver + lung_r + lung_l == 0)
    a[rest] = 0.10 / rest.sum()
    return a * 1e6


def _check(act, liver, lung_r, lung_l, ct=None):
    return check_activity_placement(_grid(act), _grid(liver), {"Lung R": _grid(lung_r), "Lung L": _grid(lung_l)}, ct)


def test_counts_where_the_rois_are_pass_silently():
    liver, lr, ll, body = _masks()
    ct = _grid(np.where(body, 40.0, -1000.0))
    assert _check(_activity(liver, lr, ll, body), liver, lr, ll, ct) == []


def test_an_image_read_with_x_and_y_mirrored_is_refused():
    # the header says RAS, the numbers are LPS: every voxel lands at (-x, -y, z); on this axis-centred
    # grid that is the array reversed in i and j. As read, the liver ROI holds the background of the
    # patient's left: 10 % of the counts over the 20544 body voxels outside the ROIs, 1920 of them in
    # the ROI: 0.10 x 1920 / 20544 = 0.9 %; read right, 85 %.
    liver, lr, ll, body = _masks()
    act = _activity(liver, lr, ll, body)[:, ::-1, ::-1]
    with pytest.raises(InputError, match=r"^imaging.activity: 1% of the activity image's counts lie in the liver ROI as read, 85% if the image is read with x and y mirrored"):
        _check(act, liver, lr, ll)


def test_an_array_stored_the_other_way_round_is_refused():
    liver, lr, ll, body = _masks()
    act = _activity(liver, lr, ll, body)[::-1]  # slices in the reverse order, header unchanged
    with pytest.raises(InputError, match=r"85% if the image is read with its slice \(k\) axis reversed"):
        _check(act, liver, lr, ll)


def test_counts_mostly_outside_the_rois_give_a_warning_and_outside_the_body_another():
    liver, lr, ll, body = _masks()
    act = np.ones(SHAPE)  # flat: no frame fits better than another
    share = (liver + lr + ll).sum() / act.size
    notes = _check(act, liver, lr, ll, _grid(np.where(body, 40.0, -1000.0)))
    assert notes[0].startswith(f"only {share:.0%} of the activity image's counts lie in the liver and lung ROIs")
    assert notes[1].startswith(f"only {body.sum() / act.size:.0%} of the activity image's counts lie inside the body on the CT")


def test_a_ct_elsewhere_gives_the_body_warning():
    liver, lr, ll, body = _masks()
    ct = Volume(np.where(body, 40.0, -1000.0), SPACING, (ORIGIN[0] + 500.0, ORIGIN[1], ORIGIN[2]))  # 50 cm away
    notes = _check(_activity(liver, lr, ll, body), liver, lr, ll, ct)
    assert len(notes) == 1 and "inside the body on the CT" in notes[0]
