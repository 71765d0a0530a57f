"""The records a restore passes around: intents, actions, options, the plan, notices, the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from ..errors import EXIT_OK, EXIT_PARTIAL, EXIT_UNREACHABLE, HgbackupError
from ..kube.model import Ref, StoredObject
from ..kube.scope import Scope
from ..store import clusters
from ..store.coverage import Coverage
from ..store.manifest import SAFETY_TAGS  # noqa: F401 - exported with the restore records
from .closure import Closure


class Intent(str, Enum):
    """What the plan expects to do with one object."""

    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    SKIP = "skip"
    FAIL = "fail"
    PRUNE = "prune"
    CREATE_CRD = "create-crd"
    CREATE_NAMESPACE = "create-namespace"


class Action(str, Enum):
    """What happened to one object."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"
    FAILED = "failed"
    PRUNED = "pruned"
    UNKNOWN = "unknown"  # in flight when the cluster stopped answering: it may have been applied


class Level(str, Enum):
    """How much a restore notice matters: shown as it is (info), or a warning the user should act on."""

    INFO = "info"
    WARNING = "warning"


@dataclass(frozen=True)
class Notice:
    """A line a restore tells the user as it goes (the plan's header, the safety snapshot, what to beware of)."""

    text: str
    level: Level = Level.INFO


class Existing(str, Enum):
    """--existing: what to do with objects that exist and differ."""

    UPDATE = "update"
    SKIP = "skip"
    FAIL = "fail"


# Which target a restore writes to (RestoreReport.target["case"]): the snapshot's own cluster, an empty
# disaster-recovery target (no snapshots of its own in the store), or a live, backed-up cluster (needs
# --into-live-cluster naming it).
SAME_CLUSTER, DISASTER_RECOVERY, LIVE_CLUSTER = "same-cluster", "disaster-recovery", "live-cluster"

# Results that wrote to the cluster.
WRITTEN = (Action.CREATED, Action.UPDATED, Action.PRUNED)


@dataclass
class RestoreOptions:
    existing: Existing = Existing.UPDATE
    dry_run: bool = False
    prune: bool = False
    concurrency: int = 16
    preserve_nodeports: bool = False
    kinds: list[str] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    selector: str | None = None
    namespace_map: dict[str, str] = field(default_factory=dict)
    crd_timeout: float = 60.0
    allow_crd_webhooks: bool = False
    dependencies: bool = True  # a selective restore brings what it restores needs (--no-dependencies: not)


@dataclass
class Step:
    """One planned operation. `intent` is what the plan expects; the result may differ (e.g. failed)."""

    ref: Ref
    api_version: str
    tier: int
    intent: Intent
    desired: dict | None = None
    live_sha: str | None = None
    message: str = ""
    namespace_missing: bool = False
    reason: str = ""  # why the restore writes it though it was not asked for (a dependency, merged plugin rules)


@dataclass
class Result:
    ref: Ref
    api_version: str
    action: Action
    message: str = ""
    unvalidated: str | None = None  # a dry run could not validate it: why
    shown: bool = False  # an unchanged result worth a line in the text report (a prune candidate kept, and why)

    def as_json(self) -> dict:
        return {"ref": self.ref.as_json(self.api_version), "action": self.action.value, "message": self.message}


@dataclass
class Plan:
    steps: list[Step]
    header: str = ""  # source and target, for the confirmation prompt

    def tiers(self) -> list[list[Step]]:
        by_tier: dict[int, list[Step]] = {}
        for step in self.steps:
            by_tier.setdefault(step.tier, []).append(step)
        return [by_tier[t] for t in sorted(by_tier)]

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for step in self.steps:
            counts[step.intent.value] = counts.get(step.intent.value, 0) + 1
        return counts


@dataclass
class Execution:
    results: list[Result]
    stopped: HgbackupError | None = None  # why no further tier was started


@dataclass
class RestoreReport:
    """Everything a restore did, including when it stopped early: rendered by the CLI, exit code from here."""

    results: list[Result]
    dry_run: bool
    snapshot: str | None = None
    safety_snapshot: str | None = None
    stopped: str | None = None
    stopped_code: int | None = None
    source: dict = field(default_factory=dict)
    target: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def cross_cluster(self) -> bool:
        """Restoring into another cluster than the one the snapshot was taken of (or a snapshot taken from files)."""
        mine, theirs = self.source.get("identity"), self.target.get("identity")
        return bool(self.source and theirs and (self.source.get("from_files") or (mine and mine != theirs)))

    def header(self) -> str:
        s, t = self.source, self.target
        lines = []
        if s:
            origin = ("taken from files, no cluster" if s.get("from_files") else
                      f"identity {s.get('identity') or '-'}, server {s.get('server_version') or '-'}")
            lines.append(f"source: snapshot {s.get('snapshot')} of cluster {s.get('cluster')} ({origin}, taken "
                         f"{s.get('created')})")
        lines.append(f"target: context {t.get('context')}, server {t.get('server')}, identity "
                     f"{t.get('identity') or '-'}")
        if t.get("case") == DISASTER_RECOVERY:
            lines.append("restoring into another cluster than the snapshot's (disaster recovery: the target has no "
                         "snapshots of its own in this store)")
        elif t.get("case") == LIVE_CLUSTER:
            confirmed = (f"confirmed with --into-live-cluster {t['confirmed']}" if t.get("confirmed") else
                         f"a real restore needs --into-live-cluster {clusters.short(str(t.get('identity')))}")
            lines.append(f"restoring into another cluster than the snapshot's, a LIVE cluster: it has "
                         f"{t.get('own_snapshots')} snapshot(s) of its own in this store ({confirmed})")
        elif self.cross_cluster:
            lines.append("restoring into another cluster than the snapshot's")
        return "\n".join(lines)

    def summary(self) -> dict[str, int]:
        counts = {a.value: 0 for a in Action}
        for result in self.results:
            counts[result.action.value] += 1
        return counts

    def not_validated(self) -> dict:
        """A dry run's rows the API server did not validate, and why: `{"count", "reasons": {why: count}}`."""
        reasons: dict[str, int] = {}
        for result in self.results:
            if result.unvalidated:
                reasons[result.unvalidated] = reasons.get(result.unvalidated, 0) + 1
        return {"count": sum(reasons.values()), "reasons": dict(sorted(reasons.items()))}

    @property
    def exit_code(self) -> int:
        """0 all done; 3 something failed, was skipped or may have been applied; 6 the cluster stopped us before
        anything was written."""
        if self.stopped and not any(r.action in (*WRITTEN, Action.UNKNOWN) for r in self.results):
            return self.stopped_code or EXIT_UNREACHABLE
        if any(r.action in (Action.FAILED, Action.SKIPPED, Action.UNKNOWN) for r in self.results):
            return EXIT_PARTIAL
        return EXIT_OK

    def as_json(self) -> dict:
        doc = {"results": [r.as_json() for r in self.results], "summary": self.summary(),
               "safety_snapshot": self.safety_snapshot, "dry_run": self.dry_run, "stopped": self.stopped,
               "source": self.source or None, "target": self.target, "cross_cluster": self.cross_cluster,
               "notes": self.notes}
        if self.dry_run:
            doc["not_validated"] = self.not_validated()
        if self.snapshot is not None:
            doc["snapshot"] = self.snapshot
        return doc


@dataclass
class RestoreRequest:
    """What to restore and how: the chosen objects, the live scope they may touch, and the safety snapshot."""

    objects: list[StoredObject]
    options: RestoreOptions
    scope: Scope  # the live objects the restore may touch: safety snapshot and prune candidates
    safety_tag: str | None = "pre-restore"  # None: no safety snapshot
    source: str | None = None  # the snapshot id restored, if any
    source_info: dict = field(default_factory=dict)  # the snapshot's cluster, identity, server and time
    prune_only: frozenset[Ref] | None = None  # restoring a safety snapshot: prune at most what its restore created
    closure: Closure | None = None  # the dependencies and plugin merges a selective restore added
    coverage: Coverage | None = None  # what the snapshot listed completely: prune acts only inside it (None: all)
    target_info: dict = field(default_factory=dict)  # which target this is (restore.run.target_case)
    notes: list[str] = field(default_factory=list)  # worth knowing before anything is applied
