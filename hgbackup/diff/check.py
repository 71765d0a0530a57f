"""`hgbackup check ID|live`: dangling references, read from the reference table.

A reference dangles when the controller would find nothing at its end: the object it names does not exist, it
crosses into another namespace where the controller does not follow it (or no ReferenceGrant allows it), or it
names a GatewayClass no controller has accepted (live only: a snapshot keeps no status). Only references whose
target the source could hold are judged; the others are counted as not checked, never guessed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import EXIT_DIFFERENT, EXIT_OK
from ..kube import catalogue, references, reftable
from ..kube.model import StoredObject
from ..kube.scope import Scope
from . import sources


@dataclass(frozen=True)
class Dangling:
    source: str
    path: str
    target: str
    problem: str

    def __str__(self) -> str:
        return f"{self.source}: {self.path} names {self.target}, which {self.problem}"

    def as_json(self) -> dict:
        return {"object": self.source, "path": self.path, "target": self.target, "problem": self.problem}


@dataclass
class CheckReport:
    source: str
    objects: int
    checked: int = 0
    dangling: list[Dangling] = field(default_factory=list)
    unchecked: dict[str, int] = field(default_factory=dict)  # why -> how many references

    @property
    def exit_code(self) -> int:
        return EXIT_DIFFERENT if self.dangling else EXIT_OK

    @property
    def notes(self) -> list[str]:
        return [f"{n} reference(s) not checked: {why}" for why, n in sorted(self.unchecked.items())]

    def as_json(self) -> dict:
        return {"source": self.source, "objects": self.objects, "references_checked": self.checked,
                "dangling": [d.as_json() for d in self.dangling], "not_checked": dict(sorted(self.unchecked.items())),
                "notes": self.notes}


def dangling(objects: list[StoredObject], scope: Scope, label: str = "",
             accepted: Callable[[str], bool | None] | None = None) -> CheckReport:
    """Every dangling reference among `objects`, which a capture with `scope` produced. `accepted(name)`: whether
    a controller has accepted that GatewayClass (None: unknown)."""
    docs = [o.obj for o in objects]
    grants = references.Grants(docs)
    exists = {(o.ref.group, o.ref.kind, o.ref.namespace, o.ref.name) for o in objects}
    by_name = {(o.ref.group, o.ref.kind, o.ref.name) for o in objects}
    in_scope = {(k.group, k.kind) for k in scope.kinds()}
    report = CheckReport(label, len(objects))
    for doc in docs:
        for ref in references.of(doc, scope.higress_namespace, rewritable=False):
            why_not = _unchecked(ref, in_scope, scope)
            if why_not:
                report.unchecked[why_not] = report.unchecked.get(why_not, 0) + 1
                continue
            report.checked += 1
            problem = _problem(ref, grants, exists, by_name, accepted)
            if problem:
                report.dangling.append(Dangling(ref.source, ref.where, ref.target_text(), problem))
    return report


def _unchecked(ref: references.Reference, in_scope, scope: Scope) -> str:
    kinds = [t for t in ref.row.targets if t in in_scope]
    if not kinds:
        names = " or ".join(k for _, k in ref.row.targets)
        hint = " (--with-services)" if reftable.SERVICE in ref.row.targets else ""
        return f"{names} is not in the scope{hint}"
    if ref.namespace not in (None, references.ANY_NAMESPACE) and not scope.wants_namespace(ref.namespace):
        return "the target's namespace is not in the scope (-n)"
    return ""


def _problem(ref: references.Reference, grants, exists, by_name, accepted) -> str:
    if ref.refused:
        return f"the controller does not follow: it {ref.refused}"
    if ref.cross and grants.allowing(ref) is None:
        return "is in another namespace, and no ReferenceGrant there allows it"
    found = [t for t in ref.row.targets
             if ((*t, ref.name) in by_name if ref.namespace == references.ANY_NAMESPACE
                 else (*t, ref.namespace, ref.name) in exists)]
    if not found:
        return "does not exist"
    if found == [(catalogue.GATEWAY, "GatewayClass")] and accepted is not None and accepted(ref.name) is False:
        return "no controller has accepted (its status has no Accepted=True condition)"
    return ""


def check_source(source: sources.Source, *, scope: Scope, scope_from_snapshot: bool, repo_factory, kube_factory,
                 cluster: str | None = None, progress=None) -> CheckReport:
    """`hgbackup check`: load the source (live: the scope, with the Services routes name), then `dangling`."""
    kube = sources.connect_once(kube_factory)
    if source.kind == "live":
        scope.optins = set(scope.optins) | {catalogue.SERVICES.optin}
    side = sources.load(source, scope=scope, repo_factory=repo_factory, kube_factory=kube, cluster=cluster,
                        progress=progress)
    if side.snapshot is not None and scope_from_snapshot:
        scope = Scope.from_json(side.snapshot.manifest.scope)
    elif side.snapshot is not None:
        side.objects = sources.within(side.objects, scope)
    accepted = _class_status(kube()) if source.kind == "live" else None
    return dangling(side.objects, scope, side.label, accepted)


def _class_status(kube) -> Callable[[str], bool | None]:
    kind = catalogue.BY_GROUP_KIND[(catalogue.GATEWAY, "GatewayClass")]

    def accepted(name: str) -> bool | None:
        version = kube.served()[kind.key].version
        live = kube.get(kind, version, None, name) if version else None
        if live is None:
            return None
        conditions = (live.get("status") or {}).get("conditions") or []
        return any(c.get("type") == "Accepted" and c.get("status") == "True" for c in conditions)

    return accepted
