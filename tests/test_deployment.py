"""The deployment files and the documentation of the settings.

Docker cannot run here, so the compose file is checked as data: each long-running service
restarts and has a healthcheck, the one-shots run in order, and no demo user is created.
Every variable the settings read must be in ``.env.example`` and in the README, so a new
setting cannot go undocumented.
"""

from __future__ import annotations

import ast
import fnmatch
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
SETTINGS = REPO / "sigmasight" / "settings.py"
COMPOSE = REPO / "docker" / "compose.yaml"
SHARED_DOCS = REPO.parent / "shared" / "docs"
VENDORED_DOCS = ("API-CONVENTIONS.md", "RISK-MODEL.md")


def settings_environment_variables() -> set[str]:
    """Every name sigmasight/settings.py reads from the environment: ``env("X")``,
    ``env.str/bool/int/float/list/db/...("X")``, ``os.environ["X"]``, ``os.environ.get("X")``
    and ``os.getenv("X")``. A name that is not a string literal fails: it could not be
    documented."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(SETTINGS.read_text())):
        if isinstance(node, ast.Call):
            func = node.func
            reads_env = (
                (isinstance(func, ast.Name) and func.id == "env")
                or (
                    isinstance(func, ast.Attribute)
                    and isinstance(func.value, ast.Name)
                    and func.value.id == "env"
                )
                or ast.unparse(func) in {"os.environ.get", "os.getenv", "environ.get"}
            )
        elif isinstance(node, ast.Subscript):
            reads_env = ast.unparse(node.value) in {"os.environ", "environ"}
        else:
            continue
        if not reads_env:
            continue
        first = node.args[0] if isinstance(node, ast.Call) and node.args else None
        if isinstance(node, ast.Subscript):
            first = node.slice
        assert isinstance(first, ast.Constant) and isinstance(first.value, str), (
            f"settings.py line {node.lineno}: read the environment by a literal name "
            f"(got {ast.unparse(node)}), so that it can be documented"
        )
        names.add(first.value)
    return names


def test_the_settings_parser_sees_every_kind_of_read() -> None:
    names = settings_environment_variables()
    # str, bool, int, float, list and db reads, from different sections of settings.py
    assert {"SECRET_KEY", "DEBUG", "DB_CONN_MAX_AGE", "RISK_FREE_RATE", "ALLOWED_HOSTS"} <= names
    assert "DATABASE_URL" in names


def test_every_setting_is_in_env_example_and_the_readme() -> None:
    names = settings_environment_variables()
    example = (REPO / ".env.example").read_text()
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE))
    readme = (REPO / "README.md").read_text()
    in_readme = set(re.findall(r"`([A-Z][A-Z0-9_]*)`", readme))
    assert sorted(names - listed) == [], "add these to .env.example, with a comment each"
    assert sorted(names - in_readme) == [], "add these to the README's settings table"


def test_env_example_comments_every_variable() -> None:
    lines = (REPO / ".env.example").read_text().splitlines()
    for index, line in enumerate(lines):
        if re.match(r"^#? ?[A-Z][A-Z0-9_]*=", line):
            above = lines[index - 1] if index else ""
            assert above.startswith("#"), f"{line!r} has no comment above it"


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _command(service: dict[str, Any]) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else command


def _healthcheck_test(service: dict[str, Any]) -> list[str]:
    test = service["healthcheck"]["test"]
    return [test] if isinstance(test, str) else test


@pytest.mark.parametrize("name", ["web", "worker", "beat", "db", "redis"])
def test_long_running_services_restart_and_have_healthchecks(name: str) -> None:
    service = _compose()["services"][name]
    assert service["restart"] in {"always", "unless-stopped", "on-failure"}
    test = _healthcheck_test(service)
    assert test[0] in {"CMD", "CMD-SHELL"} and len(test) > 1


def test_healthchecks_check_the_real_thing() -> None:
    services = _compose()["services"]
    web = _healthcheck_test(services["web"])
    assert web[:3] == ["CMD", "python", "-c"]
    assert "http://localhost:8000/health" in web[3] and '["status"] != "ok"' in web[3]
    beat = _healthcheck_test(services["beat"])
    assert beat[:3] == ["CMD", "python", "-c"] and "health_report()" in beat[3]
    for code in (web[3], beat[3]):
        compile(code, "healthcheck", "exec")  # the folded YAML is one valid Python line
    worker = " ".join(_healthcheck_test(services["worker"])[1:])
    assert "celery -A sigmasight inspect ping" in worker
    assert "$HOSTNAME" in worker  # compose's $$ escape: the container's shell expands it
    # the web healthcheck's Host header must be allowed whatever ALLOWED_HOSTS says
    assert services["web"]["environment"]["ALLOWED_HOSTS"].startswith("localhost,")


def test_migrate_then_a_first_batch_then_the_services() -> None:
    services = _compose()["services"]
    assert _command(services["migrate"]).startswith("python manage.py migrate")
    first = services["first-batch"]
    assert _command(first) == (
        "python manage.py run_batch full_portfolio_calculation --no-progress"
    )
    assert first["restart"] == "no" and services["migrate"]["restart"] == "no"
    for name in ("first-batch", "web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends == {"migrate": {"condition": "service_completed_successfully"}}, name
    assert services["migrate"]["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }


def test_compose_creates_no_demo_users() -> None:
    """Demo users have a published password: a deployment never gets them (API-CONVENTIONS,
    "Demo users"). The first batch loads the market data the factors need."""
    for name, service in _compose()["services"].items():
        command = _command(service)
        assert "seed_demo" not in command, f"{name}: {command}"
        assert "--demo-users" not in command and "--with-admin" not in command


def test_compose_refuses_to_start_without_secrets() -> None:
    compose = COMPOSE.read_text()
    environment = _compose()["services"]["web"]["environment"]
    assert environment["SECRET_KEY"] == "${SECRET_KEY:?set SECRET_KEY}"
    assert environment["DEBUG"] == "false"
    assert "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}" in environment["DATABASE_URL"]
    assert "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}" in compose
    assert set(environment) <= settings_environment_variables()  # no misspelt setting


def _dockerignored(path: str) -> bool:
    """Docker's rule: the last pattern that matches decides; ``!`` re-includes."""
    ignored = False
    for line in (REPO / ".dockerignore").read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").removeprefix("**/")
        if any(
            fnmatch.fnmatch(part, pattern) for part in [path, *Path(path).parts]
        ) or path.startswith(pattern + "/"):
            ignored = not negate
    return ignored


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image() -> None:
    for path in (".env", ".env.production", ".local/secret_key", ".local/db.sqlite3", ".venv"):
        assert _dockerignored(path), path
    for path in (".env.example", "manage.py", "sigmasight/settings.py", "requirements.txt"):
        assert not _dockerignored(path), path


def test_the_image_runs_as_an_unprivileged_user() -> None:
    dockerfile = (REPO / "docker" / "Dockerfile").read_text()
    users = re.findall(r"^USER (\S+)", dockerfile, flags=re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}


def test_vendored_docs_match_the_shared_ones() -> None:
    """docs/API-CONVENTIONS.md and docs/RISK-MODEL.md are copies for clones without
    ../shared (the README links them); they must not drift."""
    if not SHARED_DOCS.is_dir():
        pytest.skip("../shared/docs is not beside this checkout")
    for name in VENDORED_DOCS:
        assert (SHARED_DOCS / name).read_text() == (REPO / "docs" / name).read_text(), name


def test_readme_links_resolve() -> None:
    """Every relative link of the README names a file of the repository, except
    docs/security.md, which is being written beside this one."""
    readme = (REPO / "README.md").read_text()
    links = re.findall(r"\]\(([^)#\s]+)", readme)
    assert "docs/API-CONVENTIONS.md" in links and "docs/RISK-MODEL.md" in links
    assert "docs/security.md" in links
    for link in links:
        if "://" in link or link == "docs/security.md":
            continue
        assert (REPO / link).exists(), link
