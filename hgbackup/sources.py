"""Where a set of objects comes from: a snapshot (`ID`, `latest`, `latest~N`), a manifest file/folder, or `live`."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from . import snapshot
from .kube import Kube
from .model import StoredObject
from .repository import Repository
from .selection import Scope

LIVE = "live"


@dataclass
class Side:
    label: str
    objects: list[StoredObject]
    manifest: dict | None = None


def kind_of_spec(spec: str) -> str:
    """"live", "path" or "snapshot": how a diff/restore argument is read."""
    if spec == LIVE:
        return "live"
    if os.path.exists(spec) or spec == "-":
        return "path"
    return "snapshot"


def load_side(spec: str, *, repo_factory: Callable[[], Repository], kube_factory: Callable[[], Kube],
              scope: Scope, encryption_key: bytes | None = None, cluster: str | None = None,
              progress=None) -> Side:
    kind = kind_of_spec(spec)
    if kind == "live":
        capture = snapshot.capture_live(kube_factory(), scope, cluster, progress)
        return Side("live", capture.objects)
    if kind == "path":
        return Side(spec, snapshot.capture_files([spec], scope, cluster).objects)
    repo = repo_factory()
    manifest, objects = repo.load(repo.resolve(spec, cluster), encryption_key)
    return Side(manifest["id"], objects, manifest)
