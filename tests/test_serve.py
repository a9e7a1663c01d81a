"""``make serve``'s supervisor: several web processes on one port, stopped together."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db(transaction=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.extend(int(c) for c in (task / "children").read_text().split())
    return found


def test_two_web_processes_share_one_port_and_stop_together(settings: Any) -> None:
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"] or not settings.REDIS_URL:
        pytest.skip("make serve is the PostgreSQL + Redis stack")
    db = connection.settings_dict
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "WEB_CONCURRENCY": "2",
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }
    supervisor = subprocess.Popen(
        [sys.executable, "scripts/serve.py", "--web-only", "--skip-setup"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/health"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        web = _children(supervisor.pid)
        assert len(web) == 2  # two processes, one listening socket
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            codes = list(
                pool.map(lambda _: urllib.request.urlopen(url, timeout=30).status, range(60))
            )
        assert codes == [200] * 60
    finally:
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=30) == 0
    for pid in web:
        assert (
            not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
        )


def test_a_burst_of_50_requests_stays_within_the_pool(settings: Any, make_user: Any) -> None:
    """50 concurrent API requests and a burst of anonymous /health on one web process with
    a pool of 3: no 5xx, and never more connections to the database than the pool."""
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"] or not settings.REDIS_URL:
        pytest.skip("make serve is the PostgreSQL + Redis stack")
    from accounts.tokens import issue_for_new_session

    token = issue_for_new_session(make_user(role="trader")).access_token
    db = connection.settings_dict
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        "?application_name=sigmasight-pool-test",
        "REDIS_URL": settings.REDIS_URL,
        "WEB_CONCURRENCY": "1",
        "DB_POOL_MAX_SIZE": "3",
        "RATE_LIMIT_GLOBAL": "100000",
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }
    supervisor = subprocess.Popen(
        [sys.executable, "scripts/serve.py", "--web-only", "--skip-setup"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"

    def get(path: str, auth: bool) -> int:
        request = urllib.request.Request(base + path)
        if auth:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    def server_connections() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE application_name = 'sigmasight-pool-test'"
            )
            return int(cursor.fetchone()[0])

    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if get("/health", auth=False) == 200:
                    break
            except OSError:
                time.sleep(0.3)
        peak = 0
        with concurrent.futures.ThreadPoolExecutor(50) as pool:
            futures = [pool.submit(get, "/api/v1/data/portfolios", True) for _ in range(150)]
            futures += [pool.submit(get, "/health", False) for _ in range(100)]
            while not all(f.done() for f in futures):
                peak = max(peak, server_connections())
                time.sleep(0.02)
        codes = [f.result() for f in futures]
        health = json_health(base)
    finally:
        supervisor.send_signal(signal.SIGTERM)
        supervisor.wait(timeout=30)
    assert all(code < 500 for code in codes), sorted(set(codes))
    assert codes.count(200) == len(codes)
    assert 1 <= peak <= 3, f"{peak} connections with a pool of 3"
    assert health["database_pool"]["max_size"] == 3


def json_health(base: str) -> dict[str, Any]:
    import json

    with urllib.request.urlopen(base + "/health", timeout=30) as response:
        return dict(json.loads(response.read()))


def test_the_web_process_freezes_its_startup_objects() -> None:
    """What is alive at startup leaves the collector's reach (no 100 ms full collections
    in the middle of a fan-out): sigmasight.serve schedules this once the reactor runs."""
    import gc

    from sigmasight.serve import GC_THRESHOLDS, freeze_startup_objects

    thresholds = gc.get_threshold()
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == GC_THRESHOLDS
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
