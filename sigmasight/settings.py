"""Django settings, read once from the environment.

Nothing set means the *embedded default*: SQLite, the in-memory channel layer,
the local-memory cache and eager Celery, for a one-command demo. Setting
``DATABASE_URL`` and ``REDIS_URL`` switches to what production runs: PostgreSQL,
the Redis channel layer, a Redis cache and a Celery broker on Redis.

Unsafe production values fail loudly: with ``DEBUG`` off the service refuses to
start on the default secret key.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlparse

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from sigmasight.timefmt import WIRE_DATETIME_FORMAT

BASE_DIR = Path(__file__).resolve().parent.parent
LOCAL_DIR = BASE_DIR / ".local"  # git-ignored: the demo database and generated secret

env = environ.Env()

DEBUG: bool = env.bool("DEBUG", default=False)

INSECURE_DEFAULT_SECRET_KEY = "django-insecure-sigmasight-default-key-do-not-use"

#: Production is a ``DATABASE_URL``; without one this is the embedded default (SQLite).
DATABASE_URL: str = env.str("DATABASE_URL", default="")
#: The key ``make run`` (scripts/run.sh) generates once. The embedded default reads it, so
#: ``manage.py createsuperuser`` works in the demo without exporting anything. Production
#: never falls back to it: a deployment names its key, or it does not start.
LOCAL_SECRET_KEY_FILE = LOCAL_DIR / "secret_key"


def _read_key_file(path: str) -> str:
    try:
        key = Path(path).read_text().strip()
    except OSError as exc:
        raise ImproperlyConfigured(
            f"Refusing to start: SECRET_KEY_FILE {path} cannot be read ({exc.strerror})."
        ) from None
    if not key:
        raise ImproperlyConfigured(f"Refusing to start: SECRET_KEY_FILE {path} is empty.")
    return key


def _read_secret_key() -> str:
    """``SECRET_KEY``, else ``SECRET_KEY_FILE``, else (embedded default only) the generated
    ``.local/secret_key``, else the built-in key, which is refused below unless DEBUG."""
    if key := env.str("SECRET_KEY", default=""):
        return key
    if key_file := env.str("SECRET_KEY_FILE", default=""):
        return _read_key_file(key_file)
    # An empty local file is a half-finished run.sh: as if there were none.
    local_key = LOCAL_SECRET_KEY_FILE.is_file() and LOCAL_SECRET_KEY_FILE.stat().st_size > 0
    if not DATABASE_URL and local_key:
        return _read_key_file(str(LOCAL_SECRET_KEY_FILE))
    return INSECURE_DEFAULT_SECRET_KEY


SECRET_KEY = _read_secret_key()
if not DEBUG and SECRET_KEY == INSECURE_DEFAULT_SECRET_KEY:
    raise ImproperlyConfigured(
        "Refusing to start: DEBUG is off and no SECRET_KEY is set. "
        + (
            "Set SECRET_KEY (or SECRET_KEY_FILE)."
            if DATABASE_URL
            else "Run `make run` once (it generates .local/secret_key), or set SECRET_KEY."
        )
    )

ALLOWED_HOSTS: list[str] = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "django_filters",
    "channels",
    "django_celery_beat",
    "sigmasight",
    "accounts",
    "portfolios",
    "marketdata",
    "risk",
    "signals",
    "trading",
    "batch",
]

MIDDLEWARE = [
    "sigmasight.api.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",  # HSTS on HTTPS, nosniff
    "csp.middleware.CSPMiddleware",
    "sigmasight.api.middleware.RateLimitMiddleware",  # wraps the rest: every answer counts
    "sigmasight.api.middleware.RequestLimitsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "sigmasight.api.middleware.TrailingSlashMiddleware",
    "sigmasight.api.middleware.SecureCookieMiddleware",  # wraps every cookie-setting layer
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "sigmasight.api.middleware.JsonErrorMiddleware",
]

ROOT_URLCONF = "sigmasight.urls"
APPEND_SLASH = False  # both forms of every API path answer; no redirects

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "sigmasight.wsgi.application"
ASGI_APPLICATION = "sigmasight.asgi.application"

# --- Database -------------------------------------------------------------------------------
if DATABASE_URL:
    DATABASES = {"default": env.db("DATABASE_URL")}
    # 0: a connection per request. Django: "When using ASGI, persistent connections should
    # be disabled"; under daphne they are opened in executor threads and pile up rather than
    # being reused. Pool outside Django (pgbouncer) if connecting costs too much.
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=0))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    #: Django's psycopg pool (needs CONN_MAX_AGE 0): each process keeps up to this many
    #: connections open and hands them to requests and jobs in turn, so that a burst of
    #: requests waits for a connection instead of opening one each (and exhausting
    #: PostgreSQL's max_connections). 0 turns the pool off. Size the whole stack:
    #: (web processes + Celery processes + beat) × DB_POOL_MAX_SIZE < max_connections.
    DB_POOL_MAX_SIZE: int = env.int("DB_POOL_MAX_SIZE", default=4)
    if DB_POOL_MAX_SIZE > 0:
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            # Connections kept open while idle: a request that finds none waits for one to
            # be opened (several ms), which under load was a tenth of a light request.
            "min_size": min(
                DB_POOL_MAX_SIZE, env.int("DB_POOL_MIN_SIZE", default=DB_POOL_MAX_SIZE)
            ),
            "max_size": DB_POOL_MAX_SIZE,
            # seconds a request waits for a free connection before it fails (503, logged)
            "timeout": env.float("DB_POOL_TIMEOUT", default=10.0),
        }
else:
    LOCAL_DIR.mkdir(exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env.str("SQLITE_PATH", default=str(LOCAL_DIR / "db.sqlite3")),
            # WAL: a job writing in its background thread doesn't block the requests' reads.
            # IMMEDIATE: a transaction takes the write lock when it begins, waiting up to
            # the timeout for it. A deferred one that reads, then writes after another
            # connection's commit, fails at once with "database is locked" (SQLite cannot
            # wait there without a deadlock): the exit monitor's row-locked passes did.
            "OPTIONS": {
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL;",
                "transaction_mode": "IMMEDIATE",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, channel layer, Celery broker ---------------------------------------------
REDIS_URL: str = env.str("REDIS_URL", default="")
CACHE_KEY_PREFIX: str = env.str("CACHE_KEY_PREFIX", default="sigmasight")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "sigmasight.cache.SharedPoolRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }
    #: Redis connections each web process's channel layer may hold: a burst of socket
    #: connects waits for one (CHANNEL_REDIS_POOL_TIMEOUT seconds) instead of failing.
    #: Size the stack: web processes × this + Celery stays well under Redis's maxclients.
    CHANNEL_REDIS_MAX_CONNECTIONS: int = env.int("CHANNEL_REDIS_MAX_CONNECTIONS", default=50)
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "sigmasight.channel_layer.PooledRedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": REDIS_URL}],
                "prefix": f"{CACHE_KEY_PREFIX}:asgi",
                "max_connections": CHANNEL_REDIS_MAX_CONNECTIONS,
                "pool_timeout": env.float("CHANNEL_REDIS_POOL_TIMEOUT", default=20.0),
            },
        }
    }
    #: "pubsub" (default): channels-redis's Redis pub/sub layer, one publish per group send
    #: fanned out by each process (half the delivery latency of the list-based layer at
    #: 1,000 sockets when last compared: docs/market.md); "pooled": the list-based layer above.
    CHANNEL_LAYER_KIND: str = env.str("CHANNEL_LAYER_KIND", default="pubsub")
    if CHANNEL_LAYER_KIND == "pubsub":
        # Pub/sub channels belong to the whole Redis server, not to the URL's database: two
        # stacks on one server (a test run beside a demo, on /9 and /5) would hear each
        # other's groups without the database in the prefix.
        _redis_db = (urlparse(REDIS_URL).path.strip("/") or "0").split("/")[0]
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {
                    "hosts": [REDIS_URL],
                    "prefix": f"{CACHE_KEY_PREFIX}:db{_redis_db}:asgi",
                },
            }
        }
    elif CHANNEL_LAYER_KIND != "pooled":
        raise ImproperlyConfigured("CHANNEL_LAYER_KIND must be pooled or pubsub")
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL: str = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND: str | None = (
    env.str("CELERY_RESULT_BACKEND", default=REDIS_URL or "") or None
)
CELERY_TASK_ALWAYS_EAGER: bool = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
# A pool child killed mid-task (OOM, kill -9) gives its message back instead of acking it.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
#: Seconds an unacknowledged message stays with its worker before Redis hands it to
#: another: above the longest job (else a long job would run twice). A worker that dies
#: outright is found sooner by the job heartbeat (BATCH_HEARTBEAT_SECONDS).
BATCH_VISIBILITY_TIMEOUT: int = env.int("BATCH_VISIBILITY_TIMEOUT", default=6 * 3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": BATCH_VISIBILITY_TIMEOUT}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": BATCH_VISIBILITY_TIMEOUT}
#: A running job writes a heartbeat this often (seconds); one whose heartbeat is older than
#: BATCH_STALE_AFTER_SECONDS has lost its worker and is re-queued (at most
#: BATCH_MAX_LOST_ATTEMPTS times, then failed) by the minutely recover_stale_jobs task.
BATCH_HEARTBEAT_SECONDS: int = env.int("BATCH_HEARTBEAT_SECONDS", default=15)
BATCH_STALE_AFTER_SECONDS: int = env.int("BATCH_STALE_AFTER_SECONDS", default=120)
BATCH_MAX_LOST_ATTEMPTS: int = env.int("BATCH_MAX_LOST_ATTEMPTS", default=3)
CELERY_TIMEZONE = "America/New_York"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]

# --- Auth -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.password_validation.PublicDemoPasswordValidator"},
]
REGISTRATION_OPEN: bool = env.bool("REGISTRATION_OPEN", default=True)
ACCESS_TOKEN_LIFETIME = timedelta(seconds=env.int("ACCESS_TOKEN_LIFETIME_SECONDS", default=3600))
REFRESH_TOKEN_LIFETIME = timedelta(
    seconds=env.int("REFRESH_TOKEN_LIFETIME_SECONDS", default=30 * 86400)
)
AUTH_COOKIE_NAME = "access_token"
# Cookies are Secure on HTTPS requests and not on plain HTTP (SecureCookieMiddleware);
# true forces Secure on plain HTTP as well, for a TLS proxy that cannot say it is one.
AUTH_COOKIE_SECURE: bool = env.bool("AUTH_COOKIE_SECURE", default=False)

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": ACCESS_TOKEN_LIFETIME,
    "REFRESH_TOKEN_LIFETIME": REFRESH_TOKEN_LIFETIME,
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "SIGNING_KEY": SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
}

# --- REST framework ---------------------------------------------------------------------------
RATE_LIMITS: dict[str, int] = {  # requests per minute, per user or per IP
    "auth": env.int("RATE_LIMIT_AUTH", default=10),
    "market": env.int("RATE_LIMIT_MARKET", default=100),
    "trading": env.int("RATE_LIMIT_TRADING", default=50),
    "analytics": env.int("RATE_LIMIT_ANALYTICS", default=20),
    "global": env.int("RATE_LIMIT_GLOBAL", default=1000),
    "websocket": env.int("RATE_LIMIT_WEBSOCKET", default=1000),
}
#: Seconds between the heartbeat messages every WebSocket gets (API-CONVENTIONS).
WEBSOCKET_HEARTBEAT_SECONDS: int = env.int("WEBSOCKET_HEARTBEAT_SECONDS", default=30)
#: Seconds a heavy read's body is kept (sigmasight.api.response_cache); its key holds the
#: versions of everything it depends on, so a write, a quote or a job invalidates it at
#: once and this only bounds what no version tracks. 0 turns the cache off.
RESPONSE_CACHE_SECONDS: int = env.int("RESPONSE_CACHE_SECONDS", default=60)
RATE_LIMIT_WINDOW_SECONDS = 60  # the sliding window the limits above are counted over
RATE_LIMIT_KEY_PREFIX: str = env.str("RATE_LIMIT_KEY_PREFIX", default="rl")
NUM_PROXIES: int = env.int("NUM_PROXIES", default=0)  # trusted hops in X-Forwarded-For

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.SessionJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["sigmasight.api.permissions.IsViewer"],
    "DEFAULT_THROTTLE_CLASSES": ["sigmasight.api.throttling.GlobalRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "sigmasight.api.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "sigmasight.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["sigmasight.api.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "COERCE_DECIMAL_TO_STRING": False,
    "DATETIME_FORMAT": WIRE_DATETIME_FORMAT,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "NUM_PROXIES": NUM_PROXIES or None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "SigmaSight API",
    "DESCRIPTION": (
        "Portfolio risk analytics (SigmaSight v1.4.5) and 0DTE options signals and paper "
        "trading (Smart-0DTE), served by one service. Units follow each field's description."
    ),
    "VERSION": "1.4.5",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",  # served locally: the docs work without internet
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No badge from validator.swagger.io: the docs call nothing outside (and the CSP agrees).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
}

# --- Market data and risk ---------------------------------------------------------------------
RISK_FREE_RATE: float = env.float("RISK_FREE_RATE", default=0.04)
# An option quote gives its own implied volatility only with a mid of at least this many
# dollars per share and a spread of at most this fraction of the mid; otherwise the chain's
# IV interpolated in strike is used (RISK-MODEL.md, "A one-tick quote is not an IV").
OPTION_IV_MIN_PRICE: float = env.float("OPTION_IV_MIN_PRICE", default=0.05)
OPTION_IV_MAX_SPREAD_FRACTION: float = env.float("OPTION_IV_MAX_SPREAD_FRACTION", default=0.5)
MARKET_DATA_PROVIDERS: list[str] = env.list("MARKET_DATA_PROVIDERS", default=["simulated"])
# The 0DTE market clock (marketdata.clock; API-CONVENTIONS "Market clock"): "live" follows
# the NYSE session, "replay" runs MARKET_REPLAY_DATE (default: the latest completed session)
# from its open at MARKET_REPLAY_SPEED times real time, then repeats it or stays closed.
MARKET_CLOCK: str = env.str("MARKET_CLOCK", default="live")
if MARKET_CLOCK not in ("live", "replay"):
    raise ImproperlyConfigured(f"MARKET_CLOCK must be live or replay, not {MARKET_CLOCK!r}")
MARKET_REPLAY_DATE: str = env.str("MARKET_REPLAY_DATE", default="")  # YYYY-MM-DD
if MARKET_REPLAY_DATE:
    try:
        date.fromisoformat(MARKET_REPLAY_DATE)
    except ValueError as error:
        raise ImproperlyConfigured(f"MARKET_REPLAY_DATE: {error}") from error
MARKET_REPLAY_SPEED: float = env.float("MARKET_REPLAY_SPEED", default=60.0)
if MARKET_REPLAY_SPEED <= 0:
    raise ImproperlyConfigured("MARKET_REPLAY_SPEED must be positive")
MARKET_REPLAY_REPEAT: bool = env.bool("MARKET_REPLAY_REPEAT", default=True)
# The market producer (marketdata.producer): seconds between ticks, the lease that keeps
# it to one per clock, and whether it runs as a thread of the web server (the embedded
# default, whose in-memory channel layer only that process sees) or as `run_market`.
MARKET_TICK_SECONDS: float = env.float("MARKET_TICK_SECONDS", default=1.0)
MARKET_PRODUCER_LEASE_SECONDS: int = env.int("MARKET_PRODUCER_LEASE_SECONDS", default=30)
MARKET_PRODUCER_EMBEDDED: bool = env.bool("MARKET_PRODUCER_EMBEDDED", default=not REDIS_URL)
# 0DTE chain snapshots the producer stores (marketdata.ChainSnapshot): every this many
# market minutes, kept this many days.
# 0DTE signals (docs/signals.md): generated every SIGNAL_CADENCE_MINUTES market minutes from
# SIGNAL_FIRST_MINUTE after the open while signals can still live; each expires (and its
# time exit falls) SIGNAL_EXPIRY_MINUTES_BEFORE_CLOSE minutes before the close.
SIGNAL_CADENCE_MINUTES: int = max(1, env.int("SIGNAL_CADENCE_MINUTES", default=15))
SIGNAL_FIRST_MINUTE: int = max(5, env.int("SIGNAL_FIRST_MINUTE", default=30))
SIGNAL_EXPIRY_MINUTES_BEFORE_CLOSE: int = max(
    1, env.int("SIGNAL_EXPIRY_MINUTES_BEFORE_CLOSE", default=15)
)
# |direction score| above which a signal is bullish or bearish (else neutral).
SIGNAL_DIRECTION_THRESHOLD: float = env.float("SIGNAL_DIRECTION_THRESHOLD", default=0.25)
SIGNAL_CHAIN_STRIKES: int = max(5, env.int("SIGNAL_CHAIN_STRIKES", default=15))
# The default trading config (the 0DTE spec's /trading/config example): signals are
# market-wide, so their entry criteria use it; each user's execution sizes with their own.
TRADING_DEFAULT_POSITION_SIZE: int = env.int("TRADING_DEFAULT_POSITION_SIZE", default=24000)
TRADING_DEFAULT_PROFIT_TARGET: float = env.float("TRADING_DEFAULT_PROFIT_TARGET", default=0.10)
TRADING_DEFAULT_STOP_LOSS: float = env.float("TRADING_DEFAULT_STOP_LOSS", default=0.10)
TRADING_DEFAULT_CONFIDENCE_THRESHOLD: float = env.float(
    "TRADING_DEFAULT_CONFIDENCE_THRESHOLD", default=0.65
)
TRADING_DEFAULT_AUTO_EXECUTE: bool = env.bool("TRADING_DEFAULT_AUTO_EXECUTE", default=False)
TRADING_DEFAULT_MAX_POSITIONS: int = env.int("TRADING_DEFAULT_MAX_POSITIONS", default=10)
TRADING_DEFAULT_DAILY_LOSS_LIMIT: int = env.int("TRADING_DEFAULT_DAILY_LOSS_LIMIT", default=2400)
# The registered live broker that executes live mode ("" = none: live mode is refused).
TRADING_LIVE_BROKER: str = env.str("TRADING_LIVE_BROKER", default="")
# The 0DTE paper portfolio's starting cash, dollars (API-CONVENTIONS, Money).
PAPER_STARTING_CASH: int = env.int("PAPER_STARTING_CASH", default=100_000)
# A fill needs a chain quote at most this old (market seconds); older rejects the package.
TRADING_QUOTE_MAX_AGE_SECONDS: int = env.int("TRADING_QUOTE_MAX_AGE_SECONDS", default=120)
# An order arriving at market time t fills off the quote in force at t + this many
# milliseconds (market time; the quote's age counts from then). 0 by default: the paper
# broker fills at the quote in force when the order arrives; a user modelling a retail
# route's delay sets e.g. 250.
TRADING_FILL_LATENCY_MS: int = env.int("TRADING_FILL_LATENCY_MS", default=0)
if TRADING_FILL_LATENCY_MS < 0:
    raise ImproperlyConfigured("TRADING_FILL_LATENCY_MS is a delay: 0 or more milliseconds")
# Each fill takes at most the displayed size on its side of the quote. What happens to the
# rest (TRADING_REMAINDER, docs/trading.md): "cancel" (the default, like an immediate-or-
# cancel order) cancels it; "rest" leaves it working at the filled part's net price, filled
# by the monitor when the opposite side of the quote reaches that price (an entry's
# remainder joins its strategy position; a close's rests as a limit close).
TRADING_CAP_AT_DISPLAYED_SIZE: bool = env.bool("TRADING_CAP_AT_DISPLAYED_SIZE", default=True)
TRADING_REMAINDER: str = env.str("TRADING_REMAINDER", default="cancel")
# The halt ladder's daily-loss rungs (docs/trading.md, Risk states): a day's loss of this
# share of the user's daily_loss_limit moves the account to REDUCING, the whole limit to
# HALTED.
RISK_DAILY_LOSS_REDUCING_SHARE: float = env.float("RISK_DAILY_LOSS_REDUCING_SHARE", default=0.8)
if not 0 < RISK_DAILY_LOSS_REDUCING_SHARE <= 1:
    raise ImproperlyConfigured("RISK_DAILY_LOSS_REDUCING_SHARE is a share of the limit: (0, 1]")
# The market's emergency thresholds (/risk/regime's emergency_thresholds): the VIX at or
# above RISK_VIX_EMERGENCY, the 20-bar SPY_QQQ correlation below RISK_CORRELATION_BREAKDOWN,
# or a ticker's minute volume RISK_VOLUME_SPIKE times that minute's mean over the past
# MARKET_MINUTE_HISTORY_SESSIONS sessions moves every ACTIVE account to REDUCING.
RISK_VIX_EMERGENCY: float = env.float("RISK_VIX_EMERGENCY", default=35.0)
RISK_CORRELATION_BREAKDOWN: float = env.float("RISK_CORRELATION_BREAKDOWN", default=0.3)
RISK_VOLUME_SPIKE: float = env.float("RISK_VOLUME_SPIKE", default=3.0)
# Protections (in the manner of Freqtrade's CooldownPeriod and StoplossGuard): after a
# stop-loss exit no new entry for RISK_STOP_LOSS_COOLDOWN_MINUTES; after
# RISK_LOSS_STREAK losing positions in a row, none for RISK_LOSS_STREAK_PAUSE_MINUTES
# (0 turns either off). Market minutes.
RISK_STOP_LOSS_COOLDOWN_MINUTES: int = max(
    0, env.int("RISK_STOP_LOSS_COOLDOWN_MINUTES", default=15)
)
RISK_LOSS_STREAK: int = max(0, env.int("RISK_LOSS_STREAK", default=3))
RISK_LOSS_STREAK_PAUSE_MINUTES: int = max(0, env.int("RISK_LOSS_STREAK_PAUSE_MINUTES", default=60))
if TRADING_REMAINDER not in ("cancel", "rest"):
    raise ImproperlyConfigured("TRADING_REMAINDER is cancel or rest")
# The exit monitor closes every open 0DTE position this many minutes before the close
# (15:45 ET, 12:45 on early closes).
TRADING_TIME_EXIT_MINUTES_BEFORE_CLOSE: int = max(
    1, env.int("TRADING_TIME_EXIT_MINUTES_BEFORE_CLOSE", default=15)
)
# Pin risk (docs/trading.md): a short strike within TRADING_PIN_RISK_DISTANCE (a fraction
# of spot) of the underlying flags its position from TRADING_PIN_RISK_MINUTES_BEFORE_CLOSE
# before the close. 0.001 is about $0.60 on SPY near 600 and $0.22 on IWM near 220: a little
# over half of SPY's $1 strike interval, so the short strike at the money is flagged and one
# a whole strike away is not. 30 minutes (15:30 ET, 12:30 on early closes) leaves a quarter
# of an hour to act before the time exit at 15:45; held-to-expiry positions stay flagged to
# the close.
TRADING_PIN_RISK_DISTANCE: float = env.float("TRADING_PIN_RISK_DISTANCE", default=0.001)
TRADING_PIN_RISK_MINUTES_BEFORE_CLOSE: int = max(
    1, env.int("TRADING_PIN_RISK_MINUTES_BEFORE_CLOSE", default=30)
)
# Fees booked per fill (trading/engine/fees.py). The regulatory rates change from year to
# year: each default is the rate in force on 2026-12-03, with its source and effective date.
# none | per_contract ($0.65, $0.50 below $0.10, $0.25 below $0.05, $1 min per order) |
# flat_1 | flat_035 (dollars a contract).
TRADING_COMMISSION_PRESET: str = env.str("TRADING_COMMISSION_PRESET", default="per_contract")
# OCC clearing fee, $ per contract, buys and sells: OCC Schedule of Fees, SR-OCC-2025-002
# (90 FR 10518), effective 2025-02-14 ($0.02 → $0.025, the $55 per-trade cap removed).
FEE_OCC_PER_CONTRACT: str = env.str("FEE_OCC_PER_CONTRACT", default="0.025")
# Options regulatory fee, $ per contract, buys and sells. Since 2026-07-01 each exchange
# charges its own on its executions (Cboe $0.01248, MIAX $0.017, Nasdaq NOM $0.02; e.g.
# SR-CBOE-2025-086); $0.02 is what retail brokers pass through (tastytrade, 2026).
FEE_ORF_PER_CONTRACT: str = env.str("FEE_ORF_PER_CONTRACT", default="0.02")
# FINRA trading activity fee, $ per option contract sold, no cap: FINRA By-Laws Schedule A
# section 1 as raised by SR-FINRA-2024-019, effective 2026-01-01. (A $0.00 pause for
# 2026-10-01..12-31 is reported, SR-FINRA-2026-021; set 0 here once confirmed.)
FEE_FINRA_TAF_PER_CONTRACT: str = env.str("FEE_FINRA_TAF_PER_CONTRACT", default="0.00329")
# SEC Section 31 fee, $ per million of sale proceeds: SEC Release 34-104909, "Order Making
# Fiscal Year 2026 Annual Adjustments to Transaction Fee Rates" (91 FR 10643), effective
# 2026-04-04 ($0.00 from 2025-05-14 to 2026-04-03).
FEE_SEC_PER_MILLION: str = env.str("FEE_SEC_PER_MILLION", default="20.60")
# Fills cross the whole spread instead of the leg-count schedule (signals/engine/fills.py).
FILL_PESSIMISTIC: bool = env.bool("FILL_PESSIMISTIC", default=False)
for _name in ("TRADING_DEFAULT_PROFIT_TARGET", "TRADING_DEFAULT_STOP_LOSS"):
    if not 0 < globals()[_name] < 10:
        raise ImproperlyConfigured(f"{_name} is a positive fraction of the package's cost")
if not 0 <= TRADING_DEFAULT_CONFIDENCE_THRESHOLD <= 1:
    raise ImproperlyConfigured("TRADING_DEFAULT_CONFIDENCE_THRESHOLD lies in [0, 1]")
if not 0 < TRADING_PIN_RISK_DISTANCE < 1:
    raise ImproperlyConfigured("TRADING_PIN_RISK_DISTANCE is a positive fraction of spot")
# Whole past sessions of minute bars the producer keeps stored (relative volume by minute).
MARKET_MINUTE_HISTORY_SESSIONS: int = max(0, env.int("MARKET_MINUTE_HISTORY_SESSIONS", default=10))
CHAIN_SNAPSHOT_MINUTES: int = max(1, env.int("CHAIN_SNAPSHOT_MINUTES", default=1))
CHAIN_SNAPSHOT_RETENTION_DAYS: int = max(1, env.int("CHAIN_SNAPSHOT_RETENTION_DAYS", default=5))
# The VIX regime (marketdata.engine.correlation): the upper VIX bounds of low, normal and
# high volatility, and per regime (low, normal, high, extreme) the adaptation factor (also
# the position-size multiplier), the confidence-threshold bump and the stop tightening.
REGIME_VIX_THRESHOLDS: list[float] = env.list(
    "REGIME_VIX_THRESHOLDS", cast=float, default=[15.0, 25.0, 35.0]
)
REGIME_ADAPTATION: list[float] = env.list(
    "REGIME_ADAPTATION", cast=float, default=[1.2, 1.0, 0.7, 0.5]
)
REGIME_CONFIDENCE_BUMP: list[float] = env.list(
    "REGIME_CONFIDENCE_BUMP", cast=float, default=[0.0, 0.0, 0.05, 0.10]
)
REGIME_STOP_TIGHTENING: list[float] = env.list(
    "REGIME_STOP_TIGHTENING", cast=float, default=[1.0, 1.0, 0.8, 0.6]
)
if len(REGIME_VIX_THRESHOLDS) != 3 or sorted(REGIME_VIX_THRESHOLDS) != REGIME_VIX_THRESHOLDS:
    raise ImproperlyConfigured("REGIME_VIX_THRESHOLDS must be three rising VIX levels")
for _name in ("REGIME_ADAPTATION", "REGIME_CONFIDENCE_BUMP", "REGIME_STOP_TIGHTENING"):
    if len(globals()[_name]) != 4:
        raise ImproperlyConfigured(f"{_name} needs one value per regime (four)")
MARKET_DATA_HISTORY_YEARS: int = env.int(
    "MARKET_DATA_HISTORY_YEARS", default=3
)  # bars kept in the DB
MARKET_DATA_CSV_DIR: str = env.str("MARKET_DATA_CSV_DIR", default="")  # <SYMBOL>.csv files
RISK_LOOKBACK_DAYS: int = env.int("RISK_LOOKBACK_DAYS", default=252)  # VaR, performance
FACTOR_WINDOW_DAYS: int = max(60, env.int("FACTOR_WINDOW_DAYS", default=252))  # regression window
# Positions whose inputs one batch run keeps in memory to share between its steps
# (risk.book.SharedReads); portfolios beyond it are read again by each step.
RISK_SHARED_READS_MAX_POSITIONS: int = env.int("RISK_SHARED_READS_MAX_POSITIONS", default=200_000)
# Threads for the numpy engines' independent blocks (pricing, Monte Carlo paths): numpy
# releases the GIL, so one large portfolio's calculation uses every core. Default: the
# cores this process may run on.
RISK_ENGINE_THREADS: int = env.int("RISK_ENGINE_THREADS", default=len(os.sched_getaffinity(0)))
FACTOR_MIN_OBSERVATIONS: int = 60
FACTOR_RIDGE: float = env.float("FACTOR_RIDGE", default=0.0)  # penalty in squared daily returns
MONTE_CARLO_PATHS: int = env.int("MONTE_CARLO_PATHS", default=10_000)
SIMULATION_SEED: int = env.int("SIMULATION_SEED", default=20240101)
FMP_API_KEY: str = env.str("FMP_API_KEY", default="")
POLYGON_API_KEY: str = env.str("POLYGON_API_KEY", default="")

# --- I18N, static -----------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / ".local" / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise expects it even before collectstatic
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    # Report files of POST /export/reports/portfolio/{id} (risk.models.PortfolioReport).
    "reports": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": env.str("REPORTS_ROOT", default=str(LOCAL_DIR / "reports"))},
    },
}
# How long a finished report file can be downloaded; the hourly cleanup deletes it after.
REPORT_RETENTION_HOURS: int = env.int("REPORT_RETENTION_HOURS", default=72)


# --- HTTP security (docs/security.md) ----------------------------------------------------------
# Behind a TLS proxy, the header it sets on HTTPS requests, e.g. "X-Forwarded-Proto" (value
# "https") or "X-Forwarded-Ssl=on". Off by default: a client could send it itself.
def _proxy_ssl_header(value: str) -> tuple[str, str] | None:
    if not value.strip():
        return None
    name, _, expected = value.partition("=")
    meta_name = "HTTP_" + name.strip().upper().replace("-", "_")
    return meta_name, expected.strip() or "https"


SECURE_PROXY_SSL_HEADER = _proxy_ssl_header(env.str("SECURE_PROXY_SSL_HEADER", default=""))
# HSTS goes out on HTTPS responses only (Django's SecurityMiddleware); seconds.
SECURE_HSTS_SECONDS: int = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS: bool = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD: bool = env.bool("SECURE_HSTS_PRELOAD", default=False)
# The per-request rule of SecureCookieMiddleware adds Secure on HTTPS; these stay the floor.
SESSION_COOKIE_SECURE = AUTH_COOKIE_SECURE
CSRF_COOKIE_SECURE = AUTH_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Request size limits (RequestLimitsMiddleware, and the server launcher sigmasight/serve.py).
MAX_REQUEST_HEADER_BYTES: int = env.int("MAX_REQUEST_HEADER_BYTES", default=16_384)  # → 431
MAX_REQUEST_BODY_BYTES: int = env.int("MAX_REQUEST_BODY_BYTES", default=2_621_440)  # → 413
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES  # Django's own check agrees

# Content-Security-Policy (django-csp) for every response: the admin and the API docs
# load only their own static files; the docs use SpectacularSwaggerSplitView and a
# template without inline style, so no inline script or style is allowed anywhere.
# CSP_REPORT_ONLY=true sends it as Content-Security-Policy-Report-Only (nothing blocked).
_CSP = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],  # Swagger UI's icons are data: SVGs
        "font-src": [SELF],
        "connect-src": [SELF],  # Swagger UI fetches the schema and tries requests
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
if env.bool("CSP_REPORT_ONLY", default=False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _CSP
else:
    CONTENT_SECURITY_POLICY = _CSP

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "sigmasight.api.request_id.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}


#: The one-command demo stack (no external services): SQLite, in-memory layers, eager Celery.
EMBEDDED: bool = not REDIS_URL and DATABASES["default"]["ENGINE"].endswith("sqlite3")
#: Where a started job runs when there is no worker: in a background thread of the one
#: server process (the embedded default), so the request that starts it answers at once.
BATCH_RUN_IN_THREAD: bool = env.bool("BATCH_RUN_IN_THREAD", default=EMBEDDED)
