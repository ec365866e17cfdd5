"""Who an officer is: passwords, API tokens, the people and units of a bureau."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from time import monotonic

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import case, inspect, or_, select, update
from sqlalchemy.orm import joinedload, make_transient_to_detached
from werkzeug.security import check_password_hash, generate_password_hash

from ecoflow.errors import Forbidden, Invalid, Unauthorized
from ecoflow.extensions import db
from ecoflow.rest import is_printable
from ecoflow.timeutil import utcnow

from .models import Officer, RoleGrant, Unit
from .passwords import password_problem


def hash_password(password: str) -> str:
    """A salted hash in the configured scheme (scrypt unless configured otherwise)."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def _dummy_hash() -> str:
    """Checked against when the username is unknown: a hash of the configured scheme and cost, so
    that both failures take the same time."""
    extensions = current_app.extensions
    if "ecoflow.dummy_hash" not in extensions:
        extensions["ecoflow.dummy_hash"] = hash_password(secrets.token_urlsafe(16))
    return extensions["ecoflow.dummy_hash"]


def _take_a_try(officer: Officer, now: datetime) -> bool:
    """Count one try on the officer in the database before the password is checked, or refuse it
    (False) while the account is locked. One statement: however many tries arrive at once, at most
    LOGIN_MAX_FAILURES are checked before the lock, and the one that reaches it sets the lock."""
    config = current_app.config
    expired = Officer.locked_until.is_not(None) & (Officer.locked_until <= now)
    count = case((expired, 1), else_=Officer.failed_logins + 1)
    lock_at = now + timedelta(seconds=config["LOGIN_LOCKOUT_SECONDS"])
    taken = db.session.execute(
        update(Officer)
        .where(Officer.id == officer.id, or_(Officer.locked_until.is_(None), Officer.locked_until <= now))
        .values(failed_logins=count, locked_until=case((count >= config["LOGIN_MAX_FAILURES"], lock_at), else_=None))
        .returning(Officer.id),
        execution_options={"synchronize_session": False},
    ).first()
    return taken is not None


def authenticate(username: str, password: str, now: datetime | None = None, *, changing: bool = False) -> Officer:
    """The active officer with these credentials; Unauthorized otherwise, and Forbidden
    (`password_change_required`) for a one-time password unless `changing` it. Every try is counted
    on the officer (flushed: the caller commits even when this raises) and too many in a row lock
    the account for a while, whatever password comes next; a right password clears the count."""
    now = now or utcnow()
    # A name no officer can have (a control character) is not even looked up: the database may refuse it.
    officer = db.session.scalar(select(Officer).where(Officer.username == username)) if is_printable(username) else None
    if officer is None:
        check_password_hash(_dummy_hash(), password)
        raise Unauthorized("用户名或密码错误。", code="bad_credentials")
    if not _take_a_try(officer, now):
        locked_until = db.session.scalar(select(Officer.locked_until).where(Officer.id == officer.id)) or now
        minutes = max(1, round((locked_until - now).total_seconds() / 60))
        raise Unauthorized(f"密码错误次数过多，账户已锁定，请 {minutes} 分钟后再试。", code="locked")
    if not (officer.is_active and check_password_hash(officer.password_hash, password)):
        raise Unauthorized("用户名或密码错误。", code="bad_credentials")
    db.session.execute(
        update(Officer).where(Officer.id == officer.id).values(failed_logins=0, locked_until=None),
        execution_options={"synchronize_session": False},
    )
    db.session.expire(officer, ["failed_logins", "locked_until"])
    if officer.must_change_password and not changing:
        raise Forbidden("这是一次性密码：请先修改密码。", code="password_change_required")
    return officer


def change_password(username: str, password: str, new_password: str, now: datetime) -> Officer:
    """The officer's own new password, proven by the current (or one-time) one; every session and
    token of theirs ends. Invalid when the new one breaks the password policy."""
    officer = authenticate(username, password, now, changing=True)
    problem = password_problem(new_password, officer.username, officer.name)
    if problem is None and check_password_hash(officer.password_hash, new_password):
        problem = "新密码不能与当前密码相同。"
    if problem is not None:
        raise Invalid(problem, {"fields": {"new_password": [problem]}})
    officer.password_hash = hash_password(new_password)
    officer.must_change_password = False
    end_sessions(officer)
    return officer


def end_sessions_of(officer_id: int):
    """end_sessions for the officer with this id (the caller's, who may be a cached copy)."""
    end_sessions(db.session.get(Officer, officer_id))


def end_sessions(officer: Officer):
    """End every web session and API token of the officer (logout, new password, deactivation)."""
    officer.auth_epoch = Officer.auth_epoch + 1
    db.session.flush()
    db.session.refresh(officer, ["auth_epoch"])


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="ecoflow-api-token")


def issue_token(officer: Officer, now: datetime | None = None) -> tuple[str, datetime]:
    """A signed bearer token for `officer` and the moment it expires."""
    now = now or utcnow()
    # The tail of the password hash ties the token to the password: changing it revokes the token.
    # The epoch ends it at logout, a new password or deactivation.
    token = _serializer().dumps({"sub": officer.id, "pw": officer.password_hash[-8:], "ep": officer.auth_epoch})
    return token, now + timedelta(seconds=current_app.config["TOKEN_TTL_SECONDS"])


def load_session_officer(user_id: str) -> Officer | None:
    """The officer of a web session's user id (see Officer.get_id), if still valid."""
    officer_id, _, rest = user_id.partition(":")
    tail, _, epoch = rest.partition(":")
    officer = (
        db.session.get(Officer, int(officer_id), options=[joinedload(Officer.grants)]) if officer_id.isdigit() else None
    )
    if (
        officer is None
        or not officer.is_active
        or officer.must_change_password
        or officer.password_hash[-8:] != tail
        or str(officer.auth_epoch) != epoch
    ):
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
    if (
        officer is None
        or not officer.is_active
        or officer.password_hash[-8:] != claims.get("pw")
        or officer.auth_epoch != claims.get("ep")
    ):
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


def active_demo_accounts() -> list[str]:
    """The usernames of active accounts made by `seed-demo` (their password is published)."""
    return db.session.scalars(
        select(Officer.username)
        .where(Officer.is_demo.is_(True), Officer.is_active.is_(True))
        .order_by(Officer.username)
    ).all()
