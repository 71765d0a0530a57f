"""The one exception family of hgbackup. Each error carries the process exit code the CLI returns for it.

The exit codes and what each means are the table EXIT_CODES, which `hgbackup --help` prints.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_DIFFERENT = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_INTEGRITY = 4
EXIT_NOT_FOUND = 5
EXIT_UNREACHABLE = 6
EXIT_INTERNAL = 70
EXIT_CODES = {
    EXIT_OK: "ok",
    EXIT_DIFFERENT: "differences found / manual migration work left (--strict)",
    EXIT_USAGE: "usage or invalid input",
    EXIT_PARTIAL: "partial failure",
    EXIT_INTEGRITY: "integrity failure (checksum, decryption, unknown format)",
    EXIT_NOT_FOUND: "not found",
    EXIT_UNREACHABLE: "cannot reach or not allowed (cluster or store)",
    EXIT_INTERNAL: "internal error",
}


class HgbackupError(Exception):
    """Base of every error hgbackup reports to the user as one line."""

    exit_code = EXIT_INTERNAL


class InvalidInput(HgbackupError):
    """Bad arguments, an unreadable or invalid manifest file, a malformed schedule."""

    exit_code = EXIT_USAGE


class NothingToDo(HgbackupError):
    """What was asked could not be done in full, and nothing was written (an empty scope)."""

    exit_code = EXIT_PARTIAL


class IntegrityError(HgbackupError):
    """Checksum mismatch, truncated or hostile archive, wrong key, unknown format version."""

    exit_code = EXIT_INTEGRITY


class WrongKey(IntegrityError):
    """A snapshot encrypted and signed with another key than the one given (its manifest names that key)."""


class NotFound(HgbackupError):
    exit_code = EXIT_NOT_FOUND


class Unreachable(HgbackupError):
    """The cluster or the store cannot be reached, or refused us."""

    exit_code = EXIT_UNREACHABLE


class AccessDenied(Unreachable):
    pass


class Incomplete(HgbackupError):
    """A read that had to be complete (the live side of a diff) was not; the exit code is its cause's."""

    def __init__(self, message: str, exit_code: int = EXIT_UNREACHABLE):
        super().__init__(message)
        self.exit_code = exit_code
