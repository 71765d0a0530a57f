"""Convert ingress-nginx Ingresses for Higress: every nginx annotation gets exactly one report entry.

`migrate()` is pure: objects in, converted objects plus generated WasmPlugins and a report out. The per-key
behaviour lives in rules.RULES; the handlers (handlers.py, plugins.py) carry over the keys that need more than a
status, and spec.py reports what an Ingress's spec changes.
"""

from __future__ import annotations

import copy

from ...kube import catalogue
from ...kube.excluded import left_out
from ...kube.stored import LAST_APPLIED, stored_form
from .. import plugins
from ..model import CUTOVER, Context, Entry, IngressReport, MigrateOptions, Migration, native
from ..plugins import wasm_plugin
from ..rules import HIGRESS, INVALID, NATIVE, NGINX, RULES, UNKNOWN, Handler, Rule, parse_value
from . import handlers, regexes
from . import spec as spec_findings

HANDLERS = {**handlers.HANDLERS, **regexes.HANDLERS, **plugins.HANDLERS}
assert set(HANDLERS) == set(Handler), "every Handler has its function"


INGRESS_VERSIONS = ("networking.k8s.io/v1", "networking.k8s.io/v1beta1", "extensions/v1beta1")


def select_ingresses(objects: list[dict], options: MigrateOptions) -> tuple[list[dict], list[dict]]:
    """Ingresses of --ingress-class (and, with --include-unclassed, those without a class); every Ingress left out
    is named with the reason and the flag that would include it (none for what hgbackup never writes: the one
    scope, excluded.left_out)."""
    chosen, skipped = [], []
    for obj in objects:
        if obj.get("kind") != "Ingress" or obj.get("apiVersion") not in INGRESS_VERSIONS:
            continue
        cls = catalogue.ingress_class(obj)
        never = left_out(obj)
        if never is None and (cls == options.ingress_class or (cls is None and options.include_unclassed)):
            chosen.append(obj)
            continue
        meta = obj.get("metadata") or {}
        name = meta.get("name") or f"{meta.get('generateName', '')}*"
        if never is not None:
            reason, flag = never, None
        elif cls is None:
            reason = ("no class: served by the cluster's default IngressClass, which files cannot tell; if that "
                      "is ingress-nginx, include it")
            flag = "--include-unclassed"
        else:
            reason, flag = f"class {cls}, not {options.ingress_class}", f"--ingress-class {cls}"
        skipped.append({"namespace": meta.get("namespace", "default"), "name": name, "reason": reason, "flag": flag})
    return chosen, skipped


def to_v1(obj: dict) -> tuple[dict, str | None]:
    """An extensions/v1beta1 or networking.k8s.io/v1beta1 Ingress as networking.k8s.io/v1 (API servers since 1.22
    refuse the old ones): serviceName/servicePort become service.name/port, and paths get the pathType ingress-nginx
    gave them: ImplementationSpecific, which it matches as a prefix (a regex with use-regex)."""
    if obj.get("apiVersion") == "networking.k8s.io/v1":
        return obj, None
    out = copy.deepcopy(obj)
    old = out["apiVersion"]
    out["apiVersion"] = "networking.k8s.io/v1"
    spec = out.get("spec") or {}
    if "backend" in spec:
        spec["defaultBackend"] = _v1_backend(spec.pop("backend"))
    for rule in spec.get("rules") or []:
        for path in (rule.get("http") or {}).get("paths") or []:
            if "backend" in path:
                path["backend"] = _v1_backend(path["backend"])
            path.setdefault("pathType", "ImplementationSpecific")
    return out, f"converted from {old} to networking.k8s.io/v1 (pathType ImplementationSpecific where unset)"


def _v1_backend(backend: dict) -> dict:
    if "serviceName" not in backend:
        return backend
    port = backend.get("servicePort")
    ref = {"number": int(port)} if isinstance(port, int) or str(port).isdigit() else {"name": str(port)}
    return {"service": {"name": backend["serviceName"], "port": ref}}


def migrate(objects: list[dict], options: MigrateOptions) -> Migration:
    ingresses, reports = [], []
    plugin_rules: dict[str, list[dict]] = {}
    chosen, skipped = select_ingresses(objects, options)
    for obj in chosen:
        converted, report, plugins = convert_ingress(obj, options)
        ingresses.append(converted)
        reports.append(report)
        for plugin, config in plugins.items():
            plugin_rules.setdefault(plugin, []).append(config)
    plugins = [wasm_plugin(name, rules, options) for name, rules in sorted(plugin_rules.items())]
    return Migration(ingresses, plugins, reports, skipped)


def convert_ingress(obj: dict, options: MigrateOptions) -> tuple[dict, IngressReport, dict]:
    obj, converted_from = to_v1(obj)
    meta = obj.get("metadata") or {}
    annotations = dict(meta.get("annotations") or {})
    ctx = Context(obj, options, annotations)
    entries = []
    for key in sorted(k for k in annotations if k.startswith(NGINX)):
        name = key[len(NGINX):]
        entries.append(_entry(ctx, name, RULES.get(name, UNKNOWN)))
    entries += spec_findings.findings(ctx)
    out = copy.deepcopy(stored_form(obj))  # no uid, resourceVersion, managedFields, status ...
    for index, backend in ctx.root_paths.items():
        out["spec"]["rules"][index]["http"] = {"paths": [{"path": "/", "pathType": "Prefix",
                                                          "backend": copy.deepcopy(backend)}]}
    out_meta = out.setdefault("metadata", {})
    new_annotations = _annotations(ctx, entries)
    new_annotations.pop(LAST_APPLIED, None)  # kubectl's copy of the old object, nginx annotations and all
    if new_annotations:
        out_meta["annotations"] = new_annotations
    else:
        out_meta.pop("annotations", None)
    if options.mode == CUTOVER:
        out.setdefault("spec", {})["ingressClassName"] = options.target_class
    name = meta.get("name") or f"{meta.get('generateName', '')}*"
    report = IngressReport(meta.get("namespace", "default"), name, entries,
                           [converted_from] if converted_from else [])
    return out, report, {p: {"ingress": [ctx.route], "config": c} for p, c in ctx.plugins.items()}


def _entry(ctx: Context, name: str, rule: Rule) -> Entry:
    value = ctx.nginx(name)
    try:
        parsed = parse_value(rule.value, value)
    except ValueError as exc:
        return Entry(NGINX + name, _text(value), INVALID, None, str(exc))
    if rule.handler:
        return HANDLERS[rule.handler](ctx, name, value, parsed, rule)
    if rule.status == NATIVE:
        return native(ctx, name, value, rule.note)
    return Entry(NGINX + name, value, rule.status, None, rule.note)


def _text(value) -> str | None:
    return value if value is None or isinstance(value, str) else str(value)




def _annotations(ctx: Context, entries: list[Entry]) -> dict:
    """The converted Ingress's annotations for the chosen mode."""
    if ctx.options.mode == CUTOVER:
        out = {k: v for k, v in ctx.annotations.items()
               if not k.startswith(NGINX) and k != catalogue.INGRESS_CLASS_ANNOTATION}
        for entry in entries:
            if entry.status == NATIVE and entry.value is not None:
                name = entry.key[len(NGINX):]
                out[HIGRESS + name] = _normalise(RULES.get(name, UNKNOWN), entry.value)
    else:
        out = dict(ctx.annotations)
    for name, value in ctx.rewritten.items():
        out[(HIGRESS if ctx.options.mode == CUTOVER else NGINX) + name] = value
    for key, value in ctx.add.items():
        out.setdefault(key, value)
    return out


def _normalise(rule: Rule, value: str) -> str:
    if rule.value in ("bool", "onoff"):
        return value.strip().lower()
    if rule.handler == Handler.BACKEND_PROTOCOL:
        return value.strip().upper()
    return value


