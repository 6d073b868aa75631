"""The audit trail is part of the signed report: every label stays inside its column, however long
(the demo's "Limit: total bilirubin (non-segmental treatment) <= 2 mg/dL" and "Limit: tumour
replacement of the liver (tumour volume / whole liver volume) <= 70%" ran into the value column)."""

from matplotlib.backends.backend_agg import FigureCanvasAgg

from dosimetry.report.content import ReportContent
from dosimetry.report.pdf import _audit_pages

VALUE_X = 0.38  # the value column's left edge, as a fraction of the page width
LONG = [
    ("Limit: total bilirubin (non-segmental treatment) <= 2 mg/dL", "Van Roekel, PhD thesis (Utrecht), Table 1"),
    ("Limit: tumour replacement of the liver (tumour volume / whole liver volume) <= 70%", "TheraSphere IFU " * 12),
    ("WWWWWWWWWW MMMMMMMMMM WWWWWWWWWW MMMMMMMMMM WWWWWWWWWW", "capitals, the widest letters"),
    ("Uncertainty: activity given (dose calibrator, vial)", "normal, SD 7.8 %"),
    ("Limit: Tumour_segment_VIII_posterior_HCC_lesion_as_typed_in_Slicer dose >= 205 Gy", "an ROI name without spaces"),
    ("Limit: tumour dose >= 205 Gy", "a short label keeps one line"),
]


def _content(audit):
    return ReportContent(patient_id="AUDIT-1", title="t", status="WITHIN LIMITS", blocked=False, checks=(), warnings=(), audit=tuple(audit))


def _texts(fig):
    FigureCanvasAgg(fig)
    renderer = fig.canvas.get_renderer()
    width = fig.bbox.width
    return [(t.get_text(), t.get_position(), t.get_window_extent(renderer).x1 / width) for t in fig.texts]


def test_every_label_ends_before_the_value_column():
    for fig in _audit_pages(_content(LONG), first_page=8):
        labels = [(text, right) for text, (x, y), right in _texts(fig) if x == 0.06 and y < 0.92]
        assert labels
        for text, right in labels:
            assert right < VALUE_X, f"{text!r} ends at {right:.3f} of the page width"  # main: 0.52 for the bilirubin limit


def test_no_character_of_a_label_or_value_is_lost():
    figs = _audit_pages(_content(LONG), first_page=8)
    texts = [(t.get_text(), t.get_position()[0]) for f in figs for t in f.texts if t.get_position()[1] < 0.92]
    labels = "".join(text for text, x in texts if x == 0.06).replace(" ", "")
    values = " ".join(text for text, x in texts if x != 0.06).split()
    assert labels == "".join(label.replace(" ", "") for label, _ in LONG)
    assert values == " ".join(value for _, value in LONG).split()


def test_a_short_label_is_not_wrapped():
    figs = _audit_pages(_content([("Limit: tumour dose >= 205 Gy", "EANM 2022")]), first_page=8)
    assert [t.get_text() for t in figs[0].texts if t.get_position()[1] < 0.92] == ["Limit: tumour dose >= 205 Gy", "EANM 2022"]


def test_a_check_label_on_the_signed_pages_is_wrapped_not_shortened(tmp_path):
    """Page 1's check table cut labels at 58 characters ("tumour replacement of the liver (tumour
    volume / whole..."); the signed pages now carry every word of every check label."""
    from pathlib import Path

    from pypdf import PdfReader

    import dosimetry
    from dosimetry.cli import main

    example = Path(dosimetry.__file__).parent / "examples" / "glass.toml"
    assert main(["--quiet", "report", str(example), "-o", str(tmp_path / "r")]) == 0
    pages = PdfReader(tmp_path / "r" / "report.pdf").pages
    signed = " ".join(" ".join(p.extract_text().split()) for p in pages if "MIRD single compartment" in p.extract_text())
    # the label's two lines (the value, limit and result columns sit between them in the text)
    assert "tumour replacement of the liver (tumour volume / whole" in signed and "liver volume) (screen)" in signed  # main: "/ whole..."
    assert "..." not in signed and "[...]" not in signed
    every = " ".join(" ".join(p.extract_text().split()) for p in pages)
    assert "..." not in every  # main: the uncertainty page's bars read "lung mass (measured on CT or..."
    assert "lung mass (measured on CT or typed)" in every.replace("\n", " ")
