"""Complete, commented default configs, written from the config models (``spikealign config KIND``).

Every key of the kind's config model is written with its value; the comment above it gives the
field's description, its allowed values and, where the value differs from the model's default,
that default.  The values are the model's defaults with the small starting values of
:data:`STARTERS` applied: they fill in keys without a default and shrink expensive defaults so
that the printed config runs in seconds.
"""

from __future__ import annotations

import math
import typing
from typing import Any

import annotated_types as at
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from .config import _unwrap_model, validate
from .registry import get_experiment

# kind -> values that replace the model's defaults in the printed config (a run of seconds)
STARTERS: dict[str, dict[str, Any]] = {
    "toy": {},
    "theory-stdd": {},
    "theory-phase-plane": {"n_w": 9},
    "theory-spiking-sal": {"n_epochs": 100},
    "ssn": {
        "dim": 5,
        "init": {"noise": 0.3},
        "lr": {"symm": 0.05},
        "schedule": {"num_epochs": 101, "val_step": 25, "val_factor": 100, "dur": 500},
    },
    "dale-sal": {"w_e2_e1": [0.0, 1.0], "w_e1_e2": [0.0, 1.0], "n_steps": 100_000},
    "dale-rate": {"w_e2_e1": [0.0, 1.0, 2.0], "n_steps": 100_000},
    "microcircuit": {"student": {"num_epochs": 3}},
    "deep": {
        "method": "sal",
        "n_epochs": 4,
        "max_train": 1024,
        "max_test": 256,
        "batch_size": 64,
        "threads": 1,
        "estimator": {"n_iterations": 2, "batch_size": 8, "sal_lr": 0.2},
    },
    "estimator-connection": {"n": 10, "seconds": 10.0},
    "sal-evolution": {
        "sizes": [20, 10, 5],
        "n_epochs": 10,
        "len_epoch": 200,
        "chunk": 50,
        "sal_lr": 0.3,
        "batch_size": 8,
    },
}

# kind -> what the printed config shows when run (header lines; tests/foundation/test_examples.py checks each)
SHOWS: dict[str, list[str]] = {
    "ssn": [
        "What it shows (about 10 s): noisy initial weights make W asymmetric; SAL (lr.symm) removes the",
        "asymmetry Var(W - W^T) about 7-fold while the network learns its target (figures/ssn_run.png).",
        "Compare: --set lr.symm=0 keeps the asymmetry where it started.",
    ],
    "deep": [
        "What it shows (about 30 s on 2 cores): SAL learns the feedback, so the FC angles between W and B",
        "fall from about 90 to 50-70 degrees and the net learns faster than with fixed random feedback.",
        "Compare: spikealign run examples/deep.yaml --set method=fa --set 'estimator={}' --out results/deep-fa",
        "(fixed random feedback: the angles stay near 90 degrees).",
    ],
    "sal-evolution": [
        "What it shows (a few seconds): SAL alone turns B toward W; the angle of both layers falls from",
        "about 85-90 degrees to about 20 (metrics.json: initial_angle_l, final_angle_l; figures/).",
    ],
}


def starter_mapping(kind: str) -> dict[str, Any]:
    """The printed config of ``kind`` as a plain mapping (validated)."""
    experiment = get_experiment(kind)
    data = _merge({"kind": kind}, STARTERS.get(kind, {}))
    return validate(experiment.config_model, data, source=f"starter config of {kind}").model_dump(mode="json")


def config_template(kind: str) -> str:
    """The complete commented YAML config of experiment ``kind`` (see the module docstring)."""
    experiment = get_experiment(kind)
    header = [
        f"# spikealign config of experiment kind '{kind}': {experiment.summary}",
        f"# Written by `spikealign config {kind}`; run it with `spikealign run <this file>`.",
        "# Every key is listed; the comment above a key says what it means and what is allowed.",
        *(f"# {line}" for line in SHOWS.get(kind, [])),
        "",
    ]
    return "\n".join(header + _model_lines(experiment.config_model, starter_mapping(kind), "")) + "\n"


def _model_lines(model: type[BaseModel], values: dict[str, Any], pad: str) -> list[str]:
    lines: list[str] = []
    for name, field in model.model_fields.items():
        value = values.get(name)
        comment = _comment(field, value)
        if comment:
            lines.append(f"{pad}# {comment}")
        sub = _unwrap_model(field.annotation)
        special = _SPECIAL_FIELDS.get((model.__name__, name))
        if special is not None:
            lines += special(name, values, pad)
        elif sub is not None and isinstance(value, dict):
            lines.append(f"{pad}{name}:")
            lines += _model_lines(sub, value, pad + "  ")
        else:
            lines.append(f"{pad}{name}: {_flow(value)}")
    return lines


def _estimator_lines(name: str, values: dict[str, Any], pad: str) -> list[str]:
    """The deep config's ``estimator`` mapping: the method's estimator keys written out, every
    other estimator's keys and defaults as comments."""
    from .deep.estimators.registry import ESTIMATORS
    from .deep.methods import get_method

    active = get_method(values["method"]).estimator
    lines = []
    if active is None:
        lines.append(f"{pad}{name}: {{}}")
    else:
        lines.append(f"{pad}{name}:")
        lines += _model_lines(ESTIMATORS[active].settings_model, values.get(name) or {}, pad + "  ")
    for other, cls in ESTIMATORS.items():
        if other == active:
            continue
        lines.append(f"{pad}# keys of estimator '{other}' (under {name}: when method is {other}), with defaults:")
        for key, field in cls.settings_model.model_fields.items():
            default = _flow(field.get_default(call_default_factory=True))
            lines.append(f"{pad}#   {key}: {default}" + (f"  # {field.description}" if field.description else ""))
    return lines


# (config model name, field) -> writer of that field's lines (fields whose mapping depends on another key)
_SPECIAL_FIELDS = {("DeepConfig", "estimator"): _estimator_lines}


def _comment(field: FieldInfo, value: Any) -> str:
    parts = [field.description or ""]
    choices = _choices(field.annotation)
    if len(choices) > 1:
        parts.append("one of " + ", ".join(map(str, choices)))
    parts += [_bound(m) for m in field.metadata if _bound(m)]
    if field.is_required():
        parts.append("required")
    elif _unwrap_model(field.annotation) is None:
        default = field.get_default(call_default_factory=True)
        if isinstance(default, BaseModel):
            default = default.model_dump(mode="json")
        if default != value:
            parts.append(f"default {_flow(default)}")
    return "; ".join(p for p in parts if p)


def _bound(meta: Any) -> str:
    for cls, sign in ((at.Gt, ">"), (at.Ge, ">="), (at.Lt, "<"), (at.Le, "<=")):
        if isinstance(meta, cls):
            return f"{sign} {getattr(meta, cls.__name__.lower())}"
    if isinstance(meta, at.MinLen):
        return f"at least {meta.min_length} entries"
    return ""


def _choices(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) is typing.Literal:
        return list(typing.get_args(annotation))
    return [c for arg in typing.get_args(annotation) for c in _choices(arg)]


def _flow(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return ".inf" if value > 0 else ("-.inf" if value < 0 else ".nan")
    text = yaml.safe_dump(value, default_flow_style=True, width=10**6, sort_keys=False).strip()
    return text.removesuffix("...").strip()


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out.get(key) or {}, value) if isinstance(value, dict) else value
    return out
