"""Figure helpers shared by every family's figure code (drawing only; never simulating).

Figures are written as PNG unless other formats are chosen: per call (``save_figure(...,
formats=...)``), or for everything a command draws with ``--figure-format png,pdf,svg`` (which
sets the environment variable ``SPIKEALIGN_FIGURE_FORMATS``, so that sweep workers inherit it).
``pyplot`` is never imported here (it is slow to import): :func:`spikealign.figures.style.figure`
makes figures without it; ``from spikealign.figures import plt`` imports it on demand.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

FORMATS = ("png", "pdf", "svg")  # what save_figure can write
DEFAULT_FORMATS = ("png",)
FORMATS_ENV = "SPIKEALIGN_FIGURE_FORMATS"


def parse_formats(text: str) -> tuple[str, ...]:
    """``'png,pdf'`` -> ``('png', 'pdf')``; unknown or empty lists raise ``ValueError`` (one line)."""
    chosen = tuple(dict.fromkeys(f.strip().lower().lstrip(".") for f in text.split(",") if f.strip()))
    bad = [f for f in chosen if f not in FORMATS]
    if bad or not chosen:
        raise ValueError(f"figure format {text!r} not supported (allowed: comma-separated {', '.join(FORMATS)})")
    return chosen


def default_formats() -> tuple[str, ...]:
    """The formats ``save_figure`` writes when none are passed: ``$SPIKEALIGN_FIGURE_FORMATS`` or PNG."""
    text = os.environ.get(FORMATS_ENV, "").strip()
    return parse_formats(text) if text else DEFAULT_FORMATS


@contextlib.contextmanager
def figure_formats(formats: tuple[str, ...] | None) -> Iterator[None]:
    """Within the block (and in worker processes started in it), figures are saved as ``formats``."""
    if not formats:
        yield
        return
    previous = os.environ.get(FORMATS_ENV)
    os.environ[FORMATS_ENV] = ",".join(formats)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(FORMATS_ENV, None)
        else:
            os.environ[FORMATS_ENV] = previous


def save_figure(
    fig,
    out_dir: str | Path,
    name: str,
    formats: tuple[str, ...] | None = None,
    dpi: int = 200,
    tight: bool | None = None,
) -> list[Path]:
    """Save ``fig`` as ``out_dir/name.<format>`` for each format (atomically), close it, return the paths.

    ``formats`` defaults to :func:`default_formats` (PNG unless chosen otherwise).  ``tight``
    crops the files to what is drawn (``bbox_inches="tight"``, one more layout pass); by default
    only figures without constrained layout are cropped, as constrained layout already fits
    everything into the figure.
    """
    from ..runs import atomic_write_bytes

    if tight is None:
        tight = not _is_constrained(fig)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats or default_formats():
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight" if tight else None, metadata=_metadata(fmt))
        path = out / f"{name}.{fmt}"
        atomic_write_bytes(path, buf.getvalue())
        paths.append(path)
    if "matplotlib.pyplot" in sys.modules:  # figures made by pyplot stay open until closed
        sys.modules["matplotlib.pyplot"].close(fig)
    return paths


def _is_constrained(fig) -> bool:
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    return isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)


def _pyplot():
    import matplotlib.pyplot as plt

    return plt


def __getattr__(name: str):
    # ``from spikealign.figures import plt`` keeps working, importing pyplot only then
    if name == "plt":
        return _pyplot()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _metadata(fmt: str) -> dict | None:
    # fixed metadata so that the same data give the same file bytes
    if fmt == "svg":
        return {"Date": None}
    if fmt == "pdf":
        return {"CreationDate": None, "ModDate": None}
    if fmt == "png":
        return {"Software": None}
    return None
