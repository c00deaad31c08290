"""Sweeps: grids, executors (local processes and a real Dask LocalCluster), failures, resume."""

import json

import pytest

from spikealign.sweep import SweepSpec, grid_points, make_executor, run_sweep

SPEC = SweepSpec(
    name="toygrid",
    experiment="toy",
    base={"n_steps": 25, "n_walkers": 2},
    grid={"drift": [0.0, 0.5], "sigma": [1.0, 2.0]},
    seeds=[1, 2],
)

COMPARE = ["run_id", "status", "drift", "sigma", "seed", "mean_final", "std_final"]


def test_grid_points_product_zip_and_seeds():
    spec = SweepSpec(name="g", experiment="toy", grid={"a": [1, 2]}, zip={"b": [3, 4], "c": [5, 6]}, seeds=[7])
    pts = grid_points(spec)
    assert pts == [
        {"a": 1, "b": 3, "c": 5, "seed": 7},
        {"a": 1, "b": 4, "c": 6, "seed": 7},
        {"a": 2, "b": 3, "c": 5, "seed": 7},
        {"a": 2, "b": 4, "c": 6, "seed": 7},
    ]


def test_dask_local_cluster_gives_the_local_table(tmp_path):
    local = run_sweep(SPEC, tmp_path / "local", executor=make_executor("local", 2), show_progress=False)
    executor = make_executor("dask", 2)
    try:
        dask = run_sweep(SPEC, tmp_path / "dask", executor=executor, show_progress=False)
    finally:
        executor.close()
    a, b = local.table, dask.table
    assert len(a) == 8 and (a["status"] == "completed").all()
    assert a[COMPARE].equals(b[COMPARE])


def test_failing_run_is_reported_and_the_rest_completes(tmp_path):
    spec = SPEC.model_copy(update={"experiment": "toy-faults", "grid": {"fail": [False, True], "drift": [0.0, 1.0]}})
    res = run_sweep(spec, tmp_path / "s", executor=make_executor("serial"), show_progress=False)
    t = res.table
    assert len(t) == 8
    failed = t[t["fail"]]
    assert (failed["status"] == "failed").all()
    assert failed["error"].str.contains("asked to fail").all()
    assert (t[~t["fail"]]["status"] == "completed").all()
    meta = json.loads((res.run_dir(failed["run_id"].iloc[0]) / "meta.json").read_text())
    assert "RuntimeError" in meta["traceback"]


def test_second_call_computes_nothing_new(tmp_path):
    out = tmp_path / "s"
    res = run_sweep(SPEC, out, executor=make_executor("serial"), show_progress=False)
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("meta.json")}
    assert len(stamps) == 8
    again = run_sweep(SPEC, out, executor=make_executor("serial"), show_progress=False)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("meta.json")} == stamps
    assert again.table[COMPARE].equals(res.table[COMPARE])


def test_resume_reruns_only_missing_or_failed(tmp_path):
    out = tmp_path / "s"
    spec = SPEC.model_copy(update={"grid": {"drift": [0.0, 1.0]}})
    res = run_sweep(spec, out, executor=make_executor("serial"), show_progress=False)
    ids = res.table["run_id"].tolist()
    # simulate one run killed mid-way and one never started
    killed, missing = res.run_dir(ids[0]), res.run_dir(ids[1])
    meta = json.loads((killed / "meta.json").read_text())
    meta["status"] = "running"
    (killed / "meta.json").write_text(json.dumps(meta))
    for p in sorted(missing.rglob("*"), reverse=True):
        p.rmdir() if p.is_dir() else p.unlink()
    missing.rmdir()
    untouched = {i: (res.run_dir(i) / "meta.json").stat().st_mtime_ns for i in ids[2:]}
    again = run_sweep(spec, out, executor=make_executor("serial"), resume=True, show_progress=False)
    assert (again.table["status"] == "completed").all()
    assert {i: (again.run_dir(i) / "meta.json").stat().st_mtime_ns for i in ids[2:]} == untouched
    cols = [c for c in COMPARE if c != "sigma"]
    assert again.table[cols].equals(res.table[cols])


def test_unknown_executor_is_a_user_error():
    from spikealign.errors import UserError

    with pytest.raises(UserError, match="unknown executor"):
        make_executor("threads")


def test_a_crashing_worker_fails_only_its_runs(tmp_path):
    spec = SPEC.model_copy(update={"experiment": "toy-faults", "grid": {"crash": [False, True], "drift": [0.0, 1.0]}})
    executor = make_executor("local", 2)
    try:
        res = run_sweep(spec, tmp_path / "s", executor=executor, show_progress=False)
        # the pool is usable again afterwards
        again = run_sweep(SPEC, tmp_path / "t", executor=executor, show_progress=False)
    finally:
        executor.close()
    t = res.table
    assert (t[t["crash"]]["status"] == "failed").all()
    assert t[t["crash"]]["error"].str.contains("worker process died").all()
    assert (t[~t["crash"]]["status"] == "completed").all()
    assert (again.table["status"] == "completed").all()
