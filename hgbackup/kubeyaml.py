"""Read Kubernetes objects from YAML or JSON files: a file, a folder (recursively), or `-` for stdin.

Multi-document YAML, `kind: List` (what `kubectl get -o yaml` writes) and JSON are all accepted. Invalid input is an
InvalidInput error naming the file and line.
"""

from __future__ import annotations

import os
import sys

import yaml

from .errors import InvalidInput, NotFound

try:
    SafeLoader = yaml.CSafeLoader
except AttributeError:  # PyYAML without libyaml
    SafeLoader = yaml.SafeLoader

SUFFIXES = (".yaml", ".yml", ".json")


def files_in(paths: list[str]) -> list[str]:
    found = []
    for path in paths:
        if path == "-":
            found.append(path)
        elif os.path.isdir(path):
            for folder, dirs, files in os.walk(path):
                dirs.sort()
                found.extend(os.path.join(folder, f) for f in sorted(files) if f.endswith(SUFFIXES))
        elif os.path.exists(path):
            found.append(path)
        else:
            raise NotFound(f"{path}: no such file or folder")
    return found


def load_text(text: str, source: str) -> list[dict]:
    """Every Kubernetes object in a YAML/JSON text; `List` items are unpacked."""
    objects: list[dict] = []
    try:
        for doc in yaml.load_all(text, Loader=SafeLoader):
            if doc is None:
                continue
            if not isinstance(doc, dict):
                raise InvalidInput(f"{source}: a document is a {type(doc).__name__}, not a Kubernetes object")
            objects.extend(_unpack(doc, source))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidInput(f"{where}: invalid YAML: {problem}") from None
    return objects


def _unpack(doc: dict, source: str) -> list[dict]:
    if doc.get("kind", "").endswith("List") and isinstance(doc.get("items"), list):
        out = []
        for item in doc["items"]:
            out.extend(_unpack(item, source) if isinstance(item, dict) else [])
        return out
    if not doc.get("apiVersion") or not doc.get("kind") or not (doc.get("metadata") or {}).get("name"):
        raise InvalidInput(f"{source}: a document lacks apiVersion, kind or metadata.name: not a Kubernetes object")
    return [doc]


def load_paths(paths: list[str]) -> list[dict]:
    objects = []
    for path in files_in(paths):
        if path == "-":
            objects.extend(load_text(sys.stdin.read(), "<stdin>"))
            continue
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
        objects.extend(load_text(text, path))
    return objects
