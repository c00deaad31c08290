"""The command line: lazy family loading, the registry table, `config`, --figure-format, default run folders."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kinds import every_kind
from spikealign import families, registry
from spikealign.cli import main
from spikealign.config import RunConfig, validate
from spikealign.errors import UserError
from spikealign.figures import FORMATS_ENV, default_formats, parse_formats
from spikealign.registry import Experiment

SRC = Path(__file__).resolve().parents[2] / "src"
HAS_TORCH = importlib.util.find_spec("torch") is not None
TORCH_MODULES = {families.DEEP, families.ESTIMATORS}

pytestmark = pytest.mark.end_to_end


def _modules_after(code: str, tmp_path: Path) -> set[str]:
    """The modules a fresh interpreter has imported after running ``code``."""
    script = code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))\n"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    res = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr
    return set(json.loads(res.stdout.strip().splitlines()[-1]))


def _family_packages(modules: set[str]) -> set[str]:
    return {m for m in modules if m.split(".")[:2][-1] in {"theory", "sampling", "microcircuit", "deep"}}


def test_run_imports_only_the_family_of_its_kind(tmp_path):
    (tmp_path / "toy.yaml").write_text("kind: toy\nn_steps: 5\n")
    code = "from spikealign.cli import main\nassert main(['run', 'toy.yaml', '--out', 'r', '--quiet']) == 0"
    loaded = _modules_after(code, tmp_path)
    assert "spikealign.experiments.toy" in loaded
    assert _family_packages(loaded) == set()
    assert not {"torch", "numba", "matplotlib.pyplot", "pandas"} & loaded


def test_microcircuit_config_loads_no_other_family(tmp_path):
    code = (
        "from pathlib import Path\nfrom spikealign.runs import load_run_config\n"
        f"load_run_config(Path({str(_example('microcircuit'))!r}), [])"
    )
    loaded = _modules_after(code, tmp_path)
    assert families.MICROCIRCUIT in loaded
    assert {m.split(".")[1] for m in _family_packages(loaded)} == {"microcircuit"}
    assert "torch" not in loaded


def test_only_the_deep_families_import_torch(tmp_path):
    others = [m for m in registry.FAMILY_MODULES if m not in TORCH_MODULES]
    code = f"from spikealign import registry\nfor m in {others!r}:\n    registry.load_family(m)"
    loaded = _modules_after(code, tmp_path)
    assert set(others) <= loaded and "torch" not in loaded


def test_help_and_info_import_no_family(tmp_path):
    for code in ("from spikealign.cli import build_parser\nbuild_parser().format_help()",
                 "from spikealign.cli import main\nmain(['info'])"):  # fmt: skip
        loaded = _modules_after(code, tmp_path)
        assert _family_packages(loaded) == set() and "torch" not in loaded and "numba" not in loaded


def test_info_lists_kinds_figures_and_named_configs(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "experiments: toy, theory-stdd" in out and "fig2c" in out and "mc-wide" in out


def test_reference_formats_are_recognised_by_their_keys():
    mc = {"network_properties": {}, "student_simulation_settings": {}, "teacher_simulation_settings": {}, "u_input": {}}
    ssn = {"dim": 3, "sim_params": {}, "stdp": {}, "num_epochs": 1, "val_factor": 1}
    deep = {"bp": {"params": {"use_backprop": True}}, "other": 1}
    assert [families.recognise(r).kind for r in (mc, ssn, deep)] == ["microcircuit", "ssn", "deep"]
    assert families.recognise({"kind": "toy", **ssn}) is None
    assert families.recognise({"name": "x", "grid": {"a": [1]}}) is None
    # one source for the keys: each family recognises its format exactly as the table does
    samples = {"microcircuit": mc, "ssn": ssn, "deep": deep, "none": {"name": "x"}, "toy": {"kind": "toy", **ssn}}
    for recogniser in families.RECOGNISERS:
        if recogniser.kind == "deep":
            pytest.importorskip("torch")
        detect = registry.get_experiment(recogniser.kind).detect_reference
        assert detect is not None
        for sample in samples.values():
            assert detect(sample) == recogniser.matches(sample), (recogniser.kind, sample)
        for key in recogniser.keys if not recogniser.in_sections else ():
            assert not detect({k: v for k, v in samples[recogniser.kind].items() if k != key}), key


def test_unknown_format_names_the_known_kinds(tmp_path, capsys):
    (tmp_path / "x.yaml").write_text("foo: 1\n")
    assert main(["run", str(tmp_path / "x.yaml"), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a known reference format" in err and "microcircuit" in err


@pytest.mark.parametrize("module", sorted(set(families.FIGURE_MODULES.values()) | set(registry.FAMILY_MODULES)))
def test_table_matches_what_each_module_registers(module):
    if module in TORCH_MODULES:
        pytest.importorskip("torch")
    registry.load_family(module)
    kinds = {k for k, (m, _) in families.EXPERIMENT_KINDS.items() if m == module}
    figures = {f for f, m in families.FIGURE_MODULES.items() if m == module}
    assert kinds <= set(registry.EXPERIMENTS) and figures <= set(registry.FIGURES)
    registered_here = {k for k, e in registry.EXPERIMENTS.items() if registry.EXPERIMENT_MODULES[k] == module}
    assert registered_here == kinds  # nothing registered that the table does not list
    drawn_here = {f for f, fig in registry.FIGURES.items() if fig.sweeps.__module__ == module}
    assert drawn_here <= figures
    # one summary per kind: the table's, which `config --list` prints without importing the family
    assert {k: registry.EXPERIMENTS[k].summary for k in kinds} == {k: families.EXPERIMENT_KINDS[k][1] for k in kinds}


def test_a_shipped_kind_cannot_bring_a_summary_of_its_own():
    toy = registry.get_experiment("toy")
    with pytest.raises(ValueError, match="EXPERIMENT_KINDS"):
        registry.register_experiment(dataclasses.replace(toy, summary="another summary"))
    assert registry.EXPERIMENTS["toy"] is toy and toy.summary == families.EXPERIMENT_KINDS["toy"][1]


# --------------------------------------------------------------------------- broken families
def _family_module(tmp_path, monkeypatch, name: str, body: str) -> None:
    (tmp_path / f"{name}.py").write_text(body)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(families.EXPERIMENT_KINDS, "broken", (name, "a family that fails to import"))


def test_a_broken_family_reports_its_real_error(tmp_path, monkeypatch):
    _family_module(tmp_path, monkeypatch, "sa_broken_family", "raise RuntimeError('bug in the family')\n")
    with pytest.raises(RuntimeError, match="bug in the family"):
        registry.get_experiment("broken")


def test_a_missing_optional_library_names_the_extra(tmp_path, monkeypatch, capsys):
    _family_module(tmp_path, monkeypatch, "sa_needs_lib", "import sa_absent_lib\n")
    monkeypatch.setitem(families.OPTIONAL_EXTRAS, "sa_absent_lib", "deep")
    (tmp_path / "b.yaml").write_text("kind: broken\n")
    assert main(["run", str(tmp_path / "b.yaml"), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "sa_absent_lib" in err and "pip install 'spikealign[deep]'" in err
    # a missing module that no extra provides is a genuine bug: its ImportError propagates
    monkeypatch.delitem(families.OPTIONAL_EXTRAS, "sa_absent_lib")
    with pytest.raises(ModuleNotFoundError, match="sa_absent_lib"):
        registry.get_experiment("broken")


def test_one_table_of_optional_extras(monkeypatch):
    """require() and a family that fails to import name the extra from families.OPTIONAL_EXTRAS alone."""
    import tomllib

    from spikealign._optional import MissingExtraError, require

    pyproject = tomllib.loads((SRC.parent / "pyproject.toml").read_text())
    assert set(families.OPTIONAL_EXTRAS.values()) <= set(pyproject["project"]["optional-dependencies"])
    monkeypatch.setitem(families.OPTIONAL_EXTRAS, "sa_absent_lib", "cluster")
    with pytest.raises(MissingExtraError, match=r"sa_absent_lib is not installed.*pip install 'spikealign\[cluster\]'"):
        require("sa_absent_lib")
    with pytest.raises(KeyError):  # a module the table does not list is a bug in the caller
        require("sa_unlisted_lib")
    package = SRC / "spikealign"
    sources = "".join(p.read_text() for p in package.rglob("*.py"))
    for module in re.findall(r'require\("([\w.]+)"\)', sources):
        assert module in families.OPTIONAL_EXTRAS, module


def test_user_experiments_still_register(tmp_path):
    class Coin(RunConfig):
        kind: str = "coin-cli-test"

    exp = Experiment(kind="coin-cli-test", config_model=Coin, run=lambda c, ctx: {"x": 1.0})
    try:
        registry.register_experiment(exp)
        assert registry.get_experiment("coin-cli-test") is exp and "coin-cli-test" in registry.known_kinds()
    finally:
        registry.EXPERIMENTS.pop("coin-cli-test")
        registry.EXPERIMENT_MODULES.pop("coin-cli-test")


# --------------------------------------------------------------------------- config KIND
def _example(kind: str) -> Path:
    return Path(__file__).resolve().parents[2] / "examples" / f"{kind}.yaml"


@pytest.mark.parametrize("kind", every_kind())
def test_config_kind_prints_a_valid_commented_config(kind, capsys):
    assert main(["config", kind]) == 0
    text = capsys.readouterr().out
    model = registry.get_experiment(kind).config_model
    config = validate(model, yaml.safe_load(text), source=f"config {kind}")
    assert config.kind == kind
    assert text.count("\n# ") + text.count("  # ") >= 3  # commented
    listed = {line.split(":")[0].strip() for line in text.splitlines() if line and not line.lstrip().startswith("#")}
    assert set(model.model_fields) <= listed  # every top-level key is written
    assert _example(kind).read_text() == text, f"examples/{kind}.yaml is stale: spikealign config {kind} > it"


def test_config_list_and_named_configs(capsys):
    assert main(["config", "--list"]) == 0
    out = capsys.readouterr().out
    assert all(kind in out for kind in families.EXPERIMENT_KINDS) and "mc-wide" in out
    assert main(["config", "mc-wide"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["network"]["dims"] == [4, 8, 3]
    assert main(["config", "nonsense"]) == 2
    err = capsys.readouterr().err
    assert "unknown experiment kind or packaged config 'nonsense'" in err and "packaged configs: mc-wide" in err


@pytest.mark.torch
def test_info_lists_every_deep_method_and_reproduce_help_every_figure(capsys):
    from spikealign.deep.methods import METHODS

    assert main(["info"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("deep methods"))
    assert line.split(": ", 1)[1].split(", ") == [m.name for m in METHODS]
    with pytest.raises(SystemExit):
        main(["reproduce", "--help"])
    helptext = " ".join(capsys.readouterr().out.split()).replace("- ", "-")  # argparse wraps at hyphens
    assert all(fid in helptext for fid in families.FIGURE_MODULES) and "mc-wide" in helptext


def test_config_comments_show_choices_bounds_and_changed_defaults(capsys):
    assert main(["config", "dale-rate"]) == 0
    text = capsys.readouterr().out
    assert "# raw W(e2<-e1) values; at least 1 entries; default [0.0, 0.25" in text
    assert "one of noisy, noise_free" in text and "n_steps: 100000" in text and "default 500000" in text


# --------------------------------------------------------------------------- figure formats
def _register_figure_experiment(monkeypatch) -> None:
    from spikealign.figures import plt, save_figure

    class FigConfig(RunConfig):
        kind: str = "figs-cli-test"

    def run(config, ctx):
        fig, ax = plt.subplots()
        ax.plot([0, 1])
        save_figure(fig, ctx.figures_dir, "line")
        return {"done": 1.0}

    monkeypatch.setitem(registry.EXPERIMENTS, "figs-cli-test", Experiment("figs-cli-test", FigConfig, run))


def test_figures_default_to_png_and_figure_format_adds_others(tmp_path, monkeypatch):
    monkeypatch.delenv(FORMATS_ENV, raising=False)
    _register_figure_experiment(monkeypatch)
    (tmp_path / "f.yaml").write_text("kind: figs-cli-test\n")
    assert main(["run", str(tmp_path / "f.yaml"), "--out", str(tmp_path / "a"), "--quiet"]) == 0
    assert sorted(p.name for p in (tmp_path / "a" / "figures").iterdir()) == ["line.png"]
    args = ["run", str(tmp_path / "f.yaml"), "--out", str(tmp_path / "b"), "--figure-format", "svg, PDF"]
    assert main(args) == 0
    assert sorted(p.name for p in (tmp_path / "b" / "figures").iterdir()) == ["line.pdf", "line.svg"]
    assert FORMATS_ENV not in os.environ  # the choice ends with the command


@pytest.mark.parametrize("command", ["run", "sweep", "reproduce", "figure"])
def test_bad_figure_format_is_a_one_line_error(command, tmp_path, capsys):
    (tmp_path / "toy.yaml").write_text("kind: toy\n")
    (tmp_path / "grid.yaml").write_text("name: g\nexperiment: toy\ngrid: {drift: [0.0, 1.0]}\n")
    out = str(tmp_path / "o")
    first = {"run": [str(tmp_path / "toy.yaml"), "--out", out], "reproduce": ["fig2c", "--out", out],
             "sweep": [str(tmp_path / "grid.yaml"), "--out", out], "figure": ["fig2c", out]}  # fmt: skip
    assert main([command, *first[command], "--figure-format", "png,jpg"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'png,jpg'" in err and "png, pdf, svg" in err
    assert not (tmp_path / "o").exists()


def test_parse_formats(monkeypatch):
    assert parse_formats("pdf,png,pdf") == ("pdf", "png")
    with pytest.raises(ValueError, match="not supported"):
        parse_formats(" , ")
    monkeypatch.setenv(FORMATS_ENV, "svg")
    assert default_formats() == ("svg",)
    monkeypatch.delenv(FORMATS_ENV)
    assert default_formats() == ("png",)


# --------------------------------------------------------------------------- default run folder
def test_default_run_folders_do_not_collide(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("walk.yaml").write_text("kind: toy\nn_steps: 5\n")
    assert main(["run", "walk.yaml", "--quiet"]) == 0
    assert main(["run", "walk.yaml", "--quiet", "--set", "drift=1.0"]) == 0
    assert main(["run", "walk.yaml", "--quiet"]) == 0  # the same config again: a fresh folder
    folders = sorted(p.name for p in (tmp_path / "results" / "runs").iterdir())
    assert len(folders) == 3 and all(f.startswith("walk-") for f in folders)
    again = next(f for f in folders if f.endswith("-2"))
    base = again.removesuffix("-2")
    assert base in folders and len(base) == len("walk-") + 8
    assert main(["run", "walk.yaml", "--quiet", "--resume"]) == 0  # resume picks the newest of that config
    lines = capsys.readouterr().out.splitlines()
    assert sum(1 for line in lines if line.startswith("run ") and line.endswith(f"results/runs/{base}-2")) == 2
    assert len(list((tmp_path / "results" / "runs").iterdir())) == 3


def test_named_config_runs_by_name(monkeypatch):
    from spikealign.families import resolve_config_path

    assert resolve_config_path(Path("mc-wide")) == families.named_config_path("mc-wide")
    assert resolve_config_path(Path("mc-wide")).is_file()
    with pytest.raises(UserError, match="config file not found"):
        from spikealign.runs import load_run_config

        load_run_config(Path("no-such-config.yaml"), [])


def test_the_core_cli_carries_no_family_flags():
    """Reference-format options come from families.REFERENCE_OPTIONS; cli.py names none of them itself."""
    from spikealign import cli

    source = Path(cli.__file__).read_text()
    run_help = cli.build_parser()._subparsers._group_actions[0].choices["run"].format_help()
    for option in families.REFERENCE_OPTIONS:
        assert option.flag not in source and option.flag in run_help
