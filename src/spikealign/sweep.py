"""Sweeps: grids of runs of one experiment, executed locally or on a Dask cluster.

A sweep file (YAML)::

    name: syn_noise                 # folder name of the sweep
    experiment: ssn                 # experiment kind
    base_config: base.yaml          # optional, relative to the sweep file
    base: {train: {n_iter: 100}}    # optional mapping merged over base_config
    grid:                           # Cartesian product over dotted keys
      noise.syn: [0.0, 0.1, 0.2]
    zip:                            # lists of equal length, varied together
      a: [1, 2]
      b: [10, 20]
    seeds: [1, 2, 3]                # sets `seed`; crossed with everything above

Each run's directory is ``runs/<run_id>`` where ``run_id`` is a hash of its resolved config,
so a run is never computed twice: a second call of the same sweep skips completed runs, and
``--resume`` also continues interrupted runs from their checkpoints.  The results table
``table.csv`` has one row per run: ``run_id``, ``status``, ``error``, the varied parameters
(columns named by their dotted keys), ``seed``, the run's scalar summary metrics, and
``wall_time_s``.
"""

from __future__ import annotations

import errno
import hashlib
import itertools
import math
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field, field_validator, model_validator

from .config import StrictModel, apply_overrides, load_yaml, set_path, to_yaml, validate
from .errors import DiskFullError, UserError
from .registry import EXPERIMENT_MODULES, get_experiment
from .resources import check_run_memory
from .runs import (
    STATUS_COMPLETED,
    STATUS_FAILED,
    atomic_write_text,
    directory_lock,
    execute_batch,
    load_npz,
    read_json,
    run_status,
)


class _Pandas:
    """pandas, imported on first use: a run never needs it, only sweep tables do (saves ~0.3 s a run)."""

    def __getattr__(self, name: str) -> Any:
        import pandas

        return getattr(pandas, name)


if TYPE_CHECKING:
    import pandas as pd
else:
    pd = _Pandas()

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")

MAX_SWEEP_RUNS = 20_000
"""Largest number of runs in one sweep: every run is validated and gets a folder before any runs."""


class SweepSpec(StrictModel):
    """A grid of runs of one experiment (see the module docstring for the YAML form)."""

    name: str
    experiment: str
    base_config: Path | None = Field(None, strict=False)
    base: dict[str, Any] = Field(default_factory=dict)
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    zip: dict[str, list[Any]] = Field(default_factory=dict)
    seeds: list[int] | None = None

    @field_validator("name")
    @classmethod
    def _name_ok(cls, v: str) -> str:
        if not _NAME.match(v) or set(v) == {"."}:
            raise ValueError("it names a folder: use letters, digits, '_', '-' and '.' only (not '.' or '..')")
        return v

    @field_validator("grid", "zip")
    @classmethod
    def _lists_not_empty(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in v.items():
            if not values:
                raise ValueError(f"'{key}' has no values")
        return v

    @field_validator("seeds")
    @classmethod
    def _seeds_ok(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and (not v or any(s < 0 for s in v)):
            raise ValueError("seeds must be a non-empty list of non-negative integers")
        return v

    @model_validator(mode="after")
    def _zip_equal(self) -> SweepSpec:
        lengths = {len(v) for v in self.zip.values()}
        if len(lengths) > 1:
            raise ValueError(f"zip lists must have equal lengths, got {sorted(lengths)}")
        n = self.n_runs()
        if n > MAX_SWEEP_RUNS:
            raise ValueError(
                f"sweep {self.name} has {n:,} runs; at most {MAX_SWEEP_RUNS:,} runs per sweep are allowed "
                "(split the grid into several sweeps)"
            )
        return self

    def n_runs(self) -> int:
        """The number of grid points, computed without enumerating them."""
        n = math.prod(len(v) for v in self.grid.values())
        if self.zip:
            n *= len(next(iter(self.zip.values())))
        return n * (len(self.seeds) if self.seeds is not None else 1)


@dataclass
class RunSpec:
    """One point of a sweep: its id, the varied parameters and the validated config."""

    run_id: str
    params: dict[str, Any]
    config: Any


def load_sweep_file(path: str | Path, overrides: list[str] | None = None) -> SweepSpec:
    raw = apply_overrides(load_yaml(path, what="sweep file"), overrides)
    spec = validate(SweepSpec, raw, source=str(path))
    if spec.base_config is not None and not spec.base_config.is_absolute():
        spec = spec.model_copy(update={"base_config": Path(path).parent / spec.base_config})
    return spec


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def grid_points(spec: SweepSpec) -> list[dict[str, Any]]:
    """The parameter assignments of the sweep, in a stable order (seeds vary fastest)."""
    keys = list(spec.grid)
    product = list(itertools.product(*(spec.grid[k] for k in keys))) if keys else [()]
    zkeys = list(spec.zip)
    zipped = list(zip(*(spec.zip[k] for k in zkeys), strict=True)) if zkeys else [()]
    seeds = spec.seeds if spec.seeds is not None else [None]
    points = []
    for values in product:
        for zvalues in zipped:
            for seed in seeds:
                p = dict(zip(keys, values, strict=True))
                p.update(zip(zkeys, zvalues, strict=True))
                if seed is not None:
                    p["seed"] = seed
                points.append(p)
    return points


def expand(spec: SweepSpec) -> list[RunSpec]:
    """Validate every run config of the sweep (all errors surface before anything runs)."""
    experiment = get_experiment(spec.experiment)
    base: dict[str, Any] = {}
    if spec.base_config is not None:
        base = load_yaml(spec.base_config, what="base_config")
    base = _merge(base, spec.base)
    base.setdefault("kind", spec.experiment)
    runs, seen = [], set()
    for params in grid_points(spec):
        data = apply_overrides(base, None)
        for key, value in params.items():
            set_path(data, key.split("."), value)
        config = validate(experiment.config_model, data, source=f"sweep {spec.name} at {params}")
        check_run_memory(experiment, config, source=f"sweep {spec.name} at {params}")
        run_id = "run-" + hashlib.sha1(to_yaml(config).encode()).hexdigest()[:12]
        if run_id in seen:
            raise UserError(f"sweep {spec.name}: two grid points give the same config ({params})")
        seen.add(run_id)
        runs.append(RunSpec(run_id, params, config))
    return runs


# --------------------------------------------------------------------------- execution
def _run_chunk(
    kind: str, module: str, configs: list[Any], out_dirs: list[str], resume: bool, threads: int | None
) -> list[dict]:
    """Worker entry point: run a chunk of runs; one failing run does not stop the others.

    Runs already completed are skipped (a chunk may be resubmitted after a worker died);
    unfinished run directories are cleared first (keeping the checkpoint with ``resume``).
    """
    from .registry import EXPERIMENTS, load_all, load_family

    if module:
        load_family(module)
    if kind not in EXPERIMENTS:
        load_all()
    if threads:
        _limit_threads(threads)
    experiment = get_experiment(kind)
    dirs = [Path(d) for d in out_dirs]
    results: list[dict | None] = [None] * len(dirs)
    todo = []
    for i, d in enumerate(dirs):
        if run_status(d) == STATUS_COMPLETED:
            results[i] = {"status": STATUS_COMPLETED}
        else:
            _clear_for_rerun(d, resume)
            todo.append(i)
    try:
        summaries = execute_batch(experiment, [configs[i] for i in todo], [dirs[i] for i in todo], resume=resume)
        for i, summary in zip(todo, summaries, strict=True):
            results[i] = {"status": STATUS_COMPLETED, "summary": summary}
    except BaseException as exc:
        if len(todo) == 1:
            results[todo[0]] = _failure_record(dirs[todo[0]], exc)
        else:
            # a batched call failed: retry the runs one by one so that only the bad ones fail
            for i in todo:
                _clear_for_rerun(dirs[i], resume)
                try:
                    summary = execute_batch(experiment, [configs[i]], [dirs[i]], resume=resume)[0]
                    results[i] = {"status": STATUS_COMPLETED, "summary": summary}
                except BaseException as exc_i:
                    results[i] = _failure_record(dirs[i], exc_i)
    return [r for r in results if r is not None]


def _failure_record(out_dir: Path, exc: BaseException) -> dict:
    """The failure of a run; if it failed before it started, its meta.json records that."""
    from .runs import atomic_write_json

    meta = read_json(out_dir / "meta.json", {}) or {}
    if meta.get("status") != STATUS_FAILED:
        meta.update(status=STATUS_FAILED, error=f"{type(exc).__name__}: {exc}")
        atomic_write_json(out_dir / "meta.json", meta)
    return {"status": STATUS_FAILED, "error": meta["error"]}


def _limit_threads(n: int) -> None:
    try:
        import numba

        numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))  # type: ignore[attr-defined]
    except Exception:  # numba missing or threading layer unavailable
        pass
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)


def _chunks(kind: str, pending: list[RunSpec], workers: int) -> list[list[RunSpec]]:
    experiment = get_experiment(kind)
    if experiment.run_batch is None or experiment.max_batch <= 1:
        return [[r] for r in pending]
    size = max(1, min(experiment.max_batch, math.ceil(len(pending) / max(1, workers))))
    return [pending[i : i + size] for i in range(0, len(pending), size)]


class Executor:
    """Runs chunks of runs; subclasses decide where."""

    workers: int = 1

    def map(self, fn: Callable, tasks: list[tuple], progress: Callable[[int], None]) -> list[Any]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class SerialExecutor(Executor):
    def map(self, fn: Callable, tasks: list[tuple], progress: Callable[[int], None]) -> list[Any]:
        out = []
        for t in tasks:
            out.append(fn(*t))
            progress(len(t[2]))
        return out


class LocalExecutor(Executor):
    """A pool of local processes (spawned, so that compiled kernels and threads start clean).

    The pool is created on first use and reused by later sweeps until :meth:`close`; a worker
    that dies (killed, out of memory) fails only the runs it was running, and the pool is
    started again for the rest.
    """

    def __init__(self, workers: int | None = None):
        self.workers = workers or os.cpu_count() or 1
        self._pool = None

    def _get_pool(self):
        if self._pool is None:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=mp.get_context("spawn"),
                initializer=exit_with_parent,
                initargs=(os.getpid(),),
            )
        return self._pool

    def map(self, fn: Callable, tasks: list[tuple], progress: Callable[[int], None]) -> list[Any]:
        if self.workers == 1 or len(tasks) == 1:
            return SerialExecutor().map(fn, tasks, progress)
        from concurrent.futures import as_completed
        from concurrent.futures.process import BrokenProcessPool

        results: list[Any] = [None] * len(tasks)
        todo = list(range(len(tasks)))
        while todo:
            pool = self._get_pool()
            futures = {pool.submit(fn, *tasks[i]): i for i in todo}
            todo = []
            for fut in as_completed(futures):
                i = futures[fut]
                try:
                    results[i] = fut.result()
                except BrokenProcessPool:
                    todo.append(i)  # resubmitted to a fresh pool below, unless it killed the pool itself
                    continue
                except Exception as exc:
                    results[i] = _record_lost_runs(tasks[i], exc)
                progress(len(tasks[i][2]))
            if todo:
                self.close()
                if len(todo) == len(futures):
                    # every task died with the pool: run them one at a time to isolate the culprit
                    for i in todo:
                        results[i] = self._run_isolated(fn, tasks[i])
                        progress(len(tasks[i][2]))
                    todo = []
        return results

    def _run_isolated(self, fn, task):
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(
            max_workers=1, mp_context=mp.get_context("spawn"), initializer=exit_with_parent, initargs=(os.getpid(),)
        ) as pool:
            try:
                return pool.submit(fn, *task).result()
            except Exception as exc:
                return _record_lost_runs(task, exc)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def exit_with_parent(parent_pid: int) -> None:
    """Worker initializer: end this worker when the sweep's main process dies (no orphans).

    On Linux the kernel sends SIGKILL on the parent's death (``prctl(PR_SET_PDEATHSIG)``);
    elsewhere a daemon thread polls the parent's pid every few seconds.
    """
    import signal
    import threading

    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:
        import time

        while True:
            time.sleep(2.0)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _record_lost_runs(task: tuple, exc: BaseException) -> list[dict]:
    """Mark the unfinished runs of a task whose worker process died as failed."""
    from .runs import atomic_write_json

    error = f"worker process died: {type(exc).__name__}: {exc}"
    out = []
    for d in map(Path, task[3]):
        meta = read_json(d / "meta.json", {}) or {}
        if meta.get("status") != STATUS_COMPLETED:
            meta.update(status=STATUS_FAILED, error=error)
            atomic_write_json(d / "meta.json", meta)
            out.append({"status": STATUS_FAILED, "error": error})
        else:
            out.append({"status": STATUS_COMPLETED})
    return out


class DaskExecutor(Executor):
    """A Dask cluster: a new ``LocalCluster``, an existing scheduler, or SLURM via dask-jobqueue."""

    def __init__(
        self,
        workers: int | None = None,
        scheduler: str | None = None,
        slurm: bool = False,
        slurm_options: dict[str, Any] | None = None,
    ):
        from dask.distributed import Client, LocalCluster

        self.workers = workers or os.cpu_count() or 1
        self.cluster: Any = None  # LocalCluster or dask-jobqueue's SLURMCluster, None with a scheduler
        if scheduler:
            self.client = _connect(Client, scheduler)
        elif slurm:
            try:
                from dask_jobqueue import SLURMCluster
            except ImportError:
                raise UserError("--slurm needs dask-jobqueue: pip install 'spikealign[cluster]'") from None
            import shutil

            check_slurm_options(slurm_options or {})
            if shutil.which("sbatch") is None:
                raise UserError("--slurm needs SLURM's sbatch command, which is not on PATH (is this a SLURM cluster?)")
            opts: dict[str, Any] = {"cores": 1, "memory": "4GB", "walltime": "12:00:00", "processes": 1}
            opts.update(slurm_options or {})
            self.cluster = SLURMCluster(**opts)
            self.cluster.scale(jobs=self.workers)
            self.client = Client(self.cluster)
        else:
            self.cluster = LocalCluster(
                n_workers=self.workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
            self.client = Client(self.cluster)

    def map(self, fn: Callable, tasks: list[tuple], progress: Callable[[int], None]) -> list[Any]:
        from dask.distributed import as_completed

        futures = [self.client.submit(fn, *t, pure=False) for t in tasks]
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(tasks)
        for fut in as_completed(futures):
            i = index[fut.key]
            try:
                results[i] = fut.result()
            except Exception as exc:  # KilledWorker, a lost connection: these runs failed, the others go on
                results[i] = _record_lost_runs(tasks[i], exc)
            progress(len(tasks[i][2]))
        return results

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


CONNECT_TIMEOUT_S = 5


def check_slurm_options(options: dict[str, Any]) -> None:
    """Refuse ``--slurm-option`` names that ``dask_jobqueue.SLURMCluster`` does not take (one line)."""
    import inspect

    from dask_jobqueue.core import Job, JobQueueCluster
    from dask_jobqueue.slurm import SLURMJob

    internal = {"self", "scheduler", "name", "config_name", "base_class_kwargs", "job_kwargs", "job_cls", "loop"}
    allowed = {
        p.name
        for f in (SLURMJob.__init__, Job.__init__, JobQueueCluster.__init__)
        for p in inspect.signature(f).parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in internal
    }
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise UserError(
            f"--slurm-option {unknown[0]}: not an option of dask_jobqueue.SLURMCluster "
            f"(allowed: {', '.join(sorted(allowed))})"
        )


def probe_scheduler(address: str, timeout_s: float = CONNECT_TIMEOUT_S - 1) -> None:
    """Check, within ``timeout_s``, that a Dask scheduler answers at a ``tcp://HOST:PORT`` address.

    A Dask scheduler speaks first on a new connection: its handshake starts with the 8-byte
    length of its first message.  Nothing listening, no answer (an HTTP server waits for a
    request) or an answer that is not such a length is a :class:`UserError`.  Other protocols
    (``tls://``, ``inproc://``) are left to Dask.
    """
    import socket
    import struct
    import time

    scheme, sep, rest = address.rpartition("://")
    if sep and scheme != "tcp":
        return
    host, _, port_text = rest.rpartition(":")
    try:
        port = int(port_text)
    except ValueError:
        raise UserError(f"--scheduler {address}: expected tcp://HOST:PORT, e.g. tcp://127.0.0.1:8786") from None
    hint = "check the address (the scheduler's port, 8786 by default, not its dashboard's) and that it runs"
    deadline = time.monotonic() + timeout_s
    head = b""
    try:
        with socket.create_connection((host.strip("[]") or "127.0.0.1", port), timeout=timeout_s) as sock:
            while len(head) < 8:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = sock.recv(8 - len(head))
                if not chunk:
                    break
                head += chunk
    except TimeoutError:
        pass
    except OSError as exc:
        raise UserError(
            f"--scheduler {address}: cannot reach a Dask scheduler there ({exc.strerror or type(exc).__name__}); {hint}"
        ) from None
    if len(head) < 8 or not 0 < struct.unpack("<Q", head)[0] < MAX_HANDSHAKE_BYTES:
        raise UserError(
            f"--scheduler {address}: something listens there but it is not a Dask scheduler "
            f"(no Dask handshake within {timeout_s:g} s); {hint}"
        )


MAX_HANDSHAKE_BYTES = 1 << 24
"""A Dask handshake is a few hundred bytes; a first length above this is not Dask's."""


def _connect(client_class: type, address: str):
    """A Dask client of the scheduler at ``address``; an unreachable scheduler is a :class:`UserError`."""
    try:
        return client_class(address, timeout=f"{CONNECT_TIMEOUT_S}s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise UserError(
            f"--scheduler {address}: cannot reach a Dask scheduler there within {CONNECT_TIMEOUT_S} s "
            f"({type(exc).__name__}); check the address (e.g. tcp://host:8786) and that the scheduler runs"
        ) from None


def make_executor(
    kind: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    slurm: bool = False,
    slurm_options: dict[str, Any] | None = None,
) -> Executor:
    if kind == "serial":
        return SerialExecutor()
    if kind == "local" and not (scheduler or slurm):
        return LocalExecutor(workers)
    if kind in ("dask", "local"):
        if scheduler:
            probe_scheduler(scheduler)  # before Dask is imported: the answer comes within seconds
        return DaskExecutor(workers, scheduler=scheduler, slurm=slurm, slurm_options=slurm_options)
    raise UserError(f"unknown executor {kind!r} (allowed: local, dask, serial)")


def run_sweep(
    spec: SweepSpec,
    out_dir: str | Path,
    *,
    executor: Executor | None = None,
    resume: bool = False,
    show_progress: bool = True,
) -> SweepResult:
    """Run every missing run of ``spec`` under ``out_dir`` and write ``table.csv``.

    Completed runs are never recomputed.  Failed or interrupted runs are rerun (continued from
    their checkpoints with ``resume``).  A failing run is recorded in the table with its error;
    the others complete.
    """
    runs = expand(spec)
    out = Path(out_dir)
    with directory_lock(out, "sweep folder"):
        try:
            (out / "runs").mkdir(exist_ok=True)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise DiskFullError(f"no space left on the device (or quota exceeded): cannot start in {out}") from None
            raise
        return _run_sweep_locked(spec, runs, out, executor, resume, show_progress)


def _run_sweep_locked(
    spec: SweepSpec, runs: list[RunSpec], out: Path, executor: Executor | None, resume: bool, show_progress: bool
) -> SweepResult:
    from .progress import Progress

    atomic_write_text(out / "sweep.yaml", to_yaml(spec.model_dump(mode="json")))
    pending = [r for r in runs if run_status(out / "runs" / r.run_id) != STATUS_COMPLETED]
    executor = executor or LocalExecutor()
    threads = max(1, (os.cpu_count() or 1) // max(1, executor.workers)) if pending else None
    module = EXPERIMENT_MODULES.get(spec.experiment, "")
    tasks = []
    for chunk in _chunks(spec.experiment, pending, executor.workers):
        dirs = [str(out / "runs" / r.run_id) for r in chunk]
        tasks.append((spec.experiment, module, [r.config for r in chunk], dirs, resume, threads))
    if pending:
        bar = Progress(total=len(pending), desc=f"sweep {spec.name}", enabled=show_progress, unit="run")
        try:
            executor.map(_run_chunk, tasks, bar.update)
        finally:
            bar.close()
    result = SweepResult(out)
    result.write_table(runs)
    return result


def _clear_for_rerun(run_dir: Path, resume: bool) -> None:
    """Make an unfinished run directory ready to run again."""
    if not run_dir.exists():
        return
    status = run_status(run_dir)
    keep_checkpoint = resume and status is not None
    for p in sorted(run_dir.rglob("*"), reverse=True):
        if keep_checkpoint and (p.name == "latest.pkl" or p.name in ("checkpoints", "config.yaml", "meta.json")):
            continue
        if keep_checkpoint and p.parent.name == "checkpoints":
            continue
        if p.is_dir():
            if not any(p.iterdir()):
                p.rmdir()
        else:
            p.unlink()
    if not keep_checkpoint and run_dir.exists() and not any(run_dir.iterdir()):
        run_dir.rmdir()


# --------------------------------------------------------------------------- results
class SweepResult:
    """The results of a sweep folder: ``table`` (a pandas DataFrame) and per-run files."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    @property
    def table(self) -> pd.DataFrame:
        path = self.root / "table.csv"
        if not path.is_file():
            raise UserError(f"no results table in {self.root} (run the sweep first)")
        try:
            table = pd.read_csv(path)
        except (ValueError, UnicodeDecodeError, pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UserError(f"{path} is corrupt ({first}); run the sweep again to rewrite it") from None
        missing = {"run_id", "status"} - set(table.columns)
        if missing:
            raise UserError(f"{path} is corrupt (no column {', '.join(sorted(missing))}); run the sweep again")
        return table

    def completed(self) -> pd.DataFrame:
        t = self.table
        return t[t["status"] == STATUS_COMPLETED].reset_index(drop=True)

    def run_dir(self, run_id: str) -> Path:
        return self.root / "runs" / run_id

    def arrays(self, run_id: str, name: str) -> dict[str, np.ndarray]:
        return load_npz(self.run_dir(run_id) / (name if name.endswith(".npz") else f"{name}.npz"))

    def metrics(self, run_id: str) -> dict[str, Any]:
        return read_json(self.run_dir(run_id) / "metrics.json", {}) or {}

    def config(self, run_id: str) -> dict[str, Any]:
        return load_yaml(self.run_dir(run_id) / "config.yaml")

    def write_table(self, runs: Iterable[RunSpec]) -> pd.DataFrame:
        rows = []
        for r in runs:
            d = self.run_dir(r.run_id)
            meta = read_json(d / "meta.json", {}) or {}
            summary = (read_json(d / "metrics.json", {}) or {}).get("summary", {})
            row: dict[str, Any] = {"run_id": r.run_id, "status": meta.get("status", "missing")}
            row["error"] = meta.get("error", "") if row["status"] == STATUS_FAILED else ""
            row.update({k: _cell(v) for k, v in r.params.items()})
            row.setdefault("seed", getattr(r.config, "seed", None))
            for k, v in summary.items():
                if np.isscalar(v) or v is None:
                    row[k] = v
            row["wall_time_s"] = meta.get("wall_time_s")
            rows.append(row)
        table = pd.DataFrame(rows)
        atomic_write_text(self.root / "table.csv", table.to_csv(index=False))
        return table


def _cell(value: Any) -> Any:
    return value if np.isscalar(value) or value is None else str(value)
