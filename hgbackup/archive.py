"""Pack and unpack one snapshot: a deterministic tar.gz of stored objects plus its manifest.

Reading never trusts the archive: the archive sha256 and size are checked against the manifest first, every tar entry
must be a regular file at a path this module could have written, the bytes read are capped by what the manifest
says, and every object's sha256 must match its manifest entry. Anything else is an IntegrityError (exit 4).
"""

from __future__ import annotations

import gzip
import io
import json
import re
import tarfile
import zlib
from datetime import datetime, timezone

from . import FORMAT, __version__, catalogue, crypto
from .errors import IntegrityError
from .model import Ref, StoredObject
from .sanitize import sha256_hex

ENTRY = re.compile(r"^resources/[a-z0-9.-]+/[a-z0-9.-]+/[A-Za-z0-9._-]+/[A-Za-z0-9._:@-]+\.json$")
MANIFEST_KEYS = ("format", "id", "created", "cluster", "archive", "objects")
# A margin for tar headers and padding on top of the objects' own bytes.
TAR_OVERHEAD_PER_ENTRY = 1536


def pack(objects: list[StoredObject]) -> bytes:
    """A tar.gz with one JSON entry per object, sorted, with fixed metadata: same objects, same bytes.

    Headers are written here rather than by tarfile (whose per-entry overhead dominated snapshot time); the format
    is plain GNU tar, read back with tarfile.
    """
    parts: list[bytes] = []
    for obj in sorted(objects, key=lambda o: o.archive_path):
        name = obj.archive_path.encode("utf-8")
        if len(name) > 100:
            parts.append(_tar_header(b"././@LongLink", len(name) + 1, b"L"))
            parts.append(_padded(name + b"\0"))
        parts.append(_tar_header(name[:100], len(obj.data), b"0"))
        parts.append(_padded(obj.data))
    parts.append(b"\0" * 1024)
    return gzip.compress(b"".join(parts), compresslevel=6, mtime=0)


def _padded(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 512)


def _tar_header(name: bytes, size: int, typeflag: bytes) -> bytes:
    head = (name.ljust(100, b"\0") + b"0000600\0" + b"0000000\0" + b"0000000\0" + b"%011o\0" % size
            + b"00000000000\0")
    tail = typeflag + b"\0" * 100 + b"ustar  \0" + b"\0" * 247
    checksum = sum(head) + sum(tail) + 8 * 32
    return head + b"%06o\0 " % checksum + tail


def new_manifest(
    snapshot_id: str,
    created: datetime,
    cluster: dict,
    objects: list[StoredObject],
    archive_bytes: bytes,
    *,
    scope: dict,
    tags: list[str],
    not_served: list[str],
    warnings: list[str],
    owner_refs: list[str],
    encryption: dict | None,
) -> dict:
    counts: dict[str, int] = {}
    for obj in objects:
        counts[obj.kind.key] = counts.get(obj.kind.key, 0) + 1
    return {
        "format": FORMAT,
        "id": snapshot_id,
        "created": created.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tool_version": __version__,
        "cluster": cluster,
        "scope": scope,
        "tags": sorted(set(tags)),
        "partial": bool(warnings),
        "counts": dict(sorted(counts.items())),
        "not_served": sorted(not_served),
        "archive": {
            "size": len(archive_bytes),
            "sha256": sha256_hex(archive_bytes),
            "unpacked_size": sum(len(o.data) for o in objects),
            "encryption": encryption,
        },
        "objects": [o.manifest_entry() for o in sorted(objects, key=lambda o: o.archive_path)],
        "owner_references": sorted(owner_refs),
        "warnings": warnings,
    }


def parse_manifest(data: bytes, where: str) -> dict:
    """Decode and sanity-check a manifest; refuse unknown format versions."""
    try:
        manifest = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise IntegrityError(f"{where}: manifest is not valid JSON") from None
    if not isinstance(manifest, dict):
        raise IntegrityError(f"{where}: manifest is not a JSON object")
    fmt = manifest.get("format")
    if fmt != FORMAT:
        raise IntegrityError(f"{where}: unknown manifest format {fmt!r} (this hgbackup reads {FORMAT})")
    missing = [k for k in MANIFEST_KEYS if k not in manifest]
    if missing:
        raise IntegrityError(f"{where}: manifest lacks {', '.join(missing)}")
    archive = manifest["archive"]
    if not isinstance(archive, dict) or not isinstance(manifest["objects"], list):
        raise IntegrityError(f"{where}: manifest has a malformed archive or objects field")
    for field in ("size", "sha256", "unpacked_size"):
        if field not in archive:
            raise IntegrityError(f"{where}: manifest archive record lacks {field}")
    return manifest


def open_archive(data: bytes, manifest: dict, key: bytes | None) -> list[StoredObject]:
    """Check and decode an archive against its manifest; returns its objects in manifest order."""
    sid = manifest["id"]
    record = manifest["archive"]
    if len(data) != record["size"]:
        raise IntegrityError(
            f"snapshot {sid}: archive is {len(data)} bytes, manifest says {record['size']} (truncated?)"
        )
    if sha256_hex(data) != record["sha256"]:
        raise IntegrityError(f"snapshot {sid}: archive checksum mismatch")
    if record.get("encryption"):
        data = crypto.decrypt(data, key, record["encryption"], sid)
    entries = _read_entries(data, manifest)
    return _check_objects(entries, manifest)


def _read_entries(data: bytes, manifest: dict) -> dict[str, bytes]:
    sid = manifest["id"]
    expected = {_entry_path(e, sid) for e in manifest["objects"]}
    budget = int(manifest["archive"]["unpacked_size"])
    entries: dict[str, bytes] = {}
    # The stream is inflated whole, capped at what the manifest allows, and must end properly: a truncated or
    # padded gzip stream is refused even when every object in it happens to check out.
    limit = budget + TAR_OVERHEAD_PER_ENTRY * (len(expected) + 2) + tarfile.RECORDSIZE
    inflater = zlib.decompressobj(wbits=31)
    try:
        raw = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise IntegrityError(f"snapshot {sid}: archive is damaged (gzip: {exc})") from None
    if len(raw) > limit or inflater.unconsumed_tail:
        raise IntegrityError(f"snapshot {sid}: archive expands beyond the size its manifest states")
    if not inflater.eof or inflater.unused_data:
        raise IntegrityError(f"snapshot {sid}: archive is truncated or has trailing data")
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
            for member in tar:
                name = member.name
                if not member.isreg():
                    raise IntegrityError(f"snapshot {sid}: archive entry {name!r} is not a regular file")
                if not ENTRY.match(name) or ".." in name.split("/"):
                    raise IntegrityError(f"snapshot {sid}: archive entry {name!r} has an unexpected path")
                if name not in expected:
                    raise IntegrityError(f"snapshot {sid}: archive entry {name!r} is not in the manifest")
                if name in entries:
                    raise IntegrityError(f"snapshot {sid}: archive entry {name!r} appears twice")
                budget -= member.size
                if budget < 0:
                    raise IntegrityError(f"snapshot {sid}: archive expands beyond the size its manifest states")
                fh = tar.extractfile(member)
                content = fh.read(member.size + 1) if fh else b""
                if len(content) != member.size:
                    raise IntegrityError(f"snapshot {sid}: archive entry {name!r} is truncated")
                entries[name] = content
    except (tarfile.TarError, EOFError, OSError, gzip.BadGzipFile, ValueError) as exc:
        raise IntegrityError(f"snapshot {sid}: archive is damaged ({exc.__class__.__name__}: {exc})") from None
    return entries


def _entry_path(entry: dict, sid: str) -> str:
    try:
        kind = catalogue.BY_GROUP_KIND[(catalogue.group_of(entry["apiVersion"]), entry["kind"])]
        ns = entry.get("namespace") or "_cluster"
        return f"resources/{kind.group_dir}/{kind.plural}/{ns}/{entry['name']}.json"
    except (KeyError, TypeError, AttributeError):
        raise IntegrityError(f"snapshot {sid}: manifest lists an unknown object: {entry!r:.120}") from None


def _check_objects(entries: dict[str, bytes], manifest: dict) -> list[StoredObject]:
    sid = manifest["id"]
    objects = []
    for entry in manifest["objects"]:
        path = _entry_path(entry, sid)
        data = entries.get(path)
        if data is None:
            raise IntegrityError(f"snapshot {sid}: object {path} is missing from the archive")
        if sha256_hex(data) != entry.get("sha256"):
            raise IntegrityError(f"snapshot {sid}: object {path} checksum mismatch")
        # The ref comes from the manifest entry (whose sha256 the bytes just matched): no JSON parse here, so
        # readers that only compare hashes (diff) never decode unchanged objects.
        ref = Ref(catalogue.group_of(entry["apiVersion"]), entry["kind"], entry.get("namespace"), entry["name"])
        obj = StoredObject(entry["apiVersion"], ref, data, entry["sha256"])
        objects.append(obj)
    return objects


def json_bytes(doc: dict) -> bytes:
    """Compact JSON (the C encoder; an indented dump of a 10,000-object manifest took half a second)."""
    return (json.dumps(doc, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
