"""Read Kubernetes objects from YAML or JSON files: a file, a folder (recursively), or `-` for stdin.

Multi-document YAML, `kind: List` (what `kubectl get -o yaml` writes) and JSON are all accepted. Invalid input is an
InvalidInput error naming the file and line.
"""

from __future__ import annotations

import os
import re
import sys

import orjson
import yaml

from ..errors import InvalidInput, NotFound

try:
    SafeLoader = yaml.CSafeLoader
    _NodeLoader = yaml.CBaseLoader  # libyaml's events, built into objects by _fast_load_all
except AttributeError:  # PyYAML without libyaml
    SafeLoader = yaml.SafeLoader
    _NodeLoader = None

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


MAX_BYTES = 256 * 1024 * 1024  # one input file
MAX_DEPTH = 100  # nesting of one object; real ones stay far below (a CRD schema reaches about 40)
# A sound upper bound of a YAML text's nesting, from a few C-speed searches: when these stay small, libyaml's
# recursive composer is safe and the exact event pass is skipped.
_DEEP_INDENT = re.compile(r"^ {400}", re.MULTILINE)
_DASH_RUN = re.compile(r"(?:-[ \t]+){100}")
_FLOW_OPENER = re.compile(r"[\[{](?![ \t]*[\]}])")
_ANCHOR = re.compile(r"(?:^|[\s,\[{:-])&[^\s]")
FLOW_OPENERS_CHEAP = 1000


def load_text(text: str, source: str, allow_generate_name: bool = False, progress=None) -> list[dict]:
    """Every Kubernetes object in a YAML/JSON text; `List` items are unpacked. Bounded: a text nested too deeply,
    or whose aliases expand far beyond its size (a "billion laughs"), is refused before it costs memory or stack."""
    objects: list[dict] = []
    for doc in load_documents(text, source, progress):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise InvalidInput(f"{source}: a document is a {type(doc).__name__}, not a Kubernetes object")
        objects.extend(_unpack(doc, source, allow_generate_name))
    return objects


def load_documents(text: str, source: str, progress=None) -> list:
    """The documents of a YAML/JSON text, whatever they hold, within the limits (size, nesting, alias expansion);
    InvalidInput naming `source` otherwise. Every YAML text hgbackup parses goes through here: files, and the YAML
    inside a ConfigMap value that diff compares field by field."""
    if len(text) > MAX_BYTES:
        raise InvalidInput(f"{source}: larger than {MAX_BYTES // 2**20} MiB")
    docs = _load_json(text, source) if text.lstrip()[:1] in ("{", "[") else None
    if docs is None:  # YAML, or a flow-style YAML document that is not JSON
        docs = _load_yaml(text, source, progress)
    return docs


def _load_json(text: str, source: str) -> list | None:
    """orjson for JSON text (several times faster than YAML's loader); None when the text is not JSON."""
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if text.count("[") + text.count("{") > MAX_DEPTH:
        _check_shape(doc, len(text), source)
    return [doc]


def _load_yaml(text: str, source: str, progress=None) -> list:
    try:
        if _NodeLoader is not None and not _NEEDS_SAFE_LOADER.search(text):
            docs = _fast_load_all(text, source, progress)
        else:
            if (_DEEP_INDENT.search(text) or _DASH_RUN.search(text)
                    or len(_FLOW_OPENER.findall(text)) > FLOW_OPENERS_CHEAP):
                _check_yaml_depth(text, source)  # libyaml's composer recurses: measure on the event stream first
            docs = list(yaml.load_all(text, Loader=SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidInput(f"{where}: invalid YAML: {problem}") from None
    if _ANCHOR.search(text) or len(_FLOW_OPENER.findall(text)) > MAX_DEPTH:
        for doc in docs:
            _check_shape(doc, len(text), source)
    return docs


# Explicit tags (`!!str 1`, `!Ref x`) and merge keys (`<<:`) need PyYAML's own constructor; everything else (what
# kubectl and people write) takes the fast path below, which gives the same values.
_NEEDS_SAFE_LOADER = re.compile(r"(?:^|[\s,\[{])!|<<")
_STR = "tag:yaml.org,2002:str"
_IMPLICIT = yaml.resolver.Resolver.yaml_implicit_resolvers
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def _fast_load_all(text: str, source: str = "<text>", progress=None) -> list:
    """yaml.load_all(text, CSafeLoader) in a fraction of the time: libyaml's event stream becomes Python objects here
    (PyYAML spends most of a large load in its Python composer, resolver and constructor, once per node). Scalars
    resolve as SafeLoader resolves them, aliases give the same shared object, and nesting deeper than MAX_DEPTH is
    refused on the way (so no separate depth pass is needed)."""
    tree = _Tree()
    add, anchor, stack = tree.add, tree.anchor, tree.stack  # bound once: this loop runs once per node
    for count, event in enumerate(yaml.parse(text, Loader=_NodeLoader)):
        if progress and count % 100_000 == 0 and count:
            progress(event.start_mark.index, len(text), f"parsing {os.path.basename(source)}")
        kind = type(event)
        if kind is yaml.ScalarEvent:
            value = event.value if event.style or not event.implicit[0] else _plain_value(event.value)
            anchor(event.anchor, value, event)
            add(value, event)
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            if len(stack) >= MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark else "?"
                raise InvalidInput(f"{source}:{line}: nested deeper than {MAX_DEPTH} levels")
            container = {} if kind is yaml.MappingStartEvent else []
            anchor(event.anchor, container, event)
            add(container, event)
            stack.append([container, _NO_KEY])
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            stack.pop()
        elif kind is yaml.AliasEvent:
            if event.anchor not in tree.anchors:
                raise yaml.composer.ComposerError(None, None, f"found undefined alias {event.anchor!r}",
                                                  event.start_mark)
            add(tree.anchors[event.anchor], event)
        elif kind is yaml.DocumentStartEvent:
            tree.anchors.clear()
            tree.root.clear()
        elif kind is yaml.DocumentEndEvent:
            tree.docs.append(tree.root[0] if tree.root else None)
    return tree.docs


class _Tree:
    """The documents being built from events: the open containers (each with its pending key) and the anchors."""

    def __init__(self):
        self.docs: list = []
        self.stack: list = []  # open containers: [container, pending key or _NO_KEY]
        self.anchors: dict[str, object] = {}
        self.root: list = []

    def add(self, value, event) -> None:
        if not self.stack:
            self.root.append(value)
            return
        frame = self.stack[-1]
        container = frame[0]
        if isinstance(container, list):
            container.append(value)
        elif frame[1] is _NO_KEY:
            frame[1] = value
        else:
            try:
                container[frame[1]] = value
            except TypeError:
                raise yaml.constructor.ConstructorError(None, None, "found unhashable key",
                                                        event.start_mark) from None
            frame[1] = _NO_KEY

    def anchor(self, name, value, event) -> None:
        if name is not None:
            if name in self.anchors:
                raise yaml.composer.ComposerError(None, None, f"found duplicate anchor {name!r}", event.start_mark)
            self.anchors[name] = value


_NO_KEY = object()


def _plain_value(value: str):
    """Plain scalars repeat (every key, most small values): their resolution is remembered (all results are
    immutable: str, int, float, bool, None, date, datetime)."""
    found = _PLAIN_CACHE.get(value, _NO_KEY)
    if found is _NO_KEY:
        found = _resolve_plain(value)
        if len(_PLAIN_CACHE) < 200_000:
            _PLAIN_CACHE[value] = found
    return found


_PLAIN_CACHE: dict[str, object] = {}


def _resolve_plain(value: str):
    for tag, regexp in _IMPLICIT.get(value[0] if value else "", []) + _IMPLICIT.get(None, []):
        if regexp.match(value):
            if tag == _STR:
                return value
            return _CONSTRUCTOR.yaml_constructors[tag](_CONSTRUCTOR, yaml.ScalarNode(tag, value))
    return value


def _check_yaml_depth(text: str, source: str) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=SafeLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark else "?"
                raise InvalidInput(f"{source}:{line}: nested deeper than {MAX_DEPTH} levels")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def _check_shape(doc, text_size: int, source: str) -> None:
    """Depth and size of a loaded document as everything downstream sees it: aliases expanded. A YAML alias makes
    one object appear many times; a few hundred bytes can stand for billions of nodes."""
    budget = 20 * text_size + 10_000
    stack = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InvalidInput(f"{source}: nested deeper than {MAX_DEPTH} levels")
        children = node.values() if isinstance(node, dict) else node
        budget -= len(children)
        if budget < 0:
            raise InvalidInput(f"{source}: expands far beyond its size (YAML aliases?): refused")
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))


def _unpack(doc: dict, source: str, allow_generate_name: bool = False) -> list[dict]:
    kind = doc.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list):
        out = []
        for item in doc["items"]:
            out.extend(_unpack(item, source, allow_generate_name) if isinstance(item, dict) else [])
        return out
    meta = doc.get("metadata")
    named = isinstance(meta, dict) and (meta.get("name") or (allow_generate_name and meta.get("generateName")))
    if not doc.get("apiVersion") or not kind or not named:
        raise InvalidInput(f"{source}: a document lacks apiVersion, kind or metadata.name: not a Kubernetes object")
    for field, value in (("apiVersion", doc["apiVersion"]), ("kind", kind),
                         ("metadata.name", meta.get("name") or meta.get("generateName")),
                         ("metadata.namespace", meta.get("namespace", ""))):
        if not isinstance(value, str):
            raise InvalidInput(f"{source}: {kind!s:.40} {meta.get('name')!s:.60}: {field} is not a string")
    for field in ("labels", "annotations"):
        values = meta.get(field)
        if values is not None and not (isinstance(values, dict)
                                       and all(isinstance(v, str) for v in values.values())):
            bad = next(((k, v) for k, v in values.items() if not isinstance(v, str)), None) if isinstance(
                values, dict) else None
            what = f": {bad[0]!s:.100} is {bad[1]!r:.40}, quote it (the API server refuses it too)" if bad else ""
            raise InvalidInput(f"{source}: {kind} {meta.get('name')}: metadata.{field} is not a map of strings{what}")
    problem = spec_problem(doc)
    if problem:
        raise InvalidInput(f"{source}: {kind} {meta.get('name')}: {problem} (the API server refuses it too)")
    return [doc]


# The shape of the specs migrate reads (an Ingress in networking.k8s.io/v1 and the v1beta1 spellings, and the
# ports of a Service, which name a backend's port: k8s.io/api networking/v1, extensions/v1beta1 and core/v1
# types.go): the types of the fields read. A field may be absent or null.
_BACKEND = {"service": {"name": str, "port": {"number": int, "name": str}},
            "resource": {"apiGroup": str, "kind": str, "name": str},
            "serviceName": str, "servicePort": (int, str)}
INGRESS_SPEC = {"ingressClassName": str, "defaultBackend": _BACKEND, "backend": _BACKEND,
                "rules": [{"host": str, "http": {"paths": [{"path": str, "pathType": str, "backend": _BACKEND}]}}],
                "tls": [{"hosts": [str], "secretName": str}]}
SPEC_SHAPES = {("networking.k8s.io", "Ingress"): INGRESS_SPEC, ("extensions", "Ingress"): INGRESS_SPEC,
               ("", "Service"): {"ports": [{"name": str, "port": int}]}}


def spec_problem(doc: dict) -> str | None:
    """Why the spec of an Ingress or Service does not have the shape Kubernetes gives it (naming the first wrong
    field), or None; None for every other kind. Checked where files are read, so a converter never meets
    `rules: 5`."""
    api = doc.get("apiVersion")
    shape = SPEC_SHAPES.get((api.rpartition("/")[0], doc.get("kind"))) if isinstance(api, str) else None
    return _shape_problem(doc.get("spec"), shape, "spec") if shape else None


def _shape_problem(value, schema, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            return f"{where} is {value!r:.40}, not a map"
        return next((p for key, sub in schema.items()
                     if (p := _shape_problem(value.get(key), sub, f"{where}.{key}"))), None)
    if isinstance(schema, list):
        if not isinstance(value, list):
            return f"{where} is {value!r:.40}, not a list"
        return next((p for i, item in enumerate(value) if (p := _shape_problem(item, schema[0], f"{where}[{i}]"))),
                    None)
    types = schema if isinstance(schema, tuple) else (schema,)
    if isinstance(value, bool) or not isinstance(value, types):
        wanted = " or ".join("an integer" if t is int else "a string" for t in types)
        return f"{where} is {value!r:.40}, not {wanted}"
    return None


def load_paths(paths: list[str], allow_generate_name: bool = False, progress=None,
               invalid: list[tuple[str, str]] | None = None) -> list[dict]:
    """Objects of files, folders or `-`; `allow_generate_name` accepts objects named only by generateName (for
    conversions whose output is created, not applied). `progress(done, total, what)` hears of large YAML files as
    they are parsed (in characters) and of each file of a folder. With `invalid`, a file that is not valid input
    is left out whole and recorded there as (path, one-line cause) instead of ending the read; a path that does not
    exist still does (NotFound)."""
    objects = []
    files = files_in(paths)
    for number, path in enumerate(files, 1):
        if progress and len(files) > 1:
            progress(number, len(files), "files")
        try:
            objects.extend(_load_file(path, allow_generate_name, progress))
        except InvalidInput as exc:
            if invalid is None:
                raise
            invalid.append((path, str(exc)))
    return objects


def _load_file(path: str, allow_generate_name: bool, progress) -> list[dict]:
    if path == "-":
        data = sys.stdin.buffer.read(MAX_BYTES + 1)
        return load_text(_decode(data, "<stdin>"), "<stdin>", allow_generate_name)
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read: {exc.strerror}") from None
    return load_text(_decode(data, path), path, allow_generate_name, progress)


def _decode(data: bytes, source: str) -> str:
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"{source}: larger than {MAX_BYTES // 2**20} MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{source}: not UTF-8 text (byte {exc.start})") from None
