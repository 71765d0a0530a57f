"""Which cluster a snapshot belongs to: its identity, not its name.

A cluster name is only a label (kubeadm names every cluster `kubernetes`); the identity (uid of kube-system,
recorded in each manifest) tells clusters apart. Retention, `latest` and `--cluster` group snapshots by identity;
snapshots taken from files have none and group by their store folder. A folder name shared by two identities is
shown with an identity suffix (`kubernetes@1a2b3c4d`).
"""

from __future__ import annotations

from collections import defaultdict

from .errors import InvalidInput, NotFound
from .manifest import Snapshot

SUFFIX = 8  # identity characters shown after a shared name
MIN_PREFIX = 4  # shortest identity prefix --cluster accepts


def group_of(snap: Snapshot) -> str:
    identity = snap.manifest.cluster.identity
    return f"identity:{identity}" if identity else f"folder:{snap.cluster}"


def labels(snapshots: list[Snapshot]) -> dict[str, str]:
    """Group -> the name people see: the folder name, with an identity suffix where two identities share it."""
    identities_by_folder: dict[str, set[str]] = defaultdict(set)
    for snap in snapshots:
        identities_by_folder[snap.cluster].add(group_of(snap))
    out: dict[str, str] = {}
    for snap in sorted(snapshots, key=lambda s: s.id, reverse=True):  # newest folder name wins for an identity
        group = group_of(snap)
        if group in out:
            continue
        identity = snap.manifest.cluster.identity
        shared = len(identities_by_folder[snap.cluster]) > 1
        out[group] = f"{snap.cluster}@{identity[:SUFFIX]}" if shared and identity else snap.cluster
    return out


def describe(snapshots: list[Snapshot]) -> str:
    names = labels(snapshots)
    identity = {group_of(s): s.manifest.cluster.identity for s in snapshots}
    return ", ".join(f"{label} (identity {identity[g]})" if identity[g] else f"{label} (from files)"
                     for g, label in sorted(names.items(), key=lambda item: item[1]))


def choose(snapshots: list[Snapshot], spec: str) -> list[Snapshot]:
    """The snapshots of the one cluster `spec` names: a cluster name, a shown label, or an identity prefix."""
    from .repository import cluster_key

    names = labels(snapshots)
    folder = cluster_key(spec)
    matched = [s for s in snapshots
               if s.cluster == folder or names[group_of(s)] == spec
               or (len(spec) >= MIN_PREFIX and (s.manifest.cluster.identity or "").startswith(spec))]
    groups = {group_of(s) for s in matched}
    if not matched:
        raise NotFound(f"no snapshots of cluster {spec!r}; the store has: {describe(snapshots) or 'none'}")
    if len(groups) > 1:
        raise InvalidInput(f"--cluster {spec!r} names {len(groups)} clusters: {describe(matched)}; give the name "
                           "with its suffix or an identity prefix")
    return matched


def of_identity(snapshots: list[Snapshot], identity: str | None, where: str) -> list[Snapshot]:
    """The snapshots of the cluster a command talks to; none is exit 5 naming the clusters the store has."""
    mine = [s for s in snapshots if identity and s.manifest.cluster.identity == identity]
    if not mine:
        raise NotFound(f"the store has no snapshot of {where} (identity {identity or 'unknown'}); it has: "
                       f"{describe(snapshots) or 'none'}; choose one with --cluster or give a snapshot id")
    return mine


def only_one(snapshots: list[Snapshot]) -> list[Snapshot]:
    """For offline commands: `latest` is only defined when the store holds one cluster."""
    if len({group_of(s) for s in snapshots}) > 1:
        raise InvalidInput(f"the store holds snapshots of several clusters: {describe(snapshots)}; choose one "
                           "with --cluster")
    return snapshots
