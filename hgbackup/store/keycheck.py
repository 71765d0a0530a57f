"""`key fingerprint FILE --store`: which snapshots of a store a key opens, said only after checking.

A manifest is said to open with the key only when its MAC verifies with that key (the rule is the repository's own
authentication, read here, not re-implemented): a manifest relabelled with this key's fingerprint, an edited one,
or one that does not parse is reported as unreadable (exit 4), never counted as opened. A snapshot encrypted with
another key cannot be checked with this one; it is listed as needing another key (exit 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import EXIT_DIFFERENT, EXIT_INTEGRITY, EXIT_OK, WrongKey
from . import crypto
from .protocol import Store
from .repository import Repository


@dataclass
class KeyCheck:
    """What a key does for a store's snapshots; without a store, only the fingerprint."""

    fingerprint: str
    opens: list[str] = field(default_factory=list)  # authenticated with this key
    other: list[str] = field(default_factory=list)  # encrypted and signed with another key
    plaintext: list[str] = field(default_factory=list)  # not encrypted and authenticated: no key opens them
    unreadable: list[dict] = field(default_factory=list)  # {"id", "cluster", "error"}

    @property
    def exit_code(self) -> int:
        return EXIT_INTEGRITY if self.unreadable else EXIT_DIFFERENT if self.other else EXIT_OK

    def as_json(self) -> dict:
        return {"fingerprint": self.fingerprint, "opens": self.opens, "other_key": self.other,
                "unencrypted": self.plaintext, "unreadable": self.unreadable}

    def text(self) -> str:
        lines = [self.fingerprint]
        if self.opens or self.other or self.plaintext or self.unreadable:
            lines.append(f"opens {len(self.opens)} snapshot(s) (manifest authenticated with this key); "
                         f"{len(self.other)} need another key; {len(self.plaintext)} are not encrypted; "
                         f"{len(self.unreadable)} cannot be read")
        lines += [f"  cannot read {u['id']}: {u['error']}" for u in self.unreadable]
        return "\n".join(lines)


def check(store: Store | None, key: bytes) -> KeyCheck:
    """The key's fingerprint and, with a store, every snapshot's manifest authenticated with the key."""
    report = KeyCheck(crypto.fingerprint(key))
    if store is None:
        return report
    # allow_unencrypted: a plaintext snapshot is listed as such instead of being refused as possibly forged
    listing = Repository(store, crypto.Keyring(key, allow_unencrypted=True)).snapshots()
    for snap in listing.snapshots:
        (report.opens if snap.verified else report.plaintext).append(snap.id)
    for problem in listing.problems:
        if isinstance(problem.error, WrongKey):
            report.other.append(problem.key.id)
        else:
            report.unreadable.append({"id": problem.key.id, "cluster": problem.key.cluster,
                                      "error": str(problem.error)})
    return report
