"""One microcircuit run: teacher, student, files (the ``run`` of experiment ``microcircuit``).

Files written into the run directory:

- ``teacher.npz``: ``inputs`` (patterns, N0), ``targets`` (patterns, N2; training then
  validation inputs), ``n_train``, per-pattern ``rate_*`` (spikes per t_ref);
- ``student.npz``: per pattern ``u_in``, ``u_tgt``, ``u_out`` (mean nudged output potential after
  the lag), ``u_free`` (mean of ``b2 + W21 x_h``, the un-nudged prediction), ``is_symmetrization``,
  ``is_validation``, ``rate_{input,hidden,interneuron,output}``, end-of-pattern weights
  ``end_{w10,b,w21}`` (float64), initial weights ``init_{w10,b,w21}``, and the reference's float32
  records ``rec_<name>`` (one mean per ``recorded_sample_length`` steps; names in
  :data:`spikealign.microcircuit.kernel.RECORDED`);
- ``metrics.json``: ``validation_loss`` (the reference's nudged loss, one value per validation
  block), ``prediction_error`` (same with the un-nudged prediction), ``validation_times``,
  ``epoch_len``, ``feedback_angle`` (degrees between B and W21^T at each epoch end) and
  ``feedback_angle_initial`` (before training, after the BP copy; both only when N1 * N2 > 1),
  ``teacher_targets``;
- ``figures/teacher.*`` and ``figures/student.*`` (when ``figures: true``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import seeding
from ..runs import structure_problem
from .config import MicrocircuitConfig
from .model import NetworkParams
from .protocol import Student, StudentSettings, draw_student_weights, feedback_angle, make_schedule, run_teacher


def _dims(dims: Sequence[int]) -> tuple[int, int, int]:
    n0, n1, n2 = dims  # validated: three layer sizes
    return int(n0), int(n1), int(n2)


def _pair(limits: Sequence[float]) -> tuple[float, float]:
    low, high = limits  # validated: two limits
    return float(low), float(high)


# a field-by-field keyword list (config -> NetworkParams), alike in shape only to _save_student's array names
def network_params(config: MicrocircuitConfig) -> NetworkParams:
    n = config.network
    return NetworkParams(
        dims=_dims(n.dims),
        t_ref=n.t_ref,
        tau_syn=n.tau_syn,
        n_last_spks=n.n_last_spks,
        lambda_api=n.lambda_api,
        lambda_nudge=n.lambda_nudge,
        learning_lag=n.learning_lag,
        size_moving_average=n.size_moving_average,
        stdp_a_causal=n.stdp_a_causal,
        stdp_a_anticausal=n.stdp_a_anticausal,
        stdp_tau_causal=n.stdp_tau_causal,
        stdp_tau_anticausal=n.stdp_tau_anticausal,
        lr_up=(float(n.lr_up[0]), float(n.lr_up[1])),
        lr_down=n.lr_down,
    )


def _seed(value: int | None, root: int, name: str) -> int | np.random.SeedSequence:
    """An explicit integer seed (reference-compatible), or a stream derived from the root seed."""
    return value if value is not None else seeding.seed_sequence(root, "microcircuit", name)


def _bias(bias: list) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(bias[0], dtype=float), np.asarray(bias[1], dtype=float)


def teacher_weights(config: MicrocircuitConfig) -> dict[str, np.ndarray]:
    """The teacher's fixed weights (default W10 = W21 = 2, B = 0), or random ones if configured."""
    n0, n1, n2 = config.network.dims
    t = config.teacher
    if t.random_weights is not None:
        rng = np.random.default_rng(t.random_weights.seed)
        lo, hi = t.random_weights.limits
        return {"w10": rng.uniform(lo, hi, size=(n1, n0)), "w21": rng.uniform(lo, hi, size=(n2, n1))}
    if t.weights is None:
        return {"w10": np.full((n1, n0), 2.0), "w21": np.full((n2, n1), 2.0)}
    out = {"w10": np.asarray(t.weights.w10, float), "w21": np.asarray(t.weights.w21, float)}
    if t.weights.b is not None:
        out["b"] = np.asarray(t.weights.b, float)
    return out


def student_init(config: MicrocircuitConfig, root_seed: int) -> dict[str, np.ndarray]:
    """Explicit initial weights, or W10, B, W21 drawn from ``default_rng(weights_init_seed)``."""
    s = config.student
    if s.weights is not None:
        w = {"w10": np.asarray(s.weights.w10, float), "w21": np.asarray(s.weights.w21, float)}
        w["b"] = np.asarray(s.weights.b, float) if s.weights.b is not None else np.zeros(1)
        return w
    return draw_student_weights(
        _seed(s.weights_init_seed, root_seed, "weights_init"),
        _dims(config.network.dims),
        _pair(s.init_limits_up),
        _pair(s.init_limits_down),
    )


def run(config: MicrocircuitConfig, ctx) -> dict[str, Any]:
    """Teacher then student; writes the files listed in the module docstring."""
    params = network_params(config)
    teacher = _run_teacher(config, params, ctx)
    student = _make_student(config, params, teacher, ctx)
    state = ctx.load_checkpoint(check_unstamped=lambda state: unstamped_problem(state, student))
    if state is not None:
        student.load_state(state["student"])
    res = _train(student, config, ctx)
    _save_student(res, ctx)
    e = student.epoch_len
    angles = _angles(res, e, student.n_patterns, params.dims)
    ctx.save_metrics(_metrics(res, e, teacher, angles))
    if config.figures:
        from .figures import draw_run_figures

        draw_run_figures(teacher, res, e, ctx.figures_dir, angles)
    return summarize(res, e, angles)


def unstamped_problem(state: dict[str, Any], student: Student) -> str | None:
    """What does not fit in a microcircuit checkpoint of the earlier format (no stamp), else ``None``:
    the network state must have the structure of ``student``'s (built for this config), and every
    per-pattern record one entry of the shape it has now for each pattern done."""
    fresh = student.state()
    if set(state) != {"student"} or not isinstance(state["student"], dict):
        return "it holds no 'student' state"
    got = state["student"]
    p = got.get("p")
    if set(got) != set(fresh) or not isinstance(p, int) or isinstance(p, bool) or not 0 <= p <= student.n_patterns:
        return f"'student' holds no pattern count in 0..{student.n_patterns} with keys {', '.join(sorted(fresh))}"
    problem = structure_problem(got["net"], fresh["net"], "student.net")
    if problem or not isinstance(got["out"], dict) or set(got["out"]) != set(fresh["out"]):
        return problem or f"'student.out' does not hold the records {', '.join(sorted(fresh['out']))}"
    n0, n1, n2 = student.net.dims
    s = student.net.s
    entry = {"u_out": np.zeros(n2), "u_free": np.zeros(n2), "w10": s["w10"], "b": s["b"], "w21": s["w21"],
             "r_input": np.zeros(n0), "r_hidden": np.zeros(n1), "r_interneuron": np.zeros(n2),
             "r_output": np.zeros(n2)}  # fmt: skip
    for key, like in entry.items():
        problem = structure_problem(got["out"][key], [like] * p, f"student.out.{key}")
        if problem:
            return problem
    return structure_problem(got["out"]["acc"], [0.0, 0.0], "student.out.acc")


def _run_teacher(config: MicrocircuitConfig, params: NetworkParams, ctx):
    n0 = params.dims[0]
    teacher = run_teacher(
        params,
        teacher_weights(config),
        _bias(config.teacher.bias),
        config.teacher.t_pattern,
        _seed(config.teacher.poisson_seed, ctx.seed, "teacher_poisson"),
        _rows(config.inputs.training, n0),
        _rows(config.inputs.validation, n0),
    )
    ctx.save_arrays(
        "teacher",
        inputs=teacher.inputs,
        targets=teacher.u_out,
        n_train=np.array(teacher.n_train),
        **{f"rate_{k}": v for k, v in teacher.rates.items()},
    )
    return teacher


def _make_student(config: MicrocircuitConfig, params: NetworkParams, teacher, ctx) -> Student:
    n0, _, n2 = params.dims
    s = config.student
    u_in, u_tgt = make_schedule(
        _rows(config.inputs.training, n0),
        _rows(config.inputs.validation, n0),
        teacher.train_targets,
        teacher.val_targets if len(config.inputs.validation) else np.zeros((0, n2)),
        _seed(s.training_seed, ctx.seed, "training"),
        s.len_epoch,
        s.len_validation,
        s.num_epochs,
        shuffle_training=s.shuffle_training,
        shuffle_validation=s.shuffle_validation,
    )
    settings = StudentSettings(
        len_epoch=s.len_epoch,
        len_symmetrization=s.len_symmetrization,
        len_validation=s.len_validation,
        num_epochs=s.num_epochs,
        t_pattern=s.t_pattern,
        record_len=s.recorded_sample_length or s.t_pattern * params.t_ref,
        set_sps=s.set_sps,
    )
    return Student(
        params,
        settings,
        config.feedback,
        student_init(config, ctx.seed),
        _bias(s.bias),
        u_in,
        u_tgt,
        _seed(s.poisson_seed, ctx.seed, "student_poisson"),
    )


def _train(student: Student, config: MicrocircuitConfig, ctx):
    """Run the remaining patterns with a progress bar; checkpoint every ``checkpoint_every`` epochs."""

    def on_epoch_end(st: Student, epoch: int) -> None:
        every = config.checkpoint_every
        if every and (epoch + 1) % every == 0 and st.p < st.n_patterns:
            ctx.save_checkpoint({"student": st.state()})

    desc = f"microcircuit {config.feedback}"
    bar = ctx.progress(total=student.n_patterns, initial=student.p, desc=desc, unit="pattern")

    def progress(it):
        for x in it:
            yield x
            bar.update(1)

    res = student.run(progress=progress, on_epoch_end=on_epoch_end)
    bar.close()
    return res


def _save_student(res, ctx) -> None:
    ctx.save_arrays(
        "student",
        u_in=res.u_in,
        u_tgt=res.u_tgt,
        u_out=res.u_out,
        u_free=res.u_free,
        is_symmetrization=res.symmetrization,
        is_validation=res.validation,
        **{f"rate_{k}": v for k, v in res.rates.items()},
        **{f"end_{k}": v for k, v in res.weights_end.items()},
        **{f"init_{k}": v for k, v in res.init_weights.items()},
        **{f"rec_{k}": v for k, v in res.records.items()},
    )


def _angles(res, epoch_len: int, n_patterns: int, dims: tuple[int, int, int]) -> list[float] | None:
    """Angle between B and W21^T at each epoch end (only when N1 * N2 > 1)."""
    if dims[1] * dims[2] <= 1:
        return None
    ends = np.arange(epoch_len - 1, n_patterns, epoch_len)
    return [feedback_angle(res.weights_end["b"][i], res.weights_end["w21"][i]) for i in ends]


def _metrics(res, epoch_len: int, teacher, angles: list[float] | None) -> dict[str, Any]:
    metrics: dict[str, Any] = {
        "validation_loss": res.validation_loss,
        "prediction_error": res.prediction_error,
        "validation_times": res.validation_times,
        "epoch_len": epoch_len,
        "teacher_targets": teacher.u_out.tolist(),
    }
    if angles is not None:
        metrics["feedback_angle"] = angles
        metrics["feedback_angle_initial"] = feedback_angle(res.start_weights["b"], res.start_weights["w21"])
    return metrics


def summarize(res, epoch_len: int, angles: list[float] | None) -> dict[str, Any]:
    """Scalar summary: final losses, and (1-1-1 nets) the weights at the start of the last epoch.

    "Start of the last epoch" is the record of the first pattern of the last epoch, which is what
    the reference's figure notebook calls the final value.
    """
    out: dict[str, Any] = {
        "final_validation_loss": res.validation_loss[-1] if res.validation_loss else None,
        "final_prediction_error": res.prediction_error[-1] if res.prediction_error else None,
    }
    rec = res.records
    if rec["w10"].shape[1:] == (1, 1) and rec["w21"].shape[1:] == (1, 1):
        last = ((len(res.u_out) - 1) // epoch_len) * epoch_len
        if last < len(rec["w10"]) and len(rec["w10"]) == len(res.u_out):
            for k in ("w10", "b", "w21"):
                out[f"{k}_final"] = float(rec[k][last, 0, 0])
        for k in ("w10", "b", "w21"):
            out[f"{k}_end"] = float(res.weights_end[k][-1].ravel()[0])
    if angles:
        out["final_feedback_angle"] = angles[-1]
        out["initial_feedback_angle"] = float(feedback_angle(res.start_weights["b"], res.start_weights["w21"]))
    return out


def _rows(values: list, n0: int) -> np.ndarray:
    """Inputs as (patterns, N0): scalars are broadcast to every input neuron (as the reference does)."""
    if not values:
        return np.zeros((0, n0))
    return np.array([np.broadcast_to(np.asarray(v, float), (n0,)) for v in values])
