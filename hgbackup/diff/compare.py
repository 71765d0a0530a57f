"""Compare two sets of stored objects: what was added, removed and changed (with the changed field paths).

Objects are matched by (group, kind, namespace, name). The stored-form sha256 decides "same" without decoding; only
objects whose hashes differ are decoded and compared field by field (deepdiff). Both sides went through the same
sanitising, so server-set fields never show up as changes. Secret values never leave this module unmasked unless
the caller asks for them.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

import yaml

from ..errors import EXIT_DIFFERENT, EXIT_OK, InvalidInput
from ..kube import yamlfiles
from ..kube.model import Ref, StoredObject
from ..kube.scope import Scope
from ..kube.stored import LAST_APPLIED
from ..output import ReadableDumper
from . import sources

ADDED, REMOVED, CHANGED = "+", "-", "M"
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
SECRET_FIELDS = ("data", "stringData")
MASK = "<redacted>"
MASK_CHANGED = "<redacted, changed>"


@dataclass(frozen=True)
class Change:
    op: str
    ref: Ref
    api_version: str
    paths: tuple[str, ...] = ()

    def ref_json(self) -> dict:
        return self.ref.as_json(self.api_version)


@dataclass
class DiffResult:
    changes: list[Change]
    unchanged: int
    pairs: dict[Ref, tuple[StoredObject | None, StoredObject | None]] = field(default_factory=dict)
    labels: tuple[str, str] = ("a", "b")
    # CRDs on both sides that differ while one side is live: a restore never changes an existing CRD, so they are
    # reported, not counted as differences
    crds_kept: list[Ref] = field(default_factory=list)

    @property
    def notes(self) -> list[str]:
        if not self.crds_kept:
            return []
        return [f"{len(self.crds_kept)} CustomResourceDefinition(s) differ from the live ones "
                f"({', '.join(r.name for r in self.crds_kept[:3])}{' ...' if len(self.crds_kept) > 3 else ''}); "
                "a restore never changes an existing CRD, so they are not counted as differences"]

    @property
    def same(self) -> bool:
        return not self.changes

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.same else EXIT_DIFFERENT

    def summary(self) -> dict:
        count = {op: sum(1 for c in self.changes if c.op == op) for op in (ADDED, REMOVED, CHANGED)}
        return {"added": count[ADDED], "removed": count[REMOVED], "changed": count[CHANGED],
                "unchanged": self.unchanged}

    def as_json(self) -> dict:
        return {
            "added": [c.ref_json() for c in self.changes if c.op == ADDED],
            "removed": [c.ref_json() for c in self.changes if c.op == REMOVED],
            "changed": [{"ref": c.ref_json(), "paths": list(c.paths)} for c in self.changes if c.op == CHANGED],
            "summary": self.summary(),
            "crds_kept": [r.name for r in self.crds_kept],
            "notes": self.notes,
        }


def compare(a: list[StoredObject], b: list[StoredObject], *, kinds: set[tuple[str, str]] | None = None,
            namespaces: set[str] | None = None, live: bool = False) -> DiffResult:
    """Changes that turn `a` into `b`, optionally limited to (group, kind) pairs and namespaces. `live`: one side
    is the live cluster, so a CRD present on both sides is compared by presence only (see DiffResult.crds_kept)."""

    def wanted(obj: StoredObject) -> bool:
        ref = obj.ref
        if kinds is not None and (ref.group, ref.kind) not in kinds:
            return False
        return namespaces is None or ref.namespace is None or ref.namespace in namespaces

    left = {o.ref: o for o in a if wanted(o)}
    right = {o.ref: o for o in b if wanted(o)}
    changes: list[Change] = []
    pairs: dict[Ref, tuple] = {}
    unchanged = 0
    crds_kept: list[Ref] = []
    for ref in sorted(left.keys() | right.keys()):
        old, new = left.get(ref), right.get(ref)
        if live and old is not None and new is not None and ref.kind == "CustomResourceDefinition" \
                and old.sha256 != new.sha256:
            crds_kept.append(ref)
            unchanged += 1
            continue
        if old is None:
            changes.append(Change(ADDED, ref, new.api_version))
        elif new is None:
            changes.append(Change(REMOVED, ref, old.api_version))
        elif old.sha256 == new.sha256:
            unchanged += 1
            continue
        else:
            paths = changed_paths(old.obj, new.obj)
            if not paths:  # same content, different bytes (e.g. another apiVersion of the same kind)
                unchanged += 1
                continue
            changes.append(Change(CHANGED, ref, new.api_version, tuple(paths)))
        pairs[ref] = (old, new)
    return DiffResult(changes, unchanged, pairs, crds_kept=crds_kept)


def compare_sources(a: sources.Source, b: sources.Source, *, scope: Scope, scope_from_snapshot: bool,
                    kinds: set[tuple[str, str]] | None = None, progress=None, **load_args) -> DiffResult:
    """`hgbackup diff A B`: load both sides (snapshots first, so that a live side can take the snapshot's scope
    when `scope_from_snapshot`), then compare them within the scope's namespaces."""
    kube = sources.connect_once(load_args.pop("kube_factory"))
    identity = None
    if {a.kind, b.kind} & {"live"} and (a.is_latest or b.is_latest) and not load_args.get("cluster"):
        identity = kube().cluster_identity()  # `latest` against live: the live cluster's newest snapshot
    sides: dict[sources.Source, sources.Side] = {}
    for source in sorted({a, b}, key=lambda s: s.kind == "live"):
        if source.kind == "live" and scope_from_snapshot:
            taken = [s.snapshot for s in sides.values() if s.snapshot]
            if taken:
                scope = Scope.from_json(taken[0].manifest.scope)
        sides[source] = sources.load(source, scope=scope, progress=progress, kube_factory=kube, identity=identity,
                                     **load_args)
    if not scope_from_snapshot:  # the user's scope: a snapshot side is narrowed by the same rules as a live capture
        for side in sides.values():
            if side.snapshot is not None:
                side.objects = sources.within(side.objects, scope)
    result = compare(sides[a].objects, sides[b].objects, kinds=kinds, namespaces=set(scope.namespaces) or None,
                     live="live" in (a.kind, b.kind))
    result.labels = (sides[a].label, sides[b].label)
    return result


def changed_paths(old: dict, new: dict) -> list[str]:
    """Dotted paths of every changed leaf: `spec.rules[0].host`, `metadata.annotations["higress.io/timeout"]`.

    Dicts and equal-length lists are walked here (a DeepDiff call costs ~3 ms per object, too slow for large
    snapshots); a list whose length changed is handed to DeepDiff, which aligns the inserted or removed items.
    """
    embedded = old.get("kind") == "ConfigMap" and new.get("kind") == "ConfigMap"
    skip = ("apiVersion", "data") if embedded else ("apiVersion",)
    old_rest = {k: v for k, v in old.items() if k not in skip}
    new_rest = {k: v for k, v in new.items() if k not in skip}
    paths: set[str] = set()
    _walk(old_rest, new_rest, [], paths)
    if embedded:
        _walk_data(old.get("data") or {}, new.get("data") or {}, paths)
    return sorted(paths)


def embedded_document(text):
    """A ConfigMap value that is itself one YAML or JSON mapping or list (higress-config's `higress`, an ai-route's
    JSON), parsed within the limits every YAML text has (yamlfiles.load_documents: nesting, alias expansion, size);
    None for anything else, a value those limits refuse included, which is compared as text."""
    if not isinstance(text, str) or ("\n" not in text and not text.lstrip().startswith(("{", "["))):
        return None
    try:
        docs = yamlfiles.load_documents(text, "a ConfigMap value")
    except InvalidInput:
        return None
    return docs[0] if len(docs) == 1 and isinstance(docs[0], (dict, list)) else None


def _walk_data(old: dict, new: dict, paths: set[str]) -> None:
    """ConfigMap data key by key; inside an embedded document the path goes on: `data.higress > gzip.enable`."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        _walk(old, new, ["data"], paths)
        return
    for key in old.keys() | new.keys():
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        here = render_path(["data", key])
        docs = (embedded_document(before), embedded_document(after)) if key in old and key in new else (None, None)
        if docs[0] is not None and docs[1] is not None:
            inner: set[str] = set()
            _walk(docs[0], docs[1], [], inner)
            paths |= {f"{here} > {p}" if p else here for p in inner} or {here}
        else:
            paths.add(here)


def _walk(old, new, prefix: list, paths: set[str]) -> None:
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in old.keys() | new.keys():
            if key not in old or key not in new:
                paths.add(render_path(prefix + [key]))
            else:
                _walk(old[key], new[key], prefix + [key], paths)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new)):
            _walk(a, b, prefix + [index], paths)
    elif isinstance(old, list) and isinstance(new, list):
        from deepdiff import DeepDiff  # imported here: it costs ~0.5 s and most commands never need it

        tree = DeepDiff(old, new, view="tree", ignore_order=False)
        for level in (lvl for report in tree.values() for lvl in report):
            paths.add(render_path(prefix + level.path(output_format="list")))
    else:
        paths.add(render_path(prefix))


def render_path(parts: list) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif IDENT.match(str(part)):
            out += f".{part}" if out else str(part)
        else:
            out += f'["{part}"]'
    return out


def is_secret(ref: Ref) -> bool:
    return ref.group == "" and ref.kind == "Secret"


SENSITIVE_KEY = re.compile(r"pass(word|wd)?|token|secret|api[-_]?key|credential|private[-_]?key", re.IGNORECASE)


def is_sensitive_key(name: str) -> bool:
    """A ConfigMap key whose name says it holds a secret (a password put in the wrong kind of object)."""
    return bool(SENSITIVE_KEY.search(name))


def masked(obj: dict, before: dict | None = None, sections=SECRET_FIELDS, only=None) -> dict:
    """A copy with values replaced by a mask, keys kept. Given `before` (the older side), a value that changed is
    masked as `<redacted, changed>`, so a unified diff shows which keys changed without showing a value. `only`
    limits masking to the keys it accepts (ConfigMaps: the sensitive-looking ones)."""
    out = dict(obj)
    for section in sections:
        values = obj.get(section)
        if isinstance(values, dict):
            theirs = (before or {}).get(section) or {}
            out[section] = {
                k: (v if only is not None and not only(k)
                    else MASK_CHANGED if before is not None and k in theirs and theirs[k] != v else MASK)
                for k, v in values.items()
            }
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if LAST_APPLIED in annotations:
        out["metadata"] = dict(obj["metadata"], annotations=dict(annotations, **{LAST_APPLIED: MASK}))
    return out


def unified(change: Change, old: StoredObject | None, new: StoredObject | None, label_a: str, label_b: str,
            show_secrets: bool = False) -> str:
    """A unified YAML diff of one object; Secret values masked unless show_secrets."""
    a = old.obj if old else None
    b = new.obj if new else None
    if is_secret(change.ref) and not show_secrets:
        a, b = (masked(a) if a else None), (masked(b, old.obj if old else None) if b else None)
    elif change.ref.kind == "ConfigMap" and change.ref.group == "" and not show_secrets:
        a = masked(a, sections=("data", "binaryData"), only=is_sensitive_key) if a else None
        b = masked(b, old.obj if old else None, sections=("data", "binaryData"), only=is_sensitive_key) if b else None
    # both sides sorted the same way: a live object's keys come in the API server's order, a snapshot's sorted
    a_text = _sorted_yaml(a).splitlines(keepends=True) if a else []
    b_text = _sorted_yaml(b).splitlines(keepends=True) if b else []
    return "".join(difflib.unified_diff(a_text, b_text, f"{label_a}: {change.ref}", f"{label_b}: {change.ref}"))


def _sorted_yaml(obj: dict) -> str:
    return yaml.dump(obj, Dumper=ReadableDumper, sort_keys=True, default_flow_style=False, allow_unicode=True)
