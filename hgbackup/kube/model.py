"""The two small records every verb passes around: a reference to an object, and an object in its stored form."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import orjson

from ..errors import IntegrityError
from . import catalogue
from .stored import canonical_bytes, sha256_hex, stored_form


@dataclass(frozen=True, order=True, slots=True)  # slots: a snapshot's records hold one per object
class Ref:
    """Identifies an object across snapshots and clusters: (group, kind, namespace, name)."""

    group: str
    kind: str
    namespace: str | None
    name: str

    def __str__(self) -> str:
        kind = f"{self.kind}.{self.group}" if self.group else self.kind
        return f"{kind} {self.namespace}/{self.name}" if self.namespace else f"{kind} {self.name}"

    def as_json(self, api_version: str) -> dict:
        return {"apiVersion": api_version, "kind": self.kind, "namespace": self.namespace, "name": self.name}


@dataclass
class StoredObject:
    """One object in stored form, with the canonical bytes and sha256 that identify its content."""

    api_version: str
    ref: Ref
    data: bytes
    sha256: str
    _obj: dict | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_object(cls, obj: dict) -> StoredObject:
        clean = stored_form(obj)
        data = canonical_bytes(clean)
        return cls(clean["apiVersion"], ref_of(clean), data, sha256_hex(data), clean)

    @property
    def obj(self) -> dict:
        """The decoded object; refuses bytes that do not decode to the object the manifest named."""
        if self._obj is None:
            try:
                obj = orjson.loads(self.data)
                same = isinstance(obj, dict) and ref_of(obj) == self.ref
            except (ValueError, AttributeError, TypeError):  # orjson.JSONDecodeError is a ValueError
                same = False
            if not same:
                raise IntegrityError(f"stored object {self.ref} does not decode to that object")
            self._obj = obj
        return self._obj

    @property
    def kind(self) -> catalogue.Kind:
        return catalogue.BY_GROUP_KIND[(self.ref.group, self.ref.kind)]

    @cached_property
    def archive_path(self) -> str:
        return archive_entry_path(self.kind, self.ref.namespace, self.ref.name)


def archive_entry_path(kind: catalogue.Kind, namespace: str | None, name: str) -> str:
    """The one spelling of an object's path inside a snapshot archive."""
    return f"resources/{kind.group_dir}/{kind.plural}/{namespace or '_cluster'}/{name}.json"


def ref_of(obj: dict) -> Ref:
    meta = obj.get("metadata") or {}
    kind = catalogue.kind_of(obj)
    namespace = meta.get("namespace") or None
    if kind is not None and not kind.namespaced:
        namespace = None
    return Ref(catalogue.group_of(obj.get("apiVersion", "")), obj.get("kind", ""), namespace, meta.get("name", ""))
