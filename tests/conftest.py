"""Fixtures shared across test packages: phantoms written once per session (read-only for tests)."""

import dataclasses

import numpy as np
import pytest

import phantoms


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
    d = tmp_path_factory.mktemp("dose_phantom") / "patient"
    phantoms.make_patient(d, seed=7)
    return d


@pytest.fixture(scope="session")
def maa_blurred_phantom(tmp_path_factory):
    """Tc-99m MAA SPECT phantom, four tumours, the demo's 10 mm FWHM camera (issue 25); tests only read it."""
    d = tmp_path_factory.mktemp("maa_blurred") / "patient"
    truth = phantoms.make_patient(d, radionuclide="Tc-99m", tumours=4)
    return d, truth


@pytest.fixture(scope="session")
def nm_unblurred_phantom(tmp_path_factory):
    """Y-90 SPECT phantom on the 4.42 mm grid, four tumours, no blur (issue 25); tests only read it."""
    d = tmp_path_factory.mktemp("nm_unblurred") / "patient"
    truth = phantoms.make_patient(d, modality="NM", fwhm_mm=0, tumours=4)
    return d, truth


@pytest.fixture(scope="session")
def maa_phantom(tmp_path_factory):
    """The seed-7 Tc-99m MAA SPECT/CT phantom (``make_patient(seed=7, radionuclide="Tc-99m")``),
    written once for the test modules that use it; tests only read it (their own files go elsewhere)."""
    d = tmp_path_factory.mktemp("maa_phantom") / "patient"
    phantoms.make_patient(d, seed=7, radionuclide="Tc-99m")
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
