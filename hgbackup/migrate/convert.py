"""Convert ingress-nginx Ingresses for Higress: every nginx annotation gets exactly one report entry.

`migrate()` is pure: objects in, converted objects plus generated WasmPlugins and a report out. The per-key
behaviour lives in rules.RULES; the handlers below carry over the keys that need more than a status.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..sanitize import stored_form
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
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
DEFAULT_REGISTRY = "higress-registry.cn-hangzhou.cr.aliyuncs.com/plugins"
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
        if self.globals is not None:
            doc["global"] = self.globals.as_json()
        return doc


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
        return f"{meta.get('namespace', 'default')}/{meta.get('name') or meta.get('generateName', '')}"

    def nginx(self, name: str):
        return self.annotations.get(NGINX + name)

    def plugin_target(self, plugin: str) -> str:
        return f"WasmPlugin {self.options.higress_namespace}/migrated-{plugin}"


def ingress_class(obj: dict) -> str | None:
    return (obj.get("spec") or {}).get("ingressClassName") or (
        (obj.get("metadata") or {}).get("annotations") or {}).get(CLASS_ANNOTATION)


INGRESS_VERSIONS = ("networking.k8s.io/v1", "networking.k8s.io/v1beta1", "extensions/v1beta1")


def select_ingresses(objects: list[dict], options: MigrateOptions) -> tuple[list[dict], list[dict]]:
    """Ingresses of --ingress-class (and, with --include-unclassed, those without a class); every Ingress left out
    is named with the reason and the flag that would include it."""
    chosen, skipped = [], []
    for obj in objects:
        if obj.get("kind") != "Ingress" or obj.get("apiVersion") not in INGRESS_VERSIONS:
            continue
        cls = ingress_class(obj)
        if cls == options.ingress_class or (cls is None and options.include_unclassed):
            chosen.append(obj)
            continue
        meta = obj.get("metadata") or {}
        name = meta.get("name") or f"{meta.get('generateName', '')}*"
        if cls is None:
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
    ctx = _Context(obj, options, annotations)
    entries = []
    for key in sorted(k for k in annotations if k.startswith(NGINX)):
        name = key[len(NGINX):]
        entries.append(_entry(ctx, name, RULES.get(name, UNKNOWN)))
    entries += _implicit_ssl_redirect(ctx)
    out = copy.deepcopy(stored_form(obj))  # no uid, resourceVersion, managedFields, status ...
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
    """Higress has one total route timeout (higress.io/timeout); ingress-nginx has per-phase ones. The largest
    send/read timeout becomes the total; a connect timeout alone has no counterpart and is not made one."""
    phases = {}
    for key in ("proxy-send-timeout", "proxy-read-timeout"):
        raw = ctx.nginx(key)
        try:
            phases[key] = parse_value("seconds", raw) if raw is not None else None
        except ValueError:
            phases[key] = None
    usable = [v for v in phases.values() if v is not None and v > 0]
    if name == "proxy-connect-timeout":
        note = "Higress has no per-route connect timeout (only one total route timeout): nothing was set"
        return Entry(NGINX + name, value, MANUAL if not usable else CONVERTED, None,
                     note if not usable else note + "; the send/read timeouts make the total")
    total = max(usable) if usable else parsed
    target = _set(ctx, HIGRESS + "timeout", str(total))
    note = (f"Higress has one total route timeout, not per phase: the largest of send/read ({total}s) is used; "
            f"this key alone was {parsed}s")
    return Entry(NGINX + name, value, CONVERTED, target, note)


def _rate_limit(ctx, name, value, parsed, rule) -> Entry:
    per_ip = ("ingress-nginx limits per client IP; higress.io/route-limit-* counts per route per gateway pod: for a "
              "per-client limit use the cluster-key-rate-limit plugin (limit_by_per_ip)")
    if name == "limit-rps" and ctx.nginx("limit-rpm") is not None:
        return Entry(NGINX + name, value, MANUAL, None,
                     "limit-rpm is set too: Higress keeps the rpm limit and drops rps (local_rate_limit.go); "
                     + per_ip)
    target_name = {"limit-rps": "route-limit-rps", "limit-rpm": "route-limit-rpm",
                   "limit-burst-multiplier": "route-limit-burst-multiplier"}[name]
    target = _set(ctx, HIGRESS + target_name, str(parsed))
    return Entry(NGINX + name, value, CONVERTED, target, per_ip)


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
    """Higress parses nginx's auth-* keys but they have no effect since 2.0 (auth.go): the basic-auth plugin does
    it, and it refuses a config without consumers. htpasswd hashes cannot become its credentials, so no plugin is
    generated: the route is open under Higress until someone adds consumers. Always manual, never silent."""
    unprotected = "the route is UNPROTECTED under Higress until then"
    if name == "auth-type" and parsed == "digest":
        return Entry(NGINX + name, value, UNSUPPORTED, None, f"Higress has no digest authentication: {unprotected}")
    if name == "auth-type":
        return Entry(NGINX + name, value, MANUAL, "WasmPlugin basic-auth (consumers with user:password)",
                     "htpasswd hashes cannot become basic-auth credentials: add a basic-auth plugin with a consumer "
                     f"per user of {ctx.nginx('auth-secret') or 'the auth Secret'} and allow them on this route; "
                     + unprotected)
    if name in ("auth-secret", "auth-secret-type"):
        return Entry(NGINX + name, value, MANUAL, None, "users for the basic-auth plugin's consumers (see auth-type)")
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
    namespace = (ctx.ingress.get("metadata") or {}).get("namespace", "default")
    if host.endswith(".svc.cluster.local") or host.endswith(".svc"):
        service = ".".join(labels[:2]) + ".svc.cluster.local"
    elif len(labels) == 1 and host:  # a Service of the Ingress's own namespace
        service = f"{host}.{namespace}.svc.cluster.local"
    else:  # example.com is not service.namespace: anything else is outside the cluster, never guessed in
        service = f"{host}.dns"
        problems.append(f"{host} is outside the cluster: add a DNS service source for it to McpBridge")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    endpoint = {"service_name": service, "service_port": port, "path": path,
                "request_method": (ctx.nginx("auth-method") or "GET").upper()}
    config = {"http_service": {"endpoint_mode": "forward_auth", "endpoint": endpoint, "timeout": 2000}}
    if ctx.nginx("auth-signin"):
        # oauth2-proxy/authelia style: the session is a cookie, and ext-auth forwards only Authorization and
        # X-Forwarded-* unless told (ext-auth config.go authorization_request.allowed_headers)
        config["http_service"]["authorization_request"] = {"allowed_headers": [{"exact": "cookie"}]}
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


RENAMED = {"ssl-ciphers": "ssl-cipher", "allowlist-source-range": "whitelist-source-range"}
HASH_VARIABLES = re.compile(r"^\$(request_uri|host|remote_addr|http_[A-Za-z0-9_]+|arg_[A-Za-z0-9_]+)$")


def _canary(ctx, name, value, parsed, rule) -> Entry:
    """Higress applies one mechanism per canary Ingress and never falls back (canary.go Parse and CanaryKind:
    header, else cookie, else weight); ingress-nginx tries header, then cookie, then weight for each request."""
    header, cookie = ctx.nginx("canary-by-header"), ctx.nginx("canary-by-cookie")
    if name == "canary-weight" and (header or cookie):
        by = "header" if header else "cookie"
        total = ctx.nginx("canary-weight-total") or "100"
        return Entry(NGINX + name, value, MANUAL, None,
                     f"Higress ignores the weight beside canary-by-{by}: the {value.strip()}/{total.strip()} of "
                     f"requests without the {by} that ingress-nginx sends to the canary would all stay on the "
                     "main backend; split this into two canary Ingresses or drop one mechanism")
    if name == "canary-by-cookie" and header:
        return Entry(NGINX + name, value, MANUAL, None,
                     "Higress ignores the cookie beside canary-by-header (canary.go ApplyByHeader): requests with "
                     "the cookie but without the header would no longer reach the canary")
    return Entry(NGINX + name, value, NATIVE, _native_target(ctx, name, value), rule.note)


def _retry(ctx, name, value, parsed, rule) -> Entry:
    if parsed == 0:
        return Entry(NGINX + name, value, MANUAL, None,
                     "0 means unlimited tries to ingress-nginx but no retry at all to Higress (retry.go): set "
                     "the number of tries you want")
    return Entry(NGINX + name, value, NATIVE, _native_target(ctx, name, value), rule.note)


def _rename(ctx, name, value, parsed, rule) -> Entry:
    new = RENAMED[name]
    if ctx.nginx(new) is not None:
        return Entry(NGINX + name, value, CONVERTED, None, f"{new} is set as well and is what Higress reads")
    target = _set(ctx, HIGRESS + new, value.strip())
    return Entry(NGINX + name, value, CONVERTED, target, rule.note)


def _mirror(ctx, name, value, parsed, rule) -> Entry:
    """ingress-nginx mirrors to a URL; Higress to a Service (`ns/name:port`) or an FQDN and port (mirror.go)."""
    text = value.strip()
    base = text[: -len("$request_uri")] if text.endswith("$request_uri") else text
    parts = urlsplit(base)
    if (parts.scheme not in ("http", "https") or not parts.hostname or "$" in base
            or parts.path not in ("", "/") or parts.query):
        return Entry(NGINX + name, value, MANUAL, None,
                     "Higress mirrors whole requests to a service: only http(s)://host[:port]$request_uri carries "
                     "over")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    labels = parts.hostname.split(".")
    if parts.hostname.endswith((".svc", ".svc.cluster.local")) and len(labels) >= 3:
        target = _set(ctx, HIGRESS + "mirror-target-service", f"{labels[1]}/{labels[0]}:{port}")
    else:
        target = _set(ctx, HIGRESS + "mirror-target-fqdn", parts.hostname)
        _set(ctx, HIGRESS + "mirror-target-fqdn-port", str(port))
        target += f", {HIGRESS}mirror-target-fqdn-port: '{port}'"
    note = "https to the mirror is not carried over: Higress sends it the request as is" if (
        parts.scheme == "https") else ""
    return Entry(NGINX + name, value, CONVERTED, target, note)


def _auth_tls(ctx, name, value, parsed, rule) -> Entry:
    """mTLS is on only when the CA Secret is the Ingress's TLS Secret itself or `<tls-secret>-cacert`, in the
    Ingress's namespace (downstreamtls.go ApplyGateway); otherwise Higress logs "CA secret invalid" and serves
    without client certificates."""
    ns = (ctx.ingress.get("metadata") or {}).get("namespace", "default")
    ca_ns, _, ca_name = value.strip().rpartition("/")
    ca_ns = ca_ns or ns
    tls_names = [t.get("secretName") for t in (ctx.ingress.get("spec") or {}).get("tls") or [] if t.get("secretName")]
    if ca_ns == ns and any(ca_name in (tls, tls + "-cacert") for tls in tls_names):
        return Entry(NGINX + name, value, NATIVE, _native_target(ctx, name, value), rule.note)
    if not tls_names:
        return Entry(NGINX + name, value, MANUAL, None,
                     "this Ingress has no TLS Secret, so Higress cannot turn client-certificate checks on: mTLS "
                     "would be OFF")
    wanted = f"{ns}/{tls_names[0]}-cacert"
    return Entry(NGINX + name, value, MANUAL, f"{NGINX}{name}: {wanted}",
                 f"Higress reads the CA only from the TLS Secret itself or <tls-secret>-cacert in the Ingress's "
                 f"namespace: create Secret {wanted} holding ca.crt from {ca_ns}/{ca_name} and point the "
                 "annotation at it, or mTLS is OFF")


def _redirect(ctx, name, value, parsed, rule) -> Entry:
    text = value.strip()
    if "$" in text:
        return Entry(NGINX + name, value, MANUAL, None,
                     "Higress takes the URL literally (redirect.go): nginx variables are not expanded")
    if not re.match(r"^https?://[^/\s]+", text):
        return Entry(NGINX + name, value, INVALID, None,
                     "Higress redirects only to an absolute http(s) URL (redirect.go isValidURL)")
    return Entry(NGINX + name, value, NATIVE, _native_target(ctx, name, value), rule.note)


def _hash_by(ctx, name, value, parsed, rule) -> Entry:
    if HASH_VARIABLES.match(value.strip()):
        return Entry(NGINX + name, value, NATIVE, _native_target(ctx, name, value), rule.note)
    return Entry(NGINX + name, value, MANUAL, None,
                 "Higress hashes only on $request_uri, $host, $remote_addr, $http_<name> or $arg_<name> "
                 "(loadbalance.go); anything else is round robin")


def _vhost(ctx, name, value, parsed, rule) -> Entry:
    if "$" in value:
        return Entry(NGINX + name, value, MANUAL, None,
                     "Higress sets the Host header to this text literally (rewrite.go): nginx variables are not "
                     "expanded")
    return Entry(NGINX + name, value, NATIVE, _native_target(ctx, name, value), rule.note)


def _harmless(ctx, name, value, parsed, rule) -> Entry:
    """Values that ask for nothing Higress would do differently: nothing to carry over."""
    if (name == "proxy-body-size" and parsed == 0) or (name == "from-to-www-redirect" and parsed is False):
        what = "no body size limit" if name == "proxy-body-size" else "no www redirect"
        return Entry(NGINX + name, value, CONVERTED, None, f"{what}, as Higress does by default: nothing to do")
    return Entry(NGINX + name, value, rule.status, None, rule.note)


HANDLERS = {
    Handler.TIMEOUT: _timeout, Handler.RATE_LIMIT: _rate_limit, Handler.FORWARDED_PREFIX: _forwarded_prefix,
    Handler.BACKEND_PROTOCOL: _backend_protocol, Handler.LOAD_BALANCE: _load_balance,
    Handler.AFFINITY_MODE: _affinity_mode, Handler.BASIC_AUTH: _basic_auth, Handler.EXT_AUTH: _ext_auth,
    Handler.IP_RESTRICTION: _ip_restriction, Handler.WAF: _waf, Handler.CANARY: _canary, Handler.RETRY: _retry,
    Handler.RENAME: _rename, Handler.MIRROR: _mirror, Handler.AUTH_TLS: _auth_tls, Handler.REDIRECT: _redirect,
    Handler.HASH_BY: _hash_by, Handler.VHOST: _vhost, Handler.HARMLESS: _harmless,
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


# Phase and priority of each generated plugin, from its README in alibaba/higress plugins/wasm-go/extensions/.
PLUGIN_ORDER = {"ext-auth": ("AUTHN", 360), "ip-restriction": ("AUTHN", 210), "waf": ("AUTHZ", 330)}
# What each plugin's config parser refuses to start without (its main.go / config.go).
REQUIRED = {
    "ext-auth": ("http_service.endpoint.service_name", "http_service.endpoint.path"),
    "ip-restriction": ("allow|deny",),
    "waf": ("useCRS|secRules",),
}


def config_problems(plugin: str, config: dict) -> list[str]:
    """The documented required fields a plugin config lacks (empty: the plugin's parser accepts it)."""
    missing = []
    for field_path in REQUIRED[plugin]:
        if not any(_dig(config, alt.split(".")) not in (None, "", []) for alt in field_path.split("|")):
            missing.append(field_path)
    return missing


def _dig(node, parts):
    for part in parts:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def wasm_plugin(plugin: str, match_rules: list[dict], options: MigrateOptions) -> dict:
    """One WasmPlugin per plugin kind, active only on the migrated Ingresses (one match rule each)."""
    phase, priority = PLUGIN_ORDER[plugin]
    spec = {
        "url": f"oci://{options.plugin_registry.rstrip('/')}/{plugin}:{options.plugin_version}",
        "phase": phase,
        "priority": priority,
        "defaultConfigDisable": True,
        "matchRules": sorted(match_rules, key=lambda r: r["ingress"]),
    }
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
