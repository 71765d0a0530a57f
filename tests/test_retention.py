"""Retention is a pure function: a table of policies against fixed timestamps."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from hgbackup.errors import InvalidInput
from hgbackup.retention import Policy, Snap, apply_policy, parse_within

T0 = datetime(2026, 11, 20, 23, 0, tzinfo=timezone.utc)  # a Friday


def series(hours: list[float], cluster: str = "c") -> list[Snap]:
    """Snapshots taken `h` hours before T0, ids in time order."""
    return [Snap(f"{cluster}-{i:03d}", T0 - timedelta(hours=h), cluster) for i, h in enumerate(hours)]


# every 6 hours over 60 days: 240 snapshots, the newest at T0
SIX_HOURLY = series([6 * i for i in range(240)])


def kept_ids(decision):
    return sorted(s.id for s, _ in decision.keep)


@pytest.mark.parametrize("policy,expected", [
    (Policy(keep_last=3), ["c-000", "c-001", "c-002"]),
    # the newest snapshot of each of the last 3 days: 23:00 on each of them
    (Policy(keep_daily=3), ["c-000", "c-004", "c-008"]),
    (Policy(keep_hourly=2), ["c-000", "c-001"]),
    (Policy(keep_within=timedelta(hours=12)), ["c-000", "c-001", "c-002"]),
])
def test_simple_policies(policy, expected):
    decision = apply_policy(SIX_HOURLY, policy)
    assert kept_ids(decision) == expected
    assert len(decision.keep) + len(decision.remove) == len(SIX_HOURLY)


def test_weekly_uses_iso_weeks():
    decision = apply_policy(SIX_HOURLY, Policy(keep_weekly=3))
    kept = sorted((s.created for s, _ in decision.keep), reverse=True)
    # newest of ISO week 47 (Fri 20 Nov), then the last snapshot of weeks 46 and 45: Sundays at 23:00
    assert [t.isoformat() for t in kept] == ["2026-11-20T23:00:00+00:00", "2026-11-15T23:00:00+00:00",
                                             "2026-11-08T23:00:00+00:00"]


def test_monthly_and_yearly():
    decision = apply_policy(SIX_HOURLY, Policy(keep_monthly=5, keep_yearly=5))
    months = sorted({s.created.strftime("%Y-%m") for s, _ in decision.keep})
    assert months == ["2026-09", "2026-10", "2026-11"]  # only three months have snapshots
    reasons = dict((s.id, r) for s, r in decision.keep)
    assert reasons["c-000"] == ["monthly 2026-11", "yearly 2026"]


def test_rules_combine_by_or_with_every_reason():
    decision = apply_policy(SIX_HOURLY, Policy(keep_last=2, keep_daily=2))
    reasons = {s.id: r for s, r in decision.keep}
    assert reasons == {"c-000": ["last", "daily 2026-11-20"], "c-001": ["last"], "c-004": ["daily 2026-11-19"]}


def test_keep_within_is_relative_to_the_newest_snapshot_not_now():
    old = series([24 * 400 + h for h in (0, 10, 30)])  # backups stopped more than a year ago
    decision = apply_policy(old, Policy(keep_within=timedelta(hours=12)))
    assert kept_ids(decision) == ["c-000", "c-001"]


def test_the_last_snapshot_of_a_cluster_is_never_removed():
    decision = apply_policy(series([0, 1, 2]), Policy(keep_last=0))
    assert kept_ids(decision) == ["c-000"]
    assert "never removed" in decision.keep[0][1][0]


def test_grouped_per_cluster():
    snaps = series([0, 1, 2], "a") + series([5, 6], "b")
    decision = apply_policy(snaps, Policy(keep_last=1))
    assert kept_ids(decision) == ["a-000", "b-000"]
    assert sorted(s.id for s in decision.remove) == ["a-001", "a-002", "b-001"]


def test_empty_policy_is_refused():
    with pytest.raises(InvalidInput):
        apply_policy(SIX_HOURLY, Policy())


@pytest.mark.parametrize("text,delta", [("30d", timedelta(days=30)), ("2w", timedelta(weeks=2)),
                                        ("1y6M", timedelta(days=545)), ("12h", timedelta(hours=12))])
def test_parse_within(text, delta):
    assert parse_within(text) == delta


@pytest.mark.parametrize("data,field", [({"keep_daily": -1}, "keep_daily"), ({"keep_daily": "7"}, "keep_daily"),
                                        ({"keep_within": "soon"}, "keep_within"), ({"keep_fortnightly": 2},
                                                                                    "keep_fortnightly")])
def test_bad_rules_name_the_field(data, field):
    with pytest.raises(InvalidInput, match=field):
        Policy.from_dict(data)
