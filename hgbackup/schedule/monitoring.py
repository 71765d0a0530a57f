"""The monitoring objects of a schedule: the PrometheusRule (stale, partial and failed backups) and the Grafana
dashboard, both reading only the series a run pushes (metrics.SERIES)."""

from __future__ import annotations

import json
from datetime import timedelta

from .file import Schedule

DASHBOARD_LABEL = "grafana_dashboard"  # the label the Grafana sidecar watches (grafana Helm chart default)


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
