"""Fail when an import of another app sits inside a function (run by `make test`).

import-linter (`.importlinter`) checks which app may import which; it sees imports in
function bodies too, but it cannot tell that one was put there to dodge a loop. This
check does: outside tests, every import of another of the project's packages is at
module level, where a loop fails loudly at start-up instead of hiding.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "sigmasight",
    "accounts",
    "portfolios",
    "marketdata",
    "risk",
    "signals",
    "trading",
    "batch",
)
SKIPPED_PARTS = {"tests", "migrations", ".venv"}


def _imported_modules(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        return [node.module]
    return []


def hidden_imports(path: Path) -> list[str]:
    """``path:line module`` for each import of another package inside a function body."""
    package = path.relative_to(ROOT).parts[0]
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            for module in _imported_modules(node):
                top = module.split(".")[0]
                if top in PACKAGES and top != package:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {module}")
    return found


def main() -> int:
    problems = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if SKIPPED_PARTS.isdisjoint(path.relative_to(ROOT).parts):
                problems.extend(hidden_imports(path))
    for problem in problems:
        print(f"cross-app import inside a function: {problem}")
    if problems:
        print("Move these imports to module level; if that makes a loop, fix the layering.")
        return 1
    print(f"No cross-app import hides inside a function ({', '.join(PACKAGES)}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
