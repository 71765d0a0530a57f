"""Which snapshots a retention policy keeps: a pure function with restic's semantics.

Rules combine by OR: a snapshot is kept when any rule keeps it, and every rule that keeps it is listed as a reason.
Calendar rules keep the newest snapshot of each of the last N hours/days/ISO weeks/months/years that have one.
`keep_within` is measured back from the newest snapshot of the group, not from now, so a cluster whose backups
stopped does not lose its history. Groups are per cluster; the newest snapshot of a group is never removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from .errors import InvalidInput

CALENDAR = {  # rule -> bucket of a timestamp
    "hourly": lambda t: t.strftime("%Y-%m-%d %H"),
    "daily": lambda t: t.strftime("%Y-%m-%d"),
    "weekly": lambda t: "{:04d}-W{:02d}".format(*t.isocalendar()[:2]),
    "monthly": lambda t: t.strftime("%Y-%m"),
    "yearly": lambda t: t.strftime("%Y"),
}
_WITHIN = re.compile(r"(\d+)([yMwdhm])")
_UNITS = {"y": timedelta(days=365), "M": timedelta(days=30), "w": timedelta(weeks=1), "d": timedelta(days=1),
          "h": timedelta(hours=1), "m": timedelta(minutes=1)}


@dataclass(frozen=True)
class Snap:
    id: str
    created: datetime
    cluster: str
    tags: tuple[str, ...] = ()


@dataclass
class Policy:
    keep_last: int | None = None
    keep_hourly: int | None = None
    keep_daily: int | None = None
    keep_weekly: int | None = None
    keep_monthly: int | None = None
    keep_yearly: int | None = None
    keep_within: timedelta | None = None

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


def parse_within(text: str, where: str = "--keep-within") -> timedelta:
    """`30d`, `2w`, `1y6M`, `12h` (y years, M months, w weeks, d days, h hours, m minutes)."""
    parts = _WITHIN.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise InvalidInput(f"{where}: {text!r} is not a duration like 30d, 2w, 1y6M or 12h")
    return sum((int(n) * _UNITS[u] for n, u in parts), timedelta())


@dataclass
class Decision:
    keep: list[tuple[Snap, list[str]]] = field(default_factory=list)
    remove: list[Snap] = field(default_factory=list)


def apply_policy(snapshots: list[Snap], policy: Policy) -> Decision:
    """Keep/remove for every snapshot, grouped per cluster; kept ones carry their reasons."""
    if policy.empty():
        raise InvalidInput("no retention rule given: refusing to remove anything")
    decision = Decision()
    groups: dict[str, list[Snap]] = {}
    for snap in snapshots:
        groups.setdefault(snap.cluster, []).append(snap)
    for cluster in sorted(groups):
        keep, remove = _decide(sorted(groups[cluster], key=lambda s: (s.created, s.id), reverse=True), policy)
        decision.keep += keep
        decision.remove += remove
    return decision


def _decide(newest_first: list[Snap], policy: Policy):
    reasons: dict[str, list[str]] = {s.id: [] for s in newest_first}
    if policy.keep_last:
        for snap in newest_first[: policy.keep_last]:
            reasons[snap.id].append("last")
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
    if policy.keep_within is not None and newest_first:
        horizon = newest_first[0].created - policy.keep_within
        for snap in newest_first:
            if snap.created >= horizon:
                reasons[snap.id].append("within")
    if newest_first and not any(reasons.values()):
        reasons[newest_first[0].id].append("newest (the last snapshot is never removed)")
    keep = [(s, reasons[s.id]) for s in newest_first if reasons[s.id]]
    remove = [s for s in newest_first if not reasons[s.id]]
    return keep, remove


def snap_of(manifest: dict) -> Snap:
    created = datetime.strptime(manifest["created"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return Snap(manifest["id"], created, manifest.get("_cluster_key") or manifest["cluster"]["name"],
                tuple(manifest.get("tags") or ()))


def forget(repo, policy: Policy, *, cluster: str | None = None, tags: list[str] = (),
           dry_run: bool = False) -> tuple[Decision, list[str]]:
    """Apply a policy to the snapshots in a store (of one cluster, with all of `tags`); removes unless dry_run."""
    manifests, warnings = repo.manifests(cluster)
    wanted = set(tags)
    snaps = [snap_of(m) for m in manifests if wanted <= set(m.get("tags") or ())]
    decision = apply_policy(snaps, policy)
    if not dry_run:
        from .repository import SnapshotKey

        for snap in decision.remove:
            repo.delete(SnapshotKey(snap.cluster, snap.id))
    return decision, warnings
