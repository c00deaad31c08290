"""Run directories: one run of one experiment, its files, its checkpoints, resuming.

Layout of a run directory::

    config.yaml      the resolved, validated config
    meta.json        status (running|completed|failed|interrupted), package and library versions, git sha,
                     seed, host, start/end time, wall time, error (if failed)
    metrics.json     scalar summary ("summary") and whatever the experiment saved
    <name>.npz       arrays saved by the experiment
    figures/         per-run diagnostic figures
    checkpoints/     latest.pkl: the state an experiment needs to continue
    run.log          the traceback of an error raised inside the experiment (if one was)

Every file is written atomically (temporary file in the same folder, then ``os.replace``), so
a killed process never leaves a partial file behind.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import functools
import hashlib
import io
import json
import os
import pickle
import platform
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from collections.abc import Callable, Iterable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from . import __version__, seeding
from .config import apply_overrides, load_yaml, to_yaml, validate
from .errors import DiskFullError, UserError
from .progress import Progress
from .registry import Experiment, get_experiment, reference_to_config
from .resources import check_run_memory

STATUS_RUNNING = "running"
STATUS_COMPLETED = "completed"
STATUS_FAILED = "failed"
STATUS_INTERRUPTED = "interrupted"
RUN_LOG = "run.log"
"""The run folder's log: the full traceback of every error raised inside the experiment."""
DEFAULT_RESULTS = Path("results")
"""Where commands write when no ``--out`` is given: ``runs/<name>-<hash>``, ``sweeps/<name>``, figures."""


# --------------------------------------------------------------------------- run configs
def load_run_config(path: Path, overrides: list[str], options: dict[str, Any] | None = None) -> tuple[Experiment, Any]:
    """Read a run config (ours, a packaged one by name, or a reference YAML), apply overrides, validate it,
    and check its memory estimate against the memory available.

    ``options`` are the reference-format choices (:data:`spikealign.families.REFERENCE_OPTIONS`; ``None`` values
    are left out); they apply to reference YAML files only.  Only the family of the config's kind is imported.
    """
    from .families import resolve_config_path

    path = resolve_config_path(path)
    raw = load_yaml(path)
    options = {k: v for k, v in (options or {}).items() if v is not None}
    if "kind" not in raw:
        raw = reference_to_config(raw, path, options)
    elif options:
        from .families import REFERENCE_OPTIONS

        flags = "/".join(option.flag for option in REFERENCE_OPTIONS)
        raise UserError(f"{flags} apply to reference YAML files only, not to {path}")
    data = apply_overrides(raw, overrides)
    if not isinstance(data.get("kind"), str):
        raise UserError(f"{path}: 'kind' must name an experiment")
    experiment = get_experiment(data["kind"])
    config = validate(experiment.config_model, data, source=str(path))
    check_run_memory(experiment, config, source=str(path))
    return experiment, config


def default_run_dir(config_path: Path, config: Any, resume: bool = False) -> Path:
    """``results/runs/<config name>-<8 hex digits of the resolved config>``: configs that differ (e.g. by
    ``--set``) get different folders.  If that folder already holds a run, a fresh ``...-2``, ``-3``, ...
    is used, or with ``resume`` the newest existing one."""
    digest = hashlib.sha1(to_yaml(config).encode()).hexdigest()[:8]
    base = DEFAULT_RESULTS / "runs" / f"{config_path.stem}-{digest}"

    def nth(i: int) -> Path:
        return base if i == 1 else base.with_name(f"{base.name}-{i}")

    i = 1
    while nth(i).is_dir() and any(nth(i).iterdir()):
        i += 1
    return nth(i - 1) if resume and i > 1 else nth(i)


# --------------------------------------------------------------------------- atomic files
def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one.

    The file gets the permissions of a plain ``open`` (``0o666`` less the umask), not the
    ``0o600`` of a temporary file.  A full disk is a :class:`UserError` and leaves the old file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFullError(f"no space left on the device (or quota exceeded) while writing {path}") from None
        raise


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_write_json(path: str | Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False, default=_json_default) + "\n")


def atomic_save_npz(path: str | Path, **arrays: Any) -> None:
    buf = io.BytesIO()
    as_arrays: dict[str, Any] = {k: np.asarray(v) for k, v in arrays.items()}
    np.savez_compressed(buf, **as_arrays)
    atomic_write_bytes(path, buf.getvalue())


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def read_json(path: str | Path, default: Any = None) -> Any:
    """The JSON in ``path`` (``default`` if there is no file); a corrupt file is a :class:`UserError`."""
    p = Path(path)
    if not p.is_file():
        return default
    try:
        return json.loads(p.read_bytes().decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{p} is corrupt (not valid JSON: {exc}); delete it or the folder holding it") from None


def load_npz(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file; a missing or corrupt file is a :class:`UserError`."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"array file not found: {p}")
    with open(p, "rb") as fh:
        if fh.read(4) not in (b"PK\x03\x04", b"PK\x05\x06"):  # a zip archive (empty or not)
            raise UserError(f"{p} is corrupt (not an .npz archive); delete it and rerun")
    try:
        with np.load(p, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise UserError(f"{p} is corrupt (not a readable .npz file: {exc}); delete it and rerun") from None


@contextlib.contextmanager
def directory_lock(folder: str | Path, what: str = "run directory") -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (file ``.lock``); a second holder is refused at once.

    A full disk when taking the lock is one :class:`DiskFullError` line; no ``.lock`` (and no folder
    created for it) is left behind.
    """
    import fcntl

    folder = Path(folder)
    created = not folder.exists()
    lock_path = folder / ".lock"
    fh = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fh = open(lock_path, "a+")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            holder = fh.read().strip()
            raise UserError(
                f"{what} {folder} is in use by another process{f' ({holder})' if holder else ''}; "
                "wait for it to finish or choose another --out"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        fh.flush()
    except OSError as exc:
        if fh is not None:
            with contextlib.suppress(OSError):
                lock_path.unlink()
            with contextlib.suppress(OSError):
                fh.close()
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFullError(f"no space left on the device (or quota exceeded): cannot start in {folder}") from None
        raise
    except BaseException:
        with contextlib.suppress(OSError):
            fh.close()  # type: ignore[union-attr]
        raise
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            lock_path.unlink()
        with contextlib.suppress(OSError):
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        with contextlib.suppress(OSError):
            fh.close()


def check_output_dir(path: str | Path, flag: str = "--out") -> Path:
    """Refuse, before any work, an output folder that is a file or cannot be written to."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UserError(f"{flag} {p} is a file, not a folder; choose a folder")
    existing = p
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"{flag} {p}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"{flag} {p}: no permission to write in {existing}")
    return p


# --------------------------------------------------------------------------- provenance
def library_versions() -> dict[str, str]:
    out = {"spikealign": __version__, "python": platform.python_version()}
    for name in ("numpy", "scipy", "numba", "torch", "matplotlib", "pydantic", "dask"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


@functools.lru_cache(maxsize=1)
def git_sha() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        res = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = res.stdout.strip()
    return sha if res.returncode == 0 and sha else None


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- run context
CHECKPOINT_HEADER = "spikealign_checkpoint"


def _restart_hint(path: Path) -> str:
    return (
        f"; to restart the run from the beginning delete {path.parent} and run again with --resume, "
        "or run without --resume into a new --out"
    )


def layout_problem(state: dict[str, Any], layout: dict[str, tuple[int, ...] | type]) -> str | None:
    """What in ``state`` does not match ``layout`` (key -> array shape, or the type of a non-array value);
    ``None`` when its keys are those of ``layout`` and every value fits.  For checks of unstamped checkpoints."""
    if set(state) != set(layout):
        missing, extra = sorted(set(layout) - set(state)), sorted(set(state) - set(layout))
        return f"keys {', '.join(missing) or '-'} missing, {', '.join(extra) or '-'} unexpected"
    for key, want in layout.items():
        value = state[key]
        if isinstance(want, tuple):
            shape = getattr(value, "shape", None)
            if not isinstance(value, np.ndarray) or shape != want:
                return f"'{key}' has shape {shape}, this config needs {want}"
        elif not isinstance(value, want) or (isinstance(value, bool) and want is not bool):
            return f"'{key}' is a {type(value).__name__}, not a {want.__name__}"
    return None


def structure_problem(got: Any, want: Any, where: str = "state") -> str | None:
    """Where ``got`` differs in structure from ``want`` (a state of the same kind built for this
    config): mappings with other keys, sequences of another length, arrays or tensors of another
    shape or dtype, values of another type; ``None`` when they match.  For unstamped checkpoints."""
    if isinstance(want, dict):
        if not isinstance(got, dict) or set(got) != set(want):
            return f"'{where}' does not hold the keys {', '.join(sorted(map(str, want)))}"
        parts = [(got[k], want[k], f"{where}.{k}") for k in want]
    elif isinstance(want, list | tuple):
        if not isinstance(got, list | tuple) or len(got) != len(want):
            return f"'{where}' is not a sequence of {len(want)}"
        parts = [(g, w, f"{where}[{i}]") for i, (g, w) in enumerate(zip(got, want, strict=True))]
    elif hasattr(want, "shape") and hasattr(want, "dtype"):
        if type(got) is not type(want) or tuple(got.shape) != tuple(want.shape) or got.dtype != want.dtype:
            needs = f"{type(want).__name__} {tuple(want.shape)} of {want.dtype}"
            return f"'{where}' is {type(got).__name__} {tuple(getattr(got, 'shape', ()))}, this config needs {needs}"
        return None
    elif want is not None and not isinstance(got, type(want)):
        return f"'{where}' is a {type(got).__name__}, not a {type(want).__name__}"
    else:
        return None
    for g, w, at in parts:
        problem = structure_problem(g, w, at)
        if problem:
            return problem
    return None


def config_digest(resolved: str) -> str:
    """12 hex digits identifying a resolved config (stamped on checkpoints)."""

    return hashlib.sha1(resolved.encode()).hexdigest()[:12]


class RunContext:
    """What an experiment's ``run`` function gets besides its config.

    Streams: ``ctx.rng("name")`` is an independent generator derived from the run's root seed
    (see :mod:`spikealign.seeding`).  Files: ``save_arrays``, ``save_metrics``,
    ``save_checkpoint``/``load_checkpoint``, ``figures_dir``.  Progress: ``ctx.progress(...)``.
    """

    def __init__(
        self,
        out_dir: str | Path,
        seed: int,
        *,
        resume: bool = False,
        show_progress: bool = True,
        kind: str = "",
        config_digest: str = "",
        folder_holds_this_config: bool = False,
    ):
        self.out_dir = Path(out_dir)
        self.kind = kind  # the experiment kind and config digest stamped on checkpoints (checked on resume)
        self.config_digest = config_digest
        # the run folder held this very config (kind included) before the run started: it vouches for
        # the kind and config of a checkpoint of the earlier format, which has no stamp of its own
        self.folder_holds_this_config = folder_holds_this_config
        self.seed = int(seed)
        self.resume = resume
        self.show_progress = show_progress
        self.figures_dir = self.out_dir / "figures"
        self.checkpoint_dir = self.out_dir / "checkpoints"

    # streams
    def rng(self, *names: str | int) -> np.random.Generator:
        return seeding.rng(self.seed, *names)

    def seed_sequence(self, *names: str | int) -> np.random.SeedSequence:
        return seeding.seed_sequence(self.seed, *names)

    def replica_seeds(self, n: int, *names: str | int) -> np.ndarray:
        return seeding.replica_seeds(self.seed, n, *names)

    # files
    def path(self, name: str) -> Path:
        return self.out_dir / name

    def save_arrays(self, name: str, **arrays: Any) -> Path:
        path = self.out_dir / (name if name.endswith(".npz") else f"{name}.npz")
        atomic_save_npz(path, **arrays)
        return path

    def load_arrays(self, name: str) -> dict[str, np.ndarray]:
        return load_npz(self.out_dir / (name if name.endswith(".npz") else f"{name}.npz"))

    def save_metrics(self, metrics: dict[str, Any]) -> None:
        """Merge ``metrics`` into ``metrics.json``."""
        path = self.out_dir / "metrics.json"
        current = read_json(path, {})
        current.update(metrics)
        atomic_write_json(path, current)

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        """Store ``state`` (any picklable mapping, e.g. arrays and RNG states) as the latest checkpoint.

        The file also records the run's kind, config digest and the state's keys, which
        :meth:`load_checkpoint` checks before the state is used.
        """
        header = {"kind": self.kind, "config": self.config_digest, "keys": sorted(map(str, state))}
        data = pickle.dumps({CHECKPOINT_HEADER: header, "state": state}, protocol=pickle.HIGHEST_PROTOCOL)
        path = self.checkpoint_dir / "latest.pkl"
        try:
            atomic_write_bytes(path, data)
        except PermissionError:
            raise UserError(
                f"cannot write checkpoint {path}: permission denied; make {path.parent} writable and run again "
                "with --resume"
            ) from None

    def load_checkpoint(
        self, check_unstamped: Callable[[dict[str, Any]], str | None] | None = None
    ) -> dict[str, Any] | None:
        """The latest checkpoint when resuming, else ``None``.

        ``check_unstamped`` accepts checkpoints of the format before 2026-12-03 (the state mapping
        itself, without the kind, config and keys stamp): it returns what does not fit this run's
        config in such a state (its keys, the shapes of its arrays), or ``None`` when all fits.  Such
        a checkpoint is used, with a one-line notice, only when the run folder held this very config
        before the run started (it then vouches for the kind and config) and the check passes.

        Raises
        ------
        UserError
            One line naming the file and how to restart, for a file that is corrupt, unreadable, not
            written by spikealign, or written by a run of another kind or config.
        """
        path = self.checkpoint_dir / "latest.pkl"
        if not self.resume or not path.is_file():
            return None
        try:
            data = pickle.loads(path.read_bytes())
        except PermissionError:
            raise UserError(f"cannot read checkpoint {path}: permission denied{_restart_hint(path)}") from None
        except Exception as exc:  # unpickling garbage raises almost anything
            raise UserError(f"checkpoint {path} is corrupt ({type(exc).__name__}){_restart_hint(path)}") from None
        header = data.get(CHECKPOINT_HEADER) if isinstance(data, dict) else None
        state = data.get("state") if isinstance(data, dict) else None
        if header is None and isinstance(data, dict) and data and all(isinstance(k, str) for k in data):
            return self._unstamped_checkpoint(path, data, check_unstamped)
        if not isinstance(header, dict) or not isinstance(state, dict):
            raise UserError(f"checkpoint {path} was not written by a spikealign run{_restart_hint(path)}")
        if self.kind and header.get("kind") != self.kind:
            raise UserError(
                f"checkpoint {path} belongs to a {header.get('kind')!r} run, not {self.kind!r}{_restart_hint(path)}"
            )
        if self.config_digest and header.get("config") != self.config_digest:
            raise UserError(f"checkpoint {path} was written for another config{_restart_hint(path)}")
        if sorted(map(str, state)) != header.get("keys"):
            raise UserError(f"checkpoint {path} is incomplete (its keys do not match its header){_restart_hint(path)}")
        return state

    def _unstamped_checkpoint(
        self, path: Path, state: dict[str, Any], check: Callable[[dict[str, Any]], str | None] | None
    ) -> dict[str, Any]:
        """A checkpoint of the format before 2026-12-03 (no stamp): used when it fits, else one line."""
        earlier = f"checkpoint {path} has the earlier format (no kind and config stamp)"
        if check is None:
            raise UserError(f"{earlier}, which {self.kind or 'this'} runs cannot check{_restart_hint(path)}")
        if not self.folder_holds_this_config:
            raise UserError(f"{earlier} and its folder held no config.yaml of this config{_restart_hint(path)}")
        problem = check(state)
        if problem:
            raise UserError(f"{earlier} and does not fit this run: {problem}{_restart_hint(path)}")
        print(f"resuming from {path}, a checkpoint of the earlier format (its keys and shapes fit this config)",
              file=sys.stderr)  # fmt: skip
        return state

    def progress(self, iterable: Iterable | None = None, *, total: int | None = None, desc: str = "", **kw: Any):
        """A progress report: a bar on a terminal, a line every 30 s in a log file, a summary at the end;
        a task projected to take long says so after its first seconds (see :mod:`spikealign.progress`)."""
        kw.pop("disable", None)
        kw.pop("leave", None)
        return Progress(iterable, total=total, desc=desc, enabled=self.show_progress, **kw)


# --------------------------------------------------------------------------- run lifecycle
def run_status(out_dir: str | Path) -> str | None:
    """``completed``, ``failed``, ``running`` (includes killed runs) or ``None`` if never started."""
    meta = read_json(Path(out_dir) / "meta.json")
    return meta.get("status") if meta else None


def execute_run(
    experiment: Experiment,
    config: Any,
    out_dir: str | Path,
    *,
    resume: bool = False,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Run one experiment into ``out_dir`` and return its summary metrics.

    With ``resume`` an interrupted run continues from its last checkpoint (the config must be the
    same); a completed run is returned without recomputation.  Without ``resume`` a non-empty
    ``out_dir`` is an error, so that nothing is overwritten silently.
    """
    out = Path(out_dir)
    resolved = to_yaml(config)
    check_run_memory(experiment, config)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a folder; choose a folder")
    existed = out.exists()
    with directory_lock(out):
        status = run_status(out) if existed else None
        if status == STATUS_COMPLETED and resume:
            _check_same_config(out, resolved)
            return read_json(out / "metrics.json", {}).get("summary", {})
        if status == STATUS_FAILED and not resume:
            _replace_failed_run(out)
        elif status is not None:
            if not resume and status in (STATUS_INTERRUPTED, STATUS_RUNNING):
                raise UserError(
                    f"run directory {out} holds an interrupted run (status {status}); continue it by adding "
                    "--resume to the same command, or choose another --out"
                )
            if not resume:
                raise UserError(f"run directory {out} already holds a run ({status}); use --resume or another --out")
            _check_same_config(out, resolved)
        elif existed and _has_user_files(out) and not resume:
            raise UserError(f"output directory {out} is not empty; choose another --out")
        return _run_in(experiment, config, out, resolved, resume=resume, show_progress=show_progress)


def _run_in(
    experiment: Experiment, config: Any, out: Path, resolved: str, *, resume: bool, show_progress: bool
) -> dict[str, Any]:
    (out / "figures").mkdir(exist_ok=True)
    held = resume and (out / "config.yaml").is_file() and (out / "config.yaml").read_text(errors="replace") == resolved
    atomic_write_text(out / "config.yaml", resolved)
    meta = _start_meta(experiment, config, out)
    ctx = RunContext(
        out, meta["seed"], resume=resume, show_progress=show_progress, kind=experiment.kind,
        config_digest=config_digest(resolved), folder_holds_this_config=held,
    )  # fmt: skip
    t0 = time.perf_counter()
    try:
        summary = experiment.run(config, ctx) or {}
    except BaseException as exc:
        _finish_failed(out, meta, exc, time.perf_counter() - t0)
        raise
    _finish_completed(ctx, meta, summary, time.perf_counter() - t0)
    return summary


def _has_user_files(folder: Path) -> bool:
    return any(p.name != ".lock" for p in folder.iterdir())


def _check_same_config(out: Path, resolved: str) -> None:
    """Resuming needs the same config; otherwise name the keys that differ."""
    path = out / "config.yaml"
    if not path.is_file():
        return
    old_text = path.read_text(errors="replace")
    if old_text == resolved:
        return
    try:
        old = yaml.safe_load(old_text)
    except yaml.YAMLError:
        raise UserError(f"cannot resume {out}: its config.yaml is corrupt; delete {out} or use another --out") from None
    keys = differing_keys(old if isinstance(old, dict) else {}, yaml.safe_load(resolved))
    shown = ", ".join(keys[:8]) + (f" and {len(keys) - 8} more" if len(keys) > 8 else "")
    raise UserError(
        f"cannot resume {out}: its config.yaml differs from the requested config in {shown or 'formatting'}; "
        "use another --out to run the new config"
    )


def differing_keys(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested mappings."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in list(old) + [k for k in new if k not in old]:
            sub = f"{prefix}.{key}" if prefix else str(key)
            if key not in old or key not in new:
                out.append(sub)
            else:
                out.extend(differing_keys(old[key], new[key], sub))
        return out
    return [] if old == new else [prefix or "<top level>"]


def _replace_failed_run(out: Path) -> None:
    """A failed run's folder is cleared for a new run (its error is shown once)."""
    import shutil

    error = (read_json(out / "meta.json", {}) or {}).get("error", "")
    print(
        f"note: {out} held a failed run ({error.splitlines()[0][:200] if error else 'no error recorded'}); "
        "replacing it with this run",
        file=sys.stderr,
    )
    for p in out.iterdir():
        if p.name == ".lock":
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()


def _start_meta(experiment: Experiment, config: Any, out: Path, **extra: Any) -> dict[str, Any]:
    """Write and return the ``meta.json`` of a run that starts now (attempts counted across resumes)."""
    previous = read_json(out / "meta.json", {}) or {}
    meta: dict[str, Any] = {
        "experiment": experiment.kind,
        "status": STATUS_RUNNING,
        "seed": int(getattr(config, "seed", 0)),
        "versions": library_versions(),
        "git_sha": git_sha(),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "start_time": _now(),
        "attempts": int(previous.get("attempts", 0)) + 1,
        **extra,
    }
    atomic_write_json(out / "meta.json", meta)
    return meta


def _finish_completed(ctx: RunContext, meta: dict[str, Any], summary: dict[str, Any], wall: float) -> None:
    ctx.save_metrics({"summary": summary})
    meta.update(status=STATUS_COMPLETED, end_time=_now(), wall_time_s=round(wall, 3))
    atomic_write_json(ctx.out_dir / "meta.json", meta)


def _finish_failed(out: Path, meta: dict[str, Any], exc: BaseException, wall: float) -> None:
    if isinstance(exc, DiskFullError):
        return  # meta.json stays 'running': the run can be resumed once there is space again
    if isinstance(exc, KeyboardInterrupt):  # Ctrl-C or SIGTERM: resumable, never replaced without --resume
        meta.update(status=STATUS_INTERRUPTED, end_time=_now(), wall_time_s=round(wall, 3))
        atomic_write_json(out / "meta.json", meta)
        return
    trace = "".join(traceback.format_exception(exc))
    meta.update(
        status=STATUS_FAILED,
        end_time=_now(),
        wall_time_s=round(wall, 3),
        error=f"{type(exc).__name__}: {exc}",
        traceback=trace,
    )
    atomic_write_json(out / "meta.json", meta)
    if not isinstance(exc, UserError):  # an error inside the experiment: its traceback goes to the run's log
        log = out / RUN_LOG
        with contextlib.suppress(OSError), open(log, "a") as fh:
            fh.write(f"{_now()} run failed (attempt {meta.get('attempts', 1)}):\n{trace}\n")
        with contextlib.suppress(AttributeError, TypeError):
            exc.run_log = log  # type: ignore[attr-defined]  # the command line names it


def execute_batch(
    experiment: Experiment,
    configs: list[Any],
    out_dirs: list[Path],
    *,
    resume: bool = False,
    show_progress: bool = False,
) -> list[dict[str, Any]]:
    """Run several configs of one experiment in one ``run_batch`` call (batched kernels).

    Each run still gets its own directory, meta, metrics and failure record.
    """
    if experiment.run_batch is None or len(configs) == 1:
        return [
            execute_run(experiment, c, d, resume=resume, show_progress=show_progress)
            for c, d in zip(configs, out_dirs, strict=True)
        ]
    ctxs, metas = [], []
    for config, out in zip(configs, out_dirs, strict=True):
        out.mkdir(parents=True, exist_ok=True)
        (out / "figures").mkdir(exist_ok=True)
        resolved = to_yaml(config)
        atomic_write_text(out / "config.yaml", resolved)
        meta = _start_meta(experiment, config, out, batched_with=len(configs))
        metas.append(meta)
        digest = config_digest(resolved)
        ctx = RunContext(
            out, meta["seed"], resume=resume, show_progress=show_progress, kind=experiment.kind, config_digest=digest
        )
        ctxs.append(ctx)
    t0 = time.perf_counter()
    try:
        summaries = experiment.run_batch(configs, ctxs)
    except BaseException as exc:
        for out, meta in zip(out_dirs, metas, strict=True):
            _finish_failed(out, meta, exc, time.perf_counter() - t0)
        raise
    wall = time.perf_counter() - t0
    for ctx, meta, summary in zip(ctxs, metas, summaries, strict=True):
        _finish_completed(ctx, meta, summary or {}, wall)
    return [s or {} for s in summaries]
