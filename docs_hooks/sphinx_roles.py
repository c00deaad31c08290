"""mkdocs hook: render the Sphinx cross-reference roles of the docstrings as code.

The docstrings use numpy style with Sphinx roles (``:func:`convert```, ``:class:`~.layers.X```);
mkdocstrings renders the backticked target as code but leaves the role name in front of it.  This
hook drops the role name and, as Sphinx does, shows only the last component of a ``~`` target.
"""

from __future__ import annotations

import re

_ROLE = re.compile(r":(?:func|class|mod|meth|data|attr|obj|exc|const):<code>(~?)([^<]*)</code>")


def _replace(match: re.Match) -> str:
    tilde, target = match.groups()
    if tilde:
        target = target.rsplit(".", 1)[-1]
    return f"<code>{target}</code>"


def on_page_content(html: str, **kwargs) -> str:
    return _ROLE.sub(_replace, html)
