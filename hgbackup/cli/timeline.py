"""`hgbackup log`: the change timeline of one cluster's snapshots."""

from __future__ import annotations

import click

from ..diff import timeline
from ..kube import catalogue
from ..output import ProgressLine, table
from ..store import StoreSettings
from .base import cli, emit, finish, key_option, open_repository, output_option, store_options, warn


@cli.command("log")
@store_options
@click.option("--cluster", help="The cluster (needed when the store holds several).")
@click.option("--kind", "kinds", multiple=True, metavar="KIND",
              help="Only this Kind, plural or plural.group (repeatable).")
@click.option("-n", "--namespace", "namespaces", multiple=True, help="Only this namespace (repeatable).")
@click.option("--name", "names", multiple=True, help="Only objects of this name or shell pattern (repeatable).")
@click.option("--since", metavar="WHEN", help="Only changes since a date (2026-11-01), a time (2026-11-01T12:00Z) "
                                              "or an age (7d, 12h, 2w).")
@click.option("--paths", is_flag=True,
              help="Also name the changed fields (reads the archives of the snapshots with changes; secret values "
                   "are never shown, only key names).")
@key_option
@output_option
def log_cmd(store: StoreSettings, cluster, kinds, namespaces, names, since, paths, keyring, fmt):
    """When each object was added, removed or changed, over consecutive snapshots of one cluster (oldest first).

    From manifest digests alone, unless --paths. An object missing from a partial snapshot, or from one whose scope
    could not hold it, is not reported as removed.

    Example: hgbackup log --kind Ingress -n shop --name shop-api --since 30d --paths
    """
    flt = timeline.Filter(catalogue.named(kinds), frozenset(namespaces), tuple(names),
                          timeline.parse_since(since) if since else None)
    progress = ProgressLine("reading")
    try:
        report = timeline.log(open_repository(store, keyring), cluster=cluster, flt=flt, paths=paths,
                              progress=progress)
    finally:
        progress.close()
    rows = []
    for event in report.events:
        what = event.action if event.certain else f"{event.action}?"
        rows.append([event.time.strftime("%Y-%m-%d %H:%M:%SZ"), event.snapshot, what, str(event.ref)])
        for path in event.paths or ():
            rows.append(["", "", "", f"  {path}"])
    text = table(["TIME", "SNAPSHOT", "CHANGE", "OBJECT"], rows) if rows else ""
    text += ("\n" if text else "") + (f"{len(report.events)} change(s) over {report.snapshots} snapshot(s) of "
                                      f"{report.cluster}")
    for note in report.notes:
        warn(note)
    emit(report.as_json(), fmt, text)
    finish(report)
