"""Phantom patients written once per test session for the io tests (conformance, NRRD / NIfTI / SEG)."""

import pytest

import phantoms
from dosimetry.units import Q_


@pytest.fixture(scope="session")
def nm_phantom(tmp_path_factory):
    """The default (demo-like) NM phantom: CT, multi-frame SPECT, RTSTRUCT, truth.json."""
    d = tmp_path_factory.mktemp("io_nm") / "p"
    phantoms.make_patient(d, seed=11, administered=Q_(2.0, "GBq"))
    return d


@pytest.fixture(scope="session")
def pt_phantom(tmp_path_factory):
    """A Y-90 PET phantom (PT series in BQML)."""
    d = tmp_path_factory.mktemp("io_pt") / "p"
    phantoms.make_patient(d, seed=12, modality="PT")
    return d


@pytest.fixture(scope="session")
def pt_exact_phantom(tmp_path_factory):
    """A Y-90 PET phantom on the CT grid, no blur, no noise (seed 3); tests only read it."""
    d = tmp_path_factory.mktemp("io_pt_exact") / "p"
    phantoms.make_patient(d, seed=3, modality="PT", fwhm_mm=0, emission_grid="ct")
    return d
