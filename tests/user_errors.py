"""Checks of the one-line user errors by what they must say, not by their whole sentence.

A user error (exit 2) is one line ``spikealign <command>: error: <message>`` that names the key or
value to fix and says which kind of error it is.  ``assert_user_error`` checks exactly that: the
line, the key (as a whole word, quoted or not) and the category (the phrase every message of that
kind carries, :data:`CATEGORIES`), so that rewording a message does not break the tests while a
message that stops naming its key or its kind does.
"""

from __future__ import annotations

import re

#: category -> the phrase that every message of that category carries
CATEGORIES = {
    "invalid value": "invalid value for",  # a config value of the wrong type or out of range
    "unknown key": "unknown key",
    "memory": "of memory, but only",  # the memory estimate exceeds what is available
    "interrupted run": "holds an interrupted run",  # an unfinished run folder without --resume
    "changed config": "differs from the requested config",  # --resume with another config
    "invalid choice": "invalid choice",  # a command-line option outside its choices
    "not found": "not found",
}


def assert_user_error(err: str, *, key: str, category: str, command: str = "run") -> str:
    """``err`` (the command's stderr) is one user-error line of ``command`` naming ``key``, of ``category``."""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    line = lines[0]
    assert line.startswith(f"spikealign {command}: error: "), line
    assert re.search(rf"(?<![\w.-]){re.escape(key)}(?![\w-])", line), f"the message does not name {key!r}: {line}"
    assert CATEGORIES[category] in line, f"the message is not of category {category!r}: {line}"
    return line
