"""User-facing errors.

A :class:`UserError` is raised for anything the user can fix (a bad config key, a missing
file, an unknown figure id).  The CLI prints its message as one line and exits with code 2,
without a traceback.
"""


class UserError(Exception):
    """An error caused by user input; its message is shown to the user verbatim."""

    exit_code = 2


class DiskFullError(UserError):
    """No space left on the device (or the quota is used up) while writing a file."""


class Terminated(KeyboardInterrupt):
    """The process was asked to stop (SIGTERM): handled like Ctrl-C, the run stays resumable."""
