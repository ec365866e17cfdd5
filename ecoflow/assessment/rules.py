"""Loads workflows/assessment.yaml: what each measure counts, who sees it, the hotspot thresholds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from flask import current_app
from marshmallow import Schema, fields, validate

from ecoflow.norm import Norm, NormError
from ecoflow.norm.loader import read_norm_file

FILE = "assessment.yaml"
Names = fields.List(fields.String(), required=True)
Positive = fields.Integer(required=True, validate=validate.Range(min=1))


class MeasuresSchema(Schema):
    response_clock = fields.String(required=True)
    reply_clock = fields.String(required=True)
    overdue_clocks = Names
    follow_up_action = fields.String(required=True)
    satisfied_levels = Names
    answer_actions = Names
    lead_clock = fields.String(required=True)
    complainant_measures_skip_channels = Names


class HotspotsSchema(Schema):
    window_days = Positive
    grid_degrees = fields.Float(required=True, validate=validate.Range(min=0.001, max=5))
    min_cases = Positive
    alert_cases = Positive
    alert_role = fields.String(required=True)


class AssessmentSchema(Schema):
    measures = fields.Nested(MeasuresSchema, required=True)
    ranking = fields.Dict(fields.String(), fields.Float(validate=validate.Range(min=0)), required=True)
    viewers = Names
    all_bureaus = Names
    hotspots = fields.Nested(HotspotsSchema, required=True)


@dataclass(frozen=True)
class Rules:
    """The assessment rules, checked against the norm they refer to."""

    response_clock: str
    reply_clock: str
    overdue_clocks: frozenset[str]
    follow_up_action: str
    satisfied_levels: frozenset[str]
    answer_actions: frozenset[str]
    lead_clock: str
    complainant_measures_skip_channels: frozenset[str]
    ranking: MappingProxyType
    viewers: frozenset[str]
    all_bureaus: frozenset[str]
    hotspots: MappingProxyType

    @property
    def clock_measures(self) -> dict[str, str]:
        """Clock kind → the measure its clocks are counted in."""
        kinds = {kind: kind for kind in self.overdue_clocks}
        return kinds | {self.response_clock: "response", self.reply_clock: "reply", self.lead_clock: "lead"}


RATES = ("response", "reply", "resolution", "satisfaction", "reopen", "whistle", "lead")


def load_rules(directory, norm: Norm) -> Rules:
    """Read and cross-check workflows/assessment.yaml; NormError names the fault."""
    spec = read_norm_file(Path(directory), FILE, AssessmentSchema())
    measures = spec["measures"]
    where = f"workflows/{FILE}"

    def check(names, known, what):
        for name in names if isinstance(names, list) else [names]:
            if name not in known:
                raise NormError(f"{where}: {what}: unknown '{name}'")

    clocks = [measures["response_clock"], measures["reply_clock"], measures["lead_clock"], *measures["overdue_clocks"]]
    check(clocks, norm.clocks, "clock")
    check([measures["follow_up_action"], *measures["answer_actions"]], norm.actions, "action")
    check(measures["satisfied_levels"], norm.catalog["satisfaction"], "satisfied_levels")
    check(measures["complainant_measures_skip_channels"], norm.catalog["channels"], "channel")
    check(list(spec["ranking"]), RATES, "ranking")
    check(spec["viewers"] + spec["all_bureaus"] + [spec["hotspots"]["alert_role"]], norm.catalog["roles"], "role")
    frozen = {k: frozenset(v) if isinstance(v, list) else v for k, v in measures.items()}
    return Rules(
        **frozen,
        ranking=MappingProxyType(spec["ranking"]),
        viewers=frozenset(spec["viewers"]),
        all_bureaus=frozenset(spec["all_bureaus"]),
        hotspots=MappingProxyType(spec["hotspots"]),
    )


def get_rules() -> Rules:
    return current_app.extensions["ecoflow.assessment"]
