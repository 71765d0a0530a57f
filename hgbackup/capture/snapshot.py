"""Capture a Higress configuration (live or from files) and write it to a store as one snapshot."""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..errors import (
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_UNREACHABLE,
    AccessDenied,
    HgbackupError,
    Incomplete,
    InvalidInput,
    NothingToDo,
    Unreachable,
)
from ..kube import catalogue, names
from ..kube import yamlfiles as kubeyaml
from ..kube.client import RESTART, Kube
from ..kube.excluded import left_out
from ..kube.model import StoredObject, ref_of
from ..kube.scope import Scope
from ..kube.stored import had_owner_references
from ..memory import collector_paused
from ..store import archive
from ..store import coverage as coverage_mod
from ..store.layout import SnapshotKey, cluster_key, new_snapshot_id
from ..store.manifest import FILES, LIVE, ClusterInfo, Manifest, Snapshot
from ..store.repository import Repository
from . import packer as packing
from . import selection

Progress = Callable[[int, int, str], None]
LIST_CONCURRENCY = 6


@dataclass
class Capture:
    """What one capture found: objects in stored form (or, for a snapshot streamed into a Packer, the records of
    the objects it packed), plus what the manifest needs to say about it."""

    objects: list[StoredObject]
    cluster: ClusterInfo
    not_served: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # make the snapshot partial (exit 3)
    notes: list[str] = field(default_factory=list)  # worth knowing, not a failure
    owner_refs: list[str] = field(default_factory=list)
    first_error: HgbackupError | None = None  # the exception behind errors[0], for callers that cannot go on
    packer: packing.Packer | None = None  # the objects are already packed (objects is empty)
    packed: list[packing.Packed] = field(default_factory=list)
    # with keep_listed: every object each complete LIST returned, before selection, by (kind key, namespace or
    # None for all namespaces); a restore plans against these instead of listing the same collections again
    listed: dict[tuple[str, str | None], list[dict]] = field(default_factory=dict)
    left_out: int = 0  # objects the rules would take but hgbackup never restores (named in a note)
    coverage: coverage_mod.Coverage | None = None  # what was listed completely (None: nothing known)
    identity_error: HgbackupError | None = None  # a live capture whose cluster identity could not be read

    @property
    def partial(self) -> bool:
        return bool(self.errors)

    @property
    def items(self) -> list:
        """Every object captured, as StoredObjects or Packed records (both have .ref)."""
        return self.packed if self.packer is not None else self.objects

    def close(self) -> None:
        if self.packer is not None:
            self.packer.close()

    def require_complete(self, what: str) -> None:
        """For readers that must see everything (the live side of a diff): a partial capture is an error."""
        if self.errors:
            raise Incomplete(f"{what} is incomplete: {self.errors[0]}"
                             + (f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""),
                             self.first_error.exit_code if self.first_error else EXIT_UNREACHABLE)


def _finish(chosen: list[dict], cluster: ClusterInfo, **extra) -> Capture:
    objects = [StoredObject.from_object(o) for o in chosen]
    owner_refs = [str(s.ref) for o, s in zip(chosen, objects) if had_owner_references(o)]
    return Capture(objects=objects, cluster=cluster, owner_refs=owner_refs, **extra)


class _Collected:
    """Where a capture that is not streamed into a Packer puts its objects: a list per LIST, in task order."""

    def __init__(self):
        self.lanes: dict[object, list[StoredObject]] = {}

    def add(self, obj: StoredObject, lane: object = None) -> bool:
        self.lanes.setdefault(lane, []).append(obj)
        return True

    def add_items(self, kind: catalogue.Kind, items: list[dict], lane: object = None) -> list[StoredObject]:
        objects = [StoredObject.from_object(item) for item in items]
        self.lanes.setdefault(lane, []).extend(objects)
        return objects

    def drop_lane(self, lane: object) -> None:
        self.lanes.pop(lane, None)

    def objects(self, order: list) -> list[StoredObject]:
        return [obj for lane in order for obj in self.lanes.get(lane, [])]


def capture_files(paths: list[str], scope: Scope, cluster_name: str | None = None,
                  progress: Progress | None = None) -> Capture:
    """The objects a snapshot would hold if the manifests in `paths` were a live cluster."""
    return capture_from_documents(kubeyaml.load_paths(paths, progress=progress), scope, cluster_name)


def capture_from_documents(raw: list[dict], scope: Scope, cluster_name: str | None = None) -> Capture:
    """The objects a snapshot would hold if these documents were a live cluster."""
    unknown = Counter(f"{o.get('kind')} ({o.get('apiVersion')})" for o in raw if catalogue.kind_of(o) is None)
    notes = [f"ignored {n} object(s) of kind {k}: not a kind hgbackup snapshots" for k, n in sorted(unknown.items())]
    left: list[str] = []
    chosen, _ = selection.select_with_refs(raw, scope, notes, left)
    capture = _finish(chosen, ClusterInfo(cluster_name or "default", source=FILES), notes=notes, left_out=len(left),
                      coverage=coverage_mod.of_capture(scope.kinds(), list(scope.namespaces), [], []))
    # names the API server would refuse can only come from files (a live object's name was validated by it)
    bad = [str(o.ref) for o in capture.objects if not names.valid_ref(o.ref)]
    if bad:
        raise InvalidInput(f"invalid object names (not what the API server accepts): {', '.join(bad[:5])}"
                           + (f" and {len(bad) - 5} more" if len(bad) > 5 else "") + "; nothing was written")
    return capture


def capture_live(kube: Kube, scope: Scope, cluster_name: str | None = None,
                 progress: Progress | None = None, packer: packing.Packer | None = None,
                 keep_listed: bool = False, secret_names: list[str] | None = None) -> Capture:
    """List every kind in scope from the live cluster (concurrently, paginated) and apply the selection rules.

    With a `packer`, each LIST page is selected, put in stored form and packed as it arrives, and the capture
    holds only the packed records: memory grows with the manifest, not with the objects (see packer.py).
    Without one, the capture holds every object (diff and restore compare them); with `keep_listed`, also what
    each LIST returned before selection (Capture.listed). With `secret_names` (a schedule's consoleSecrets), the
    Higress namespace's Secrets are not listed: those names are got one by one, and the same rules keep them."""
    served = kube.served()
    kinds = scope.kinds()
    not_served = [k.key for k in kinds if served[k.key].version is None]
    errors: list[str] = []
    notes: list[str] = []
    tasks = _list_tasks([k for k in kinds if served[k.key].version], scope, secrets_by_label=not keep_listed,
                        list_secrets=not secret_names)
    selector = selection.Selector(scope, notes)
    sink = packer if packer is not None else _Collected()
    owner_refs: list[str] = []
    listed: dict[tuple[str, str | None], list[dict]] = {}
    lock = threading.Lock()
    denied = []
    failures: list[HgbackupError] = []
    gaps: list[tuple[str, str | None, str]] = []  # what could not be read: (kind key, namespace, why)

    def keep(kind: catalogue.Kind | None, objs: list[dict], lane: object) -> None:
        owned = {ref_of(o) for o in objs if had_owner_references(o)}
        if kind is None:  # held and fetched objects: any kind
            stored = [StoredObject.from_object(o) for o in objs]
            added = [o.ref for o in stored if sink.add(o, lane)]
        else:
            added = [o.ref for o in sink.add_items(kind, objs, lane)]
        owner_refs.extend(str(ref) for ref in added if ref in owned)

    def run(lane: int):
        kind, namespace, label_selector = tasks[lane]
        seen: list[dict] | None = [] if keep_listed and label_selector is None else None
        try:
            for page in kube.pages(kind, served[kind.key].version, namespace, label_selector, prefetch=prefetch):
                if page is RESTART:  # the LIST starts again: forget this lane's objects and what they named
                    sink.drop_lane(lane)
                    with lock:
                        selector.drop_lane(lane)
                    seen = [] if seen is not None else None
                    continue
                if seen is not None:
                    seen.extend(page)
                with lock:
                    wanted = [item for item in page if selector.offer(item, kind, lane)]
                keep(kind, wanted, lane)
            if seen is not None:
                listed[(kind.key, namespace)] = seen
            return None
        except Unreachable as exc:
            if not isinstance(exc, AccessDenied):
                raise
            denied.append(kind.key)
            failure = exc
        except HgbackupError as exc:
            failure = exc
        failures.append(failure)
        why = f"cannot list {kind.key}{_where(namespace)}: {failure}"
        gaps.append((kind.key, namespace, why))
        return why

    with collector_paused(), ThreadPoolExecutor(max_workers=LIST_CONCURRENCY) as pool, \
            ThreadPoolExecutor(max_workers=LIST_CONCURRENCY) as prefetch:
        version = pool.submit(kube.version_info)
        identity = pool.submit(kube.cluster_identity)
        for lane, error in enumerate(pool.map(run, range(len(tasks)))):
            if error:
                errors.append(error)
            if progress:
                progress(lane + 1, len(tasks), tasks[lane][0].key)

        if tasks and len(denied) == len(tasks):
            raise AccessDenied(f"not allowed to list any of the {len(tasks)} kinds in scope "
                               f"(first refusal: {errors[0]}); nothing was written")
        held = selector.finish()
        listed_secrets = selector.held.get(catalogue.SECRETS.key, [])
        wanted = _wanted_by_get(listed_secrets, selector.secret_wanted, kinds, served, scope, selector.left,
                                secret_names or ())
        fetched = list(pool.map(lambda w: _get(kube, served, *w), wanted))
        try:
            uid, identity_error = identity.result(), None
        except AccessDenied as exc:  # only a snapshot needs it (write refuses); a diff of the live side does not
            uid, identity_error = None, exc
        cluster = ClusterInfo(cluster_name or kube.context_cluster, version.result().get("gitVersion"), uid, LIVE)
    got = []
    for (kind, namespace, name), (obj, error) in zip(wanted, fetched):
        if obj is not None:
            got.append(obj)
        elif error:
            errors.append(error)
            gaps.append((kind.key, namespace, error))
        elif kind is catalogue.SECRETS and name != selection.CONSOLE_SECRET:
            notes.append(f"Secret {namespace}/{name} is referenced but does not exist")
    keep(None, held + selection.select_fetched([], got, scope, selector.secret_wanted, selector.left), "held")
    extra = {"not_served": not_served, "errors": errors, "notes": notes + _left_out_notes(selector.left),
             "owner_refs": sorted(owner_refs), "first_error": failures[0] if failures else None,
             "left_out": len(selector.left), "identity_error": identity_error,
             "coverage": coverage_mod.of_capture(kinds, list(scope.namespaces), not_served, gaps)}
    if packer is not None:
        return Capture([], cluster, packer=packer, packed=packer.finish(), **extra)
    return Capture(sink.objects([*range(len(tasks)), "held"]), cluster, listed=listed, **extra)


def _left_out_notes(left: list[str]) -> list[str]:
    note = selection.left_out_note(left)
    return [note] if note else []


def _where(namespace: str | None) -> str:
    return f" in namespace {namespace}" if namespace else ""


def _list_tasks(kinds: list[catalogue.Kind], scope: Scope, secrets_by_label: bool = True,
                list_secrets: bool = True) -> list[tuple]:
    """One LIST per kind (per namespace with --namespace). Secrets and CRDs are fetched narrowly instead: Secrets
    of the Higress namespace by label (the rules match the labels again), unless `secrets_by_label` is False (a
    restore plans against every Secret of that namespace, so it lists them once, whole)."""
    tasks = []
    for kind in kinds:
        if kind is catalogue.CRDS:
            continue
        if kind is catalogue.SECRETS:
            if list_secrets and scope.wants_namespace(scope.higress_namespace):
                selectors = scope.secret_selectors if secrets_by_label else [None]
                tasks.extend((kind, scope.higress_namespace, sel) for sel in selectors)
        elif kind is catalogue.CONFIGMAPS:
            if scope.wants_namespace(scope.higress_namespace):
                tasks.append((kind, scope.higress_namespace, None))
        elif kind.namespaced and scope.namespaces:
            tasks.extend((kind, ns, None) for ns in scope.namespaces)
        else:
            tasks.append((kind, None, None))
    return tasks


def _wanted_by_get(listed_secrets: list[dict], refs: set[tuple[str, str]], kinds, served, scope: Scope,
                   left: list[str], secret_names=()) -> list[tuple]:
    """Objects fetched one by one: the console Secret, `secret_names` of the Higress namespace, referenced Secrets
    and the CRDs of the kinds in scope. A Secret hgbackup never restores (in kube-system, say) is not fetched: it
    is named in `left`."""
    wanted: list[tuple] = []
    keys = {k.key for k in kinds}
    if catalogue.SECRETS.key in keys:
        have = {(o["metadata"].get("namespace"), o["metadata"]["name"]) for o in listed_secrets}
        refs = refs | {(scope.higress_namespace, name) for name in (selection.CONSOLE_SECRET, *secret_names)}
        for ns, name in sorted(refs - have):
            why = left_out({"apiVersion": "v1", "kind": "Secret", "metadata": {"namespace": ns, "name": name}})
            if why:
                left.append(f"Secret {ns}/{name} ({why})")
            elif scope.wants_namespace(ns):
                wanted.append((catalogue.SECRETS, ns, name))
    if catalogue.CRDS.key in keys and served[catalogue.CRDS.key].version:
        custom = [k for k in kinds if k.custom and served[k.key].version]
        wanted += [(catalogue.CRDS, None, name) for name in sorted(selection.crd_names(custom))]
    return wanted


def _get(kube: Kube, served, kind: catalogue.Kind, namespace: str | None, name: str):
    try:
        return kube.get(kind, served[kind.key].version, namespace, name), None
    except AccessDenied as exc:
        return None, f"cannot get {kind.kind} {namespace + '/' if namespace else ''}{name}: {exc}"
    except Unreachable:
        raise
    except HgbackupError as exc:
        return None, f"cannot get {kind.kind} {namespace + '/' if namespace else ''}{name}: {exc}"


def write(repo: Repository, capture: Capture, scope: Scope, *, tags: list[str] = (),
          cluster: str | None = None, now: datetime | None = None, undo_prunes=None) -> Snapshot:
    """Pack (unless the capture streamed into a Packer already), encrypt with the repository's key (if any), and
    store a capture under `cluster` (default: the captured cluster's name), the archive streamed to the store."""
    now = now or datetime.now(timezone.utc)
    if capture.cluster.source == LIVE and not capture.cluster.identity:
        raise capture.identity_error or AccessDenied("the cluster's identity is unknown; nothing was written")
    key = repo.encryption_key
    if capture.packer is not None:
        if capture.packer.key != key:
            raise HgbackupError("internal error: the capture was packed for another encryption key")
        packer, records = capture.packer, capture.packed
    else:
        packer, records = packing.packed_from(capture.objects, key)
    try:
        for _ in range(5):  # an id already in the store is never written over: take another
            try:
                return _write_once(repo, capture, packer, records, scope, new_snapshot_id(now), tags, cluster, now,
                                   undo_prunes)
            except FileExistsError:
                continue
        raise HgbackupError("could not find a free snapshot id after 5 tries")
    finally:
        if packer is not capture.packer:
            packer.close()


def _write_once(repo: Repository, capture: Capture, packer: packing.Packer, records: list[packing.Packed],
                scope: Scope, snapshot_id: str, tags, cluster, now, undo_prunes) -> Snapshot:
    key = SnapshotKey(cluster_key(cluster or capture.cluster.name), snapshot_id)
    archive.check_entries(records, snapshot_id)
    stream = packing.Digesting(packing.sealed_chunks(packer, snapshot_id, repo.encryption_key),
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
        kube = connect()
        kube.cluster_identity()  # a live snapshot records its cluster's identity or is not taken (exit 6)
        capture = capture_live(kube, scope, cluster, progress, packer=packing.Packer(repo.encryption_key))
    try:
        return take(repo, capture, scope, tags=tags, require_encryption=require_encryption, allow_empty=allow_empty)
    finally:
        capture.close()


def take(repo: Repository, capture: Capture, scope: Scope, *, tags: list[str] = (),
         require_encryption: bool = False, allow_empty: bool = False, cluster: str | None = None) -> SnapshotReport:
    """The snapshot verb after capture: an empty scope, the encryption policy, then `write`."""
    if not allow_empty and not any(o.ref.kind != "CustomResourceDefinition" for o in capture.items):
        why = f" (and {capture.errors[0]})" if capture.errors else ""
        raise NothingToDo(f"the scope matched no object{why}; nothing was written (--allow-empty writes an empty "
                          "snapshot)")
    secrets = sum(1 for o in capture.items if o.ref.kind == "Secret" and o.ref.group == "")
    notices = []
    if secrets and repo.encryption_key is None:
        message = f"snapshot holds {secrets} Secret(s) and no encryption key is set"
        if require_encryption:
            raise InvalidInput(message + " (encryption is required); nothing was written")
        notices.append(message + ": set --encryption-key-file or HGBACKUP_ENCRYPTION_KEY to encrypt the archive")
    snap = write(repo, capture, scope, tags=tags, cluster=cluster)
    return SnapshotReport(snap, repo.store.url, notices, left_out=capture.left_out)
