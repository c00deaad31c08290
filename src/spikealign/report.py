"""The HTML report of a reproduction: every figure, its parameters and seeds, wall time, key
numbers and the paper's qualitative expectations marked met or not met."""

from __future__ import annotations

import datetime as _dt
import html
import json
import shutil
from pathlib import Path

from . import __version__
from .registry import counted_checks
from .reproduce import FigureRecord, load_record
from .runs import atomic_write_text, git_sha, library_versions

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{margin-bottom:.2em} h2{border-top:1px solid #ccc;padding-top:1em}
table{border-collapse:collapse;margin:.5em 0} td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
.met{color:#075;font-weight:600} .notmet{color:#b00;font-weight:600} .err{color:#b00} .paper{color:#777}
img{max-width:100%;border:1px solid #eee;margin:.3em 0} details pre{background:#f6f6f6;padding:.5em;overflow:auto}
.summary td:first-child{font-family:monospace}
"""


def _esc(x: object) -> str:
    return html.escape(str(x))


def _figure_section(rec: FigureRecord, report_dir: Path, out: Path) -> str:
    parts = [f'<h2 id="{_esc(rec.id)}">{_esc(rec.id)}: {_esc(rec.summary)}</h2>']
    runs = ", ".join(f"{k}: {v} runs" for k, v in rec.runs.items())
    parts.append(f"<p>profile <b>{_esc(rec.profile)}</b>; wall time {rec.wall_time_s:.1f} s; {_esc(runs)}</p>")
    if rec.error:
        parts.append(f'<p class="err">error: {_esc(rec.error)}</p>')
    for f in rec.files:
        if f.endswith(".png") and (out / f).is_file():
            # copied next to the report, so that the report folder alone keeps its figures
            copy = report_dir / "img" / f
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(out / f, copy)
            rel = copy.relative_to(report_dir)
            parts.append(f'<img src="{_esc(rel.as_posix())}" alt="{_esc(rec.id)} figure">')
    if rec.checks:
        parts.append("<table><tr><th>expectation</th><th>result</th><th>detail</th></tr>")
        counted = counted_checks(rec.checks, rec.profile)
        for c in rec.checks:
            cls, word = ("met", "met") if c.get("met") else ("notmet", "not met")
            if c not in counted:
                cls, word = "paper", word + " (paper profile: not counted at this scale)"
            parts.append(
                f'<tr><td>{_esc(c.get("description"))}</td><td class="{cls}">{word}</td>'
                f"<td>{_esc(c.get('detail', ''))}</td></tr>"
            )
        parts.append("</table>")
    if rec.numbers:
        parts.append('<table class="summary"><tr><th>key number</th><th>value</th></tr>')
        for k, v in rec.numbers.items():
            shown = f"{v:.6g}" if isinstance(v, float) else _esc(v)
            parts.append(f"<tr><td>{_esc(k)}</td><td>{shown}</td></tr>")
        parts.append("</table>")
    seeds = sorted({s for sw in rec.sweeps for s in (sw.get("seeds") or [])})
    parts.append(f"<p>seeds: {_esc(', '.join(map(str, seeds)) or 'from the base configs')}</p>")
    parts.append(
        "<details><summary>parameters (sweep specifications)</summary><pre>"
        + _esc(json.dumps(rec.sweeps, indent=1))
        + "</pre></details>"
    )
    return "\n".join(parts)


def write_report(out: str | Path, figure_ids: list[str]) -> Path:
    """Write ``out/report/index.html`` for the figures whose records exist under ``out``."""
    out = Path(out)
    report_dir = out / "report"
    records = [r for fid in figure_ids if (r := load_record(out / fid)) is not None]
    counted = {r.id: counted_checks(r.checks, r.profile) for r in records}
    n_checks = sum(len(c) for c in counted.values())
    n_met = sum(1 for c in counted.values() for check in c if check.get("met"))
    versions = library_versions()
    met = {fid: sum(1 for c in checks if c.get("met")) for fid, checks in counted.items()}
    rows = "".join(
        f'<tr><td><a href="#{_esc(r.id)}">{_esc(r.id)}</a></td><td>{"ok" if r.ok else "failed"}</td>'
        f"<td>{r.wall_time_s:.1f}</td><td>{met[r.id]}/{len(counted[r.id])}</td></tr>"
        for r in records
    )
    body = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>spikealign reproduction report</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>spikealign reproduction report</h1>",
        f"<p>spikealign {_esc(__version__)}, git {_esc(git_sha() or 'n/a')}, written "
        f"{_esc(_dt.datetime.now(_dt.UTC).isoformat(timespec='seconds'))}. "
        f"Expectations met: <b>{n_met} of {n_checks}</b>.</p>",
        "<p>" + _esc(", ".join(f"{k} {v}" for k, v in versions.items())) + "</p>",
        "<table><tr><th>figure</th><th>status</th><th>wall time (s)</th><th>expectations met</th></tr>",
        rows,
        "</table>",
    ]
    body += [_figure_section(r, report_dir, out) for r in records]
    body.append("</body></html>")
    path = report_dir / "index.html"
    atomic_write_text(path, "\n".join(body))
    return path
