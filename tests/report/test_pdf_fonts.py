"""Issue 22: the PDF's text is set in the standard PDF fonts (not embedded) when they can show it,
and in the embedded fonts when a text holds a character outside their encoding (cp1252)."""

from pathlib import Path

from pypdf import PdfReader

import dosimetry
from dosimetry.cli import main

EXAMPLE = Path(dosimetry.__file__).parent / "examples" / "glass.toml"
STANDARD = {"/Helvetica", "/Helvetica-Bold", "/Courier", "/Courier-Bold", "/Helvetica-Oblique", "/Courier-Oblique"}


def _fonts(pdf: Path) -> set:
    out = set()
    for page in PdfReader(pdf).pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            out.add((str(font["/BaseFont"]), "/FontDescriptor" in font and any(
                k in font["/FontDescriptor"].get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3"))))
    return out


def test_an_ordinary_report_uses_the_standard_fonts_unembedded(tmp_path):
    assert main(["--quiet", "report", str(EXAMPLE), "-o", str(tmp_path / "r")]) == 0
    fonts = _fonts(tmp_path / "r" / "report.pdf")
    assert fonts and {name for name, _ in fonts} <= STANDARD
    assert not any(embedded for _, embedded in fonts)
    page = PdfReader(tmp_path / "r" / "report.pdf").pages[0].extract_text()
    assert "Patient EX-001" in page and "OVERALL STATUS: WITHIN LIMITS" in page


def test_a_patient_id_outside_the_standard_encoding_is_shown_as_typed(tmp_path):
    # Greek is outside cp1252: the standard fonts would print "?????"; the embedded fonts show it.
    p = tmp_path / "p.toml"
    p.write_text(EXAMPLE.read_text(encoding="utf-8").replace('id = "EX-001"', 'id = "Ωμέγα-7"'), encoding="utf-8")
    assert main(["--quiet", "report", str(p), "-o", str(tmp_path / "r")]) == 0
    page = PdfReader(tmp_path / "r" / "report.pdf").pages[0].extract_text()
    assert "Patient Ωμέγα-7" in page and "?" not in page.splitlines()[0]
    assert not {name for name, _ in _fonts(tmp_path / "r" / "report.pdf")} <= STANDARD


def _verification(patient_id: str):
    """The least a verification needs to be drawn: no region, no finding, no plan (the page's header,
    headline and empty table)."""
    from types import SimpleNamespace

    return SimpleNamespace(planned=None, patient_id=patient_id, headline=lambda: "NO ADVERSE FINDING", complete=True,
                           findings=[], regions=[], delivered=SimpleNamespace(regions=[]), registration=None)


def test_the_verification_pdf_uses_the_standard_fonts_and_the_embedded_ones_for_other_characters(tmp_path):
    from dosimetry.report.verification import verification_pdf

    for pid, standard in (("PHANTOM-001", True), ("Ωμέγα-7", False)):
        pdf = tmp_path / f"{standard}.pdf"
        pdf.write_bytes(verification_pdf(_verification(pid)))
        fonts = _fonts(pdf)
        assert ({name for name, _ in fonts} <= STANDARD) is standard
        assert not (standard and any(embedded for _, embedded in fonts))  # DejaVu otherwise (Type 3: drawn, not a font file)
        assert f"Patient {pid}" in PdfReader(pdf).pages[0].extract_text()
