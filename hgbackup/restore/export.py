"""Write a snapshot's objects as plain YAML, one file per object, ready for `kubectl apply -R -f DIR`.

Folders are prefixed with the restore tier (`02-secrets/...`) and the namespaces come first (`00-namespaces/`), so
kubectl, which walks files in name order, applies them in dependency order, on an empty cluster too.
The export is all or nothing: written into a fresh folder beside the target, then moved into place. A target that
is not empty is refused unless `overwrite` (which replaces the whole tree); nothing is written through a symlink;
files are 0600 and folders 0700, since Secrets are among them.
The same writer and layout serve objects that are not a snapshot's (`migrate nginx --output-dir`: export_documents).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable

from ..errors import IntegrityError, InvalidInput, Unreachable
from ..kube import catalogue, names
from ..kube.model import StoredObject
from ..output import yaml_text

MAX_FILE_NAME = 200  # bytes; most file systems allow 255
SHORTENED_KEEP = 150  # characters of a long name kept in its file name
SHORT_MARK = "_"  # between them and the hash: no Kubernetes name holds it (names.py), so no name's file is a short one


def file_name(name: str, ext: str = "yaml") -> str:
    """`<name>.<ext>`, or for names too long for a file system a stable shortened form: the name's first characters,
    `_` and 16 hex digits of its sha256. Unique for every set of valid names (names.py: lower case, digits, `-`
    and `.`): a name written as is has no `_`, and two shortened ones differ in their hash."""
    if len(name.encode("utf-8")) + len(ext) + 1 <= MAX_FILE_NAME:
        return f"{name}.{ext}"
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]
    return f"{name[:SHORTENED_KEEP]}{SHORT_MARK}{digest}.{ext}"


def kind_path(kind: catalogue.Kind, namespace: str | None, file: str) -> str:
    """`<tier>-<kind>/<namespace or _cluster>/<file>`: kubectl, walking names in order, applies tiers in order."""
    return os.path.join(f"{kind.tier:02d}-{kind.key}", namespace or "_cluster", file)


def export_path(obj: StoredObject) -> str:
    return kind_path(obj.kind, obj.ref.namespace, file_name(obj.ref.name))


def _namespaces(objects: list[StoredObject]) -> list[dict]:
    names = sorted({o.ref.namespace for o in objects if o.ref.namespace})
    return [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}} for ns in names]


def export_objects(objects: list[StoredObject], folder: str, *, overwrite: bool = False) -> list[str]:
    """Write every object (and the Namespaces they need); returns the files written, under `folder`."""
    invalid = [str(o.ref) for o in objects if not names.valid_ref(o.ref)]
    if invalid:  # their file names could be another object's: refused, as a restore refuses them (confine.py)
        raise IntegrityError(f"the snapshot holds names Kubernetes does not accept: {', '.join(invalid[:5])}; "
                             "nothing was exported")
    files = itertools.chain(((os.path.join("00-namespaces", file_name(ns["metadata"]["name"])), ns)
                             for ns in _namespaces(objects)), ((export_path(obj), obj.obj) for obj in objects))
    return write_tree(files, folder, overwrite=overwrite)


FORMATS = {"yaml": yaml_text, "json": lambda doc: json.dumps(doc, indent=2) + "\n"}
GENERATED_MARK = "~"  # between a generateName and a number in a file name: no Kubernetes name holds it


def export_documents(documents: list[dict], folder: str, *, fmt: str = "yaml") -> list[str]:
    """Objects as they are (a migration's output, not a snapshot's stored form) in the export's layout, under its
    rules; nothing is replaced. An object named only by generateName gets `<generateName>~<n>`. A name Kubernetes
    would refuse names no file: InvalidInput, nothing written."""
    files, generated = [], 0
    for doc in documents:
        meta = doc.get("metadata") or {}
        kind = catalogue.BY_GROUP_KIND[(catalogue.group_of(doc["apiVersion"]), doc["kind"])]
        namespace = (meta.get("namespace") or "default") if kind.namespaced else None
        name = meta.get("name")
        if name is None and isinstance(meta.get("generateName"), str):
            generated += 1
            name, valid = f"{meta['generateName']}{GENERATED_MARK}{generated}", names.valid_name(
                meta["generateName"] + "x")
        else:
            valid = names.valid_name(name)
        if not valid or (namespace is not None and not names.valid_namespace(namespace)):
            where = f"{namespace}/{name}" if namespace else name
            raise InvalidInput(f"{doc['kind']} {where!s:.200}: not a name Kubernetes accepts, so no file is named "
                               "after it; nothing was written")
        files.append((kind_path(kind, namespace, file_name(name, fmt)), doc))
    return write_tree(files, folder, render=FORMATS[fmt], replace_hint="")


def write_tree(files: Iterable[tuple[str, dict]], folder: str, *, overwrite: bool = False,
               render: Callable[[dict], str] = yaml_text,
               replace_hint: str = ", or --overwrite to replace it") -> list[str]:
    """The writer: each (relative path, document) rendered into a fresh folder beside `folder`, then moved into
    place (all or nothing). `folder` must be new or empty unless `overwrite` (which replaces its whole tree); never
    a symlink; files 0600 (created, never replaced), folders 0700. Returns the files written, under `folder`."""
    target = os.path.abspath(folder)
    if os.path.islink(target):
        raise InvalidInput(f"{folder} is a symlink: refusing to write through it")
    if os.path.exists(target):
        if not os.path.isdir(target):
            raise InvalidInput(f"{folder} exists and is not a folder")
        if os.listdir(target) and not overwrite:
            raise InvalidInput(f"{folder} is not empty: give an empty or new folder{replace_hint}")
    parent = os.path.dirname(target)
    try:
        os.makedirs(parent, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=".hgbackup-export-", dir=parent)  # created 0700
    except OSError as exc:
        raise Unreachable(f"cannot write into {parent}: {exc.strerror}") from None
    try:
        written = [_write(staging, rel, doc, render) for rel, doc in files]
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


def _write(root: str, rel: str, doc: dict, render: Callable[[dict], str]) -> str:
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(render(doc))
    return rel
