#!/usr/bin/env bash
# The embedded demo: SQLite, in-memory channel layer, local-memory cache, eager Celery.
# DEBUG stays off, as in production; the secret key is generated once into .local/.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
PY="$VENV/bin/python"

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
