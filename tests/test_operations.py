"""Operating the service from a shell: ``manage.py`` outside ``make run``, and the start-up
checks of ``scripts/run.sh``.

Each test runs the real scripts as subprocesses, in a copy of the repository with a clean
environment, so that the embedded default applies and the checkout's own ``.local/`` (the
demo database and secret key) is never read nor written.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
VENV = Path(sys.executable).parent.parent
KEY = "k" * 50


@pytest.fixture
def checkout(tmp_path: Path) -> Iterator[Path]:
    """A copy of the repository without .venv, .local, .git or caches."""
    target = tmp_path / "sigmasight"
    shutil.copytree(
        REPO,
        target,
        ignore=shutil.ignore_patterns(
            ".venv", ".local", ".git", "__pycache__", "*_cache", ".hypothesis"
        ),
    )
    yield target


def _clean_env(**extra: str) -> dict[str, str]:
    """Nothing of the caller's settings: what a new shell without exports has."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    env.update(extra)
    return env


def _manage(checkout: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=checkout,
        env=_clean_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _write_local_key(checkout: Path) -> None:
    (checkout / ".local").mkdir(exist_ok=True)
    (checkout / ".local" / "secret_key").write_text(KEY + "\n")


@pytest.mark.parametrize("command", [["help"], ["createsuperuser", "--noinput"], ["run_batch"]])
def test_manage_py_without_a_key_says_what_to_do_in_one_line(
    checkout: Path, command: list[str]
) -> None:
    result = _manage(checkout, *command)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "manage.py: Refusing to start: DEBUG is off and no SECRET_KEY is set. "
        "Run `make run` once (it generates .local/secret_key), or set SECRET_KEY."
    ]


def test_manage_py_finds_the_key_that_make_run_generated(checkout: Path) -> None:
    _write_local_key(checkout)
    result = _manage(checkout, "help")
    assert result.returncode == 0, result.stderr
    for command in ("seed_demo", "run_batch", "import_prices_csv", "createsuperuser"):
        assert f"    {command}\n" in result.stdout, command
    assert "settings are not properly configured" not in result.stdout


def test_production_never_falls_back_to_the_local_key(checkout: Path) -> None:
    _write_local_key(checkout)
    result = _manage(checkout, "help", DATABASE_URL="postgres://nobody@127.0.0.1:1/none")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        "manage.py: Refusing to start: DEBUG is off and no SECRET_KEY is set. "
        "Set SECRET_KEY (or SECRET_KEY_FILE)."
    )
    named = _manage(
        checkout, "help", DATABASE_URL="postgres://nobody@127.0.0.1:1/none", SECRET_KEY=KEY
    )
    assert named.returncode == 0, named.stderr


def test_an_unreadable_or_empty_key_file_is_one_line(checkout: Path, tmp_path: Path) -> None:
    missing = _manage(checkout, "help", SECRET_KEY_FILE=str(tmp_path / "absent"))
    assert missing.returncode != 0
    assert missing.stderr.strip() == (
        f"manage.py: Refusing to start: SECRET_KEY_FILE {tmp_path / 'absent'} cannot be read "
        "(No such file or directory)."
    )
    (tmp_path / "empty").write_text("\n")
    empty = _manage(checkout, "help", SECRET_KEY_FILE=str(tmp_path / "empty"))
    assert empty.returncode != 0
    assert "is empty" in empty.stderr and "Traceback" not in empty.stderr


def test_createsuperuser_after_migrate_needs_no_variables(checkout: Path) -> None:
    """What the README promises after `make run`: migrate (as run.sh does), then
    createsuperuser, with nothing exported but createsuperuser's own --noinput answers."""
    _write_local_key(checkout)
    migrated = _manage(checkout, "migrate", "--noinput", "-v", "0")
    assert migrated.returncode == 0, migrated.stderr
    created = _manage(
        checkout,
        "createsuperuser",
        "--noinput",
        DJANGO_SUPERUSER_EMAIL="ops@example.com",
        DJANGO_SUPERUSER_PASSWORD="a-long-ops-password-1",
    )
    assert created.returncode == 0, created.stderr
    assert "Superuser created successfully." in created.stdout


def _database_settings(**env: str) -> str:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; from django.conf import settings; django.setup(); "
            "print(settings.DATABASES['default']['CONN_MAX_AGE'])",
        ],
        cwd=REPO,
        env=_clean_env(DJANGO_SETTINGS_MODULE="sigmasight.settings", SECRET_KEY=KEY, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_no_persistent_database_connections_under_daphne_by_default() -> None:
    url = "postgres://nobody@127.0.0.1:1/none"  # settings never connect at import
    assert _database_settings(DATABASE_URL=url) == "0"
    # Django's pool needs CONN_MAX_AGE 0; persistent connections only without it
    assert _database_settings(DATABASE_URL=url, DB_CONN_MAX_AGE="30") == "0"
    assert _database_settings(DATABASE_URL=url, DB_CONN_MAX_AGE="30", DB_POOL_MAX_SIZE="0") == "30"


def _run_sh(checkout: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "scripts/run.sh"],
        cwd=checkout,
        env=_clean_env(VENV=str(VENV), **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_make_run_on_a_taken_port_says_so_before_the_banner(checkout: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _run_sh(checkout, HOST="127.0.0.1", PORT=str(port))
    assert result.returncode != 0
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "running at" not in result.stdout
    assert not (checkout / ".local").exists()  # nothing migrated or generated


@pytest.mark.parametrize(
    ("host", "port", "message"),
    [
        ("127.0.0.1", "http", "PORT='http' is not a port number"),
        ("127.0.0.1", "70000", "PORT='70000' is not a port number"),
        ("no-such-host.invalid", "8000", "HOST='no-such-host.invalid' cannot be resolved"),
    ],
)
def test_make_run_refuses_a_bad_host_or_port(
    checkout: Path, host: str, port: str, message: str
) -> None:
    result = _run_sh(checkout, HOST=host, PORT=port)
    assert result.returncode != 0
    assert message in result.stderr
    assert "running at" not in result.stdout
