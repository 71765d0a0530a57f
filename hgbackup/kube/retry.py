"""How an API request waits before it tries again: exponential backoff with jitter, a server's Retry-After (seconds
or an HTTP date), all inside one deadline (client.py sets it: RETRY_WINDOW times the request timeout)."""

from __future__ import annotations

import random
import time


class Deadline:
    """The end of the time a request may take with its retries."""

    def __init__(self, window: float):
        self.window = window
        self.end = time.monotonic() + window

    def left(self) -> float:
        return self.end - time.monotonic()


def backoff(attempt: int) -> float:
    """Exponential backoff with jitter: about 0.2 s, 0.4 s, 0.8 s ... at most 12 s."""
    return min(8.0, 0.2 * 2 ** (attempt - 1)) * (0.5 + random.random())


def retry_after(value: str | None) -> float | None:
    """A Retry-After header in seconds: delay-seconds or an HTTP date (RFC 9110 section 10.2.3); None when absent
    or not either."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime  # rare: not imported at every start

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def sleep(seconds: float) -> None:
    if seconds > 0:
        time.sleep(seconds)


def short(exc: Exception) -> str:
    """A connection error in one line."""
    text = str(getattr(exc, "reason", None) or exc)
    return text.splitlines()[0][:200] if text else exc.__class__.__name__
