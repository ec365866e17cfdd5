"""Loads and validates the norm in `workflows/` once, at start-up."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import jinja2
import yaml
from marshmallow import Schema, ValidationError, fields, validate
from transitions import Machine

from .calendar import UNITS, Period, WorkCalendar
from .ladder import Ladder, Rung

FIELD_TYPES = (
    "text", "string", "boolean", "integer", "case_no", "unit", "officer",
    "grade", "categories", "satisfaction", "evidence", "parties", "bureau", "leader",
)  # fmt: skip


# The kinds of 证据材料 an upload names (the API's contract); evidence.yaml gives each its types and limit.
EVIDENCE_KINDS = ("photo", "video", "audio", "document")


class NormError(Exception):
    """A file under workflows/ is missing, malformed or inconsistent."""


# --- the shape of each file ------------------------------------------------------------------

Label = fields.String(required=True, validate=validate.Length(min=1))
Names = fields.List(fields.String(), load_default=list)


class StateSchema(Schema):
    label = Label
    final = fields.Boolean(load_default=False)


class FieldSchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(FIELD_TYPES))
    required = fields.Boolean(load_default=False)
    label = fields.String(load_default=None)  # what the officer UI calls it; the name if absent


class OutcomeSchema(Schema):
    to = fields.String(required=True)
    when = fields.String(load_default=None)
    reopens = fields.Boolean(load_default=False)


class ActionSchema(Schema):
    label = Label
    from_ = fields.List(fields.String(), required=True, data_key="from", validate=validate.Length(min=1))
    to = fields.String(load_default=None)
    outcomes = fields.List(fields.Nested(OutcomeSchema), load_default=list)
    reopens = fields.Boolean(load_default=False)
    roles = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    assignee_only = fields.Boolean(load_default=False)
    fields_ = fields.Dict(fields.String(), fields.Nested(FieldSchema), data_key="fields", load_default=dict)


class LifecycleSchema(Schema):
    initial = fields.String(required=True)
    states = fields.Dict(fields.String(), fields.Nested(StateSchema), required=True)
    actions = fields.Dict(fields.String(), fields.Nested(ActionSchema), required=True)


class PeriodSchema(Schema):
    minutes = fields.Integer(validate=validate.Range(min=1))
    hours = fields.Integer(validate=validate.Range(min=1))
    natural_days = fields.Integer(validate=validate.Range(min=1))
    working_days = fields.Integer(validate=validate.Range(min=1))
    calendar_days = fields.Integer(validate=validate.Range(min=1))


class ClockSchema(Schema):
    label = Label
    starts_on = Names
    stops_on = fields.List(fields.String(), required=True)
    restarts_on_reopen = fields.Boolean(load_default=False)


class GradeSchema(Schema):
    label = Label
    ledger = fields.Boolean(load_default=False)
    clocks = fields.Dict(fields.String(), fields.Nested(PeriodSchema), required=True)


class ExtensionSchema(Schema):
    clock = fields.String(required=True)
    approvers = fields.List(fields.String(), required=True, validate=validate.Length(min=1))


class PauseSchema(Schema):
    clock = fields.String(required=True)
    max_total = fields.Nested(PeriodSchema, required=True)


class GradesSchema(Schema):
    clocks = fields.Dict(fields.String(), fields.Nested(ClockSchema), required=True)
    grades = fields.Dict(fields.String(), fields.Nested(GradeSchema), required=True)
    extension = fields.Nested(ExtensionSchema, required=True)
    pause = fields.Nested(PauseSchema, required=True)


CodeList = fields.Dict(fields.String(), fields.String(), required=True)


class CatalogSchema(Schema):
    bureaus = CodeList
    channels = CodeList
    types = CodeList
    categories = CodeList
    roles = CodeList
    satisfaction = CodeList


class NoticesSchema(Schema):
    accepted = Label
    replied = Label
    closed = Label
    survey = Label


# The placeholders a notice to the complainant may name (ecoflow/complaints/notices.py fills them).
NOTICE_PLACEHOLDERS = frozenset({"bureau", "case_no", "order_no", "lookup_url", "result", "text", "survey"})
# Those of the survey link's own text, filled in where the bureau does the 回访 itself.
SURVEY_PLACEHOLDERS = frozenset({"survey_url", "survey_days"})


def _check_notices(notices: dict):
    for name, template in notices.items():
        try:
            names = {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}
        except ValueError as exc:
            raise NormError(f"workflows/notices.yaml: {name}: {exc}") from None
        unknown = sorted(names - (SURVEY_PLACEHOLDERS if name == "survey" else NOTICE_PLACEHOLDERS))
        _check(not unknown, f"workflows/notices.yaml: {name}: unknown placeholder {', '.join(unknown)}")


def _check_inbox(inbox: dict, actions: dict, ladder, catalog: dict):
    where = "workflows/inbox.yaml"
    for name, notice in inbox["actions"].items():
        _check(name in actions, f"{where}: actions.{name}: no such action in lifecycle.yaml")
        for party in notice["notify"]:
            _check(party in ladder.parties, f"{where}: actions.{name}.notify: unknown party '{party}' (ladder.yaml)")
        for role in notice["roles"]:
            _check(role in catalog["roles"], f"{where}: actions.{name}.roles: unknown role '{role}'")
        names = {field for _, field, _, _ in string.Formatter().parse(notice["message"]) if field is not None}
        unknown = sorted(names - INBOX_PLACEHOLDERS)
        _check(not unknown, f"{where}: actions.{name}: unknown placeholder {', '.join(unknown)}")


RoleList = fields.List(fields.String(), required=True)


class AccessSchema(Schema):
    bureau_wide = RoleList
    registers = RoleList
    responsible = fields.String(required=True)
    client_account = fields.String(required=True)
    centre_account = fields.String(required=True)
    closes_whistles = RoleList
    publishes = RoleList
    lowers_from_ledger = RoleList
    operates_exchange = RoleList
    administers = RoleList
    reads_admin_trail = RoleList
    receives_visitors = RoleList
    unusual_unmasked_cases_per_day = fields.Integer(load_default=30, validate=validate.Range(min=1))
    export_max_rows = fields.Integer(load_default=10000, validate=validate.Range(min=1, max=1000000))
    pages = fields.Dict(fields.String(), fields.Raw(), required=True)


MimeType = fields.String(validate=validate.Regexp(r"^[a-z]+/[a-z0-9.+-]+\Z"))


class EvidenceKindSchema(Schema):
    label = Label
    max_mb = fields.Integer(required=True, validate=validate.Range(min=1, max=4096))
    types = fields.List(MimeType, required=True, validate=validate.Length(min=1))


class EvidenceSchema(Schema):
    max_pixels = fields.Integer(required=True, validate=validate.Range(min=1))
    thumbnail = fields.Integer(required=True, validate=validate.Range(min=16, max=2048))
    kinds = fields.Dict(fields.String(validate=validate.OneOf(EVIDENCE_KINDS)), fields.Nested(EvidenceKindSchema),
                        required=True)  # fmt: skip


class RepeatSchema(Schema):
    window_days = fields.Integer(required=True, validate=validate.Range(min=1))
    count = fields.Integer(required=True, validate=validate.Range(min=2))


class DuplicatesSchema(Schema):
    window_days = fields.Integer(required=True, validate=validate.Range(min=1))
    min_text_similarity = fields.Float(required=True, validate=validate.Range(0, 1))
    max_shown = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100))


class GradingRuleSchema(Schema):
    grade = fields.String(required=True)
    reason = Label
    patterns = fields.List(fields.String(validate=validate.Length(min=1)), load_default=list)


class GradingSchema(Schema):
    rules = fields.List(fields.Nested(GradingRuleSchema), load_default=list)
    categories = fields.Dict(fields.String(), fields.List(fields.String()), required=True)
    default_category = fields.String(required=True)
    urgent = fields.List(fields.String(), required=True)
    key_channels = Names
    collective_people = fields.Integer(load_default=5, validate=validate.Range(min=2))
    petition_key = fields.Boolean(load_default=True)
    repeat = fields.Nested(RepeatSchema, required=True)
    duplicates = fields.Nested(DuplicatesSchema, required=True)
    consult_types = Names
    default_grade = fields.String(required=True)


# How a value recorded on the trail is shown (trail.yaml); ecoflow/complaints/timeline.py renders each.
TRAIL_TYPES = frozenset({
    "text", "string", "grade", "categories", "channel", "bureau", "unit", "officer", "time", "boolean", "clock",
    "clocks", "party", "parties", "state", "district", "routing_flag", "open311_service", "attributes", "suggestion",
    "nth", "seconds", "days", "source_no", "hidden",
})  # fmt: skip


class TrailFieldSchema(Schema):
    label = fields.String(load_default=None, validate=validate.Length(min=1))
    type = fields.String(required=True, validate=validate.OneOf(TRAIL_TYPES))
    values = fields.Dict(fields.String(), fields.String(), load_default=dict)


class InboxNoticeSchema(Schema):
    notify = fields.List(fields.String(), load_default=list)
    roles = fields.List(fields.String(), load_default=list)
    when = fields.String(load_default=None, validate=validate.OneOf(["unresolved"]))
    message = Label


class InboxSchema(Schema):
    actions = fields.Dict(fields.String(), fields.Nested(InboxNoticeSchema), load_default=dict)
    kinds = fields.Dict(fields.String(), Label, load_default=dict)


# The placeholders an officer's notice (inbox.yaml) may name (escalation/services.py fills them).
INBOX_PLACEHOLDERS = frozenset({"case_no", "grade", "unit", "officer", "actor", "reason", "decision", "note"})


class TrailSchema(Schema):
    events = fields.Dict(fields.String(), Label, load_default=dict)
    keys = fields.Dict(fields.String(), fields.Nested(TrailFieldSchema), load_default=dict)


class RungSchema(Schema):
    label = Label
    at = fields.Float(required=True, validate=validate.Range(min=0, max=10))
    not_later_than_before_due = fields.Nested(PeriodSchema, load_default=None)
    not_on_periods_up_to = fields.Nested(PeriodSchema, load_default=None)
    at_once_for_grades = Names
    notify = Names
    summon = Names
    opens_supervision = fields.Boolean(load_default=False)
    transfers = fields.Boolean(load_default=False)


class PartySchema(Schema):
    label = Label
    role = fields.String(load_default=None)
    unit = fields.String(load_default=None)
    assignee = fields.Boolean(load_default=False)
    bureau_wide = fields.Boolean(load_default=False)
    any_bureau = fields.Boolean(load_default=False)
    peer = fields.Boolean(load_default=False)


class WhistleRulesSchema(Schema):
    report_within = fields.Dict(fields.String(validate=validate.OneOf(["urgent", "within_bureau", "across_bureaus"])),
                                fields.Nested(PeriodSchema), required=True)  # fmt: skip
    escalation = fields.List(fields.String(), required=True, validate=validate.Length(min=1))


class LadderSchema(Schema):
    rungs = fields.Dict(fields.String(), fields.Nested(RungSchema), required=True, validate=validate.Length(min=1))
    parties = fields.Dict(fields.String(), fields.Nested(PartySchema), required=True)
    whistle = fields.Nested(WhistleRulesSchema, required=True)


DivisionCode = fields.String(validate=validate.Regexp(r"^[1-9][0-9]{5}\Z", error="a 6-digit division code"))


class DistrictSchema(Schema):
    name = Label
    unit = fields.String(load_default=None)


class RoutingSchema(Schema):
    districts = fields.Dict(DivisionCode, fields.Nested(DistrictSchema), load_default=dict)


class AttributeSchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,39}\Z"))
    description = Label
    datatype = fields.String(required=True, validate=validate.OneOf(
        ["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]))  # fmt: skip
    required = fields.Boolean(load_default=False)
    datatype_description = fields.String(load_default="")
    values = fields.Dict(fields.String(), fields.String(), load_default=dict)


class ServiceSchema(Schema):
    name = Label
    description = fields.String(load_default="")
    category = fields.String(required=True)
    group = fields.String(load_default="")
    keywords = Names
    attributes = fields.List(fields.Nested(AttributeSchema), load_default=list)


class Open311Schema(Schema):
    services = fields.Dict(fields.String(validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,39}\Z")),
                           fields.Nested(ServiceSchema), required=True, validate=validate.Length(min=1))  # fmt: skip
    jurisdictions = fields.Dict(fields.String(), fields.List(fields.String()), required=True)


class LeadSchema(Schema):
    clocks = fields.Dict(fields.String(), fields.Nested(PeriodSchema), required=True)
    closes_after = fields.Nested(PeriodSchema, load_default=lambda: {"natural_days": 30})


class ExchangeSchema(Schema):
    lead = fields.Nested(LeadSchema, required=True)
    jurisdiction = fields.Dict(fields.String(), fields.List(fields.String(validate=validate.Regexp(r"^[0-9]{2,6}\Z"))),
                               load_default=dict)  # fmt: skip


class PetitionExtensionSchema(Schema):
    clock = fields.String(required=True)
    max_days = fields.Integer(required=True, validate=validate.Range(min=1, max=366))
    max_count = fields.Integer(required=True, validate=validate.Range(min=1))
    approver = fields.String(required=True)


class PetitionSchema(Schema):
    clocks = fields.Dict(fields.String(), fields.Nested(PeriodSchema), required=True)
    starts_on = fields.Dict(fields.String(), fields.String(), load_default=dict)
    replaces = Names
    request_within = fields.Nested(PeriodSchema, required=True)
    extension = fields.Nested(PetitionExtensionSchema, required=True)
    visit_within = fields.Nested(PeriodSchema, load_default={"natural_days": 30})


class DocumentKindSchema(Schema):
    title = Label
    action = fields.String(required=True)
    mark = Label
    template = fields.String(required=True, validate=validate.Regexp(r"^[a-z_]+\.html\Z"))


class DocumentsSchema(Schema):
    prefixes = fields.Dict(fields.String(), fields.String(validate=validate.Length(min=1)), required=True)
    kinds = fields.Dict(fields.String(validate=validate.Regexp(r"^[a-z_]{1,20}\Z")), fields.Nested(DocumentKindSchema),
                        required=True)  # fmt: skip


class CalendarSchema(Schema):
    holidays = fields.List(fields.Date(), load_default=list)
    workdays = fields.List(fields.Date(), load_default=list)


# --- the loaded norm -------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    to: str | None
    when: str | None = None
    reopens: bool = False


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    sources: tuple[str, ...]
    outcomes: tuple[Outcome, ...]  # empty: records without changing state
    roles: frozenset[str]
    assignee_only: bool
    fields: MappingProxyType  # name -> {"type", "required"}

    def outcome_to(self, state: str) -> Outcome | None:
        """The outcome that led to `state`."""
        return next((o for o in self.outcomes if o.to == state), None)


@dataclass(frozen=True)
class Grade:
    name: str
    label: str
    ledger: bool
    clocks: MappingProxyType  # clock kind -> Period


@dataclass(frozen=True)
class ClockKind:
    name: str
    label: str
    starts_on: frozenset[str]  # empty: starts when the grade is set, from the time received
    stops_on: frozenset[str]
    restarts_on_reopen: bool


@dataclass(frozen=True)
class District:
    name: str
    unit: str | None  # the default 承办单位's code, a suggestion to the dispatcher


@dataclass(frozen=True)
class RoutingTable:
    """属地: whose territory a division code is in (exchange.yaml), and each listed district's default unit."""

    territory: MappingProxyType  # "BJ" -> ("11",): division code prefixes
    districts: MappingProxyType  # "110112" -> District

    def bureau_of(self, code: str) -> str | None:
        return next((b for b, prefixes in self.territory.items() if code.startswith(tuple(prefixes))), None)


@dataclass(frozen=True)
class EvidenceKind:
    """A kind of attachment (evidence.yaml): what it is called, the types it accepts, its size limit."""

    name: str
    label: str
    max_bytes: int
    types: tuple[str, ...]


@dataclass(frozen=True)
class Evidence:
    """What may be attached to a case (evidence.yaml)."""

    kinds: MappingProxyType  # name -> EvidenceKind
    max_pixels: int
    thumbnail: int

    @property
    def max_bytes(self) -> int:
        """The largest upload of any kind: the body limit of the upload route."""
        return max(kind.max_bytes for kind in self.kinds.values())


@dataclass(frozen=True)
class Norm:
    """The whole norm: lifecycle, grades and clocks, code lists, grading rules, calendar."""

    initial: str
    states: MappingProxyType  # name -> {"label", "final"}
    actions: MappingProxyType  # name -> Action
    clocks: MappingProxyType  # name -> ClockKind
    grades: MappingProxyType  # name -> Grade
    extension: dict
    pause: dict
    catalog: MappingProxyType
    grading: MappingProxyType
    calendar: WorkCalendar
    ladder: Ladder
    routing: RoutingTable
    open311: MappingProxyType  # {"services": {code: {...}}, "jurisdictions": {bureau: [code]}}
    lead_clocks: MappingProxyType  # clock kind -> Period, started when a lead arrives
    lead_closes_after: Period  # a received lead waiting for its origin closes by itself after this
    jurisdiction: MappingProxyType  # bureau -> division code prefixes of its territory
    access: MappingProxyType  # access.yaml: role sets by what they do, each a frozenset; pages: name -> roles
    notices: MappingProxyType  # notices.yaml: what the complainant hears back, by moment
    inbox: MappingProxyType  # inbox.yaml: {"actions": name -> {notify, roles, when, message}, "kinds": kind -> label}
    trail: MappingProxyType  # trail.yaml: {"events": name -> title, "keys": key -> {label, type, values}}
    evidence: Evidence
    # petition.yaml: {"clocks": kind -> Period, "starts_on": kind -> action, "replaces": (kinds),
    # "request_within": Period, "extension": {...}}
    petition: MappingProxyType
    # documents.yaml: {"prefixes": bureau -> prefix, "kinds": kind -> {title, on, mark, template, source}}
    documents: MappingProxyType
    raw: MappingProxyType = field(repr=False)  # as loaded, for GET /api/v1/workflow

    def bureau_of_place(self, district_code: str | None) -> str | None:
        """The bureau whose jurisdiction a division code lies in (exchange.yaml), if any."""
        for bureau, prefixes in self.jurisdiction.items():
            if district_code and district_code.startswith(tuple(prefixes)):
                return bureau
        return None

    def build_machine(self, conditions) -> Machine:
        """One `transitions` machine for every complaint; `conditions` maps each `when` name
        to a predicate of the EventData."""
        unknown = {o.when for a in self.actions.values() for o in a.outcomes if o.when} - set(conditions)
        if unknown:
            raise NormError(f"workflows/lifecycle.yaml: no such condition: {', '.join(sorted(unknown))}")
        transitions = []
        for action in self.actions.values():
            for outcome in action.outcomes or (Outcome(to=None),):
                transitions.append({
                    "trigger": action.name,
                    "source": list(action.sources),
                    "dest": outcome.to,  # None: an internal transition, the state stays
                    "conditions": [conditions[outcome.when]] if outcome.when else [],
                })  # fmt: skip
        return Machine(
            model=None,
            states=list(self.states),
            initial=self.initial,
            transitions=transitions,
            auto_transitions=False,
            send_event=True,
        )


def read_norm_file(directory: Path, name: str, schema: Schema) -> dict:
    """One file of workflows/, validated by `schema`; NormError naming the file and the fault."""
    path = directory / name
    where = f"workflows/{name}"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NormError(f"{where}: file not found in {directory}") from None
    except yaml.YAMLError as exc:
        raise NormError(f"{where}: not valid YAML: {exc}") from None
    try:
        return schema.load(data if data is not None else {})
    except ValidationError as exc:
        raise NormError(f"{where}: {_flatten(exc.messages)}") from None


def _flatten(messages, prefix="") -> str:
    if isinstance(messages, dict):
        parts = []
        for key, value in messages.items():
            key = "" if key == "value" else str(key)  # marshmallow's Dict nests value errors
            path = ".".join(p for p in (prefix, key) if p)
            parts.append(_flatten(value, path))
        return "; ".join(parts)
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return f"{prefix}: {' '.join(messages)}" if prefix else " ".join(messages)
    return _flatten(dict(enumerate(messages)), prefix)


def _period(spec: dict, where: str) -> Period:
    if len(spec) != 1:
        raise NormError(f"{where}: give exactly one of {', '.join(UNITS)}")
    ((unit, amount),) = spec.items()
    return Period(amount, unit)


def _check(condition: bool, message: str):
    if not condition:
        raise NormError(message)


def load_norm(directory) -> Norm:
    """Read, validate and cross-check every file of the norm; raise NormError naming the problem."""
    directory = Path(directory)
    lifecycle = read_norm_file(directory, "lifecycle.yaml", LifecycleSchema())
    grades_file = read_norm_file(directory, "grades.yaml", GradesSchema())
    catalog = read_norm_file(directory, "catalog.yaml", CatalogSchema())
    grading = read_norm_file(directory, "grading.yaml", GradingSchema())
    calendar = read_norm_file(directory, "calendar.yaml", CalendarSchema())
    ladder = read_norm_file(directory, "ladder.yaml", LadderSchema())
    routing = read_norm_file(directory, "routing.yaml", RoutingSchema())
    open311 = read_norm_file(directory, "open311.yaml", Open311Schema())
    exchange = read_norm_file(directory, "exchange.yaml", ExchangeSchema())
    access = _access(read_norm_file(directory, "access.yaml", AccessSchema()), catalog)
    notices = read_norm_file(directory, "notices.yaml", NoticesSchema())
    trail = read_norm_file(directory, "trail.yaml", TrailSchema())
    inbox = read_norm_file(directory, "inbox.yaml", InboxSchema())
    for key, spec in trail["keys"].items():
        _check(spec["type"] == "hidden" or spec["label"], f"workflows/trail.yaml: keys.{key}: a label is needed")
    _check_notices(notices)
    evidence = _evidence(read_norm_file(directory, "evidence.yaml", EvidenceSchema()))
    petition = read_norm_file(directory, "petition.yaml", PetitionSchema())
    documents = read_norm_file(directory, "documents.yaml", DocumentsSchema())

    where = "workflows/lifecycle.yaml"
    states = lifecycle["states"]
    _check(lifecycle["initial"] in states, f"{where}: initial: unknown state '{lifecycle['initial']}'")
    actions = {}
    for name, spec in lifecycle["actions"].items():
        here = f"{where}: actions.{name}"
        for source in spec["from_"]:
            _check(source in states, f"{here}.from: unknown state '{source}'")
        _check(not (spec["to"] and spec["outcomes"]), f"{here}: give either 'to' or 'outcomes', not both")
        if spec["to"]:
            outcomes = [Outcome(spec["to"], reopens=spec["reopens"])]
        else:
            outcomes = [Outcome(**o) for o in spec["outcomes"]]
        for outcome in outcomes:
            _check(outcome.to in states, f"{here}.to: unknown state '{outcome.to}'")
        if len(outcomes) > 1:
            _check(outcomes[-1].when is None, f"{here}.outcomes: the last outcome must have no 'when'")
        for role in spec["roles"]:
            _check(role in catalog["roles"], f"{here}.roles: unknown role '{role}'")
        actions[name] = Action(
            name=name,
            label=spec["label"],
            sources=tuple(spec["from_"]),
            outcomes=tuple(outcomes),
            roles=frozenset(spec["roles"]),
            assignee_only=spec["assignee_only"],
            fields=MappingProxyType(spec["fields_"]),
        )

    where = "workflows/grades.yaml"
    clocks = {}
    for name, spec in grades_file["clocks"].items():
        for key in ("starts_on", "stops_on"):
            for action in spec[key]:
                _check(action in actions, f"{where}: clocks.{name}.{key}: unknown action '{action}'")
        clocks[name] = ClockKind(
            name, spec["label"], frozenset(spec["starts_on"]), frozenset(spec["stops_on"]), spec["restarts_on_reopen"]
        )
    grades = {}
    for name, spec in grades_file["grades"].items():
        periods = {}
        for kind, period in spec["clocks"].items():
            _check(kind in clocks, f"{where}: grades.{name}.clocks: unknown clock '{kind}'")
            periods[kind] = _period(period, f"{where}: grades.{name}.clocks.{kind}")
        grades[name] = Grade(name, spec["label"], spec["ledger"], MappingProxyType(periods))
    extension, pause = grades_file["extension"], grades_file["pause"]
    _check(extension["clock"] in clocks, f"{where}: extension.clock: unknown clock '{extension['clock']}'")
    for role in extension["approvers"]:
        _check(role in catalog["roles"], f"{where}: extension.approvers: unknown role '{role}'")
    _check(pause["clock"] in clocks, f"{where}: pause.clock: unknown clock '{pause['clock']}'")
    pause = {"clock": pause["clock"], "max_total": _period(pause["max_total"], f"{where}: pause.max_total")}

    where = "workflows/grading.yaml"
    for category in [*grading["categories"], grading["default_category"]]:
        _check(category in catalog["categories"], f"{where}: unknown category '{category}'")
    _check(grading["default_grade"] in grades, f"{where}: default_grade: unknown grade")
    for channel in grading["key_channels"]:
        _check(channel in catalog["channels"], f"{where}: key_channels: unknown channel '{channel}'")
    for kind in grading["consult_types"]:
        _check(kind in catalog["types"], f"{where}: consult_types: unknown type '{kind}'")
    grading["rules"] = tuple(
        _grading_rule(rule, f"{where}: rules[{n}]", grades) for n, rule in enumerate(grading["rules"])
    )
    _check("key" in grades and "urgent" in grades and "consult" in grades,
           f"{where}: the grades urgent, key and consult must exist in workflows/grades.yaml")  # fmt: skip

    ladder = _ladder(ladder, catalog, grades)
    _check_inbox(inbox, actions, ladder, catalog)
    routing = _routing(routing, exchange["jurisdiction"])
    _check_open311(open311, catalog)

    where = "workflows/exchange.yaml"
    lead_clocks = {}
    for kind, period in exchange["lead"]["clocks"].items():
        _check(kind in clocks, f"{where}: lead.clocks: unknown clock '{kind}' (declare it in grades.yaml)")
        lead_clocks[kind] = _period(period, f"{where}: lead.clocks.{kind}")
    for bureau in exchange["jurisdiction"]:
        _check(bureau in catalog["bureaus"], f"{where}: jurisdiction: unknown bureau '{bureau}'")
    lead_closes_after = _period(exchange["lead"]["closes_after"], f"{where}: lead.closes_after")

    petition = _petition(petition, clocks, actions, grades, catalog)
    documents = _documents(directory, documents, actions, catalog)

    raw = {"initial": lifecycle["initial"], "states": states, "actions": {
        name: {"label": a.label, "from": list(a.sources), "outcomes": [o.__dict__ for o in a.outcomes],
               "roles": sorted(a.roles), "assignee_only": a.assignee_only, "fields": dict(a.fields)}
        for name, a in actions.items()
    }, "clocks": {n: {"label": c.label, "stops_on": sorted(c.stops_on)} for n, c in clocks.items()},
        "grades": {n: {"label": g.label, "ledger": g.ledger,
                       "clocks": {k: {p.unit: p.amount} for k, p in g.clocks.items()}}
                   for n, g in grades.items()},
        **catalog}  # fmt: skip
    return Norm(
        initial=lifecycle["initial"],
        states=MappingProxyType(states),
        actions=MappingProxyType(actions),
        clocks=MappingProxyType(clocks),
        grades=MappingProxyType(grades),
        extension=extension,
        pause=pause,
        catalog=MappingProxyType(catalog),
        grading=MappingProxyType(grading),
        calendar=WorkCalendar(calendar["holidays"], calendar["workdays"]),
        ladder=ladder,
        routing=routing,
        open311=MappingProxyType(open311),
        lead_clocks=MappingProxyType(lead_clocks),
        lead_closes_after=lead_closes_after,
        jurisdiction=MappingProxyType(exchange["jurisdiction"]),
        access=access,
        notices=MappingProxyType(notices),
        trail=MappingProxyType(trail),
        inbox=MappingProxyType(inbox),
        evidence=evidence,
        petition=petition,
        documents=documents,
        raw=MappingProxyType(raw),
    )


def _grading_rule(rule: dict, where: str, grades: dict) -> MappingProxyType:
    """A rule of grading.yaml, its patterns compiled (a broken one named)."""
    _check(rule["grade"] in grades, f"{where}: grade: unknown grade '{rule['grade']}'")
    compiled = []
    for n, pattern in enumerate(rule["patterns"]):
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise NormError(f"{where}: patterns[{n}]: not a regular expression ({exc})") from None
    return MappingProxyType({**rule, "patterns": tuple(compiled)})


# The keys of access.yaml that name one role, and those that are numbers; every other names a set.
ACCESS_ROLES = ("responsible", "client_account", "centre_account")
ACCESS_NUMBERS = ("unusual_unmasked_cases_per_day", "export_max_rows")


def _access(spec: dict, catalog: dict) -> MappingProxyType:
    """The role sets of access.yaml as frozensets (a page seen by `all`: None), every role known."""
    where, roles = "workflows/access.yaml", catalog["roles"]
    for key in ACCESS_ROLES:
        _check(spec[key] in roles, f"{where}: {key}: unknown role '{spec[key]}'")
    _check(spec["client_account"] in spec["registers"], f"{where}: client_account: a role of registers")
    sets, pages = {}, {}
    for key, names in spec.items():
        if key in (*ACCESS_ROLES, "pages", *ACCESS_NUMBERS):
            continue
        for role in names:
            _check(role in roles, f"{where}: {key}: unknown role '{role}'")
        sets[key] = frozenset(names)
    for page, names in spec["pages"].items():
        _check(names == "all" or isinstance(names, list), f"{where}: pages.{page}: a list of roles, or all")
        for role in names if names != "all" else ():
            _check(role in roles, f"{where}: pages.{page}: unknown role '{role}'")
        pages[page] = None if names == "all" else frozenset(names)
    return MappingProxyType({
        **sets, **{key: spec[key] for key in ACCESS_ROLES}, "pages": MappingProxyType(pages),
        **{key: spec[key] for key in ACCESS_NUMBERS},
    })  # fmt: skip


def _petition(spec: dict, clocks: dict, actions: dict, grades: dict, catalog: dict) -> MappingProxyType:
    """petition.yaml with its periods read and every clock, action and role it names known."""
    where = "workflows/petition.yaml"
    periods = {}
    for kind, period in spec["clocks"].items():
        _check(kind in clocks, f"{where}: clocks: unknown clock '{kind}' (declare it in grades.yaml)")
        periods[kind] = _period(period, f"{where}: clocks.{kind}")
    for kind, action in spec["starts_on"].items():
        _check(kind in periods, f"{where}: starts_on: unknown clock '{kind}'")
        _check(action in actions, f"{where}: starts_on.{kind}: unknown action '{action}'")
    for kind in spec["replaces"]:
        _check(any(kind in g.clocks for g in grades.values()), f"{where}: replaces: no grade has the clock '{kind}'")
    extension = spec["extension"]
    _check(extension["clock"] in periods, f"{where}: extension.clock: unknown clock '{extension['clock']}'")
    _check(extension["approver"] in catalog["roles"], f"{where}: extension.approver: unknown role")
    return MappingProxyType({
        "clocks": MappingProxyType(periods), "starts_on": MappingProxyType(spec["starts_on"]),
        "replaces": frozenset(spec["replaces"]), "extension": MappingProxyType(extension),
        "request_within": _period(spec["request_within"], f"{where}: request_within"),
        "visit_within": _period(spec["visit_within"], f"{where}: visit_within"),
    })  # fmt: skip


def _documents(directory: Path, spec: dict, actions: dict, catalog: dict) -> MappingProxyType:
    """documents.yaml with each kind's template read and parsed, its action and every bureau known."""
    where = "workflows/documents.yaml"
    for bureau in catalog["bureaus"]:
        _check(bureau in spec["prefixes"], f"{where}: prefixes: missing bureau '{bureau}'")
    environment = jinja2.Environment(autoescape=True)
    kinds = {}
    for name, kind in spec["kinds"].items():
        _check(kind["action"] in actions, f"{where}: kinds.{name}.action: unknown action '{kind['action']}'")
        path = directory / "documents" / kind["template"]
        try:
            source = path.read_text(encoding="utf-8")
            environment.parse(source)
        except FileNotFoundError:
            raise NormError(f"workflows/documents/{kind['template']}: file not found") from None
        except jinja2.TemplateSyntaxError as exc:
            raise NormError(f"workflows/documents/{kind['template']}: line {exc.lineno}: {exc.message}") from None
        kinds[name] = MappingProxyType({**kind, "source": source})
    return MappingProxyType({"prefixes": MappingProxyType(spec["prefixes"]), "kinds": MappingProxyType(kinds)})


def _evidence(spec: dict) -> Evidence:
    where = "workflows/evidence.yaml"
    missing = [k for k in EVIDENCE_KINDS if k not in spec["kinds"]]
    _check(not missing, f"{where}: kinds: missing {', '.join(missing)}")
    for name, kind in spec["kinds"].items():
        for type_ in kind["types"]:
            # Images are decoded (thumbnails, the bomb check): a photo must be an image type.
            _check(name != "photo" or type_.startswith("image/"), f"{where}: kinds.photo.types: '{type_}' is no image")
    kinds = {name: EvidenceKind(name, kind["label"], kind["max_mb"] * 1024 * 1024, tuple(kind["types"]))
             for name, kind in spec["kinds"].items()}  # fmt: skip
    return Evidence(MappingProxyType(kinds), spec["max_pixels"], spec["thumbnail"])


def _ladder(spec: dict, catalog: dict, grades: dict) -> Ladder:
    where = "workflows/ladder.yaml"
    parties = spec["parties"]
    for name, party in parties.items():
        _check(party["assignee"] or party["role"] or party["peer"],
               f"{where}: parties.{name}: give a role, assignee: true or peer: true")  # fmt: skip
        if party["role"]:
            _check(party["role"] in catalog["roles"], f"{where}: parties.{name}.role: unknown role '{party['role']}'")
    rungs = []
    for name, rung in spec["rungs"].items():
        for party in [*rung["notify"], *rung["summon"]]:
            _check(party in parties, f"{where}: rungs.{name}: unknown party '{party}'")
        for grade in rung["at_once_for_grades"]:
            _check(grade in grades, f"{where}: rungs.{name}.at_once_for_grades: unknown grade '{grade}'")
        before = rung["not_later_than_before_due"]
        rungs.append(Rung(
            name=name, label=rung["label"], at=rung["at"],
            not_later_than_before_due=_period(before, f"{where}: rungs.{name}") if before else None,
            at_once_for_grades=frozenset(rung["at_once_for_grades"]), notify=tuple(rung["notify"]),
            summon=tuple(rung["summon"]), opens_supervision=rung["opens_supervision"], transfers=rung["transfers"],
            not_on_periods_up_to=_period(rung["not_on_periods_up_to"], f"{where}: rungs.{name}")
            if rung["not_on_periods_up_to"] else None,
        ))  # fmt: skip
    # Named in code: the responsible officer, the unit's supervisor and leader, the whistle rung.
    for party in ("officer", "unit_supervisor", "unit_leader"):
        _check(party in parties, f"{where}: parties.{party}: missing")
    _check("whistle" in spec["rungs"], f"{where}: rungs.whistle: missing")
    whistle = spec["whistle"]
    for party in whistle["escalation"]:
        _check(party in parties, f"{where}: whistle.escalation: unknown party '{party}'")
    for key in ("urgent", "within_bureau", "across_bureaus"):
        _check(key in whistle["report_within"], f"{where}: whistle.report_within.{key}: missing")
    report_within = {k: _period(v, f"{where}: whistle.report_within.{k}") for k, v in whistle["report_within"].items()}
    return Ladder(
        tuple(rungs), MappingProxyType(parties), MappingProxyType(report_within), tuple(whistle["escalation"])
    )


def _routing(spec: dict, territory: dict) -> RoutingTable:
    where = "workflows/routing.yaml"
    table = RoutingTable(MappingProxyType({b: tuple(p) for b, p in territory.items()}), MappingProxyType({}))
    for code in spec["districts"]:
        _check(table.bureau_of(code) is not None,
               f"{where}: districts.{code}: in no bureau's jurisdiction (exchange.yaml)")  # fmt: skip
    districts = {code: District(d["name"], d["unit"]) for code, d in spec["districts"].items()}
    return RoutingTable(table.territory, MappingProxyType(districts))


def _check_open311(spec: dict, catalog: dict):
    where = "workflows/open311.yaml"
    for code, service in spec["services"].items():
        category = service["category"]
        _check(category in catalog["categories"], f"{where}: services.{code}.category: unknown category '{category}'")
        for attribute in service["attributes"]:
            lists = attribute["datatype"].endswith("valuelist")
            here = f"{where}: services.{code}.attributes.{attribute['code']}"
            _check(lists == bool(attribute["values"]), f"{here}: values go with the list datatypes, and only with them")
    for bureau, codes in spec["jurisdictions"].items():
        _check(bureau in catalog["bureaus"], f"{where}: jurisdictions.{bureau}: unknown bureau")
        for code in codes:
            _check(code in spec["services"], f"{where}: jurisdictions.{bureau}: unknown service '{code}'")
