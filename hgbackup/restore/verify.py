"""`verify`: re-read archives and check every checksum, reporting each snapshot on its own."""

from __future__ import annotations

from dataclasses import dataclass

from ..capture import confine
from ..errors import EXIT_INTEGRITY, EXIT_OK, IntegrityError, NotFound
from ..store.layout import SnapshotKey
from ..store.repository import Repository


@dataclass(frozen=True)
class Verified:
    key: SnapshotKey
    objects: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_json(self) -> dict:
        return {"id": self.key.id, "cluster": self.key.cluster, "ok": self.ok, "objects": self.objects,
                "error": self.error}


@dataclass
class VerifyReport:
    results: list[Verified]

    @property
    def exit_code(self) -> int:
        return EXIT_OK if all(r.ok for r in self.results) else EXIT_INTEGRITY

    def as_json(self) -> list[dict]:
        return [r.as_json() for r in self.results]


def verify(repo: Repository, keys: list[SnapshotKey], progress=None) -> VerifyReport:
    """Each snapshot is checked on its own: a damaged, unreadable or half-removed one (its archive gone), or one that
    holds what a restore would refuse (confine.py), is reported and the rest are still checked. A store that cannot
    be reached at all stops the run (exit 6)."""
    results = []
    for done, key in enumerate(keys, 1):
        if progress:
            progress(done, len(keys), key.id)
        try:
            snap, objects = repo.load(key)
            confine.check(objects, snap.manifest.scope, snap.id)
            results.append(Verified(key, len(objects)))
        except (IntegrityError, NotFound) as exc:
            results.append(Verified(key, error=str(exc)))
    return VerifyReport(results)
