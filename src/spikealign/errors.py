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


_STOP_REQUESTED = [False]


def request_stop() -> None:
    """Remember a SIGTERM: :func:`raise_if_stop_requested` raises :class:`Terminated` from then on.

    The signal handler raises :class:`Terminated` at once too, but an exception raised where Python
    cannot pass it on (a ctypes callback of the JIT compiler, a ``__del__``) is printed and dropped:
    the progress reports of the run loops ask again, so the run still stops at its next report.
    """
    _STOP_REQUESTED[0] = True


def clear_stop_request() -> None:
    _STOP_REQUESTED[0] = False


def raise_if_stop_requested() -> None:
    """Raise :class:`Terminated` when a SIGTERM arrived (see :func:`request_stop`)."""
    if _STOP_REQUESTED[0]:
        raise Terminated()
