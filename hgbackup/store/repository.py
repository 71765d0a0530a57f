"""The snapshots of a store: found, read, written and removed under the key names of layout.py.

The archive is written first and the manifest last: a manifest's presence means the snapshot is complete, so a
failed or half-done write is never listed.
With an encryption key the repository signs every manifest it writes and authenticates every manifest it reads
(crypto.py): an edited field, a snapshot copied under another id or cluster, or an unencrypted snapshot where a key
was given is refused (exit 4). Without a key nothing can be authenticated, and `Snapshot.verified` stays False.
Every lookup by cluster goes through layout.cluster_key and clusters.py.
"""

from __future__ import annotations

import dataclasses
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from .. import logs
from ..errors import EXIT_INTEGRITY, EXIT_OK, HgbackupError, IntegrityError, InvalidInput, NotFound, WrongKey
from ..kube.model import StoredObject
from ..memory import collector_paused
from . import archive, clusters, crypto, layout
from . import cache as index
from .layout import ID_PREFIX_RE, ID_RE, SnapshotKey
from .manifest import Auth, Manifest, Snapshot
from .protocol import Store

LATEST_RE = re.compile(r"^latest(?:~(\d+))?$")
MIN_PREFIX = 4  # the fewest characters of an id a prefix may give


@dataclass(frozen=True)
class Problem:
    """A snapshot that is listed (its manifest exists) but cannot be read; `error` says why. `claimed`: its manifest,
    when it parsed but failed authentication: unproven, but enough to tell that a snapshot claiming another cluster
    cannot be this cluster's newest (clusters.problems_of)."""

    key: SnapshotKey
    error: HgbackupError
    claimed: Snapshot | None = None


class Listing(NamedTuple):
    """The readable snapshots, newest first, and the ones that could not be read (exit 4 when there are any).
    `labels`: each cluster group's name as people see it, decided over the whole store (clusters.labels), so a name
    two identities share keeps its identity suffix in a listing narrowed to one of them."""

    snapshots: list[Snapshot]
    problems: list[Problem]
    labels: dict[str, str]

    @property
    def exit_code(self) -> int:
        return EXIT_INTEGRITY if self.problems else EXIT_OK


class Repository:
    def __init__(self, store: Store, keyring: crypto.Keyring | None = None, *, allow_partial: bool = False):
        self.store = store
        self.keyring = keyring or crypto.Keyring()
        self.allow_partial = allow_partial  # `latest` may be a partial snapshot (--allow-partial)

    @property
    def encryption_key(self) -> bytes | None:
        return self.keyring.key

    # -- finding snapshots -------------------------------------------------------------------------------------
    def snapshot_keys(self, names: list[str] | None = None) -> list[SnapshotKey]:
        """Complete snapshots (those with a manifest), newest first (`names`: the store's keys, when listed)."""
        found = [k for k in map(layout.manifest_of, self.store.list("") if names is None else names) if k is not None]
        return sorted(found, key=lambda k: (k.id, k.cluster), reverse=True)

    def snapshots(self, cluster: str | None = None, progress=None) -> Listing:
        """Every readable snapshot (of the one cluster `cluster` names, see clusters.choose), newest first, and a
        Problem for each manifest that could not be read."""
        # a remote store lists ETags and sizes: manifests cached in the store (cache.py) are used where they match
        listed = self.store.listing("")
        keys = self.snapshot_keys(list(listed) if listed is not None else None)
        cache_name = index.current(listed) if listed is not None else None
        cached = index.load(self.store, cache_name, listed) if listed is not None else {}
        fetched: dict[str, bytes] = {}

        def read(key: SnapshotKey):
            name = key.manifest_key
            try:
                data = cached.get(name)
                fetch = data is None
                if fetch:
                    data = self.store.get(name)
                snap = self._unauthenticated(key, data)
                if fetch:  # only bytes that parsed as a manifest are cached
                    fetched[name] = data
            except HgbackupError as exc:
                return Problem(key, exc)
            try:
                return dataclasses.replace(snap, verified=self._authenticate(snap))
            except HgbackupError as exc:
                return Problem(key, exc, snap)

        loaded = []
        workers = self.store.read_concurrency
        # manifests are many small tuples with no cycles: the cyclic collector would rescan them over and over;
        # cached manifests are only parsed, in this thread (threads would just contend for the GIL)
        remote = [k for k in keys if k.manifest_key not in cached]
        with collector_paused(), ThreadPoolExecutor(max_workers=workers) as pool:
            fetching = iter(pool.map(read, remote) if workers > 1 else map(read, remote))  # in `keys` order
            for key in keys:
                loaded.append(read(key) if key.manifest_key in cached else next(fetching))
                if progress and len(loaded) % 50 == 0:
                    progress(len(loaded), len(keys), "manifests")
        snapshots = [s for s in loaded if isinstance(s, Snapshot)]
        problems = [p for p in loaded if isinstance(p, Problem)]
        if listed is not None and len(fetched) >= index.MIN_MISSES:
            index.save(self.store, {**cached, **fetched}, listed)
        labels = clusters.labels(snapshots)
        if cluster:
            snapshots = clusters.choose(snapshots, cluster)
            problems = clusters.problems_of(problems, snapshots)
        return Listing(snapshots, problems, labels)

    def snapshot(self, key: SnapshotKey) -> Snapshot:
        return self._snapshot_from(key, self.store.get(key.manifest_key))

    def _snapshot_from(self, key: SnapshotKey, data: bytes) -> Snapshot:
        snap = self._unauthenticated(key, data)
        return dataclasses.replace(snap, verified=self._authenticate(snap))

    @staticmethod
    def _unauthenticated(key: SnapshotKey, data: bytes) -> Snapshot:
        manifest = Manifest.from_bytes(data, f"snapshot {key.id}")
        if manifest.id != key.id:
            raise IntegrityError(f"snapshot {key.id}: its manifest names another id ({manifest.id}): a copy?")
        return Snapshot(key, manifest)

    def _authenticate(self, snap: Snapshot) -> bool:
        """With a key: True, or IntegrityError. Without one: False (nothing can be checked)."""
        key = self.keyring.key
        if key is None:
            return False
        m = snap.manifest
        if m.auth is None or m.archive.encryption is None:
            if self.keyring.allow_unencrypted:
                return False
            missing = "not encrypted" if m.archive.encryption is None else "not authenticated"
            raise IntegrityError(f"snapshot {snap.id} is {missing}, though a key was given: refusing a snapshot "
                                 "anyone with write access to the store could have made (--allow-unencrypted reads "
                                 "it anyway)")
        expected = crypto.fingerprint(key)
        if m.auth.key_id != m.archive.encryption.key_id:
            raise IntegrityError(f"snapshot {snap.id}: its manifest names two keys ({m.auth.key_id:.40} signed it, "
                                 f"{m.archive.encryption.key_id:.40} encrypted it): edited")
        if m.auth.key_id != expected:
            raise WrongKey(f"snapshot {snap.id}: wrong encryption key {expected}, expected {m.auth.key_id}")
        if m.auth.alg != crypto.MAC_ALG or not crypto.same_digest(
                m.auth.mac, crypto.manifest_mac(key, m.signed_payload(snap.key.folder))):
            raise IntegrityError(f"snapshot {snap.id}: manifest failed authentication (edited, or copied from "
                                 "another snapshot id or cluster)")
        return True

    def resolve(self, name: str, cluster: str | None = None, *, identity: str | None = None,
                target: str = "the target cluster", listing: Listing | None = None) -> SnapshotKey:
        """An id, `latest` or `latest~N`. `latest` is never a guess across clusters: the newest of `cluster` when
        given (a name or an identity prefix), else of the cluster a command talks to (`identity`, named `target`),
        else of the store only when the store holds one cluster. It counts complete snapshots only (a partial one
        is skipped, and a warning says so) unless the repository allows partial ones. `listing`: the store's
        `snapshots()` when the caller already read them (each manifest is read and authenticated once)."""
        latest = LATEST_RE.match(name)
        if not latest:
            if not ID_RE.match(name) and not (ID_PREFIX_RE.match(name) and len(name) >= MIN_PREFIX):
                short = f" (a prefix needs at least {MIN_PREFIX} characters)" if ID_PREFIX_RE.match(name) else ""
                raise InvalidInput(f"{name!r} is not a snapshot id (YYYYMMDDTHHMMSSZ-xxxxxxxxxxxx), a unique prefix "
                                   f"of one{short} such as 20261121 or 20261121T02, 'latest' or 'latest~N'")
            keys = self.snapshot_keys()
            matches = [k for k in keys if k.id == name]
            if not matches:  # a unique prefix, as restic and git take them
                matches = [k for k in keys if k.id.startswith(name)]
                if len({k.id for k in matches}) > 1:
                    listed = ", ".join(sorted({k.id for k in matches})[:10])
                    raise InvalidInput(f"{name!r} is the start of {len({k.id for k in matches})} snapshot ids: "
                                       f"{listed}; give more of one")
            if not matches:
                raise NotFound(f"snapshot {name} not found in store {self.store.url}")
            if len(matches) > 1:
                raise IntegrityError(f"snapshot id {name} is stored under several clusters "
                                     f"({', '.join(k.cluster for k in matches)}): a copy?")
            return matches[0]
        snapshots, problems, _ = listing if listing is not None else self.snapshots()
        if cluster:
            mine = clusters.choose(snapshots, cluster)
        elif identity is not None:
            mine = clusters.of_identity(snapshots, identity, target)
        else:
            mine = clusters.only_one(snapshots) if snapshots else []
        n = int(latest.group(1) or 0)
        eligible = mine if self.allow_partial else [s for s in mine if not s.manifest.partial]
        if n >= len(eligible):
            where = f"cluster {cluster!r}" if cluster else f"store {self.store.url}"
            partial = len(mine) - len(eligible)
            raise NotFound(f"{name}: only {len(eligible)} complete snapshot(s) in {where}"
                           + (f" ({partial} partial one(s) skipped; --allow-partial counts them)" if partial else ""))
        chosen = eligible[n]
        newer_broken = [p for p in clusters.problems_of(problems, mine) if p.key.id > chosen.id
                        and (self.allow_partial or p.claimed is None or not p.claimed.manifest.partial)]
        skipped = [s for s in mine if s.manifest.partial and s.id > chosen.id and s not in eligible]
        if skipped:
            logs.warning(f"{name} is {chosen.id}, the newest complete snapshot: skipped {len(skipped)} newer partial "
                         f"snapshot(s) ({', '.join(s.id for s in skipped[:3])}); --allow-partial takes them")
        if newer_broken:
            raise IntegrityError(f"{name} would skip {newer_broken[0].key.id}, which cannot be read "
                                 f"({newer_broken[0].error}); give a snapshot id")
        return chosen.key

    # -- reading and writing -------------------------------------------------------------------------------------
    def save(self, key: SnapshotKey, stream, make_manifest) -> Snapshot:
        """Archive first, streamed from `stream` (a packer.Digesting: it counts and hashes what passes), then the
        manifest `make_manifest(archive record)` returns, signed when there is a key. If anything fails after the
        archive was written, it is removed again."""
        encrypted = self.keyring.key is not None
        if any(self.store.exists(k) for k in (key.manifest_key, key.archive_key(False),
                                              key.archive_key(True))):
            raise FileExistsError(key.id)
        archive_key = key.archive_key(encrypted)
        self.store.put_stream(archive_key, iter(stream))
        try:
            manifest = make_manifest(stream.record(self.keyring.key))
            snap = Snapshot(key, manifest)
            if self.keyring.key is not None:
                mac = crypto.manifest_mac(self.keyring.key, manifest.signed_payload(snap.key.folder))
                manifest = dataclasses.replace(manifest, auth=Auth(crypto.MAC_ALG,
                                                                   crypto.fingerprint(self.keyring.key), mac))
            # never a snapshot that cannot be read back: nothing the reader would refuse (archive.check_readable, in
            # make_manifest), and what the store holds is compared before the manifest makes the snapshot visible
            if self.store.digest(archive_key) != (manifest.archive.size, manifest.archive.sha256):
                raise IntegrityError(f"snapshot {key.id}: the store did not keep the archive as written")
            self.store.put_stream(key.manifest_key, manifest.chunks())
        except BaseException:
            try:
                self.store.delete(archive_key)
            except HgbackupError:
                pass
            raise
        return Snapshot(key, manifest, verified=self.keyring.key is not None)

    def load(self, key: SnapshotKey) -> tuple[Snapshot, list[StoredObject]]:
        """A snapshot and every one of its objects, all checksums verified."""
        snap = self.snapshot(key)
        encrypted = snap.manifest.encrypted
        try:
            data = self.store.get(key.archive_key(encrypted))
        except NotFound:
            if self.store.exists(key.archive_key(not encrypted)):
                raise IntegrityError(f"snapshot {key.id}: its manifest says the archive is "
                                     f"{'encrypted' if encrypted else 'not encrypted'}, but the store holds the "
                                     "other kind (an edited manifest?)") from None
            raise
        return snap, archive.open_archive(data, snap.manifest, self.keyring.key)

    def remove_leftovers(self, before: datetime) -> list[str]:
        """Remove what killed writes left behind before `before`: temporary files, unfinished multipart uploads,
        and archives whose manifest was never written (they may hold plaintext Secrets nobody can list)."""
        removed = []
        for name in self.store.leftovers(before):
            self.store.drop_leftover(name)
            removed.append(name)
        modified = self.store.modified("")
        found = {name: layout.parse(name) for name in modified}
        with_manifest = {f[0] for f in found.values() if f is not None and f[1] == layout.MANIFEST}
        for name, when in sorted(modified.items()):
            folder = found[name]
            if (folder is not None and layout.is_archive(folder[1]) and folder[0] not in with_manifest
                    and when < before):
                self.store.delete(name)
                removed.append(name)
        return removed

    def delete(self, key: SnapshotKey) -> None:
        """Manifest first, so a half-removed snapshot is never listed as complete."""
        self.store.delete(key.manifest_key)
        for encrypted in (False, True):
            self.store.delete(key.archive_key(encrypted))
