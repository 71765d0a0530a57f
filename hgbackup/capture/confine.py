"""What a snapshot may hold: the store is untrusted input, so its content is checked before anything reaches a cluster.

Two layers, both run at restore and verify time, before any cluster call:
- what hgbackup never takes nor writes (kube/excluded.py, the one definition the capture also reads), and hard
  limits no scope can lift: every name and namespace is one Kubernetes accepts (names.py; a GatewayClass named
  `..` would otherwise reach the HTTP stack, which rewrites it into the group's discovery URL); CRDs only for the
  kinds hgbackup knows; every entry's bytes decode to the kind, namespace and name its path names;
- the selection rules run again over the archive's objects with the snapshot's recorded scope: anything a snapshot
  of that scope could not have selected is refused.
"""

from __future__ import annotations

from ..errors import IntegrityError
from ..kube import catalogue, names
from ..kube.excluded import left_out
from ..kube.model import StoredObject, ref_of
from ..kube.scope import Scope
from . import selection

KNOWN_CRDS = selection.crd_names(catalogue.KINDS)
SHOWN = 5  # offenders named in the error


def problems(objects: list[StoredObject], scope_json: dict, *, allow_crd_webhooks: bool = False) -> list[str]:
    """Every reason to refuse these objects, empty when they are what a snapshot of `scope_json` could hold."""
    found = []
    decoded = []
    for obj in objects:
        try:
            decoded.append(obj.obj)  # refuses bytes that do not decode to the object the entry path names
        except IntegrityError as exc:
            found.append(str(exc))
            continue
        why = left_out(obj.obj, allow_crd_webhooks)
        found += [f"{obj.ref} is {why}"] if why else _hard_limits(obj)
    if found:
        return found
    try:
        scope = Scope.from_json(scope_json)
    except IntegrityError as exc:  # an edited scope: integrity, not usage
        return [str(exc)]
    selected = {ref_of(o) for o in selection.select(decoded, scope)}
    return [f"{o.ref} is not something a snapshot of its recorded scope could hold" for o in objects
            if o.ref not in selected]


def check(objects: list[StoredObject], scope_json: dict, snapshot_id: str, *,
          allow_crd_webhooks: bool = False) -> None:
    """IntegrityError (exit 4) naming the first offenders, or nothing."""
    found = problems(objects, scope_json, allow_crd_webhooks=allow_crd_webhooks)
    if found:
        more = f" (and {len(found) - SHOWN} more)" if len(found) > SHOWN else ""
        raise IntegrityError(f"snapshot {snapshot_id} holds what hgbackup will not restore: "
                             + "; ".join(found[:SHOWN]) + more)


def _hard_limits(obj: StoredObject) -> list[str]:
    """What `left_out` does not say (it has passed): names Kubernetes accepts, CRDs of known kinds only. (The entry's
    ref is the decoded object's, so its namespace, Secret type and CRD conversion were left_out's to judge.)"""
    ref = obj.ref
    if not names.valid_ref(ref):
        return [f"{ref} has a name or namespace Kubernetes does not accept (names.py)"]
    if ref.kind == "CustomResourceDefinition" and ref.name not in KNOWN_CRDS:
        return [f"{ref} is not the CRD of a kind hgbackup handles"]
    return []
