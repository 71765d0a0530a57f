"""`hgbackup check ID|live`."""

from __future__ import annotations

import click

from ..diff import check, sources
from ..kube.client import KubeSettings
from ..kube.scope import Scope
from ..output import ProgressLine
from ..store import StoreSettings
from .base import (
    CLUSTER_OF_LATEST,
    cli,
    cluster_option,
    emit,
    finish,
    key_option,
    kube_options,
    open_repository,
    output_option,
    scope_given,
    scope_options,
    store_options,
    warn,
)


@cli.command("check")
@click.argument("source", metavar="ID|live")
@scope_options
@store_options
@kube_options
@cluster_option(CLUSTER_OF_LATEST)
@key_option
@output_option
def check_cmd(source, scope: Scope, store: StoreSettings, kube: KubeSettings, cluster, keyring, fmt):
    """Report dangling references: an Ingress or McpBridge naming a missing Secret, a route naming a missing
    Gateway or Service, a Gateway whose class no controller has accepted, a plugin rule naming a missing route.

    SOURCE is a snapshot id, latest, latest~N, a manifest file or folder, or `live` (the live cluster, with the
    Services that routes name). A snapshot is judged with its own scope unless scope options are given;
    references whose target the scope cannot hold are counted as not checked. Exit 0 when none dangles, 1 when
    any does.

    Example: hgbackup check latest -o json
    """
    progress = ProgressLine("listing live objects")
    try:
        report = check.check_source(sources.Source.parse(source), scope=scope, scope_from_snapshot=not scope_given(),
                                    repo_factory=lambda: open_repository(store, keyring), kube_factory=kube.connect,
                                    cluster=cluster, progress=progress)
    finally:
        progress.close()
    lines = [str(d) for d in report.dangling]
    lines.append(f"{len(report.dangling)} dangling reference(s) among {report.checked} checked in "
                 f"{report.objects} object(s) of {report.source}")
    if fmt == "text":
        for note in report.notes:
            warn(note)
    emit(report.as_json(), fmt, "\n".join(lines))
    finish(report)
