"""`hgbackup forget`, `hgbackup schedule render|run` and `hgbackup key generate`."""

from __future__ import annotations

import json
import sys

import click

from .. import crypto, retention
from .. import schedule as schedule_mod
from .. import snapshot as snapshot_mod
from ..errors import InvalidInput
from ..render import yaml_text
from ..repository import Repository
from ..store import open_store
from .base import cli, emit, kube_from, kube_options, output_option, repo_from, store_options, warn


def _decision_json(decision: retention.Decision) -> dict:
    return {"keep": [{"id": s.id, "cluster": s.cluster, "reasons": r} for s, r in decision.keep],
            "remove": [{"id": s.id, "cluster": s.cluster} for s in decision.remove]}


@cli.command()
@click.option("--keep-last", type=click.IntRange(0), help="Keep the N newest snapshots.")
@click.option("--keep-hourly", type=click.IntRange(0), help="Keep the newest of each of the last N hours.")
@click.option("--keep-daily", type=click.IntRange(0), help="Keep the newest of each of the last N days.")
@click.option("--keep-weekly", type=click.IntRange(0), help="Keep the newest of each of the last N ISO weeks.")
@click.option("--keep-monthly", type=click.IntRange(0), help="Keep the newest of each of the last N months.")
@click.option("--keep-yearly", type=click.IntRange(0), help="Keep the newest of each of the last N years.")
@click.option("--keep-within", metavar="DURATION", help="Keep all within DURATION (30d, 2w, 1y6M) of the newest.")
@click.option("--tag", "tags", multiple=True, help="Only snapshots with this tag (repeatable: all of them).")
@click.option("--cluster", help="Only snapshots of this cluster.")
@click.option("--dry-run", is_flag=True, help="Show what would be removed; remove nothing.")
@store_options
@output_option
def forget(keep_within, tags, cluster, dry_run, fmt, **opts):
    """Remove snapshots by a retention policy (rules combine by OR, per cluster; the newest is always kept).

    Example: hgbackup forget --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --dry-run
    """
    rules = {k: opts.pop(k) for k in ("keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly",
                                      "keep_yearly")}
    if keep_within:
        rules["keep_within"] = keep_within
    policy = retention.Policy.from_dict(rules, where="forget")
    decision, warnings = retention.forget(repo_from(opts), policy, cluster=cluster, tags=list(tags), dry_run=dry_run)
    for line in warnings:
        warn(line)
    verb = "would remove" if dry_run else "removed"
    lines = [f"keep    {s.id}  {s.cluster}  {', '.join(r)}" for s, r in decision.keep]
    lines += [f"{verb:7} {s.id}  {s.cluster}" for s in decision.remove]
    lines.append(f"{len(decision.keep)} kept, {len(decision.remove)} {verb}")
    emit(_decision_json(decision), fmt, "\n".join(lines))


@cli.group("schedule")
def schedule_group():
    """Scheduled backups: render a CronJob from a schedule file, or run one (what the CronJob runs).

    Example: hgbackup schedule render schedules/nightly.yaml | kubectl apply -f -
    """


@schedule_group.command("render")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--image", help="Container image (default: the file's image).")
@click.option("--namespace", help="Namespace of the CronJob (default: the file's namespace).")
def render(path, image, namespace):
    """Print the CronJob, ServiceAccount, RBAC and ConfigMap for a schedule file.

    Example: hgbackup schedule render schedules/nightly.yaml --image registry.example/hgbackup:0.1.0 > cronjob.yaml
    """
    objects = schedule_mod.render(schedule_mod.load(path), image=image, namespace=namespace)
    click.echo("---\n".join(yaml_text(o) for o in objects), nl=False)


@schedule_group.command("run")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@kube_options
def run(path, **opts):
    """Snapshot with the file's scope, then apply its retention; prints one JSON line. Exit 3 when partial.

    Example: hgbackup schedule run /etc/hgbackup/schedule.yaml
    """
    sched = schedule_mod.load(path)
    repo = Repository(open_store(sched.store, s3_endpoint=sched.s3_endpoint))
    key = crypto.load_key(None)
    capture = snapshot_mod.capture_live(kube_from(opts), sched.scope, sched.cluster)
    if key is None and sched.require_encryption and any(o.ref.kind == "Secret" for o in capture.objects):
        raise InvalidInput(f"{path}: requireEncryption is set but no HGBACKUP_ENCRYPTION_KEY: nothing was written")
    manifest = snapshot_mod.write(repo, capture, sched.scope, tags=[*sched.tags, f"schedule:{sched.name}"],
                                  encryption_key=key)
    summary = {"schedule": sched.name, "snapshot": manifest["id"], "cluster": manifest["_cluster_key"],
               "objects": len(manifest["objects"]), "partial": manifest["partial"], "warnings": manifest["warnings"],
               "kept": None, "removed": None}
    if not sched.retention.empty():
        decision, _ = retention.forget(repo, sched.retention, cluster=manifest["_cluster_key"],
                                       tags=[f"schedule:{sched.name}"])
        summary["kept"] = len(decision.keep)
        summary["removed"] = [s.id for s in decision.remove]
    click.echo(json.dumps(summary, sort_keys=True))
    if manifest["partial"]:
        sys.exit(3)


@cli.group("key")
def key_group():
    """Archive encryption keys.

    Example: hgbackup key generate > hgbackup.key && chmod 600 hgbackup.key
    """


@key_group.command("generate")
def generate():
    """Print a new random AES-256 key (base64), for --encryption-key-file or HGBACKUP_ENCRYPTION_KEY.

    Example: hgbackup key generate > hgbackup.key
    """
    click.echo(crypto.generate_key())
