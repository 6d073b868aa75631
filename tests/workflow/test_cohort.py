"""Issue 24: a cohort runs every case through the same run_case as `y90 report`, failures stay
local, a second run recomputes nothing that was done, and the tables hold the single runs' figures.

The study: one phantom patient planned from its Tc-99m MAA SPECT/CT (written as `y90 demo` writes
it), the glass and resin example patients, one glass case with overrides (blocked), one with a
refused override and one whose patient file is missing. Every figure is compared with a separate
run_case of the same patient file (the overrides written into a copy of the file by hand).
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dosimetry.cli import write_demo_patient
from dosimetry.errors import InputError
from dosimetry.io.manifest import read_manifest
from dosimetry.io.patient import load_patient
from dosimetry.report.build import write_case_report
from dosimetry.workflow import cohort as cohort_mod
from dosimetry.workflow import run_case
from dosimetry.workflow.cohort import CohortCase, estimate_memory, run_cohort

EXAMPLES = Path(cohort_mod.__file__).parents[1] / "examples"

MANIFEST = """patient_file,case,target.dose,lung.shunt_fraction
glass.toml,g1,,
glass.toml,g2,150 Gy,0.1
glass.toml,g3,abc Gy,
resin.toml,r1,,
missing.toml,m1,,
phantom/patient.toml,,,
"""


class Counter:
    """run_case, counting its calls (what a resumed run recomputes)."""

    def __init__(self):
        self.calls = []

    def __call__(self, pf, **kw):
        self.calls.append(pf.patient.id)
        return run_case(pf, **kw)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    d = tmp_path_factory.mktemp("study")
    for name in ("glass.toml", "resin.toml"):
        shutil.copy(EXAMPLES / name, d / name)
    write_demo_patient(d / "phantom", seed=11, patient_id="PH-11", tumours=1)
    (d / "manifest.csv").write_text(MANIFEST)
    counter = Counter()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cohort_mod, "run_case", counter)
        result = run_cohort(read_manifest(d / "manifest.csv"), d / "out", report=write_case_report)
    return d, result, counter.calls


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_case_is_a_row_in_manifest_order_and_failures_stay_local(study):
    d, result, calls = study
    status = {o.name: o.status for o in result.outcomes}
    assert list(status) == ["g1", "g2", "g3", "r1", "m1", "PH-11"]  # unnamed case: its patient.id
    assert status["g1"] == status["r1"] == "WITHIN LIMITS"
    assert status["g2"] == "BLOCKED"
    assert status["g3"] == status["m1"] == "REFUSED"
    assert status["PH-11"] in ("WITHIN LIMITS", "BLOCKED", "NEEDS A DECISION")
    assert sorted(calls) == sorted(["EX-001", "EX-001", "EX-001", "PH-11"])  # the refused never reach run_case
    patients = _rows(d / "out" / "patients.csv")
    assert [r["case"] for r in patients] == list(status)
    assert [r["status"] for r in patients] == list(status.values())
    assert all(r["error"] == "" for r in patients if r["status"] not in ("REFUSED", "FAILED"))
    assert "missing.toml" in next(r["error"] for r in patients if r["case"] == "m1")


def test_a_refused_override_names_its_row_and_column_with_the_files_message(study, tmp_path):
    d, result, _ = study
    error = next(o.patient["error"] for o in result.outcomes if o.name == "g3")
    text = (d / "glass.toml").read_text().replace('dose = "120 Gy"', 'dose = "abc Gy"')
    (tmp_path / "p.toml").write_text(text)
    with pytest.raises(InputError) as exc:
        load_patient(tmp_path / "p.toml")
    assert exc.value.field == "target.dose"
    assert error == f"manifest row 4, column target.dose: {exc.value.message}"


def _single(path: Path):
    return run_case(load_patient(path))


def test_rows_hold_the_figures_of_single_runs(study, tmp_path):
    d, result, _ = study
    rows = {r["case"]: r for r in _rows(d / "out" / "patients.csv")}
    # g2: the overrides written into a copy of the file by hand, run alone
    text = (d / "glass.toml").read_text().replace('dose = "120 Gy"', 'dose = "150 Gy"').replace("shunt_fraction = 0.05", "shunt_fraction = 0.1")
    (tmp_path / "g2.toml").write_text(text)
    singles = {"g1": _single(d / "glass.toml"), "g2": _single(tmp_path / "g2.toml"), "r1": _single(d / "resin.toml"),
               "PH-11": _single(d / "phantom" / "patient.toml")}
    for name, case in singles.items():
        row, p = rows[name], case.plan.plan
        assert row["status"] == case.status
        assert float(row["prescribed_activity_GBq"]) == p.prescribed_activity.to("GBq").magnitude
        assert float(row["lung_dose_Gy"]) == p.lung_dose.to("Gy").magnitude
        assert float(row["lung_shunt_fraction"]) == float(p.lung_shunt_fraction)
        assert row["binding_limit"] == case.binding
        assert int(row["warnings_count"]) >= len(case.warnings)  # plus one per override
    assert float(rows["g2"]["lung_shunt_fraction"]) == 0.1 and float(rows["g2"]["target_dose_Gy"]) == pytest.approx(150.0)
    assert rows["g2"]["failed_checks"] and int(rows["g2"]["failed_checks_count"]) == len(singles["g2"].failed)
    # the phantom's regions: one row per voxel region, the single run's figures
    regions = [r for r in _rows(d / "out" / "regions.csv") if r["case"] == "PH-11"]
    voxel = singles["PH-11"].voxel
    assert [r["region"] for r in regions] == [g.name for g in voxel.regions]
    for r, g in zip(regions, voxel.regions):
        assert float(r["mean_dose_Gy"]) == g.stats.mean.to("Gy").magnitude
        assert float(r["D70_Gy"]) == g.stats.d[70].to("Gy").magnitude
        assert float(r["D95_Gy"]) == g.stats.d[95].to("Gy").magnitude
        assert float(r["V100_percent"]) == pytest.approx(100 * float(g.stats.v[100]))
        assert float(r["volume_mL"]) == g.stats.volume.to("mL").magnitude
        if g.mean_bed is None:  # no BED parameters for the lungs (workflow.BED_PARAMETERS)
            assert r["mean_BED_Gy"] == "" and g.role == "lung"
        else:
            assert float(r["mean_BED_Gy"]) == g.mean_bed.to("Gy").magnitude
        if g.role == "tumour":
            assert float(r["tumour_to_normal"]) == voxel.tumour_to_normal[g.name]
        else:
            assert r["tumour_to_normal"] == ""
    assert not any(r["case"] != "PH-11" for r in _rows(d / "out" / "regions.csv"))  # no imaging, no regions


def test_each_case_folder_is_the_report_of_y90_report(study):
    d, result, _ = study
    out = d / "out"
    assert {p.name for p in (out / "g1").iterdir()} == {"report.pdf", "report.json", "summary.txt", "cohort.json"}
    assert {"rtdose.dcm", "dvh.csv", "report.pdf", "report.json"} <= {p.name for p in (out / "PH-11").iterdir()}
    assert not (out / "g3").exists() and not (out / "m1").exists()  # refused: a row, no folder
    doc = json.loads((out / "g2" / "report.json").read_text())
    assert doc["status"] == "BLOCKED"
    assert any("target.dose = '150 Gy' set by the cohort manifest, row 3" in w for w in doc["warnings"])  # the report says so
    row = next(o.patient for o in result.outcomes if o.name == "g2")
    assert doc["prescribed_activity"]["value"] == row["prescribed_activity_GBq"]


def test_csv_and_parquet_hold_the_same_table(study):
    d, _, _ = study
    for name in ("patients", "regions"):
        rows = _rows(d / "out" / f"{name}.csv")
        table = pq.read_table(d / "out" / f"{name}.parquet").to_pylist()
        assert len(rows) == len(table) > 0
        assert list(rows[0]) == list(table[0])
        for r, t in zip(rows, table):
            for k, v in t.items():
                if v is None:
                    assert r[k] == ""
                elif isinstance(v, bool):
                    assert r[k] == ("true" if v else "false")
                elif isinstance(v, float):
                    assert float(r[k]) == v
                else:
                    assert r[k] == str(v)
    cols = list(_rows(d / "out" / "regions.csv")[0])
    assert {"patient_id", "region", "mean_dose_Gy", "D70_Gy", "D95_Gy", "V100_percent", "mean_BED_Gy", "volume_mL", "tumour_to_normal"} <= set(cols)
    cols = list(_rows(d / "out" / "patients.csv")[0])
    assert {"patient_id", "status", "error", "prescribed_activity_GBq", "binding_limit", "lung_dose_Gy", "patient_file_sha256", "ct_sha256"} <= set(cols)


def test_a_second_run_recomputes_nothing_and_writes_the_same_tables(study, monkeypatch):
    d, first, _ = study
    before = {n: (d / "out" / f"{n}.csv").read_bytes() for n in ("patients", "regions")}
    mtimes = {p.name: p.stat().st_mtime_ns for p in (d / "out").iterdir() if p.is_dir()}
    counter = Counter()
    monkeypatch.setattr(cohort_mod, "run_case", counter)
    again = run_cohort(read_manifest(d / "manifest.csv"), d / "out", report=write_case_report)
    assert counter.calls == []
    assert again.reused == 4 and again.patients == first.patients
    assert {n: (d / "out" / f"{n}.csv").read_bytes() for n in ("patients", "regions")} == before
    assert {p.name: p.stat().st_mtime_ns for p in (d / "out").iterdir() if p.is_dir()} == mtimes


# -- stopping, resuming, changed inputs: plan-only cases (no report), fast ------------------------
@pytest.fixture
def small(tmp_path):
    shutil.copy(EXAMPLES / "glass.toml", tmp_path / "glass.toml")
    lines = ["patient_file,case,target.dose"] + [f"glass.toml,c{i},{100 + 5 * i} Gy" for i in range(6)]
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_a_run_stopped_half_way_resumes_where_it_was(small, monkeypatch):
    calls = []

    def stop_at_4th(pf, **kw):
        calls.append(pf)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return run_case(pf, **kw)

    monkeypatch.setattr(cohort_mod, "run_case", stop_at_4th)
    with pytest.raises(KeyboardInterrupt):
        run_cohort(read_manifest(small / "m.csv"), small / "out")
    assert sorted(p.name for p in (small / "out").iterdir() if not p.name.startswith(".")) == ["c0", "c1", "c2"]
    assert not (small / "out" / "patients.csv").exists()  # no table of a partial run
    # what a run killed while writing a case leaves: a staged folder, and a folder without its record
    (small / "out" / ".c3.x1y2.partial").mkdir()
    (small / "out" / "c4").mkdir()
    (small / "out" / "c4" / "report.pdf").write_bytes(b"%PDF half")
    counter = Counter()
    monkeypatch.setattr(cohort_mod, "run_case", counter)
    result = run_cohort(read_manifest(small / "m.csv"), small / "out")
    assert len(counter.calls) == 3  # c3, c4, c5 only
    assert [o.reused for o in result.outcomes] == [True, True, True, False, False, False]
    assert not (small / "out" / ".c3.x1y2.partial").exists()
    assert sorted(p.name for p in (small / "out" / "c4").iterdir()) == ["cohort.json"]


def test_a_changed_input_or_override_is_computed_again(small, monkeypatch):
    run_cohort(read_manifest(small / "m.csv"), small / "out")
    text = (small / "m.csv").read_text().replace("c2,110 Gy", "c2,111 Gy")
    (small / "m.csv").write_text(text)
    counter = Counter()
    monkeypatch.setattr(cohort_mod, "run_case", counter)
    result = run_cohort(read_manifest(small / "m.csv"), small / "out")
    assert len(counter.calls) == 1 and [o.name for o in result.outcomes if not o.reused] == ["c2"]
    assert result.patients[2]["target_dose_Gy"] == pytest.approx(111.0)
    with open(small / "glass.toml", "a") as fh:
        fh.write("\n# a comment changes the file's bytes: every case is its inputs' hash\n")
    counter.calls.clear()
    run_cohort(read_manifest(small / "m.csv"), small / "out")
    assert len(counter.calls) == 6


def test_a_folder_that_is_not_a_cohort_is_refused_and_never_emptied(small):
    (small / "out").mkdir()
    (small / "out" / "thesis.docx").write_text("precious")
    with pytest.raises(InputError, match="not a y90 cohort folder"):
        run_cohort(read_manifest(small / "m.csv"), small / "out")
    assert (small / "out" / "thesis.docx").read_text() == "precious"


def test_one_patient_twice_needs_case_names(small):
    (small / "m2.csv").write_text("patient_file\nglass.toml\nglass.toml\n")
    with pytest.raises(InputError, match="manifest row 2 and manifest row 3 both give the case name 'EX-001'"):
        run_cohort(read_manifest(small / "m2.csv"))


def test_a_list_of_patient_files_is_a_cohort_too(small):
    resin = small / "resin.toml"
    resin.write_text((EXAMPLES / "resin.toml").read_text().replace('id = "EX-001"', 'id = "EX-002"'))
    result = run_cohort([small / "glass.toml", resin])
    assert [o.name for o in result.outcomes] == ["EX-001", "EX-002"]
    single = run_case(load_patient(resin)).plan.plan.prescribed_activity.to("GBq").magnitude
    assert result.patients[1]["prescribed_activity_GBq"] == single and result.patients[1]["manifest_row"] is None


def test_a_case_over_the_memory_limit_fails_as_its_own_row(study):
    d, _, _ = study
    phantom, glass = load_patient(d / "phantom" / "patient.toml"), load_patient(d / "glass.toml")
    limit = (estimate_memory(phantom) + estimate_memory(glass)) // 2 / 0.9
    result = run_cohort([CohortCase("ph", phantom.path), CohortCase("g", glass.path)], memory_limit=int(limit))
    ph, g = result.outcomes
    assert ph.status == "FAILED" and "needs an estimated" in ph.patient["error"] and "memory limit of a worker" in ph.patient["error"]
    assert g.status == "WITHIN LIMITS"


def test_the_memory_estimate_bounds_the_measured_peaks():
    """The two measured peaks the constants were set from (cohort.CASE_MEMORY_*), with the margin said there."""
    base, per = cohort_mod.CASE_MEMORY_BASE, cohort_mod.CASE_MEMORY_PER_IMAGE_BYTE
    for image_bytes, peak_mib in ((8_575_164, 265), (178_496_550, 4151)):
        assert (base + per * image_bytes) / 2**20 >= 1.12 * peak_mib


# -- on Dask: plan-only cases without reports (the distribution, not the report, is under test) --------
def test_a_local_cluster_gives_the_rows_of_the_in_process_run(small):
    here = run_cohort(read_manifest(small / "m.csv"))
    on_dask = run_cohort(read_manifest(small / "m.csv"), small / "out", workers=2, processes=False)
    assert on_dask.patients == here.patients
    assert sorted(p.name for p in (small / "out").iterdir() if p.is_dir()) == [f"c{i}" for i in range(6)]
    again = run_cohort(read_manifest(small / "m.csv"), small / "out", workers=1, processes=False)
    assert again.reused == 6


def test_an_existing_scheduler_runs_the_cases(small):
    from distributed import LocalCluster
    from distributed.diagnostics.plugin import SchedulerPlugin

    class Keys(SchedulerPlugin):
        def __init__(self):
            self.done = set()

        def transition(self, key, start, finish, *args, **kwargs):
            if finish == "memory":
                self.done.add(str(key))

    keys, seen = Keys(), []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address="127.0.0.1:0") as cluster:
        cluster.scheduler.add_plugin(keys)
        result = run_cohort(read_manifest(small / "m.csv"), small / "out", scheduler=cluster.scheduler_address,
                            progress=lambda *counts: seen.append(counts))
    # one task per case, keyed by the case, computed by this scheduler's workers
    assert sorted(k.rsplit("-", 1)[0] for k in keys.done) == [f"y90-case-c{i}" for i in range(6)]
    assert seen[0] == (0, 0, 6) and seen[-1] == (6, 0, 0)
    assert result.patients == run_cohort(read_manifest(small / "m.csv")).patients


def test_an_unreachable_scheduler_is_invalid_input(small, monkeypatch):
    from dosimetry.workflow import cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 1)
    with pytest.raises(InputError, match="--scheduler: cannot reach a Dask scheduler at 'tcp://127.0.0.1:9'"):
        run_cohort(read_manifest(small / "m.csv"), scheduler="tcp://127.0.0.1:9")


def test_a_case_that_takes_its_worker_down_is_its_own_row_and_not_tried_again():
    """A worker process that dies under a case (here: os._exit, as the nanny's kill at its memory
    limit would) gives that case's row from on_lost, once (allowed-failures 0), and the run ends."""
    import os

    from dosimetry.workflow.cluster import run_on_dask

    lost = []
    results = run_on_dask(lambda limit: [3], os._exit, keys=["dies"], workers=1, memory_limit=2**30,
                          on_lost=lambda task, exc: lost.append((task, type(exc).__name__)) or "lost")
    assert results == ["lost"] and lost == [(3, "KilledWorker")]
