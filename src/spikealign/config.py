"""Typed configuration: YAML in, validated pydantic models, resolved YAML out.

Every run config derives from :class:`RunConfig`: it names its experiment ``kind`` and carries
one root ``seed``.  Unknown keys are rejected (``extra="forbid"``).  Problems in user input are
raised as :class:`~spikealign.errors.UserError` with one line naming the file, the key and what
is allowed.
"""

from __future__ import annotations

import errno
import math
import os
import re
import typing
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from .errors import UserError


class StrictModel(BaseModel):
    """Base for every config section: unknown keys are errors, assignments are validated.

    Defaults are validated too, so checks across keys (``t_ref < t_max``) hold whichever of the
    keys was left at its default.

    Non-finite numbers (NaN, inf) are rejected in every field, including inside lists, mappings
    and fields typed ``Any`` (a NaN learning rate would otherwise run to NaN "results").

    Types are strict (pydantic's strict mode): a boolean is not an integer (``n_steps: true`` is an
    error, not 1), a string is not a boolean (``copy: "no"``) nor a number (``"5"``) nor a list.
    An integer is still a valid float.  Fields that must accept YAML lists for tuples or strings
    for paths say so with ``Field(strict=False)``.
    """

    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, validate_default=True, allow_inf_nan=False, strict=True
    )

    @model_validator(mode="after")
    def _reject_non_finite(self) -> StrictModel:
        # typed float fields are checked by allow_inf_nan; this catches ``Any``/mapping fields
        for key in type(self).model_fields:
            where = find_non_finite(getattr(self, key))
            if where is not None:
                raise PydanticCustomError("non_finite", "must be a finite number", {"key": f"{key}{where}"})
        return self


def find_non_finite(value: Any) -> str | None:
    """Where a NaN or inf hides in ``value`` ('' for the value itself, '[2]', '.a' ...), else ``None``."""
    if isinstance(value, float):
        return None if math.isfinite(value) else ""
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    for k, v in items:
        where = find_non_finite(v)
        if where is not None:
            return (f"[{k}]" if isinstance(k, int) else f".{k}") + where
    return None


NonNegFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
"""A finite float >= 0: learning rates, amplitudes, rates, time constants that may be zero."""

PosFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
"""A finite float > 0: durations, time constants, sizes in physical units."""


class RunConfig(StrictModel):
    """Base of every experiment's run config.

    Subclasses narrow ``kind`` to a ``Literal`` naming their experiment.
    """

    kind: str
    seed: int = Field(0, ge=0, description="root seed; every random stream of the run derives from it")


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that rejects a key given twice in one mapping (instead of the last winning)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, typing.Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key '{key}' (each key may appear once)", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


# YAML 1.1 (PyYAML) reads ``1e-3`` and ``1e300`` as strings (it wants ``1.0e-3``); with strict types that
# would be an error, so numbers in exponent notation without a dot are floats here, as in YAML 1.2.
_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_UniqueKeyLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:float"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_UniqueKeyLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def yaml_value(text: str) -> Any:
    """``text`` read as one YAML value with spikealign's loader (``1e-3`` is a float)."""
    return yaml.load(text, Loader=_UniqueKeyLoader)


def read_text_file(path: str | Path, what: str = "config file") -> str:
    """The UTF-8 text of ``path``; missing, unreadable or undecodable files raise :class:`UserError`."""
    p = Path(path)
    if p.is_dir():
        raise UserError(f"{what} {p} is a directory, not a file")
    if not p.is_file():
        raise UserError(_not_a_file(p, what))
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {what} {p}: {exc.strerror or exc}") from None
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UserError(f"{what} {p} is a binary file, not YAML text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        hint = " (it looks like UTF-16)" if data.startswith((b"\xff\xfe", b"\xfe\xff")) else ""
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - data.rfind(b"\n", 0, exc.start)
        raise UserError(
            f"{what} {p} is not UTF-8 text{hint}: undecodable byte 0x{data[exc.start]:02x} at line {line}, "
            f"column {column}; save it as UTF-8"
        ) from None


def _not_a_file(p: Path, what: str) -> str:
    """Why ``p`` (not a directory, not a regular file) cannot be read as a file."""
    import stat

    try:
        mode = p.stat().st_mode
    except RuntimeError:  # Python < 3.13 reports a symlink loop so
        return f"{what} {p} is a symlink loop"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return f"{what} {p} is a symlink loop"
        if p.is_symlink():
            return f"{what} {p} is a symlink to {os.readlink(p)}, which does not exist"
        return f"{what} not found: {p}"
    kinds = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))  # fmt: skip
    kind = next((name for test, name in kinds if test(mode)), "not a regular file")
    return f"{what} {p} is {kind}, not a regular file"


def load_yaml(path: str | Path, what: str = "config file") -> dict[str, Any]:
    """Read a YAML mapping from ``path``; missing, unreadable or malformed files raise :class:`UserError`."""
    p = Path(path)
    text = read_text_file(p, what)
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"malformed YAML in {p}{where}: {problem}") from None
    except RecursionError:
        raise UserError(f"malformed YAML in {p}: nested too deeply") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(f"{p}: the top level must be a mapping of keys to values, got {type(data).__name__}")
    return data


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``'a.b.c=value'`` into its key path and YAML-parsed value."""
    if "=" not in text:
        raise UserError(f"--set expects key.path=value, got {text!r}")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise UserError(f"--set has an empty key in {text!r}")
    try:
        value = yaml_value(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.split("."), value


def set_path(data: dict[str, Any], path: list[str], value: Any) -> None:
    """Set ``data[path[0]][path[1]]... = value``, creating intermediate mappings."""
    node = data
    for i, part in enumerate(path[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise UserError(f"cannot set '{'.'.join(path)}': '{'.'.join(path[: i + 1])}' is not a mapping")
        node = child
    node[path[-1]] = value


def apply_overrides(data: dict[str, Any], overrides: list[str] | None) -> dict[str, Any]:
    """Return a deep copy of ``data`` with each ``key.path=value`` override applied."""
    out = _deep_copy(data)
    for text in overrides or []:
        path, value = parse_override(text)
        set_path(out, path, value)
    return out


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The nested model class reached by following ``loc`` through field annotations."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(part)
        if field is None:
            return None
        current = _unwrap_model(field.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _unwrap_model(arg)
        if found is not None:
            return found
    return None


_SCHEMA_TAGS = ("float", "int", "str", "bool", "none", "list", "dict", "tuple")


def _is_schema_tag(part: Any) -> bool:
    """Parts of a pydantic error location that name a schema (union member, validator), not a key."""
    if not isinstance(part, str):
        return False
    return part.startswith(("function-", "constrained-")) or "[" in part or part in _SCHEMA_TAGS


def _format_loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def describe_validation_error(model: type[BaseModel], exc: ValidationError, source: str) -> str:
    """One line describing the first problem in ``exc``: where, which key, what is allowed."""
    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"] if not _is_schema_tag(p))
    key = _format_loc(loc) or "<top level>"
    if err["type"] == "extra_forbidden":
        parent = _model_at(model, loc[:-1])
        allowed = ", ".join(parent.model_fields) if parent else "?"
        if len(key) > 80:
            key = f"{key[:60]}... ({len(key)} characters)"
        return f"{source}: unknown key '{key}' (allowed here: {allowed})"
    if err["type"] == "missing":
        return f"{source}: missing required key '{key}'"
    if err["type"] == "non_finite":
        inner = err.get("ctx", {}).get("key", "")
        key = f"{_format_loc(loc)}.{inner}" if loc else inner
        return f"{source}: invalid value for '{key}': must be a finite number (NaN and inf are not allowed)"
    if err["type"] == "finite_number":
        return f"{source}: invalid value for '{key}': must be a finite number (NaN and inf are not allowed)"
    msg = err["msg"].removeprefix("Value error, ")
    if not loc:  # a check across several keys
        return f"{source}: {msg}"
    given = err.get("input")
    shown = repr(given)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{source}: invalid value for '{key}': {msg} (got {shown})"


def validate(model: type[BaseModel], data: dict[str, Any], source: str = "config") -> Any:
    """Validate ``data`` against ``model``; any problem raises :class:`UserError` (one line)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise UserError(describe_validation_error(model, exc, source)) from None


def to_plain(config: BaseModel) -> dict[str, Any]:
    """The config as plain YAML/JSON-serialisable data."""
    return config.model_dump(mode="json")


def to_yaml(config: BaseModel | dict[str, Any]) -> str:
    data = to_plain(config) if isinstance(config, BaseModel) else config
    return yaml.safe_dump(data, sort_keys=False)
