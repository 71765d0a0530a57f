"""`hgbackup diff A B`."""

from __future__ import annotations

import click

from ..diff import sources
from ..diff.compare import ADDED, CHANGED, REMOVED, compare_sources, unified
from ..kube import catalogue
from ..kube.client import KubeSettings
from ..kube.scope import Scope
from ..output import ProgressLine, colour_enabled
from ..store import StoreSettings
from .base import (
    CLUSTER_OF_LATEST_LIVE,
    cli,
    emit,
    finish,
    key_option,
    kube_options,
    latest_options,
    names_output_option,
    open_repository,
    scope_given,
    scope_options,
    store_options,
    warn,
)

COLOURS = {ADDED: "green", REMOVED: "red", CHANGED: "yellow"}


def colour_hunks(text: str) -> str:
    """git diff's colours: file headers bold, hunk headers cyan, removed lines red, added lines green."""
    out = []
    for line in text.splitlines(keepends=True):
        body, end = line.rstrip("\n"), line[len(line.rstrip("\n")):]
        if line.startswith(("---", "+++")):
            out.append(click.style(body, bold=True) + end)
        elif line.startswith("@@"):
            out.append(click.style(body, fg="cyan") + end)
        elif line.startswith("-"):
            out.append(click.style(body, fg="red") + end)
        elif line.startswith("+"):
            out.append(click.style(body, fg="green") + end)
        else:
            out.append(line)
    return "".join(out)


@cli.command()
@click.argument("a")
@click.argument("b")
@click.option("--kind", "kinds", multiple=True, help="Only this Kind or plural.group (repeatable).")
@click.option("--unified", "as_unified", is_flag=True, help="Show a unified YAML diff of each changed object.")
@click.option("--show-secrets", is_flag=True, help="Reveal Secret values (and sensitive ConfigMap keys) in --unified.")
@click.option("--color", "color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
              help="Colour the output (auto: on a terminal unless NO_COLOR is set).")
@scope_options
@store_options
@kube_options
@latest_options(CLUSTER_OF_LATEST_LIVE)
@key_option
@names_output_option
def diff(a, b, kinds, as_unified, show_secrets, color, scope: Scope, store: StoreSettings, kube: KubeSettings,
         cluster, keyring, fmt):
    """Compare two snapshots, or a snapshot and the live cluster. Exit 0 when equal, 1 when different.

    A and B are each a snapshot id, latest, latest~N, a manifest file or folder, or `live`. With a snapshot and
    `live`, the live side is captured with the snapshot's own scope unless scope options are given.
    Scope options (-n, --exclude ...) apply to both sides alike. Against `live`, CRDs that differ from the
    snapshot's are noted, not counted: a restore never changes an existing CRD.
    A live side that cannot be read completely is an error (exit 6), never a difference.

    Example: hgbackup diff latest live --kind Ingress -n shop
    """
    wanted_kinds = catalogue.named(kinds)
    progress = ProgressLine("listing live objects")
    try:
        result = compare_sources(
            sources.Source.parse(a), sources.Source.parse(b), scope=scope, scope_from_snapshot=not scope_given(),
            repo_factory=lambda: open_repository(store, keyring), kube_factory=kube.connect,
            cluster=cluster, kinds=wanted_kinds, progress=progress)
    finally:
        progress.close()
    if fmt == "name":
        click.echo("\n".join(f"{c.op} {c.ref}" for c in result.changes) + ("\n" if result.changes else ""), nl=False)
    elif fmt != "text":
        emit(result.as_json(), fmt)
    else:
        colour = colour_enabled(color)
        for change in result.changes:
            line = f"{change.op} {change.ref}"
            if change.paths:
                line += "  " + ", ".join(change.paths)
            click.echo(click.style(line, fg=COLOURS[change.op], bold=as_unified) if colour else line, color=colour)
            if as_unified:
                old, new = result.pairs[change.ref]
                text = unified(change, old, new, result.labels[0], result.labels[1], show_secrets)
                click.echo(colour_hunks(text) if colour else text, nl=False, color=colour)
        s = result.summary()
        click.echo(f"{s['added']} added, {s['removed']} removed, {s['changed']} changed, {s['unchanged']} unchanged")
    for note in result.notes:
        warn(note)
    finish(result)
