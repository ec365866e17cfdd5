"""Web forms: intake, the workbench filters, and one form per action of workflows/lifecycle.yaml,
built from the fields the action declares, so an action added to the norm gets its form."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    Field,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ecoflow.norm import Action, Norm

REQUIRED = _l("This field is required.")


def options(pairs, blank: str | None = None) -> list[SelectChoice]:
    """(value, label) pairs (or ready options) as a select's, after a blank one when `blank` is given."""
    head = [SelectChoice("", blank)] if blank is not None else []
    return head + [pair if isinstance(pair, SelectChoice) else SelectChoice(*pair) for pair in pairs]


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class IntakeForm(FlaskForm):
    channel = SelectField(_l("Channel"), [InputRequired(REQUIRED)])
    external_id = StringField(_l("External number"), [Optional(), Length(max=64)])
    type = SelectField(_l("Request type"), [InputRequired(REQUIRED)])
    name = StringField(_l("Complainant"), [Optional(), Length(max=50)])
    phone = StringField(_l("Contact phone"), [Optional(), Length(max=20)])
    callback_consent = BooleanField(_l("Agrees to be called back"))
    # Unticked by default: the complainant hears back by SMS unless they say they do not want to.
    declines_sms = BooleanField(_l("Does not want SMS notices (receipt, answer, closure)"))
    complainant_address = StringField(
        _l("Complainant's address"), [Optional(), Length(max=200)], description=_l("Their own home; masked")
    )
    address = StringField(
        _l("Place of the pollution"),
        [InputRequired(REQUIRED), Length(max=200)],
        description=_l("Where it is seen or comes from; sent whole with a lead"),
    )
    at_home = BooleanField(_l("The place is the complainant's own home"))
    description = TextAreaField(_l("Description"), [InputRequired(REQUIRED), Length(max=4000)])
    sensitive = BooleanField(_l("Sensitive: hide the complainant from the handling unit"))
    petition = BooleanField(_l("Formal petition (letters and visits regulation)"))
    people_count = IntegerField(_l("Number of people"), [Optional(), NumberRange(1, 100000)])
    joint = BooleanField(_l("Joint petition"))
    # 领导批示 carried by a case of channel `leader`.
    instruction_leader = StringField(_l("Instructing leader"), [Optional(), Length(max=50)])
    instruction_title = StringField(_l("Leader's title"), [Optional(), Length(max=100)])
    instruction_text = TextAreaField(_l("Instruction"), [Optional(), Length(max=2000)])
    instruction_days = IntegerField(_l("Report back within (days)"), [Optional(), NumberRange(1, 366)])
    received_at = DateTimeLocalField(
        _l("Received at"), [Optional()], format="%Y-%m-%dT%H:%M", description=_l("Beijing time; empty: now")
    )
    # Set once the clerk has seen the possible duplicates and still wants a new case.
    confirmed = HiddenField()

    def fill_choices(self, norm: Norm):
        self.channel.choices = options(norm.catalog["channels"].items(), "—")
        self.type.choices = options(norm.catalog["types"].items(), "—")
        return self

    def api_data(self) -> dict:
        """What the API's intake schema takes."""
        complainant = {"callback_consent": self.callback_consent.data, "notify": not self.declines_sms.data}
        if self.name.data:
            complainant["name"] = self.name.data
        if self.phone.data:
            complainant["phone"] = self.phone.data.strip()
        if self.complainant_address.data:
            complainant["address"] = self.complainant_address.data.strip()
        data = {
            "channel": self.channel.data,
            "type": self.type.data,
            "description": self.description.data,
            "complainant": complainant,
            "location": {"address": self.address.data, "at_home": self.at_home.data},
            "sensitive": self.sensitive.data,
            "petition": self.petition.data,
            "joint": self.joint.data,
        }
        if self.people_count.data:
            data["people_count"] = self.people_count.data
        if self.instruction_leader.data or self.instruction_text.data:
            data["instruction"] = {
                "leader_name": self.instruction_leader.data, "leader_title": self.instruction_title.data,
                "text": self.instruction_text.data, "report_days": self.instruction_days.data,
            }  # fmt: skip
        if self.external_id.data:
            data["external_id"] = self.external_id.data.strip()
        if self.received_at.data:
            data["received_at"] = self.received_at.data.isoformat()  # local time: the schema reads it as Beijing's
        return data

    # Where the API schema's nested error messages land on this form.
    API_FIELDS = {
        ("complainant", "name"): "name",
        ("complainant", "phone"): "phone",
        ("complainant", "address"): "complainant_address",
        ("location", "address"): "address",
        ("instruction", "leader_name"): "instruction_leader",
        ("instruction", "leader_title"): "instruction_title",
        ("instruction", "text"): "instruction_text",
        ("instruction", "report_days"): "instruction_days",
    }


class ExposureForm(FlaskForm):
    """宣传曝光 from the case page: the title and summary the public board shows (scrubbed there)."""

    title = StringField(_l("Title"), [InputRequired(REQUIRED), Length(max=100)])
    summary = TextAreaField(_l("Summary for the public"), [Optional(), Length(max=4000)])


class WorkbenchFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form changes nothing

    state = SelectField(_l("State"), [Optional()])
    overdue = BooleanField(_l("Overdue only"))
    text = StringField(_l("Search"), [Optional(), Length(max=100)])


def _field(spec: dict, name: str, norm: Norm, choices: dict) -> Field:
    kind, label = spec["type"], spec.get("label") or name
    need = [InputRequired(REQUIRED)] if spec["required"] else [Optional()]
    catalog = norm.catalog
    pickers = {
        "grade": lambda: [(g.name, g.label) for g in norm.grades.values()],
        "satisfaction": lambda: list(catalog["satisfaction"].items()),
        "categories": lambda: list(catalog["categories"].items()),
        "parties": lambda: [(n, p["label"]) for n, p in norm.ladder.parties.items()],
        "bureau": lambda: list(catalog["bureaus"].items()),
        "unit": lambda: choices.get("unit", []),
        "officer": lambda: choices.get("officer", []),
        "leader": lambda: choices.get("leader", []),
    }
    if kind == "text":
        return TextAreaField(label, [*need, Length(max=4000)])
    if kind == "evidence":
        return TextAreaField(label, [Optional(), Length(max=25000)], description=_l("One item per line"))
    if kind == "integer":
        return IntegerField(label, [*need, NumberRange(1, 366, _l("Enter a number from 1 to 366."))])
    if kind == "boolean":
        return RadioField(label, need, choices=options([("1", _l("Yes")), ("0", _l("No"))]))
    if kind in ("categories", "parties"):
        return CheckboxesField(label, need, choices=options(pickers[kind]()))
    if kind in pickers:
        return SelectField(label, need, choices=options(pickers[kind](), "—"))
    return StringField(label, [*need, Length(max=200)])  # string, case_no


def action_form(action: Action, norm: Norm, choices: dict, **kwargs) -> FlaskForm:
    """The form for `action`: a field per declared field, and the case version the officer saw.
    `choices` holds the unit and officer pickers, scoped to the case's bureau."""
    attributes = {name: _field(spec, name, norm, choices) for name, spec in action.fields.items()}
    attributes["version"] = HiddenField()
    form_class = type(f"{action.name.title()}Form", (FlaskForm,), attributes)
    return form_class(prefix=action.name, **kwargs)


def action_data(form: FlaskForm, action: Action) -> dict:
    """The form's answers as the API's action schema takes them; blanks left out."""
    version = str(form.version.data)
    data = {"version": int(version) if re.fullmatch(r"[0-9]{1,9}", version) else -1}  # -1: stale, never a version
    for name, spec in action.fields.items():
        value = form[name].data
        if spec["type"] == "boolean":
            value = {"1": True, "0": False}.get(value)
        elif spec["type"] == "evidence":
            value = [line.strip() for line in (value or "").splitlines() if line.strip()]
        if value not in (None, "", []):
            data[name] = value
    return data


def attach_errors(form: FlaskForm, messages: dict, places: dict | None = None):
    """Put the API's messages per field (possibly nested) next to the form's fields, unless the
    form's own check already speaks there; what has no field of its own goes to the top."""

    def walk(value, path):
        if isinstance(value, dict):
            for key, inner in value.items():
                yield from walk(inner, (*path, key))
        else:
            yield path, value if isinstance(value, list) else [value]

    for path, texts in walk(messages, ()):
        name = (places or {}).get(path[:2]) or (path[0] if path else None)
        if name in form:
            form[name].errors = list(form[name].errors) or texts
        else:
            form.form_errors.extend(texts)
