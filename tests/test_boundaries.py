"""The app boundaries are checked, and the check fails when they are broken.

``make test`` runs ``lint-imports`` (the contracts in ``.importlinter``) and
``scripts/check_imports.py``. These tests show both would catch a violation: each runs
the check on a copy of the packages with one bad import added.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
_CONFIG = configparser.ConfigParser()
_CONFIG.read(REPO / ".importlinter")
PACKAGES = tuple(_CONFIG["importlinter"]["root_packages"].split())
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _copy(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            REPO / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("__pycache__", "seed_data", "payloads"),
        )
    shutil.copy(REPO / ".importlinter", tmp_path / ".importlinter")
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "check_imports.py", tmp_path / "scripts" / "check_imports.py")
    return tmp_path


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
        timeout=120,
    )


def test_the_contracts_hold_on_the_code_as_it_is(tmp_path: Path) -> None:
    result = _lint(_copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("risk/engine/var.py", "from batch import registry", "engines import no Django"),
        ("risk/engine/pricing.py", "import django", "engines import no Django"),
        ("batch/selectors.py", "from portfolios import selectors", "batch runner imports no"),
        ("marketdata/selectors.py", "from risk import reports", "apps are layered"),
        ("sigmasight/api/inputs.py", "from accounts import models", "project package"),
    ],
)
def test_a_forbidden_import_fails_the_build(
    tmp_path: Path, module: str, line: str, broken: str
) -> None:
    root = _copy(tmp_path)
    path = root / module
    path.write_text(path.read_text() + f"\n{line}  # deliberately wrong\n")
    result = _lint(root)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout and broken in result.stdout


def test_an_import_hidden_in_a_function_fails_the_build(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    path = root / "portfolios" / "selectors.py"
    path.write_text(path.read_text() + "\n\ndef dodge() -> None:\n    from risk import reports\n")
    result = subprocess.run(
        [sys.executable, str(root / "scripts" / "check_imports.py")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "portfolios/selectors.py" in result.stdout and "imports risk" in result.stdout
