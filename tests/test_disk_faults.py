"""Faults of the user's disk: one line on stderr naming the path and the OS's reason, exit status 1,
no traceback, nothing half-written, and the finished cells kept for ``--resume``.

Real faults where this machine allows them (a 1 MiB tmpfs fills up; a read-only tmpfs refuses
writes: both need root and mount(2)); the same faults injected at the writer everywhere else, since
root ignores permission bits."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import bench.files
import bench.report.writer
from bench.cli import main

SMALL = ["--datasets", "spector,breast_cancer", "--models", "sklearn_logit,statsmodels_logit", "--repeats", "1", "-q"]


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def _refuse(code: int, path):
    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code), str(path))

    return refuse


@pytest.fixture
def mount(tmp_path):
    """mount(options) -> a fresh tmpfs at tmp_path/"disk"; skipped where mounting is not allowed."""
    mounted = []

    def make(options: str) -> Path:
        point = tmp_path / "disk"
        point.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip() or done.returncode})")
        mounted.append(point)
        return point

    yield make
    for point in mounted:
        subprocess.run(["umount", str(point)], capture_output=True)


def test_a_full_disk_keeps_the_cells_and_resume_finishes(tmp_path, monkeypatch, capsys):
    out = tmp_path / "reports" / "latest"
    monkeypatch.setattr(bench.report.writer, "render_html", _refuse(errno.ENOSPC, out / "index.html"))
    assert main(["run", *SMALL, "--out", str(out), "--no-history"]) == 1
    line = _one_line(capsys)
    assert "index.html: No space left on device (ENOSPC)" in line
    assert "4 finished cell(s) are kept" in line and f"--resume {out}" in line
    assert not out.exists() and [p.name for p in out.parent.iterdir()] == [".latest.cells"]  # no half report
    monkeypatch.undo()
    assert main(["run", "--resume", str(out), "--no-history", "-q"]) == 0
    assert (out / "index.html").is_file() and not (out.parent / ".latest.cells").exists()


def test_a_real_full_disk(mount, capsys):
    disk = mount("size=256k")  # the report is ~410 KiB (index.html 260 KiB): the cells fit, the report does not
    out = disk / "latest"
    assert main(["run", *SMALL, "--out", str(out)]) == 1
    line = _one_line(capsys)
    assert "No space left on device (ENOSPC)" in line and "--resume" in line
    assert not out.exists() and not any(
        p.name.startswith(".latest.") and p.name != ".latest.cells" for p in disk.iterdir()
    )
    assert not (disk / "history.parquet").exists()


def test_a_read_only_out(tmp_path, monkeypatch, capsys):
    out = tmp_path / "readonly" / "latest"
    monkeypatch.setattr(Path, "mkdir", _refuse(errno.EROFS, out.parent / ".latest.cells"))
    assert main(["run", *SMALL, "--out", str(out)]) == 1
    line = _one_line(capsys)
    assert ".latest.cells: Read-only file system (EROFS)" in line and "choose a folder you can write to" in line
    assert not out.parent.exists()


def test_a_real_read_only_disk(mount, capsys):
    disk = mount("ro,size=1m")
    assert main(["run", *SMALL, "--out", str(disk / "latest")]) == 1
    line = _one_line(capsys)
    assert "Read-only file system (EROFS)" in line
    assert list(disk.iterdir()) == []


def test_a_forbidden_history_file_leaves_it_unchanged(tmp_path, monkeypatch, capsys):
    out = tmp_path / "latest"
    assert main(["run", *SMALL, "--out", str(out)]) == 0
    history = tmp_path / "history.parquet"
    before = history.read_bytes()
    capsys.readouterr()
    real = bench.files.write_file

    def write_file(path, write):
        if Path(path).name == "history.parquet":
            raise OSError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real(path, write)

    monkeypatch.setattr(bench.files, "write_file", write_file)
    assert main(["run", *SMALL, "--out", str(out)]) == 1
    line = _one_line(capsys)
    assert "history.parquet: Permission denied (EACCES)" in line and f"written to {out}/" in line
    assert history.read_bytes() == before and len(pd.read_parquet(history)["started"].unique()) == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".history")]  # no temporary left


def test_out_on_a_missing_mount(tmp_path, capsys):
    out = tmp_path / "not_mounted" / "reports" / "latest"
    assert main(["run", *SMALL, "--out", str(out)]) == 1
    line = _one_line(capsys)
    assert f"{tmp_path / 'not_mounted'} does not exist (is the disk mounted?)" in line
    assert not (tmp_path / "not_mounted").exists()


def test_a_refused_comparison_file_is_one_line(tmp_path, monkeypatch, capsys):
    out = tmp_path / "latest"
    assert main(["run", *SMALL, "--out", str(out), "--no-history"]) == 0
    capsys.readouterr()
    monkeypatch.setattr(bench.files, "write_file", _refuse(errno.ENOSPC, out / "comparison.md"))
    assert main(["compare", str(out), str(out)]) == 1
    assert "comparison.md: No space left on device (ENOSPC)" in _one_line(capsys)
    assert not (out / "comparison.md").exists()
