"""Errors a user can cause (exit 2), and faults of the user's machine (exit 1). The CLI prints
either as one line, without a traceback."""

import errno
import os


class BenchInputError(Exception):
    """Bad input: a file, field or argument that is missing or malformed.

    The message names what was wrong and what was expected, in one line.
    """


class DiskFault(Exception):
    """The environment would not take our files: a full disk, a read-only or forbidden folder, a
    folder that is not there. Not bad input (the command was right); exit status 1, as a failed cell."""


def describe_os_error(exc: OSError) -> str:
    """ "PATH: reason (ENOSPC)": the file the OS refused and why, in one line."""
    code = errno.errorcode.get(exc.errno or 0, "")
    reason = exc.strerror or (os.strerror(exc.errno) if exc.errno else str(exc))
    where = exc.filename if exc.filename is not None else "a file"
    return f"{where}: {reason}" + (f" ({code})" if code else "")


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none): what a
    library's multi-line error contributes to one line of ours."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
