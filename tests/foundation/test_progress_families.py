"""Every run reports progress: in a log (not a terminal) at least a summary line of its main loop."""

from __future__ import annotations

import pytest

from spikealign.cli import main

FAMILY_RUNS = [
    pytest.param(
        "theory-spiking-sal",
        ["n_epochs=3", "epoch_steps=200"],
    ),
    pytest.param(
        "ssn",
        ["schedule.num_epochs=3", "schedule.dur=10", "schedule.val_step=2", "schedule.val_factor=1"],
    ),
    pytest.param(
        "dale-sal",
        ["w_e2_e1=[0.5]", "w_e1_e2=[0.5]"],
    ),
]


@pytest.mark.parametrize(
    "kind, sets",
    [
        ("toy", ["n_steps=5"]),
        pytest.param("estimator-connection", ["seconds=2", "n=4"], marks=pytest.mark.torch),
        *FAMILY_RUNS,
    ],
)
def test_run_reports_progress_in_a_log(tmp_path, capsys, kind, sets):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"kind: {kind}\n")
    argv = ["run", str(cfg), "--out", str(tmp_path / "o")]
    for s in sets:
        argv += ["--set", s]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert any(": done " in line for line in err.splitlines()), err
