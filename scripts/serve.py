"""The production stack on one machine (``make serve``): every core serves HTTP.

    DATABASE_URL=... REDIS_URL=... SECRET_KEY=... python scripts/serve.py [--web-only]

What it runs, all on PostgreSQL and Redis (API-CONVENTIONS, The embedded default):

* ``WEB_CONCURRENCY`` web processes (default: the core count), each a daphne
  (``python -m sigmasight.serve``, with the request limits of docs/security.md) serving
  HTTP *and* WebSockets on one shared listening socket: this script opens ``HOST:PORT``
  once and hands the socket to every process the way systemd socket activation does
  (fd 3, ``LISTEN_FDS``/``LISTEN_PID``; twisted's ``systemd:`` endpoint adopts it), and
  the kernel spreads the connections over them. No proxy is needed, and any process can serve any socket
  because the channel layer, the cache and the rate counters live in Redis;
* a Celery worker (``CELERY_CONCURRENCY``, default the core count), beat and the market
  producer (``manage.py run_market``);
* before that: ``migrate``, ``collectstatic``, and with ``SEED_DEMO=1`` the demo
  (``seed_demo --demo-users``) and a first ``run_batch``.

A process that dies is started again (after a pause that grows if it keeps dying); Ctrl-C
or SIGTERM stops them all. ``--web-only`` runs just the web processes (the compose
``web`` service, whose worker and beat are services of their own).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


#: The first inherited descriptor under socket activation (sd_listen_fds(3)).
LISTEN_FDS_START = 3


@dataclass
class Child:
    name: str
    argv: list[str]
    listening_fd: int | None = None  # handed over as fd 3, systemd style
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = field(default=0.0)

    def start(self) -> None:
        fd = self.listening_fd

        def activate() -> None:  # in the child, between fork and exec
            if fd is not None:
                if fd != LISTEN_FDS_START:
                    os.dup2(fd, LISTEN_FDS_START)
                os.set_inheritable(LISTEN_FDS_START, True)
                os.environ["LISTEN_FDS"] = "1"
                os.environ["LISTEN_FDNAMES"] = "http"  # twisted wants a name per descriptor
                os.environ["LISTEN_PID"] = str(os.getpid())

        self.process = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            # fd 3 stays open too: the child closes every other descriptor after activate().
            pass_fds=(fd, LISTEN_FDS_START) if fd is not None else (),
            preexec_fn=activate if fd is not None else None,
        )
        self.started_at = time.monotonic()


def _manage(*args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, check=True)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        raise SystemExit(f"serve: cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def _children(args: argparse.Namespace, sock: socket.socket) -> list[Child]:
    fd = sock.fileno()
    family = "INET6" if sock.family == socket.AF_INET6 else "INET"
    web = [
        Child(
            f"web-{n + 1}",
            [
                PYTHON,
                "-m",
                "sigmasight.serve",
                "-e",
                f"systemd:domain={family}:index=0",
                "--proxy-headers",
                "sigmasight.asgi:application",
            ],
            listening_fd=fd,
        )
        for n in range(args.web)
    ]
    if args.web_only:
        return web
    celery = [PYTHON, "-m", "celery", "-A", "sigmasight"]
    return [
        *web,
        Child("worker", [*celery, "worker", "-l", "info", "-c", str(args.celery)]),
        Child("market", [PYTHON, "manage.py", "run_market"]),
        Child(
            "beat",
            [
                *celery,
                "beat",
                "-l",
                "info",
                "--scheduler",
                "django_celery_beat.schedulers:DatabaseScheduler",
            ],
        ),
    ]


def main() -> int:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--web", type=int, default=int(os.environ.get("WEB_CONCURRENCY", cores)))
    parser.add_argument(
        "--celery", type=int, default=int(os.environ.get("CELERY_CONCURRENCY", cores))
    )
    parser.add_argument("--web-only", action="store_true", help="only the web processes")
    parser.add_argument("--skip-setup", action="store_true", help="no migrate/collectstatic")
    args = parser.parse_args()
    for name in ("DATABASE_URL", "REDIS_URL"):
        if not os.environ.get(name):
            raise SystemExit(f"serve: set {name} (make serve sets this machine's services)")
    if not args.skip_setup:
        _manage("migrate", "--noinput", "-v", "0")
        _manage("collectstatic", "--noinput", "-v", "0")
        if os.environ.get("SEED_DEMO") == "1":
            _manage("seed_demo", "--demo-users")
            _manage("run_batch", "full_portfolio_calculation", "--no-progress")

    sock = _listen(args.host, args.port)
    children = _children(args, sock)
    for child in children:
        child.start()
    names = ", ".join(c.name for c in children)
    print(f"\n  SigmaSight (production stack) at http://{args.host}:{args.port}: {names}\n")
    sys.stdout.flush()

    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping:
        time.sleep(0.5)
        for child in children:
            if child.process is not None and child.process.poll() is not None and not stopping:
                # A crash loop waits longer each time, up to 30 s; a long run resets it.
                if time.monotonic() - child.started_at > 60:
                    child.restarts = 0
                pause = min(30.0, 0.5 * 2**child.restarts)
                print(
                    f"serve: {child.name} exited ({child.process.returncode}); "
                    f"restarting in {pause:.1f} s",
                    file=sys.stderr,
                )
                time.sleep(pause)
                child.restarts += 1
                child.start()
    for child in children:
        if child.process is not None and child.process.poll() is None:
            child.process.terminate()
    deadline = time.monotonic() + 20
    for child in children:
        if child.process is not None:
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
    sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
