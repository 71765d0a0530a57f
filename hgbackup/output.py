"""Output helpers for the CLI: JSON/YAML documents, plain tables, sizes, progress lines. No Click here."""

from __future__ import annotations

import json
import os
import sys

import orjson
import yaml

try:
    _BaseDumper = yaml.CSafeDumper
except AttributeError:  # PyYAML without libyaml
    _BaseDumper = yaml.SafeDumper


class ReadableDumper(_BaseDumper):
    """YAML that people read: multi-line strings as literal blocks (`|`, as written in a ConfigMap by hand, never
    an escaped one-liner or blank-line folding), and no anchors or aliases (each object written out in full)."""

    def ignore_aliases(self, data):
        return True


def _represent_str(dumper, value: str):
    if "\n" in value:
        # the emitter falls back to a quoted form by itself when a block cannot hold the text (trailing spaces)
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


ReadableDumper.add_representer(str, _represent_str)
SafeDumper = ReadableDumper


def document(data, fmt: str) -> str:
    if fmt == "yaml":
        return yaml.dump(data, Dumper=SafeDumper, sort_keys=False, default_flow_style=False, allow_unicode=True)
    try:  # what json.dumps(indent=2, ensure_ascii=False) writes, many times faster (a 10,000-object restore report)
        return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode("utf-8")
    except TypeError:  # integers beyond 64 bits, types orjson does not know
        return json.dumps(data, indent=2, ensure_ascii=False)


def table(headers: list[str], rows: list[list]) -> str:
    cells = [[str(c) for c in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells)


def size(n: int | None) -> str:
    if n is None:
        return "-"
    if n < 1024:
        return f"{n} B"
    value = n / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def colour_enabled(mode: str = "auto", stream=None) -> bool:
    """--color always|never|auto; auto: a terminal, and NO_COLOR not set (no-color.org)."""
    if mode != "auto":
        return mode == "always"
    stream = stream or sys.stdout
    return stream.isatty() and not os.environ.get("NO_COLOR")


class ProgressLine:
    """A single, rewritten status line on stderr, shown only on a terminal."""

    def __init__(self, label: str, stream=None):
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.shown = False

    def __call__(self, done: int, total: int, what: str = "") -> None:
        if not self.enabled:
            return
        self.stream.write(f"\r\033[K{self.label} {done}/{total} {what}")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


def yaml_text(obj: dict) -> str:
    return yaml.dump(obj, Dumper=SafeDumper, sort_keys=False, default_flow_style=False, allow_unicode=True)
