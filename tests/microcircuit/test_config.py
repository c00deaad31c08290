"""Configs: the reference format, our format, and clear errors for bad input."""

import json

import numpy as np
import pytest
import yaml

from spikealign.cli import main
from spikealign.config import validate
from spikealign.errors import UserError
from spikealign.microcircuit import experiments as E
from spikealign.microcircuit.config import MicrocircuitConfig
from spikealign.microcircuit.reference import from_reference, load_reference
from spikealign.runs import execute_run
from user_errors import assert_user_error

from .helpers import reference_file, smoke_reference_mapping


def tiny(**student) -> dict:
    """A small config of our format (short patterns) for fast runs."""
    cfg = E.paper_config("sal", num_epochs=2)
    cfg["network"].update(learning_lag=200, size_moving_average=200)
    cfg["teacher"]["t_pattern"] = 50
    cfg["student"].update(t_pattern=50, len_epoch=4, len_symmetrization=1, len_validation=2)
    cfg["student"].update(student)
    cfg["figures"] = False
    return cfg


@pytest.mark.parametrize("condition", ["sal", "fa", "bp"])
def test_paper_configs_equal_the_reference_files(condition):
    name = {"sal": "sal.yaml", "fa": "fa.yaml", "bp": "bp.yaml"}[condition]
    ours = validate(MicrocircuitConfig, E.paper_config(condition), "ours")
    theirs = load_reference(reference_file("microcircuits", name))
    assert theirs == ours
    assert theirs.feedback == condition


def test_feedback_mode_follows_update_down_and_lr_down():
    raw = smoke_reference_mapping()
    assert from_reference(raw)["feedback"] == "sal"
    raw["network_properties"]["lr"][0]["down"] = 0.0
    assert from_reference(raw)["feedback"] == "fa"
    raw["student_simulation_settings"]["update_down"] = False
    assert from_reference(raw)["feedback"] == "bp"


def test_cli_runs_a_reference_yaml_unchanged(tmp_path):
    path = tmp_path / "example.yaml"
    raw = smoke_reference_mapping()
    raw["student_simulation_settings"]["num_epochs"] = 1
    raw["student_simulation_settings"]["t_pattern"] = 300
    raw["teacher_simulation_settings"]["t_pattern"] = 300
    raw["student_simulation_settings"]["recorded_sample_length"] = 3000
    path.write_text(yaml.safe_dump(raw))
    assert main(["run", str(path), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert len(m["validation_loss"]) == 1 and len(m["prediction_error"]) == 1
    assert (tmp_path / "run" / "figures" / "student.png").is_file()


def test_len_validation_zero_runs(tmp_path):
    cfg = validate(MicrocircuitConfig, tiny(len_validation=0), "x")
    summary = execute_run(E.MICROCIRCUIT, cfg, tmp_path / "r", show_progress=False)
    m = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert m["validation_loss"] == [] and summary["final_validation_loss"] is None
    assert len(np.load(tmp_path / "r" / "student.npz")["u_out"]) == 8


def test_explicit_student_weights_run(tmp_path):
    raw = smoke_reference_mapping()
    init = raw["student_initial_parameters"]
    del init["random_weights_init_limits"]
    init["weights"] = [{"w_up": 1.5, "w_down": 0.5}, {"w_up": -0.5}]
    raw["student_simulation_settings"]["num_epochs"] = 1
    cfg = validate(MicrocircuitConfig, from_reference(raw), "x")
    execute_run(E.MICROCIRCUIT, cfg.model_copy(update={"figures": False}), tmp_path / "r", show_progress=False)
    s = np.load(tmp_path / "r" / "student.npz")
    assert s["init_w10"].ravel()[0] == 1.5 and s["init_b"].ravel()[0] == 0.5 and s["init_w21"].ravel()[0] == -0.5


def test_wide_config_with_vector_inputs_runs(tmp_path):
    cfg = E.wide_config("sal", num_epochs=1)
    cfg["network"].update(learning_lag=200, size_moving_average=200)
    cfg["teacher"]["t_pattern"] = 30
    cfg["student"].update(t_pattern=30)
    cfg["figures"] = False
    config = validate(MicrocircuitConfig, cfg, "x")
    summary = execute_run(E.MICROCIRCUIT, config, tmp_path / "r", show_progress=False)
    m = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert len(m["feedback_angle"]) == 1 and 0.0 <= summary["final_feedback_angle"] <= 180.0
    t = np.load(tmp_path / "r" / "teacher.npz")
    assert t["targets"].shape == (12, 3) and t["inputs"].shape == (12, 4)


# ------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["student"].update(weights={"w10": [[1.0, 2.0]], "w21": 1.0, "b": 1.0}), "w10 has shape (1, 2)"),
        (lambda c: c["network"].update(dims=[1, 1]), "dims must be three"),
        (lambda c: c["network"].update(dims="abc"), "network.dims"),
        (lambda c: c["network"].update(colour=3), "unknown key 'network.colour'"),
        (lambda c: c.update(feedback="magic"), "feedback"),
        (lambda c: c["student"].update(len_epoch="many"), "student.len_epoch"),
        (lambda c: c["student"].update(len_symmetrization=4), "len_symmetrization (4) must be smaller"),
        (lambda c: c["network"].update(learning_lag=10**6), "learning_lag"),
        (lambda c: c["inputs"].update(training=[[1.0, 2.0]]), "inputs.training[0] has 2 entries"),
        (lambda c: c["student"].update(bias=[-1.0]), "student.bias must have two entries"),
        (lambda c: c["student"].update(weights={"w10": 1.0, "w21": 1.0}), "student.weights.b is required"),
    ],
)
def test_bad_config_gives_one_line_user_error(change, message):
    cfg = tiny()
    change(cfg)
    with pytest.raises(UserError) as err:
        validate(MicrocircuitConfig, cfg, "cfg.yaml")
    text = str(err.value)
    assert message in text and "\n" not in text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r["network_properties"].update(lambda_api="high"), "network_properties.lambda_api"),
        (lambda r: r["network_properties"].update(t_ref=10.0), "network_properties.t_ref"),
        (lambda r: r["student_simulation_settings"].update(speed=2), "unknown key"),
        (lambda r: r["student_simulation_settings"].update(record_all_spks=True), "record_all_spks"),
        (lambda r: r["network_properties"].update(dims=[1, 1, 1, 1]), "dims must have 3 entries"),
    ],
)
def test_bad_reference_file_gives_user_error(change, message):
    raw = smoke_reference_mapping()
    change(raw)
    with pytest.raises(UserError) as err:
        validate(MicrocircuitConfig, from_reference(raw, "ref.yaml"), "ref.yaml")
    assert message in str(err.value)


def test_dims_mismatch_of_explicit_weights_in_reference_file():
    raw = smoke_reference_mapping()
    raw["teacher_initial_parameters"]["weights"][0]["w_up"] = [[1.0, 2.0, 3.0]]
    with pytest.raises(UserError, match=r"teacher.weights.w10 has shape \(1, 3\)"):
        validate(MicrocircuitConfig, from_reference(raw, "ref.yaml"), "ref.yaml")


def test_n_epochs_option_of_the_cli_applies_to_reference_files():
    assert from_reference(smoke_reference_mapping(), "ref.yaml", {"n_epochs": 7})["student"]["num_epochs"] == 7
    with pytest.raises(UserError, match="--section does not apply"):
        E.MICROCIRCUIT.from_reference(smoke_reference_mapping(), "ref.yaml", {"section": "x"})


def test_cli_runs_our_own_config_with_overrides(tmp_path, capsys):
    from pathlib import Path

    config = Path(E.__file__).parent / "configs" / "wide_sal.yaml"
    sets = [
        "student.num_epochs=1",
        "student.t_pattern=30",
        "teacher.t_pattern=30",
        "network.learning_lag=100",
        "network.size_moving_average=100",
        "figures=false",
    ]
    args = ["run", str(config), "--out", str(tmp_path / "run"), "--quiet"]
    for s in sets:
        args += ["--set", s]
    assert main(args) == 0
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert len(m["feedback_angle"]) == 1 and len(m["validation_loss"]) == 1
    capsys.readouterr()
    assert main(["run", str(config), "--out", str(tmp_path / "bad"), "--set", "network.dims=[4, 8]"]) == 2
    assert_user_error(capsys.readouterr().err, key="'network.dims'", category="invalid value")
