"""Write a snapshot's objects as plain YAML, one file per object, ready for `kubectl apply -R -f DIR`.

Folders are prefixed with the restore tier (`02-secrets/...`), so kubectl, which walks files in name order, applies
them in dependency order too.
"""

from __future__ import annotations

import os

from .model import StoredObject
from .output import yaml_text


def export_path(obj: StoredObject) -> str:
    kind = obj.kind
    return os.path.join(f"{kind.tier:02d}-{kind.key}", obj.ref.namespace or "_cluster", f"{obj.ref.name}.yaml")


def export_objects(objects: list[StoredObject], folder: str) -> list[str]:
    written = []
    for obj in objects:
        path = os.path.join(folder, export_path(obj))
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(yaml_text(obj.obj))
        written.append(path)
    return written
