"""The one exception family of hgbackup. Each error carries the process exit code the CLI returns for it.

Exit codes (documented in `hgbackup --help`):
  0 ok; 1 differences found / manual migration work left (--strict); 2 usage or invalid input;
  3 partial failure; 4 integrity failure; 5 not found; 6 cannot reach or not allowed; 70 internal error.
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
