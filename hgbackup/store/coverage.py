"""Coverage: what a snapshot listed completely, by (kind, namespace), and what it did not.

A snapshot is a statement "these are all the objects of its scope" only where every LIST (and every GET of a
referenced object) it needed succeeded. The manifest records that as data (`coverage`, made by the capture with
`of_capture`), and every consumer reads it from here: prune deletes a live object only inside complete coverage, so a
kind that could not be read (forbidden, a 500) is never the reason something is deleted. A manifest written before
this record existed is complete for its recorded scope when it is not partial, and covers nothing when it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import IntegrityError
from ..kube import catalogue, reftable
from ..kube.scope import Scope

ALL = None  # a namespace of None: every namespace (or a cluster-scoped kind)
EVERY_KIND = "*"  # an incomplete entry for every kind (a partial snapshot without a record)
# kinds a snapshot holds because other objects name them (reftable.FOLLOWED): when any LIST failed, their
# references are unknown
DERIVED = tuple(sorted(reftable.FOLLOWED_KEYS))


@dataclass(frozen=True)
class Coverage:
    complete: frozenset[tuple[str, str | None]]  # (kind key, namespace or None: all)
    incomplete: tuple[tuple[str, str | None, str], ...] = ()  # (kind key or "*", namespace or None, why)

    def covers(self, kind_key: str, namespace: str | None) -> bool:
        """True when the snapshot holds every object of this kind in this namespace that its scope selects."""
        if self.gap(kind_key, namespace) is not None:
            return False
        return (kind_key, ALL) in self.complete or (namespace is not None and (kind_key, namespace) in self.complete)

    def gap(self, kind_key: str, namespace: str | None) -> str | None:
        """Why (kind, namespace) is not covered, when an incomplete entry says so."""
        for kind, ns, why in self.incomplete:
            if kind in (kind_key, EVERY_KIND) and ns in (ALL, namespace):
                return why
        return None

    def why_not(self, kind_key: str, namespace: str | None) -> str:
        return self.gap(kind_key, namespace) or "not in the snapshot's scope, or not served by its cluster"

    def as_json(self) -> dict:
        return {"complete": sorted([k, ns] for k, ns in self.complete),
                "incomplete": [[k, ns, why] for k, ns, why in self.incomplete]}


def of_capture(kinds: list[catalogue.Kind], namespaces: list[str], not_served: list[str],
               failed: list[tuple[str, str | None, str]]) -> Coverage:
    """The coverage of a capture: each kind in scope that is served, in the scope's namespaces (all when none),
    except what `failed` names (a LIST or a GET that did not succeed: kind key, namespace or None, why). A failed
    LIST of any kind also leaves the kinds kept by reference (Secrets, Services) incomplete."""
    complete = frozenset((k.key, ns if k.namespaced else ALL)
                         for k in kinds if k.key not in not_served for ns in (namespaces or [ALL]))
    incomplete = list(dict.fromkeys(failed))
    listed_kinds = {kind for kind, _, _ in failed if kind not in DERIVED}
    if listed_kinds:
        why = f"the references of {', '.join(sorted(listed_kinds))} could not all be followed"
        incomplete += [(kind, ALL, why) for kind in DERIVED if any(k == kind for k, _ in complete)]
    return Coverage(complete, tuple(incomplete))


def of_manifest(manifest) -> Coverage:
    """The manifest's record; for a manifest without one, complete for its recorded scope unless partial."""
    if manifest.coverage is not None:
        return manifest.coverage
    if manifest.partial:
        return Coverage(frozenset(), ((EVERY_KIND, ALL, "the snapshot is partial and records no coverage"),))
    try:
        scope = Scope.from_json(manifest.scope)
        kinds = scope.kinds()
    except IntegrityError:  # an edited or unknown scope covers nothing
        return Coverage(frozenset(), ((EVERY_KIND, ALL, "the snapshot's scope cannot be read"),))
    return of_capture(kinds, list(scope.namespaces), list(manifest.not_served), [])


def from_json(doc, fail) -> Coverage:
    """The manifest's `coverage` field, checked; `fail(expected)` raises the reader's error."""
    if not isinstance(doc, dict):
        fail("an object")
    complete, incomplete = doc.get("complete"), doc.get("incomplete") or []
    if not isinstance(complete, list) or not isinstance(incomplete, list):
        fail("an object of lists")
    pairs = []
    for entry in complete:
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)
                and (entry[1] is None or isinstance(entry[1], str))):
            fail("a list of [kind, namespace] under complete")
        pairs.append((entry[0], entry[1]))
    gaps = []
    for entry in incomplete:
        if not (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], str)
                and (entry[1] is None or isinstance(entry[1], str)) and isinstance(entry[2], str)):
            fail("a list of [kind, namespace, why] under incomplete")
        gaps.append((entry[0], entry[1], entry[2]))
    return Coverage(frozenset(pairs), tuple(gaps))
