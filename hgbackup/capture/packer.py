"""Write a snapshot archive as its objects arrive, in bounded memory, with the same bytes for the same objects.

The archive is one gzip member holding a GNU tar stream (archive.py reads it). Entries are ordered by segment, one
segment per (group, plural, namespace), and by name within a segment. Each segment is deflated on its own (a fresh
compressor, ended with a sync flush, so segments concatenate into one valid deflate stream) and the gzip trailer's
CRC-32 is combined from the segments' own. So a segment can be compressed while its LIST pages arrive and kept only
in compressed form, and the bytes depend only on the objects: not on page sizes, arrival order or timing.

The API server lists a collection in key order (`<namespace>/<name>`), which is segment order: a live snapshot
compresses each page as it comes. An entry that arrives out of order (a list restarted, files in any order) turns
its segment back into plain entries, sorted when the segment is closed: correct, though no longer bounded in memory.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
import threading
import zlib
from collections.abc import Iterator
from typing import NamedTuple

from ..kube import catalogue
from ..kube.model import Ref, StoredObject, archive_entry_path
from ..kube.stored import canonical_bytes, sha256_hex, stored_form
from ..store import crypto
from ..store.manifest import ArchiveRecord, Encryption

BLOCK = 512
END_OF_ARCHIVE = b"\0" * (2 * BLOCK)
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, mtime 0, OS unknown
LEVEL = 6
SPOOL_IN_MEMORY = 16 * 2**20  # compressed segments beyond this spill to an unlinked temporary file
CHUNK = 2**20


class Packed(NamedTuple):
    """One object as packed: what the manifest and the writer's checks need, without its bytes."""

    api_version: str
    ref: Ref
    kind: catalogue.Kind
    archive_path: str
    size: int
    sha256: str
    digest: str  # the manifest's digest: keyed (encrypted snapshots) or the plain sha256


def tar_entry(path: str, data: bytes) -> bytes:
    """One regular-file member with fixed metadata (GNU long name when the path needs it)."""
    name = path.encode("utf-8")
    parts = []
    if len(name) > 100:
        parts += [_tar_header(b"././@LongLink", len(name) + 1, b"L"), _padded(name + b"\0")]
    parts += [_tar_header(name[:100], len(data), b"0"), _padded(data)]
    return b"".join(parts)


def _padded(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % BLOCK)


_HEADER_MIDDLE = b"0000600\0" + b"0000000\0" + b"0000000\0"
_HEADER_MTIME = b"00000000000\0"
_HEADER_TAILS = {flag: flag + b"\0" * 100 + b"ustar  \0" + b"\0" * 247 for flag in (b"0", b"L")}
_HEADER_FIXED = {flag: sum(_HEADER_MIDDLE) + sum(_HEADER_MTIME) + sum(tail) + 8 * 32
                 for flag, tail in _HEADER_TAILS.items()}


def _tar_header(name: bytes, size: int, typeflag: bytes) -> bytes:
    size_field = b"%011o\0" % size
    checksum = _HEADER_FIXED[typeflag] + sum(name) + sum(size_field)
    return (name.ljust(100, b"\0") + _HEADER_MIDDLE + size_field + _HEADER_MTIME + b"%06o\0 " % checksum
            + _HEADER_TAILS[typeflag])


def segment_of(obj: StoredObject) -> tuple[str, str, str]:
    kind = obj.kind
    return (kind.group_dir, kind.plural, obj.ref.namespace or "_cluster")


def crc32_combine(crc_a: int, crc_b: int, len_b: int) -> int:
    """CRC-32 of A+B from CRC-32(A), CRC-32(B) and len(B). CRC-32 is affine in its input, so feeding B's length
    of zeros after A and cancelling the zeros' own CRC leaves B's contribution: crc(A+B) = crc(0^n, crc(A)) ^
    crc(B) ^ crc(0^n)."""
    zeros_after_a, zeros_alone = crc_a, 0
    block = bytes(min(len_b, CHUNK))
    left = len_b
    while left:
        piece = block if left >= len(block) else block[:left]
        zeros_after_a = zlib.crc32(piece, zeros_after_a)
        zeros_alone = zlib.crc32(piece, zeros_alone)
        left -= len(piece)
    return zeros_after_a ^ crc_b ^ zeros_alone


class _Segment:
    """The entries of one (group, plural, namespace): compressed as they arrive in name order, else kept plain."""

    def __init__(self, key: tuple[str, str, str], sensitive: bool):
        self.key = key
        self.sensitive = sensitive  # Secrets: never spilled to a temporary file
        self.entries: list[tuple[str, Packed, bytes | None]] = []  # (name, record, tar bytes when plain)
        self.compressor = None
        self.chunks: list[bytes] = []
        self.crc = 0
        self.raw_size = 0
        self.plain = False  # entries arrived out of order: their tar bytes are kept and sorted at close
        self.names: set[str] = set()  # of plain entries
        self.closed: tuple[int, int] | bytes | None = None  # spool (offset, length), or bytes (sensitive)
        self.lock = threading.Lock()

    def add_run(self, run: list[tuple[str, Packed, bytes]], packer: Packer) -> list[Packed]:
        """Add entries (name, record, tar bytes); returns the records added (a name already here keeps its first
        entry). Entries in name order after the last one are compressed in one call (which lets other threads
        run); anything else makes the segment plain."""
        with self.lock:
            last = self.entries[-1][0] if self.entries else None
            if not self.plain and self.closed is None and all(
                    (last is None or run[0][0] > last, *(a[0] < b[0] for a, b in zip(run, run[1:])))):
                if self.compressor is None:
                    self.compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
                data = b"".join(entry for _, _, entry in run)
                self.chunks.append(self.compressor.compress(data))
                self.crc = zlib.crc32(data, self.crc)
                self.raw_size += len(data)
                self.entries.extend((name, record, None) for name, record, _ in run)
                return [record for _, record, _ in run]
            if not self.plain:
                self._to_plain(packer)
            added = []
            for name, record, entry in run:
                if name not in self.names:
                    self.names.add(name)
                    self.entries.append((name, record, entry))
                    added.append(record)
            return added

    def _to_plain(self, packer: Packer) -> None:
        raw = zlib.decompressobj(-15).decompress(self._compressed(packer))  # no final block: not zlib.decompress
        pos, plain = 0, []
        for name, record, _ in self.entries:
            size = len(tar_entry(record.archive_path, b"")) + record.size + (-record.size % BLOCK)
            plain.append((name, record, raw[pos:pos + size]))
            pos += size
        self.entries, self.plain, self.closed, self.compressor, self.chunks = plain, True, None, None, []
        self.names = {name for name, _, _ in plain}

    def _compressed(self, packer: Packer) -> bytes:
        if isinstance(self.closed, bytes):
            return self.closed
        if self.closed is not None:
            return packer.read_spool(*self.closed)
        return b"".join(self.chunks) + (self.compressor.flush(zlib.Z_SYNC_FLUSH) if self.compressor else b"")

    def close(self, packer: Packer) -> None:
        with self.lock:
            if self.closed is not None:
                return
            if self.plain:
                self.entries.sort(key=lambda e: e[0])
                compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
                self.chunks, self.crc, self.raw_size = [], 0, 0
                for _, _, entry in self.entries:
                    self.chunks.append(compressor.compress(entry))
                    self.crc = zlib.crc32(entry, self.crc)
                    self.raw_size += len(entry)
                self.compressor = compressor
                self.entries = [(n, r, None) for n, r, _ in self.entries]
                self.plain, self.names = False, set()
            data = self._compressed(packer)
            self.compressor, self.chunks = None, []
            self.closed = data if self.sensitive else packer.write_spool(data)


class Packer:
    """Objects in, one deterministic archive out. Thread-safe: each LIST runs in its own lane, and a lane's
    previous segment is closed (compressed state dropped) as soon as the lane moves on to another one."""

    def __init__(self, key: bytes | None = None):
        self.key = key
        self._segments: dict[tuple[str, str, str], _Segment] = {}
        self._lanes: dict[object, _Segment] = {}
        self._touched: dict[object, set] = {}
        self._lock = threading.Lock()
        self._spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 (closed by close())
        self._spool_lock = threading.Lock()
        self._spool_end = 0
        self.finished = False

    def add(self, obj: StoredObject, lane: object = None) -> bool:
        """Pack one object; False when an object of the same kind, namespace and name was packed already."""
        digest = crypto.object_digest(self.key, obj.data) if self.key is not None else obj.sha256
        path = obj.archive_path
        record = Packed(obj.api_version, obj.ref, obj.kind, path, len(obj.data), obj.sha256, digest)
        return bool(self._add_run(segment_of(obj), [(obj.ref.name, record, tar_entry(path, obj.data))], lane))

    def add_items(self, kind: catalogue.Kind, items: list[dict], lane: object = None) -> list[Packed]:
        """Pack live objects of one kind (a LIST page) in stored form; returns the records of those packed.
        The same as `add(StoredObject.from_object(item))` for each, without the intermediate objects."""
        key = self.key
        group, group_dir, plural, namespaced = kind.group, kind.group_dir, kind.plural, kind.namespaced
        added: list[Packed] = []
        run: list[tuple[str, Packed, bytes]] = []
        segment = None
        for item in items:
            clean = stored_form(item, kind)
            data = canonical_bytes(clean)
            sha = sha256_hex(data)
            meta = clean["metadata"]
            name = meta.get("name", "")
            namespace = (meta.get("namespace") or None) if namespaced else None
            folder = namespace or "_cluster"
            path = archive_entry_path(kind, namespace, name)
            # the same few apiVersion and kind strings for every object, not one copy each
            record = Packed(sys.intern(clean["apiVersion"]), Ref(group, sys.intern(clean.get("kind", "")), namespace,
                                                                   name), kind, path,
                            len(data), sha, crypto.object_digest(key, data) if key is not None else sha)
            if folder != segment and run:
                added += self._add_run((group_dir, plural, segment), run, lane)
                run = []
            segment = folder
            run.append((name, record, tar_entry(path, data)))
        if run:
            added += self._add_run((group_dir, plural, segment), run, lane)
        return added

    def _add_run(self, key: tuple[str, str, str], run: list, lane: object) -> list[Packed]:
        with self._lock:
            segment = self._segments.get(key)
            if segment is None:
                sensitive = run[0][1].ref.kind == "Secret" and run[0][1].ref.group == ""
                segment = self._segments[key] = _Segment(key, sensitive)
            previous = self._lanes.get(lane)
            self._lanes[lane] = segment
            self._touched.setdefault(lane, set()).add(key)
        if previous is not None and previous is not segment:
            previous.close(self)
        return segment.add_run(run, self)

    def drop_lane(self, lane: object) -> None:
        """Forget the segments a restarted LIST had filled (it lists them again from the start)."""
        with self._lock:
            self._lanes.pop(lane, None)
            for key in self._touched.pop(lane, ()):
                self._segments.pop(key, None)

    def write_spool(self, data: bytes) -> tuple[int, int]:
        with self._spool_lock:
            self._spool.seek(self._spool_end)
            self._spool.write(data)
            offset, self._spool_end = self._spool_end, self._spool_end + len(data)
        return offset, len(data)

    def read_spool(self, offset: int, length: int) -> bytes:
        with self._spool_lock:
            self._spool.seek(offset)
            return self._spool.read(length)

    def finish(self) -> list[Packed]:
        """Close every segment; the records of every packed object, in archive order."""
        for segment in self._segments.values():
            segment.close(self)
        self.finished = True
        return [record for key in sorted(self._segments) for _, record, _ in self._segments[key].entries]

    @property
    def unpacked_size(self) -> int:
        return sum(record.size for s in self._segments.values() for _, record, _ in s.entries)

    def chunks(self) -> Iterator[bytes]:
        """The archive's bytes (after `finish`), a segment at a time."""
        assert self.finished
        yield GZIP_HEADER
        crc, size = 0, 0
        for key in sorted(self._segments):
            segment = self._segments[key]
            yield segment._compressed(self)
            crc = crc32_combine(crc, segment.crc, segment.raw_size)
            size += segment.raw_size
        tail = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
        yield tail.compress(END_OF_ARCHIVE) + tail.flush(zlib.Z_FINISH)
        crc = zlib.crc32(END_OF_ARCHIVE, crc)
        size += len(END_OF_ARCHIVE)
        yield crc.to_bytes(4, "little") + (size % 2**32).to_bytes(4, "little")

    def close(self) -> None:
        self._spool.close()


def sealed_chunks(packer: Packer, snapshot_id: str, key: bytes | None) -> Iterator[bytes]:
    """The bytes to store: the archive, encrypted when there is a key."""
    if key is None:
        yield from packer.chunks()
        return
    encryptor = crypto.Encryptor(key, snapshot_id)
    yield encryptor.header
    for chunk in packer.chunks():
        yield encryptor.update(chunk)
    yield encryptor.finalize()


class Digesting:
    """Passes chunks through, counting their bytes and hashing them (the archive's size and sha256)."""

    def __init__(self, chunks, unpacked_size: int):
        self._chunks = chunks
        self.unpacked_size = unpacked_size
        self.hash = hashlib.sha256()
        self.size = 0

    def __iter__(self):
        for chunk in self._chunks:
            self.hash.update(chunk)
            self.size += len(chunk)
            yield chunk

    def record(self, key: bytes | None) -> ArchiveRecord:
        encryption = Encryption(crypto.ALG, crypto.fingerprint(key), crypto.DIGEST_ALG) if key is not None else None
        return ArchiveRecord(self.size, self.hash.hexdigest(), self.unpacked_size, encryption)


def packed_from(objects: list[StoredObject], key: bytes | None) -> tuple[Packer, list[Packed]]:
    """A finished Packer holding `objects` (for captures made in memory: files, restore's safety snapshot)."""
    packer = Packer(key)
    for obj in sorted(objects, key=lambda o: (segment_of(o), o.ref.name)):
        packer.add(obj)
    return packer, packer.finish()
