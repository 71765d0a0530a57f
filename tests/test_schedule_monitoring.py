"""The PrometheusRule and the Grafana dashboard (schedule/monitoring.py), without servers; promtool and the API
server judge them in test_schedule_monitoring_live.py."""

from __future__ import annotations

import json
import re

from hgbackup.schedule import file as schedule
from hgbackup.schedule import metrics
from hgbackup.schedule.render import kubernetes_objects

BASE = "name: x\nstore: s3://b/p\ncluster: prod\n"


def parse(extra: str, cron: str = "30 2 * * *"):
    return schedule.parse(f"{BASE}schedule: '{cron}'\n{extra}", "f")


def names_in(expr: str) -> set[str]:
    return set(re.findall(r"\bhgbackup_[a-z_]+\b", expr))


def test_alerts_and_dashboard_name_only_pushed_series():
    sched = parse("metrics:\n  pushgateway: http://pg:9091\n  ruleLabels: {release: kube-prometheus}\n")
    objects = kubernetes_objects(sched, monitoring=True)
    rule = next(o for o in objects if o["kind"] == "PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus"
    rules = rule["spec"]["groups"][0]["rules"]
    assert {r["alert"] for r in rules} == {"HgbackupBackupTooOld", "HgbackupNeverSucceeded",
                                           "HgbackupSnapshotPartial", "HgbackupRunFailed"}
    too_old = next(r for r in rules if r["alert"] == "HgbackupBackupTooOld")
    assert too_old["expr"].endswith("> 172800")  # twice a day
    board_cm = next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith("-dashboard"))
    assert board_cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    board = json.loads(next(iter(board_cm["data"].values())))
    exprs = [t["expr"] for p in board["panels"] for t in p["targets"]]
    used = set().union(*(names_in(e) for e in exprs + [r["expr"] for r in rules]))
    used |= names_in(json.dumps(board["templating"]))
    assert used and used <= set(metrics.SERIES)
    assert len({p["id"] for p in board["panels"]}) == len(board["panels"])
