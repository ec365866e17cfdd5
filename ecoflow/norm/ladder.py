"""The escalation ladder: when each rung of a clock falls due, and who each party is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

from .calendar import Period


def _seconds(period: Period) -> int:
    return (
        period.amount
        * {"minutes": 60, "hours": 3600, "natural_days": 86400, "working_days": 86400, "calendar_days": 86400}[
            period.unit
        ]
    )


@dataclass(frozen=True)
class Rung:
    name: str
    label: str
    at: float  # fraction of the clock's period, from its start
    not_later_than_before_due: Period | None
    at_once_for_grades: frozenset[str]
    notify: tuple[str, ...]
    summon: tuple[str, ...]
    opens_supervision: bool
    transfers: bool = False  # a late case whose place lies in another bureau's jurisdiction goes there
    not_on_periods_up_to: Period | None = None  # skipped on a clock this short (its first rung is overdue)


@dataclass(frozen=True)
class Ladder:
    rungs: tuple[Rung, ...]
    parties: MappingProxyType  # name -> {"label", "role", "unit", "assignee", "bureau_wide", "any_bureau", "peer"}
    report_within: MappingProxyType  # "urgent" | "within_bureau" | "across_bureaus" -> Period
    escalation: tuple[str, ...]

    def rung(self, name: str) -> Rung:
        return next(r for r in self.rungs if r.name == name)

    def rung_due_at(self, rung: Rung, grade: str | None, started_at: datetime, due_at: datetime) -> datetime:
        """When `rung` falls due on a clock that runs from `started_at` to `due_at`."""
        if grade in rung.at_once_for_grades:
            return due_at
        moment = started_at + (due_at - started_at) * rung.at
        if rung.not_later_than_before_due:
            moment = min(moment, due_at - timedelta(seconds=_seconds(rung.not_later_than_before_due)))
        return max(moment, started_at)

    def next_rung(self, fired: str | None, grade: str | None, started_at: datetime, due_at: datetime):
        """The rung after `fired` (None: the first) and when it falls due; (None, None) at the top."""
        names = [r.name for r in self.rungs]
        index = names.index(fired) + 1 if fired else 0
        # A rung not meant for a clock this short (a warning on a 15-minute 签收) is passed over.
        while index < len(self.rungs) and self._skipped(self.rungs[index], started_at, due_at):
            index += 1
        if index >= len(self.rungs):
            return None, None
        rung = self.rungs[index]
        return rung.name, self.rung_due_at(rung, grade, started_at, due_at)

    @staticmethod
    def _skipped(rung: Rung, started_at: datetime, due_at: datetime) -> bool:
        limit = rung.not_on_periods_up_to
        return limit is not None and (due_at - started_at).total_seconds() <= _seconds(limit)

    def report_period(self, grade: str | None, across_bureaus: bool) -> Period:
        if grade == "urgent":
            return self.report_within["urgent"]
        return self.report_within["across_bureaus" if across_bureaus else "within_bureau"]
