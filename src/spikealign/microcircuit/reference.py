"""The reference implementation's microcircuit YAML format: recognised by its keys and converted to ours.

A reference file (``network_properties``, ``student_simulation_settings``, ...) is converted by
:func:`from_reference`; its feedback mode follows from ``update_down`` and ``lr[0].down``
(``update_down: false`` -> bp, ``lr[0].down == 0`` -> fa, else sal), which gives exactly the
reference's dynamics.  Our config models are in :mod:`.config`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import StrictBool, StrictFloat, StrictInt

from .. import families
from ..config import StrictModel, validate
from ..errors import UserError
from .config import Matrix, MicrocircuitConfig, Vector


class _RefLr(StrictModel):
    up: StrictFloat | StrictInt
    down: StrictFloat | StrictInt | None = None


class _RefNetwork(StrictModel):
    dims: list[StrictInt]
    lambda_api: StrictFloat
    lambda_nudge: StrictFloat
    learning_lag: StrictInt
    lr: list[_RefLr]
    n_last_spks: StrictInt
    size_moving_average: StrictInt
    stdp_a_anticausal: StrictFloat
    stdp_a_causal: StrictFloat
    stdp_tau_anticausal: StrictFloat
    stdp_tau_causal: StrictFloat
    t_ref: StrictInt
    tau_syn: StrictInt


class _RefLimits(StrictModel):
    up: list[float]
    down: list[float]


class _RefWeights(StrictModel):
    w_up: Matrix
    w_down: Matrix | None = None
    w_pi: Matrix | None = None
    w_ip: Matrix | None = None


class _RefStudentInit(StrictModel):
    bias: list[Vector]
    share_weights: Any = None  # unused by the reference
    random_weights_init_limits: _RefLimits | None = None
    weights: list[_RefWeights] | None = None


class _RefTeacherInit(StrictModel):
    bias: list[Vector]
    weights: list[_RefWeights]
    share_weights: Any = None


class _RefSim(StrictModel):
    len_epoch: StrictInt
    len_validation: StrictInt
    num_epochs: StrictInt
    poisson_seed: StrictInt
    training_seed: StrictInt
    t_pattern: StrictInt
    recorded_quantities: list[list[str]]
    shuffle_training: StrictBool | StrictInt
    shuffle_validation: StrictBool | StrictInt
    len_symmetrization: StrictInt = 0
    weights_init_seed: StrictInt | None = None
    record_all_spks: StrictBool = False
    recorded_sample_length: StrictInt | None = None
    set_sps: StrictBool = True
    update_down: StrictBool = True


class _RefInputs(StrictModel):
    training: list[Vector]
    validation: list[Vector]


class _RefFile(StrictModel):
    network_properties: _RefNetwork
    student_initial_parameters: _RefStudentInit
    student_simulation_settings: _RefSim
    teacher_initial_parameters: _RefTeacherInit
    teacher_simulation_settings: _RefSim
    u_input: _RefInputs


def detect_reference(raw: dict[str, Any]) -> bool:
    """Is ``raw`` a microcircuit YAML of the reference implementation?  Its keys:
    :data:`spikealign.families.RECOGNISERS`."""
    return families.recogniser("microcircuit").matches(raw)


def from_reference(raw: dict[str, Any], path: Path | str | None = None, options: dict[str, Any] | None = None) -> dict:
    """Convert a reference microcircuit YAML mapping to our config mapping (see the module docstring).

    ``options`` may hold ``n_epochs`` (overrides the student's ``num_epochs``).
    """
    source = str(path) if path is not None else "reference config"
    ref: _RefFile = validate(_RefFile, raw, source=source)
    net, st, tst = ref.network_properties, ref.student_simulation_settings, ref.teacher_simulation_settings
    if len(net.dims) != 3:
        raise UserError(f"{source}: network_properties.dims must have 3 entries (got {len(net.dims)})")
    if len(net.lr) != 2 or net.lr[0].down is None:
        raise UserError(f"{source}: network_properties.lr must be [{{up, down}}, {{up}}]")
    if st.record_all_spks:
        raise UserError(f"{source}: student_simulation_settings.record_all_spks: true is not supported (use false)")
    lr_down = float(net.lr[0].down)
    feedback = "bp" if not st.update_down else ("fa" if lr_down == 0.0 else "sal")
    tw = ref.teacher_initial_parameters.weights
    if len(tw) != 2:
        raise UserError(f"{source}: teacher_initial_parameters.weights must have 2 entries (hidden, output)")
    teacher_weights = {"w10": tw[0].w_up, "w21": tw[1].w_up}
    if tw[0].w_down is not None:
        teacher_weights["b"] = tw[0].w_down
    student: dict[str, Any] = {
        "bias": ref.student_initial_parameters.bias,
        "len_epoch": st.len_epoch,
        "len_symmetrization": st.len_symmetrization,
        "len_validation": st.len_validation,
        "num_epochs": int((options or {}).get("n_epochs") or st.num_epochs),
        "t_pattern": st.t_pattern,
        "recorded_sample_length": st.recorded_sample_length,
        "set_sps": st.set_sps,
        "shuffle_training": bool(st.shuffle_training),
        "shuffle_validation": bool(st.shuffle_validation),
        "poisson_seed": st.poisson_seed,
        "weights_init_seed": st.weights_init_seed,
        "training_seed": st.training_seed,
    }
    init = ref.student_initial_parameters
    if init.weights is not None:
        if len(init.weights) != 2:
            raise UserError(f"{source}: student_initial_parameters.weights must have 2 entries")
        student["weights"] = {"w10": init.weights[0].w_up, "w21": init.weights[1].w_up}
        if init.weights[0].w_down is not None:
            student["weights"]["b"] = init.weights[0].w_down
    elif init.random_weights_init_limits is not None:
        student["init_limits_up"] = init.random_weights_init_limits.up
        student["init_limits_down"] = init.random_weights_init_limits.down
    else:
        raise UserError(f"{source}: student_initial_parameters needs 'weights' or 'random_weights_init_limits'")
    return {
        "kind": "microcircuit",
        "feedback": feedback,
        "network": {
            "dims": net.dims,
            "t_ref": net.t_ref,
            "tau_syn": net.tau_syn,
            "n_last_spks": net.n_last_spks,
            "lambda_api": net.lambda_api,
            "lambda_nudge": net.lambda_nudge,
            "learning_lag": net.learning_lag,
            "size_moving_average": net.size_moving_average,
            "stdp_a_causal": net.stdp_a_causal,
            "stdp_a_anticausal": net.stdp_a_anticausal,
            "stdp_tau_causal": net.stdp_tau_causal,
            "stdp_tau_anticausal": net.stdp_tau_anticausal,
            "lr_up": [float(net.lr[0].up), float(net.lr[1].up)],
            "lr_down": lr_down,
        },
        "teacher": {
            "weights": teacher_weights,
            "bias": ref.teacher_initial_parameters.bias,
            "t_pattern": tst.t_pattern,
            "poisson_seed": tst.poisson_seed,
        },
        "student": student,
        "inputs": {"training": ref.u_input.training, "validation": ref.u_input.validation},
    }


def load_reference(path: str | Path, options: dict[str, Any] | None = None) -> MicrocircuitConfig:
    """Read a reference microcircuit YAML file and return our validated config."""
    from ..config import load_yaml

    raw = load_yaml(path)
    if not detect_reference(raw):
        keys = ", ".join(families.recogniser("microcircuit").keys)
        raise UserError(f"{path}: not a reference microcircuit config (needs keys {keys})")
    return validate(MicrocircuitConfig, from_reference(raw, path, options), source=str(path))
