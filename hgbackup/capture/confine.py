"""What a snapshot may hold: the store is untrusted input, so its content is checked before anything reaches a cluster.

One scope: `left_out` says what hgbackup never takes and never writes (objects in kube-system, kube-public and
kube-node-lease; service-account and bootstrap tokens; Helm release Secrets). The capture (selection.py) reads it to
leave such objects out, with a warning naming them, and a restore or `verify` reads it to refuse them, so every
snapshot the writer accepts verifies and restores.

Two layers, both run at restore and verify time, before any cluster call:
- hard limits no scope can lift: every name and namespace is one Kubernetes accepts (names.py; a GatewayClass
  named `..` would otherwise reach the HTTP stack, which rewrites it into the group's discovery URL); nothing in
  kube-system, kube-public or kube-node-lease; no service-account-token or bootstrap-token Secrets; CRDs only for
  the kinds hgbackup knows, and none with a conversion webhook (with its `caBundle`) unless the caller allows it; every
  entry's bytes decode to the kind, namespace and name its path names;
- the selection rules run again over the archive's objects with the snapshot's recorded scope: anything a snapshot
  of that scope could not have selected is refused.
"""

from __future__ import annotations

from ..errors import HgbackupError, IntegrityError
from ..kube import catalogue, names
from ..kube.model import StoredObject

PROTECTED_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")
# service-account and bootstrap tokens, Helm release records: the cluster's, never configuration to restore
FORBIDDEN_SECRET_TYPES = tuple(catalogue.LEFT_OUT_SECRET_TYPES)
HELM_RELEASE_PREFIX = "sh.helm.release.v1."  # Helm names its release Secrets so, whatever their type
KNOWN_CRDS = {k.key for k in catalogue.KINDS if k.custom}
SHOWN = 5  # offenders named in the error


def left_out(obj: dict, allow_crd_webhooks: bool = False) -> str | None:
    """Why hgbackup never takes this object into a snapshot nor writes it to a cluster, or None. The one definition
    of that scope: the capture leaves such objects out (naming them), a restore and `verify` refuse them. A CRD
    with a conversion webhook is among them (a restore would install a webhook the API server calls): a snapshot
    never holds one, and only `--allow-crd-webhooks` lets a restore write one that an older snapshot holds."""
    meta = obj.get("metadata") or {}
    if (not allow_crd_webhooks and obj.get("kind") == "CustomResourceDefinition"
            and catalogue.group_of(obj.get("apiVersion") or "") == catalogue.APIEXT and conversion_webhook(obj)):
        return ("a CRD that has a conversion webhook or a caBundle in spec.conversion, which hgbackup never "
                "installs (--allow-crd-webhooks restores it)")
    namespace = meta.get("namespace")
    if namespace in PROTECTED_NAMESPACES:
        return f"in {namespace}, which hgbackup never writes to"
    if obj.get("kind") == "Secret" and catalogue.group_of(obj.get("apiVersion") or "") == catalogue.CORE:
        kind = obj.get("type")
        if kind in FORBIDDEN_SECRET_TYPES:
            return f"a {kind} Secret, which hgbackup never restores"
        if str(meta.get("name") or "").startswith(HELM_RELEASE_PREFIX):
            return "a Helm release Secret, which hgbackup never restores"
    return None


def problems(objects: list[StoredObject], scope_json: dict, *, allow_crd_webhooks: bool = False) -> list[str]:
    """Every reason to refuse these objects, empty when they are what a snapshot of `scope_json` could hold."""
    from . import selection  # selection reads left_out: imported here, not at the top

    found = []
    decoded = []
    for obj in objects:
        try:
            decoded.append(obj.obj)  # refuses bytes that do not decode to the object the entry path names
        except IntegrityError as exc:
            found.append(str(exc))
            continue
        why = left_out(obj.obj, allow_crd_webhooks)
        found += [f"{obj.ref} is {why}"] if why else _hard_limits(obj, allow_crd_webhooks)
    if found:
        return found
    try:
        scope = selection.Scope.from_json(scope_json)
        scope.kinds()
    except (HgbackupError, ValueError, TypeError, AttributeError) as exc:  # an edited scope: integrity, not usage
        return [f"the manifest's scope is not valid: {exc}"]
    selected = {StoredObject.from_object(o).ref for o in selection.select(decoded, scope)}
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


def _hard_limits(obj: StoredObject, allow_crd_webhooks: bool) -> list[str]:
    ref, data = obj.ref, obj.obj
    if not names.valid_ref(ref):
        return [f"{ref} has a name or namespace Kubernetes does not accept (names.py)"]
    if ref.namespace in PROTECTED_NAMESPACES:
        return [f"{ref} is in {ref.namespace}, which hgbackup never writes to"]
    if ref.kind == "Secret" and ref.group == "" and data.get("type") in FORBIDDEN_SECRET_TYPES:
        return [f"{ref} is a {data.get('type')} Secret, which hgbackup never restores"]
    if ref.kind == "CustomResourceDefinition":
        if ref.name not in KNOWN_CRDS:
            return [f"{ref} is not the CRD of a kind hgbackup handles"]
        if not allow_crd_webhooks and conversion_webhook(data):
            return [f"{ref} has a conversion webhook or a caBundle in spec.conversion (--allow-crd-webhooks to "
                    "restore it)"]
    return []


def conversion_webhook(crd: dict) -> bool:
    """Whether a CRD makes the API server call out: a conversion webhook, whose clientConfig holds the URL or
    Service and the caBundle it trusts. These are the only fields of a CRD that install a webhook or a CA bundle
    (k8s.io/apiextensions-apiserver pkg/apis/apiextensions/v1/types.go CustomResourceConversion; validation.go
    validateCustomResourceConversion allows `webhook` only with strategy Webhook). A schema property that happens
    to be called `caBundle` (cert-manager's `spec.acme.caBundle`) describes data, and installs nothing.
    A `spec.conversion` of any other shape, or another strategy than None, counts as one."""
    spec = crd.get("spec")
    conversion = spec.get("conversion") if isinstance(spec, dict) else None
    if conversion is None:
        return False
    if not isinstance(conversion, dict):
        return True
    return (conversion.get("strategy") not in (None, "None") or conversion.get("webhook") is not None
            or conversion.get("webhookClientConfig") is not None)  # the v1beta1 spelling
