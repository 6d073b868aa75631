"""Fixtures shared across test packages: phantoms written once per test run (read-only for tests; under
pytest-xdist one worker writes each and the others read it: tests/run_once.py)."""

import dataclasses

import numpy as np
import pytest

import phantoms
from run_once import once


def read_only(obj, _seen=None):
    """Make every numpy array reachable from ``obj`` (dataclass fields, dicts, lists, tuples, objects'
    attributes) read-only and return ``obj``: images read once and shared by several tests then
    cannot be changed by one test for the next (an in-place write raises instead)."""
    seen = set() if _seen is None else _seen
    if id(obj) in seen or obj is None or isinstance(obj, (str, bytes, int, float, bool)):
        return obj
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        obj.flags.writeable = False
    elif isinstance(obj, dict):
        for v in obj.values():
            read_only(v, seen)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for v in obj:
            read_only(v, seen)
    elif dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            read_only(getattr(obj, f.name), seen)
    elif hasattr(obj, "__dict__") and type(obj).__module__.startswith("dosimetry"):
        for v in vars(obj).values():
            read_only(v, seen)
    return obj


@pytest.fixture(scope="session")
def shared_read_only():
    """:func:`read_only` for module fixtures that share images read once between tests."""
    return read_only


@pytest.fixture(scope="session")
def dose_phantom(tmp_path_factory):
    """The seed-7 Y-90 SPECT phantom used by the `y90 dose` command tests; tests only read it."""
    folder, _ = once(tmp_path_factory, "dose_phantom", lambda f: phantoms.make_patient(f / "patient", seed=7))
    return folder / "patient"


@pytest.fixture(scope="session")
def maa_blurred_phantom(tmp_path_factory):
    """Tc-99m MAA SPECT phantom, four tumours, the demo's 10 mm FWHM camera (issue 25); tests only read it."""
    folder, truth = once(tmp_path_factory, "maa_blurred", lambda f: phantoms.make_patient(f / "patient", radionuclide="Tc-99m", tumours=4))
    return folder / "patient", truth


@pytest.fixture(scope="session")
def nm_unblurred_phantom(tmp_path_factory):
    """Y-90 SPECT phantom on the 4.42 mm grid, four tumours, no blur (issue 25); tests only read it."""
    folder, truth = once(tmp_path_factory, "nm_unblurred", lambda f: phantoms.make_patient(f / "patient", modality="NM", fwhm_mm=0, tumours=4))
    return folder / "patient", truth


@pytest.fixture(scope="session")
def pt_exact_phantom(tmp_path_factory):
    """A Y-90 PET phantom on the CT grid, no blur, no noise (seed 3); tests only read it."""
    folder, _ = once(tmp_path_factory, "io_pt_exact", lambda f: phantoms.make_patient(f / "p", seed=3, modality="PT", fwhm_mm=0, emission_grid="ct"))
    return folder / "p"


@pytest.fixture(scope="session")
def nm_exact_phantom(tmp_path_factory):
    """Its NM twin: the Y-90 SPECT on the CT grid, no blur, no noise (seed 3); tests only read it."""
    folder, _ = once(tmp_path_factory, "nm_exact", lambda f: phantoms.make_patient(f / "patient", seed=3, modality="NM", fwhm_mm=0, emission_grid="ct"))
    return folder / "patient"


@pytest.fixture(scope="session")
def maa_phantom(tmp_path_factory):
    """The seed-7 Tc-99m MAA SPECT/CT phantom (``make_patient(seed=7, radionuclide="Tc-99m")``),
    written once for the test modules that use it; tests only read it (their own files go elsewhere)."""
    folder, _ = once(tmp_path_factory, "maa_phantom", lambda f: phantoms.make_patient(f / "patient", seed=7, radionuclide="Tc-99m"))
    return folder / "patient"


@pytest.fixture(scope="session")
def post_study(tmp_path_factory):
    """Issue 20: the demo patient planned from its unblurred Tc-99m MAA SPECT/CT (patient file with a
    [delivery] table: 2 GBq administered, 5 % residual, as the phantom gives) and its post-treatment
    Y-90 PET (unblurred, no noise) in its own frame; tests only read them. (planning folder, post folder)."""
    from dosimetry.cli import write_demo_patient

    def make(base):
        patient = write_demo_patient(base / "planning", fwhm_mm=0.0)
        with open(patient, "a") as f:
            f.write('\n[delivery]\nadministered = "2 GBq"\nresidual_fraction = 0.05\n')
        phantoms.make_post_treatment(base / "post", planning={"radionuclide": "Tc-99m", "fwhm_mm": 0.0}, modality="PT", fwhm_mm=0.0)

    base, _ = once(tmp_path_factory, "post_study", make)
    return base / "planning", base / "post"


# The test files that cost most (seconds of one worker, `--durations` of the README command on this
# 2-core machine, issue 22), most expensive first. Under pytest-xdist they are handed out first, so the
# two workers end together instead of one running a whole-pipeline file alone at the end; files not
# named here follow in the order collected. Only the order changes: each file still runs whole on one
# worker, and without xdist nothing is reordered.
COSTLY_FIRST = (
    "tests/test_imaging.py",
    "tests/workflow/test_inputs.py",
    "tests/report/test_signable.py",
    "tests/io/test_dicom_fuzz.py",
    "tests/workflow/test_registration.py",
    "tests/phantoms/test_phantom_dicom.py",
    "tests/phantoms/test_phantom_post.py",
    "tests/test_cli_dose.py",
    "tests/workflow/test_verify.py",
    "tests/report/test_report.py",
    "tests/phantoms/test_phantom_maa.py",
    "tests/test_cli_dose_formats.py",
    "tests/test_cli_dose_inputs.py",
    "tests/workflow/test_cohort.py",
    "tests/io/test_segmentation_roundtrip.py",
    "tests/voxel/test_kernel.py",
    "tests/report/test_hand_plans.py",
    "tests/workflow/test_partial_volume_phantom.py",
    "tests/workflow/test_voxel_accuracy.py",
    "tests/report/test_partial_volume_report.py",
    "tests/io/test_lung_record.py",
    "tests/phantoms/test_phantom_arrays.py",
    "tests/workflow/test_verify_bremsstrahlung.py",
    "tests/workflow/test_verify_lungs.py",
    "tests/io/test_dicom_phantoms.py",
    "tests/io/test_segmentation_hardening.py",
    "tests/test_cli.py",
    "tests/report/test_identity_report.py",
    "tests/voxel/test_convolve_same.py",
    "tests/io/test_outputs_hardening.py",
)


def pytest_configure(config):
    """``--dist loadfile`` hands out the files in the order of the collection (xdist's default sorts them
    by their number of tests, which put the few-test whole-pipeline files last); see COSTLY_FIRST."""
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def _costly_first(items):
    rank = {name: i for i, name in enumerate(COSTLY_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: a file's tests keep their order


@pytest.hookimpl(hookwrapper=True)
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (``pip install pytest-xdist``, ``python -m pytest -n 2 --dist loadgroup``), the tests that share a fixture
    written once per module or session run on one worker, so that it is written once, not once per worker:
    each module with such a fixture is one group, and modules sharing a session fixture are one group.

    A hook wrapper, so that the groups are marked before xdist's own hook turns the ``xdist_group`` marks into
    the test ids' ``@group`` suffix on each worker.

    With pytest 9.2 and pytest-xdist 3.8 that suffix has no effect (xdist sets ``item._nodeid``, which pytest 9.2
    no longer reads): ``--dist loadgroup`` then spreads a module's tests over both workers and computes its
    module fixtures on each. ``--dist loadfile`` keeps each module on one worker (a session fixture is then
    computed at most once per worker); docs/performance.md has the measured figures."""
    if config.pluginmanager.hasplugin("xdist"):
        _mark_groups(items)
    yield
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: the controller hands out its collection's files in order
        _costly_first(items)


def _mark_groups(items):
    parent: dict[str, str] = {}

    def find(key):
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    shared = {}
    for item in items:
        module = item.nodeid.split("::")[0]
        keys = set()
        for name in item.fixturenames:
            defs = item._fixtureinfo.name2fixturedefs.get(name) or ()
            for fd in defs:
                if fd.scope == "function" or not fd.baseid:  # function scope, or pytest's own (tmp_path_factory)
                    continue
                keys.add(f"{fd.baseid}::{fd.argname}" if fd.scope in ("session", "package") else module)
        if keys:
            shared[item] = module
            for key in keys:
                parent[find(key)] = find(module)
    for item, module in shared.items():
        item.add_marker(pytest.mark.xdist_group(find(module)))
