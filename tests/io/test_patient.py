"""Patient file: the documented example parses; every invalid input is refused naming its field."""

import copy
import tomllib
from pathlib import Path

import pytest

import dosimetry
from dosimetry.errors import InputError
from dosimetry.io.patient import load_patient, parse_patient

EXAMPLES = Path(dosimetry.__file__).parent / "examples"


@pytest.fixture
def doc():
    return tomllib.loads((EXAMPLES / "glass.toml").read_text())


def test_example_parses_with_units():
    p = load_patient(EXAMPLES / "glass.toml")
    assert p.patient.id == "EX-001"
    # 1456 mL * 1.03 g/mL = 1499.68 g
    assert p.target.mass.to("kg").magnitude == pytest.approx(1.49968)
    assert p.lung.shunt_fraction == 0.05
    assert p.target.tumour_volume.to("mL").magnitude == 300
    assert p.treatment.administration.utcoffset().total_seconds() == -5 * 3600
    assert len(p.sha256) == 64


def test_defaults(doc):
    del doc["lung"]["mass"], doc["lung"]["prior_dose"], doc["liver"]["density"]
    p = parse_patient(doc)
    assert p.lung.mass.to("kg").magnitude == 1.0
    assert p.lung.prior_dose.to("Gy").magnitude == 0.0
    assert p.liver.density.to("g/mL").magnitude == 1.03


def test_percent_shunt_and_mass_target(doc):
    doc["lung"]["shunt_fraction"] = "7.5 %"
    del doc["target"]["volume"]
    doc["target"]["mass"] = "1.5 kg"
    p = parse_patient(doc)
    assert p.lung.shunt_fraction == pytest.approx(0.075)
    assert p.target.volume.to("mL").magnitude == pytest.approx(1500 / 1.03)


def test_multiple_tumours(doc):
    del doc["target"]["tumour_volume"], doc["target"]["tumour_to_normal"]
    doc["treatment"]["method"] = "partition"
    doc["target"]["tumours"] = [{"name": "A", "volume": "100 mL", "tumour_to_normal": 4}, {"volume": "50 mL", "tumour_to_normal": 2.5}]
    p = parse_patient(doc)
    assert [t.name for t in p.target.tumours] == ["A", "Tumour 2"]
    assert p.target.tumour_volume.to("mL").magnitude == 150


def _set(doc, dotted, value):
    parts = dotted.split(".")
    t = doc
    for k in parts[:-1]:
        t = t[k]
    if value is _DELETE:
        del t[parts[-1]]
    else:
        t[parts[-1]] = value


_DELETE = object()


@pytest.mark.parametrize(
    "dotted, value, field",
    [
        ("target.volume", "-5 mL", "target.volume"),
        ("target.volume", "0 mL", "target.volume"),
        ("target.volume", "1.5 kg", "target.volume"),
        ("target.volume", 1456, "target.volume"),
        ("target.volume", _DELETE, "target.volume"),
        ("target.dose", "120 mCi", "target.dose"),
        ("target.dose", "-1 Gy", "target.dose"),
        ("target.dose", _DELETE, "target.dose"),
        ("target.tumour_volume", "2000 mL", "target.tumour_volume"),
        ("target.tumour_to_normal", 0, "target.tumour_to_normal"),
        ("target.tumour_to_normal", -2.0, "target.tumour_to_normal"),
        ("target.residual_fraction", 1.0, "target.residual_fraction"),
        ("target.dos", "120 Gy", "target.dos"),
        ("lung.shunt_fraction", 1.2, "lung.shunt_fraction"),
        ("lung.shunt_fraction", 1.0, "lung.shunt_fraction"),
        ("lung.shunt_fraction", -0.1, "lung.shunt_fraction"),
        ("lung.shunt_fraction", "5 kg", "lung.shunt_fraction"),
        ("lung.shunt_fraction", _DELETE, "lung.shunt_fraction"),
        ("lung.mass", "0 kg", "lung.mass"),
        ("lung.mass", "1 L", "lung.mass"),
        ("lung.prior_dose", "-3 Gy", "lung.prior_dose"),
        ("liver.volume", "1000 mL", "target.volume"),  # target larger than the whole liver
        ("liver.density", "1.03 kg", "liver.density"),
        ("treatment.device", "plastic", "treatment.device"),
        ("treatment.device", _DELETE, "treatment.device"),
        ("treatment.method", "guess", "treatment.method"),
        ("treatment.method", "bsa", "treatment.method"),  # resin-only method with glass
        ("treatment.administration", "2026-11-25T10:00:00", "treatment.administration"),
        ("treatment.administration", "tomorrow", "treatment.administration"),
        ("patient.id", "", "patient.id"),
        ("patient.id", _DELETE, "patient.id"),
        ("patient.weight", "75", "patient.weight"),
        ("patient.height", "-175 cm", "patient.height"),
    ],
)
def test_refusals_name_the_field(doc, dotted, value, field):
    _set(doc, dotted, value)
    with pytest.raises(InputError) as err:
        parse_patient(doc)
    assert err.value.field == field
    assert str(err.value).startswith(field + ": ")


def test_missing_table(doc):
    del doc["lung"]
    with pytest.raises(InputError, match="^lung: missing table"):
        parse_patient(doc)


def test_unknown_table(doc):
    doc["lungs"] = {}
    with pytest.raises(InputError, match="^lungs: unknown table"):
        parse_patient(doc)


def test_bsa_needs_height(doc):
    doc["treatment"].update(device="resin", method="bsa")
    del doc["patient"]["height"]
    with pytest.raises(InputError, match="^patient.height: missing"):
        parse_patient(doc)


def test_partition_needs_ratio(doc):
    doc["treatment"]["method"] = "partition"
    del doc["target"]["tumour_to_normal"]
    with pytest.raises(InputError, match="^target.tumour_to_normal: missing"):
        parse_patient(doc)


def test_partition_two_goals_refused(doc):
    doc["treatment"]["method"] = "partition"
    doc["target"].update(normal_liver_dose="40 Gy", tumour_dose="205 Gy")
    with pytest.raises(InputError, match="^target.tumour_dose: "):
        parse_patient(doc)


def test_normal_liver_dose_only_for_partition(doc):
    doc["target"]["normal_liver_dose"] = "40 Gy"
    with pytest.raises(InputError, match="^target.normal_liver_dose: only the partition"):
        parse_patient(doc)


def test_bad_toml_and_missing_file(tmp_path):
    bad = tmp_path / "p.toml"
    bad.write_text("[patient\nid=1")
    with pytest.raises(InputError, match="not valid TOML"):
        load_patient(bad)
    with pytest.raises(InputError, match="cannot read"):
        load_patient(tmp_path / "nope.toml")


def test_imaging_paths_checked(doc, tmp_path):
    doc["imaging"] = {"activity": "nm", "rtstruct": "rs.dcm", "rois": {"liver": "Liver"}}
    with pytest.raises(InputError, match="^imaging.activity: 'nm' is not an existing directory"):
        parse_patient(doc, tmp_path)
    (tmp_path / "nm").mkdir()
    with pytest.raises(InputError, match="^imaging.rtstruct: "):
        parse_patient(doc, tmp_path)
    (tmp_path / "rs.dcm").write_bytes(b"")
    doc["imaging"]["rois"]["lungs"] = ["Lung L", "Lung R"]
    p = parse_patient(doc, tmp_path)
    assert p.imaging.activity == tmp_path / "nm"
    assert p.imaging.lung_rois == ("Lung L", "Lung R")
    assert p.imaging.method == "kernel"
    doc["imaging"]["method"] = "magic"
    with pytest.raises(InputError, match="^imaging.method: "):
        parse_patient(doc, tmp_path)


def test_clinic_limit_overrides(doc):
    doc["lung"].update(limit="20 Gy", cumulative_limit="40 Gy")
    doc["treatment"]["method"] = "partition"
    doc["target"]["normal_liver_limit"] = "70 Gy"
    p = parse_patient(doc)
    assert p.lung.limit.to("Gy").magnitude == 20 and p.lung.cumulative_limit.to("Gy").magnitude == 40
    assert p.target.normal_liver_limit.to("Gy").magnitude == 70
    for dotted, value in (("lung.limit", "-1 Gy"), ("lung.limit", "20 GBq"), ("lung.cumulative_limit", "0 Gy")):
        d = copy.deepcopy(doc)
        _set(d, dotted, value)
        with pytest.raises(InputError, match=f"^{dotted}: "):
            parse_patient(d)


def test_imaging_partial_volume_needs_a_fwhm(doc, tmp_path):
    # issue 25: imaging.partial_volume and imaging.fwhm; the FWHM is never guessed
    (tmp_path / "nm").mkdir()
    (tmp_path / "rs.dcm").write_bytes(b"")
    doc["imaging"] = {"activity": "nm", "rtstruct": "rs.dcm", "rois": {"liver": "Liver"}}
    assert parse_patient(doc, tmp_path).imaging.settings.partial_volume is None
    doc["imaging"].update(partial_volume="gtm", fwhm="10 mm")
    s = parse_patient(doc, tmp_path).imaging.settings
    assert s.partial_volume == "gtm" and s.fwhm.to("mm").magnitude == 10
    assert s.dosimetry()["pv_correction"] == "gtm" and s.dosimetry()["fwhm"] == s.fwhm
    for key, value, field in [("fwhm", None, "imaging.fwhm"), ("fwhm", "10", "imaging.fwhm"), ("fwhm", "4 cm", "imaging.fwhm"),
                              ("partial_volume", "rbv", "imaging.partial_volume")]:
        bad = copy.deepcopy(doc)
        if value is None:
            del bad["imaging"][key]
        else:
            bad["imaging"][key] = value
        with pytest.raises(InputError) as e:
            parse_patient(bad, tmp_path)
        assert e.value.field == field, (key, value)
    del doc["imaging"]["partial_volume"]
    with pytest.raises(InputError, match="^imaging.fwhm: "):
        parse_patient(doc, tmp_path)
