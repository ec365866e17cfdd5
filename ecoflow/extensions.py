"""Extension objects, created unbound and bound to the app in create_app."""

from flask import current_app, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase

from .sqltypes import UTCDateTime

# Named constraints, so that migrations can refer to them on every database.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _render_item(type_, obj, autogen_context):
    """Migrations name plain SQLAlchemy types, so they never import the application."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def dialect_insert(model):
    """INSERT with ON CONFLICT for the database in use (PostgreSQL or SQLite)."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model)


db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_item=_render_item)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Limits are counted per client address, in memory unless RATELIMIT_STORAGE_URI names a store.
limiter = Limiter(get_remote_address)


def lookup_rate_limit() -> str:
    return current_app.config["LOOKUP_RATE_LIMIT"]


# Logging in and changing a password, web and API together, per client address (LOGIN_RATE_LIMIT).
login_limit = limiter.shared_limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"] or "1 per second",
    scope="login",
    methods=["POST"],
    exempt_when=lambda: not current_app.config["LOGIN_RATE_LIMIT"],
)


# The blueprints with views that declare a limit (the citizens' case lookup, logging in). Every other
# request passes the limiter at once instead of resolving, per request, that it has no limits.
RATE_LIMITED_BLUEPRINTS = frozenset({"citizens", "citizens_api", "officers", "officers_api"})


@limiter.request_filter
def _not_rate_limited() -> bool:
    return request.blueprint not in RATE_LIMITED_BLUEPRINTS


def listen_to_session(name: str, listener):
    """Listen to an event of every session (once per process, however many apps are made)."""
    if not event.contains(db.session, name, listener):
        event.listen(db.session, name, listener)


def configure_engine(engine):
    """SQLite: enforce foreign keys, write-ahead log, and take the write lock when a transaction
    begins, so that concurrent writers wait for each other instead of failing half-way."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, record):
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
