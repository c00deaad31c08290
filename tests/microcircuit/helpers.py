"""Helpers of the microcircuit tests: the reference's smoke configuration.

Values: docs/microcircuits.md, "Reference numbers".
"""

from pathlib import Path

from reference_configs import REFERENCE_CONFIGS


def smoke_reference_mapping() -> dict:
    """The reference-format smoke configuration (docs/microcircuits.md, "Reference numbers")."""
    return {
        "network_properties": {
            "dims": [1, 1, 1],
            "lambda_api": 0.02,
            "lambda_nudge": 0.6,
            "learning_lag": 2000,
            "lr": [{"down": 0.001, "up": 0.4}, {"up": 0.001}],
            "n_last_spks": 1,
            "size_moving_average": 2000,
            "stdp_a_anticausal": 1.0,
            "stdp_a_causal": -1.0,
            "stdp_tau_anticausal": 10.0,
            "stdp_tau_causal": 10.0,
            "t_ref": 10,
            "tau_syn": 10,
        },
        "student_initial_parameters": {
            "bias": [-1.0, -1.0],
            "share_weights": False,
            "random_weights_init_limits": {"up": [-3.0, 3.0], "down": [-3.0, 3.0]},
        },
        "student_simulation_settings": {
            "len_epoch": 3,
            "len_symmetrization": 1,
            "len_validation": 1,
            "num_epochs": 2,
            "poisson_seed": 649854,
            "weights_init_seed": 355445,
            "record_all_spks": False,
            "recorded_quantities": [
                ["u_in"],
                ["u_pyr", "v_api", "w_up", "w_down"],
                ["u_pyr", "v_nudge", "u_tgt", "w_up", "validation", "symmetrization"],
            ],
            "recorded_sample_length": 10000,
            "set_sps": True,
            "shuffle_training": True,
            "shuffle_validation": False,
            "t_pattern": 1000,
            "training_seed": 915344,
            "update_down": True,
        },
        "teacher_initial_parameters": {"bias": [-1.0, -1.0], "weights": [{"w_up": 2.0}, {"w_up": 2.0}]},
        "teacher_simulation_settings": {
            "len_epoch": 3,
            "len_validation": 2,
            "num_epochs": 1,
            "poisson_seed": 423433,
            "recorded_quantities": [["u_in"], ["u_pyr"], ["u_pyr"]],
            "shuffle_training": True,
            "shuffle_validation": False,
            "t_pattern": 1000,
            "training_seed": 890423,
        },
        "u_input": {"training": [-2.0, -0.8, 0.8, 2.0, 3.0], "validation": [-1.8, -0.5, 1.8, 2.7]},
    }


def reference_file(*parts: str) -> Path:
    """A reference-format file of ``tests/fixtures/reference``."""
    return REFERENCE_CONFIGS.joinpath(*parts)
