"""Cron arithmetic (schedule/cron.py): expressions and time zones as the CronJob controller accepts them, and the
longest gap between two runs."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from conftest import run

from hgbackup.errors import InvalidInput
from hgbackup.schedule import file as schedule
from hgbackup.schedule.cron import cron_interval

BASE = "name: x\nstore: s3://b/p\ncluster: prod\n"


def parse(extra: str, cron: str = "30 2 * * *"):
    return schedule.parse(f"{BASE}schedule: '{cron}'\n{extra}", "f")


@pytest.mark.parametrize("cron, tz, interval", [
    ("30 2 * * *", "Etc/UTC", timedelta(days=1)),
    ("*/5 * * * *", "UTC", timedelta(minutes=5)),
    ("0 3 * * 1-5", "UTC", timedelta(days=3)),  # Friday to Monday
    ("@hourly", "UTC", timedelta(hours=1)),
    ("@weekly", "UTC", timedelta(days=7)),
    ("0 0 1 * *", "UTC", timedelta(days=31)),
    ("0 0 ? * MON", "UTC", timedelta(days=7)),  # robfig/cron's ? is *
    ("30 2 * * *", "Europe/Berlin", timedelta(hours=25)),  # the autumn DST change makes one day 25 hours
])


def test_cron_interval_is_the_longest_gap(cron, tz, interval):
    assert cron_interval(cron, tz) == interval


@pytest.mark.parametrize("cron, tz, message", [
    ("61 * * * *", "UTC", "schedule: '61 * * * *'"),
    ("* * * *", "UTC", "not a cron expression"),
    ("@every 5m", "UTC", "unknown descriptor"),
    ("TZ=Europe/Berlin 0 2 * * *", "UTC", "set the time zone with timeZone"),
    ("0 2 30 2 *", "UTC", "Bad day-of-month"),
    ("30 2 * * *", "Mars/Olympus", "not an IANA time zone"),
    ("30 2 * * *", "../../etc/passwd", "not an IANA time zone"),
])


def test_render_refuses_bad_cron_and_time_zones(cron, tz, message, tmp_path):
    with pytest.raises(InvalidInput, match=re.escape(message)):
        parse(f"timeZone: '{tz}'\n", cron)
    path = tmp_path / "s.yaml"
    path.write_text(f"{BASE}schedule: '{cron}'\ntimeZone: '{tz}'\n")
    result = run("schedule", "render", str(path), code=2)
    assert result.stderr.count("\n") == 1 and message in result.stderr
