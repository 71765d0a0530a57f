"""What one capture found, in the one shape its caller can use.

A capture's objects are held either in memory (`InMemoryCapture.objects`: diff and restore compare them) or packed
into an archive as they arrived (`PackedCapture.records`: a snapshot, whose memory grows with the manifest, not
with the objects). The two are different types, so a caller that needs the objects cannot be handed a packed
capture and read an empty list: `capture_live` returns the first, `capture_packed` the second (live.py). Both say
the same about what they found (`Capture`), and both can be written as a snapshot (`packed`, snapshot.write).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field

from ..errors import EXIT_UNREACHABLE, HgbackupError, Incomplete
from ..kube.model import Ref, StoredObject
from ..kube.stored import had_owner_references
from ..store.coverage import Coverage
from ..store.manifest import ClusterInfo
from .packer import Packed, Packer, packed_from


@dataclass(kw_only=True)
class Capture(ABC):
    """What a capture found, whatever holds its objects: what the manifest needs to say about it."""

    cluster: ClusterInfo
    not_served: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # make the snapshot partial (exit 3)
    notes: list[str] = field(default_factory=list)  # worth knowing, not a failure
    owner_refs: list[str] = field(default_factory=list)
    first_error: HgbackupError | None = None  # the exception behind errors[0], for callers that cannot go on
    left_out: int = 0  # objects the rules would take but hgbackup never restores (named in a note)
    coverage: Coverage | None = None  # what was listed completely (None: nothing known)
    identity_error: HgbackupError | None = None  # a live capture whose cluster identity could not be read

    @property
    def partial(self) -> bool:
        return bool(self.errors)

    @property
    @abstractmethod
    def refs(self) -> list[Ref]:
        """Every object captured, by reference."""

    @abstractmethod
    def packed(self, key: bytes | None) -> AbstractContextManager[tuple[Packer, list[Packed]]]:
        """A finished Packer holding the objects for `key`, and its records (for writing them as a snapshot)."""

    @abstractmethod
    def close(self) -> None:
        """Release what holds the objects (a packed capture's spool)."""

    def require_complete(self, what: str) -> None:
        """For readers that must see everything (the live side of a diff): a partial capture is an error."""
        if self.errors:
            raise Incomplete(f"{what} is incomplete: {self.errors[0]}"
                             + (f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""),
                             self.first_error.exit_code if self.first_error else EXIT_UNREACHABLE)


@dataclass(kw_only=True)
class InMemoryCapture(Capture):
    """Every object captured, in stored form."""

    objects: list[StoredObject]
    # every object each complete LIST returned, before selection, by (kind key, namespace or None for all
    # namespaces), when asked for (capture_live keep_listed): a restore plans against these instead of listing the
    # same collections again
    listed: dict[tuple[str, str | None], list[dict]] = field(default_factory=dict)

    @classmethod
    def of(cls, chosen: list[dict], **found) -> InMemoryCapture:
        """The capture of the selected objects `chosen` (live objects or documents)."""
        objects = [StoredObject.from_object(o) for o in chosen]
        owner_refs = [str(s.ref) for o, s in zip(chosen, objects) if had_owner_references(o)]
        return cls(objects=objects, owner_refs=owner_refs, **found)

    @property
    def refs(self) -> list[Ref]:
        return [o.ref for o in self.objects]

    def close(self) -> None:
        """Nothing to release: the objects are ordinary memory."""

    @contextmanager
    def packed(self, key: bytes | None) -> Iterator[tuple[Packer, list[Packed]]]:
        packer, records = packed_from(self.objects, key)
        try:
            yield packer, records
        finally:
            packer.close()


@dataclass(kw_only=True)
class PackedCapture(Capture):
    """The objects packed as they arrived: only their records are held (the bytes are in the packer)."""

    packer: Packer
    records: list[Packed]

    @property
    def refs(self) -> list[Ref]:
        return [r.ref for r in self.records]

    @contextmanager
    def packed(self, key: bytes | None) -> Iterator[tuple[Packer, list[Packed]]]:
        if self.packer.key != key:
            raise HgbackupError("internal error: the capture was packed for another encryption key")
        yield self.packer, self.records

    def close(self) -> None:
        self.packer.close()
