"""Instants entered and shown in the service's time zone (Europe/Paris by default).

Deadlines are typed as local wall-clock times. On the two DST days a wall-clock time can be missing
(29 March 2026, 02:30 does not exist) or ambiguous (25 October 2026, 02:30 happens twice): both are
refused with a clear message rather than guessed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

from grants.database import utcnow

DEFAULT_TIME_ZONE = "Europe/Paris"


class LocalTimeError(ValueError):
    pass


class NonexistentLocalTime(LocalTimeError):
    """The wall-clock time is skipped when clocks go forward."""


class AmbiguousLocalTime(LocalTimeError):
    """The wall-clock time happens twice when clocks go back."""


def local_zone() -> ZoneInfo:
    name = current_app.config.get("TIME_ZONE", DEFAULT_TIME_ZONE) if has_app_context() else DEFAULT_TIME_ZONE
    return ZoneInfo(name)


def from_local(wall_clock: datetime) -> datetime:
    """A naive local wall-clock time → the aware UTC instant it names."""
    if wall_clock.tzinfo is not None:
        return wall_clock.astimezone(UTC)
    zone = local_zone()
    first = wall_clock.replace(tzinfo=zone, fold=0)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall_clock:
        raise NonexistentLocalTime(wall_clock.isoformat())
    if first.utcoffset() != wall_clock.replace(tzinfo=zone, fold=1).utcoffset():
        raise AmbiguousLocalTime(wall_clock.isoformat())
    return first.astimezone(UTC)


def to_local(instant: datetime) -> datetime:
    """An aware instant → the naive wall-clock time in the service's zone (to prefill a form)."""
    return instant.astimezone(local_zone()).replace(tzinfo=None)


def local_today(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(local_zone()).date()


def next_local_midnight(now: datetime | None = None) -> datetime:
    """The instant the local calendar turns to the next day (countdowns in days change then)."""
    tomorrow = local_today(now) + timedelta(days=1)
    return datetime.combine(tomorrow, time(0, 0), tzinfo=local_zone()).astimezone(UTC)


def budget_year(now: datetime | None = None) -> int:
    """The budget year is the civil year in Paris (a call opened on 31 December at 23:30 UTC is
    already in the next year's budget)."""
    return local_today(now).year
