"""`hgbackup forget`: remove snapshots by a retention policy (schedule/retention.py)."""

from __future__ import annotations

import click

from ..schedule import retention
from ..store import StoreSettings
from .base import cli, emit, finish, key_option, open_repository, output_option, store_options, warn


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
