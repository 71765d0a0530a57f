"""Prometheus metrics of a backup run, pushed to a Pushgateway (`schedule run`, `snapshot --pushgateway URL`; both
run through `monitored`).

One group per schedule and cluster (`job="hgbackup", schedule, cluster`). A complete run replaces the group (PUT);
a partial or failed run only replaces the series it has (POST), so `hgbackup_last_success_timestamp_seconds` keeps
the time of the last complete snapshot: the alert "no successful backup for twice the interval" needs exactly that.
The series are built with prometheus_client; `SERIES` names every one (the dashboard and alerts use only these).
"""

from __future__ import annotations

import time
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from .. import logs
from ..errors import EXIT_OK, HgbackupError, Unreachable
from ..store.layout import cluster_key
from ..store.manifest import Snapshot

JOB = "hgbackup"
MANUAL = "manual"  # the schedule label of `snapshot --pushgateway`
UNKNOWN = "unknown"  # the cluster label of a run that failed before it knew its cluster (e.g. a bad kubeconfig)
SERIES = {
    "hgbackup_last_success_timestamp_seconds": "End of the last run that wrote a complete snapshot (Unix time).",
    "hgbackup_last_attempt_timestamp_seconds": "End of the last run, whatever its outcome (Unix time).",
    "hgbackup_last_run_duration_seconds": "How long the last run took.",
    "hgbackup_last_run_failed": "1 when the last run wrote no snapshot (an error), else 0.",
    "hgbackup_last_run_partial": "1 when the last run's snapshot is partial (some kinds could not be read), else 0.",
    "hgbackup_last_run_exit_code": "The exit code of the last run (0 ok, 3 partial, 2/4/5/6 see --help).",
    "hgbackup_snapshot_objects": "Objects per kind in the last snapshot.",
    "hgbackup_snapshot_archive_bytes": "Stored size of the last snapshot's archive.",
    "hgbackup_retention_kept_snapshots": "Snapshots of this schedule kept by the last retention pass.",
    "hgbackup_retention_removed_snapshots": "Snapshots removed by the last retention pass.",
}
ATTEMPTS = 3


@dataclass
class RunOutcome:
    """What one run did, as the metrics see it."""

    schedule: str
    cluster: str
    started: float
    finished: float
    exit_code: int
    snapshot: Snapshot | None = None
    kept: int | None = None
    removed: int | None = None

    @property
    def complete(self) -> bool:
        return self.exit_code == EXIT_OK and self.snapshot is not None and not self.snapshot.manifest.partial


def registry(run: RunOutcome):
    """The run's series in a fresh prometheus_client registry."""
    # imported here, as in push: prometheus_client adds ~50 ms to start-up (python -X importtime), which only a run
    # that pushes should pay (`snapshot` imports this module for its --pushgateway option)
    from prometheus_client import CollectorRegistry, Gauge

    reg = CollectorRegistry()

    def gauge(name: str, value: float, labels: dict | None = None) -> None:
        g = Gauge(name, SERIES[name], list(labels or ()), registry=reg)
        (g.labels(**labels) if labels else g).set(value)

    if run.complete:
        gauge("hgbackup_last_success_timestamp_seconds", run.finished)
    gauge("hgbackup_last_attempt_timestamp_seconds", run.finished)
    gauge("hgbackup_last_run_duration_seconds", max(0.0, run.finished - run.started))
    gauge("hgbackup_last_run_failed", 0 if run.snapshot is not None else 1)
    gauge("hgbackup_last_run_partial", 1 if run.snapshot is not None and run.snapshot.manifest.partial else 0)
    gauge("hgbackup_last_run_exit_code", run.exit_code)
    if run.snapshot is not None:
        m = run.snapshot.manifest
        objects = Gauge("hgbackup_snapshot_objects", SERIES["hgbackup_snapshot_objects"], ["kind"], registry=reg)
        for kind, count in sorted(m.counts.items()):
            objects.labels(kind=kind).set(count)
        gauge("hgbackup_snapshot_archive_bytes", m.archive.size)
    if run.kept is not None:
        gauge("hgbackup_retention_kept_snapshots", run.kept)
        gauge("hgbackup_retention_removed_snapshots", run.removed or 0)
    return reg


def push(url: str, run: RunOutcome, *, timeout: float = 10.0) -> None:
    """Push the run's series to the Pushgateway at `url`; retried on connection errors, 429 and 5xx.
    Raises Unreachable naming the gateway when it cannot be done."""
    from prometheus_client import delete_from_gateway, push_to_gateway, pushadd_to_gateway  # start-up: see registry

    send = push_to_gateway if run.complete else pushadd_to_gateway
    grouping = group_of(run.schedule, run.cluster)
    reg = registry(run)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            send(url, job=JOB, registry=reg, grouping_key=grouping, timeout=timeout)
            if run.complete and run.cluster != UNKNOWN:
                # a failure that could not name its cluster would otherwise keep HgbackupRunFailed firing after
                # the schedule works again
                delete_from_gateway(url, job=JOB, grouping_key=group_of(run.schedule, UNKNOWN), timeout=timeout)
            logs.debug("metrics pushed", pushgateway=url, schedule=run.schedule, cluster=run.cluster)
            return
        except urllib.error.HTTPError as exc:
            cause = f"HTTP {exc.code} {exc.reason}"
            retry = exc.code == 429 or exc.code >= 500
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            cause = str(reason) or exc.__class__.__name__
            retry = not isinstance(exc, ValueError)
        if not retry or attempt == ATTEMPTS:
            raise Unreachable(f"cannot push metrics to the Pushgateway at {url}: {cause}")
        logs.debug("retrying a metrics push", pushgateway=url, attempt=attempt, cause=cause)
        time.sleep(0.5 * 2 ** (attempt - 1))


def group_of(schedule: str, cluster: str) -> dict[str, str]:
    """The Pushgateway group of a run: its schedule, and its cluster spelled as its store folder is (cluster_key),
    whether the run failed before writing (a raw kube context name such as `arn:aws:eks:...`) or wrote a snapshot
    (its folder), so a good run replaces the group a failed one pushed."""
    return {"schedule": schedule, "cluster": cluster_key(cluster)}


def push_reporting(url: str, run: RunOutcome) -> str | None:
    """Push; return None, or the one-line reason it could not be done (the caller's run then exits 3)."""
    try:
        push(url, run)
    except Unreachable as exc:
        return str(exc)
    return None


def push_failure(url: str, schedule: str, cluster: str | None, started: float, exit_code: int) -> None:
    """A run that wrote no snapshot: push `failed` (the error itself is reported by the caller; a push that fails
    too is a warning)."""
    problem = push_reporting(url, RunOutcome(schedule, cluster or UNKNOWN, started, time.time(), exit_code))
    if problem:
        logs.warning(problem, schedule=schedule)


@dataclass
class Attempt:
    """A run under way, as its metrics will tell it: the cluster may be learnt on the way (a kube context's),
    retention's counts at its end."""

    schedule: str
    cluster: str | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None
    kept: int | None = None
    removed: int | None = None

    @property
    def duration(self) -> float:
        return (self.finished or time.time()) - self.started


class Written(Protocol):
    """What a run that wrote a snapshot reports (capture's SnapshotReport, a scheduled run's ScheduleReport)."""

    snapshot: Snapshot
    metrics_error: str | None

    @property
    def exit_code(self) -> int: ...


Report = TypeVar("Report", bound=Written)


def monitored(url: str | None, attempt: Attempt, work: Callable[[Attempt], Report]) -> Report:
    """`work(attempt)`, timed, and with a Pushgateway `url` its outcome pushed: a run that raises is pushed as
    failed and its own error raised again; a run that wrote a snapshot is pushed complete or partial, and a push that
    fails after retries becomes the report's `metrics_error` (the run then exits 3; the snapshot is kept)."""
    try:
        report = work(attempt)
    except HgbackupError as exc:
        if url:
            push_failure(url, attempt.schedule, attempt.cluster, attempt.started, exc.exit_code)
        raise
    attempt.finished = time.time()
    if url:
        report.metrics_error = push_reporting(url, RunOutcome(
            attempt.schedule, report.snapshot.cluster, attempt.started, attempt.finished, report.exit_code,
            report.snapshot, attempt.kept, attempt.removed))
    return report
