"""Issue 12: plan inputs measured on the planning images (Tc-99m MAA SPECT/CT phantom), typed or both.

Ground truth is the phantom's analytic truth.json (LSF 8 %, tumour-to-normal 4 and 6, volumes,
lung mass from the CT curve); tolerances are the issue's: LSF 0.5 percentage points, volumes 1 %,
lung mass 2 %. Tumour-to-normal: the phantom images like a camera (each voxel holds the volume
average of the activity, issue #25), so even unblurred its 4.42 mm voxels lower a 33.5 mL tumour's
ratio by sampling alone; the measurement (partial-volume fractions) is compared with the image's
own occupancy-weighted ratio (``tumour_to_normal_occupancy``, 3.75 for r = 4) within 2 %
(measured -0.6 %), tighter than the issue's 5 % against r, which sampling alone now exceeds (-6.7 %).
"""

import json
from dataclasses import replace

import pytest

import phantoms
from dosimetry.errors import InputError
from dosimetry.io.patient import IMAGE, parse_patient
from dosimetry.workflow import plan_case, plan_inputs, resolve_inputs, run_case
from dosimetry.workflow.case import read_images

TEXT = """
[patient]
id = "{pid}"
[treatment]
device = "glass"
method = "partition"
[clinical]
indication = "hcc"
extent = "whole_liver"
bilirubin = "0.8 mg/dL"
[lung]
shunt_fraction = 0.08
mass = "1 kg"
[liver]
volume = "1642 mL"
[target]
volume = "1642 mL"
tumour_dose = "205 Gy"
[[target.tumours]]
name = "Tumour 1"
volume = "33.5 mL"
tumour_to_normal = 4.0
[[target.tumours]]
name = "Tumour 2"
volume = "7.54 mL"
tumour_to_normal = 6.0
[imaging]
activity = "nm"
ct = "ct"
rtstruct = "rtstruct.dcm"
[imaging.rois]
liver = "Liver"
tumours = ["Tumour 1", "Tumour 2"]
lungs = ["Lung L", "Lung R"]
"""


@pytest.fixture(scope="module")
def maa(tmp_path_factory):
    out = tmp_path_factory.mktemp("maa") / "patient"
    truth = phantoms.make_patient(out, seed=3, radionuclide="Tc-99m", fwhm_mm=0)
    return out, json.loads((out / "truth.json").read_text())["plan_inputs"], truth.patient_id


@pytest.fixture(scope="module")
def images(maa, shared_read_only):
    """The planning images of TEXT's [imaging] table read once (``read_images``, CT masks as ``plan_inputs``
    reads them), for the tests whose claim is about what the plan does with the measurements, not about
    reading: they pass them as ``images=`` (the product's own reuse, e.g. ``y90 demo``), so the same
    images are not read again for each test. The tests about reading (identity, headers changed on disk,
    end to end from a patient file) read them themselves."""
    return shared_read_only(read_images(_pf(maa).imaging, ct_masks=True))  # read-only: no test changes them for the next


def _tn_image(maa, name):
    """The unblurred image's own occupancy-weighted tumour-to-normal ratio (truth.json)."""
    return json.loads((maa[0] / "truth.json").read_text())["regions"][name]["tumour_to_normal_occupancy"]


def _pf(maa, **images):
    out, _, pid = maa
    import tomllib

    pf = parse_patient(tomllib.loads(TEXT.format(pid=pid)), out)
    if images.get("all"):
        t = pf.target
        pf = replace(
            pf,
            lung=replace(pf.lung, shunt_fraction=IMAGE, mass=IMAGE),
            liver=replace(pf.liver, volume=IMAGE),
            target=replace(t, volume=IMAGE, mass=None, tumours=tuple(replace(x, volume=IMAGE, tumour_to_normal=IMAGE) for x in t.tumours)),
        )
    return pf


def test_image_inputs_are_measured_within_the_issue_tolerances(maa):
    _, truth, _ = maa
    pi = plan_inputs(_pf(maa, all=True))  # read here: the measurement from the files, not the shared images
    p = pi.patient
    assert p.lung.shunt_fraction == pytest.approx(truth["lung_shunt_fraction"], abs=0.005)
    assert p.lung.mass.to("kg").magnitude == pytest.approx(truth["lung_mass"]["value"], rel=0.02)
    assert p.liver.volume.to("mL").magnitude == pytest.approx(truth["whole_liver_volume"]["value"], rel=0.01)
    assert p.target.volume.to("mL").magnitude == pytest.approx(truth["perfused_volume"]["value"], rel=0.01)
    t1 = p.target.tumours[0]
    assert t1.tumour_to_normal == pytest.approx(_tn_image(maa, "Tumour 1"), rel=0.02)
    assert truth["tumour_to_normal"]["Tumour 1"] == 4.0
    assert t1.volume.to("mL").magnitude == pytest.approx(truth["tumour_volumes"]["Tumour 1"]["value"], rel=0.02)
    assert {s.used for s in pi.sources} == {"image"}
    assert {s.field for s in pi.sources} >= {"lung.shunt_fraction", "lung.mass", "target.tumours[2].tumour_to_normal"}


def test_the_plan_uses_the_image_values(maa, images):
    case = run_case(_pf(maa, all=True), images=images)
    p = case.plan.plan
    by = {s.field: s for s in case.inputs}
    assert p.lung_shunt_fraction == pytest.approx(by["lung.shunt_fraction"].value.magnitude)
    assert p.lung_mass.to("kg").magnitude == pytest.approx(by["lung.mass"].value.to("kg").magnitude)
    assert list(p.tumour_to_normal) == pytest.approx([by[f"target.tumours[{i}].tumour_to_normal"].value.magnitude for i in (1, 2)])
    assert case.imaging["radionuclide"] == "Tc-99m" and case.imaging["modality"] == "NM"


def test_typed_values_that_disagree_with_the_image_are_kept_and_flagged(maa, images):
    pi = plan_inputs(_pf(maa), images=images)  # typed: lung mass 1 kg vs about 0.6 kg on the CT
    by = {s.field: s for s in pi.sources}
    assert by["lung.mass"].used == "typed" and by["lung.mass"].agree is False
    assert by["lung.shunt_fraction"].agree is True  # 8 % typed, 8 % measured
    assert any("lung mass: typed 1 kg but the image gives" in w for w in pi.warnings)
    assert pi.patient.lung.mass.to("kg").magnitude == 1.0


def test_image_without_images_is_refused_naming_the_field(maa):
    pf = replace(_pf(maa), imaging=None, lung=replace(_pf(maa).lung, shunt_fraction=IMAGE))
    with pytest.raises(InputError) as e:
        resolve_inputs(pf, None)
    assert e.value.field == "lung.shunt_fraction"


def test_patient_file_with_image_inputs_end_to_end(maa):
    """The patient file says "image"; y90 plan takes the values from the MAA SPECT/CT."""
    import tomllib

    out, truth, pid = maa
    text = TEXT.format(pid=pid).replace("shunt_fraction = 0.08", 'shunt_fraction = "image"').replace('mass = "1 kg"', 'mass = "image"')
    text = text.replace('volume = "33.5 mL"\ntumour_to_normal = 4.0', 'volume = "image"\ntumour_to_normal = "image"')
    pf = parse_patient(tomllib.loads(text), out)
    assert pf.lung.shunt_fraction == IMAGE and pf.target.tumours[0].volume == IMAGE
    case = plan_case(pf)
    p = case.plan.plan
    assert p.lung_shunt_fraction == pytest.approx(truth["lung_shunt_fraction"], abs=0.005)
    assert p.lung_mass.to("kg").magnitude == pytest.approx(truth["lung_mass"]["value"], rel=0.02)
    assert float(p.tumour_to_normal[0]) == pytest.approx(_tn_image(maa, "Tumour 1"), rel=0.02)
    used = {s.field: s.used for s in case.inputs}
    assert used["lung.shunt_fraction"] == "image" and used["target.tumours[2].tumour_to_normal"] == "typed"


def test_planar_lung_shunt_from_the_patient_file():
    """Geometric means by hand: lungs sqrt(40000 * 90000) = 60000, liver sqrt(1e6 * 640000) = 800000,
    LSF = 60000 / 860000 = 6.977 %."""
    import tomllib

    text = """
[patient]
id = "P"
[treatment]
device = "glass"
method = "mird"
[lung]
shunt_fraction = "planar"
[lung.planar_counts]
lung_anterior = "40000 cts"
lung_posterior = "90000 cts"
liver_anterior = "1000000 cts"
liver_posterior = "640000 cts"
[target]
volume = "1000 mL"
dose = "100 Gy"
"""
    pf = parse_patient(tomllib.loads(text))
    assert pf.lung.shunt_fraction == pytest.approx(60000 / 860000)
    assert pf.lung.shunt_fraction_source == "planar"
    case = plan_case(pf)
    (src,) = [s for s in case.inputs if s.field == "lung.shunt_fraction"]
    assert src.used == "planar"
    with pytest.raises(InputError) as e:
        parse_patient(tomllib.loads(text.replace('lung_anterior = "40000 cts"\n', "")))
    assert e.value.field == "lung.planar_counts.lung_anterior"
    with pytest.raises(InputError) as e:
        parse_patient(tomllib.loads(text.replace('"40000 cts"', '"40000 Bq"')))
    assert e.value.field.startswith("lung.planar_counts")


def test_plan_sees_the_voxel_checks_too(maa, images):
    # Adversarial case: LSF typed 3 % (the image says 8 %) and a clinic lung limit of 12 Gy. The
    # plan's own lung dose (3 % of the activity) passes; the voxel lung dose (8 %) does not. y90 plan
    # and y90 report must give the same verdict: BLOCKED by the voxel lung check.
    from dosimetry.units import Q_

    pf = _pf(maa)
    pf = replace(pf, lung=replace(pf.lung, shunt_fraction=0.03, limit=Q_(12.0, "Gy")))
    case = plan_case(pf)
    assert case.blocked
    failed = [c for c in case.safety if not c.passed]
    assert failed and all(c.origin == "voxel" for c in failed), [(c.label, c.origin) for c in failed]
    assert run_case(pf, images=images).blocked == case.blocked  # y90 report's path: the images read once


def test_the_patient_file_must_name_the_images_patient(maa):
    out, _, pid = maa
    import tomllib

    other = parse_patient(tomllib.loads(TEXT.format(pid="SOMEONE-ELSE")), out)
    with pytest.raises(InputError, match=r"patient\.id.*SOMEONE-ELSE.*PatientID") as e:
        plan_inputs(other)
    assert e.value.field == "patient.id"
    overridden = parse_patient(tomllib.loads(TEXT.format(pid="SOMEONE-ELSE").replace('rtstruct = "rtstruct.dcm"', 'rtstruct = "rtstruct.dcm"\nallow_mismatch = true')), out)
    pi = plan_inputs(overridden)
    assert pi.imaging is not None and any("allow_mismatch overrides" in w for w in pi.warnings)


def test_device_comparison_sees_the_voxel_checks(maa):
    # y90 plan --compare: each device is assessed with the voxel dosimetry at its own activity
    from dosimetry.units import Q_
    from dosimetry.workflow import compare_case

    pf = _pf(maa)
    pf = replace(pf, lung=replace(pf.lung, shunt_fraction=0.03, limit=Q_(12.0, "Gy")))
    glass, resin = compare_case(pf)
    assert (glass.device, resin.device) == ("glass", "resin")
    assert glass.blocked and any(not c.passed and c.origin == "voxel" for c in glass.safety)
    for case in (glass, resin):  # each with its own voxel dosimetry and voxel lung check
        assert case.voxel is not None and any(c.origin == "voxel" and "lung" in c.label for c in case.safety), case.device
    assert resin.voxel.administered < glass.voxel.administered  # resin's prescription, glass's whole vial


def test_disagreeing_ratios_print_as_ratios_not_percentages(maa, images):
    """Issue 18: 'typed 300 %, image 400.5 %' on page 1 and in the warning; a ratio reads 2.00."""
    from dosimetry.report.page1 import signed_page

    pf = _pf(maa)
    t = pf.target
    pf = replace(pf, target=replace(t, tumours=(replace(t.tumours[0], tumour_to_normal=2.0), t.tumours[1])))
    case = run_case(pf, images=images)
    image = next(s for s in case.inputs if s.field == "target.tumours[1].tumour_to_normal").image.magnitude  # truth 4.0
    assert image > 2.0 * 1.2  # beyond the 20 % tolerance, so the disagreement is shown
    rows = dict(r for _, section in signed_page(case).sections for r in section)
    assert rows["Tumour 1 tumour-to-normal ratio"] == f"typed 2.00, image {image:.2f}: DISAGREE beyond +/-20 % (the typed value is used)"
    assert f"Tumour 1 tumour-to-normal ratio: typed 2.00 but the image gives {image:.2f}" in " ".join(case.warnings)


# -- issue 21, item 6: date of birth, sex and MAA study against the images' headers ----------------
# The PatientID rule, one rule for every identifying value; the headers complete what the file leaves out.
import datetime as dt  # noqa: E402
import shutil  # noqa: E402
import tomllib  # noqa: E402

import pydicom  # noqa: E402


def _file(maa, patient: str = "", lung: str = "", imaging: str = ""):
    out, _, pid = maa
    text = TEXT.format(pid=pid).replace(f'id = "{pid}"', f'id = "{pid}"\n{patient}').replace("shunt_fraction = 0.08", f"shunt_fraction = 0.08\n{lung}")
    text = text.replace('rtstruct = "rtstruct.dcm"', f'rtstruct = "rtstruct.dcm"\n{imaging}')
    return parse_patient(tomllib.loads(text), out)


def _header(maa):
    return pydicom.dcmread(sorted((maa[0] / "nm").iterdir())[0], stop_before_pixels=True)


def test_the_headers_complete_what_the_file_leaves_out(maa, images):
    h = _header(maa)
    pf = plan_inputs(_file(maa), images=images).patient
    study = dt.date(int(h.StudyDate[:4]), int(h.StudyDate[4:6]), int(h.StudyDate[6:8]))
    assert pf.patient.sex == h.PatientSex == "O"  # the phantom writes O
    assert pf.patient.birth_date is None and pf.patient.record_number is None  # the phantom's PatientBirthDate is empty: not invented
    assert pf.lung.maa_study_date == study
    assert pf.lung.maa_series == f"{h.SeriesDescription} (series {h.SeriesNumber})"
    assert pf.lung.shunt_method is None  # typed shunt: how it was measured is not said


@pytest.mark.parametrize("patient, lung, field", [('sex = "F"', "", "patient.sex"),
                                                   ("", "maa_study_date = 2020-01-01", "lung.maa_study_date")])
def test_a_file_value_other_than_the_headers_is_refused(maa, images, patient, lung, field):
    with pytest.raises(InputError) as e:
        plan_inputs(_file(maa, patient, lung), images=images)  # the same [imaging] table: the shared images
    assert e.value.field == field
    pi = plan_inputs(_file(maa, patient, lung, "allow_mismatch = true"))  # another [imaging] table: read for it
    assert any(w.startswith(field) and "allow_mismatch overrides" in w for w in pi.warnings)


def test_the_date_of_birth_is_checked_against_every_series(maa, tmp_path):
    out = tmp_path / "patient"
    shutil.copytree(maa[0], out)
    for f in [*(out / "nm").iterdir(), *(out / "ct").iterdir()]:
        ds = pydicom.dcmread(f)
        ds.PatientBirthDate = "19560314"
        ds.save_as(f)
    text = lambda born: TEXT.format(pid=maa[2]).replace(f'id = "{maa[2]}"', f'id = "{maa[2]}"\nbirth_date = {born}')  # noqa: E731
    assert plan_inputs(parse_patient(tomllib.loads(text("1956-03-14")), out)).patient.patient.birth_date == dt.date(1956, 3, 14)
    with pytest.raises(InputError, match=r"1956-03-15.*PatientBirthDate.*1956-03-14") as e:
        plan_inputs(parse_patient(tomllib.loads(text("1956-03-15")), out))
    assert e.value.field == "patient.birth_date"


def test_a_header_birth_date_after_the_study_is_refused(maa, tmp_path):
    out = tmp_path / "patient"
    shutil.copytree(maa[0], out)
    for f in (out / "nm").iterdir():
        ds = pydicom.dcmread(f)
        ds.PatientBirthDate = "29990101"
        ds.save_as(f)
    with pytest.raises(InputError) as e:
        plan_inputs(parse_patient(tomllib.loads(TEXT.format(pid=maa[2])), out))
    assert e.value.field == "patient.birth_date"
