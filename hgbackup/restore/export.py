"""Write a snapshot's objects as plain YAML, one file per object, ready for `kubectl apply -R -f DIR`.

Folders are prefixed with the restore tier (`02-secrets/...`) and the namespaces come first (`00-namespaces/`), so
kubectl, which walks files in name order, applies them in dependency order, on an empty cluster too.
The export is all or nothing: written into a fresh folder beside the target, then moved into place. A target that
is not empty is refused unless `overwrite` (which replaces the whole tree); nothing is written through a symlink;
files are 0600 and folders 0700, since Secrets are among them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile

from ..errors import IntegrityError, InvalidInput, Unreachable
from ..kube import names
from ..kube.model import StoredObject
from ..output import yaml_text

MAX_FILE_NAME = 200  # bytes; most file systems allow 255
SHORTENED_KEEP = 150  # characters of a long name kept in its file name
SHORT_MARK = "_"  # between them and the hash: no Kubernetes name holds it (names.py), so no name's file is a short one


def file_name(name: str) -> str:
    """`<name>.yaml`, or for names too long for a file system a stable shortened form: the name's first characters,
    `_` and 16 hex digits of its sha256. Unique for every set of valid names (names.py: lower case, digits, `-`
    and `.`): a name written as is has no `_`, and two shortened ones differ in their hash."""
    if len(name.encode("utf-8")) + len(".yaml") <= MAX_FILE_NAME:
        return f"{name}.yaml"
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]
    return f"{name[:SHORTENED_KEEP]}{SHORT_MARK}{digest}.yaml"


def export_path(obj: StoredObject) -> str:
    kind = obj.kind
    return os.path.join(f"{kind.tier:02d}-{kind.key}", obj.ref.namespace or "_cluster", file_name(obj.ref.name))


def _namespaces(objects: list[StoredObject]) -> list[dict]:
    names = sorted({o.ref.namespace for o in objects if o.ref.namespace})
    return [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}} for ns in names]


def export_objects(objects: list[StoredObject], folder: str, *, overwrite: bool = False) -> list[str]:
    """Write every object (and the Namespaces they need); returns the files written, under `folder`."""
    invalid = [str(o.ref) for o in objects if not names.valid_ref(o.ref)]
    if invalid:  # their file names could be another object's: refused, as a restore refuses them (confine.py)
        raise IntegrityError(f"the snapshot holds names Kubernetes does not accept: {', '.join(invalid[:5])}; "
                             "nothing was exported")
    target = os.path.abspath(folder)
    if os.path.islink(target):
        raise InvalidInput(f"{folder} is a symlink: refusing to write through it")
    if os.path.exists(target):
        if not os.path.isdir(target):
            raise InvalidInput(f"{folder} exists and is not a folder")
        if os.listdir(target) and not overwrite:
            raise InvalidInput(f"{folder} is not empty: give an empty or new folder, or --overwrite to replace it")
    parent = os.path.dirname(target)
    try:
        os.makedirs(parent, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=".hgbackup-export-", dir=parent)  # created 0700
    except OSError as exc:
        raise Unreachable(f"cannot write into {parent}: {exc.strerror}") from None
    try:
        written = [_write(staging, os.path.join("00-namespaces", file_name(ns["metadata"]["name"])), ns)
                   for ns in _namespaces(objects)]
        written += [_write(staging, export_path(obj), obj.obj) for obj in objects]
        for folder_path, _, _ in os.walk(staging):  # makedirs' mode reaches only the last folder of a path
            os.chmod(folder_path, 0o700)
        if os.path.isdir(target):
            shutil.rmtree(target)  # never follows symlinks inside the tree
        os.rename(staging, target)
    except OSError as exc:
        raise Unreachable(f"cannot write the export into {folder}: {exc.strerror}; nothing was exported") from None
    finally:
        if os.path.isdir(staging):
            shutil.rmtree(staging, ignore_errors=True)
    return [os.path.join(folder, rel) for rel in written]


def _write(root: str, rel: str, doc: dict) -> str:
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(yaml_text(doc))
    return rel
