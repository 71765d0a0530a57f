"""Retention is a pure function: a table of policies against fixed timestamps."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from hgbackup.errors import InvalidInput
from hgbackup.schedule.retention import Policy, Snap, Within, apply_policy, parse_within

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
    # strictly newer than newest - 12h: the snapshot exactly 12 hours older is not kept (restic: After)
    (Policy(keep_within=Within(hours=12)), ["c-000", "c-001"]),
])
def test_simple_policies(policy, expected):
    decision = apply_policy(SIX_HOURLY, policy, now=T0)
    assert kept_ids(decision) == expected
    assert len(decision.keep) + len(decision.remove) == len(SIX_HOURLY)


def test_weekly_uses_iso_weeks():
    decision = apply_policy(SIX_HOURLY, Policy(keep_weekly=3), now=T0)
    kept = sorted((s.created for s, _ in decision.keep), reverse=True)
    # newest of ISO week 47 (Fri 20 Nov), then the last snapshot of weeks 46 and 45: Sundays at 23:00
    assert [t.isoformat() for t in kept] == ["2026-11-20T23:00:00+00:00", "2026-11-15T23:00:00+00:00",
                                             "2026-11-08T23:00:00+00:00"]


def test_monthly_and_yearly_with_unfilled_counts_keep_the_oldest_too():
    """restic: a bucket rule with count left after the newest of every bucket keeps the group's oldest snapshot."""
    decision = apply_policy(SIX_HOURLY, Policy(keep_monthly=5, keep_yearly=5), now=T0)
    reasons = {s.id: r for s, r in decision.keep}
    oldest = SIX_HOURLY[-1].id  # 2026-09-21 05:00, the first snapshot of September
    assert sorted(reasons) == ["c-000", "c-080", "c-204", oldest]  # newest of Nov, Oct, Sep; then the oldest
    assert reasons["c-000"] == ["monthly 2026-11", "yearly 2026"]
    assert reasons[oldest] == ["oldest monthly 2026-09", "oldest yearly 2026"]


def test_a_filled_count_does_not_keep_the_oldest():
    decision = apply_policy(SIX_HOURLY, Policy(keep_monthly=3), now=T0)
    assert kept_ids(decision) == ["c-000", "c-080", "c-204"]


def test_rules_combine_by_or_with_every_reason():
    decision = apply_policy(SIX_HOURLY, Policy(keep_last=2, keep_daily=2), now=T0)
    reasons = {s.id: r for s, r in decision.keep}
    assert reasons == {"c-000": ["last", "daily 2026-11-20"], "c-001": ["last"], "c-004": ["daily 2026-11-19"]}


def test_keep_within_is_relative_to_the_newest_snapshot_not_now():
    old = series([24 * 400 + h for h in (0, 10, 30)])  # backups stopped more than a year ago
    decision = apply_policy(old, Policy(keep_within=Within(hours=12)), now=T0)
    assert kept_ids(decision) == ["c-000", "c-001"]


def test_keep_within_ignores_snapshots_from_the_future_when_finding_the_newest():
    """restic: the newest snapshot is the latest one not after now, so a clock gone wrong cannot expire history."""
    snaps = series([-24 * 30, 0, 10, 30])  # c-000 claims to be 30 days in the future
    decision = apply_policy(snaps, Policy(keep_within=Within(hours=12)), now=T0)
    assert kept_ids(decision) == ["c-000", "c-001", "c-002"]


def test_keep_within_months_are_calendar_months():
    """1m back from 31 March is 3 March (Go's AddDate normalisation), not 30 days back (1 March)."""
    newest = datetime(2026, 3, 31, 12, tzinfo=timezone.utc)
    snaps = [Snap("a", newest, "c"), Snap("b", datetime(2026, 3, 3, 13, tzinfo=timezone.utc), "c"),
             Snap("c", datetime(2026, 3, 3, 11, tzinfo=timezone.utc), "c"),
             Snap("d", datetime(2026, 3, 1, 13, tzinfo=timezone.utc), "c")]
    decision = apply_policy(snaps, Policy(keep_within=parse_within("1m")), now=newest)
    assert kept_ids(decision) == ["a", "b"]
    year = apply_policy([Snap("n", datetime(2028, 2, 29, tzinfo=timezone.utc), "c"),
                         Snap("o", datetime(2027, 3, 1, 1, tzinfo=timezone.utc), "c"),
                         Snap("p", datetime(2027, 2, 28, 23, tzinfo=timezone.utc), "c")],
                        Policy(keep_within=parse_within("1y")), now=datetime(2028, 3, 1, tzinfo=timezone.utc))
    assert kept_ids(year) == ["n", "o"]  # 29 Feb 2028 minus a year is 1 March 2027


def test_the_last_snapshot_of_a_cluster_is_never_removed():
    decision = apply_policy(series([0, 1, 2]), Policy(keep_last=0), now=T0)
    assert kept_ids(decision) == ["c-000"]
    assert "never removed" in decision.keep[0][1][0]


def test_grouped_per_cluster():
    snaps = series([0, 1, 2], "a") + series([5, 6], "b")
    decision = apply_policy(snaps, Policy(keep_last=1), now=T0)
    assert kept_ids(decision) == ["a-000", "b-000"]
    assert sorted(s.id for s in decision.remove) == ["a-001", "a-002", "b-001"]


def test_empty_policy_is_refused():
    with pytest.raises(InvalidInput, match="^no retention rule given: refusing to remove anything$"):
        apply_policy(SIX_HOURLY, Policy())


@pytest.mark.parametrize("text,within", [("30d", Within(days=30)), ("2w", Within(days=14)),
                                         ("1y6m", Within(years=1, months=6)), ("1y6M", Within(years=1, months=6)),
                                         ("1y5m7d2h", Within(1, 5, 7, 2)), ("12h", Within(hours=12))])
def test_parse_within_uses_restics_units(text, within):
    assert parse_within(text) == within


@pytest.mark.parametrize("data,field", [({"keep_daily": -1}, "keep_daily"), ({"keep_daily": "7"}, "keep_daily"),
                                        ({"keep_within": "soon"}, "keep_within"), ({"keep_fortnightly": 2},
                                                                                    "keep_fortnightly")])
def test_bad_rules_name_the_field(data, field):
    with pytest.raises(InvalidInput, match=field):
        Policy.from_dict(data)


# -- groups: identity and scope (issue 23, item 4) -------------------------------------------------------------------
def _put(store: str, sid: str, *, namespaces=(), tags=(), identity="aaaa1111-0000"):
    """A snapshot of one cluster, as `snapshot` writes it, with this scope and these tags."""
    import dataclasses

    from conftest import manifest_for

    from hgbackup.kube.model import StoredObject
    from hgbackup.store import open_store
    from hgbackup.store.layout import SnapshotKey
    from hgbackup.store.manifest import ClusterInfo
    from hgbackup.store.repository import Repository

    repo = Repository(open_store(store))
    cm = StoredObject.from_object({"apiVersion": "v1", "kind": "ConfigMap",
                                   "metadata": {"name": "higress-config", "namespace": "higress-system"}})
    data, manifest = manifest_for([cm], snapshot_id=sid, tags=tags)
    manifest = dataclasses.replace(manifest, cluster=ClusterInfo("prod", "v1.35.4", identity, "live"),
                                   scope={"higress_namespace": "higress-system", "namespaces": list(namespaces)},
                                   created=datetime.strptime(sid[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc))
    key = SnapshotKey("prod", sid)
    repo.store.put(key.archive_key(False), data)
    repo.store.put(key.manifest_key, manifest.to_bytes())
    return sid


def test_a_safety_or_narrow_snapshot_never_takes_the_daily_slot_of_a_full_one(tmp_path):
    """Four nightlies, then a restore -n shop (its safety snapshot) and a hand-made narrow snapshot on the last day:
    forget --keep-daily 7 (the README's example) used to keep the safety snapshot as that day's daily and remove the
    day's nightly."""
    from conftest import run

    store = str(tmp_path / "store")
    nightlies = [_put(store, f"2026112{d}T020000Z-aaaaa{d}") for d in range(4)]
    safety = _put(store, "20261123T120000Z-bbbbbb", namespaces=["shop"], tags=["pre-restore"])
    full_safety = _put(store, "20261123T130000Z-cccccc", tags=["pre-restore"])  # same scope, but a safety snapshot
    narrow = _put(store, "20261123T140000Z-dddddd", namespaces=["shop"])
    doc = json.loads(run("forget", "--keep-daily", "7", "--store", store, "-o", "json").stdout)
    kept = {k["id"]: k for k in doc["keep"]}
    assert set(kept) == {*nightlies, safety, full_safety, narrow} and doc["remove"] == []
    assert kept[nightlies[-1]]["reasons"] == ["daily 2026-11-23"] and kept[nightlies[-1]]["scope"] == "full"
    assert kept[safety]["scope"] == "-n shop, pre-restore" and kept[full_safety]["scope"] == "pre-restore"
    # keep-last 1: one per group, each group's own newest; the nightlies' group keeps only its newest
    doc = json.loads(run("forget", "--keep-last", "1", "--store", store, "-o", "json", "--dry-run").stdout)
    assert {k["id"] for k in doc["keep"]} == {nightlies[-1], safety, full_safety, narrow}
    text = run("forget", "--keep-last", "1", "--store", store, "--dry-run").stdout
    assert f"keep    {nightlies[-1]}  prod [full]  last" in text


def test_groups_are_what_apply_policy_is_given():
    snaps = [Snap("full-1", T0 - timedelta(hours=20), "c", group="c|full"),
             Snap("full-2", T0 - timedelta(hours=2), "c", group="c|full"),
             Snap("safety", T0, "c", group="c|safety")]
    decision = apply_policy(snaps, Policy(keep_daily=1), now=T0)
    assert kept_ids(decision) == ["full-2", "safety"]
