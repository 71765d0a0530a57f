"""Convert ingress-nginx Ingresses for Higress: every nginx annotation gets exactly one report entry.

`migrate()` is pure: objects in, converted objects plus generated WasmPlugins and a report out. The per-key
behaviour lives in rules.RULES; the handlers below carry over the keys that need more than a status.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .rules import (
    CONVERTED,
    HIGRESS,
    INVALID,
    MANUAL,
    NATIVE,
    NEEDS_WORK,
    NGINX,
    PLUGIN,
    RULES,
    STATUSES,
    UNKNOWN,
    UNSUPPORTED,
    Handler,
    Rule,
    Status,
    parse_value,
)

SIDE_BY_SIDE, CUTOVER = "side-by-side", "cutover"
CLASS_ANNOTATION = "kubernetes.io/ingress.class"
DEFAULT_REGISTRY = "higress-registry.cn-hangzhou.cr.aliyuncs.com/plugins"
TIMEOUT_KEYS = ("proxy-connect-timeout", "proxy-send-timeout", "proxy-read-timeout")
SUPPORTED_PROTOCOLS = ("HTTP", "HTTP2", "HTTPS", "GRPC", "GRPCS")


@dataclass
class MigrateOptions:
    mode: str = SIDE_BY_SIDE
    ingress_class: str = "nginx"
    include_unclassed: bool = False
    higress_namespace: str = "higress-system"
    target_class: str = "higress"
    plugin_registry: str = DEFAULT_REGISTRY
    plugin_version: str = "1.0.0"


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

    def as_json(self) -> dict:
        return {"namespace": self.namespace, "name": self.name, "annotations": [e.as_json() for e in self.entries]}


@dataclass
class Migration:
    ingresses: list[dict]
    plugins: list[dict]
    reports: list[IngressReport]

    @property
    def objects(self) -> list[dict]:
        return self.ingresses + self.plugins

    def summary(self) -> dict[str, int]:
        counts = {s.value: 0 for s in STATUSES}
        for report in self.reports:
            for entry in report.entries:
                counts[Status(entry.status).value] += 1
        return counts

    @property
    def needs_work(self) -> bool:
        return any(e.status in NEEDS_WORK for r in self.reports for e in r.entries)

    def as_json(self) -> dict:
        generated = [{"apiVersion": p["apiVersion"], "kind": p["kind"], "namespace": p["metadata"]["namespace"],
                      "name": p["metadata"]["name"]} for p in self.plugins]
        return {"ingresses": [r.as_json() for r in self.reports], "generated": generated, "summary": self.summary()}


@dataclass
class _Context:
    """One Ingress being converted: what it says, and what the conversion adds."""

    ingress: dict
    options: MigrateOptions
    annotations: dict
    add: dict = field(default_factory=dict)  # higress.io/* annotations to set
    plugins: dict = field(default_factory=dict)  # plugin name -> this Ingress's match-rule config
    ext_auth_problem: str = ""

    @property
    def ref(self) -> str:
        meta = self.ingress["metadata"]
        return f"{meta.get('namespace', 'default')}/{meta['name']}"

    def nginx(self, name: str):
        return self.annotations.get(NGINX + name)

    def plugin_target(self, plugin: str) -> str:
        return f"WasmPlugin {self.options.higress_namespace}/migrated-{plugin}"


def ingress_class(obj: dict) -> str | None:
    return (obj.get("spec") or {}).get("ingressClassName") or (
        (obj.get("metadata") or {}).get("annotations") or {}).get(CLASS_ANNOTATION)


def select_ingresses(objects: list[dict], options: MigrateOptions) -> list[dict]:
    """Ingresses of --ingress-class (and, with --include-unclassed, those without a class)."""
    chosen = []
    for obj in objects:
        if obj.get("kind") != "Ingress" or not str(obj.get("apiVersion", "")).startswith("networking.k8s.io/"):
            continue
        cls = ingress_class(obj)
        if cls == options.ingress_class or (cls is None and options.include_unclassed):
            chosen.append(obj)
    return chosen


def migrate(objects: list[dict], options: MigrateOptions) -> Migration:
    ingresses, reports = [], []
    plugin_rules: dict[str, list[dict]] = {}
    for obj in select_ingresses(objects, options):
        converted, report, plugins = convert_ingress(obj, options)
        ingresses.append(converted)
        reports.append(report)
        for plugin, config in plugins.items():
            plugin_rules.setdefault(plugin, []).append(config)
    plugins = [wasm_plugin(name, rules, options) for name, rules in sorted(plugin_rules.items())]
    return Migration(ingresses, plugins, reports)


def convert_ingress(obj: dict, options: MigrateOptions) -> tuple[dict, IngressReport, dict]:
    meta = obj.get("metadata") or {}
    annotations = dict(meta.get("annotations") or {})
    ctx = _Context(obj, options, annotations)
    entries = []
    for key in sorted(k for k in annotations if k.startswith(NGINX)):
        name = key[len(NGINX):]
        entries.append(_entry(ctx, name, RULES.get(name, UNKNOWN)))
    entries += _implicit_ssl_redirect(ctx)
    out = copy.deepcopy(obj)
    out_meta = out.setdefault("metadata", {})
    new_annotations = _annotations(ctx, entries)
    if new_annotations:
        out_meta["annotations"] = new_annotations
    else:
        out_meta.pop("annotations", None)
    if options.mode == CUTOVER:
        out.setdefault("spec", {})["ingressClassName"] = options.target_class
    report = IngressReport(meta.get("namespace", "default"), meta.get("name", ""), entries)
    return out, report, {p: {"ingress": [ctx.ref], "config": c} for p, c in ctx.plugins.items()}


def _entry(ctx: _Context, name: str, rule: Rule) -> Entry:
    value = ctx.nginx(name)
    try:
        parsed = parse_value(rule.value, value)
    except ValueError as exc:
        return Entry(NGINX + name, _text(value), INVALID, None, str(exc))
    if rule.handler:
        return HANDLERS[rule.handler](ctx, name, value, parsed, rule)
    if rule.status == NATIVE:
        return Entry(NGINX + name, value, NATIVE, _native_target(ctx, name, value), rule.note)
    return Entry(NGINX + name, value, rule.status, None, rule.note)


def _text(value) -> str | None:
    return value if value is None or isinstance(value, str) else str(value)


def _native_target(ctx: _Context, name: str, value: str) -> str:
    return f"{HIGRESS}{name}" if ctx.options.mode == CUTOVER else f"{NGINX}{name} (read by Higress as is)"


def _annotations(ctx: _Context, entries: list[Entry]) -> dict:
    """The converted Ingress's annotations for the chosen mode."""
    if ctx.options.mode == CUTOVER:
        out = {k: v for k, v in ctx.annotations.items() if not k.startswith(NGINX) and k != CLASS_ANNOTATION}
        for entry in entries:
            if entry.status == NATIVE and entry.value is not None:
                name = entry.key[len(NGINX):]
                out[HIGRESS + name] = _normalise(RULES.get(name, UNKNOWN), entry.value)
    else:
        out = dict(ctx.annotations)
    for key, value in ctx.add.items():
        out.setdefault(key, value)
    return out


def _normalise(rule: Rule, value: str) -> str:
    if rule.value in ("bool", "onoff"):
        return value.strip().lower()
    if rule.handler == Handler.BACKEND_PROTOCOL:
        return value.strip().upper()
    return value


def _set(ctx: _Context, key: str, value: str) -> str:
    """Adds a Higress annotation unless the Ingress already sets it; returns the report's target text."""
    if key in ctx.annotations:
        return f"{key}: {ctx.annotations[key]!r} (already set, kept)"
    ctx.add[key] = value
    return f"{key}: {value!r}"


# -- handlers ----------------------------------------------------------------------------------------------------------
def _timeout(ctx, name, value, parsed, rule) -> Entry:
    seconds = []
    for key in TIMEOUT_KEYS:
        raw = ctx.nginx(key)
        if raw is not None:
            try:
                seconds.append(parse_value("duration", raw))
            except ValueError:
                pass
    total = max(1, math.ceil(max(seconds)))
    target = _set(ctx, HIGRESS + "timeout", str(total))
    note = (f"Higress has one total route timeout, not per phase: the largest of connect/send/read "
            f"({total}s) is used; this key alone was {parsed:g}s")
    return Entry(NGINX + name, value, CONVERTED, target, note)


def _rate_limit(ctx, name, value, parsed, rule) -> Entry:
    target_name = {"limit-rps": "route-limit-rps", "limit-rpm": "route-limit-rpm",
                   "limit-burst-multiplier": "route-limit-burst-multiplier"}[name]
    target = _set(ctx, HIGRESS + target_name, str(parsed))
    note = ("ingress-nginx limits per client IP; Higress route-limit counts per route per gateway pod "
            "(for per-client limits use the key-rate-limit plugin)")
    return Entry(NGINX + name, value, CONVERTED, target, note)


def _forwarded_prefix(ctx, name, value, parsed, rule) -> Entry:
    key = HIGRESS + "request-header-control-add"
    line = f"X-Forwarded-Prefix {value}"
    existing = ctx.add.get(key) or ctx.annotations.get(key)
    ctx.add[key] = f"{existing}\n{line}" if existing else line
    if key in ctx.annotations:  # merge into the user's own header list rather than dropping our line
        ctx.annotations = dict(ctx.annotations)
        ctx.annotations.pop(key)
    return Entry(NGINX + name, value, CONVERTED, f"{key}: {line!r}", "sent as a request header to the backend")


def _backend_protocol(ctx, name, value, parsed, rule) -> Entry:
    upper = value.strip().upper()
    if upper in SUPPORTED_PROTOCOLS:
        return Entry(NGINX + name, value, NATIVE, _native_target(ctx, name, value), "")
    if upper in ("AUTO_HTTP", "FCGI", "AJP"):
        return Entry(NGINX + name, value, UNSUPPORTED, None,
                     f"Higress supports {', '.join(SUPPORTED_PROTOCOLS)} only; {upper} has no equivalent")
    return Entry(NGINX + name, value, INVALID, None, f"{value!r} is not a backend protocol")


def _load_balance(ctx, name, value, parsed, rule) -> Entry:
    note = "Higress falls back to round robin for ewma" if value.strip().lower() == "ewma" else ""
    return Entry(NGINX + name, value, NATIVE, _native_target(ctx, name, value), note)


def _affinity_mode(ctx, name, value, parsed, rule) -> Entry:
    mode = value.strip().lower()
    if mode == "balanced":
        return Entry(NGINX + name, value, CONVERTED, None, "balanced is Higress's only affinity mode: key not needed")
    if mode == "persistent":
        return Entry(NGINX + name, value, UNSUPPORTED, None, "Higress has no persistent affinity mode")
    return Entry(NGINX + name, value, INVALID, None, f"{value!r} is not balanced or persistent")


def _basic_auth(ctx, name, value, parsed, rule) -> Entry:
    auth_type = (ctx.nginx("auth-type") or "").strip().lower()
    if name == "auth-type" and parsed == "digest":
        return Entry(NGINX + name, value, UNSUPPORTED, None, "Higress has no digest authentication")
    if name == "auth-type":
        ctx.plugins["basic-auth"] = {"allow": []}
        return Entry(NGINX + name, value, PLUGIN, ctx.plugin_target("basic-auth"),
                     "route allows no consumer until consumers are added to the plugin (see auth-secret)")
    if name in ("auth-secret", "auth-secret-type"):
        target = ctx.plugin_target("basic-auth") if auth_type == "basic" else None
        return Entry(NGINX + name, value, MANUAL, target,
                     "htpasswd hashes cannot become basic-auth credentials: add consumers "
                     "(name, user:password) to the plugin and list them in this route's allow")
    return Entry(NGINX + name, value, rule.status, None, rule.note)


def _ext_auth(ctx, name, value, parsed, rule) -> Entry:
    url = ctx.nginx("auth-url")
    if name == "auth-signin":
        return Entry(NGINX + name, value, MANUAL, ctx.plugin_target("ext-auth") if url else None,
                     "ext-auth cannot redirect to a sign-in page: have the auth service answer with the "
                     "redirect, or do it in the application")
    if url is None:
        return Entry(NGINX + name, value, MANUAL, None, "no auth-url on this Ingress: nothing to attach it to")
    config = ctx.plugins.get("ext-auth")
    if config is None:
        try:
            config, problem = _ext_auth_config(ctx, url)
        except ValueError as exc:
            return Entry(NGINX + name, value, INVALID, None, str(exc))
        ctx.plugins["ext-auth"] = config
        ctx.ext_auth_problem = problem
    problem = ctx.ext_auth_problem
    status, note = PLUGIN, "forward_auth mode"
    if name == "auth-url" and problem:
        status, note = MANUAL, problem
    return Entry(NGINX + name, value, status, ctx.plugin_target("ext-auth"), note)


def _ext_auth_config(ctx: _Context, url: str) -> tuple[dict, str]:
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    problems = []
    if "$" in url:
        problems.append("nginx variables in the auth URL ($host, $escaped_request_uri ...) must be reviewed")
    labels = host.split(".")
    if host.endswith(".svc.cluster.local") or host.endswith(".svc"):
        service = ".".join(labels[:2]) + ".svc.cluster.local"
    elif len(labels) == 2 and not host.replace(".", "").isdigit():  # service.namespace
        service = f"{host}.svc.cluster.local"
    else:
        service = f"{host}.dns"
        problems.append(f"{host} is outside the cluster: add a DNS service source for it to McpBridge")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    endpoint = {"service_name": service, "service_port": port, "path": path,
                "request_method": (ctx.nginx("auth-method") or "GET").upper()}
    config = {"http_service": {"endpoint_mode": "forward_auth", "endpoint": endpoint, "timeout": 2000}}
    headers = [h.strip() for h in (ctx.nginx("auth-response-headers") or "").split(",") if h.strip()]
    if headers:
        config["http_service"]["authorization_response"] = {
            "allowed_upstream_headers": [{"exact": h} for h in headers]}
    return config, "; ".join(problems)


def _ip_restriction(ctx, name, value, parsed, rule) -> Entry:
    ctx.plugins["ip-restriction"] = {"ip_source_type": "origin-source", "deny": parsed, "status": 403}
    return Entry(NGINX + name, value, PLUGIN, ctx.plugin_target("ip-restriction"), "deny list")


def _waf(ctx, name, value, parsed, rule) -> Entry:
    enabled = (ctx.nginx("enable-modsecurity") or "").strip().lower() == "true"
    if not enabled:
        note = "ModSecurity is not enabled on this Ingress: nothing to carry over"
        return Entry(NGINX + name, value, CONVERTED, None, note)
    config = ctx.plugins.setdefault("waf", {"useCRS": False})
    if name == "enable-owasp-core-rules":
        config["useCRS"] = bool(parsed)
        return Entry(NGINX + name, value, PLUGIN, ctx.plugin_target("waf"), "useCRS")
    if name == "modsecurity-snippet":
        rules = [line.strip() for line in value.splitlines() if line.strip() and not line.strip().startswith("#")]
        config["secRules"] = rules
        return Entry(NGINX + name, value, MANUAL, ctx.plugin_target("waf"),
                     "rules copied to secRules: review them, the waf plugin (Coraza) differs from ModSecurity")
    return Entry(NGINX + name, value, PLUGIN, ctx.plugin_target("waf"), "")


HANDLERS = {
    Handler.TIMEOUT: _timeout, Handler.RATE_LIMIT: _rate_limit, Handler.FORWARDED_PREFIX: _forwarded_prefix,
    Handler.BACKEND_PROTOCOL: _backend_protocol, Handler.LOAD_BALANCE: _load_balance,
    Handler.AFFINITY_MODE: _affinity_mode, Handler.BASIC_AUTH: _basic_auth, Handler.EXT_AUTH: _ext_auth,
    Handler.IP_RESTRICTION: _ip_restriction, Handler.WAF: _waf,
}
assert set(HANDLERS) == set(Handler), "every Handler has its function"


def _implicit_ssl_redirect(ctx: _Context) -> list[Entry]:
    """ingress-nginx redirects TLS hosts to HTTPS by default; Higress only when ssl-redirect is "true"."""
    if not (ctx.ingress.get("spec") or {}).get("tls"):
        return []
    if ctx.nginx("ssl-redirect") is not None or ctx.nginx("force-ssl-redirect") is not None:
        return []
    target = _set(ctx, HIGRESS + "ssl-redirect", "true")
    return [Entry(NGINX + "ssl-redirect", None, CONVERTED, target,
                  "not set: ingress-nginx redirects TLS Ingresses to HTTPS by default, Higress only when asked")]


def wasm_plugin(plugin: str, match_rules: list[dict], options: MigrateOptions) -> dict:
    """One WasmPlugin per plugin kind, active only on the migrated Ingresses (one match rule each)."""
    spec = {
        "url": f"oci://{options.plugin_registry.rstrip('/')}/{plugin}:{options.plugin_version}",
        "defaultConfigDisable": True,
        "matchRules": sorted(match_rules, key=lambda r: r["ingress"]),
    }
    if plugin == "basic-auth":  # consumers live in the global config; routes name the ones they allow
        spec["defaultConfig"] = {"consumers": [], "global_auth": False}
        spec["defaultConfigDisable"] = False
    return {
        "apiVersion": "extensions.higress.io/v1alpha1",
        "kind": "WasmPlugin",
        "metadata": {
            "name": f"migrated-{plugin}",
            "namespace": options.higress_namespace,
            "labels": {"app.kubernetes.io/managed-by": "hgbackup"},
            "annotations": {"hgbackup.io/migrated-from": "ingress-nginx"},
        },
        "spec": spec,
    }
