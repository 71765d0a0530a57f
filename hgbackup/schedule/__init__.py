"""Scheduled backups: schedule files, what a scheduled run does (snapshot, retention, metrics), retention rules,
and the Kubernetes objects (CronJob, RBAC, alerts, dashboard) that run a schedule."""
