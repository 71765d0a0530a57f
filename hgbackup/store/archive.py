"""Read one snapshot's archive (the deterministic tar.gz capture/packer.py writes) against its manifest, and refuse
to write what could not be read back.

Reading never trusts the archive: the archive sha256 and size are checked against the manifest first, every tar entry
must be a regular file at a path this module could have written, the bytes read are capped by what the manifest
says, and every object's sha256 must match its manifest entry. Anything else is an IntegrityError (exit 4).
"""

from __future__ import annotations

import re
import zlib

from ..errors import IntegrityError
from ..kube import catalogue
from ..kube.model import StoredObject, archive_entry_path
from ..kube.stored import sha256_hex
from . import crypto
from .manifest import ArchiveRecord, Manifest, ObjectEntry

ENTRY = re.compile(r"^resources/[a-z0-9.-]+/[a-z0-9.-]+/[A-Za-z0-9._-]+/[A-Za-z0-9._:@-]+\.json$")
BLOCK = 512
RECORDSIZE = 20 * BLOCK  # what tar writers pad a stream to
ZERO_BLOCK = b"\0" * BLOCK
# A margin for tar headers and padding on top of the objects' own bytes.
TAR_OVERHEAD_PER_ENTRY = 1536
# Caps on inflation that hold whatever the manifest declares (its sizes are untrusted): Kubernetes JSON packs about
# 10-30x, so 200x the stored size (at least 64 MiB), never more than 2 GiB, and no object beyond 4 MiB (etcd
# refuses anything over 1.5 MiB).
MAX_RATIO = 200
MIN_CAP = 64 * 2**20
MAX_UNPACKED = 2 * 2**30
MAX_ENTRY = 4 * 2**20


def check_readable(objects, record: ArchiveRecord, snapshot_id: str) -> None:
    """Refuse to write what `open_archive` would refuse to read: every reason it has beyond damage (entry paths,
    object sizes, inflation relative to the stored size) is checked here against the same rules. With the stored
    bytes read back and compared (Repository.save), a snapshot that cannot be read back is never written.
    `objects`: packer.Packed records (path, size, ref)."""
    check_entries(objects, snapshot_id)
    limit = record.unpacked_size + TAR_OVERHEAD_PER_ENTRY * (len(objects) + 2) + RECORDSIZE
    if limit > min(MAX_UNPACKED, max(MIN_CAP, MAX_RATIO * record.size)):
        raise IntegrityError(f"snapshot {snapshot_id}: {record.unpacked_size} bytes packed into {record.size}: more "
                             "than a reader inflates; nothing was written")


def check_entries(objects, snapshot_id: str) -> None:
    """The part of `check_readable` that needs no archive: every entry's path and size."""
    for obj in objects:
        path = obj.archive_path
        if not ENTRY.match(path) or ".." in path.split("/"):
            raise IntegrityError(f"snapshot {snapshot_id}: {obj.ref} would be stored as {path!r}, which no reader "
                                 "accepts; nothing was written")
        if obj.size > MAX_ENTRY:
            raise IntegrityError(f"snapshot {snapshot_id}: {obj.ref} is {obj.size} bytes, more than a reader "
                                 "accepts; nothing was written")


def open_archive(data: bytes, manifest: Manifest, key: bytes | None) -> list[StoredObject]:
    """Check and decode an archive against its manifest; returns its objects in manifest order."""
    sid = manifest.id
    record = manifest.archive
    if len(data) != record.size:
        raise IntegrityError(
            f"snapshot {sid}: archive is {len(data)} bytes, manifest says {record.size} (truncated?)"
        )
    if sha256_hex(data) != record.sha256:
        raise IntegrityError(f"snapshot {sid}: archive checksum mismatch")
    if record.encryption:
        data = crypto.decrypt(data, key, record.encryption, sid)
    entries = _read_entries(data, manifest)
    return _check_objects(entries, manifest, key)


def _read_entries(data: bytes, manifest: Manifest) -> dict[str, bytes]:
    sid = manifest.id
    expected = {_entry_path(e, sid) for e in manifest.objects}
    budget = manifest.archive.unpacked_size
    entries: dict[str, bytes] = {}
    # The stream is inflated whole, capped at what the manifest allows, and must end properly: a truncated or
    # padded gzip stream is refused even when every object in it happens to check out.
    limit = budget + TAR_OVERHEAD_PER_ENTRY * (len(expected) + 2) + RECORDSIZE
    cap = min(MAX_UNPACKED, max(MIN_CAP, MAX_RATIO * len(data)))
    if limit > cap:
        raise IntegrityError(f"snapshot {sid}: manifest declares {budget} unpacked bytes for a {len(data)}-byte "
                             "archive: refusing to inflate it (a compression bomb?)")
    inflater = zlib.decompressobj(wbits=31)
    try:
        raw = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise IntegrityError(f"snapshot {sid}: archive is damaged (gzip: {exc})") from None
    if len(raw) > limit or inflater.unconsumed_tail:
        raise IntegrityError(f"snapshot {sid}: archive expands beyond the size its manifest states")
    if not inflater.eof or inflater.unused_data:
        raise IntegrityError(f"snapshot {sid}: archive is truncated or has trailing data")
    for name, content in _tar_members(raw, sid):
        if not ENTRY.match(name) or ".." in name.split("/"):
            raise IntegrityError(f"snapshot {sid}: archive entry {name!r} has an unexpected path")
        if name not in expected:
            raise IntegrityError(f"snapshot {sid}: archive entry {name!r} is not in the manifest")
        if name in entries:
            raise IntegrityError(f"snapshot {sid}: archive entry {name!r} appears twice")
        budget -= len(content)
        if budget < 0:
            raise IntegrityError(f"snapshot {sid}: archive expands beyond the size its manifest states")
        entries[name] = bytes(content)
    return entries


def _tar_members(raw: bytes, sid: str):
    """(name, content) of each member of a tar stream, read strictly: regular files only (GNU long names allowed,
    as packer.py writes them), every header checksum checked, and only zero blocks after the end marker.

    A reader of the one format packer.py writes, several times faster than tarfile, which parsed every header field
    of every member (most of the time `verify` and `restore` spent on an archive)."""
    view = memoryview(raw)
    pos, long_name = 0, None
    while True:
        header = view[pos:pos + BLOCK]
        if len(header) < BLOCK:
            raise IntegrityError(f"snapshot {sid}: archive is damaged (it ends inside a tar header)")
        if header == ZERO_BLOCK:
            if any(view[pos:]):  # after the end marker: padding only
                raise IntegrityError(f"snapshot {sid}: archive has data after its end")
            return
        raw_name = bytes(header[0:100]).split(b"\0", 1)[0]
        typeflag = bytes(header[156:157])
        size = _octal(header[124:136], sid)
        if _octal(header[148:156], sid) != sum(header[:148]) + 256 + sum(header[156:]):
            raise IntegrityError(f"snapshot {sid}: archive is damaged (a tar header checksum does not match)")
        if bytes(header[257:263]) == b"ustar\x00" and header[345] != 0:  # POSIX prefix field
            raw_name = bytes(header[345:500]).split(b"\0", 1)[0] + b"/" + raw_name
        start = pos + BLOCK
        end = start + size
        if end > len(raw):
            raise IntegrityError(f"snapshot {sid}: archive entry {raw_name.decode('utf-8', 'replace')!r} is "
                                 "truncated")
        pos = start + size + (-size % BLOCK)
        if typeflag == b"L":  # GNU long name: the next member's name
            if size > 4096:
                raise IntegrityError(f"snapshot {sid}: archive has a long name of {size} bytes")
            long_name = bytes(view[start:end]).rstrip(b"\0")
            continue
        name = (long_name or raw_name).decode("utf-8", "replace")
        long_name = None
        if typeflag not in (b"0", b"\0"):
            raise IntegrityError(f"snapshot {sid}: archive entry {name!r} is not a regular file")
        if size > MAX_ENTRY:
            raise IntegrityError(f"snapshot {sid}: archive entry {name!r} is {size} bytes, larger than any "
                                 "Kubernetes object")
        yield name, view[start:end]


def _octal(field, sid: str) -> int:
    text = bytes(field).strip(b" \0")
    try:
        return int(text, 8) if text else 0
    except ValueError:
        raise IntegrityError(f"snapshot {sid}: archive is damaged (a tar header field is not a number)") from None


def _entry_path(entry: ObjectEntry, sid: str) -> str:
    kind = catalogue.BY_GROUP_KIND.get((catalogue.group_of(entry.api_version), entry.kind))
    if kind is None:
        raise IntegrityError(f"snapshot {sid}: manifest lists an object of an unknown kind: {entry.kind:.60} "
                             f"({entry.api_version:.60})")
    return archive_entry_path(kind, entry.namespace, entry.name)


def _check_objects(entries: dict[str, bytes], manifest: Manifest, key: bytes | None) -> list[StoredObject]:
    sid = manifest.id
    encryption = manifest.archive.encryption
    keyed = encryption is not None and encryption.digest is not None
    if keyed and encryption.digest != crypto.DIGEST_ALG:
        raise IntegrityError(f"snapshot {sid}: unknown object digest {encryption.digest!r:.40}")
    objects = []
    for entry in manifest.objects:
        path = _entry_path(entry, sid)
        data = entries.get(path)
        if data is None:
            raise IntegrityError(f"snapshot {sid}: object {path} is missing from the archive")
        sha256 = sha256_hex(data)
        # keyed digests (encrypted snapshots): the manifest never shows a plain hash a guess could be matched to
        if not crypto.same_digest(crypto.object_digest(key, data) if keyed else sha256, entry.sha256):
            raise IntegrityError(f"snapshot {sid}: object {path} checksum mismatch")
        # The ref comes from the manifest entry (whose digest the bytes just matched): no JSON parse here, so
        # readers that only compare hashes (diff) never decode unchanged objects.
        objects.append(StoredObject(entry.api_version, entry.ref, data, sha256))
    return objects
