"""Files that appear whole or not at all: written under a temporary name beside their
final place, then moved in with ``os.replace`` (atomic on one file system)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_file(path: Path, write) -> None:
    """``write(temporary_path)`` fills a temporary file, which then replaces ``path``;
    on any failure the temporary is removed and ``path`` is untouched."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    write_file(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
