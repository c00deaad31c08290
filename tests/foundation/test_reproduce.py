"""Reproduce and figure commands with a test-only figure built on the toy experiment."""

import importlib.util
import json
import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import matplotlib.pyplot as plt
import pytest

from spikealign import registry
from spikealign.cli import main
from spikealign.errors import UserError
from spikealign.figures import save_figure
from spikealign.registry import Check, Figure, FigureOutput
from spikealign.sweep import SweepSpec


def _sweeps(profile):
    n = 20 if profile == "quick" else 40
    return [SweepSpec(name="walks", experiment="toy", base={"n_steps": n}, grid={"drift": [0.0, 1.0]}, seeds=[1, 2])]


def _draw(results, out_dir):
    t = results["walks"].completed()
    fig, ax = plt.subplots()
    for _, row in t.iterrows():
        ax.plot(results["walks"].arrays(row["run_id"], "trace")["trace"][:, 0])
    files = save_figure(fig, out_dir, "walks")
    slope = float(t[t["drift"] == 1.0]["mean_final"].mean())
    return FigureOutput(
        files=files,
        numbers={"mean_final_drift1": slope},
        checks=[Check("drift moves the walkers", slope > 5.0, f"mean {slope:.2f}")],
    )


def test_reproduce_and_redraw(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(registry.FIGURES, "testfig", Figure("testfig", "toy walks", _sweeps, _draw))
    out = tmp_path / "results"
    args = ["reproduce", "testfig", "--out", str(out), "--executor", "serial", "--quiet"]
    code = main([*args, "--figure-format", "png,svg,pdf"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "report:" in printed and str(out.resolve()) in printed
    rec = json.loads((out / "testfig" / "figure.json").read_text())
    assert rec["ok"] and rec["runs"] == {"walks": 4}
    assert rec["checks"][0]["met"] is True
    for ext in ("png", "svg", "pdf"):
        assert (out / "testfig" / "figures" / f"walks.{ext}").stat().st_size > 0
    html = (out / "report" / "index.html").read_text()
    assert "testfig" in html and 'src="img/testfig/figures/walks.png"' in html and "met" in html
    assert (out / "report" / "img" / "testfig" / "figures" / "walks.png").stat().st_size > 0  # self-contained
    # redraw from results only
    (out / "testfig" / "figures" / "walks.png").unlink()
    assert main(["figure", "testfig", str(out)]) == 0
    assert (out / "testfig" / "figures" / "walks.png").is_file()


def _draw_with_checks(results, out_dir):
    """Two counted checks (one met, one per test) and one paper-profile check that fails at quick scale."""
    output = _draw(results, out_dir)
    slope = output.numbers["mean_final_drift1"]
    output.checks += [
        Check("walkers drift beyond 1000 (paper scale only)", slope > 1000, f"mean {slope:.2f}", paper_only=True),
        Check("walkers drift beyond THRESHOLD", slope > float(os.environ["I18_THRESHOLD"]), f"mean {slope:.2f}"),
    ]
    return output


@pytest.mark.parametrize(("threshold", "ok"), [(0.0, True), (1e9, False)])
def test_status_is_ok_only_when_every_counted_check_is_met(threshold, ok, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("I18_THRESHOLD", str(threshold))
    monkeypatch.setitem(registry.FIGURES, "testfig", Figure("testfig", "toy walks", _sweeps, _draw_with_checks))
    out = tmp_path / "results"
    code = main(["reproduce", "testfig", "--out", str(out), "--executor", "serial", "--quiet"])
    printed = capsys.readouterr().out
    rec = json.loads((out / "testfig" / "figure.json").read_text())
    assert rec["ok"] is ok and code == (0 if ok else 1)
    paper = "(+1 paper-profile check(s) not counted at this scale, 0 met)"
    if ok:
        assert "[testfig] ok in" in printed and f"expectations met 2/2 {paper}" in printed
        assert "[overall] 1/1 figures in" in printed
    else:
        assert "[testfig] NOT OK: unmet walkers drift beyond THRESHOLD in" in printed
        assert f"expectations met 1/2 {paper}" in printed
    html = (out / "report" / "index.html").read_text()
    assert "paper profile: not counted at this scale" in html and ("<b>2 of 2</b>" if ok else "<b>1 of 2</b>") in html


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _render(html_path):
    """Load a page in headless Chromium; return (images [(src, loaded)], console errors)."""
    from playwright.sync_api import sync_playwright

    flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=flags)
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(html_path.resolve().as_uri())
        page.wait_for_load_state("load")
        images = page.evaluate("Array.from(document.images).map(i => [i.src, i.complete && i.naturalWidth > 0])")
        browser.close()
    return images, errors


def test_report_renders_in_headless_chromium(tmp_path, monkeypatch):
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install chromium (see .ci/run)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    monkeypatch.setitem(registry.FIGURES, "testfig", Figure("testfig", "toy walks", _sweeps, _draw))
    out = tmp_path / "results"
    assert main(["reproduce", "testfig", "--out", str(out), "--executor", "serial", "--quiet"]) == 0
    images, errors = _render(out / "report" / "index.html")
    assert images, "the report shows the figure"
    assert all(ok for _, ok in images), images
    assert errors == []
    # a broken image is detected (the check can fail): remove the copies the report shows
    for src, _ in images:
        Path(unquote(urlparse(src).path)).unlink()
    images, errors = _render(out / "report" / "index.html")
    assert not all(ok for _, ok in images)


def test_every_family_loads():
    if importlib.util.find_spec("torch") is None:  # without the [deep] extra the deep family names it
        for module in registry.FAMILY_MODULES:
            if module.startswith("spikealign.deep"):
                with pytest.raises(UserError, match=r"spikealign\[deep\]"):
                    registry.load_family(module)
            else:
                registry.load_family(module)
    else:
        registry.load_all()  # raises the real error of a broken family
    assert "toy" in registry.EXPERIMENTS


def test_reproduce_all_leaves_out_figures_whose_extra_is_missing(monkeypatch):
    from spikealign import reproduce
    from spikealign._optional import MissingExtraError

    real = reproduce.get_figure

    def get_figure(fid):
        if fid == "fig8":
            raise MissingExtraError(
                "spikealign.deep needs torch, which is not installed: pip install 'spikealign[deep]'"
            )
        return real(fid)

    monkeypatch.setattr(reproduce, "get_figure", get_figure)
    monkeypatch.setattr(reproduce, "registered_figures", lambda: ["fig2c", "fig8"])
    skipped: list[str] = []
    assert reproduce.resolve_figures(None, skipped) == ["fig2c"]
    assert skipped == ["fig8: spikealign.deep needs torch, which is not installed: pip install 'spikealign[deep]'"]
    with pytest.raises(UserError, match=r"spikealign\[deep\]"):  # asked for by name: an error
        reproduce.resolve_figures(["fig8"])


def test_figure_draws_a_sweeps_summary_and_a_runs_plots(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(registry.FIGURES, "testfig", Figure("testfig", "toy walks", _sweeps, _draw))
    out = tmp_path / "results"
    assert main(["reproduce", "testfig", "--out", str(out), "--executor", "serial", "--quiet"]) == 0
    sweep = out / "testfig" / "walks"
    capsys.readouterr()
    assert main(["figure", str(sweep)]) == 0
    summary = sweep / "figures" / "summary.png"
    assert summary.stat().st_size > 5000 and str(summary.resolve()) in capsys.readouterr().out
    run = next((sweep / "runs").iterdir())
    monkeypatch.chdir(tmp_path)  # paths are printed relative to the working directory
    assert main(["figure", str(run)]) == 0
    assert capsys.readouterr().out.strip() == str((run / "figures" / "walks.png").relative_to(tmp_path))
    assert (run / "figures" / "walks.png").stat().st_size > 5000
    assert main(["figure", str(out)]) == 2  # a reproduce folder needs the figure id
    assert "neither a run folder (meta.json) nor a sweep folder" in capsys.readouterr().err
