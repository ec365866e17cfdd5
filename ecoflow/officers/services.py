"""Who an officer is: passwords, API tokens, the people and units of a bureau."""

from __future__ import annotations

from datetime import datetime, timedelta
from time import monotonic

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import inspect, select
from sqlalchemy.orm import joinedload, make_transient_to_detached
from werkzeug.security import check_password_hash, generate_password_hash

from ecoflow.errors import Unauthorized
from ecoflow.extensions import db
from ecoflow.rest import is_printable
from ecoflow.timeutil import utcnow

from .models import Officer, RoleGrant, Unit

# Checked against when the username is unknown, so that both failures take the same time.
_DUMMY_HASH = generate_password_hash("not a password", method="pbkdf2:sha256:1")


def hash_password(password: str) -> str:
    """A salted hash in the configured scheme (scrypt unless configured otherwise)."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def authenticate(username: str, password: str, now: datetime | None = None) -> Officer:
    """The active officer with these credentials; Unauthorized otherwise. Wrong passwords are
    counted on the officer (flushed: the caller commits even when this raises) and too many in a
    row lock the account for a while, whatever password comes next."""
    config, now = current_app.config, now or utcnow()
    # A name no officer can have (a control character) is not even looked up: the database may refuse it.
    officer = db.session.scalar(select(Officer).where(Officer.username == username)) if is_printable(username) else None
    if officer is None:
        check_password_hash(_DUMMY_HASH, password)
        raise Unauthorized("用户名或密码错误。", code="bad_credentials")
    if officer.locked_until is not None and officer.locked_until > now:
        minutes = max(1, round((officer.locked_until - now).total_seconds() / 60))
        raise Unauthorized(f"密码错误次数过多，账户已锁定，请 {minutes} 分钟后再试。", code="locked")
    if officer.is_active and check_password_hash(officer.password_hash, password):
        officer.failed_logins, officer.locked_until = 0, None
        return officer
    officer.failed_logins += 1
    if officer.failed_logins >= config["LOGIN_MAX_FAILURES"]:
        officer.failed_logins = 0
        officer.locked_until = now + timedelta(seconds=config["LOGIN_LOCKOUT_SECONDS"])
    db.session.flush()
    raise Unauthorized("用户名或密码错误。", code="bad_credentials")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="ecoflow-api-token")


def issue_token(officer: Officer, now: datetime | None = None) -> tuple[str, datetime]:
    """A signed bearer token for `officer` and the moment it expires."""
    now = now or utcnow()
    # The tail of the password hash ties the token to the password: changing it revokes the token.
    token = _serializer().dumps({"sub": officer.id, "pw": officer.password_hash[-8:]})
    return token, now + timedelta(seconds=current_app.config["TOKEN_TTL_SECONDS"])


def load_session_officer(user_id: str) -> Officer | None:
    """The officer of a web session's user id (see Officer.get_id), if still valid."""
    officer_id, _, tail = user_id.partition(":")
    officer = (
        db.session.get(Officer, int(officer_id), options=[joinedload(Officer.grants)]) if officer_id.isdigit() else None
    )
    if officer is None or not officer.is_active or officer.password_hash[-8:] != tail:
        return None
    return officer


def officer_for_token(token: str) -> Officer:
    """The officer a bearer token was issued to; Unauthorized when it is bad or expired."""
    try:
        claims = _serializer().loads(token, max_age=current_app.config["TOKEN_TTL_SECONDS"])
    except SignatureExpired:
        raise Unauthorized("登录已过期，请重新登录。", code="token_expired") from None
    except BadSignature:
        raise Unauthorized("无效的访问令牌。", code="bad_token") from None
    officer = _officer_cache().get(claims.get("sub")) if isinstance(claims, dict) else None
    if officer is None or not officer.is_active or officer.password_hash[-8:] != claims.get("pw"):
        raise Unauthorized("无效的访问令牌。", code="bad_token")
    return officer


class OfficerCache:
    """What this process last read of the officers who present tokens, kept for OFFICER_CACHE_SECONDS,
    so that an officer's next request reads nothing and builds nothing to know who they are.
    A commit that changes an officer or a role empties it (see `note_officer_changes`)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.entries: dict[int, tuple[float, Officer]] = {}

    def get(self, officer_id) -> Officer | None:
        """The officer with their roles (None when there is no such officer). A cached officer is
        detached and shared by the process's requests: read it, never change it."""
        if not isinstance(officer_id, int) or isinstance(officer_id, bool):
            return None
        entry = self.entries.get(officer_id)
        if entry is not None and entry[0] >= monotonic():
            return entry[1]
        officer = db.session.get(Officer, officer_id, options=[joinedload(Officer.grants)])
        if officer is not None and self.seconds > 0:
            officer = _detached_copy(officer)
            self.entries[officer_id] = (monotonic() + self.seconds, officer)
        return officer

    def clear(self):
        self.entries.clear()


def _detached_copy(officer: Officer) -> Officer:
    """The officer and their grants as detached instances, in no session: what one request's session
    does to its own instance (expire it at commit, say) never touches the copy."""
    copy = Officer(**_columns(officer))
    copy.grants = [RoleGrant(**_columns(grant)) for grant in officer.grants]
    for instance in (*copy.grants, copy):
        make_transient_to_detached(instance)
    return copy


def _columns(instance) -> dict:
    return {column.key: getattr(instance, column.key) for column in inspect(type(instance)).column_attrs}


def _officer_cache() -> OfficerCache:
    extensions = current_app.extensions
    if "ecoflow.officer_cache" not in extensions:
        extensions["ecoflow.officer_cache"] = OfficerCache(current_app.config["OFFICER_CACHE_SECONDS"])
    return extensions["ecoflow.officer_cache"]


def note_officer_changes(session, flush_context, instances):
    """Before a flush: whether officers or their roles change in this transaction."""
    if any(isinstance(obj, Officer | RoleGrant) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info["officers_changed"] = True


def forget_changed_officers(session):
    """After a commit that changed officers or roles: the cached officers are read again."""
    if session.info.pop("officers_changed", False):
        current_app.extensions.get("ecoflow.officer_cache", OfficerCache(0)).clear()


def list_units(bureau_codes) -> list[Unit]:
    """The units of the given bureaus."""
    return db.session.scalars(
        select(Unit).where(Unit.bureau_code.in_(bureau_codes)).order_by(Unit.bureau_code, Unit.code)
    ).all()


def list_officers(bureau_codes) -> list[Officer]:
    """The officers of the given bureaus."""
    return db.session.scalars(
        select(Officer).where(Officer.bureau_code.in_(bureau_codes)).order_by(Officer.username)
    ).all()
