#!/usr/bin/env bash
# The embedded demo: SQLite, in-memory channel layer, local-memory cache, eager Celery.
# DEBUG stays off, as in production; the secret key is generated once into .local/secret_key,
# where settings.py finds it again for manage.py (createsuperuser, run_batch...) without this.
# HOST and PORT (defaults 127.0.0.1 and 8000) say where daphne listens.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
PY="$VENV/bin/python"

# Check HOST and PORT before migrating and seeding: otherwise daphne finds a taken port only
# after all that, below a banner that already says "running". SO_REUSEADDR as daphne
# (Twisted) binds, so a TIME_WAIT socket of the last run is not mistaken for a conflict.
"$PY" - "$HOST" "$PORT" <<'PYTHON' || exit 1
import errno
import socket
import sys

host, port_text = sys.argv[1], sys.argv[2]
if not port_text.isdigit() or not 0 < int(port_text) < 65536:
    sys.exit(f"ERROR: PORT={port_text!r} is not a port number (1-65535).")
port = int(port_text)
try:
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
except socket.gaierror as exc:
    sys.exit(f"ERROR: HOST={host!r} cannot be resolved ({exc.strerror}).")
with socket.socket(family, kind, proto) as probe:
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind(address)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            sys.exit(
                f"ERROR: port {port} on {host} is already in use (another `make run`?). "
                f"Stop it, or choose another port: make run PORT={port + 1}"
            )
        if exc.errno == errno.EADDRNOTAVAIL:
            sys.exit(f"ERROR: HOST={host} is not an address of this machine.")
        sys.exit(f"ERROR: cannot listen on {host}:{port} ({exc.strerror}).")
PYTHON

mkdir -p .local
if [ -z "${SECRET_KEY:-}" ] && [ -z "${SECRET_KEY_FILE:-}" ]; then
  if [ ! -s .local/secret_key ]; then
    umask 077
    "$PY" -c "import secrets; print(secrets.token_urlsafe(50))" > .local/secret_key
  fi
  export SECRET_KEY_FILE="$PWD/.local/secret_key"
fi
export DEBUG=${DEBUG:-false}

"$PY" manage.py migrate --noinput -v 0
"$PY" manage.py collectstatic --noinput -v 0
"$PY" manage.py seed_demo
"$PY" manage.py recover_stale_jobs --all  # the embedded job threads died with the last server
# The embedded demo has no beat: book the seeded dividends once (idempotent) before the batch.
"$PY" manage.py run_batch dividends_book --no-progress \
  || echo "WARNING: booking the dividends failed (see /admin/batch/batchjob/)"
"$PY" manage.py run_batch full_portfolio_calculation --no-progress \
  || echo "WARNING: the first batch run failed; the API serves what it could compute (see /admin/batch/batchjob/)"

cat <<TXT

  SigmaSight is running at http://$HOST:$PORT
    API:        http://$HOST:$PORT/api/v1/   (docs: http://$HOST:$PORT/api/v1/docs/)
    Health:     http://$HOST:$PORT/health
    Admin:      http://$HOST:$PORT/admin/
    WebSockets: ws://$HOST:$PORT/ws/signals?token=<access_token>

  Demo logins (password: demo12345)
    demo_individual@sigmasight.com       trader
    demo_hnw@sigmasight.com              trader
    demo_hedgefundstyle@sigmasight.com   trader
    demo_admin@sigmasight.com            admin (Django admin too)

  Try: curl -s -X POST http://$HOST:$PORT/api/v1/auth/login -H 'Content-Type: application/json' \\
         -d '{"email":"demo_hnw@sigmasight.com","password":"demo12345"}'

TXT
exec "$PY" -m sigmasight.serve -b "$HOST" -p "$PORT" sigmasight.asgi:application
