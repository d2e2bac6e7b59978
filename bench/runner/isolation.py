"""Run one cell in a child process with a time limit (``--cell-timeout``).

A model stuck in a loop cannot be stopped from inside its own process, so with a
time limit each cell runs in a fresh *spawned* process (never forked: OpenMP thread
pools do not survive a fork) and is killed when the limit passes. The cost is the
child's start-up and imports, paid only when a limit is asked for.
"""

from __future__ import annotations

import multiprocessing


class CellTimeout(Exception):
    pass


def _child(connection, function, args) -> None:
    try:
        connection.send((True, function(*args)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent as the cell's failure
        connection.send((False, f"{type(exc).__name__}: {exc}"))
    finally:
        connection.close()


def call_with_timeout(function, args: tuple, seconds: float):
    """``function(*args)`` in a spawned child; CellTimeout after ``seconds``; RuntimeError
    (with the child's message) if it raised or died."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(send, function, args))
    process.start()
    send.close()
    try:
        if not receive.poll(seconds):
            raise CellTimeout(f"no result after {seconds:g} s (--cell-timeout); the cell was stopped")
        try:
            ok, value = receive.recv()
        except EOFError:
            raise RuntimeError(f"the cell's process died (exit code {process.join(5) or process.exitcode})") from None
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receive.close()
    if not ok:
        raise RuntimeError(value)
    return value
