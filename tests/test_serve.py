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
