"""`hgbackup log`: when each object was added, removed or changed, over consecutive snapshots of one cluster.

From manifest digests alone: nothing but manifests is read unless `paths` is asked, and then only the archives of
snapshots with a change, and only the changed objects are decoded. Secret values never appear: paths name fields
and keys, not values.

Consecutive snapshots can differ in what they could hold: a partial snapshot, or one of another scope (an hourly
schedule of routes only beside a nightly one of everything). An object missing from a snapshot is "removed" only
when that snapshot is complete and its coverage record (store/coverage.py, what prune reads too) says it listed
that kind in that namespace completely; otherwise the object's last known state carries over.
Digests of snapshots encrypted with different keys cannot be compared (they are keyed): such a change is reported
as `changed` with `certain: false` unless `paths` reads both sides.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from ..errors import EXIT_INTEGRITY, EXIT_OK, InvalidInput, NotFound
from ..kube import catalogue
from ..kube.model import Ref
from ..store import clusters, coverage
from ..store.coverage import Coverage
from ..store.manifest import ObjectEntry, Snapshot
from ..store.repository import Listing, Repository
from . import compare as diff

ADDED, REMOVED, CHANGED = "added", "removed", "changed"


@dataclass(frozen=True)
class Filter:
    kinds: frozenset[tuple[str, str]] | None = None  # (group, kind) pairs, as catalogue.named gives; None: all
    namespaces: frozenset[str] = frozenset()
    names: tuple[str, ...] = ()  # exact names or shell patterns
    since: datetime | None = None

    def wants(self, ref: Ref) -> bool:
        if self.kinds is not None and (ref.group, ref.kind) not in self.kinds:
            return False
        if self.namespaces and ref.namespace not in self.namespaces:
            return False
        return not self.names or any(fnmatch.fnmatchcase(ref.name, n) for n in self.names)


@dataclass
class Event:
    time: datetime
    snapshot: str
    previous: str  # the snapshot compared against: for changes and removals, where the object was last seen
    action: str
    ref: Ref
    api_version: str
    certain: bool = True
    paths: tuple[str, ...] | None = None

    def as_json(self) -> dict:
        doc = {"time": self.time.strftime("%Y-%m-%dT%H:%M:%SZ"), "snapshot": self.snapshot, "previous": self.previous,
               "action": self.action, **self.ref.as_json(self.api_version)}
        if not self.certain:
            doc["certain"] = False
        if self.paths is not None:
            doc["paths"] = list(self.paths)
        return doc


@dataclass
class Timeline:
    cluster: str
    snapshots: int  # snapshots compared (the baseline included)
    events: list[Event] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    exit_code: int = EXIT_OK

    def as_json(self) -> dict:
        return {"cluster": self.cluster, "snapshots": self.snapshots, "events": [e.as_json() for e in self.events],
                "notes": self.notes}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """A date (2026-11-01), a time (2026-11-01T12:00, UTC unless it says otherwise) or an age (7d, 12h, 30m, 2w)."""
    now = now or datetime.now(timezone.utc)
    match = re.fullmatch(r"(\d+)([wdhm])", text.strip())
    if match:
        size = int(match.group(1))
        unit = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}[match.group(2)]
        return now - timedelta(**{unit: size})
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"--since: {text!r} is not a date (2026-11-01), a time (2026-11-01T12:00Z) or an age "
                           "(7d, 12h, 30m, 2w)") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def one_cluster(listing: Listing, cluster: str | None) -> list[Snapshot]:
    snapshots = listing.snapshots
    if cluster:
        return clusters.choose(snapshots, cluster)
    return clusters.only_one(snapshots)


def build(snapshots: list[Snapshot], flt: Filter) -> tuple[list[Event], int, list[str]]:
    """Events over `snapshots` (one cluster), oldest first; the baseline is the newest snapshot before `since`.

    Manifest entries are hashable tuples (apiVersion, kind, namespace, name, digest): consecutive states are
    compared as sets of entries in C, and only the few entries that differ are looked at one by one."""
    ordered = sorted(snapshots, key=lambda s: (s.manifest.created, s.id))
    if flt.since is not None:
        before = [s for s in ordered if s.manifest.created < flt.since]
        ordered = before[-1:] + [s for s in ordered if s.manifest.created >= flt.since]
    walk = _Walk(flt)
    for snap in ordered:
        walk.step(snap)
    return walk.events, len(ordered), walk.notes


class _Walk:
    """What one snapshot hands the next: the entries last known (objects a snapshot could not hold carried over),
    and where each carried object was last seen."""

    def __init__(self, flt: Filter):
        self.flt = flt
        self.filtered = bool(flt.kinds is not None or flt.namespaces or flt.names)
        self.coverage: dict[str, Coverage] = {}  # snapshot id -> its manifest's coverage record, read once
        self.groups: dict[str, str] = {}  # apiVersion -> group, computed once each
        self.events: list[Event] = []
        self.notes: list[str] = []
        self.state: set[ObjectEntry] = set()
        self.last_seen: dict[tuple, Snapshot] = {}  # only for objects carried over a snapshot that lacked them
        self.previous: Snapshot | None = None
        self.warned: set[tuple[str, str]] = set()

    def _by_key(self, entries) -> dict[tuple, ObjectEntry]:
        """Entries by (group, kind, namespace, name), those the filter wants."""
        out = {}
        for entry in entries:
            api_version = entry[0]
            if api_version not in self.groups:
                self.groups[api_version] = catalogue.group_of(api_version)
            out[(self.groups[api_version], entry[1], entry[2], entry[3])] = entry
        if self.filtered:
            out = {k: e for k, e in out.items() if self.flt.wants(Ref(*k))}
        return out

    def step(self, snap: Snapshot) -> None:
        current = set(snap.manifest.objects)
        if self.previous is None:
            self.state, self.previous = current, snap
            return
        gone, new = self._by_key(self.state - current), self._by_key(current - self.state)
        for key in sorted(new):
            self._added_or_changed(snap, key, new[key], key in gone)
        carried = {key for key in sorted(gone.keys() - new.keys()) if not self._removed(snap, key, gone[key])}
        current |= {gone[key] for key in carried}
        # an object carried before and present again was seen in this snapshot
        self.last_seen = {key: seen for key, seen in self.last_seen.items() if key in carried}
        self.state, self.previous = current, snap

    def _added_or_changed(self, snap: Snapshot, key: tuple, entry: ObjectEntry, existed: bool) -> None:
        created = snap.manifest.created
        if not existed:
            self.events.append(Event(created, snap.id, self.previous.id, ADDED, Ref(*key), entry.api_version))
            return
        seen_in = self.last_seen.pop(key, self.previous)
        comparable = _key_id(seen_in) == _key_id(snap)
        if not comparable and (seen_in.id, snap.id) not in self.warned:
            self.warned.add((seen_in.id, snap.id))
            self.notes.append(f"{seen_in.id} -> {snap.id}: encrypted with different keys; object digests cannot be "
                              "compared (changes marked uncertain; --paths reads both sides)")
        self.events.append(Event(created, snap.id, seen_in.id, CHANGED, Ref(*key), entry.api_version,
                                 certain=comparable))

    def _removed(self, snap: Snapshot, key: tuple, entry: ObjectEntry) -> bool:
        """A `removed` event when this snapshot is complete and its coverage record (store/coverage.py) says it
        listed that kind in that namespace completely; otherwise the object's last known state carries over."""
        seen_in = self.last_seen.get(key, self.previous)
        found = catalogue.BY_GROUP_KIND.get((key[0], key[1]))
        if snap.id not in self.coverage:
            self.coverage[snap.id] = coverage.of_manifest(snap.manifest)
        if not snap.manifest.partial and found is not None and self.coverage[snap.id].covers(found.key, key[2]):
            self.events.append(Event(snap.manifest.created, snap.id, seen_in.id, REMOVED, Ref(*key),
                                     entry.api_version))
            self.last_seen.pop(key, None)
            return True
        self.last_seen[key] = seen_in
        return False


def _key_id(snap: Snapshot) -> str | None:
    enc = snap.manifest.archive.encryption
    return enc.key_id if enc else None


def add_paths(repo: Repository, snapshots: list[Snapshot], events: list[Event]) -> None:
    """Name the changed fields of each `changed` event: reads the two archives of each such step, decodes only the
    changed objects. Events found the same on reading (another apiVersion, re-encrypted) are dropped."""
    by_id = {s.id: s for s in snapshots}
    steps: dict[tuple[str, str], list[Event]] = {}
    for event in events:
        if event.action == CHANGED:
            steps.setdefault((event.previous, event.snapshot), []).append(event)
    loaded: dict[str, dict[Ref, object]] = {}

    def objects(snapshot_id: str) -> dict[Ref, object]:
        if snapshot_id not in loaded:
            if len(loaded) >= 2:  # consecutive steps share a snapshot; keep at most two archives in memory
                loaded.pop(next(iter(loaded)))
            _, stored = repo.load(by_id[snapshot_id].key)
            loaded[snapshot_id] = {o.ref: o for o in stored}
        return loaded[snapshot_id]

    same: set[int] = set()
    for (old_id, new_id), step_events in sorted(steps.items(), key=lambda item: by_id[item[0][1]].manifest.created):
        old, new = objects(old_id), objects(new_id)
        for event in step_events:
            a, b = old[event.ref], new[event.ref]
            if a.sha256 == b.sha256:
                same.add(id(event))
                continue
            paths = diff.changed_paths(a.obj, b.obj)
            if not paths:
                same.add(id(event))
            event.paths, event.certain = tuple(paths), True
    events[:] = [e for e in events if id(e) not in same]


def log(repo: Repository, *, cluster: str | None, flt: Filter, paths: bool = False, progress=None) -> Timeline:
    listing = repo.snapshots(progress=progress)
    chosen = one_cluster(listing, cluster)
    if not chosen:
        raise NotFound("the store holds no snapshots")
    label = clusters.labels(listing.snapshots).get(clusters.group_of(chosen[0]), chosen[0].cluster)
    events, compared, notes = build(chosen, flt)
    if paths:
        add_paths(repo, chosen, events)
    unreadable = [f"snapshot {p.key.id} was left out: {p.error}"
                  for p in clusters.problems_of(listing.problems, chosen)]
    return Timeline(label, compared, events, notes + unreadable, EXIT_INTEGRITY if unreadable else EXIT_OK)
