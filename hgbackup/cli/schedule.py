"""`hgbackup forget`, `hgbackup schedule render|run` and `hgbackup key generate`."""

from __future__ import annotations

import json

import click

from .. import logs
from ..kube.client import KubeSettings
from ..output import yaml_text
from ..schedule import file as schedule_file
from ..schedule import render, retention
from ..schedule import run as schedule_run
from ..store import StoreSettings, crypto, keycheck
from ..store.repository import Repository
from .base import cli, emit, finish, key_option, kube_options, open_repository, output_option, store_options, warn


@cli.command()
@click.option("--keep-last", type=click.IntRange(0), help="Keep the N newest snapshots.")
@click.option("--keep-hourly", type=click.IntRange(0), help="Keep the newest of each of the last N hours.")
@click.option("--keep-daily", type=click.IntRange(0), help="Keep the newest of each of the last N days.")
@click.option("--keep-weekly", type=click.IntRange(0), help="Keep the newest of each of the last N ISO weeks.")
@click.option("--keep-monthly", type=click.IntRange(0), help="Keep the newest of each of the last N months.")
@click.option("--keep-yearly", type=click.IntRange(0), help="Keep the newest of each of the last N years.")
@click.option("--keep-within", metavar="DURATION",
              help="Keep all within DURATION of the newest (restic's units: 1y5m7d2h = years, months, days, hours; "
                   "also w weeks).")
@click.option("--tag", "tags", multiple=True, help="Only snapshots with this tag (repeatable: all of them).")
@click.option("--cluster", help="Only snapshots of this cluster.")
@click.option("--dry-run", is_flag=True, help="Show what would be removed; remove nothing.")
@store_options
@key_option
@output_option
def forget(keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_yearly, keep_within, tags, cluster,
           dry_run, store: StoreSettings, keyring, fmt):
    """Remove snapshots by a retention policy (restic's rules, combined by OR; the newest is kept).

    Snapshots are grouped by cluster identity and scope, as restic groups by host and paths: a pre-restore safety
    snapshot or a narrow snapshot (-n, --include) is a group of its own and never takes the slot of a full one.

    Example: hgbackup forget --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --dry-run
    """
    rules = {"keep_last": keep_last, "keep_hourly": keep_hourly, "keep_daily": keep_daily,
             "keep_weekly": keep_weekly, "keep_monthly": keep_monthly, "keep_yearly": keep_yearly,
             "keep_within": keep_within}
    policy = retention.Policy.from_dict(rules, where="forget")
    report = retention.forget(open_repository(store, keyring), policy, cluster=cluster, tags=list(tags),
                              dry_run=dry_run)
    for line in report.warnings:
        warn(line)
    verb = "would remove" if dry_run else "removed"
    lines = [f"keep    {s.id}  {s.cluster} [{s.scope}]  {', '.join(r)}" for s, r in report.decision.keep]
    lines += [f"{verb:7} {s.id}  {s.cluster} [{s.scope}]" for s in report.decision.remove]
    lines.append(f"{len(report.decision.keep)} kept, {len(report.decision.remove)} {verb}")
    emit(report.as_json(), fmt, "\n".join(lines))
    finish(report)


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
    sched = schedule_file.load(path)
    objects = render.kubernetes_objects(sched, image=image, namespace=namespace, monitoring=with_monitoring)
    click.echo("---\n".join(yaml_text(o) for o in objects), nl=False)
    click.echo("the CronJob's identity may:", err=True)
    for line in render.grants(objects):
        click.echo(f"  {line}", err=True)
    command = render.credentials_command(sched, namespace)
    if command:
        click.echo(f"create its credentials Secret first (not rendered; fill in the values):\n  {command}", err=True)
    for line in render.render_warnings(sched, namespace, image):
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


@cli.group("key")
def key_group():
    """Archive encryption keys.

    Example: hgbackup key generate > hgbackup.key && chmod 600 hgbackup.key
    """


@key_group.command("generate")
@click.option("-o", "--output", "path", type=click.Path(dir_okay=False),
              help="Write the key to this new file (mode 0600) instead of stdout.")
def generate(path):
    """Print a new random AES-256 key (base64), for --encryption-key-file or HGBACKUP_ENCRYPTION_KEY.

    Keep a copy outside the cluster it protects: a backup whose key was lost with the cluster cannot be read.

    Example: hgbackup key generate -o hgbackup.key
    """
    key = crypto.generate_key()
    if path:
        crypto.write_key_file(path, key)
        click.echo(f"wrote a new key to {path} (fingerprint {crypto.fingerprint(crypto.parse_key(key, path))})",
                   err=True)
    else:
        click.echo(key)


@key_group.command("fingerprint")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--store", "store_url", envvar="HGBACKUP_STORE", metavar="URL",
              help="Also say which snapshots of this store the key opens (each manifest authenticated with it).")
@click.option("--s3-endpoint", envvar="HGBACKUP_S3_ENDPOINT", metavar="URL", help="S3-compatible endpoint.")
@output_option
def fingerprint_cmd(path, store_url, s3_endpoint, fmt):
    """Print a key's fingerprint; with --store, which snapshots it opens and which need another key.

    A snapshot counts as opened only when its manifest authenticates with the key; manifests that do not (edited,
    relabelled, unreadable) are listed, exit 4. Exit 1 when some snapshots need another key.

    Example: hgbackup key fingerprint hgbackup.key --store s3://backups/higress
    """
    key = crypto.load_key(path)
    store = StoreSettings(store_url, s3_endpoint).open() if store_url else None
    report = keycheck.check(store, key)
    emit(report.as_json(), fmt, report.text())
    finish(report)
