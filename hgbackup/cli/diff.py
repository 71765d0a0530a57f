"""`hgbackup diff A B`."""

from __future__ import annotations

import sys

import click

from .. import catalogue, crypto
from ..diff import ADDED, CHANGED, REMOVED, compare, unified
from ..render import ProgressLine, colour_enabled
from ..selection import Scope
from ..sources import kind_of_spec, load_side
from .base import (
    cli,
    cluster_option,
    emit,
    key_option,
    kube_from,
    kube_options,
    output_option,
    repo_from,
    scope_from,
    scope_given,
    scope_options,
    store_options,
)

COLOURS = {ADDED: "green", REMOVED: "red", CHANGED: "yellow"}


@cli.command()
@click.argument("a")
@click.argument("b")
@click.option("--kind", "kinds", multiple=True, help="Only this Kind or plural.group (repeatable).")
@click.option("--unified", "as_unified", is_flag=True, help="Show a unified YAML diff of each changed object.")
@click.option("--show-secrets", is_flag=True, help="Reveal Secret values in --unified output.")
@scope_options
@store_options
@kube_options
@cluster_option
@key_option
@output_option
@click.pass_context
def diff(ctx, a, b, kinds, as_unified, show_secrets, fmt, cluster, encryption_key_file, **opts):
    """Compare two snapshots, or a snapshot and the live cluster. Exit 0 when equal, 1 when different.

    A and B are each a snapshot id, latest, latest~N, a manifest file or folder, or `live`. With a snapshot and
    `live`, the live side is captured with the snapshot's own scope unless scope options are given.

    Example: hgbackup diff latest live --kind Ingress -n shop
    """
    explicit = scope_given(ctx)
    scope = scope_from(opts)
    key = crypto.load_key(encryption_key_file)
    repo_cache = []

    def repo():
        if not repo_cache:
            repo_cache.append(repo_from(dict(opts)))
        return repo_cache[0]

    progress = ProgressLine("listing live objects")
    sides = {}
    try:
        # Snapshots first, so a live side can take the snapshot's scope.
        for spec in sorted((a, b), key=lambda s: kind_of_spec(s) == "live"):
            if spec in sides:
                continue
            if kind_of_spec(spec) == "live" and not explicit:
                manifests = [s.manifest for s in sides.values() if s.manifest]
                if manifests:
                    scope = Scope.from_json(manifests[0].get("scope") or {})
            sides[spec] = load_side(spec, repo_factory=repo, kube_factory=lambda: kube_from(dict(opts)),
                                    scope=scope, encryption_key=key, cluster=cluster, progress=progress)
    finally:
        progress.close()

    wanted_kinds = {(k.group, k.kind) for name in kinds for k in catalogue.lookup(name)} if kinds else None
    namespaces = set(scope.namespaces) or None
    result = compare(sides[a].objects, sides[b].objects, kinds=wanted_kinds, namespaces=namespaces)
    if fmt != "text":
        emit(result.as_json(), fmt)
    else:
        colour = colour_enabled()
        for change in result.changes:
            line = f"{change.op} {change.ref}"
            if change.paths:
                line += "  " + ", ".join(change.paths)
            click.echo(click.style(line, fg=COLOURS[change.op]) if colour else line)
            if as_unified:
                old, new = result.pairs[change.ref]
                click.echo(unified(change, old, new, sides[a].label, sides[b].label, show_secrets), nl=False)
        s = result.summary()
        click.echo(f"{s['added']} added, {s['removed']} removed, {s['changed']} changed, {s['unchanged']} unchanged")
    sys.exit(0 if result.same else 1)
