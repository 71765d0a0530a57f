"""Which objects belong in a snapshot: pure rules, shared by live snapshots and `--from-file`.

The same rules run over whatever candidates a source offers, so a `kubectl get -A -o yaml` dump of a cluster selects
exactly what a live snapshot of that cluster would.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..kube import catalogue, references, reftable
from ..kube.excluded import left_out
from ..kube.labels import matches
from ..kube.scope import Scope

CONSOLE_SECRET = "higress-console"
LEFT_OUT_SHOWN = 10  # objects named in the capture's "left out" warning


def _meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


# -- the rules ---------------------------------------------------------------------------------------------------
def select(candidates: list[dict], scope: Scope) -> list[dict]:
    """The objects of `candidates` that a snapshot with this scope holds (see DESIGN.md, default scope)."""
    return select_with_refs(candidates, scope)[0]


def select_with_refs(candidates: list[dict], scope: Scope, refused: list[str] | None = None,
                     left: list[str] | None = None) -> tuple[list[dict], set[tuple[str, str]]]:
    """`select`, plus the (namespace, name) of every Secret the selected objects reference; references not
    followed (another namespace) are described in `refused` when given, with one note naming what was left out
    because hgbackup never restores it (also listed in `left` when given)."""
    selector = Selector(scope, refused)
    chosen = [obj for obj in candidates if selector.offer(obj)]
    chosen += selector.finish()
    note = left_out_note(selector.left)
    if note and refused is not None:
        refused.append(note)
    if left is not None:
        left.extend(selector.left)
    return _dedupe(chosen), selector.secret_wanted


def left_out_note(left: list[str]) -> str | None:
    """The capture's one warning about what the rules would take but hgbackup never restores (excluded.left_out)."""
    if not left:
        return None
    more = f" (and {len(left) - LEFT_OUT_SHOWN} more)" if len(left) > LEFT_OUT_SHOWN else ""
    return (f"left out {len(left)} object(s) that hgbackup never restores: " + "; ".join(left[:LEFT_OUT_SHOWN])
            + more)


class Selector:
    """The rules, an object at a time, for captures that cannot hold every candidate (a live snapshot packs each
    LIST page as it arrives). `offer` says at once whether most objects are kept; the kinds whose rule depends on
    the others (Secrets and Services: kept when referenced; CRDs: of the kinds in scope) are held and decided by
    `finish`, which follows the references (the table in reftable.py) once every ReferenceGrant is known.

    Everything an object brings (its references, a held object, a grant) is filed under the `lane` it was offered
    in (one LIST): a LIST that restarts (410 Gone on a continue page) drops its lane, so the references of objects
    deleted in between are forgotten with them."""

    HELD = reftable.FOLLOWED_KEYS | {catalogue.CRDS.key}

    def __init__(self, scope: Scope, refused: list[str] | None = None):
        self.scope = scope
        self.kinds = {k.key: k for k in scope.kinds()}
        self.refused = refused
        self.services = catalogue.SERVICES.key in self.kinds
        self.follow = reftable.FOLLOWED if self.services else frozenset({reftable.SECRET})
        self.lanes: dict[object, _Lane] = {}
        self.secret_wanted: set[tuple[str, str]] = set()
        self.service_wanted: set[tuple[str, str]] = set()
        self.left: list[str] = []  # what the rules would take but excluded.left_out refuses, named for a warning

    @property
    def held(self) -> dict[str, list[dict]]:
        """Held objects by kind key, over every lane."""
        out: dict[str, list[dict]] = {}
        for lane in self.lanes.values():
            for key, objs in lane.held.items():
                out.setdefault(key, []).extend(objs)
        return out

    def offer(self, obj: dict, kind: catalogue.Kind | None = None, lane: object = None) -> bool:
        """True: `obj` belongs in the snapshot (and its references are noted). False: it does not, or it is held
        for `finish`."""
        kind = kind or catalogue.kind_of(obj)
        if kind is None or kind.key not in self.kinds:
            return False
        state = self.lanes.get(lane)
        if state is None:
            state = self.lanes[lane] = _Lane()
        if kind.key in self.HELD:
            state.held.setdefault(kind.key, []).append(obj)
            return False
        if not _keep_plain(obj, kind, self.scope, self.left):
            return False
        if kind.kind == "ReferenceGrant":
            state.grants.append(obj)
        state.refs.extend(references.of(obj, self.scope.higress_namespace, self.follow, rewritable=False))
        return True

    def drop_lane(self, lane: object) -> None:
        """Forget what the objects offered in `lane` brought (its LIST starts again)."""
        self.lanes.pop(lane, None)

    def finish(self) -> list[dict]:
        """The held objects the rules keep, now that every other object has been offered."""
        grants = references.Grants(g for lane in self.lanes.values() for g in lane.grants)
        for lane in self.lanes.values():
            for ref in lane.refs:
                if not references.followed(ref, grants):
                    if self.refused is not None:
                        self.refused.append(references.why_not(ref))
                    continue
                if reftable.SECRET in ref.row.targets:
                    self.secret_wanted.add((ref.namespace, ref.name))
                if reftable.SERVICE in ref.row.targets:
                    self.service_wanted.add((ref.namespace, ref.name))
        held = self.held
        chosen = [obj for obj in held.get(catalogue.SECRETS.key, [])
                  if _keep_secret(obj, self.scope, self.secret_wanted, self.left)]
        if self.services:
            # the Higress namespace's own Services too: higress-gateway holds the load balancer's address
            chosen.extend(
                o for o in held.get(catalogue.SERVICES.key, [])
                if ((_meta(o).get("namespace"), _meta(o).get("name")) in self.service_wanted
                    or _meta(o).get("namespace") == self.scope.higress_namespace)
                and self.scope.wants_namespace(_meta(o).get("namespace"))
                and _not_left_out(o, catalogue.SERVICES, self.left)
            )
        if catalogue.CRDS.key in self.kinds:
            wanted_crds = crd_names(self.kinds.values())
            chosen.extend(o for o in held.get(catalogue.CRDS.key, []) if _meta(o).get("name") in wanted_crds
                          and _not_left_out(o, catalogue.CRDS, self.left))
        return _dedupe(chosen)


@dataclass
class _Lane:
    """What the objects of one LIST brought to a Selector."""

    held: dict[str, list[dict]] = field(default_factory=dict)
    grants: list[dict] = field(default_factory=list)
    refs: list[references.Reference] = field(default_factory=list)


def select_fetched(chosen: list[dict], fetched: list[dict], scope: Scope,
                   referenced: set[tuple[str, str]], left: list[str] | None = None) -> list[dict]:
    """`chosen` plus those of `fetched` (Secrets and CRDs read one by one) that the rules keep, without selecting
    the (possibly many thousand) first-round objects again: fetched objects never add references, and were fetched
    because no listed object had their name, so there is nothing to deduplicate against."""
    kinds = {k.key for k in scope.kinds()}
    wanted_crds = crd_names(scope.kinds())
    extra = []
    for obj in fetched:
        kind = catalogue.kind_of(obj)
        if kind is None or kind.key not in kinds:
            continue
        keep_secret = kind is catalogue.SECRETS and _keep_secret(obj, scope, referenced, left)
        keep_crd = (kind is catalogue.CRDS and _meta(obj).get("name") in wanted_crds
                    and _not_left_out(obj, kind, left))
        if keep_secret or keep_crd:
            extra.append(obj)
    return chosen + _dedupe(extra)


def crd_names(kinds) -> set[str]:
    return {k.key for k in kinds if k.custom}


def _keep_plain(obj: dict, kind: catalogue.Kind, scope: Scope, left: list[str] | None = None) -> bool:
    """The rule of a kind that is not held; what it would keep but hgbackup never restores is named in `left`."""
    ns = _meta(obj).get("namespace")
    if kind.namespaced and not scope.wants_namespace(ns):
        return False
    if kind is catalogue.CONFIGMAPS:
        labels = _meta(obj).get("labels") or {}
        own = labels.get(catalogue.OWN_LABEL[0]) == catalogue.OWN_LABEL[1]
        keep = ns == scope.higress_namespace and _meta(obj).get("name") not in catalogue.LEFT_OUT_CONFIGMAPS and not own
    elif kind is catalogue.INGRESSES and scope.ingress_classes:
        keep = catalogue.ingress_class(obj) in scope.ingress_classes
    else:
        keep = True
    return keep and _not_left_out(obj, kind, left)


def _keep_secret(obj: dict, scope: Scope, referenced: set[tuple[str, str]], left: list[str] | None = None) -> bool:
    """Referenced Secrets, and the console's in the Higress namespace; never what excluded.left_out refuses (named in
    `left` when the rules would have kept it)."""
    meta = _meta(obj)
    ns, name = meta.get("namespace"), meta.get("name", "")
    if not scope.wants_namespace(ns):
        return False
    if (ns, name) in referenced:
        keep = True
    elif ns != scope.higress_namespace:
        keep = False
    else:
        keep = name == CONSOLE_SECRET or any(matches(sel, meta.get("labels") or {}) for sel in scope.selectors)
    return keep and _not_left_out(obj, catalogue.SECRETS, left)


def _not_left_out(obj: dict, kind: catalogue.Kind, left: list[str] | None) -> bool:
    """False for what hgbackup never takes nor restores (one definition: excluded.left_out), named in `left`."""
    why = left_out(obj)
    if why is None:
        return True
    if left is not None:
        meta = _meta(obj)
        where = f"{meta['namespace']}/" if meta.get("namespace") else ""
        left.append(f"{kind.kind} {where}{meta.get('name')} ({why})")
    return False


def _dedupe(objects: list[dict]) -> list[dict]:
    seen, out = set(), []
    for obj in objects:
        meta = _meta(obj)
        key = (catalogue.group_of(obj["apiVersion"]), obj["kind"], meta.get("namespace"), meta.get("name"))
        if key not in seen:
            seen.add(key)
            out.append(obj)
    return out
