"""Files and directories that appear whole or not at all: written under a temporary name
beside their final place, then moved in with ``os.replace`` (atomic on one file system)."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def naming(path: Path):
    """An OSError raised while writing ``path`` names it: a full disk seen by a file object's
    ``write`` (or pyarrow) carries no file name, and the user needs to know which disk."""
    try:
        yield
    except OSError as exc:
        if exc.filename is not None:
            raise
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc


def write_file(path: Path, write) -> None:
    """``write(temporary_path)`` fills a temporary file, which then replaces ``path``;
    on any failure the temporary is removed and ``path`` is untouched."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; the file follows the umask, as open() would
        with naming(path):
            write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    write_file(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def replace_directory(out: Path, write_files) -> Path:
    """Create or replace the directory ``out`` whole: ``write_files(staging)`` fills a
    temporary directory beside it, which is then moved into place with ``os.replace``.

    On any failure the previous directory, if there was one, is back at ``out`` and no
    temporary directory is left behind. Returns ``out``.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    retired = None
    try:
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes 0700; a report follows the umask
        try:
            write_files(staging)
        except OSError as exc:  # name the file where the user will look for it, not the staging copy
            if exc.filename is None or not str(exc.filename).startswith(str(staging)):
                raise
            final = out / Path(exc.filename).relative_to(staging)
            raise OSError(exc.errno, exc.strerror, str(final)) from exc
        if out.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, retired / out.name)
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if retired is not None:
            if not out.exists() and (retired / out.name).exists():
                os.replace(retired / out.name, out)
            shutil.rmtree(retired, ignore_errors=True)
        raise
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)
    return out
