"""Imported first by the deep family: fails with a one-line message when the [deep] extra (torch) is missing."""

from ._optional import require

require("torch", "deep")
