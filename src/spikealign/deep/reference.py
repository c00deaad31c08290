"""The reference's ``exp_settings.yaml`` (deep networks): recognised by its keys and converted to ``kind: deep``.

Each section of the file is one experiment; ``spikealign run exp_settings.yaml --section NAME`` runs
one (options ``section``, ``dataset``, ``n_epochs``: :data:`spikealign.families.REFERENCE_OPTIONS`).
The method follows from the section's flags (docs/deep.md, 'Methods').
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import families
from ..errors import UserError


def detect_reference(raw: dict[str, Any]) -> bool:
    """Is ``raw`` the reference's ``exp_settings.yaml`` (sections holding a ``params`` mapping)?  Its keys:
    :data:`spikealign.families.RECOGNISERS`."""
    return families.recogniser("deep").matches(raw)


def reference_method(section: dict[str, Any], where: str = "section") -> str:
    """The method a reference section selects (flag logic in docs/deep.md, 'Methods')."""
    params = section.get("params") or {}
    sal = bool((section.get("sal_params") or {}).get("use_sal", False))
    rdd = bool((section.get("rdd_params") or {}).get("use_rdd", False))
    use_bp = bool(params.get("use_backprop", False))
    if use_bp and (sal or rdd):
        raise UserError(f"{where}: use_backprop cannot be combined with use_sal/use_rdd (as in the reference)")
    if sal and rdd:
        raise UserError(f"{where}: use_sal and use_rdd cannot both be true")
    if use_bp:
        return "bp_w_fa" if params.get("use_fa_conv_layers", False) else "bp"
    if params.get("use_kp", False) and params.get("use_scfa", False):
        raise UserError(f"{where}: use_kp and use_scfa cannot both be true")
    if params.get("use_kp", False):
        return "kp"
    if params.get("use_scfa", False):
        return "scfa"
    if sal:
        return "sal"
    if rdd:
        return "rdd"
    return "fa"


def from_reference(raw: dict[str, Any], path: Path, options: dict[str, Any]) -> dict[str, Any]:
    """Convert one section of the reference's ``exp_settings.yaml`` into a ``kind: deep`` mapping.

    ``options``: ``section`` (default: the first mapping, as the reference), ``dataset`` (default:
    the section's ``dataset`` key, else ``mnist`` as the reference), ``n_epochs``.  Faithful mode.
    ``weight_decay`` becomes ``kp_weight_decay`` for the KP section; the reference ignores it for
    every other method, and so does this conversion.  ``sal_params``/``rdd_params`` (without their
    ``use_*``/``every_epoch`` switches) become the estimator settings.
    """
    sections = {k: v for k, v in raw.items() if isinstance(v, dict)}
    name = options.get("section") or next(iter(sections), None)
    if name is None or name not in sections:
        raise UserError(f"{path}: section {name!r} not found (sections: {', '.join(sections) or 'none'})")
    section = sections[name]
    params = dict(section.get("params") or {})
    method = reference_method(section, f"{path} section {name!r}")
    out: dict[str, Any] = {"kind": "deep", "method": method, "mode": "faithful"}
    out["dataset"] = options.get("dataset") or section.get("dataset") or "mnist"
    n_epochs = options.get("n_epochs") or params.get("n_epochs")
    if n_epochs is not None:
        out["n_epochs"] = int(n_epochs)
    for key in ("batch_size", "lr", "momentum"):
        if key in params:
            out[key] = params[key]
    if method == "kp" and "weight_decay" in params:
        out["kp_weight_decay"] = params["weight_decay"]
    block = {"sal": "sal_params", "rdd": "rdd_params"}.get(method)
    if block is not None:
        settings = {
            k: v for k, v in (section.get(block) or {}).items() if k not in ("use_sal", "use_rdd", "every_epoch")
        }
        out["estimator"] = settings
    for key in ("seed", "data_dir", "device"):
        if options.get(key) is not None:
            out[key] = options[key]
    return out
