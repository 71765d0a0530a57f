"""A cache of a remote store's manifests, kept in the store, so that `list`, `forget` and `latest` read one object
instead of thousands (an S3 GET costs milliseconds of CPU in boto3: 5,000 manifests took 20 s to read one by one).

The manifests remain the truth. Every reader lists the store first; a cached manifest is used only when the LIST
shows a manifest under that key whose ETag is the MD5 of the cached bytes (what S3 and MinIO give a single PUT).
So a snapshot deleted since is not seen, one rewritten is read again, and a cache entry made up by someone with
write access to the bucket is ignored (and with a key, every manifest is still authenticated after it is read).
Cache files are immutable and named by their content's hash; writers that race each write their own, readers take
the newest, and a cache file deleted under a reader only makes that reader fetch the manifests themselves.

A cache file is untrusted input like everything else in the store, and only an aid: one that is larger than a cache
of the listed manifests could be, compressed or inflated, does not inflate, or does not parse, is ignored with one
warning, and the listing reads the manifests instead. The bound comes from the listing itself (`limit`): a cache
holds only manifests the LIST shows, each as a JSON string (at most twice its listed size, every `"` escaped) under
its key, so it is read with a GET of at most that many bytes and inflated a piece at a time up to it. A gzip bomb
costs what the real manifests would, never more (and never more than MAX_BYTES). A name dated in the future (which
no writer's clock gives) is never taken for the newest.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import zlib
from datetime import datetime, timedelta, timezone

import orjson

from .. import logs
from ..errors import HgbackupError
from . import layout
from .protocol import Listed, Store

FORMAT = "hgbackup-index/v1"
MD5 = re.compile(r"^[0-9a-f]{32}$")
MIN_MISSES = 16  # fewer manifests missing from the cache are read one by one and the cache left as it is
MAX_BYTES = 256 * 2**20  # the most a cache document may hold, inflated (and so compressed): larger is not written
ENTRY_OVERHEAD = 64  # JSON around one entry beyond its key and text: quotes, colon, comma
SLACK = 1.25  # a cache written a little earlier may still hold manifests removed since (retention)
BASE_BYTES = 2**20  # the document's frame, and room for a store of a few small manifests
CLOCK_SKEW = timedelta(days=1)  # a cache name dated later than this after now was not written by a real clock
INFLATE_STEP = 4 * 2**20
_warned: set[tuple[str, str]] = set()  # (store, cache name) warned about in this process: one warning each


class Unusable(Exception):
    """A cache file that is not one: too large, not gzip, not the cache format."""


def current(listed: dict[str, Listed]) -> str | None:
    """The newest cache file the listing shows (names start with their UTC write time), never one dated in the
    future."""
    names = [k for k in listed if layout.is_cache(k) and not _future(k)]
    return max(names) if names else None


def limit(listed: dict[str, Listed]) -> int:
    """The most bytes a cache of the listed manifests can take, compressed or inflated."""
    manifests = [(key, item.size) for key, item in listed.items() if layout.manifest_of(key) is not None]
    need = sum(2 * size + len(key) + ENTRY_OVERHEAD for key, size in manifests)
    return min(MAX_BYTES, int(need * SLACK) + BASE_BYTES)


def load(store: Store, name: str | None, listed: dict[str, Listed]) -> dict[str, bytes]:
    """Cached manifests whose bytes match the ETag the listing shows for their key; {} when the cache cannot be
    used (one warning naming why)."""
    for future in (k for k in listed if layout.is_cache(k) and _future(k)):
        _warn_once(store, future, "not dated by a real clock: in the future")
    if name is None:
        return {}
    try:
        entries = parse(read(store, name, limit(listed)), limit(listed))
    except HgbackupError as exc:  # gone since the listing, or the store refused: fetch the manifests instead
        logs.debug("manifest cache not used", name=name, cause=str(exc)[:200])
        return {}
    except Unusable as exc:
        _warn_once(store, name, str(exc))
        return {}
    found = {}
    for key, text in entries.items():
        item = listed.get(key)
        etag = item.etag if item is not None else None
        if not isinstance(text, str) or etag is None or not MD5.match(etag):
            continue
        data = text.encode("utf-8")
        if hashlib.md5(data, usedforsecurity=False).hexdigest() == etag:
            found[key] = data
    return found


def read(store: Store, name: str, most: int = MAX_BYTES) -> bytes:
    """A cache file's compressed bytes: at most `most` are fetched (a larger file is Unusable)."""
    data = store.get_at_most(name, most)
    if len(data) > most:
        raise Unusable(f"larger than a cache of the listed manifests can be ({most} bytes)")
    return data


def parse(data: bytes, most: int = MAX_BYTES) -> dict:
    """The entries of a cache document, inflated a piece at a time up to `most` bytes."""
    inflater = zlib.decompressobj(wbits=31)  # gzip, one member: what `save` writes
    out, pending = bytearray(), data
    try:
        while pending and not inflater.eof:
            out += inflater.decompress(pending, min(INFLATE_STEP, most + 1 - len(out)))
            if len(out) > most:
                raise Unusable(f"inflates beyond what a cache of the listed manifests can hold ({most} bytes)")
            pending = inflater.unconsumed_tail
    except zlib.error:
        raise Unusable("not a gzip file") from None
    if not inflater.eof or inflater.unused_data:
        raise Unusable("not one complete gzip stream")
    try:
        doc = orjson.loads(out)
    except orjson.JSONDecodeError:
        raise Unusable("not JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("entries"), dict):
        raise Unusable(f"not a {FORMAT} document")
    return doc["entries"]


def save(store: Store, manifests: dict[str, bytes], listed: dict[str, Listed]) -> None:
    """Write a cache of `manifests` (those whose ETag is their MD5) and remove the other caches the listing shows
    (this one holds every manifest they could: older ones, and ones that could not be used).
    Failures (a store that refuses writes to this user, say) leave the store as it was: the cache is only an aid."""
    etags = {k: item.etag for k, item in listed.items()}
    entries = {k: text for k, v in manifests.items()
               if MD5.match(etags.get(k, "")) and hashlib.md5(v, usedforsecurity=False).hexdigest() == etags[k]
               for text in [_text(v)] if text is not None}
    document = orjson.dumps({"format": FORMAT, "entries": entries}, option=orjson.OPT_SORT_KEYS)
    if len(document) > MAX_BYTES:
        return
    data = gzip.compress(document, compresslevel=6, mtime=0)
    name = layout.cache_key(datetime.now(timezone.utc), hashlib.sha256(data).hexdigest())
    try:
        store.put(name, data, overwrite=False)
        for other in (k for k in etags if layout.is_cache(k) and k != name):
            store.delete(other)
    except (HgbackupError, FileExistsError) as exc:
        logs.debug("manifest cache not written", name=name, cause=str(exc)[:200])


def _text(data: bytes) -> str | None:
    """A manifest's bytes as the cache holds them (a JSON string), or None for bytes that are not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _future(name: str) -> bool:
    """Dated after now (plus CLOCK_SKEW), or not a date at all: not the write time of a real writer."""
    written = layout.cache_written(name)
    return written is None or written > datetime.now(timezone.utc) + CLOCK_SKEW


def _warn_once(store: Store, name: str, why: str) -> None:
    if (store.url, name) not in _warned:
        _warned.add((store.url, name))
        logs.warning(f"manifest cache {name} ignored ({why}): the manifests are read instead", cache=name)
