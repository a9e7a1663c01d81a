"""The layering the code relies on: ``sigmasight`` is a shared library that imports no app
(only its wiring modules put the apps together), and no cross-app import hides inside a
function, where it would dodge import-time cycles and the reader alike."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = {"accounts", "portfolios", "marketdata", "risk", "signals", "trading", "batch"}
#: The modules whose job is to wire the apps together.
WIRING = {"asgi.py", "routing.py", "urls.py", "settings.py", "celery.py", "wsgi.py"}


def _imports(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name


def _app(module: str) -> str:
    return module.split(".")[0]


def _sources(folder: str) -> list[Path]:
    return sorted(path for path in (ROOT / folder).rglob("*.py") if "migrations" not in path.parts)


@pytest.mark.parametrize(
    "path",
    [p for p in _sources("sigmasight") if p.name not in WIRING],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_the_shared_layer_imports_no_app(path: Path) -> None:
    tree = ast.parse(path.read_text())
    assert [(line, module) for line, module in _imports(tree) if _app(module) in APPS] == []


@pytest.mark.parametrize(
    "path",
    [*_sources("sigmasight"), *_sources("accounts")],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_no_cross_app_import_sits_inside_a_function(path: Path) -> None:
    own = path.relative_to(ROOT).parts[0]
    hidden = [
        (line, module)
        for function in ast.walk(ast.parse(path.read_text()))
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
        for line, module in _imports(function)
        if _app(module) in APPS and _app(module) != own
    ]
    assert hidden == []
