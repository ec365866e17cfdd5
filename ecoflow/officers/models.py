"""Bureaus, their units, officers and the roles they hold."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ecoflow.extensions import db
from ecoflow.sqltypes import UTCDateTime
from ecoflow.timeutil import utcnow


class Bureau(db.Model):
    __tablename__ = "bureaus"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class Unit(db.Model):
    """A 承办单位 inside a bureau: a district branch, an enforcement team, the supervision office."""

    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("bureau_code", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bureau_code: Mapped[str] = mapped_column(ForeignKey("bureaus.code"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    district_code: Mapped[str | None] = mapped_column(String(12))
    # A deactivated unit keeps its cases' history but takes no new ones.
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())


class Officer(UserMixin, db.Model):
    __tablename__ = "officers"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    bureau_code: Mapped[str] = mapped_column(ForeignKey("bureaus.code"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Wrong passwords in a row, and until when too many of them lock the account.
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A one-time password (set by an administrator) must be changed before anything else works.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Raised to end every web session and API token of the officer at once: logout, a new password,
    # deactivation. Sessions and tokens carry the value they were issued under.
    auth_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    # Made by `seed-demo` with the published demo password: a production start refuses while any is active.
    is_demo: Mapped[bool] = mapped_column(default=False, server_default=false())

    unit: Mapped[Unit | None] = relationship()
    # Loaded with the officer who acts (see officer_for_token), not with every officer a case names.
    grants: Mapped[list[RoleGrant]] = relationship(back_populates="officer", cascade="all, delete-orphan")

    def roles_for(self, bureau_code: str, unit_id: int | None = None) -> set[str]:
        """The roles this officer holds for a case of `bureau_code` handled by `unit_id`."""
        return {
            g.role for g in self.grants if g.bureau_code == bureau_code and (g.unit_id is None or g.unit_id == unit_id)
        }

    def get_id(self) -> str:
        """The web session's user id; a new password or a raised epoch ends the sessions."""
        return f"{self.id}:{self.password_hash[-8:]}:{self.auth_epoch}"

    @property
    def roles(self) -> set[str]:
        return {g.role for g in self.grants}

    @property
    def bureau_codes(self) -> set[str]:
        return {g.bureau_code for g in self.grants}


class RoleGrant(db.Model):
    """One role held by an officer, scoped to a bureau and optionally to one of its units."""

    __tablename__ = "role_grants"
    __table_args__ = (UniqueConstraint("officer_id", "role", "bureau_code", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    bureau_code: Mapped[str] = mapped_column(ForeignKey("bureaus.code"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))

    officer: Mapped[Officer] = relationship(back_populates="grants")


class AdminEvent(db.Model):
    """One change an administrator made to a bureau's units or officers: who, when, what, before, after."""

    __tablename__ = "admin_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    bureau_code: Mapped[str] = mapped_column(ForeignKey("bureaus.code"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # None: an operator's command on the server (`flask ecoflow ...`).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(64))  # a unit's code or an officer's username
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)

    actor: Mapped[Officer | None] = relationship()
