"""Turn a live object into its stored form: the fields a user wrote, without what the server set.

The stored form is what every snapshot, diff and restore compares, so the same object always serialises to the same
bytes (sorted keys, compact separators) and therefore the same sha256.
"""

from __future__ import annotations

import copy
import hashlib
import json

from . import catalogue

METADATA_DROPPED = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
    "managedFields",
    "ownerReferences",
)

# Annotations written by tools rather than people; they change on every apply and say nothing about the config.
ANNOTATIONS_DROPPED = ("deployment.kubernetes.io/revision",)


def stored_form(obj: dict) -> dict:
    """A copy of `obj` without server-set fields (see DESIGN.md, "Stored form of an object")."""
    out = copy.deepcopy(obj)
    out.pop("status", None)
    meta = out.get("metadata") or {}
    for field in METADATA_DROPPED:
        meta.pop(field, None)
    annotations = meta.get("annotations")
    if annotations:
        for key in ANNOTATIONS_DROPPED:
            annotations.pop(key, None)
        if not annotations:
            meta.pop("annotations", None)
    if meta.get("labels") == {}:
        meta.pop("labels")
    if not meta.get("namespace"):
        meta.pop("namespace", None)
    kind = catalogue.kind_of(out)
    if kind is not None:
        if not kind.namespaced:
            meta.pop("namespace", None)
        for path in kind.strip:
            _drop(out, path)
    return out


def _drop(obj: dict, path: tuple[str, ...]) -> None:
    node = obj
    for part in path[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return
    if isinstance(node, dict):
        node.pop(path[-1], None)


def canonical_bytes(obj: dict) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def had_owner_references(obj: dict) -> bool:
    return bool((obj.get("metadata") or {}).get("ownerReferences"))
