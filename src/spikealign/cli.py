"""The ``spikealign`` command line: run, sweep, reproduce, figure, config, bench, info."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import functools
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, NoReturn

from . import __version__
from .errors import Terminated, UserError, clear_stop_request, request_stop


def _add_executor_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("executor")
    g.add_argument(
        "--executor",
        choices=["local", "dask", "serial"],
        default="local",
        help="local process pool (default), a Dask cluster, or serial in this process",
    )
    g.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="parallel workers (default: all cores; for --slurm: number of jobs)",
    )
    g.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="address of a running Dask scheduler, e.g. tcp://host:8786 (implies --executor dask)",
    )
    g.add_argument(
        "--slurm",
        action="store_true",
        help="start Dask workers as SLURM jobs through dask-jobqueue (pip install 'spikealign[cluster]')",
    )
    g.add_argument(
        "--slurm-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="option for dask_jobqueue.SLURMCluster, e.g. queue=cpu, cores=4, memory=8GB, "
        "walltime=12:00:00, account=myproj (repeatable)",
    )
    g.add_argument(
        "--resume",
        action="store_true",
        help="continue interrupted runs from their checkpoints (completed runs are always kept)",
    )


def _add_set_option(p: argparse.ArgumentParser, help_text: str) -> None:
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE", help=help_text)


def _add_figure_format_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--figure-format",
        default=None,
        metavar="FORMATS",
        help="comma-separated formats of the figures drawn: png (default), pdf, svg; e.g. png,pdf",
    )


def _with_figure_formats(command):
    """Run ``command(args)`` with the figures it draws saved in ``args.figure_format`` (workers inherit it)."""

    @functools.wraps(command)
    def wrapped(args: argparse.Namespace) -> int:
        if getattr(args, "figure_format", None) is None:
            return command(args)
        from .figures import figure_formats, parse_formats

        try:
            formats = parse_formats(args.figure_format)
        except ValueError as exc:
            raise UserError(f"--figure-format: {exc}") from None
        with figure_formats(formats):
            return command(args)

    return wrapped


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: the error and a hint, not the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="spikealign",
        description="Spike-based alignment learning (SAL): run experiments, sweeps and paper figures.",
    )
    parser.add_argument("--version", action="version", version=f"spikealign {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    _add_info_parser(sub)
    _add_run_parser(sub)
    _add_sweep_parser(sub)
    _add_reproduce_parser(sub)
    _add_figure_parser(sub)
    _add_config_parser(sub)
    _add_bench_parser(sub)
    return parser


def _add_info_parser(sub) -> None:
    p = sub.add_parser(
        "info",
        help="versions, cores, experiment kinds and figures (--full: CUDA, datasets)",
        description="Print versions of spikealign and its libraries, cores, experiment kinds, figures "
        "and named configs; with --full also torch threads, CUDA and the deep-net datasets found.",
    )
    p.add_argument("--full", action="store_true", help="also CUDA, torch threads and datasets (imports torch)")
    p.set_defaults(func=cmd_info)


def _add_run_parser(sub) -> None:
    from .families import REFERENCE_OPTIONS

    p = sub.add_parser(
        "run",
        help="one run of any experiment from a YAML config",
        description="Run one experiment. The YAML names its experiment with `kind:`; reference "
        "implementation YAML files are recognised and converted.",
    )
    p.add_argument("config", type=Path, help="YAML config file, or the name of a packaged config (config --list)")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="run directory (default: results/runs/<config name>-<hash of the resolved config>)",
    )
    _add_set_option(p, "override a config value (repeatable), e.g. --set train.n_iter=100")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from its last checkpoint")
    for option in REFERENCE_OPTIONS:  # the families' reference-format choices
        p.add_argument(option.flag, dest=option.dest, type=option.type, default=None, help=option.help)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--debug", action="store_true", help="show the full traceback of an error inside the run")
    _add_figure_format_option(p)
    p.set_defaults(func=cmd_run)


def _add_sweep_parser(sub) -> None:
    p = sub.add_parser(
        "sweep",
        help="a grid of runs from a sweep YAML",
        description="Run every missing run of a sweep and write its results table (table.csv).",
    )
    p.add_argument("sweep", type=Path, help="sweep YAML file")
    p.add_argument("--out", type=Path, default=None, help="sweep folder (default: results/sweeps/<name>)")
    _add_set_option(p, "override a value of the sweep file (repeatable), e.g. --set base.train.n_iter=10")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    _add_figure_format_option(p)
    _add_executor_options(p)
    p.set_defaults(func=cmd_sweep)


def _add_reproduce_parser(sub) -> None:
    # argparse declarations of the same shape as "sweep" (shared options are already in the _add_* helpers)
    from .families import FIGURE_MODULES

    p = sub.add_parser(
        "reproduce",
        help="run the sweeps behind paper figures, draw them, write the report",
        description="Reproduce paper figures (all registered ones when none is named) and write "
        "an HTML report to OUT/report/index.html.",
    )
    p.add_argument(
        "figures",
        nargs="*",
        metavar="FIGURE",
        help=f"figure ids: {' '.join(FIGURE_MODULES)}",
    )
    p.add_argument(
        "--profile",
        choices=["quick", "paper"],
        default="quick",
        help="quick: minutes on a laptop; paper: the full grids (use a cluster)",
    )
    p.add_argument("--out", type=Path, default=None, help="output folder (default: results)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument(
        "--dry-run", action="store_true", help="print the projected CPU hours per figure (paper profile) and stop"
    )
    _add_figure_format_option(p)
    _add_executor_options(p)
    p.set_defaults(func=cmd_reproduce)


def _add_figure_parser(sub) -> None:
    p = sub.add_parser(
        "figure",
        help="redraw a figure, or a run's or sweep's plots, from existing results",
        description="Draw a figure again from results written by `reproduce` (figure FIGURE_ID DIR), "
        "or the plots of a run folder or the summary of a sweep folder (figure DIR).",
    )
    p.add_argument("figure", help="figure id, or a run or sweep folder")
    p.add_argument(
        "results_dir",
        type=Path,
        nargs="?",
        default=None,
        help="the reproduce output folder or the figure's folder in it",
    )
    _add_figure_format_option(p)
    p.set_defaults(func=cmd_figure)


def _add_bench_parser(sub) -> None:
    p = sub.add_parser(
        "bench",
        help="run benchmarks, write benchmarks/results/<name>.json",
        description="Run named benchmarks (all when none is named).",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="benchmark names")
    p.add_argument("--quick", action="store_true", help="smaller problem sizes (a smoke check)")
    p.add_argument("--out", type=Path, default=None, help="folder for the JSON files (default: benchmarks/results)")
    p.set_defaults(func=cmd_bench)


def _add_config_parser(sub) -> None:
    p = sub.add_parser(
        "config",
        help="print a complete, commented config for an experiment kind or a packaged config",
        description="Print a complete, commented, working config for experiment KIND (every key with "
        "its meaning and allowed values; small enough to run in seconds), or the packaged config NAME. "
        "Save it and run it: spikealign config toy > toy.yaml && spikealign run toy.yaml",
    )
    p.add_argument("name", nargs="?", metavar="KIND|NAME", help="experiment kind or packaged config name")
    p.add_argument("--list", action="store_true", help="list the experiment kinds and packaged configs")
    p.set_defaults(func=cmd_config)


def cmd_config(args: argparse.Namespace) -> int:
    from .families import NAMED_CONFIGS, named_config_path
    from .registry import kind_summary, known_kinds

    if args.list and args.name is not None:
        raise UserError(f"give a KIND|NAME or --list, not both (got {args.name!r} and --list)")
    if not args.list and not args.name:
        raise UserError(
            f"name an experiment kind or packaged config{' (got an empty name)' if args.name == '' else ''}; "
            "spikealign config --list shows them"
        )
    if args.list:
        print("experiment kinds (spikealign config KIND):")
        for kind in known_kinds():
            print(f"  {kind:<22} {kind_summary(kind)}")
        print("packaged configs (spikealign config NAME; also spikealign run NAME):")
        for name, rel in NAMED_CONFIGS.items():
            print(f"  {name:<22} {rel}")
        return 0
    if args.name in NAMED_CONFIGS:
        sys.stdout.write(named_config_path(args.name).read_text())
        return 0
    from .templates import config_template

    if args.name not in known_kinds():
        raise UserError(
            f"unknown experiment kind or packaged config {args.name!r} "
            f"(kinds: {', '.join(known_kinds())}; packaged configs: {', '.join(NAMED_CONFIGS)})"
        )
    sys.stdout.write(config_template(args.name))
    return 0


def _parse_options(items: list[str], flag: str) -> dict[str, Any]:
    from .config import parse_override

    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise UserError(f"{flag} expects KEY=VALUE, got {item!r}")
        path, value = parse_override(item)
        if len(path) != 1:
            raise UserError(f"{flag} expects KEY=VALUE, got {item!r}")
        out[path[0]] = value
    return out


def _executor(args: argparse.Namespace):
    from .sweep import make_executor

    if args.workers is not None and args.workers < 1:
        raise UserError(f"--workers must be at least 1, got {args.workers}")
    kind = "dask" if (args.scheduler or args.slurm) else args.executor
    return make_executor(
        kind, args.workers, args.scheduler, args.slurm, _parse_options(args.slurm_option, "--slurm-option")
    )


@_with_figure_formats
def cmd_run(args: argparse.Namespace) -> int:
    from .families import REFERENCE_OPTIONS
    from .runs import check_output_dir, default_run_dir, execute_run, load_run_config, read_json

    options = {option.dest: getattr(args, option.dest) for option in REFERENCE_OPTIONS}
    for option in REFERENCE_OPTIONS:
        value = options[option.dest]
        if option.minimum is not None and value is not None and value < option.minimum:
            raise UserError(f"{option.flag} must be at least {option.minimum}, got {value}")
    experiment, config = load_run_config(args.config, args.overrides, options)
    out = check_output_dir(args.out or default_run_dir(args.config, config, args.resume))
    t0 = time.perf_counter()
    summary = execute_run(experiment, config, out, resume=args.resume, show_progress=not args.quiet)
    meta = read_json(out / "meta.json", {})
    print(f"run {experiment.kind} {meta.get('status', '')} in {time.perf_counter() - t0:.1f} s: {out}")
    for k, v in summary.items():
        print(f"  {k} = {v}")
    _draw_run_plots(out)
    return 0


def _draw_run_plots(out: Path) -> None:
    """The run's own plots, unless the run drew them itself; a plotting error is reported, not fatal."""
    from .figures.run_plots import draw_run_dir

    figures = out / "figures"
    if figures.is_dir() and any(figures.iterdir()):
        files = sorted(figures.iterdir())
    else:
        try:
            files = draw_run_dir(out)
        except Exception as exc:  # the run itself completed; say why its plots are missing
            print(f"note: the run's plots could not be drawn ({type(exc).__name__}: {exc})", file=sys.stderr)
            return
    if files:
        print(f"figures: {', '.join(_shown_path(f) for f in files)}")


def _shown_path(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it, else absolute."""
    resolved = Path(path).resolve()
    try:
        return str(resolved.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(resolved)


@_with_figure_formats
def cmd_sweep(args: argparse.Namespace) -> int:
    from .sweep import load_sweep_file, run_sweep

    spec = load_sweep_file(args.sweep, args.overrides)
    from .sweep import expand

    expand(spec)  # validate every run config before anything is written
    from .runs import DEFAULT_RESULTS, check_output_dir

    out = check_output_dir(args.out or DEFAULT_RESULTS / "sweeps" / spec.name)
    executor = _executor(args)
    try:
        result = run_sweep(spec, out, executor=executor, resume=args.resume, show_progress=not args.quiet)
    finally:
        executor.close()
    table = result.table
    failed = table[table["status"] != "completed"]
    print(f"sweep {spec.name}: {len(table) - len(failed)} of {len(table)} runs completed; table: {out / 'table.csv'}")
    for _, row in failed.iterrows():
        print(f"  failed {row['run_id']}: {row['error']}")
    return 1 if len(failed) else 0


@_with_figure_formats
def cmd_reproduce(args: argparse.Namespace) -> int:
    from .report import write_report
    from .reproduce import overall_line, reproduce_figure, resolve_figures, status_line
    from .runs import DEFAULT_RESULTS, check_output_dir

    out = args.out if args.out is not None else DEFAULT_RESULTS
    skipped: list[str] = []
    figures = resolve_figures(args.figures, skipped)
    if not figures:
        raise UserError("no figures are registered yet")
    if args.dry_run:
        from .cost import format_projection, project

        for reason in skipped:
            print(f"skipped {reason}")
        print(format_projection(project(figures)))
        return 0
    check_output_dir(out)
    for reason in skipped:
        print(f"skipped {reason}")
    print(f"reproducing {len(figures)} figure(s) with the {args.profile} profile: {' '.join(figures)}")
    executor = _executor(args)
    records = []
    start = time.perf_counter()
    try:
        for fid in figures:
            t0 = time.perf_counter()
            print(f"[{fid}] running ...", flush=True)
            rec = reproduce_figure(fid, args.profile, out, executor, resume=args.resume, show_progress=not args.quiet)
            print(status_line(rec, time.perf_counter() - t0), flush=True)
            records.append(rec)
            print(overall_line(len(records), len(figures), time.perf_counter() - start), flush=True)
    finally:
        executor.close()
    report = write_report(out, figures)
    print(f"figures: {out.resolve()}/<figure>/figures/")
    print(f"report:  {report.resolve()}")
    return 0 if all(r.ok for r in records) else 1


@_with_figure_formats
def cmd_figure(args: argparse.Namespace) -> int:
    from .reproduce import redraw
    from .runs import check_output_dir

    if args.results_dir is None:
        from .figures.run_plots import draw_folder

        folder = Path(args.figure)
        if not folder.is_dir():
            raise UserError(f"{folder} is not a folder; give a run or sweep folder, or FIGURE_ID RESULTS_DIR")
        files = draw_folder(check_output_dir(folder, "results folder"))
        for f in files:
            print(_shown_path(f))
        if not files:
            print(f"no plots for {folder}")
        return 0
    if args.results_dir.exists():
        check_output_dir(args.results_dir, "results folder")
    rec = redraw(args.figure, args.results_dir)
    fig_dir = args.results_dir / args.figure if (args.results_dir / args.figure).is_dir() else args.results_dir
    for name in rec.files:  # relative to the reproduce folder
        print(_shown_path(fig_dir.parent / name))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import available, run_benchmark

    if args.out is not None:
        from .runs import check_output_dir

        check_output_dir(args.out)
    names = args.names or available()
    if not names:
        raise UserError("no benchmarks found in benchmarks/")
    for name in names:
        res = run_benchmark(name, quick=args.quick, out_dir=args.out)
        ratio = res.get("ratio")
        extra = f" (x{ratio:.3g} vs {res.get('baseline', {}).get('what', 'baseline')})" if ratio else ""
        print(f"{name}: {res['metric']} = {res['value']:.4g} {res['unit']}{extra} -> {res['path']}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from .families import EXPERIMENT_KINDS, NAMED_CONFIGS
    from .registry import registered_figures
    from .runs import git_sha, library_versions

    print(f"spikealign {__version__} (git {git_sha() or 'n/a'})")
    for k, v in library_versions().items():
        print(f"  {k:<11} {v}")
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    print(f"cores: {os.cpu_count()} (usable: {usable})")
    print(f"numba threads: {os.environ.get('NUMBA_NUM_THREADS', 'one per usable core (NUMBA_NUM_THREADS unset)')}")
    if args.full:
        _print_torch_and_datasets()
    print(f"experiments: {', '.join(EXPERIMENT_KINDS)}")
    from .families import DEEP_METHODS

    print(f"deep methods (kind deep, method:): {', '.join(DEEP_METHODS)}")
    print(f"figures: {', '.join(registered_figures())}")
    print(f"named configs: {', '.join(NAMED_CONFIGS)}")
    if not args.full:
        print("(spikealign info --full: also CUDA, torch threads and datasets)")
    return 0


def _print_torch_and_datasets() -> None:
    try:
        import torch
    except ImportError:
        print("torch: not installed (pip install 'spikealign[deep]')")
        return
    cuda = torch.cuda.is_available()
    print(
        f"torch threads: {torch.get_num_threads()}; CUDA available: {cuda}"
        + (f" ({torch.cuda.get_device_name(0)})" if cuda else "")
    )
    from .deep.data import dataset_locations

    print("datasets:")
    for name, where in dataset_locations().items():
        print(f"  {name:<14} {where or 'not found'}")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        _check_environment()
        with _sigterm_as_interrupt():
            return int(args.func(args) or 0)
    except UserError as exc:
        print(f"spikealign {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        how = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
        print(
            f"spikealign {args.command}: {how}; checkpoints are kept: run the same command with --resume to continue",
            file=sys.stderr,
        )
        return 143 if isinstance(exc, Terminated) else 130
    except Exception as exc:
        log = getattr(exc, "run_log", None)
        if log is None or getattr(args, "debug", False):
            raise  # not from inside a run (a bug to report), or --debug: the whole traceback
        message = (str(exc).strip().splitlines() or [""])[0][:300]
        print(
            f"spikealign {args.command}: run failed: {type(exc).__name__}: {message} "
            f"(traceback in {log}; --debug shows it here)",
            file=sys.stderr,
        )
        return 1


def _check_environment() -> None:
    """Environment variables that change what a command does are checked before any work."""
    text = os.environ.get("SPIKEALIGN_FIGURE_FORMATS", "")
    if text.strip():
        from .figures import FORMATS_ENV, parse_formats

        try:
            parse_formats(text)
        except ValueError as exc:
            raise UserError(f"environment variable {FORMATS_ENV}: {exc}") from None


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM (``kill``, a job scheduler) stops a command as Ctrl-C does: the run stays resumable."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pid = os.getpid()

    def handler(signum, frame):
        if os.getpid() != pid:  # a forked worker process: end as SIGTERM would
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        request_stop()  # asked again by the run loops' progress reports, should this raise be dropped
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        clear_stop_request()


def entry_point() -> NoReturn:
    """The ``spikealign`` program: :func:`main`, then end the process without the interpreter's teardown.

    Tearing down every module and object (numba's compiler, matplotlib) takes 0.2-0.4 s after the
    work is done.  What a normal exit guarantees is kept: non-daemon threads are waited for, exit
    handlers (``atexit``: temporary directories, logging, process pools) run, output is flushed.
    """
    code = main()
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed pipe or stream: nothing more can be written anyway
            pass
    os._exit(code)


if __name__ == "__main__":
    entry_point()
