"""Configuration: one documented set of defaults; environment variables override them;
tests pass a mapping to create_app."""

import json
import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DEFAULTS = {
    # `production` (ECOFLOW_ENV): start-up refuses what would be unsafe there (see check_production),
    # and the session cookie is sent over HTTPS only.
    "ENV_NAME": "development",
    # Load the address tables when the app is made (make run), not on the first complaint; gunicorn's
    # workers do it in gunicorn.conf.py.
    "WARM_UP": False,
    # SQLite under instance/ unless DATABASE_URL names another database (PostgreSQL in production,
    # e.g. postgresql+psycopg://user@host:5432/ecoflow).
    "SQLALCHEMY_DATABASE_URI": None,
    # A failed statement's error (and so the log) never shows the values it carried: a phone, an address.
    "SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True},
    # Signs API tokens. Read from SECRET_KEY; without it, a random key is kept in instance/secret_key.
    "SECRET_KEY": None,
    # Where the norm and the schema migrations live.
    "WORKFLOWS_DIR": str(ROOT / "workflows"),
    "MIGRATIONS_DIR": str(ROOT / "migrations"),
    # werkzeug's password hashing scheme.
    "PASSWORD_HASH_METHOD": "scrypt",
    # How long an API token is valid, in seconds.
    "TOKEN_TTL_SECONDS": 12 * 3600,
    # How long a worker process trusts what it last read of an officer who presents a token (roles,
    # active, password), in seconds; 0 reads it on every request. A change committed in a process
    # takes effect there at once, in the other processes within this time.
    "OFFICER_CACHE_SECONDS": 10,
    # Run the scheduled jobs (the sweep, notices) inside this process: for the development
    # server only; in production run `flask --app wsgi ecoflow scheduler` as its own process.
    "SCHEDULER_IN_PROCESS": False,
    "SCHEDULER_INTERVAL_SECONDS": 60,
    # Where notices go besides the inbox: an import path to a class with send(notification).
    "NOTIFICATION_SENDER": "ecoflow.notifications.senders:LoggingSender",
    # The public case lookup, per client address (Flask-Limiter syntax). Counted in this process's
    # memory unless RATELIMIT_STORAGE_URI names a shared store (e.g. redis://...) for several workers.
    "LOOKUP_RATE_LIMIT": "10 per minute;100 per day",
    # Tries to log in or change a password, per client address, web and API together (on top of the
    # lockout per account). Empty: no limit.
    "LOGIN_RATE_LIMIT": "30 per minute;300 per hour",
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": True,
    # Attachments (证据材料): where their files are kept, content-addressed. `local`: under EVIDENCE_DIR
    # (default instance/evidence). Accepted types and size limits per kind: workflows/evidence.yaml.
    # `s3`: in the bucket EVIDENCE_S3_BUCKET of an S3-compatible store (EVIDENCE_S3_ENDPOINT_URL unless
    # AWS itself), under EVIDENCE_S3_PREFIX; its credentials as boto3 finds them (AWS_ACCESS_KEY_ID ...).
    "EVIDENCE_STORAGE": "local",
    "EVIDENCE_DIR": None,
    "EVIDENCE_S3_BUCKET": None,
    "EVIDENCE_S3_ENDPOINT_URL": None,
    "EVIDENCE_S3_PREFIX": "evidence/",
    # Larger request bodies are refused with 413 (an upload: the limit of its kind, evidence.yaml); a
    # batch of envelopes from a peer may be larger.
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "EXCHANGE_MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    # Envelopes that fail before their signature is verified, per address and minute, before the address
    # is answered 429 (an address that sent a verified envelope in the last hour never is).
    "EXCHANGE_REFUSALS_PER_MINUTE": 100,
    # The exchange (docs/exchange.md). The bureaus this instance speaks for: all of the catalog
    # (the unified platform) unless named, e.g. ["HE"] for Hebei's own instance.
    "EXCHANGE_BUREAUS": None,
    # Where each hosted bureau's Ed25519 private key lives (<code>.pem; made on first start when
    # missing); default instance/exchange_keys. Never in the repository.
    "EXCHANGE_KEYS_DIR": None,
    # The peers registry: {"HE": {"url": "https://...", "public_key": "<base64>"}}.
    "EXCHANGE_PEERS": {},
    # Delivery: every EXCHANGE_INTERVAL_SECONDS, up to EXCHANGE_BATCH envelopes per POST and up to
    # EXCHANGE_CONCURRENCY POSTs to a peer at once (messages about one case in one of them); a failed
    # message waits BACKOFF * 2^(attempts-1) (at most BACKOFF_MAX, less up to half of it as jitter)
    # and is dead-lettered after MAX_ATTEMPTS.
    "EXCHANGE_INTERVAL_SECONDS": 10,
    "EXCHANGE_BATCH": 200,
    "EXCHANGE_CONCURRENCY": 2,
    "EXCHANGE_BACKOFF_SECONDS": 10,
    "EXCHANGE_BACKOFF_MAX_SECONDS": 3600,
    "EXCHANGE_MAX_ATTEMPTS": 10,
    "EXCHANGE_TIMEOUT_SECONDS": 10,
    # How long an officer's screen waits for a peer's answer (history), in seconds.
    "EXCHANGE_QUERY_TIMEOUT_SECONDS": 3,
    # A message sent further from our clock than this is refused.
    "EXCHANGE_MAX_CLOCK_SKEW_SECONDS": 300,
    # SMS to complainants (receipt, answer, closure): JSON {to, text} POSTed here through the outbox;
    # unset, they are written to the log. The lookup page's address, as the receipt gives it.
    "SMS_GATEWAY_URL": None,
    "PUBLIC_LOOKUP_URL": None,
    # Where citizens reach this app (https://…, no trailing slash): the 答复 SMS's survey link is
    # PUBLIC_URL/s/<token>, working SURVEY_VALID_DAYS (natural days) and once.
    "PUBLIC_URL": None,
    "SURVEY_VALID_DAYS": 7,
    # A hotline centre's call is refused when its signed timestamp is further than this from now.
    "CENTRE_SIGNATURE_WINDOW_SECONDS": 300,
    # The links to the reply's attachments in a 回单 work this many days.
    "CENTRE_FILE_LINK_DAYS": 14,
    # A photo published with a typical case goes to the peers inside exposure.publish up to this size.
    "EXPOSURE_PEER_PHOTO_MAX_BYTES": 2 * 1024 * 1024,
    # Keys the hash of complainants' phone numbers that matches them across bureaus (信访大数据共享):
    # the three bureaus must share it. Default: derived from SECRET_KEY (enough for one instance).
    "HISTORY_KEY": None,
    # The officers' web pages: a session ends after this long without a request.
    "PERMANENT_SESSION_LIFETIME": 30 * 60,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    # This many wrong passwords in a row lock the account (web and API) for LOGIN_LOCKOUT_SECONDS.
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_LOCKOUT_SECONDS": 15 * 60,
    # 案件查询 counts the matching cases exactly up to this many; beyond it the API answers this number
    # with total_is_lower_bound true and the page says "more than". 0: always count exactly (slow on a
    # million cases when a common word matches tens of thousands).
    "SEARCH_COUNT_CAP": 10000,
    # The officer UI's language and time zone (message catalogues in ecoflow/translations/).
    "BABEL_DEFAULT_LOCALE": "zh_CN",
    "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
}

ENVIRONMENT = {
    "ECOFLOW_ENV": "ENV_NAME",
    "ECOFLOW_WARM_UP": "WARM_UP",
    "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "SECRET_KEY": "SECRET_KEY",
    "ECOFLOW_WORKFLOWS_DIR": "WORKFLOWS_DIR",
    "ECOFLOW_SCHEDULER": "SCHEDULER_IN_PROCESS",
    "ECOFLOW_NOTIFICATION_SENDER": "NOTIFICATION_SENDER",
    "ECOFLOW_LOOKUP_RATE_LIMIT": "LOOKUP_RATE_LIMIT",
    "ECOFLOW_LOGIN_RATE_LIMIT": "LOGIN_RATE_LIMIT",
    "RATELIMIT_STORAGE_URI": "RATELIMIT_STORAGE_URI",
    "ECOFLOW_EXCHANGE_KEYS_DIR": "EXCHANGE_KEYS_DIR",
    "ECOFLOW_EVIDENCE_STORAGE": "EVIDENCE_STORAGE",
    "ECOFLOW_EVIDENCE_DIR": "EVIDENCE_DIR",
    "ECOFLOW_EVIDENCE_S3_BUCKET": "EVIDENCE_S3_BUCKET",
    "ECOFLOW_EVIDENCE_S3_ENDPOINT_URL": "EVIDENCE_S3_ENDPOINT_URL",
    "ECOFLOW_HISTORY_KEY": "HISTORY_KEY",
    "SMS_GATEWAY_URL": "SMS_GATEWAY_URL",
    "ECOFLOW_PUBLIC_LOOKUP_URL": "PUBLIC_LOOKUP_URL",
    "ECOFLOW_PUBLIC_URL": "PUBLIC_URL",
    "ECOFLOW_SURVEY_VALID_DAYS": "SURVEY_VALID_DAYS",
}


def load_config(app, overrides=None):
    """Fill app.config from the defaults, the environment, the JSON file ECOFLOW_CONFIG names
    (one bureau's instance: its bureau, keys and peers), then `overrides`."""
    app.config.from_mapping(DEFAULTS)
    for variable, key in ENVIRONMENT.items():
        if os.environ.get(variable):
            app.config[key] = os.environ[variable]
    if os.environ.get("ECOFLOW_BUREAUS"):
        app.config["EXCHANGE_BUREAUS"] = os.environ["ECOFLOW_BUREAUS"].split(",")
    if os.environ.get("ECOFLOW_CONFIG"):
        app.config.from_file(os.environ["ECOFLOW_CONFIG"], load=json.load)
    for flag in ("SCHEDULER_IN_PROCESS", "WARM_UP"):
        if isinstance(app.config[flag], str):
            app.config[flag] = app.config[flag].lower() in ("1", "true", "yes")
    app.config.from_mapping(overrides or {})
    if app.config["ENV_NAME"] == "production":
        check_production(app.config)
        app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)
    instance = Path(app.instance_path)
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        instance.mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'ecoflow.sqlite'}"
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret(instance / "secret_key")
    if not app.config["EVIDENCE_DIR"]:
        app.config["EVIDENCE_DIR"] = str(instance / "evidence")
    if not app.config["EXCHANGE_KEYS_DIR"]:
        app.config["EXCHANGE_KEYS_DIR"] = str(instance / "exchange_keys")
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith(("postgres://", "postgresql://")):
        # psycopg 3 is the driver we ship.
        app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri.split("://", 1)[1]


class ProductionConfigError(RuntimeError):
    """A production start refused: the message names the setting."""


def check_production(config):
    """Refuse a production start without the secrets it needs (nothing is generated into instance/)."""
    if not config["SECRET_KEY"]:
        raise ProductionConfigError(
            "ECOFLOW_ENV=production needs SECRET_KEY (a long random string) in the environment."
        )
    if config["EXCHANGE_PEERS"] and not config["HISTORY_KEY"]:
        raise ProductionConfigError(
            "ECOFLOW_ENV=production with EXCHANGE_PEERS needs HISTORY_KEY (ECOFLOW_HISTORY_KEY), "
            "the same in every bureau"
        )


def _instance_secret(path: Path) -> str:
    """A per-installation random key, created on first start and never committed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
