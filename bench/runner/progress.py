"""Progress on stderr: one line per finished cell, a live line on a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, total: int, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.live = enabled and getattr(self.stream, "isatty", lambda: False)()
        self.started = time.perf_counter()
        self.width = len(str(total))

    def _write(self, text: str) -> None:
        if self.enabled:
            self.stream.write(text)
            self.stream.flush()

    def header(self, text: str) -> None:
        self._write(text + "\n")

    def start(self, index: int, dataset: str, model: str) -> None:
        if self.live:
            self._write(f"\r[{index + 1:>{self.width}}/{self.total}] {dataset} / {model} ...\x1b[K")

    def done(self, index: int, result, note: str = "") -> None:
        if result.status == "ok":
            detail = f"fit {_seconds(result.fit_seconds)} (min of {result.repeats})"
        else:
            detail = result.message.splitlines()[0][:100] if result.message else ""
        where = f"[{index + 1:>{self.width}}/{self.total}] {result.dataset:<16} {result.model:<18}"
        line = f"{where} {result.status:<7} {detail} {note}".rstrip()
        self._write(("\r" if self.live else "") + line + ("\x1b[K" if self.live else "") + "\n")

    def footer(self) -> None:
        self._write(f"done in {time.perf_counter() - self.started:.1f} s\n")


def _seconds(value: float) -> str:
    if value != value:  # NaN
        return "-"
    if value < 1e-3:
        return f"{value * 1e6:.0f} us"
    if value < 1:
        return f"{value * 1e3:.2f} ms"
    return f"{value:.2f} s"
