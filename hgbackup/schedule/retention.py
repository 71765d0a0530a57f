"""Which snapshots a retention policy keeps: a pure function with restic's `forget` semantics.

Followed from restic's internal/data/snapshot_policy.go (ApplyPolicy) and its `forget` documentation:
- rules combine by OR: a snapshot is kept when any rule keeps it, and every rule that keeps it is listed;
- `keep_last N` keeps the N newest; `keep_hourly/daily/weekly/monthly/yearly N` keep the newest snapshot of each of
  the last N calendar hours / days / ISO weeks / months / years that have one (UTC buckets);
- when a calendar rule still has count left after the newest snapshot of every bucket was taken, the oldest
  snapshot of the group is kept as well ("oldest daily ..."), which keeps the longest history the counts allow;
- `keep_within 1y5m7d2h` keeps every snapshot strictly newer than the newest snapshot (not now, and never one in
  the future) minus that calendar duration: years, months and days by the calendar, hours as hours;
- groups are per cluster identity and scope (restic groups by host and paths; clusters.retention_group): a
  pre-restore safety snapshot or a narrow snapshot is in a group of its own and never fills the daily slot of a full
  one. Beyond restic: the newest snapshot of a group is never removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from ..errors import EXIT_INTEGRITY, EXIT_OK, InvalidInput
from ..store import clusters

CALENDAR = {  # rule -> bucket of a timestamp (restic: ymdh, ymd, yw, ym, y)
    "hourly": lambda t: t.strftime("%Y-%m-%d %H"),
    "daily": lambda t: t.strftime("%Y-%m-%d"),
    "weekly": lambda t: "{:04d}-W{:02d}".format(*t.isocalendar()[:2]),
    "monthly": lambda t: t.strftime("%Y-%m"),
    "yearly": lambda t: t.strftime("%Y"),
}
LEFTOVER_AGE = timedelta(hours=1)  # a write older than this is not still under way
_WITHIN = re.compile(r"(\d+)([ymMwdh])")


@dataclass(frozen=True)
class Within:
    """A calendar duration as restic reads it: `1y5m7d2h` (y years, m months, d days, h hours; also w weeks and
    M months)."""

    years: int = 0
    months: int = 0
    days: int = 0
    hours: int = 0

    def before(self, moment: datetime) -> datetime:
        """`moment` minus this duration, by the calendar (Go's AddDate: 31 March minus 1 month is 3 March)."""
        month_index = moment.year * 12 + (moment.month - 1) - self.years * 12 - self.months
        year, month = divmod(month_index, 12)
        first = date(year, month + 1, 1)
        day = first + timedelta(days=moment.day - 1 - self.days)
        shifted = moment.replace(year=day.year, month=day.month, day=day.day)
        return shifted - timedelta(hours=self.hours)

    def __str__(self) -> str:
        parts = [(self.years, "y"), (self.months, "m"), (self.days, "d"), (self.hours, "h")]
        return "".join(f"{n}{u}" for n, u in parts if n) or "0h"


@dataclass(frozen=True)
class Snap:
    id: str
    created: datetime
    cluster: str  # the label people see
    tags: tuple[str, ...] = ()
    partial: bool = False
    group: str = ""  # what retention groups by (clusters.retention_group: identity and scope); default the label
    scope: str = ""  # the scope's short name people see (clusters.scope_label)

    @property
    def group_key(self) -> str:
        return self.group or self.cluster


@dataclass
class Policy:
    keep_last: int | None = None
    keep_hourly: int | None = None
    keep_daily: int | None = None
    keep_weekly: int | None = None
    keep_monthly: int | None = None
    keep_yearly: int | None = None
    keep_within: Within | None = None

    def empty(self) -> bool:
        return all(getattr(self, f) is None for f in self.__dataclass_fields__)

    @classmethod
    def from_dict(cls, data: dict, where: str = "retention") -> Policy:
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            names = ", ".join(sorted(known))
            raise InvalidInput(f"{where}.{sorted(unknown)[0]}: unknown retention rule (known: {names})")
        kwargs = {}
        for name, value in data.items():
            if value is None:
                continue
            if name == "keep_within":
                kwargs[name] = parse_within(str(value), f"{where}.{name}")
            elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidInput(f"{where}.{name}: must be a whole number >= 0, got {value!r}")
            else:
                kwargs[name] = value
        return cls(**kwargs)


def parse_within(text: str, where: str = "--keep-within") -> Within:
    """`30d`, `2w`, `1y6m`, `12h`: y years, m (or M) months, w weeks, d days, h hours, as restic reads them."""
    parts = _WITHIN.findall(text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise InvalidInput(f"{where}: {text!r} is not a duration like 30d, 2w, 1y6m or 12h")
    total = {"y": 0, "m": 0, "d": 0, "h": 0}
    for number, unit in parts:
        n = int(number)
        if unit == "w":
            unit, n = "d", 7 * n
        total["m" if unit == "M" else unit] += n
    return Within(total["y"], total["m"], total["d"], total["h"])


@dataclass
class Decision:
    keep: list[tuple[Snap, list[str]]] = field(default_factory=list)
    remove: list[Snap] = field(default_factory=list)


def apply_policy(snapshots: list[Snap], policy: Policy, now: datetime | None = None) -> Decision:
    """Keep/remove for every snapshot, grouped per `Snap.group_key` (cluster and scope); kept ones carry their
    reasons."""
    now = now or datetime.now(timezone.utc)
    if policy.empty():
        raise InvalidInput("no retention rule given: refusing to remove anything")
    decision = Decision()
    groups: dict[str, list[Snap]] = {}
    for snap in snapshots:
        groups.setdefault(snap.group_key, []).append(snap)
    for cluster in sorted(groups):
        keep, remove = _decide(sorted(groups[cluster], key=lambda s: (s.created, s.id), reverse=True), policy, now)
        decision.keep += keep
        decision.remove += remove
    return decision


def _decide(all_newest_first: list[Snap], policy: Policy, now: datetime):
    """Keep rules are filled with complete snapshots only; a partial snapshot is kept only while it is newer than
    the newest complete one (it is the latest word on the cluster, not a backup to rely on)."""
    reasons: dict[str, list[str]] = {s.id: [] for s in all_newest_first}
    newest_first = [s for s in all_newest_first if not s.partial]
    if not newest_first:  # nothing complete to rely on: remove nothing
        return [(s, ["partial, and no complete snapshot of this cluster"]) for s in all_newest_first], []
    for snap in all_newest_first:
        if snap.partial and snap.created > newest_first[0].created:
            reasons[snap.id].append("partial, newer than the newest complete snapshot")
    if policy.keep_last:
        for snap in newest_first[: policy.keep_last]:
            reasons[snap.id].append("last")
    oldest = newest_first[-1] if newest_first else None
    for rule, bucket_of in CALENDAR.items():
        budget = getattr(policy, f"keep_{rule}")
        last_bucket = None
        for snap in newest_first:
            if not budget:
                break
            bucket = bucket_of(snap.created.astimezone(timezone.utc))
            if bucket != last_bucket:
                reasons[snap.id].append(f"{rule} {bucket}")
                last_bucket = bucket
                budget -= 1
            elif snap is oldest:
                # restic: a count not filled keeps the oldest snapshot too, for the longest history possible
                reasons[snap.id].append(f"oldest {rule} {bucket}")
                budget -= 1
    if policy.keep_within is not None and newest_first:
        past = [s.created for s in newest_first if s.created <= now]
        if past:
            horizon = policy.keep_within.before(max(past))
            for snap in newest_first:
                if snap.created > horizon:
                    reasons[snap.id].append(f"within {policy.keep_within}")
        else:  # every snapshot is in the future (a clock gone wrong): keep them all, as restic does
            for snap in newest_first:
                reasons[snap.id].append(f"within {policy.keep_within}")
    if not reasons[newest_first[0].id]:
        reasons[newest_first[0].id].append("newest complete snapshot (never removed)")
    keep = [(s, reasons[s.id]) for s in all_newest_first if reasons[s.id]]
    remove = [s for s in all_newest_first if not reasons[s.id]]
    return keep, remove


def forget(repo, policy: Policy, *, cluster: str | None = None, identity: str | None = None, tags: list[str] = (),
           dry_run: bool = False) -> ForgetReport:
    """Apply a policy to the snapshots in a store, grouped by cluster identity and scope (of one cluster when
    `cluster` or `identity` is given, with all of `tags`); removes unless dry_run. Unreadable snapshots are reported,
    and never counted or removed."""
    snapshots, problems, names = repo.snapshots(cluster)
    if identity is not None:
        snapshots = [s for s in snapshots if clusters.of_cluster(s, identity)]
    wanted = set(tags)
    by_id = {s.id: s for s in snapshots}
    decision = apply_policy([Snap(s.id, s.manifest.created, names[clusters.group_of(s)], s.manifest.tags,
                                  s.manifest.partial, clusters.retention_group(s), clusters.scope_label(s))
                             for s in snapshots if wanted <= set(s.manifest.tags)], policy)
    leftovers = []
    if not dry_run:
        for snap in decision.remove:
            repo.delete(by_id[snap.id].key)
        leftovers = repo.remove_leftovers(datetime.now(timezone.utc) - LEFTOVER_AGE)
    return ForgetReport(decision, dry_run, [f"{p.key.cluster}/{p.key.id}: {p.error}" for p in problems],
                        leftovers)


@dataclass
class ForgetReport:
    decision: Decision
    dry_run: bool
    warnings: list[str] = field(default_factory=list)  # snapshots that could not be read
    leftovers: list[str] = field(default_factory=list)  # traces of killed writes that were removed

    @property
    def exit_code(self) -> int:
        return EXIT_INTEGRITY if self.warnings else EXIT_OK

    def as_json(self) -> dict:
        return {"keep": [{"id": s.id, "cluster": s.cluster, "scope": s.scope, "reasons": r}
                         for s, r in self.decision.keep],
                "remove": [{"id": s.id, "cluster": s.cluster, "scope": s.scope} for s in self.decision.remove],
                "leftovers_removed": self.leftovers}
