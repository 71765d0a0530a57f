"""Cron arithmetic of a schedule: its expression and time zone checked as the CronJob controller accepts them, and
the longest gap between two runs (what the staleness alert waits for)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from ..errors import InvalidInput

# robfig/cron's descriptors, which the CronJob controller accepts, as the 5 fields they stand for.
DESCRIPTORS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
               "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}


def cron_interval(expression: str, time_zone: str) -> timedelta:
    """Validate a CronJob schedule and time zone as the CronJob controller would accept them (5 fields or a
    descriptor; an IANA zone), and return the longest gap between two runs over a year from a fixed date."""
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"timeZone: {time_zone!r} is not an IANA time zone (e.g. Etc/UTC, Europe/Berlin)") from None
    text = expression.strip()
    if re.match(r"(CRON_)?TZ=", text):
        raise InvalidInput(f"schedule: {expression!r}: set the time zone with timeZone, not in the expression")
    fields = DESCRIPTORS.get(text.lower(), text)
    if text.startswith("@") and fields == text:
        raise InvalidInput(f"schedule: {expression!r}: unknown descriptor (known: {', '.join(DESCRIPTORS)})")
    parts = fields.split()
    if len(parts) != 5:
        raise InvalidInput(f"schedule: {expression!r} is not a cron expression (5 fields: minute hour day-of-month "
                           "month day-of-week)")
    parts = [p.replace("?", "*") if i in (2, 4) else p for i, p in enumerate(parts)]  # robfig/cron: ? is *
    start = datetime(2026, 1, 1, tzinfo=zone)
    try:
        fires = CronSim(" ".join(parts), start)
        previous = next(fires).astimezone(timezone.utc)  # aware datetimes of one zone subtract as wall clocks
        longest = timedelta(0)
        for _ in range(20000):
            current = next(fires).astimezone(timezone.utc)
            longest = max(longest, current - previous)
            previous = current
            if current - start.astimezone(timezone.utc) > timedelta(days=366):
                break
    except CronSimError as exc:
        raise InvalidInput(f"schedule: {expression!r}: {exc}") from None
    except StopIteration:
        raise InvalidInput(f"schedule: {expression!r} never runs") from None
    return longest

