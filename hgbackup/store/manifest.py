"""The snapshot manifest as typed, immutable records, and the one place its JSON form is read and checked.

A `Manifest` is the small document written last beside each archive (restic's snapshot file): what was captured,
from which cluster, with which checksums. A `Snapshot` pairs it with the `SnapshotKey` it was found under; the key
is where the store keeps it, the manifest is what it says, and neither is smuggled into the other.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import operator
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import NamedTuple

import orjson

from .. import FORMAT, __version__
from ..errors import IntegrityError
from ..kube.catalogue import group_of
from ..kube.model import Ref
from . import coverage as coverage_mod
from .layout import ID_RE, SnapshotKey

CREATED_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
CREATED_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
REQUIRED = ("format", "id", "created", "cluster", "archive", "objects")
SAFETY_TAGS = ("pre-restore", "pre-migrate")  # the tags of the snapshots a restore or a migration takes first
LIVE, FILES = "live", "files"  # where a snapshot's objects came from (ClusterInfo.source)


@dataclass(frozen=True)
class ClusterInfo:
    name: str
    server_version: str | None = None
    identity: str | None = None  # uid of the kube-system namespace; None for snapshots taken from files
    source: str | None = None  # LIVE or FILES; None in manifests written before it was recorded

    def as_json(self) -> dict:
        doc = {"name": self.name, "server_version": self.server_version, "identity": self.identity}
        if self.source is not None:
            doc["source"] = self.source
        return doc

    @property
    def from_files(self) -> bool:
        """Taken from files: no cluster. (Before `source` was recorded, a live capture always had a server
        version.)"""
        if self.source is not None:
            return self.source == FILES
        return self.identity is None and self.server_version is None


@dataclass(frozen=True)
class Encryption:
    alg: str
    key_id: str
    digest: str | None = None  # how the manifest's object digests are keyed (HMAC-SHA256); None: plain sha256


@dataclass(frozen=True)
class Auth:
    """The manifest's MAC: made with a subkey of the encryption key over the manifest and its store folder."""

    alg: str
    key_id: str
    mac: str

    def as_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class ArchiveRecord:
    size: int
    sha256: str
    unpacked_size: int
    encryption: Encryption | None = None

    def as_json(self) -> dict:
        return dataclasses.asdict(self)  # the encryption record too (or None)


_PLACEHOLDER = "\0objects\0"  # where Manifest.to_bytes splices the object list in


class ObjectEntry(NamedTuple):
    """One object as the manifest lists it: enough to name it and check its bytes. (A NamedTuple: a manifest holds
    one per object, tens of thousands, and a frozen dataclass costs several times more to make.)"""

    api_version: str
    kind: str
    namespace: str | None
    name: str
    sha256: str

    @property
    def ref(self) -> Ref:
        return Ref(group_of(self.api_version), self.kind, self.namespace, self.name)

    def as_json(self) -> dict:
        return {"apiVersion": self.api_version, "kind": self.kind, "namespace": self.namespace, "name": self.name,
                "sha256": self.sha256}


@dataclass(frozen=True)
class Manifest:
    id: str
    created: datetime
    cluster: ClusterInfo
    archive: ArchiveRecord
    objects: tuple[ObjectEntry, ...]
    scope: dict = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    partial: bool = False
    counts: dict = field(default_factory=dict)
    not_served: tuple[str, ...] = ()
    owner_references: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    tool_version: str = __version__
    format: str = FORMAT
    auth: Auth | None = None
    # a safety snapshot's undo may prune exactly these (the objects its restore created), and nothing else
    undo_prunes: tuple[Ref, ...] | None = None
    # what was listed completely (coverage.py); None in manifests written before the record existed
    coverage: coverage_mod.Coverage | None = None

    @property
    def encrypted(self) -> bool:
        return self.archive.encryption is not None

    @property
    def created_text(self) -> str:
        return self.created.strftime(CREATED_FORMAT)

    @classmethod
    def build(cls, snapshot_id: str, created: datetime, cluster: ClusterInfo, records: list,
              archive: ArchiveRecord, *, scope: dict, tags: list[str] = (), partial: bool = False,
              not_served: list[str] = (), warnings: list[str] = (), owner_refs: list[str] = (),
              coverage: coverage_mod.Coverage | None = None) -> Manifest:
        """The manifest of a snapshot about to be written; `partial` is the caller's word, not derived here.
        `records`: what the packer packed (capture/packer.Packed: api_version, ref, kind, archive_path and the
        manifest's digest, keyed for encrypted snapshots)."""
        counts: dict[str, int] = {}
        for record in records:
            counts[record.kind.key] = counts.get(record.kind.key, 0) + 1
        entries = tuple(ObjectEntry(r.api_version, r.ref.kind, r.ref.namespace, r.ref.name, r.digest)
                        for r in sorted(records, key=lambda r: r.archive_path))
        return cls(id=snapshot_id, created=created.astimezone(timezone.utc).replace(microsecond=0), cluster=cluster,
                   archive=archive, objects=entries, scope=dict(scope), tags=tuple(sorted(set(tags))),
                   partial=partial, counts=dict(sorted(counts.items())), not_served=tuple(sorted(not_served)),
                   owner_references=tuple(sorted(owner_refs)), warnings=tuple(warnings), coverage=coverage)

    def signed_payload(self, folder: str) -> bytes:
        """What the MAC covers: every field but the MAC itself, and the store folder (SnapshotKey.folder)."""
        doc = self.as_json()
        doc.pop("auth", None)
        return json.dumps({"folder": folder, "manifest": doc}, sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False).encode("utf-8")

    def as_json(self, with_objects: bool = True) -> dict:
        doc = self._body(with_objects)
        if self.undo_prunes is not None:
            doc["undo_prunes"] = [[r.group, r.kind, r.namespace, r.name] for r in self.undo_prunes]
        if self.coverage is not None:
            doc["coverage"] = self.coverage.as_json()
        if self.auth is not None:
            doc["auth"] = self.auth.as_json()
        return doc

    def _body(self, with_objects: bool = True) -> dict:
        return {
            "format": self.format,
            "id": self.id,
            "created": self.created_text,
            "tool_version": self.tool_version,
            "cluster": self.cluster.as_json(),
            "scope": self.scope,
            "tags": list(self.tags),
            "partial": self.partial,
            "counts": self.counts,
            "not_served": list(self.not_served),
            "archive": self.archive.as_json(),
            "objects": [{"apiVersion": a, "kind": k, "namespace": ns, "name": n, "sha256": d}
                        for a, k, ns, n, d in self.objects] if with_objects else None,
            "owner_references": list(self.owner_references),
            "warnings": list(self.warnings),
        }

    def to_bytes(self) -> bytes:
        return b"".join(self.chunks())

    def chunks(self):
        """The manifest file: compact JSON with sorted keys (orjson), a piece at a time. The object list is encoded
        a thousand entries at a time and spliced in, so writing the manifest of 50,000 objects never holds 50,000
        dicts, or the whole file, at once."""
        doc = self.as_json(with_objects=False)
        doc["objects"] = _PLACEHOLDER
        head, tail = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS).split(orjson.dumps(_PLACEHOLDER))
        yield head + b"["
        for start in range(0, len(self.objects), 1000):
            part = orjson.dumps([{"apiVersion": a, "kind": k, "namespace": ns, "name": n, "sha256": d}
                                 for a, k, ns, n, d in self.objects[start:start + 1000]],
                                option=orjson.OPT_SORT_KEYS)[1:-1]
            yield (b"," + part) if start else part
        yield b"]" + tail + b"\n"

    @classmethod
    def from_bytes(cls, data: bytes, where: str) -> Manifest:
        """Decode and check a manifest: the format version and the type of every field. Anything else is exit 4."""
        try:
            doc = orjson.loads(data)
        except (UnicodeDecodeError, ValueError):
            raise IntegrityError(f"{where}: manifest is not valid JSON") from None
        except RecursionError:
            raise IntegrityError(f"{where}: manifest is nested too deeply") from None
        if not isinstance(doc, dict):
            raise IntegrityError(f"{where}: manifest is not a JSON object")
        if doc.get("format") != FORMAT:
            raise IntegrityError(f"{where}: unknown manifest format {doc.get('format')!r:.40} (this hgbackup reads "
                                 f"{FORMAT})")
        missing = [k for k in REQUIRED if k not in doc]
        if missing:
            raise IntegrityError(f"{where}: manifest lacks {', '.join(missing)}")
        return _Reader(where).manifest(doc)


_ENTRY_FIELDS = operator.itemgetter("apiVersion", "kind", "namespace", "name", "sha256")
_AS_ENTRY = functools.partial(tuple.__new__, ObjectEntry)
_NOT_NAMESPACE = operator.itemgetter(0, 1, 3, 4)  # every field but the namespace is a string


class _Reader:
    """Field-by-field checks of a manifest document; each failure names the field."""

    def __init__(self, where: str):
        self.where = where

    def fail(self, field_name: str, expected: str):
        raise IntegrityError(f"{self.where}: manifest field {field_name} is not {expected}")

    def str_(self, value, name: str, optional: bool = False) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str):
            self.fail(name, "a string")
        return value

    def int_(self, value, name: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.fail(name, "a whole number >= 0")
        return value

    def strings(self, value, name: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(name, "a list of strings")
        return tuple(value)

    def dict_(self, value, name: str) -> dict:
        if not isinstance(value, dict):
            self.fail(name, "an object")
        return value

    def manifest(self, doc: dict) -> Manifest:
        sid = self.str_(doc["id"], "id")
        if not ID_RE.match(sid):
            self.fail("id", "a snapshot id")
        text = self.str_(doc["created"], "created")
        try:
            if not CREATED_RE.match(text):  # exactly CREATED_FORMAT; fromisoformat is 5x faster than strptime
                raise ValueError(text)
            created = datetime.fromisoformat(text[:-1])
        except ValueError:
            self.fail("created", f"a UTC time like {CREATED_FORMAT}")
        cluster = self.dict_(doc["cluster"], "cluster")
        counts = self.dict_(doc.get("counts") or {}, "counts")
        for key, value in counts.items():
            self.int_(value, f"counts.{key}")
        scope = self.dict_(doc.get("scope") or {}, "scope")
        return Manifest(
            id=sid, created=created.replace(tzinfo=timezone.utc),
            cluster=ClusterInfo(self.str_(cluster.get("name"), "cluster.name"),
                                self.str_(cluster.get("server_version"), "cluster.server_version", True),
                                self.str_(cluster.get("identity"), "cluster.identity", True),
                                self.source(cluster.get("source"))),
            archive=self.archive(self.dict_(doc["archive"], "archive")),
            objects=self.objects(doc["objects"]),
            scope=scope, tags=self.strings(doc.get("tags"), "tags"),
            partial=doc.get("partial") is True, counts=counts,
            not_served=self.strings(doc.get("not_served"), "not_served"),
            owner_references=self.strings(doc.get("owner_references"), "owner_references"),
            warnings=self.strings(doc.get("warnings"), "warnings"),
            tool_version=self.str_(doc.get("tool_version") or "?", "tool_version"),
            auth=self.auth(doc.get("auth")),
            undo_prunes=self.refs(doc.get("undo_prunes")),
            coverage=None if doc.get("coverage") is None else coverage_mod.from_json(
                doc["coverage"], lambda expected: self.fail("coverage", expected)),
        )

    def source(self, value) -> str | None:
        if value is not None and value not in (LIVE, FILES):
            self.fail("cluster.source", f"{LIVE!r} or {FILES!r}")
        return value

    def refs(self, value) -> tuple[Ref, ...] | None:
        if value is None:
            return None
        if not isinstance(value, list) or not all(
                isinstance(r, list) and len(r) == 4 and isinstance(r[0], str) and isinstance(r[1], str)
                and (r[2] is None or isinstance(r[2], str)) and isinstance(r[3], str) for r in value):
            self.fail("undo_prunes", "a list of [group, kind, namespace, name]")
        return tuple(Ref(*r) for r in value)

    def auth(self, value) -> Auth | None:
        if value is None:
            return None
        value = self.dict_(value, "auth")
        return Auth(self.str_(value.get("alg"), "auth.alg"), self.str_(value.get("key_id"), "auth.key_id"),
                    self.str_(value.get("mac"), "auth.mac"))

    def archive(self, record: dict) -> ArchiveRecord:
        encryption = record.get("encryption")
        if encryption is not None:
            encryption = self.dict_(encryption, "archive.encryption")
            encryption = Encryption(self.str_(encryption.get("alg"), "archive.encryption.alg"),
                                    self.str_(encryption.get("key_id"), "archive.encryption.key_id"),
                                    self.str_(encryption.get("digest"), "archive.encryption.digest", True))
        return ArchiveRecord(self.int_(record.get("size"), "archive.size"),
                             self.str_(record.get("sha256"), "archive.sha256"),
                             self.int_(record.get("unpacked_size"), "archive.unpacked_size"), encryption)

    def objects(self, entries) -> tuple[ObjectEntry, ...]:
        if not isinstance(entries, list):
            self.fail("objects", "a list")
        try:  # the common case in bulk (C-level map/chain); any doubt goes through the checks one by one below
            rows = list(map(_ENTRY_FIELDS, entries))
            types = set(map(type, itertools.chain.from_iterable(rows)))
            if types <= {str} or (types <= {str, type(None)} and set(
                    map(type, itertools.chain.from_iterable(map(_NOT_NAMESPACE, rows)))) <= {str}):
                return tuple(map(_AS_ENTRY, rows))  # a row has ObjectEntry's layout: no Python call per object
        except (KeyError, TypeError):
            pass
        out = []
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                self.fail(f"objects[{index}]", "an object")
            name = f"objects[{index}]"
            out.append(ObjectEntry(self.str_(entry.get("apiVersion"), f"{name}.apiVersion"),
                                   self.str_(entry.get("kind"), f"{name}.kind"),
                                   self.str_(entry.get("namespace"), f"{name}.namespace", True),
                                   self.str_(entry.get("name"), f"{name}.name"),
                                   self.str_(entry.get("sha256"), f"{name}.sha256")))
        return tuple(out)


@dataclass(frozen=True)
class Snapshot:
    """A snapshot found in a store: the key it lives under beside the manifest it holds."""

    key: SnapshotKey
    manifest: Manifest
    verified: bool = False  # the manifest's MAC was checked with the reader's key

    @property
    def id(self) -> str:
        return self.key.id

    @property
    def cluster(self) -> str:
        """The store's cluster folder (a normalised cluster name)."""
        return self.key.cluster

    def summary(self) -> dict:
        m = self.manifest
        return {"id": self.id, "created": m.created_text, "cluster": self.cluster, "objects": len(m.objects),
                "size": m.archive.size, "tags": list(m.tags), "encrypted": m.encrypted, "partial": m.partial,
                "auth": "verified" if self.verified else ("unverified" if m.auth else "none")}
