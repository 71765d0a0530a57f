"""Which cluster a snapshot belongs to: its identity, not its name; and, for retention, which scope it holds.

A cluster name is only a label (kubeadm names every cluster `kubernetes`); the identity (uid of kube-system,
recorded in each manifest) tells clusters apart. `latest`, `--cluster`, `list` and retention group snapshots by
identity. Snapshots taken from files have no cluster: they group only among themselves, by their store folder
(their `--cluster` name), and never with a live cluster's. A live snapshot whose identity is unknown (written by an
older hgbackup) is grouped with nothing, so nothing is ever decided for it by name alone. A folder name shared by two
groups is shown with a suffix (`kubernetes@1a2b3c4d`, `kubernetes@files`).

Retention groups by identity *and* scope, as restic groups by host and paths: a safety snapshot (its own scope, its
own tag) or a narrow snapshot never takes the slot of a full one (`retention_group`).
"""

from __future__ import annotations

import json
from collections import defaultdict

from ..errors import IntegrityError, InvalidInput, NotFound
from ..kube.scope import Scope
from .layout import cluster_key
from .manifest import SAFETY_TAGS, Manifest, Snapshot

SUFFIX = 8  # identity characters shown after a shared name
MIN_PREFIX = 4  # shortest identity prefix --cluster accepts


def group_of(snap: Snapshot) -> str:
    """The cluster a snapshot belongs to, as a key: `identity:<uid>`, `files:<folder>` or, for a live snapshot
    whose identity is unknown, a group of its own."""
    info = snap.manifest.cluster
    if info.from_files:
        return f"files:{snap.cluster}"
    if info.identity:
        return identity_group(info.identity)
    return f"unknown:{snap.cluster}/{snap.id}"


def identity_group(identity: str) -> str:
    """The group key of the live cluster with this identity (what `group_of` gives its snapshots)."""
    return f"identity:{identity}"


def of_cluster(snap: Snapshot, identity: str | None) -> bool:
    """Whether `snap` is a snapshot of the live cluster with this identity (never, when it is unknown)."""
    return bool(identity) and group_of(snap) == identity_group(identity)


def short(identity: str) -> str:
    """The start of an identity people are shown and may type (a name's suffix, --into-live-cluster)."""
    return identity[:SUFFIX]


def labels(snapshots: list[Snapshot]) -> dict[str, str]:
    """Group -> the name people see: the folder name, with a suffix where two groups share it."""
    groups_by_folder: dict[str, set[str]] = defaultdict(set)
    for snap in snapshots:
        groups_by_folder[snap.cluster].add(group_of(snap))
    out: dict[str, str] = {}
    for snap in sorted(snapshots, key=lambda s: s.id, reverse=True):  # newest folder name wins for an identity
        group = group_of(snap)
        if group in out:
            continue
        out[group] = snap.cluster
        if len(groups_by_folder[snap.cluster]) > 1:
            kind, _, rest = group.partition(":")
            suffix = {"identity": short(rest), "files": "files"}.get(kind, f"unknown-{snap.id}")
            out[group] = f"{snap.cluster}@{suffix}"
    return out


def describe(snapshots: list[Snapshot]) -> str:
    names = labels(snapshots)
    what = {}
    for snap in snapshots:
        info = snap.manifest.cluster
        what[group_of(snap)] = ("from files, no cluster" if info.from_files
                                else f"identity {info.identity}" if info.identity else "identity unknown")
    return ", ".join(f"{label} ({what[g]})" for g, label in sorted(names.items(), key=lambda item: item[1]))


def choose(snapshots: list[Snapshot], spec: str) -> list[Snapshot]:
    """The snapshots of the one cluster `spec` names: a cluster name, a shown label, or an identity prefix."""
    names = labels(snapshots)
    folder = cluster_key(spec)
    matched = [s for s in snapshots
               if s.cluster == folder or names[group_of(s)] == spec
               or (len(spec) >= MIN_PREFIX and (s.manifest.cluster.identity or "").startswith(spec)
                   and not s.manifest.cluster.from_files)]
    exact = [s for s in matched if names[group_of(s)] == spec]
    if exact:  # a shown label names one group even where its folder holds others
        matched = exact
    groups = {group_of(s) for s in matched}
    if not matched:
        raise NotFound(f"no snapshots of cluster {spec!r}; the store has: {describe(snapshots) or 'none'}")
    if len(groups) > 1:
        raise InvalidInput(f"--cluster {spec!r} names {len(groups)} clusters: {describe(matched)}; give the name "
                           "with its suffix or an identity prefix")
    return matched


def of_identity(snapshots: list[Snapshot], identity: str | None, where: str) -> list[Snapshot]:
    """The snapshots of the cluster a command talks to; none is exit 5 naming the clusters the store has."""
    mine = [s for s in snapshots if of_cluster(s, identity)]
    if not mine:
        raise NotFound(f"the store has no snapshot of {where} (identity {identity or 'unknown'}); it has: "
                       f"{describe(snapshots) or 'none'}; choose one with --cluster or give a snapshot id")
    return mine


def problems_of(problems: list, snapshots: list[Snapshot]) -> list:
    """The unreadable snapshots (repository.Problem) that may belong to the clusters of `snapshots`: one whose
    manifest claims another cluster cannot be theirs (a claim is unproven, but a snapshot that claims to be of
    another cluster was never written as theirs); one with no readable claim may be, if it is in their folder."""
    groups = {group_of(s) for s in snapshots}
    folders = {s.cluster for s in snapshots}
    return [p for p in problems if (group_of(p.claimed) in groups if p.claimed is not None
                                    else p.key.cluster in folders)]


def only_one(snapshots: list[Snapshot]) -> list[Snapshot]:
    """For offline commands: `latest` is only defined when the store holds one cluster."""
    if len({group_of(s) for s in snapshots}) > 1:
        raise InvalidInput(f"the store holds snapshots of several clusters: {describe(snapshots)}; choose one "
                           "with --cluster")
    return snapshots


# -- retention groups: identity and scope ------------------------------------------------------------------------
def _scope_doc(manifest: Manifest) -> dict:

    try:
        return Scope.from_json(manifest.scope).as_json()  # {} and the full default scope are the same scope
    except IntegrityError:
        return {"unreadable": manifest.scope}


def retention_group(snap: Snapshot) -> str:
    """What retention groups by: the cluster, the scope, and whether it is a safety snapshot (their own group)."""
    safety = sorted(set(SAFETY_TAGS) & set(snap.manifest.tags))
    return json.dumps([group_of(snap), _scope_doc(snap.manifest), safety], sort_keys=True)


def scope_label(snap: Snapshot) -> str:
    """A short name for a snapshot's scope and kind: `full`, `-n shop, pre-restore`, ..."""

    doc, full = _scope_doc(snap.manifest), Scope().as_json()
    parts = [f"-n {','.join(doc['namespaces'])}" if doc.get("namespaces") else ""]
    parts += [f"{name} {','.join(map(str, doc.get(name) or []))}" for name in ("include", "exclude", "optins",
                                                                               "ingress_classes")
              if doc.get(name) != full.get(name)]
    for name in ("higress_namespace", "secret_selectors"):
        if doc.get(name) != full.get(name):
            parts.append(f"{name} {doc.get(name)}")
    if "unreadable" in doc:
        parts = ["unreadable scope"]
    parts += sorted(set(SAFETY_TAGS) & set(snap.manifest.tags))
    return ", ".join(p for p in parts if p) or "full"
