"""Scheduled backups: the schedule file (file.py) and its cron arithmetic (cron.py), what a scheduled run does
(run.py: snapshot, retention.py, metrics.py), and the Kubernetes objects that run it (render.py: CronJob and RBAC;
monitoring.py: alerts and dashboard)."""
