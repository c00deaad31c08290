"""Every ```python example in README.md and docs/*.md runs (blocks of one page share a namespace)."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _pages_with_examples():
    return [p for p in PAGES if p.is_file() and BLOCK.search(p.read_text())]


@pytest.mark.parametrize("page", _pages_with_examples(), ids=lambda p: p.name)
def test_examples_run(page, tmp_path, monkeypatch):
    needs_torch = re.search(r"^\s*(import|from) (torch|spikealign\.deep)\b", page.read_text(), re.M)
    if needs_torch and importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed: these examples need pip install 'spikealign[deep]'")
    needs_nest = re.search(
        r"^\s*(import|from) (nest|spikealign\.nest)\b|^from spikealign import nest\b", page.read_text(), re.M
    )
    if needs_nest and importlib.util.find_spec("nest") is None:
        pytest.skip("NEST is not installed: these examples need pip install 'spikealign[nest]'")
    monkeypatch.chdir(tmp_path)
    if needs_nest:
        # NEST's kernel runs in a fresh process: after torch, numba or Brian2 ran in this worker,
        # its ResetKernel can crash inside its bundled OpenMP runtime (docs/simulators-nest.md)
        runner = "import re, sys\ntext = open(sys.argv[1]).read()\n"
        runner += "for i, b in enumerate(re.findall(sys.argv[2], text, re.S | re.M)):\n"
        runner += "    exec(compile(b, f'{sys.argv[1]}[example {i + 1}]', 'exec'), globals())\n"
        done = subprocess.run([sys.executable, "-c", runner, str(page), BLOCK.pattern], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]
        return
    namespace = {"__name__": f"docs_{page.stem}"}
    for i, block in enumerate(BLOCK.findall(page.read_text())):
        code = compile(block, f"{page.name}[example {i + 1}]", "exec")
        exec(code, namespace)


def test_readme_has_the_two_commands():
    text = (ROOT / "README.md").read_text()
    assert "make demo" in text and "make test" in text
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
    assert os.access(ROOT / ".ci" / "run", os.X_OK)


def _api_entries() -> dict[str, set[str]]:
    """``{module: listed members}`` of the ``::: module`` entries of docs/api.md (empty set: all)."""
    text = (ROOT / "docs" / "api.md").read_text()
    entries: dict[str, set[str]] = {}
    for match in re.finditer(r"^::: (\S+)\n((?:    .*\n)*)", text, re.M):
        members = re.search(r"members: \[(.*)\]", match.group(2))
        entries[match.group(1)] = {m.strip() for m in members.group(1).split(",")} if members else set()
    return entries


def test_the_api_page_lists_every_public_name_of_the_deep_package():
    pytest.importorskip("torch")
    import spikealign.deep as deep

    entries = _api_entries()
    for name in deep.__all__:
        module = getattr(deep, name).__module__
        # documented by its own module's entry, or by a package entry above it that names it
        assert any(
            (module == entry and (not members or name in members)) or (module.startswith(entry) and name in members)
            for entry, members in entries.items()
        ), (name, module)


def test_the_docs_hook_renders_sphinx_roles_as_code():
    spec = importlib.util.spec_from_file_location("sphinx_roles", ROOT / "docs_hooks" / "sphinx_roles.py")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    html = "see :func:<code>convert</code> and :class:<code>~spikealign.errors.UserError</code>, :mod:<code>.sal</code>"
    assert hook.on_page_content(html) == "see <code>convert</code> and <code>UserError</code>, <code>.sal</code>"
    assert "docs_hooks/sphinx_roles.py" in (ROOT / "mkdocs.yml").read_text()
