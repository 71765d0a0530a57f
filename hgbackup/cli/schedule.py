"""`hgbackup schedule render|run`: the Kubernetes objects that run a schedule file, and what its CronJob runs."""

from __future__ import annotations

import json

import click

from .. import logs
from ..kube.client import KubeSettings
from ..output import yaml_text
from ..schedule import file as schedule_file
from ..schedule import render
from ..schedule import run as schedule_run
from ..store.repository import Repository
from .base import cli, finish, key_option, kube_options, warn


@cli.group("schedule")
def schedule_group():
    """Scheduled backups: render a CronJob from a schedule file, or run one (what the CronJob runs).

    Example: hgbackup schedule render schedules/nightly.yaml | kubectl apply -f -
    """


@schedule_group.command("render")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--image", metavar="IMAGE",
              help="Container image, best pinned by digest: NAME@sha256:<digest> (default: the file's image).")
@click.option("--namespace", help="Namespace of the CronJob (default: the file's namespace).")
@click.option("--with-monitoring", is_flag=True,
              help="Also a PrometheusRule (stale, partial, failed backups) and a Grafana dashboard ConfigMap "
                   "(needs metrics.pushgateway in the file).")
def render_cmd(path, image, namespace, with_monitoring):
    """Print the CronJob, ServiceAccount, RBAC and ConfigMap for a schedule file.

    The credentials Secret is never rendered: the command that creates it is printed on stderr. The cron
    expression and time zone are checked here (exit 2), as the CronJob controller would.

    Example: hgbackup schedule render schedules/nightly.yaml --with-monitoring --image reg.example/hgbackup@sha256:<d>
    """
    rendering = render.render(schedule_file.load(path), image=image, namespace=namespace, monitoring=with_monitoring)
    click.echo("---\n".join(yaml_text(o) for o in rendering.objects), nl=False)
    click.echo("the CronJob's identity may:", err=True)
    for line in rendering.grants:
        click.echo(f"  {line}", err=True)
    if rendering.credentials_command:
        click.echo("create its credentials Secret first (not rendered; fill in the values):\n  "
                   f"{rendering.credentials_command}", err=True)
    for line in rendering.warnings:
        warn(line)


@schedule_group.command("run")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@kube_options
@key_option
def run_cmd(path, kube: KubeSettings, keyring):
    """Snapshot with the file's scope, then apply its retention; prints one JSON line. Exit 3 when partial.

    With metrics.pushgateway in the file, every run (failed ones too) pushes its metrics there; a push that fails
    after retries is exit 3 (the snapshot is kept).

    Example: hgbackup --log-format json schedule run /etc/hgbackup/schedule.yaml
    """
    sched = schedule_file.load(path)
    report = schedule_run.run_monitored(sched, kube.connect,
                                        lambda: Repository(sched.store_settings().open(), keyring))
    click.echo(json.dumps(report.as_json(), sort_keys=True))
    if report.retention_skipped:
        warn(f"retention skipped: {report.retention_skipped}", schedule=sched.name)
    if report.metrics_error:
        warn(report.metrics_error, schedule=sched.name, snapshot=report.snapshot.id)
    data = report.as_json()
    logs.info("scheduled run finished", **{k: data[k] for k in (
        "schedule", "snapshot", "cluster", "objects", "partial", "kept", "archive_bytes", "duration_seconds",
        "exit_code")}, removed=len(data["removed"] or []))
    finish(report)
