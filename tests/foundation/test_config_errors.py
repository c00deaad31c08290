"""Bad user input ends with one line naming the key or file, exit code 2, nothing written."""

import pytest
import yaml

from spikealign.cli import main
from user_errors import assert_user_error


def _write(tmp_path, text, name="cfg.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def _run_cli(capsys, argv):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


CASES = {
    "unknown key": ("kind: toy\nn_stepz: 3\n", [], "unknown key 'n_stepz'"),
    "unknown nested key via --set": ("kind: toy\n", ["--set", "drift.x=1"], "'drift'"),
    "wrong type": ("kind: toy\nn_steps: many\n", [], "'n_steps'"),
    "out of range": ("kind: toy\nsigma: -1\n", [], "'sigma'"),
    "negative seed": ("kind: toy\nseed: -4\n", [], "'seed'"),
    "malformed yaml": ("kind: toy\n n_steps: [1,\n", [], "malformed YAML"),
    "top level not a mapping": ("- 1\n- 2\n", [], "top level must be a mapping"),
    "unknown kind": ("kind: nonsense\n", [], "unknown experiment kind 'nonsense'"),
    "bad --set syntax": ("kind: toy\n", ["--set", "n_steps"], "key.path=value"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_config_input(tmp_path, capsys, case):
    text, extra, expected = CASES[case]
    cfg = _write(tmp_path, text)
    out = tmp_path / "out"
    code, stdout, err = _run_cli(capsys, ["run", str(cfg), "--out", str(out), *extra])
    assert code == 2
    assert expected in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err + stdout
    assert not out.exists(), "nothing may be written for a bad config"


def test_missing_file(tmp_path, capsys):
    code, _, err = _run_cli(capsys, ["run", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "o")])
    assert code == 2
    assert "nope.yaml" in err and "not found" in err
    assert not (tmp_path / "o").exists()


def test_bad_sweep_file(tmp_path, capsys):
    sw = _write(tmp_path, "name: s\nexperiment: toy\nzip: {drift: [1, 2], sigma: [1]}\n", "sweep.yaml")
    code, _, err = _run_cli(capsys, ["sweep", str(sw), "--out", str(tmp_path / "o")])
    assert code == 2 and "equal lengths" in err
    sw = _write(tmp_path, "name: s\nexperiment: toy\ngrid: {sigma: [1, -1]}\n", "sweep2.yaml")
    code, _, err = _run_cli(capsys, ["sweep", str(sw), "--out", str(tmp_path / "o")])
    assert code == 2 and "'sigma'" in err
    assert not (tmp_path / "o").exists()


def test_unknown_figure_and_profile(tmp_path, capsys):
    code, _, err = _run_cli(capsys, ["reproduce", "fig99", "--out", str(tmp_path / "o")])
    assert code == 2 and "fig99" in err
    with pytest.raises(SystemExit) as exc:
        main(["reproduce", "--profile", "huge"])
    assert exc.value.code == 2
    assert_user_error(capsys.readouterr().err, key="'huge'", category="invalid choice", command="reproduce")


def test_set_overrides_are_typed_and_nested(tmp_path, capsys):
    cfg = _write(tmp_path, "kind: toy\nn_steps: 10\n")
    out = tmp_path / "run"
    code, _, _ = _run_cli(
        capsys,
        [
            "run",
            str(cfg),
            "--out",
            str(out),
            "--quiet",
            "--set",
            "n_steps=20",
            "--set",
            "drift=0.25",
            "--set",
            "seed=7",
        ],
    )
    assert code == 0
    resolved = yaml.safe_load((out / "config.yaml").read_text())
    assert resolved["n_steps"] == 20 and resolved["drift"] == 0.25 and resolved["seed"] == 7
    assert isinstance(resolved["n_steps"], int)


def test_apply_overrides_does_not_touch_input():
    from spikealign.config import apply_overrides

    base = {"a": {"b": 1}}
    out = apply_overrides(base, ["a.b=2", "a.c.d=[1, 2]"])
    assert base == {"a": {"b": 1}}
    assert out == {"a": {"b": 2, "c": {"d": [1, 2]}}}


@pytest.mark.parametrize("command", ["run", "sweep", "reproduce", "figure", "bench", "info"])
def test_every_command_has_help(capsys, command):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert "usage: spikealign" in capsys.readouterr().out
