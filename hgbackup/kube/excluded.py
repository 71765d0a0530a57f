"""What hgbackup never takes into a snapshot and never writes to a cluster: the one definition of that scope.

The capture (selection.py) leaves such objects out, with a warning naming them; a restore and `verify` refuse them
(confine.py), so every snapshot the writer accepts verifies and restores. A namespace map never targets a protected
namespace and a prune never deletes in one (restore/).
"""

from __future__ import annotations

from . import catalogue

PROTECTED_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")
# the cluster's own credentials and Helm's records, never configuration to restore
SECRET_TYPES = {
    "kubernetes.io/service-account-token": "issued by the cluster for its service accounts",
    "bootstrap.kubernetes.io/token": "node join credentials of the cluster",
    "helm.sh/release.v1": "Helm's record of a release, not configuration",
}
HELM_RELEASE_PREFIX = "sh.helm.release.v1."  # Helm names its release Secrets so, whatever their type


def left_out(obj: dict, allow_crd_webhooks: bool = False) -> str | None:
    """Why hgbackup never takes this object into a snapshot nor writes it to a cluster, or None. A CRD with a
    conversion webhook is among them (a restore would install a webhook the API server calls): a snapshot never
    holds one, and only `--allow-crd-webhooks` lets a restore write one that an older snapshot holds."""
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
        if kind in SECRET_TYPES:
            return f"a {kind} Secret, which hgbackup never restores"
        if str(meta.get("name") or "").startswith(HELM_RELEASE_PREFIX):
            return "a Helm release Secret, which hgbackup never restores"
    return None


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
