"""Fixtures shared across test packages: phantoms written once per session (read-only for tests)."""

import pytest

import phantoms


@pytest.fixture(scope="session")
def dose_phantom(tmp_path_factory):
    """The seed-7 Y-90 SPECT phantom used by the `y90 dose` command tests; tests only read it."""
    d = tmp_path_factory.mktemp("dose_phantom") / "patient"
    phantoms.make_patient(d, seed=7)
    return d


@pytest.fixture(scope="session")
def post_study(tmp_path_factory):
    """Issue 20: the demo patient planned from its unblurred Tc-99m MAA SPECT/CT (patient file with a
    [delivery] table: 2 GBq administered, 5 % residual, as the phantom gives) and its post-treatment
    Y-90 PET (unblurred, no noise) in its own frame; tests only read them. (planning folder, post folder)."""
    from dosimetry.cli import write_demo_patient

    base = tmp_path_factory.mktemp("post_study")
    patient = write_demo_patient(base / "planning", fwhm_mm=0.0)
    with open(patient, "a") as f:
        f.write('\n[delivery]\nadministered = "2 GBq"\nresidual_fraction = 0.05\n')
    phantoms.make_post_treatment(base / "post", planning={"radionuclide": "Tc-99m", "fwhm_mm": 0.0}, modality="PT", fwhm_mm=0.0)
    return base / "planning", base / "post"
