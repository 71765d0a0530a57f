"""A cache of a remote store's manifests, kept in the store, so that `list`, `forget` and `latest` read one object
instead of thousands (an S3 GET costs milliseconds of CPU in boto3: 5,000 manifests took 20 s to read one by one).

The manifests remain the truth. Every reader lists the store first; a cached manifest is used only when the LIST
shows a manifest under that key whose ETag is the MD5 of the cached bytes (what S3 and MinIO give a single PUT).
So a snapshot deleted since is not seen, one rewritten is read again, and a cache entry made up by someone with
write access to the bucket is ignored (and with a key, every manifest is still authenticated after it is read).
Cache files are immutable and named by their content's hash; writers that race each write their own, readers take
the newest, and a cache file deleted under a reader only makes that reader fetch the manifests themselves.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from datetime import datetime, timezone

import orjson

from . import logs
from .errors import HgbackupError

PREFIX = "_index/"
NAME = re.compile(r"^_index/manifests-\d{8}T\d{6}Z-[0-9a-f]{16}\.json\.gz$")
FORMAT = "hgbackup-index/v1"
MD5 = re.compile(r"^[0-9a-f]{32}$")
MIN_MISSES = 16  # fewer manifests missing from the cache are read one by one and the cache left as it is
MAX_BYTES = 256 * 2**20  # a cache that would hold more manifest bytes than this is not written


def current(etags: dict[str, str]) -> str | None:
    """The newest cache file the listing shows (names start with their UTC write time)."""
    names = [k for k in etags if NAME.match(k)]
    return max(names) if names else None


def load(store, name: str | None, etags: dict[str, str]) -> dict[str, bytes]:
    """Cached manifests whose bytes match the ETag the listing shows for their key."""
    if name is None:
        return {}
    try:
        doc = orjson.loads(gzip.decompress(store.get(name)))
        entries = doc["entries"] if isinstance(doc, dict) and doc.get("format") == FORMAT else {}
    except (HgbackupError, OSError, EOFError, ValueError, KeyError, TypeError) as exc:
        logs.debug("manifest cache not used", name=name, cause=str(exc)[:200])
        return {}
    found = {}
    for key, text in entries.items() if isinstance(entries, dict) else ():
        etag = etags.get(key)
        if not isinstance(text, str) or etag is None or not MD5.match(etag):
            continue
        data = text.encode("utf-8")
        if hashlib.md5(data, usedforsecurity=False).hexdigest() == etag:
            found[key] = data
    return found


def save(store, manifests: dict[str, bytes], etags: dict[str, str]) -> None:
    """Write a cache of `manifests` (those whose ETag is their MD5) and remove the older ones the listing shows.
    Failures (a store that refuses writes to this user, say) leave the store as it was: the cache is only an aid."""
    entries = {k: v.decode("utf-8") for k, v in manifests.items()
               if MD5.match(etags.get(k, "")) and hashlib.md5(v, usedforsecurity=False).hexdigest() == etags[k]}
    if sum(len(v) for v in entries.values()) > MAX_BYTES:
        return
    data = gzip.compress(orjson.dumps({"format": FORMAT, "entries": entries}, option=orjson.OPT_SORT_KEYS),
                         compresslevel=6, mtime=0)
    name = f"{PREFIX}manifests-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{hashlib.sha256(data).hexdigest()[:16]}" \
           ".json.gz"
    try:
        store.put(name, data, overwrite=False)
        for older in (k for k in etags if NAME.match(k) and k < name):
            store.delete(older)
    except (HgbackupError, FileExistsError) as exc:
        logs.debug("manifest cache not written", name=name, cause=str(exc)[:200])
