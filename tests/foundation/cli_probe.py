"""Probe the command line with bad input as a user would (one process per case) and print a table.

    PYTHONPATH=src python tests/foundation/cli_probe.py [--only CATEGORY]

Each case must exit 2 (or the code it names: 1 for a run that diverged or failed inside) with one
line on stderr (containing the text it names, if any), no traceback, and leave its output path
unwritten (where it names one and expects exit 2).  A case's files may hold ``ENV`` (``KEY=VALUE``
set for it) and ``FAULTS`` (run the command with the test-only kind ``toy-faults`` registered:
``tests/toy_faults_cli.py``).  Not collected by pytest (it takes a few minutes); the same cases are unit tests in
``test_bad_input.py``, ``test_executor_faults.py``, ``test_no_silent_wrong_numbers.py``,
``test_no_lost_work.py``, ``test_errors_inside_runs.py``, ``test_memory_estimates.py`` and
``test_messages.py``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import yaml

CASES: list[tuple[str, str, list[str], dict[str, str | bytes], int, str]] = []


def case(
    category: str,
    name: str,
    argv: list[str],
    files: dict[str, str | bytes] | None = None,
    code: int = 2,
    expect: str = "",
) -> None:
    CASES.append((category, name, argv, files or {}, code, expect))


def run_argv(sets: list[str]) -> list[str]:
    argv = ["run", "c.yaml", "--out", "OUT"]
    for item in sets:
        argv += ["--set", item]
    return argv


TOY = "kind: toy\nn_steps: 5\n"
SWEEP = "name: s\nexperiment: toy\nbase: {n_steps: 5}\ngrid: {seed: [1, 2]}\n"

# input files
case("files", "binary config", ["run", "c.yaml", "--out", "OUT"], {"c.yaml": b"\x00\x01\xff" * 50})
case("files", "UTF-16 config", ["run", "c.yaml", "--out", "OUT"], {"c.yaml": TOY.encode("utf-16")})
case("files", "Latin-1 config", ["run", "c.yaml", "--out", "OUT"], {"c.yaml": "kind: toy\n# \xe9\n".encode("latin-1")})
case("files", "directory as config", ["run", "d.yaml", "--out", "OUT"], {"d.yaml/x": ""})
case("files", "duplicate key", ["run", "c.yaml", "--out", "OUT"], {"c.yaml": "kind: toy\nseed: 1\nseed: 2\n"})
case("files", "nested duplicate key", ["run", "c.yaml", "--out", "OUT"],
     {"c.yaml": "kind: microcircuit\nnetwork: {t_ref: 1, t_ref: 2}\n"})  # fmt: skip
case("files", "binary sweep file", ["sweep", "s.yaml", "--out", "OUT"], {"s.yaml": b"\xff\xfe\x00garbage"})
case("files", "UTF-16 base_config", ["sweep", "s.yaml", "--out", "OUT"],
     {"s.yaml": "name: s\nexperiment: toy\nbase_config: b.yaml\n", "b.yaml": TOY.encode("utf-16")})  # fmt: skip
case("files", "duplicate key in sweep", ["sweep", "s.yaml", "--out", "OUT"],
     {"s.yaml": "name: s\nexperiment: toy\nname: t\n"})  # fmt: skip

# non-finite numbers
for kind, sets in [
    ("microcircuit", ["network.lambda_api=.nan"]),
    ("microcircuit", ["inputs.training=[1.0, .nan]"]),
    ("ssn", ["stdp.a_plus=.nan"]),
    ("ssn", ["neuron.t_ref=.inf"]),
    ("deep", ["lr=.inf"]),
    ("deep", ["method=sal", "estimator.sal_lr=.nan"]),
    ("estimator-connection", ["seconds=.inf"]),
    ("sal-evolution", ["sal_lr=.nan"]),
    ("theory-stdd", ["w_12=.nan"]),
    ("theory-spiking-sal", ["lr=-.inf"]),
    ("dale-rate", ["w_e2_e1=[0.5, .inf]"]),
    ("toy", ["drift=.nan"]),
]:
    case("non-finite", f"{kind} {' '.join(sets)}", run_argv(sets),
         {"c.yaml": f"kind: {kind}\n"})  # fmt: skip

# negative rates
for kind, sets in [
    ("microcircuit", ["network.lr_down=-1"]),
    ("microcircuit", ["network.lr_up=[0.1, -0.1]"]),
    ("ssn", ["lr.weight=-0.1"]),
    ("deep", ["method=sal", "estimator.sal_lr=-5", "n_epochs=1", "max_train=64", "max_test=64"]),  # short if accepted
]:
    case("negative rates", f"{kind} {' '.join(sets)}",
         run_argv(sets), {"c.yaml": f"kind: {kind}\n"})  # fmt: skip

# memory
for kind, sets in [
    ("theory-stdd", ["t_max=1000000"]),
    ("microcircuit", ["network.dims=[1000000,1000000,1000000]"]),
    ("deep", ["method=sal", "estimator.batch_size=1000000"]),
    ("sal-evolution", ["sizes=[1000000,1000000,1000000]"]),
    ("toy", ["n_steps=1000000000000"]),
    ("estimator-connection", ["seconds=1.0e+15"]),
]:
    case("memory", f"{kind} {' '.join(sets)}",
         run_argv(sets), {"c.yaml": f"kind: {kind}\n"})  # fmt: skip

# cross-key checks and flags
case("cross-key", "theory-stdd t_ref=50 (t_max default)", ["run", "c.yaml", "--out", "OUT", "--set", "t_ref=50"],
     {"c.yaml": "kind: theory-stdd\n"})  # fmt: skip
case("cross-key", "theory-phase-plane w_min=3 (w_max default)", ["run", "c.yaml", "--out", "OUT", "--set", "w_min=3"],
     {"c.yaml": "kind: theory-phase-plane\n"})  # fmt: skip
case("flags", "--n-epochs 0", ["run", "c.yaml", "--out", "OUT", "--n-epochs", "0"], {"c.yaml": TOY})
case("flags", "--slurm-option foo", ["sweep", "s.yaml", "--out", "OUT", "--slurm-option", "foo"], {"s.yaml": SWEEP})
case("flags", "grid of 10^6 points", ["sweep", "s.yaml", "--out", "OUT"],
     {"s.yaml": yaml.safe_dump({"name": "s", "experiment": "toy",
                                "grid": {"n_steps": list(range(1, 1001)), "seed": list(range(1000))}})})  # fmt: skip

# output folders
case("output", "run --out is a file", ["run", "c.yaml", "--out", "f"], {"c.yaml": TOY, "f": "x"})
case("output", "sweep --out is a file", ["sweep", "s.yaml", "--out", "f"], {"s.yaml": SWEEP, "f": "x"})
case("output", "reproduce --out is a file", ["reproduce", "proof", "--out", "f"], {"f": "x"})
case("output", "bench --out is a file", ["bench", "--quick", "--out", "f"], {"f": "x"})
case("output", "figure results folder is a file", ["figure", "proof", "f"], {"f": "x"})

# corrupt state (prepared by PREP commands below)
case("corrupt state", "empty table.csv", ["figure", "fig2c", "res"], {"res/fig2c/stdds/table.csv": ""})
case(
    "corrupt state", "garbage table.csv", ["figure", "fig2c", "res"], {"res/fig2c/stdds/table.csv": b"\x00\x01,\n\xff"}
)
case("corrupt state", "broken figure.json", ["figure", "fig2c", "res"], {"res/fig2c/figure.json": "{broken"})
case("corrupt state", "figure.json not a record", ["figure", "fig2c", "res"], {"res/fig2c/figure.json": "[1]"})
case("corrupt state", "broken meta.json + --resume", ["run", "c.yaml", "--out", "r", "--resume"],
     {"c.yaml": TOY, "r/meta.json": '{"status": "runn'})  # fmt: skip
case("corrupt state", "broken checkpoint + --resume", ["run", "c.yaml", "--out", "r", "--resume"],
     {"c.yaml": TOY, "r/meta.json": '{"status": "running"}', "r/checkpoints/latest.pkl": b"\x80\x05junk"})  # fmt: skip
case("corrupt state", "garbage .npz of a run (figure redraw)", ["figure", "fig2c", "res"],
     {"PREP": "reproduce fig2c --out res --quiet", "CORRUPT:res/fig2c/stdds/runs/*/*.npz": b"junk"})  # fmt: skip
case("corrupt state", "broken meta.json of a sweep run (sweep rerun)", ["sweep", "s.yaml", "--out", "sw"],
     {"s.yaml": SWEEP, "PREP": "sweep s.yaml --out sw --executor serial --quiet",
      "CORRUPT:sw/runs/*/meta.json": '{"status": '})  # fmt: skip

# executors
case("executors", "--scheduler pointing at nothing", ["sweep", "s.yaml", "--out", "OUT", "--scheduler", "tcp://127.0.0.1:9"],
     {"s.yaml": SWEEP})  # fmt: skip
case("executors", "--slurm without sbatch", ["sweep", "s.yaml", "--out", "OUT", "--slurm"], {"s.yaml": SWEEP})

# non-finite state: the run stops at the first check with one line, exit 1
DEEP_SAL = ("kind: deep\nmethod: sal\nn_epochs: 1\nmax_train: 64\nmax_test: 64\n"
            "estimator: {n_iterations: 1, len_epoch: 5, batch_size: 2}\n")  # fmt: skip
for name, text, sets in [
    ("deep sal estimator.sal_lr=1e30", DEEP_SAL, ["estimator.sal_lr=1e30"]),
    ("sal-evolution sal_lr=1e300", "kind: sal-evolution\nn_epochs: 2\n", ["sal_lr=1e300"]),
]:
    # --quiet: without it the progress report's own summary line ("stopped at 0/2") precedes the error
    case("non-finite state", name, [*run_argv(sets), "--quiet"], {"c.yaml": text}, code=1, expect="diverged")

# bounds of time constants, steps, intervals and step sizes
for kind, sets, key in [
    ("deep", ["method=stdwi", "estimator.dt_ms=1e-300"], "dt_ms"),
    ("deep", ["method=rdd", "estimator.update_interval_s=1e-300"], "update_interval_s"),
    ("estimator-connection", ["method=rdd", "rdd.update_interval_s=1e-300"], "rdd.update_interval_s"),
    ("theory-stdd", ["b_1=1e300", "b_2=-1e300"], "b_1"),
    ("ssn", ["lr.weight=1e10", "lr.bias=1e10"], "lr.weight"),
]:
    case("lower bounds", f"{kind} {' '.join(sets)}", run_argv(sets), {"c.yaml": f"kind: {kind}\n"}, expect=key)

# strict types
for sets, key in [(["n_steps=true"], "n_steps"), (['n_steps="5"'], "n_steps")]:
    case("strict types", f"toy {' '.join(sets)}", run_argv(sets), {"c.yaml": TOY}, expect=key)
case("strict types", 'ssn diagnostic_figure="no"', run_argv(['diagnostic_figure="no"']), {"c.yaml": "kind: ssn\n"},
     expect="diagnostic_figure")  # fmt: skip

# no lost work
case("lost work", "interrupted run rerun without --resume", ["run", "c.yaml", "--out", "r"],
     {"c.yaml": TOY, "r/meta.json": '{"status": "interrupted"}', "r/checkpoints/latest.pkl": b"x"},
     expect="--resume")  # fmt: skip
case("lost work", "sweep named ..", ["sweep", "s.yaml"], {"s.yaml": SWEEP.replace("name: s", "name: ..")},
     expect="'name'")  # fmt: skip
case("lost work", "checkpoint of another kind + --resume", ["run", "c.yaml", "--out", "r", "--resume"],
     {"c.yaml": TOY, "r/meta.json": '{"status": "running"}', "r/checkpoints/latest.pkl": __import__("pickle").dumps(
         {"spikealign_checkpoint": {"kind": "ssn", "config": "", "keys": []}, "state": {}})},
     expect="'ssn' run, not 'toy'")  # fmt: skip

# errors from inside a run, environment variables
case("inside a run", "toy-faults fail=true", run_argv(["fail=true"]), {"c.yaml": "kind: toy-faults\n", "FAULTS": ""},
     code=1, expect="run failed: RuntimeError")  # fmt: skip
case("environment", "SPIKEALIGN_FIGURE_FORMATS=gif", run_argv([]),
     {"c.yaml": TOY, "ENV": "SPIKEALIGN_FIGURE_FORMATS=gif"}, expect="SPIKEALIGN_FIGURE_FORMATS")  # fmt: skip
case("environment", "SPIKEALIGN_DATA pointing at nothing", run_argv(["dataset=mnist"]),
     {"c.yaml": "kind: deep\n", "ENV": "SPIKEALIGN_DATA=/nonexistent/data"}, expect="SPIKEALIGN_DATA")  # fmt: skip

# estimates and limits
for kind, sets, key in [
    ("theory-spiking-sal", ["n_epochs=1000000000000"], "n_epochs"),
    ("sal-evolution", ["sizes=[20000,20000]"], "sizes"),
    ("microcircuit", ["student.t_pattern=1000000000"], "student.t_pattern"),
    ("theory-stdd", ["t_max=3000"], "t_max"),
]:
    case("memory", f"{kind} {' '.join(sets)}", run_argv(sets), {"c.yaml": f"kind: {kind}\n"}, expect=key)
case("executors", "--slurm-option nosuchoption=1", ["sweep", "s.yaml", "--out", "OUT", "--slurm", "--slurm-option",
     "nosuchoption=1"], {"s.yaml": SWEEP}, expect="nosuchoption")  # fmt: skip

# minor
case("minor", "config without a name", ["config"], expect="--list")
case("minor", "config ''", ["config", ""], expect="empty name")
case("minor", "config toy --list", ["config", "toy", "--list"], expect="not both")
case("minor", "unknown flag", ["run", "c.yaml", "--bogus"], {"c.yaml": TOY}, expect="--help")
case("minor", "--figure-format ''", ["run", "c.yaml", "--out", "OUT", "--figure-format", ""], {"c.yaml": TOY})
case("minor", "/dev/null as config", ["run", "/dev/null", "--out", "OUT"], expect="character device")
case("minor", "100,000-character key", run_argv(["k" * 100_000 + "=1"]), {"c.yaml": TOY}, expect="100000 characters")


def run_case(
    argv: list[str], files: dict[str, str | bytes], env: dict[str, str], code: int = 2, expect: str = ""
) -> tuple[bool, str]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cmd = [sys.executable, "-m", "spikealign.cli"]
        if "FAULTS" in files:
            cmd = [sys.executable, str(Path(__file__).resolve().parents[1] / "toy_faults_cli.py")]
        if "ENV" in files:
            key, _, value = str(files["ENV"]).partition("=")
            env = {**env, key: value}
        for name, content in files.items():
            if name in ("PREP", "ENV", "FAULTS") or name.startswith("CORRUPT:"):
                continue
            p = root / name
            p.parent.mkdir(parents=True, exist_ok=True)
            (p.write_bytes if isinstance(content, bytes) else p.write_text)(content)  # type: ignore[operator]
        if "PREP" in files:
            subprocess.run([*cmd, *str(files["PREP"]).split()], cwd=root, env=env, capture_output=True, timeout=600)
        for name, content in files.items():
            if name.startswith("CORRUPT:"):
                targets = list(root.glob(name.removeprefix("CORRUPT:")))
                if not targets:
                    return False, f"nothing to corrupt at {name}"
                for t in targets:
                    (t.write_bytes if isinstance(content, bytes) else t.write_text)(content)  # type: ignore[operator]
        res = subprocess.run([*cmd, *argv], cwd=root, env=env, capture_output=True, text=True, timeout=300)
        err = res.stderr.strip()
        problems = []
        if res.returncode != code:
            problems.append(f"exit {res.returncode}")
        if expect and expect not in err:
            problems.append(f"no {expect!r}")
        if len(err.splitlines()) != 1:
            problems.append(f"{len(err.splitlines())} stderr lines")
        if "Traceback" in res.stderr + res.stdout:
            problems.append("traceback")
        if "OUT" in argv and code == 2 and (root / "OUT").exists():
            problems.append("OUT written")
        last = err.splitlines()[-1] if err else ""
        return not problems, ("; ".join(problems) + " | " if problems else "") + last[:160]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default=None)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if not Path(p, "sbatch").exists())
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for category, name, argv, files, code, expect in CASES:
        if args.only and args.only != category:
            continue
        ok, line = run_case(argv, files, env, code, expect)
        tally[category][0] += 1
        tally[category][1] += ok
        print(f"{'PASS' if ok else 'FAIL'}  [{category}] {name}: {line}", flush=True)
    print("\n| category | tried | passed |\n|---|---|---|")
    for category, (tried, passed) in tally.items():
        print(f"| {category} | {tried} | {passed} |")
    total = [sum(v[0] for v in tally.values()), sum(v[1] for v in tally.values())]
    print(f"| all | {total[0]} | {total[1]} |")
    return 0 if total[0] == total[1] else 1


if __name__ == "__main__":
    sys.exit(main())
