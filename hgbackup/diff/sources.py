"""Where a set of objects comes from: a snapshot (`ID`, `latest`, `latest~N`), manifest files/folders, or `live`.

One loader for every command that reads "some objects" (diff's two sides, migrate's input), so each source is read,
verified and selected the same way everywhere.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from ..capture import live, selection, snapshot
from ..errors import InvalidInput
from ..kube import yamlfiles as kubeyaml
from ..kube.client import Kube
from ..kube.model import StoredObject, ref_of
from ..kube.scope import Scope
from ..store.manifest import Snapshot
from ..store.repository import Repository

LIVE = "live"


@dataclass(frozen=True)
class Source:
    """A parsed source: `live`, files (`paths`) or a snapshot reference (`ref`: an id, latest or latest~N)."""

    kind: str  # "live" | "files" | "snapshot"
    paths: tuple[str, ...] = ()
    ref: str | None = None

    @classmethod
    def parse(cls, spec: str) -> Source:
        """How a diff argument is read: `live`, an existing path (or `-`), else a snapshot reference."""
        if spec == LIVE:
            return cls("live")
        if os.path.exists(spec) or spec == "-":
            return cls("files", (spec,))
        return cls("snapshot", ref=spec)

    @property
    def is_latest(self) -> bool:
        return self.kind == "snapshot" and (self.ref or "").startswith("latest")

    @property
    def label(self) -> str:
        return {"live": LIVE, "files": ", ".join(self.paths)}.get(self.kind, self.ref or "")


@dataclass
class Side:
    label: str
    objects: list[StoredObject]
    snapshot: Snapshot | None = None
    # every document read from files, selected or not; with documents_only, every object the live LISTs returned
    documents: list[dict] = field(default_factory=list)


def connect_once(factory: Callable[[], Kube]) -> Callable[[], Kube]:
    """`factory` called on first use only, its client handed out after: a command whose sources need no cluster
    never connects, and one with two sides connects once."""
    connected: list[Kube] = []

    def kube() -> Kube:
        if not connected:
            connected.append(factory())
        return connected[0]

    return kube


def load(source: Source, *, scope: Scope, repo_factory: Callable[[], Repository],
         kube_factory: Callable[[], Kube], cluster: str | None = None, identity: str | None = None,
         progress=None, documents_only: bool = False, invalid: list | None = None) -> Side:
    """The objects of one source, in stored form. Snapshots are verified; a live capture must be complete.
    `identity`: the cluster a command talks to, whose newest snapshot `latest` then means. `documents_only`: for
    files, the documents as read (what migrate converts), without the stored form a snapshot would hold; for live,
    also every object listed before selection (so migrate names what the one scope leaves out). `invalid`: for
    files, invalid ones are recorded there (kubeyaml.load_paths) and the others read."""
    if source.kind == "live":
        capture = live.capture_live(kube_factory(), scope, cluster, progress, keep_listed=documents_only)
        capture.require_complete("the live side")
        listed = [obj for seen in capture.listed.values() for obj in seen] if documents_only else []
        return Side(LIVE, capture.objects, documents=listed)
    if source.kind == "files":
        documents = kubeyaml.load_paths(list(source.paths), allow_generate_name=documents_only, invalid=invalid)
        if documents_only:
            return Side(source.label, [], documents=documents)
        capture = snapshot.capture_from_documents(documents, scope, cluster)
        return Side(source.label, capture.objects, documents=documents)
    if source.kind != "snapshot" or not source.ref:
        raise InvalidInput(f"not a source: {source!r}")
    repo = repo_factory()
    snap, objects = repo.load(repo.resolve(source.ref, cluster, identity=identity, target="the live cluster"))
    return Side(snap.id, objects, snap)


def within(objects: list[StoredObject], scope: Scope) -> list[StoredObject]:
    """The objects of a snapshot that a capture with `scope` would hold (the selection rules, references
    included): how a diff gives both sides one scope."""
    kept = {ref_of(o) for o in selection.select([o.obj for o in objects], scope)}
    return [o for o in objects if o.ref in kept]
