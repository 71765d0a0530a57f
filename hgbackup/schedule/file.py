"""Schedule files (schedules/*.yaml) and the Kubernetes objects that run them as a CronJob.

A schedule file names what to back up (scope), where (store, cluster), when (cron, time zone), how long to keep it
(retention) and which Secret holds the store credentials and encryption key. `render()` turns it into a CronJob
with a ServiceAccount whose RBAC can only read the kinds in scope.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import yaml

from ..capture import live, selection
from ..capture import snapshot as snapshot_mod
from ..errors import EXIT_OK, EXIT_PARTIAL, HgbackupError, InvalidInput, NotFound
from ..kube import catalogue, names
from ..kube.client import Kube
from ..kube.scope import Scope
from ..store import StoreSettings
from ..store.manifest import Snapshot
from ..store.repository import Repository
from . import metrics, retention
from .retention import ForgetReport, Policy

DEFAULT_IMAGE = "ghcr.io/hgbackup/hgbackup:0.1.0"
FIELDS = {"name", "schedule", "timeZone", "store", "s3Endpoint", "s3ServerSideEncryption", "s3KmsKeyId", "cluster",
          "namespace", "scope", "retention", "tags", "credentialsSecret", "image", "requireEncryption",
          "secretNamespaces", "consoleSecrets", "allowEmpty", "metrics"}
METRICS_FIELDS = {"pushgateway", "ruleLabels", "dashboardNamespace"}
SSE_MODES = ("AES256", "aws:kms")
# Exit codes that a retry cannot fix (usage/configuration, integrity, not found): the Job fails at once.
FAIL_AT_ONCE = (2, 4, 5)
JOB_TTL_SECONDS = 7 * 24 * 3600
# robfig/cron's descriptors, which the CronJob controller accepts, as the 5 fields they stand for.
DESCRIPTORS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
               "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
IMAGE_REF = re.compile(r"(?P<name>[a-z0-9]+(?:[._/:-]+[a-z0-9]+)*?)(?::(?P<tag>[\w][\w.-]{0,127}))?"
                       r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?")
DEFAULT_NAMESPACE = "hgbackup"  # a namespace of its own: the job's credentials Secret stays out of its reach
SCOPE_FIELDS = {"higress_namespace", "secret_selectors", "ingress_classes", "namespaces", "with_services",
                "with_cert_manager", "with_ingress_classes", "include", "exclude"}
MOUNT = "/etc/hgbackup"
OBJECT_PREFIX = "hgbackup-"  # the rendered objects are named hgbackup-<schedule name>


@dataclass
class Schedule:
    name: str
    schedule: str
    store: str
    source: str  # the file's text, mounted into the job as is
    time_zone: str = "UTC"
    s3_endpoint: str | None = None
    cluster: str | None = None
    namespace: str = DEFAULT_NAMESPACE
    scope: Scope = field(default_factory=Scope)
    retention: Policy = field(default_factory=Policy)
    tags: list[str] = field(default_factory=list)
    credentials_secret: str | None = None
    image: str = DEFAULT_IMAGE
    require_encryption: bool = False
    secret_namespaces: list[str] = field(default_factory=list)
    # console Secrets of the Higress namespace, by name: the job gets these instead of listing every Secret there
    console_secrets: list[str] = field(default_factory=list)
    allow_empty: bool = False
    s3_sse: str | None = None
    s3_kms_key_id: str | None = None
    pushgateway: str | None = None
    rule_labels: dict = field(default_factory=dict)
    dashboard_namespace: str | None = None

    def secret_reads(self) -> list[str]:
        """Where the job may `get` Secrets: secretNamespaces, else the scope's namespaces, else the Higress one."""
        chosen = self.secret_namespaces or self.scope.namespaces or [self.scope.higress_namespace]
        return sorted(set(chosen))


    def store_settings(self) -> StoreSettings:
        return StoreSettings(self.store, self.s3_endpoint, self.s3_sse, self.s3_kms_key_id)

    def interval(self) -> timedelta:
        """The longest gap between two runs (over a year from a fixed date, in the schedule's time zone)."""
        return cron_interval(self.schedule, self.time_zone)


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
    """`schedule run`: `run`, timed, with its metrics pushed to the schedule's Pushgateway (when it has one), failed
    runs included. A push that fails after retries makes the run exit 3 (the snapshot is kept and reported)."""
    started = time.time()
    cluster = sched.cluster
    try:
        kube = connect()
        cluster = cluster or kube.context_cluster
        report = run(sched, kube, open_repository())
    except HgbackupError as exc:
        if sched.pushgateway:
            metrics.push_failure(sched.pushgateway, sched.name, cluster, started, exc.exit_code)
        raise
    report.duration = time.time() - started
    if sched.pushgateway:
        kept = removed = None
        if report.retention is not None:
            kept, removed = len(report.retention.decision.keep), len(report.retention.decision.remove)
        report.metrics_error = metrics.push_reporting(sched.pushgateway, metrics.RunOutcome(
            sched.name, report.snapshot.cluster, started, started + report.duration, report.exit_code,
            report.snapshot, kept, removed))
    return report


def run(sched: Schedule, kube: Kube, repo: Repository) -> ScheduleReport:
    """What the CronJob runs: snapshot with the file's scope, then its retention over this schedule's snapshots."""
    kube.cluster_identity()  # retention acts on this cluster's own snapshots: no identity, no run (exit 6)
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


def load(path: str) -> Schedule:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise NotFound(f"{path}: {exc.strerror}") from None
    return parse(text, path)


def parse(text: str, where: str) -> Schedule:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InvalidInput(f"{where}:{mark.line + 1 if mark else '?'}: invalid YAML") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: a schedule file is a YAML mapping")
    unknown = set(data) - FIELDS
    if unknown:
        raise InvalidInput(f"{where}: {sorted(unknown)[0]}: unknown field (known: {', '.join(sorted(FIELDS))})")
    for required in ("name", "schedule", "store"):
        if not isinstance(data.get(required), str) or not data[required].strip():
            raise InvalidInput(f"{where}: {required}: required, a non-empty string")
    time_zone = _string(data, "timeZone", where) or "UTC"
    try:
        cron_interval(data["schedule"], time_zone)
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc}") from None
    sse, kms = _string(data, "s3ServerSideEncryption", where), _string(data, "s3KmsKeyId", where)
    if sse is not None and sse not in SSE_MODES:
        raise InvalidInput(f"{where}: s3ServerSideEncryption: {sse!r} is not one of {', '.join(SSE_MODES)}")
    if kms and sse != "aws:kms":
        raise InvalidInput(f"{where}: s3KmsKeyId: needs s3ServerSideEncryption: aws:kms")
    monitoring = _metrics(data.get("metrics"), where)
    image = _string(data, "image", where) or DEFAULT_IMAGE
    check_image(image, f"{where}: image")
    check_schedule_name(data["name"], f"{where}: name")
    tags = data.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise InvalidInput(f"{where}: tags: must be a list of strings")
    secret_namespaces = data.get("secretNamespaces") or []
    if not isinstance(secret_namespaces, list):
        raise InvalidInput(f"{where}: secretNamespaces: must be a list of namespace names")
    for i, ns in enumerate(secret_namespaces):
        names.require_namespace(ns, f"{where}: secretNamespaces[{i}]")
    console_secrets = data.get("consoleSecrets") or []
    if not isinstance(console_secrets, list):
        raise InvalidInput(f"{where}: consoleSecrets: must be a list of Secret names")
    for i, secret in enumerate(console_secrets):
        names.require_name(secret, f"{where}: consoleSecrets[{i}]")
    for key, check in (("namespace", names.require_namespace), ("credentialsSecret", names.require_name)):
        if data.get(key) is not None:
            check(data[key], f"{where}: {key}")
    return Schedule(
        name=data["name"], schedule=data["schedule"], store=data["store"], source=text,
        time_zone=time_zone, s3_endpoint=_string(data, "s3Endpoint", where), s3_sse=sse, s3_kms_key_id=kms,
        cluster=_string(data, "cluster", where), namespace=_string(data, "namespace", where) or DEFAULT_NAMESPACE,
        scope=_scope(data.get("scope") or {}, where), retention=_retention(data.get("retention") or {}, where),
        tags=tags, credentials_secret=_string(data, "credentialsSecret", where),
        image=image, require_encryption=bool(data.get("requireEncryption")),
        secret_namespaces=secret_namespaces, console_secrets=sorted(set(console_secrets)),
        allow_empty=data.get("allowEmpty") is True, **monitoring,
    )


def cron_interval(expression: str, time_zone: str) -> timedelta:
    """Validate a CronJob schedule and time zone as the CronJob controller would accept them (5 fields or a
    descriptor; an IANA zone), and return the longest gap between two runs over a year from a fixed date."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from cronsim import CronSim, CronSimError

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


def check_schedule_name(name: str, where: str) -> None:
    """A schedule's name names its objects `hgbackup-<name>`, the CronJob among them (names.CRONJOB_NAME_MAX), and is
    a label value on each: a DNS-1123 label short enough for both."""
    names.require_namespace(name, where)  # the label rule (namespaces are labels too)
    if not names.valid_cronjob_name(f"{OBJECT_PREFIX}{name}"):
        raise InvalidInput(f"{where}: {name!r} is too long: the CronJob {OBJECT_PREFIX}{name} would have "
                           f"{len(OBJECT_PREFIX + name)} characters, and a CronJob's name has at most "
                           f"{names.CRONJOB_NAME_MAX} (its Jobs add 11)")


def check_image(image: str, where: str) -> None:
    """A container image reference: name[:tag][@sha256:digest] (lower-case name, 64-hex digest)."""
    if not IMAGE_REF.fullmatch(image):
        raise InvalidInput(f"{where}: {image!r} is not an image reference (name[:tag][@sha256:<64 hex digits>])")


def image_pinned(image: str) -> bool:
    match = IMAGE_REF.fullmatch(image)
    return bool(match and match.group("digest"))


def _metrics(data, where: str) -> dict:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: metrics: must be a mapping")
    unknown = set(data) - METRICS_FIELDS
    if unknown:
        raise InvalidInput(f"{where}: metrics.{sorted(unknown)[0]}: unknown field "
                           f"(known: {', '.join(sorted(METRICS_FIELDS))})")
    url = data.get("pushgateway")
    if not isinstance(url, str) or not re.match(r"https?://[^/\s]+", url):
        raise InvalidInput(f"{where}: metrics.pushgateway: required, an http(s):// URL")
    labels = data.get("ruleLabels") or {}
    if not isinstance(labels, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        raise InvalidInput(f"{where}: metrics.ruleLabels: must be a mapping of strings")
    for key, value in labels.items():
        if not (names.valid_label_key(key) and names.valid_label_value(value)):  # Kubernetes' rules (names.py)
            raise InvalidInput(f"{where}: metrics.ruleLabels: {key!r:.80}: {value!r:.80} is not a label")
    dash_ns = data.get("dashboardNamespace")
    if dash_ns is not None:
        names.require_namespace(dash_ns, f"{where}: metrics.dashboardNamespace")
    return {"pushgateway": url, "rule_labels": dict(labels), "dashboard_namespace": dash_ns}


def _string(data: dict, key: str, where: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{where}: {key}: must be a string")
    return value


def _scope(data: dict, where: str) -> Scope:
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: scope: must be a mapping")
    unknown = set(data) - SCOPE_FIELDS
    if unknown:
        raise InvalidInput(f"{where}: scope.{sorted(unknown)[0]}: unknown field")
    for key in ("secret_selectors", "ingress_classes", "namespaces", "include", "exclude"):
        if key in data and not (isinstance(data[key], list) and all(isinstance(v, str) for v in data[key])):
            raise InvalidInput(f"{where}: scope.{key}: must be a list of strings")
    optins = {name for flag, name in (("with_services", "services"), ("with_cert_manager", "cert_manager"),
                                      ("with_ingress_classes", "ingress_classes")) if data.get(flag)}
    if data.get("higress_namespace") is not None:
        names.require_namespace(data["higress_namespace"], f"{where}: scope.higress_namespace")
    for i, ns in enumerate(data.get("namespaces") or []):
        names.require_namespace(ns, f"{where}: scope.namespaces[{i}]")
    try:
        scope = Scope.from_json({**data, "optins": sorted(optins)})
        scope.kinds()  # validates include/exclude names
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: scope: {exc}") from None
    return scope


def _retention(data: dict, where: str) -> Policy:
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: retention: must be a mapping")
    try:
        return Policy.from_dict(data)
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc}") from None


# -- rendering -------------------------------------------------------------------------------------------------------
def kubernetes_objects(sched: Schedule, *, image: str | None = None, namespace: str | None = None,
                       monitoring: bool = False) -> list[dict]:
    """ServiceAccount, RBAC, the schedule ConfigMap and the CronJob, in apply order; with `monitoring`, also the
    PrometheusRule and the Grafana dashboard ConfigMap (the schedule must name its Pushgateway)."""
    if image is not None:
        check_image(image, "--image")
    if monitoring and not sched.pushgateway:
        raise InvalidInput(f"schedule {sched.name}: monitoring needs metrics.pushgateway in the schedule file (the "
                           "alerts and the dashboard read what the job pushes there)")
    if not sched.store.startswith("s3://"):
        raise InvalidInput(f"schedule {sched.name}: store {sched.store!r} is a local folder, which would live and "
                           "die with the CronJob's pod (no volume is mounted for it): use an s3:// store")
    ns = names.require_namespace(namespace, "--namespace") if namespace is not None else sched.namespace
    name = f"{OBJECT_PREFIX}{sched.name}"
    labels = {"app.kubernetes.io/name": "hgbackup", "app.kubernetes.io/instance": sched.name}
    meta = {"name": name, "namespace": ns, "labels": labels}
    objects: list[dict] = []
    if ns != sched.scope.higress_namespace:
        objects.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}})
    objects.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta})
    objects += rbac(sched.scope, name, ns, labels, sched.secret_reads(), sched.console_secrets)
    objects.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
                    "data": {"schedule.yaml": sched.source}})
    objects.append(cronjob(sched, name, ns, labels, image or sched.image))
    if monitoring:
        objects.append(prometheus_rule(sched, name, ns, labels))
        objects.append(dashboard_configmap(sched, name, sched.dashboard_namespace or ns, labels))
    return objects


def _duration(delta: timedelta) -> str:
    """A Prometheus duration: whole hours, minutes or seconds."""
    seconds = int(delta.total_seconds())
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def alert_rules(sched: Schedule) -> dict:
    """The rule group: no complete snapshot for twice the schedule's longest interval (or never, once that long
    has passed), a partial snapshot, a failed run. Series as metrics.SERIES names them."""
    stale = 2 * sched.interval()
    sel = f'schedule="{sched.name}"'
    runbook = "hgbackup list --tag schedule:" + sched.name
    return {"name": f"hgbackup-{sched.name}", "rules": [
        {"alert": "HgbackupBackupTooOld",
         "expr": f"time() - max by (cluster) (hgbackup_last_success_timestamp_seconds{{{sel}}}) "
                 f"> {int(stale.total_seconds())}",
         "labels": {"severity": "critical", "schedule": sched.name},
         "annotations": {"summary": f"No complete hgbackup snapshot of schedule {sched.name} for {_duration(stale)}",
                         "description": "The last complete snapshot of cluster {{ $labels.cluster }} is older than "
                                        f"twice the schedule's interval. Check the CronJob's Jobs: {runbook}"}},
        {"alert": "HgbackupNeverSucceeded",
         "expr": f"absent(hgbackup_last_success_timestamp_seconds{{{sel}}})",
         "for": _duration(stale),
         "labels": {"severity": "critical", "schedule": sched.name},
         "annotations": {"summary": f"Schedule {sched.name} has pushed no complete snapshot",
                         "description": "No run of the schedule has reported a complete snapshot to the Pushgateway "
                                        f"for {_duration(stale)} (or the Pushgateway is not scraped)."}},
        {"alert": "HgbackupSnapshotPartial",
         "expr": f"max by (cluster) (hgbackup_last_run_partial{{{sel}}}) == 1",
         "labels": {"severity": "warning", "schedule": sched.name},
         "annotations": {"summary": f"The last snapshot of schedule {sched.name} is partial",
                         "description": "Some kinds could not be read (RBAC, API errors): the snapshot of "
                                        "{{ $labels.cluster }} is kept and marked partial; see the Job's log."}},
        {"alert": "HgbackupRunFailed",
         "expr": f"max by (cluster) (hgbackup_last_run_failed{{{sel}}}) == 1",
         "labels": {"severity": "critical", "schedule": sched.name},
         "annotations": {"summary": f"The last run of schedule {sched.name} failed",
                         "description": "The last run on {{ $labels.cluster }} wrote no snapshot (exit code "
                                        "{{ with query \"hgbackup_last_run_exit_code\" }}{{ . | first | value }}"
                                        "{{ end }}); see the Job's log."}},
    ]}


def prometheus_rule(sched: Schedule, name: str, ns: str, labels: dict) -> dict:
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
            "metadata": {"name": name, "namespace": ns, "labels": {**labels, **sched.rule_labels}},
            "spec": {"groups": [alert_rules(sched)]}}


DASHBOARD_LABEL = "grafana_dashboard"  # the label the Grafana sidecar watches (grafana Helm chart default)


def dashboard(sched: Schedule) -> dict:
    """A Grafana dashboard of the schedule's pushed series (metrics.SERIES only)."""
    sel = f'schedule="{sched.name}", cluster=~"$cluster"'

    def panel(pid: int, title: str, kind: str, expr: str, legend: str, x: int, y: int, w: int = 8, unit: str = "",
              h: int = 6) -> dict:
        return {"id": pid, "title": title, "type": kind, "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "gridPos": {"x": x, "y": y, "w": w, "h": h},
                "fieldConfig": {"defaults": {"unit": unit} if unit else {}, "overrides": []},
                "targets": [{"refId": "A", "expr": expr, "legendFormat": legend}]}

    panels = [
        panel(1, "Age of the last complete snapshot", "stat",
              f"time() - hgbackup_last_success_timestamp_seconds{{{sel}}}", "{{cluster}}", 0, 0, unit="s"),
        panel(2, "Last run failed", "stat", f"hgbackup_last_run_failed{{{sel}}}", "{{cluster}}", 8, 0),
        panel(3, "Last snapshot partial", "stat", f"hgbackup_last_run_partial{{{sel}}}", "{{cluster}}", 16, 0),
        panel(4, "Objects per kind", "timeseries", f"hgbackup_snapshot_objects{{{sel}}}", "{{kind}}", 0, 6, 12),
        panel(5, "Archive size", "timeseries", f"hgbackup_snapshot_archive_bytes{{{sel}}}", "{{cluster}}", 12, 6,
              12, unit="bytes"),
        panel(6, "Run duration", "timeseries", f"hgbackup_last_run_duration_seconds{{{sel}}}", "{{cluster}}", 0, 12,
              unit="s"),
        panel(7, "Snapshots kept / removed by retention", "timeseries",
              f"hgbackup_retention_kept_snapshots{{{sel}}} or hgbackup_retention_removed_snapshots{{{sel}}}",
              "{{__name__}}", 8, 12),
        panel(8, "Exit code of the last run", "stat", f"hgbackup_last_run_exit_code{{{sel}}}", "{{cluster}}", 16, 12),
    ]
    return {"title": f"hgbackup: {sched.name}", "uid": f"hgbackup-{sched.name}"[:40], "schemaVersion": 39,
            "tags": ["hgbackup", "backup"], "time": {"from": "now-7d", "to": "now"}, "refresh": "5m",
            "templating": {"list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source"},
                {"name": "cluster", "type": "query", "datasource": {"type": "prometheus", "uid": "${datasource}"},
                 "query": f'label_values(hgbackup_last_attempt_timestamp_seconds{{schedule="{sched.name}"}}, '
                          'cluster)', "includeAll": True, "multi": True, "current": {"text": "All",
                                                                                      "value": "$__all"}}]},
            "panels": panels}


def dashboard_configmap(sched: Schedule, name: str, ns: str, labels: dict) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": f"{name}-dashboard", "namespace": ns, "labels": {**labels, DASHBOARD_LABEL: "1"}},
            "data": {f"hgbackup-{sched.name}.json": json.dumps(dashboard(sched), indent=2, sort_keys=True) + "\n"}}


def credentials_command(sched: Schedule, namespace: str | None = None) -> str | None:
    """The exact kubectl command that creates the credentials Secret (values are the user's to fill in; hgbackup
    never renders them)."""
    if not sched.credentials_secret:
        return None
    ns = names.require_namespace(namespace, "--namespace") if namespace is not None else sched.namespace
    secret = names.require_name(sched.credentials_secret, "credentialsSecret")  # checked when parsed, and here
    parts = [["kubectl", "-n", ns, "create", "secret", "generic", secret],
             ["--from-literal=AWS_ACCESS_KEY_ID=<access key id>"],
             ["--from-literal=AWS_SECRET_ACCESS_KEY=<secret access key>"],
             ["--from-literal=AWS_DEFAULT_REGION=<region>"]]
    if sched.require_encryption or catalogue.SECRETS in sched.scope.kinds():
        parts.append(["--from-file=HGBACKUP_ENCRYPTION_KEY=./hgbackup.key"])
    # every word quoted for a shell: the placeholders too, so a command pasted before filling them in fails
    # harmlessly (an unknown literal) instead of redirecting from a file named "<access"
    return " \\\n    ".join(" ".join(shlex.quote(word) for word in line) for line in parts)


def rbac(scope: Scope, name: str, ns: str, labels: dict, secret_namespaces: list[str],
         console_secrets: list[str] = ()) -> list[dict]:
    """Read-only rights on exactly the kinds in scope; Secrets and ConfigMaps narrowed to where they are read:
    console Secrets are listed in the Higress namespace (RBAC cannot filter a list by label, so that grant reads
    every Secret there), or with `console_secrets` only those are got by name (`resourceNames`); referenced ones
    are read by name (`get`) only in `secret_namespaces`, never cluster-wide."""
    kinds = scope.kinds()
    cluster_rules: list[dict] = [
        # the cluster identity recorded in each manifest
        {"apiGroups": [""], "resources": ["namespaces"], "resourceNames": ["kube-system"], "verbs": ["get"]},
    ]
    custom = sorted(k.key for k in kinds if k.custom)
    if catalogue.CRDS in kinds and custom:
        cluster_rules.append({"apiGroups": [catalogue.APIEXT], "resources": ["customresourcedefinitions"],
                              "resourceNames": custom, "verbs": ["get"]})
    ns_rules: dict[str, list[dict]] = {}
    hns = scope.higress_namespace
    plain = [k for k in kinds if k not in (catalogue.CRDS, catalogue.SECRETS, catalogue.CONFIGMAPS)]
    for group in sorted({k.group for k in plain}):
        resources = sorted(k.plural for k in plain if k.group == group and (not k.namespaced or not scope.namespaces))
        if resources:
            cluster_rules.append({"apiGroups": [group], "resources": resources, "verbs": ["get", "list", "watch"]})
        if scope.namespaces:
            namespaced = sorted(k.plural for k in plain if k.group == group and k.namespaced)
            for target in scope.namespaces:
                if namespaced:
                    ns_rules.setdefault(target, []).append(
                        {"apiGroups": [group], "resources": namespaced, "verbs": ["get", "list", "watch"]})
    if catalogue.CONFIGMAPS in kinds:
        ns_rules.setdefault(hns, []).append(
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]})
    if catalogue.SECRETS in kinds:
        # console Secrets are listed in the Higress namespace only; referenced ones are read one by one by name,
        # which RBAC cannot narrow further than `get` in a namespace (names are not known in advance)
        if scope.wants_namespace(hns) and console_secrets:
            named = sorted({*console_secrets, selection.CONSOLE_SECRET})
            ns_rules.setdefault(hns, []).append({"apiGroups": [""], "resources": ["secrets"],
                                                 "resourceNames": named, "verbs": ["get"]})
        elif scope.wants_namespace(hns):
            ns_rules.setdefault(hns, []).append({"apiGroups": [""], "resources": ["secrets"],
                                                 "verbs": ["get", "list", "watch"]})
        for target in secret_namespaces:
            if target != hns or not scope.wants_namespace(hns):
                ns_rules.setdefault(target, []).append({"apiGroups": [""], "resources": ["secrets"],
                                                        "verbs": ["get"]})
    subject = [{"kind": "ServiceAccount", "name": name, "namespace": ns}]
    out = [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": name, "labels": labels}, "rules": cluster_rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": name, "labels": labels},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
         "subjects": subject},
    ]
    for target, rules in sorted(ns_rules.items()):
        meta = {"name": name, "namespace": target, "labels": labels}
        out.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta, "rules": rules})
        out.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta,
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                    "subjects": subject})
    return out


def grants(objects: list[dict]) -> list[str]:
    """What the rendered identity may do, one line per rule, for a person to check before applying it."""
    lines = []
    for obj in objects:
        if obj["kind"] not in ("ClusterRole", "Role"):
            continue
        where = "cluster-wide" if obj["kind"] == "ClusterRole" else f"in namespace {obj['metadata']['namespace']}"
        for rule in obj["rules"]:
            named = f" named {', '.join(rule['resourceNames'])}" if rule.get("resourceNames") else ""
            resources = ", ".join(f"{r}.{g}" if g else r for g in rule["apiGroups"] for r in rule["resources"])
            lines.append(f"{where}: {','.join(rule['verbs'])} {resources}{named}{_secret_reach(rule)}")
    return lines


def _secret_reach(rule: dict) -> str:
    """What a rule on Secrets really lets the job read, said beside it: a `list` cannot be narrowed by label."""
    if rule["resources"] != ["secrets"] or rule.get("resourceNames"):
        return ""
    if "list" in rule["verbs"]:
        return (" (every Secret there, service-account token and Helm release Secrets included: RBAC cannot filter "
                "a list by label; only console Secrets are stored; consoleSecrets grants get on named ones instead)")
    return " (any Secret there whose name it asks for)"


def render_warnings(sched: Schedule, namespace: str | None = None, image: str | None = None) -> list[str]:
    """What a person should know about the rendered identity's reach and what it runs."""
    ns = namespace or sched.namespace
    warnings = []
    if not image_pinned(image or sched.image):
        warnings.append(f"the image {image or sched.image} is not pinned by digest: a moved tag changes what the "
                        "job runs; render with --image NAME@sha256:<digest>")
    if not sched.cluster:
        warnings.append("the schedule names no cluster: snapshots and metrics will say \"in-cluster\"; set "
                        "cluster: to the name you restore by")
    readable = set(sched.secret_reads()) | {sched.scope.higress_namespace}
    if catalogue.SECRETS in sched.scope.kinds() and sched.credentials_secret and ns in readable:
        warnings.append(f"the job's own credentials Secret {ns}/{sched.credentials_secret} is readable by its "
                        "identity: run the CronJob in a namespace of its own (namespace: hgbackup)")
    if catalogue.SECRETS in sched.scope.kinds() and not sched.secret_namespaces and not sched.scope.namespaces:
        warnings.append("Secrets are read only in the Higress namespace: a TLS Secret referenced from another "
                        "namespace will be reported as unreadable (partial snapshot); list those namespaces in "
                        "secretNamespaces")
    return warnings


def cronjob(sched: Schedule, name: str, ns: str, labels: dict, image: str) -> dict:
    container = {
        "name": "hgbackup",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "args": ["schedule", "run", f"{MOUNT}/schedule.yaml"],
        "env": [{"name": "HOME", "value": "/tmp"}, {"name": "HGBACKUP_LOG_FORMAT", "value": "json"}],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
        "securityContext": {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                            "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "schedule", "mountPath": MOUNT, "readOnly": True},
                         {"name": "tmp", "mountPath": "/tmp"}],
    }
    if sched.credentials_secret:
        container["envFrom"] = [{"secretRef": {"name": sched.credentials_secret}}]
    pod = {
        "serviceAccountName": name,
        "restartPolicy": "Never",
        "securityContext": {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532, "fsGroup": 65532,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": [{"name": "schedule", "configMap": {"name": name}}, {"name": "tmp", "emptyDir": {}}],
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {
            "schedule": sched.schedule,
            "timeZone": sched.time_zone,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 600,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 5,
            "jobTemplate": {"metadata": {"labels": labels}, "spec": {
                "backoffLimit": 2,
                "activeDeadlineSeconds": 3600,
                "ttlSecondsAfterFinished": JOB_TTL_SECONDS,
                # configuration, integrity and not-found errors fail the Job at once: a retry cannot fix them
                "podFailurePolicy": {"rules": [
                    {"action": "FailJob", "onExitCodes": {"containerName": "hgbackup", "operator": "In",
                                                          "values": list(FAIL_AT_ONCE)}},
                    {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]},
                ]},
                "template": {"metadata": {"labels": labels}, "spec": pod},
            }},
        },
    }
