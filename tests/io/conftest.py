"""Phantom patients written once per test run for the io tests (conformance, NRRD / NIfTI / SEG)."""

import pytest

import phantoms
from dosimetry.units import Q_
from run_once import once


@pytest.fixture(scope="session")
def nm_phantom(tmp_path_factory):
    """The default (demo-like) NM phantom: CT, multi-frame SPECT, RTSTRUCT, truth.json."""
    folder, _ = once(tmp_path_factory, "io_nm", lambda f: phantoms.make_patient(f / "p", seed=11, administered=Q_(2.0, "GBq")))
    return folder / "p"


@pytest.fixture(scope="session")
def pt_phantom(tmp_path_factory):
    """A Y-90 PET phantom (PT series in BQML)."""
    folder, _ = once(tmp_path_factory, "io_pt", lambda f: phantoms.make_patient(f / "p", seed=12, modality="PT"))
    return folder / "p"
