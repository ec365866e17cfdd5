"""A case's trail as an officer reads it: every event titled, every recorded key labelled and every
value named by the norm's data (lifecycle.yaml's fields, trail.yaml's keys, the catalogue, the
grades, the ladder's parties), times in Beijing time, people and units by name. Codes the norm no
longer knows are shown as recorded rather than hidden. Two queries for a whole timeline: the
officers and the units its events name."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from ecoflow.extensions import db
from ecoflow.norm import Norm
from ecoflow.norm.current import get_norm
from ecoflow.officers.models import Officer, Unit
from ecoflow.routing import FLAGS, district_name
from ecoflow.timeutil import SHANGHAI

# A machine's number (an Open311 request's), not one a person quotes.
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)

# One format for every moment an officer reads.
TIME_FORMAT = "%Y-%m-%d %H:%M"


def local_minute(moment: datetime | str | None) -> str:
    """A UTC moment (or its ISO text, as the trail records it) in Beijing time, to the minute."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            return moment
    return moment.astimezone(SHANGHAI).strftime(TIME_FORMAT)


@dataclass
class Item:
    """One recorded key: its label, its value as text, and what hovering shows (a username)."""

    label: str
    text: str
    title: str | None = None


@dataclass
class Entry:
    """One event of the timeline, ready to show."""

    seq: int
    at: str
    title: str
    from_state: str | None
    to_state: str | None
    actor: str
    actor_title: str | None
    items: list[Item] = field(default_factory=list)


def event_title(norm: Norm, name: str) -> str:
    """What the timeline calls an event: the action's, the rung's or trail.yaml's title."""
    if name in norm.actions:
        return norm.actions[name].label
    rung = next((r for r in norm.ladder.rungs if r.name == name), None)
    if rung is not None:
        return rung.label
    return norm.trail["events"].get(name, name)


def _spec(norm: Norm, action: str, key: str) -> dict | None:
    """How the key is shown: the action's declared field, else trail.yaml's key (its values apply to
    either)."""
    declared = norm.actions[action].fields.get(key) if action in norm.actions else None
    listed = norm.trail["keys"].get(key)
    if declared is None:
        return listed
    return {"label": declared.get("label") or (listed or {}).get("label"), "type": declared["type"],
            "values": (listed or {}).get("values", {})}  # fmt: skip


class Names:
    """The officers and units a set of events name, loaded at once."""

    def __init__(self, bureau_code: str, usernames: set[str], unit_codes: set[str]):
        self.officers = {}
        if usernames:
            rows = db.session.execute(select(Officer.username, Officer.name).where(Officer.username.in_(usernames)))
            self.officers = dict(rows.all())
        self.units = {}
        if unit_codes:
            rows = db.session.execute(
                select(Unit.code, Unit.name).where(Unit.bureau_code == bureau_code, Unit.code.in_(unit_codes))
            )
            self.units = dict(rows.all())

    def officer(self, username: str | None) -> tuple[str, str | None]:
        if not username:
            return _("system"), None
        return self.officers.get(username, username), username


def _duration(seconds: int) -> str:
    minutes = int(seconds) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days}天" if days else "", f"{hours}小时" if hours else "", f"{minutes}分钟" if minutes else ""]
    return "".join(parts) or "不足1分钟"


def _plain(value) -> str:
    """A value without a type of its own: never a Python literal."""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, dict):
        return "；".join(f"{k}：{_plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "、".join(_plain(v) for v in value)
    return str(value)


def _text(norm: Norm, names: Names, kind: str, value) -> tuple[str, str | None]:
    """The value of a key of type `kind`, and what hovering it shows."""
    catalog, ladder = norm.catalog, norm.ladder
    if kind in ("officer", "leader"):
        return names.officer(value)
    if kind == "unit":
        return names.units.get(value, value), None
    single = {
        "grade": lambda v: norm.grades[v].label if v in norm.grades else v,
        "channel": lambda v: catalog["channels"].get(v, v),
        "bureau": lambda v: catalog["bureaus"].get(v, v),
        "satisfaction": lambda v: catalog["satisfaction"].get(v, v),
        "clock": lambda v: norm.clocks[v].label if v in norm.clocks else v,
        "party": lambda v: ladder.parties.get(v, {"label": v})["label"],
        "state": lambda v: norm.states[v]["label"] if v in norm.states else v,
        "district": lambda v: district_name(v) or v,
        "routing_flag": lambda v: FLAGS.get(v, v),
        "open311_service": lambda v: norm.open311["services"].get(v, {"name": v})["name"],
        "time": local_minute,
        "boolean": lambda v: _("Yes") if v else _("No"),
        "nth": lambda v: f"第{v}次",
        "seconds": _duration,
        "days": lambda v: f"{v}天",
        "source_no": lambda v: "（系统编号）" if UUID.fullmatch(v) else v,
    }
    if kind in single:
        return str(single[kind](value)), None
    if kind == "categories":
        return "、".join(catalog["categories"].get(c, c) for c in value), None
    if kind == "clocks":
        return "、".join(norm.clocks[c].label if c in norm.clocks else c for c in value), None
    if kind == "parties":
        return "、".join(ladder.parties.get(p, {"label": p})["label"] for p in value), None
    if kind == "suggestion":
        grade = _text(norm, names, "grade", value.get("grade"))[0]
        categories = _text(norm, names, "categories", value.get("categories", []))[0]
        return f"{grade}（{categories}）" if categories else grade, None
    return _plain(value), None


def _item(norm: Norm, names: Names, action: str, key: str, value) -> Item | None:
    spec = _spec(norm, action, key)
    if value in (None, "", [], {}) or (spec and spec["type"] == "hidden"):
        return None
    if spec is None:
        return Item(key, _plain(value))
    values = spec.get("values") or {}
    if isinstance(value, str) and value in values:
        return Item(spec["label"] or key, values[value])
    text, title = _text(norm, names, spec["type"], value)
    return Item(spec["label"] or key, text, title)


def _named(norm: Norm, events: list) -> tuple[set[str], set[str]]:
    """The usernames and unit codes the events name (their actors and the values of those types)."""
    usernames, units = set(), set()
    for event, data in events:
        if event.actor:
            usernames.add(event.actor)
        for key, value in (data or {}).items():
            spec = _spec(norm, event.action, key)
            if spec and isinstance(value, str):
                {"officer": usernames, "leader": usernames, "unit": units}.get(spec["type"], set()).add(value)
    return usernames, units


def timeline(complaint, events: list) -> list[Entry]:
    """The case's events, each with the data the viewer may read ((event, data) pairs), as shown."""
    norm = get_norm()
    names = Names(complaint.bureau_code, *_named(norm, events))
    entries = []
    for event, data in events:
        actor, actor_title = names.officer(event.actor)
        items = [_item(norm, names, event.action, key, value) for key, value in (data or {}).items()]
        entries.append(Entry(
            seq=event.seq, at=local_minute(event.occurred_at), title=event_title(norm, event.action),
            from_state=norm.states[event.from_state]["label"] if event.from_state in norm.states else None,
            to_state=norm.states[event.to_state]["label"] if event.to_state in norm.states else None,
            actor=actor, actor_title=actor_title, items=[i for i in items if i is not None],
        ))  # fmt: skip
    return entries
