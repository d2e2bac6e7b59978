"""Errors a user can cause. The CLI prints them as one line and exits 2."""


class BenchInputError(Exception):
    """Bad input: a file, field or argument that is missing or malformed.

    The message names what was wrong and what was expected, in one line.
    """
