"""Working-day arithmetic on the official Chinese calendar, and the periods clocks are made of."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import chinese_calendar

from ecoflow.timeutil import SHANGHAI

log = logging.getLogger(__name__)

# calendar_days: natural days counted whole, as 《信访工作条例》 counts them: a period of N of them is due
# at the end of the Nth day after the day it starts (Asia/Shanghai), whatever the hour it started.
UNITS = ("minutes", "hours", "natural_days", "working_days", "calendar_days")


@dataclass(frozen=True)
class Period:
    """A length of time as the norm states it, e.g. 15 working days."""

    amount: int
    unit: str

    @property
    def is_working_days(self) -> bool:
        return self.unit == "working_days"

    @property
    def day_unit(self) -> str:
        """The kind of day an extension of this period is counted in."""
        return "working_days" if self.is_working_days else "natural_days"  # calendar_days end at midnight

    @property
    def whole_days(self) -> int:
        """The period in days, rounded up (what the first extension may add at most)."""
        if self.unit in ("natural_days", "working_days", "calendar_days"):
            return self.amount
        seconds = self.amount * (60 if self.unit == "minutes" else 3600)
        return -(-seconds // 86400)

    def describe(self) -> str:
        labels = {"minutes": "分钟", "hours": "小时", "natural_days": "个自然日", "working_days": "个工作日",
                  "calendar_days": "日"}  # fmt: skip
        return f"{self.amount}{labels[self.unit]}"


class WorkCalendar:
    """Tells working days from rest days: operator entries, then the library, then weekends."""

    def __init__(self, holidays=(), workdays=()):
        self.holidays = frozenset(holidays)
        self.workdays = frozenset(workdays)
        self._fallback_years_logged: set[int] = set()

    def knows(self, year: int) -> bool:
        """Whether the official holidays of `year` are known: to the library, or listed in calendar.yaml."""
        if any(day.year == year for day in self.holidays | self.workdays):
            return True
        try:
            chinese_calendar.is_workday(date(year, 1, 1))
        except NotImplementedError:
            return False
        return True

    def unknown_years(self, today: date, ahead: timedelta = timedelta(days=60)) -> list[int]:
        """This year and the one `ahead` reaches into, where their holidays are not known: deadlines
        running into them count weekends only."""
        return [year for year in sorted({today.year, (today + ahead).year}) if not self.knows(year)]

    def is_workday(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            if day.year not in self._fallback_years_logged:
                self._fallback_years_logged.add(day.year)
                log.warning(
                    "No official holiday calendar for %s: counting weekends only "
                    "(add the announced holidays to workflows/calendar.yaml)",
                    day.year,
                )
            return day.weekday() < 5

    def add(self, start: datetime, period: Period) -> datetime:
        """The moment `period` after `start` (aware datetimes; days counted in Asia/Shanghai)."""
        if period.unit == "minutes":
            return start + timedelta(minutes=period.amount)
        if period.unit == "hours":
            return start + timedelta(hours=period.amount)
        local = start.astimezone(SHANGHAI)
        if period.unit == "natural_days":
            return (local + timedelta(days=period.amount)).astimezone(start.tzinfo)
        if period.unit == "calendar_days":
            return _midnight(local.date() + timedelta(days=period.amount + 1)).astimezone(start.tzinfo)
        return self.add_working_days(local, period.amount).astimezone(start.tzinfo)

    def add_working_days(self, local: datetime, days: int) -> datetime:
        """Same time of day `days` working days later; a start on a rest day counts from the
        next working day's midnight, so the result is the end of the last working day."""
        day = local.date()
        clock_time = local.timetz()
        if not self.is_workday(day):
            day = self._next_workday(day)
            clock_time = time(0, tzinfo=SHANGHAI)
        for _ in range(days):
            day = self._next_workday(day)
        return datetime.combine(day, clock_time.replace(tzinfo=None), tzinfo=SHANGHAI)

    def working_seconds(self, start: datetime, end: datetime) -> int:
        """How much working time lies between two moments: the part of [start, end) on working
        days, each working day counted whole, midnight to midnight in Asia/Shanghai (as
        add_working_days counts them: one working day is 86400 seconds of working time)."""
        local, end = start.astimezone(SHANGHAI), end.astimezone(SHANGHAI)
        seconds = timedelta(0)
        while local < end:
            midnight = _midnight(local.date() + timedelta(days=1))
            if self.is_workday(local.date()):
                seconds += min(end, midnight) - local
            local = midnight
        return int(seconds.total_seconds())

    def add_working_seconds(self, start: datetime, seconds: int) -> datetime:
        """The moment `seconds` of working time after `start` (time on rest days does not count).
        Working time that runs out at the end of a working day followed by rest days lands at the
        start of the next working day, as add_working_days does."""
        if seconds <= 0:
            return start
        local, remaining = start.astimezone(SHANGHAI), timedelta(seconds=seconds)
        while True:
            if not self.is_workday(local.date()):
                local = _midnight(self._next_workday(local.date()))
                continue
            midnight = _midnight(local.date() + timedelta(days=1))
            if remaining < midnight - local:
                return (local + remaining).astimezone(start.tzinfo)
            remaining -= midnight - local
            local = midnight

    def _next_workday(self, day: date) -> date:
        day += timedelta(days=1)
        while not self.is_workday(day):
            day += timedelta(days=1)
        return day


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=SHANGHAI)
