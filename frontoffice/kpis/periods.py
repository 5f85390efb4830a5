"""What a KPI is computed for: a period (days, end excluded) and a scope (who or what)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from frontoffice.errors import ApplicationError
from frontoffice.models import PeriodKind, ScopeKind


@dataclass(frozen=True)
class Period:
    """[start, end) in local days. `start_at`/`end_at` are the aware datetimes the SQL compares."""

    kind: str
    start: date
    end: date

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=timezone.get_current_timezone())

    @property
    def end_at(self) -> datetime:
        return datetime.combine(self.end, time.min, tzinfo=timezone.get_current_timezone())

    @property
    def label(self) -> str:
        if self.kind == PeriodKind.DAY:
            return self.start.isoformat()
        if self.kind == PeriodKind.WEEK:
            year, week, _day = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind == PeriodKind.MONTH:
            return f"{self.start:%Y-%m}"
        return f"{self.start.isoformat()}..{(self.end - timedelta(days=1)).isoformat()}"

    def previous(self) -> Period:
        """The period of the same kind just before this one (for trends and baselines)."""
        if self.kind == PeriodKind.MONTH:
            end = self.start
            start = (end - timedelta(days=1)).replace(day=1)
            return Period(self.kind, start, end)
        length = self.end - self.start
        return Period(self.kind, self.start - length, self.start)

    @classmethod
    def day(cls, day: date) -> Period:
        return cls(PeriodKind.DAY, day, day + timedelta(days=1))

    @classmethod
    def week_of(cls, day: date) -> Period:
        monday = day - timedelta(days=day.weekday())
        return cls(PeriodKind.WEEK, monday, monday + timedelta(days=7))

    @classmethod
    def month_of(cls, day: date) -> Period:
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
        return cls(PeriodKind.MONTH, start, end)

    @classmethod
    def parse(cls, text: str) -> Period:
        """`2026-11-22` (a day), `2026-W47` (an ISO week), `2026-11` (a month) or
        `2026-01-01..2026-03-31` (a custom range, both days included)."""
        text = (text or "").strip()
        try:
            if match := re.fullmatch(r"(\d{4})-W(\d{2})", text):
                monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
                return cls.week_of(monday)
            if re.fullmatch(r"\d{4}-\d{2}", text):
                return cls.month_of(date.fromisoformat(f"{text}-01"))
            if ".." in text:
                first, last = (date.fromisoformat(part) for part in text.split("..", 1))
                if last < first:
                    raise ValueError("the range ends before it starts")
                return cls(PeriodKind.CUSTOM, first, last + timedelta(days=1))
            return cls.day(date.fromisoformat(text))
        except ValueError as exc:
            message = (
                f"{text!r} is not a period: use 2026-11-22, 2026-W47, 2026-11 or "
                f"2026-01-01..2026-03-31 ({exc})."
            )
            raise ApplicationError("Invalid period.", errors={"period": [message]}) from exc


@dataclass(frozen=True)
class Scope:
    """Everything (`all`), or one team, rep, campaign (ids as text), inquiry/touchpoint channel,
    or lead segment (`hot`/`nurture`)."""

    kind: str = ScopeKind.ALL
    key: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ScopeKind.values:
            message = f"{self.kind!r} is not one of {', '.join(ScopeKind.values)}."
            raise ApplicationError("Invalid scope.", errors={"scope": [message]})
        if (self.kind == ScopeKind.ALL) != (self.key == ""):
            message = "Give a key for a team, rep, campaign, channel or segment, none for all."
            raise ApplicationError("Invalid scope.", errors={"scope_key": [message]})
        if self.kind in (ScopeKind.TEAM, ScopeKind.REP, ScopeKind.CAMPAIGN) and not (
            self.key.isdigit() and 0 < int(self.key) < 2**63
        ):
            message = f"A {self.kind} scope needs its id."
            raise ApplicationError("Invalid scope.", errors={"scope_key": [message]})

    @property
    def id(self) -> int | None:
        return int(self.key) if self.key.isdigit() else None


ALL = Scope()
