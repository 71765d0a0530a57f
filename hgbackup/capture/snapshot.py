"""The snapshot verb: capture a Higress configuration (from files here, live in live.py) and write it to a store as
one snapshot."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..errors import EXIT_OK, EXIT_PARTIAL, AccessDenied, HgbackupError, InvalidInput, NothingToDo
from ..kube import catalogue, names
from ..kube import yamlfiles as kubeyaml
from ..kube.client import Kube
from ..kube.scope import Scope
from ..store import archive, coverage
from ..store.layout import SnapshotKey, cluster_key, new_snapshot_id
from ..store.manifest import FILES, LIVE, ClusterInfo, Manifest, Snapshot
from ..store.repository import Repository
from . import live, selection
from .captured import Capture, InMemoryCapture
from .live import Progress
from .packer import Digesting, Packed, Packer, sealed_chunks


def capture_files(paths: list[str], scope: Scope, cluster_name: str | None = None,
                  progress: Progress | None = None) -> InMemoryCapture:
    """The objects a snapshot would hold if the manifests in `paths` were a live cluster."""
    return capture_from_documents(kubeyaml.load_paths(paths, progress=progress), scope, cluster_name)


def capture_from_documents(raw: list[dict], scope: Scope, cluster_name: str | None = None) -> InMemoryCapture:
    """The objects a snapshot would hold if these documents were a live cluster."""
    unknown = Counter(f"{o.get('kind')} ({o.get('apiVersion')})" for o in raw if catalogue.kind_of(o) is None)
    notes = [f"ignored {n} object(s) of kind {k}: not a kind hgbackup snapshots" for k, n in sorted(unknown.items())]
    left: list[str] = []
    chosen, _ = selection.select_with_refs(raw, scope, notes, left)
    capture = InMemoryCapture.of(chosen, cluster=ClusterInfo(cluster_name or "default", source=FILES), notes=notes,
                                 left_out=len(left),
                                 coverage=coverage.of_capture(scope.kinds(), list(scope.namespaces), [], []))
    # names the API server would refuse can only come from files (a live object's name was validated by it)
    bad = [str(o.ref) for o in capture.objects if not names.valid_ref(o.ref)]
    if bad:
        raise InvalidInput(f"invalid object names (not what the API server accepts): {', '.join(bad[:5])}"
                           + (f" and {len(bad) - 5} more" if len(bad) > 5 else "") + "; nothing was written")
    return capture


def write(repo: Repository, capture: Capture, scope: Scope, *, tags: list[str] = (),
          cluster: str | None = None, now: datetime | None = None, undo_prunes=None) -> Snapshot:
    """Pack (unless the capture was packed as it arrived), encrypt with the repository's key (if any), and
    store a capture under `cluster` (default: the captured cluster's name), the archive streamed to the store.
    The one check of the identity invariant: a live capture whose cluster identity is unknown is never written
    (exit 6, with the capture's reason: the permission it lacks); every writer of a snapshot comes here."""
    now = now or datetime.now(timezone.utc)
    if capture.cluster.source == LIVE and not capture.cluster.identity:
        raise capture.identity_error or AccessDenied("the cluster's identity is unknown; nothing was written")
    with capture.packed(repo.encryption_key) as (packer, records):
        for _ in range(5):  # an id already in the store is never written over: take another
            try:
                return _write_once(repo, capture, packer, records, scope, new_snapshot_id(now), tags, cluster, now,
                                   undo_prunes)
            except FileExistsError:
                continue
        raise HgbackupError("could not find a free snapshot id after 5 tries")


def _write_once(repo: Repository, capture: Capture, packer: Packer, records: list[Packed],
                scope: Scope, snapshot_id: str, tags, cluster, now, undo_prunes) -> Snapshot:
    key = SnapshotKey(cluster_key(cluster or capture.cluster.name), snapshot_id)
    archive.check_entries(records, snapshot_id)
    stream = Digesting(sealed_chunks(packer, snapshot_id, repo.encryption_key),
                               packer.unpacked_size)

    def make_manifest(record):
        archive.check_readable(records, record, snapshot_id)
        manifest = Manifest.build(
            snapshot_id, now, capture.cluster, records, record, scope=scope.as_json(), tags=list(tags),
            partial=capture.partial, not_served=capture.not_served, warnings=capture.errors + capture.notes,
            owner_refs=capture.owner_refs, coverage=capture.coverage,
        )
        if undo_prunes is not None:
            manifest = dataclasses.replace(manifest, undo_prunes=tuple(sorted(undo_prunes)))
        return manifest

    return repo.save(key, stream, make_manifest)


@dataclass
class SnapshotReport:
    """A snapshot taken: what was written, where, and what the user should know about it."""

    snapshot: Snapshot
    store: str
    notices: list[str] = field(default_factory=list)  # not failures (the manifest's warnings are listed apart)
    left_out: int = 0  # objects the scope's rules would take but hgbackup never restores (named in a warning)
    metrics_error: str | None = None  # --pushgateway: the snapshot was written, its metrics were not pushed

    @property
    def exit_code(self) -> int:
        return EXIT_PARTIAL if self.snapshot.manifest.partial or self.metrics_error else EXIT_OK

    def as_json(self) -> dict:
        m = self.snapshot.manifest
        doc = {"id": self.snapshot.id, "cluster": m.cluster.name, "objects": len(m.objects), "partial": m.partial,
               "warnings": list(m.warnings), "store": self.store, "archive_bytes": m.archive.size,
               "left_out": self.left_out}
        if self.metrics_error:
            doc["metrics_error"] = self.metrics_error
        return doc


def run(repo: Repository, scope: Scope, *, files: list[str] = (), connect: Callable[[], Kube] | None = None,
        cluster: str | None = None, tags: list[str] = (), require_encryption: bool = False,
        allow_empty: bool = False, progress: Progress | None = None) -> SnapshotReport:
    """`hgbackup snapshot`: capture `files` (when given) or the live cluster, then `take`."""
    if files:
        capture = capture_files(list(files), scope, cluster, progress)
    else:
        capture = live.capture_packed(connect(), scope, repo.encryption_key, cluster, progress)
    try:
        return take(repo, capture, scope, tags=tags, require_encryption=require_encryption, allow_empty=allow_empty)
    finally:
        capture.close()


def take(repo: Repository, capture: Capture, scope: Scope, *, tags: list[str] = (),
         require_encryption: bool = False, allow_empty: bool = False, cluster: str | None = None) -> SnapshotReport:
    """The snapshot verb after capture: an empty scope, the encryption policy, then `write`."""
    refs = capture.refs
    if not allow_empty and not any(r.kind != "CustomResourceDefinition" for r in refs):
        why = f" (and {capture.errors[0]})" if capture.errors else ""
        raise NothingToDo(f"the scope matched no object{why}; nothing was written (--allow-empty writes an empty "
                          "snapshot)")
    secrets = sum(1 for r in refs if r.kind == "Secret" and r.group == "")
    notices = []
    if secrets and repo.encryption_key is None:
        message = f"snapshot holds {secrets} Secret(s) and no encryption key is set"
        if require_encryption:
            raise InvalidInput(message + " (encryption is required); nothing was written")
        notices.append(message + ": set --encryption-key-file or HGBACKUP_ENCRYPTION_KEY to encrypt the archive")
    snap = write(repo, capture, scope, tags=tags, cluster=cluster)
    return SnapshotReport(snap, repo.store.url, notices, left_out=capture.left_out)
