"""Issue 21: four plans a physicist checks by hand (glass lobar HCC, resin BSA mCRC, partition, two
territories in one session) and the demo: page 1 of each rendered and read back with pypdf.

Every expected figure is computed here from the published formula, never taken from the code:
- glass MIRD single compartment (TheraSphere package insert): the liver receives A (1 - LSF)(1 - R)
  and D = 50 Gy kg/GBq x A (1 - LSF)(1 - R) / m, so A = D m / (50 (1 - LSF)(1 - R));
- resin BSA method (SIR-Spheres IFU): A [GBq] = BSA - 0.2 + V_tumour / V_liver, BSA by DuBois
  (0.20247 H[m]^0.725 W[kg]^0.425), no reduction below 10 % shunt;
- partition model (Ho et al., Eur J Nucl Med 1996; SIR-Spheres IFU K = 49.67 Gy kg/GBq):
  D_T = K A_L r / (r m_T + m_N), D_N = D_T / r, A_L = A (1 - LSF);
- lung dose = K A LSF / 1 kg; Y-90 half-life 64.1 h (TheraSphere package insert).

Page 1 is checked for the verdict, the activity to administer only when WITHIN LIMITS, the doses,
the identity fields of item 6, no "-0.0%", no raw DICOM date, whole table header lines.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from dosimetry.io.patient import load_patient
from dosimetry.report.build import render_report
from dosimetry.report.pdf import render_pdf
from dosimetry.workflow import run_case

NOW = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.timezone.utc)
T_HALF_H = 64.1
K_GLASS, K_RESIN = 50.0, 49.67
RHO = 1.03e-3  # kg/mL

GLASS = """
[patient]
id = "HP-GLASS"
birth_date = 1956-03-14
sex = "M"
record_number = "MRN-1001"
[treatment]
device = "glass"
method = "mird"
administration = 2026-11-25T10:00:00-05:00
calibration = 2026-11-24T21:00:00-05:00
vial = "3 GBq"
site = "right lobe (segments 5-8)"
vessel = "right hepatic artery"
[clinical]
indication = "hcc"
extent = "lobar"
bilirubin = "0.8 mg/dL"
[lung]
shunt_fraction = 0.05
shunt_method = "planar"
maa_study_date = 2026-11-10
maa_series = "MAA planar (series 3)"
[liver]
volume = "1800 mL"
[target]
volume = "{volume} mL"
dose = "120 Gy"
residual_fraction = 0.0
[report]
prepared_by = "A. Physicist"
"""

RESIN_BSA = """
[patient]
id = "HP-RESIN"
height = "175 cm"
weight = "75 kg"
birth_date = 1961-07-02
sex = "F"
[treatment]
device = "resin"
method = "bsa"
administration = 2026-11-25T10:00:00-05:00
calibration = 2026-11-25T18:00:00-05:00
vial_activity = "3 GBq"
[clinical]
indication = "colorectal"
extent = "whole_liver"
bilirubin = "0.6 mg/dL"
[lung]
shunt_fraction = 0.05
shunt_method = "spect"
[liver]
volume = "1800 mL"
tumour_volume = "300 mL"
[target]
volume = "1800 mL"
tumour_volume = "300 mL"
tumour_to_normal = 3.0
residual_fraction = 0.0
"""

PARTITION = """
[patient]
id = "HP-PART"
record_number = "MRN-3003"
[treatment]
device = "resin"
method = "partition"
administration = 2026-11-25T10:00:00-05:00
calibration = 2026-11-25T18:00:00-05:00
vial_activity = "3 GBq"
[clinical]
indication = "hcc"
extent = "lobar"
bilirubin = "0.8 mg/dL"
[lung]
shunt_fraction = 0.06
[liver]
volume = "1800 mL"
tumour_volume = "150 mL"
[target]
volume = "1000 mL"
tumour_volume = "150 mL"
tumour_to_normal = 4.0
tumour_dose = "120 Gy"
residual_fraction = 0.0
"""


def _gy(x: float) -> str:
    return f"{x:.4g} Gy"


def _gbq(x: float) -> str:
    return f"{x:.4g} GBq"


def _page1(path: Path) -> str:
    rep = render_report(run_case(load_patient(path), uncertainty=None), now=NOW)
    return " ".join(PdfReader(io.BytesIO(render_pdf(rep.content))).pages[0].extract_text().split())


def _common(text: str, status: str, activity: str) -> None:
    """What every page 1 must say, and must not."""
    assert f"OVERALL STATUS: {status}" in text and text.count("OVERALL STATUS") == 1
    if status == "WITHIN LIMITS":
        assert f"Activity to administer {activity}" in text
    else:
        assert f"Activity to administer NONE: {status}" in text and f"Activity to administer {activity}" not in text
    assert "-0.0%" not in text
    assert not re.search(r"(?<![\d.])(19|20)\d{6}(?![\d.])", text), "a raw DICOM date (YYYYMMDD)"
    assert "Compartment Volume Mass T/N ratio Planned dose" in text  # the header line whole
    assert "Check Value Limit Result" in text  # the safety table's header on page 1 with its first row
    assert "Prescriber (authorized user)" in text and "Medical physicist" in text


def test_glass_lobar_hcc_mird(tmp_path):
    p = tmp_path / "glass.toml"
    p.write_text(GLASS.format(volume=1000))
    text = _page1(p)
    a = 120 * 1000 * RHO / (K_GLASS * 0.95)  # 2.602 GBq
    vial = 3 * 2 ** (-13 / T_HALF_H)  # calibrated 13 h before the administration
    _common(text, "WITHIN LIMITS", f"{_gbq(vial)} (the whole vial, at administration)")
    assert f"Planned activity {_gbq(a)} (vial +{vial / a - 1:.1%}" in text
    lung = K_GLASS * a * 0.05 / 1.0
    whole_normal = K_GLASS * a * 0.95 / (1800 * RHO)  # no tumour: the whole liver less nothing
    for d in (lung, lung * vial / a, whole_normal, whole_normal * vial / a, 120 * vial / a):
        assert _gy(d) in text, d
    assert "HP-GLASS; born 1956-03-14; sex male (M); record number MRN-1001" in text
    assert "2026-11-10, MAA planar (series 3); lung shunt measured by planar scintigraphy" in text
    assert "Plan prepared by: A. Physicist" in text


def test_resin_bsa_mcrc_whole_liver(tmp_path):
    p = tmp_path / "resin.toml"
    p.write_text(RESIN_BSA)
    text = _page1(p)
    bsa = 0.20247 * 1.75 ** 0.725 * 75 ** 0.425  # 1.903 m^2
    a = bsa - 0.2 + 300 / 1800  # 1.87 GBq
    m_t, m_n = 300 * RHO, 1500 * RHO
    d_n = K_RESIN * a * 0.95 / (3 * m_t + m_n)  # 35.9 Gy < 40 Gy (resin, perfused normal liver)
    _common(text, "WITHIN LIMITS", f"{_gbq(a)} at administration")
    for d in (d_n, 3 * d_n, K_RESIN * a * 0.05):
        assert _gy(d) in text, d
    assert "HP-RESIN; born 1961-07-02; sex female (F); record number not given" in text
    assert "not given; lung shunt measured by SPECT/CT" in text and "Plan prepared by: not given" in text


def test_resin_partition_lobar_hcc(tmp_path):
    p = tmp_path / "partition.toml"
    p.write_text(PARTITION)
    text = _page1(p)
    r, m_t, m_n = 4.0, 150 * RHO, 850 * RHO
    a_liver = 120 * (r * m_t + m_n) / (K_RESIN * r)
    a = a_liver / 0.94
    _common(text, "WITHIN LIMITS", f"{_gbq(a)} at administration")
    assert "tumour mean dose 120 Gy (partition model)" in text
    for d in (120.0, 120 / r, K_RESIN * a * 0.06):
        assert _gy(d) in text, d
    assert "HP-PART; born not given; sex not given; record number MRN-3003" in text


@pytest.mark.parametrize("volume, shunt", [(1000, "0.05"), (1000, "0.45")])
def test_glass_page1_blocked_shows_no_activity(tmp_path, volume, shunt):
    """The same glass plan with a 45 % shunt: lung 50 x A x 0.45 > 30 Gy: BLOCKED, no activity to give."""
    p = tmp_path / "g.toml"
    p.write_text(GLASS.format(volume=volume).replace("shunt_fraction = 0.05", f"shunt_fraction = {shunt}"))
    text = _page1(p)
    f = float(shunt)
    a = 120 * volume * RHO / (K_GLASS * (1 - f))
    lung = K_GLASS * a * f
    status = "WITHIN LIMITS" if lung <= 30 else "BLOCKED"
    assert ("OVERALL STATUS: BLOCKED" in text) == (status == "BLOCKED")
    if status == "BLOCKED":
        _common(text, status, _gbq(a))
        assert f"Planned activity (not to be given) {_gbq(a)}" in text


def test_two_territories_session_pdf(tmp_path, capsys):
    """Two glass territories, each with its vial ordered: the session page sums the lung and whole
    normal liver doses at the vials' activities at the planned time (the activities that will be
    given), and the document is numbered once (page 1, 2, ... never page 1 again)."""
    from dosimetry.cli import main

    right, left = tmp_path / "right.toml", tmp_path / "left.toml"
    right.write_text(GLASS.format(volume=800).replace("calibration = 2026-11-24T21:00:00-05:00", "calibration = 2026-11-24T05:00:00-05:00"))
    left.write_text(GLASS.format(volume=500).replace("calibration = 2026-11-24T21:00:00-05:00", "calibration = 2026-11-22T05:00:00-05:00"))
    pdf = tmp_path / "session.pdf"
    code = main(["--quiet", "session", str(right), str(left), "--pdf", str(pdf)])
    capsys.readouterr()
    a_r, a_l = (120 * v * RHO / (K_GLASS * 0.95) for v in (800, 500))
    v_r, v_l = 3 * 2 ** (-29 / T_HALF_H), 3 * 2 ** (-77 / T_HALF_H)  # +5.2 % and +0.2 % of the plans
    lung_given, lung_planned = K_GLASS * 0.05 * (v_r + v_l), K_GLASS * 0.05 * (a_r + a_l)
    whole_given = K_GLASS * 0.95 * (v_r + v_l) / (1800 * RHO)
    reader = PdfReader(pdf)
    texts = [" ".join(p.extract_text().split()) for p in reader.pages]
    first = texts[0]
    assert f"Summed lung dose (this session) {_gy(lung_given)}" in first and _gy(lung_planned) not in first
    assert f"Summed whole normal liver dose {_gy(whole_given)}" in first
    assert "HP-GLASS; born 1956-03-14; sex male (M); record number MRN-1001" in first
    # 50 x 0.95 x (2.192 + 1.305) / 1.854 kg = 89.6 Gy > 75 Gy: the session is BLOCKED, and its page
    # gives no territory an activity to administer, though each territory alone is within its limits
    assert whole_given > 75 and "OVERALL STATUS: BLOCKED" in first and code == 1
    assert f"right: activity to administer NONE (the session is BLOCKED; {_gbq(v_r)} planned, not to be given)" in first
    # each territory's own page 1 withholds its activity too (each is within its own limits)
    right_page = next(t for t in texts if "Territory right:" in t)
    assert "OVERALL STATUS: WITHIN LIMITS" in right_page and "The session is BLOCKED: see the session page." in right_page
    assert f"Activity to administer NONE: the session is BLOCKED (session page); {_gbq(v_r)} (the whole vial, at administration), planned, not to be given" in right_page
    for i, t in enumerate(texts, 1):
        assert f"page {i}" in t and all(f"page {j}" not in t.split("Patient", 1)[1][:40] for j in range(1, i)), i
    assert code in (0, 1)


def test_demo_page1(demo):
    out, _, _ = demo
    text = " ".join(PdfReader(out / "report" / "report.pdf").pages[0].extract_text().split())
    _common(text, "WITHIN LIMITS", "")
    assert "PHANTOM-001" in text and "born not given; sex other (O); record number not given" in text
    assert "MAA study, shunt method 2026-" in text and "lung shunt measured by SPECT/CT" in text  # the demo measures it on the SPECT/CT
