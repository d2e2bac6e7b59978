"""logitbench outside its checkout: the wheel, installed in a fresh virtual environment, run from
a temporary folder; and every third-party import of the package declared in pyproject.toml."""

from __future__ import annotations

import ast
import importlib.metadata
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 600  # building, a venv and a small run; generous for a slow CI machine


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh venv holding only the logitbench wheel; its dependencies are read from this
    environment through a .pth file (nothing is downloaded)."""
    tmp = tmp_path_factory.mktemp("install")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp / "wheel", ROOT],
        check=True,
        capture_output=True,
        timeout=TIMEOUT,
        cwd=tmp,
    )
    wheel = next((tmp / "wheel").glob("logitbench-*.whl"))
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True, capture_output=True, timeout=TIMEOUT)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.check_output(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    subprocess.run(  # before the .pth: pip must not see this environment's own logitbench
        [python, "-m", "pip", "install", "--no-deps", "--no-index", "-q", wheel],
        check=True,
        capture_output=True,
        timeout=TIMEOUT,
    )
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    return venv, elsewhere


def _run(command, cwd):
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT)


def test_the_installed_package_is_the_wheel_not_the_checkout(installed):
    venv, elsewhere = installed
    out = _run([venv / "bin" / "python", "-c", "import bench; print(bench.__file__)"], elsewhere)
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()).is_relative_to(venv)


def test_logitbench_datasets_lists_the_built_in_cards_from_any_folder(installed):
    venv, elsewhere = installed
    out = _run([venv / "bin" / "logitbench", "datasets"], elsewhere)
    assert out.returncode == 0, out.stderr
    listed = {line.split()[0] for line in out.stdout.splitlines()}
    assert {p.stem for p in (ROOT / "datasets").glob("*.toml")} == listed


def test_a_small_run_from_a_temporary_folder(installed):
    venv, elsewhere = installed
    command = [
        venv / "bin" / "python",
        "-m",
        "bench",
        "run",
        "--datasets",
        "spector,separated",
        "--models",
        "sklearn_logit,statsmodels_logit",
        "--repeats",
        "1",
        "--out",
        "mine",
        "-q",
    ]
    out = _run(command, elsewhere)
    assert out.returncode == 0, out.stderr
    report = (elsewhere / "mine" / "report.md").read_text(encoding="utf-8")
    assert "**spector**: sklearn_logit, statsmodels_logit agree" in report
    assert "complete separation" in report  # separated.csv ships beside its card
    assert (elsewhere / "history.parquet").is_file()


def test_a_users_card_folder(installed):
    venv, elsewhere = installed
    cards = elsewhere / "my_cards"
    cards.mkdir()
    (cards / "tiny.toml").write_text(
        (ROOT / "datasets" / "spector.toml").read_text(encoding="utf-8").replace('name = "spector"', 'name = "tiny"'),
        encoding="utf-8",
    )
    out = _run([venv / "bin" / "logitbench", "datasets", "--cards", cards], elsewhere)
    assert out.returncode == 0 and "tiny" in out.stdout.split()
    # the checkout's cards beside the installed copies of them: two cards named spector
    clash = _run([venv / "bin" / "logitbench", "datasets", "--cards", ROOT / "datasets"], elsewhere)
    assert clash.returncode == 2 and "a card named" in clash.stderr and "expected one per name" in clash.stderr
    missing = _run([venv / "bin" / "logitbench", "datasets", "--cards", elsewhere / "nope"], elsewhere)
    assert missing.returncode == 2 and "no such folder" in missing.stderr and "Traceback" not in missing.stderr


def _third_party_imports() -> set[str]:
    names = set()
    for path in (ROOT / "bench").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != "bench"}


def test_every_import_is_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {*project["dependencies"], *(d for extra in project["optional-dependencies"].values() for d in extra)}
    declared = {
        d.split(";")[0].split("[")[0].split("=")[0].split(">")[0].split("<")[0].strip().lower() for d in declared
    }
    distributions = importlib.metadata.packages_distributions()
    undeclared = {
        name: distributions.get(name)
        for name in _third_party_imports()
        if not {d.lower() for d in distributions.get(name, [name])} & declared
    }
    assert undeclared == {}
