"""Log lines on stderr: text for people (the default) or JSON for Loki (`--log-format json`, one object per line).

Every line is an event with a message and fields (snapshot id, cluster, counts, duration, exit code). Fields are
hgbackup's own values, never object content: no Secret value reaches a log line (tests/test_redaction.py runs every
command with `--log-format json -v` and looks for them). Reports still go to stdout; logs never do.

Text: warnings and errors always (`hgbackup: warning: ...`), info and debug with `-v`. JSON: info and up, debug with
`-v`; errors included, with their exit code.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime, timezone

LOGGER = logging.getLogger("hgbackup")
FORMATS = ("text", "json")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def one_line(text: str) -> str:
    """Errors are one line: control characters from names and server messages are shown escaped."""
    return CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class _StderrHandler(logging.Handler):
    """Writes to whatever sys.stderr is when the line is logged (a test runner may swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
        except Exception:  # noqa: BLE001 - logging must never end a backup
            self.handleError(record)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")
               .replace("+00:00", "Z"),
               "level": record.levelname.lower(), "message": one_line(record.getMessage())}
        for key, value in (getattr(record, "fields", None) or {}).items():
            doc.setdefault(key, value)
        return json.dumps(doc, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    PREFIX = {logging.WARNING: "warning: ", logging.ERROR: "error: ", logging.DEBUG: "debug: ",
              logging.CRITICAL: "internal error: "}

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None) or {}
        shown = "" if record.levelno >= logging.WARNING else "".join(
            f" {key}={_text_value(value)}" for key, value in fields.items() if value is not None)
        return f"hgbackup: {self.PREFIX.get(record.levelno, '')}{one_line(record.getMessage())}{shown}"


def _text_value(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, separators=(",", ":"))
    return one_line(text)


def configure(fmt: str = "text", verbose: int = 0) -> None:
    """Set the format and level of hgbackup's log lines (called once, by the command line)."""
    if fmt not in FORMATS:
        raise ValueError(fmt)
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    LOGGER.handlers[:] = [handler]
    LOGGER.propagate = False
    LOGGER.setLevel(logging.DEBUG if verbose else logging.INFO if fmt == "json" else logging.WARNING)
    configure.format, configure.verbose = fmt, verbose


configure.format, configure.verbose = "text", 0


def reconfigure(fmt: str | None = None, more_verbose: int = 0) -> None:
    """Change the format and/or add verbosity, keeping what was set before (the global options may be given before
    the command and again after it, as kubectl's are)."""
    configure(fmt or configure.format, configure.verbose + more_verbose)


def json_lines() -> bool:
    return configure.format == "json"


def _log(level: int, message: str, fields: dict) -> None:
    LOGGER.log(level, message, extra={"fields": fields})


def debug(message: str, **fields) -> None:
    _log(logging.DEBUG, message, fields)


def info(message: str, **fields) -> None:
    _log(logging.INFO, message, fields)


def warning(message: str, **fields) -> None:
    _log(logging.WARNING, message, fields)


def error(message: str, **fields) -> None:
    _log(logging.ERROR, message, fields)


def internal(message: str, **fields) -> None:
    _log(logging.CRITICAL, message, fields)


if not LOGGER.handlers:  # library use without the command line: warnings and errors as text
    configure()
