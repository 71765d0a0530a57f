"""The shapes a migration passes around: options, one report entry per annotation, the report of one Ingress, the
whole migration, and the context a handler works in. Handlers (handlers.py, plugins.py, spec.py) and the converter
(convert.py) all read these; none of them knows Click."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..kube.references import route_name
from .rules import HIGRESS, NATIVE, NEEDS_WORK, NGINX, STATUSES, Status

SIDE_BY_SIDE, CUTOVER = "side-by-side", "cutover"
DEFAULT_REGISTRY = "higress-registry.cn-hangzhou.cr.aliyuncs.com/plugins"
# Every object a migration writes carries this label (how the report's "go back" step finds them) and names its
# source in the annotation.
MANAGED_BY = ("app.kubernetes.io/managed-by", "hgbackup")
MIGRATED_FROM = "hgbackup.io/migrated-from"


def generated_metadata(name: str, namespace: str, source: str = "ingress-nginx") -> dict:
    """The metadata of an object the migration generates."""
    return {"name": name, "namespace": namespace, "labels": dict([MANAGED_BY]), "annotations": {MIGRATED_FROM: source}}


@dataclass
class MigrateOptions:
    mode: str = SIDE_BY_SIDE
    ingress_class: str = "nginx"
    include_unclassed: bool = False
    higress_namespace: str = "higress-system"
    target_class: str = "higress"
    plugin_registry: str = DEFAULT_REGISTRY
    plugin_version: str = "1.0.0"
    redis_service: str | None = None  # FQDN of the Redis the cluster-key-rate-limit plugin counts in
    redis_port: int | None = None


@dataclass
class Entry:
    key: str
    value: str | None
    status: str
    target: str | None = None
    note: str = ""

    def as_json(self) -> dict:
        return {"key": self.key, "value": self.value, "status": Status(self.status).value, "target": self.target,
                "note": self.note}


@dataclass
class IngressReport:
    namespace: str
    name: str
    entries: list[Entry]
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"namespace": self.namespace, "name": self.name, "annotations": [e.as_json() for e in self.entries],
                "notes": self.notes}


@dataclass
class Migration:
    ingresses: list[dict]
    plugins: list[dict]
    reports: list[IngressReport]
    skipped: list[dict] = field(default_factory=list)  # Ingresses left out: namespace, name, reason, flag
    globals: object = None  # globals.GlobalReport of ingress-nginx's ConfigMap, when one was read
    invalid: list[dict] = field(default_factory=list)  # input files left out: file, error

    @property
    def objects(self) -> list[dict]:
        return self.ingresses + self.plugins

    def all_entries(self) -> list[Entry]:
        return [e for r in self.reports for e in r.entries] + (self.globals.entries if self.globals else [])

    def summary(self) -> dict[str, int]:
        counts = {s.value: 0 for s in STATUSES}
        for entry in self.all_entries():
            counts[Status(entry.status).value] += 1
        return counts

    @property
    def needs_work(self) -> bool:
        return any(e.status in NEEDS_WORK for e in self.all_entries())

    def as_json(self) -> dict:
        generated = [{"apiVersion": p["apiVersion"], "kind": p["kind"], "namespace": p["metadata"]["namespace"],
                      "name": p["metadata"]["name"]} for p in self.plugins]
        doc = {"ingresses": [r.as_json() for r in self.reports], "generated": generated, "summary": self.summary(),
               "skipped": self.skipped}
        if self.invalid:
            doc["invalid"] = self.invalid
        if self.globals is not None:
            doc["global"] = self.globals.as_json()
        return doc


@dataclass
class Context:
    """One Ingress being converted: what it says, and what the conversion adds."""

    ingress: dict
    options: MigrateOptions
    annotations: dict
    add: dict = field(default_factory=dict)  # higress.io/* annotations to set
    plugins: dict = field(default_factory=dict)  # plugin name -> this Ingress's match-rule config
    rewritten: dict = field(default_factory=dict)  # annotation name -> the value both controllers are given
    root_paths: dict = field(default_factory=dict)  # index of a rule without paths -> backend of its path /
    ext_auth_problem: str = ""

    @property
    def route(self) -> str:
        """The name this Ingress's routes get in Higress, as a plugin's matchRules name them (references.route_name,
        the one definition)."""
        meta = self.ingress["metadata"]
        return route_name(meta.get("namespace", "default"), meta.get("name") or meta.get("generateName", ""),
                          self.options.higress_namespace)

    def nginx(self, name: str):
        return self.annotations.get(NGINX + name)

    def plugin_target(self, plugin: str) -> str:
        return f"WasmPlugin {self.options.higress_namespace}/migrated-{plugin}"



def native(ctx: Context, name: str, value: str, note: str = "") -> Entry:
    """The entry of a key Higress reads as it is: at cutover it moves to higress.io/, side by side it stays."""
    target = f"{HIGRESS}{name}" if ctx.options.mode == CUTOVER else f"{NGINX}{name} (read by Higress as is)"
    return Entry(NGINX + name, value, NATIVE, target, note)



def rewrite_value(ctx: Context, name: str, value: str) -> str:
    """Gives annotation `name` a value that means to nginx what the original meant and that Higress reads right:
    side by side the nginx key itself changes (Higress reads it first), at cutover the higress.io/ key carries it.
    Returns the report's target text."""
    ctx.rewritten[name] = value
    key = (HIGRESS if ctx.options.mode == CUTOVER else NGINX) + name
    return f"{key}: {value!r}"


def set_annotation(ctx: Context, key: str, value: str) -> str:
    """Adds a Higress annotation unless the Ingress already sets it; returns the report's target text."""
    if key in ctx.annotations:
        return f"{key}: {ctx.annotations[key]!r} (already set, kept)"
    ctx.add[key] = value
    return f"{key}: {value!r}"

