"""Figure helpers shared by every family's figure code (drawing only; never simulating)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

FORMATS = ("png", "svg", "pdf")


def save_figure(fig, out_dir: str | Path, name: str, formats: tuple[str, ...] = FORMATS, dpi: int = 200) -> list[Path]:
    """Save ``fig`` as ``out_dir/name.{png,svg,pdf}`` (atomically) and close it; return the paths."""
    from ..runs import atomic_write_bytes

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        import io

        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight", metadata=_metadata(fmt))
        path = out / f"{name}.{fmt}"
        atomic_write_bytes(path, buf.getvalue())
        paths.append(path)
    plt.close(fig)
    return paths


def _metadata(fmt: str) -> dict | None:
    # fixed metadata so that the same data give the same file bytes
    if fmt == "svg":
        return {"Date": None}
    if fmt == "pdf":
        return {"CreationDate": None, "ModDate": None}
    if fmt == "png":
        return {"Software": None}
    return None
