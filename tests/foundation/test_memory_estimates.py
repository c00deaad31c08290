"""Memory estimates that hold: one registry, an estimate for every kind, within 2x of the measured peak.

The peak is measured in a fresh process per kind (``peak_memory.py``): after a small warm-up run,
the peak resident size is reset and a run at each of two sizes is measured.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from spikealign import resources
from spikealign.config import validate
from spikealign.errors import UserError
from spikealign.families import EXPERIMENT_KINDS
from spikealign.registry import get_experiment
from spikealign.templates import config_template
from user_errors import assert_user_error

SRC = Path(__file__).resolve().parents[2] / "src"
PEAK = Path(__file__).resolve().parent / "peak_memory.py"

# kind -> warm-up config, then two sizes (about 20 and 60 MB of estimate)
SIZES = {
    "toy": ({"n_steps": 10}, *({"n_steps": n, "n_walkers": 100, "checkpoint_every": 10**9} for n in (12500, 37500))),
    "theory-stdd": ({"t_max": 20}, {"t_max": 110}, {"t_max": 160}),
    "theory-phase-plane": ({"t_max": 20, "n_w": 4}, {"t_max": 90, "n_w": 4}, {"t_max": 130, "n_w": 4}),
    "theory-spiking-sal": tuple({"n_epochs": n, "epoch_steps": 1} for n in (2, 300_000, 900_000)),
    "sal-evolution": tuple({"sizes": [n, n], "n_epochs": 1} for n in (10, 450, 800)),
    "estimator-connection": tuple({"seconds": 1, "n": n} for n in (4, 400, 700)),
    "microcircuit": tuple(
        {"student": {"num_epochs": 1, "len_epoch": 1, "len_validation": 1, "len_symmetrization": 0, "t_pattern": t},
         "teacher": {"t_pattern": t}, "figures": False}
        for t in (300, 50_000, 150_000)
    ),
    "ssn": tuple(
        {"dim": d, "schedule": {"num_epochs": e, "val_step": 2, "val_factor": 1, "dur": 1}, "diagnostic_figure": False,
         "neuron": {"t_ref": 2, "tau_syn": 2}}
        for d, e in ((4, 3), (15, 40), (15, 120))
    ),
    "sal-network": tuple(
        {"n_neurons": n, "duration_ms": t, "record_interval_ms": 1, "figures": False}
        for n, t in ((20, 10), (300, 10), (300, 30))
    ),
    # 4 and 64 simulations per batch of the progress-reporting runs: 2 x 2 points x 16 replicas
    "dale-sal": (
        {"n_steps": 1000, "w_e2_e1": [0.0], "w_e1_e2": [0.0]},
        *({"n_steps": n, "n_replicas": 16, "w_e2_e1": [0.0, 1.0], "w_e1_e2": [0.0, 1.0]} for n in (400_000, 1_200_000)),
    ),
    "dale-rate": (
        {"n_steps": 1000, "w_e2_e1": [0.0]},
        *({"n_steps": n, "n_replicas": 16, "w_e2_e1": [0.0, 1.0]} for n in (400_000, 1_200_000)),
    ),
    # MNIST-sized IDX files of random images (DATA is replaced by their folder; TINY by a 16-image one):
    # loading them, then a training batch of 32 and of 512 images
    "deep": tuple(
        {"method": "bp", "dataset": "mnist", "data_dir": d, "n_epochs": 1, "threads": 1, "estimator": {},
         "batch_size": n, "max_train": n, "max_test": 16, "test_batch_size": 8}
        for d, n in (("TINY", 8), ("DATA", 32), ("DATA", 512))
    ),
}  # fmt: skip
NEEDS_TORCH = {"sal-evolution", "estimator-connection", "deep"}


@pytest.fixture(scope="module")
def fake_mnist(tmp_path_factory) -> dict[str, str]:
    """Folders of MNIST-format IDX files: one of the real size (60,000 + 10,000 images), one of 16 + 16."""
    import numpy as np

    from spikealign.deep.data import write_idx

    rng = np.random.default_rng(0)
    out = {}
    for name, sizes in (("DATA", (60_000, 10_000)), ("TINY", (16, 16))):
        folder = tmp_path_factory.mktemp(name.lower())
        for stem, n in zip(("train", "t10k"), sizes, strict=True):
            write_idx(folder / f"{stem}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
            write_idx(folder / f"{stem}-labels-idx1-ubyte", rng.integers(0, 10, n, dtype=np.uint8))
        out[name] = str(folder)
    return out


def _measure(kind: str, folders: dict[str, str] | None = None) -> list[dict]:
    warmup, *sized = SIZES[kind]
    if folders:
        warmup, *sized = ({**c, "data_dir": folders[c["data_dir"]]} for c in (warmup, *sized))
    argv = [sys.executable, str(PEAK), kind, json.dumps(warmup), *(json.dumps(s) for s in sized)]
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    res = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    return [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc to reset the peak")
@pytest.mark.parametrize(
    "kind", [pytest.param(k, marks=[pytest.mark.torch] if k in NEEDS_TORCH else []) for k in sorted(SIZES)]
)
def test_estimate_within_2x_of_the_measured_peak(kind, request):
    records = _measure(kind, request.getfixturevalue("fake_mnist") if kind == "deep" else None)
    assert len(records) == 2
    for r in records:
        assert 0.5 <= r["ratio"] <= 2.0, r
    assert records[1]["peak"] > 1.5 * records[0]["peak"]  # the sizes really change what is allocated


def test_every_kind_is_measured():
    assert set(SIZES) == set(EXPERIMENT_KINDS)


def test_every_kind_has_an_estimate_that_works_on_its_template():
    """Each family registers the estimates of its kinds when it is imported (the core knows no family's fields)."""
    for kind in EXPERIMENT_KINDS:
        if kind in ("deep", *NEEDS_TORCH):
            try:
                import torch  # noqa: F401
            except ImportError:
                continue
        experiment = get_experiment(kind)
        assert kind in resources.ESTIMATES, kind
        assert resources.ESTIMATES[kind].__module__.startswith(EXPERIMENT_KINDS[kind][0]), kind  # by its family
        import yaml

        config = validate(experiment.config_model, yaml.safe_load(config_template(kind)))
        parts = resources.run_estimate(experiment, config)
        assert parts and all(p.nbytes >= 0 and p.keys for p in parts), kind


def test_a_failing_estimate_is_not_swallowed(monkeypatch):
    experiment = get_experiment("toy")
    config = validate(experiment.config_model, {"kind": "toy"})

    def broken(config):
        raise AttributeError("renamed key")

    monkeypatch.setitem(resources.ESTIMATES, "toy", broken)
    with pytest.raises(AttributeError, match="renamed key"):
        resources.check_run_memory(experiment, config)


def test_address_space_limit_is_respected(monkeypatch):
    import resource

    size = 100 << 30
    monkeypatch.setattr(resource, "getrlimit", lambda which: (size, resource.RLIM_INFINITY))
    free = resources._address_space_free()
    assert free is not None and free < size
    assert resources.available_memory() <= free
    with pytest.raises(UserError, match="would take at least 100 GiB"):
        resources.check_memory(float(size), "the thing", ("n",))


def test_huge_epochs_refused_before_allocation(tmp_path, capsys):
    from spikealign.cli import main

    cfg = tmp_path / "c.yaml"
    cfg.write_text("kind: theory-spiking-sal\nn_epochs: 1000000000000\n")
    assert main(["run", str(cfg), "--out", str(tmp_path / "o")]) == 2
    assert "TiB" in assert_user_error(capsys.readouterr().err, key="'n_epochs'", category="memory")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("kind", "sets", "key"),
    [("sal-evolution", ["sizes=[20000, 20000]"], "'sizes'"),
     ("microcircuit", ["student.t_pattern=1000000000"], "'student.t_pattern'"),
     ("theory-stdd", ["t_max=3000"], "'t_max'")],
)  # fmt: skip
def test_known_shortfalls_are_refused(tmp_path, capsys, kind, sets, key):
    from spikealign.cli import main

    if kind in NEEDS_TORCH:
        pytest.importorskip("torch")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"kind: {kind}\n")
    argv = ["run", str(cfg), "--out", str(tmp_path / "o")]
    for s in sets:
        argv += ["--set", s]
    assert main(argv) == 2
    assert_user_error(capsys.readouterr().err, key=key, category="memory")
