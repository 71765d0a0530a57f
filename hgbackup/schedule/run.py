"""A scheduled run, what the CronJob executes: a snapshot with the schedule file's scope, then its retention over
this schedule's snapshots, with the run's metrics pushed to the schedule's Pushgateway."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..capture import live
from ..capture import snapshot as snapshot_mod
from ..errors import EXIT_OK, EXIT_PARTIAL
from ..kube.client import Kube
from ..store.manifest import Snapshot
from ..store.repository import Repository
from . import metrics, retention
from .file import Schedule
from .retention import ForgetReport


@dataclass
class ScheduleReport:
    """One scheduled run: the snapshot written and what retention kept and removed."""

    schedule: str
    snapshot: Snapshot
    retention: ForgetReport | None = None
    retention_skipped: str | None = None
    leftovers: list[str] = field(default_factory=list)
    duration: float = 0.0
    metrics_error: str | None = None  # the snapshot was written, its metrics were not pushed

    @property
    def exit_code(self) -> int:
        return EXIT_PARTIAL if self.snapshot.manifest.partial or self.metrics_error else EXIT_OK

    def as_json(self) -> dict:
        m = self.snapshot.manifest
        return {"schedule": self.schedule, "snapshot": self.snapshot.id, "cluster": self.snapshot.cluster,
                "objects": len(m.objects), "partial": m.partial, "warnings": list(m.warnings),
                "kept": len(self.retention.decision.keep) if self.retention else None,
                "removed": [s.id for s in self.retention.decision.remove] if self.retention else None,
                "retention_skipped": self.retention_skipped, "leftovers_removed": self.leftovers,
                "archive_bytes": m.archive.size, "duration_seconds": round(self.duration, 3),
                "metrics_error": self.metrics_error, "exit_code": self.exit_code}


def run_monitored(sched: Schedule, connect, open_repository) -> ScheduleReport:
    """`schedule run`: `run`, with its metrics pushed to the schedule's Pushgateway (when it has one), failed runs
    included. A push that fails after retries makes the run exit 3 (the snapshot is kept and reported)."""

    def work(attempt: metrics.Attempt) -> ScheduleReport:
        kube = connect()
        attempt.cluster = attempt.cluster or kube.context_cluster
        report = run(sched, kube, open_repository())
        if report.retention is not None:
            attempt.kept, attempt.removed = len(report.retention.decision.keep), len(report.retention.decision.remove)
        return report

    attempt = metrics.Attempt(sched.name, sched.cluster)
    report = metrics.monitored(sched.pushgateway, attempt, work)
    report.duration = attempt.duration
    return report


def run(sched: Schedule, kube: Kube, repo: Repository) -> ScheduleReport:
    """What the CronJob runs: snapshot with the file's scope, then its retention over this schedule's snapshots."""
    # no identity, no snapshot (snapshot.write refuses it, exit 6), and so no retention either
    capture = live.capture_packed(kube, sched.scope, repo.encryption_key, sched.cluster,
                                  secret_names=sched.console_secrets or None)
    tag = f"schedule:{sched.name}"
    try:
        taken = snapshot_mod.take(repo, capture, sched.scope, tags=[*sched.tags, tag],
                                  require_encryption=sched.require_encryption, allow_empty=sched.allow_empty)
    finally:
        capture.close()
    snap = taken.snapshot
    report = ScheduleReport(sched.name, snap)
    identity = snap.manifest.cluster.identity
    if snap.manifest.partial and not sched.retention.empty():
        report.retention_skipped = "the snapshot is partial: no snapshot was removed"
    elif not sched.retention.empty():
        report.retention = retention.forget(repo, sched.retention, identity=identity,
                                            cluster=None if identity else snap.cluster, tags=[tag])
    report.leftovers = (report.retention.leftovers if report.retention is not None
                        else repo.remove_leftovers(datetime.now(timezone.utc) - retention.LEFTOVER_AGE))
    return report

