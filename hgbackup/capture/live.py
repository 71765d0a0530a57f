"""Capture the live cluster: list every kind in scope (concurrently, paginated), apply the selection rules to each
page as it arrives, then get the Secrets and CRDs the rules want one by one.

One job per method of `_LiveCapture`: discovery (what is served, which LISTs to run), listing one collection with
its restarts (a continue token that expired starts the LIST again, and what it brought is forgotten), the denied
tally (a capture refused every LIST is no capture), and getting the held Secrets and CRDs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor

from ..errors import AccessDenied, HgbackupError, Unreachable
from ..kube import catalogue
from ..kube.client import RESTART, Kube
from ..kube.excluded import left_out
from ..kube.model import StoredObject, ref_of
from ..kube.scope import Scope
from ..kube.stored import had_owner_references
from ..memory import collector_paused
from ..store import coverage
from ..store.manifest import LIVE, ClusterInfo
from . import selection
from .captured import InMemoryCapture, PackedCapture
from .packer import Packer

Progress = Callable[[int, int, str], None]
LIST_CONCURRENCY = 6
HELD = "held"  # the lane of the objects `finish` and the gets keep


def capture_live(kube: Kube, scope: Scope, cluster_name: str | None = None, progress: Progress | None = None,
                 keep_listed: bool = False, secret_names: list[str] | None = None) -> InMemoryCapture:
    """Every object a snapshot of this scope would take from the live cluster, in memory (diff and restore compare
    them). With `keep_listed`, also what each LIST returned before selection (InMemoryCapture.listed). With
    `secret_names` (a schedule's consoleSecrets), the Higress namespace's Secrets are not listed: those names are
    got one by one, and the same rules keep them."""
    sink = _Collected()
    job = _LiveCapture(kube, scope, sink, keep_listed=keep_listed, secret_names=secret_names)
    found = job.run(cluster_name, progress)
    return InMemoryCapture(objects=sink.objects([*range(len(job.tasks)), HELD]), listed=job.listed, **found)


def capture_packed(kube: Kube, scope: Scope, key: bytes | None, cluster_name: str | None = None,
                   progress: Progress | None = None, secret_names: list[str] | None = None) -> PackedCapture:
    """The same objects, each LIST page selected, put in stored form and packed (for `key`) as it arrives: the
    capture holds only the packed records, so memory grows with the manifest, not with the objects (packer.py)."""
    packer = Packer(key)
    try:
        found = _LiveCapture(kube, scope, packer, secret_names=secret_names).run(cluster_name, progress)
        return PackedCapture(packer=packer, records=packer.finish(), **found)
    except BaseException:
        packer.close()
        raise


class _Collected:
    """Where a capture that is not packed puts its objects: a list per LIST (lane), in task order."""

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


class _LiveCapture:
    """One live capture into `sink` (a Packer or _Collected): the lanes are the LIST tasks, then HELD."""

    def __init__(self, kube: Kube, scope: Scope, sink, *, keep_listed: bool = False,
                 secret_names: list[str] | None = None):
        self.kube, self.scope, self.sink, self.keep_listed = kube, scope, sink, keep_listed
        self.secret_names = secret_names or ()
        self.served = kube.served()
        self.kinds = scope.kinds()
        self.not_served = [k.key for k in self.kinds if self.served[k.key].version is None]
        self.tasks = _list_tasks([k for k in self.kinds if self.served[k.key].version], scope,
                                 secrets_by_label=not keep_listed, list_secrets=not secret_names)
        self.errors: list[str] = []
        self.notes: list[str] = []
        self.selector = selection.Selector(scope, self.notes)
        self.owner_refs: list[str] = []
        self.listed: dict[tuple[str, str | None], list[dict]] = {}
        self.lock = threading.Lock()
        self.denied: list[str] = []
        self.failures: list[HgbackupError] = []
        self.gaps: list[tuple[str, str | None, str]] = []  # what could not be read: (kind key, namespace, why)

    def run(self, cluster_name: str | None, progress: Progress | None) -> dict:
        """List, fetch, and say what was found (the fields every Capture has)."""
        with collector_paused(), ThreadPoolExecutor(max_workers=LIST_CONCURRENCY) as pool, \
                ThreadPoolExecutor(max_workers=LIST_CONCURRENCY) as prefetch:
            version = pool.submit(self.kube.version_info)
            identity = pool.submit(self.kube.cluster_identity)
            self.list_all(pool, prefetch, progress)
            held = self.selector.finish()
            fetched = self.get_wanted(pool)
            uid, identity_error = _identity(identity)
            cluster = ClusterInfo(cluster_name or self.kube.context_cluster, version.result().get("gitVersion"), uid,
                                  LIVE)
        self.keep(None, held + self.kept_of(fetched), HELD)
        note = selection.left_out_note(self.selector.left)
        return {"cluster": cluster, "not_served": self.not_served, "errors": self.errors,
                "notes": self.notes + ([note] if note else []), "owner_refs": sorted(self.owner_refs),
                "first_error": self.failures[0] if self.failures else None, "left_out": len(self.selector.left),
                "identity_error": identity_error,
                "coverage": coverage.of_capture(self.kinds, list(self.scope.namespaces), self.not_served,
                                                self.gaps + self.by_name_gap())}

    def by_name_gap(self) -> list[tuple[str, str | None, str]]:
        """Secrets got by name (consoleSecrets) instead of listed: the capture never saw the Higress namespace's
        other console Secrets, so it cannot say it holds them all (a prune of it must not delete them)."""
        hns = self.scope.higress_namespace
        if not self.secret_names or catalogue.SECRETS not in self.kinds or not self.scope.wants_namespace(hns):
            return []
        return [(catalogue.SECRETS.key, hns, f"the Secrets of {hns} were got by name (consoleSecrets), not "
                                             "listed: a console Secret not named there was never seen")]

    def keep(self, kind: catalogue.Kind | None, objs: list[dict], lane: object) -> None:
        owned = {ref_of(o) for o in objs if had_owner_references(o)}
        if kind is None:  # held and fetched objects: any kind
            added = [o.ref for o in map(StoredObject.from_object, objs) if self.sink.add(o, lane)]
        else:
            added = [o.ref for o in self.sink.add_items(kind, objs, lane)]
        self.owner_refs.extend(str(ref) for ref in added if ref in owned)

    # -- listing -------------------------------------------------------------------------------------------------
    def list_all(self, pool: Executor, prefetch: Executor, progress: Progress | None) -> None:
        """Every LIST task, concurrently; a capture refused every one of them is an error (exit 6)."""
        for lane, error in enumerate(pool.map(lambda lane: self.list_one(lane, prefetch), range(len(self.tasks)))):
            if error:
                self.errors.append(error)
            if progress:
                progress(lane + 1, len(self.tasks), self.tasks[lane][0].key)
        if self.tasks and len(self.denied) == len(self.tasks):
            raise AccessDenied(f"not allowed to list any of the {len(self.tasks)} kinds in scope "
                               f"(first refusal: {self.errors[0]}); nothing was written")

    def list_one(self, lane: int, prefetch: Executor) -> str | None:
        """One LIST, page by page, each page offered to the rules; a restart forgets what the lane brought. Returns
        why it failed, or None."""
        kind, namespace, label_selector = self.tasks[lane]
        seen: list[dict] | None = [] if self.keep_listed and label_selector is None else None
        try:
            for page in self.kube.pages(kind, self.served[kind.key].version, namespace, label_selector,
                                        prefetch=prefetch):
                if page is RESTART:  # the LIST starts again: forget this lane's objects and what they named
                    self.sink.drop_lane(lane)
                    with self.lock:
                        self.selector.drop_lane(lane)
                    seen = [] if seen is not None else None
                    continue
                if seen is not None:
                    seen.extend(page)
                with self.lock:
                    wanted = [item for item in page if self.selector.offer(item, kind, lane)]
                self.keep(kind, wanted, lane)
            if seen is not None:
                self.listed[(kind.key, namespace)] = seen
            return None
        except Unreachable as exc:
            if not isinstance(exc, AccessDenied):
                raise
            self.denied.append(kind.key)
            failure = exc
        except HgbackupError as exc:
            failure = exc
        self.failures.append(failure)
        why = f"cannot list {kind.key}{f' in namespace {namespace}' if namespace else ''}: {failure}"
        self.gaps.append((kind.key, namespace, why))
        return why

    # -- getting what the rules hold ------------------------------------------------------------------------------
    def get_wanted(self, pool: Executor) -> list[tuple[tuple, tuple[dict | None, str | None]]]:
        """Each object to get one by one, with what the get returned: (object or None, why it failed or None)."""
        listed_secrets = self.selector.held.get(catalogue.SECRETS.key, [])
        wanted = _wanted_by_get(listed_secrets, self.selector.secret_wanted, self.kinds, self.served, self.scope,
                                self.selector.left, self.secret_names)
        return list(zip(wanted, pool.map(lambda w: _get(self.kube, self.served, *w), wanted)))

    def kept_of(self, fetched: list[tuple[tuple, tuple[dict | None, str | None]]]) -> list[dict]:
        """The fetched objects the rules keep; a failed get is an error and a gap, a missing Secret a note."""
        got = []
        for (kind, namespace, name), (obj, error) in fetched:
            if obj is not None:
                got.append(obj)
            elif error:
                self.errors.append(error)
                self.gaps.append((kind.key, namespace, error))
            elif kind is catalogue.SECRETS and name != selection.CONSOLE_SECRET:
                how = "named in consoleSecrets" if self.named(namespace, name) else "referenced"
                self.notes.append(f"Secret {namespace}/{name} is {how} but does not exist")
        left = len(self.selector.left)
        kept = selection.select_fetched([], got, self.scope, self.selector.secret_wanted, self.selector.left)
        refused = {entry.split(" (", 1)[0] for entry in self.selector.left[left:]}
        have = {ref_of(o) for o in kept}
        for obj in got:
            ref = ref_of(obj)
            if self.named(ref.namespace, ref.name) and ref not in have and f"Secret {ref.namespace}/{ref.name}" \
                    not in refused:
                self.notes.append(f"Secret {ref.namespace}/{ref.name} is named in consoleSecrets but matches none "
                                  f"of the console Secret selectors ({', '.join(self.scope.secret_selectors)}), so "
                                  "it was not stored")
        return kept

    def named(self, namespace: str | None, name: str) -> bool:
        """Whether a schedule's consoleSecrets name this Secret."""
        return namespace == self.scope.higress_namespace and name in self.secret_names


def _identity(identity: Future) -> tuple[str | None, AccessDenied | None]:
    try:
        return identity.result(), None
    except AccessDenied as exc:  # only a snapshot needs it (write refuses); a diff of the live side does not
        return None, exc


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
