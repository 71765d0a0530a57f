"""Annotations carried over by a generated WasmPlugin (basic-auth, ext-auth, ip-restriction, waf; rate limits in
ratelimit.py), and the generated plugins themselves, with the phase and priority of each plugin's README
(alibaba/higress plugins/wasm-go/extensions/<plugin>/README.md). What each plugin's parser accepts is checked by the
tests (tests/plugin_parsers.py), from the plugins' sources."""

from __future__ import annotations

from urllib.parse import urlsplit

from .ingress import ratelimit
from .model import Context, Entry, MigrateOptions, generated_metadata
from .rules import CONVERTED, INVALID, MANUAL, NGINX, PLUGIN, UNSUPPORTED, Handler


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
    if name == "auth-url":
        note += "; " + ONLY_200
    if name == "auth-url" and problem:
        status, note = MANUAL, problem
    return Entry(NGINX + name, value, status, ctx.plugin_target("ext-auth"), note)


# nginx's auth_request lets any 2xx answer through; ext-auth resumes the request only on 200 and sends any other
# answer to the client (ext-auth main.go checkExtAuth).
ONLY_200 = ("Higress lets only a 200 answer of the auth service through (ext-auth main.go), nginx any 2xx: check "
            "that it answers 200")
# oauth2-proxy's auth endpoint (default proxy prefix /oauth2) answers 202 to a signed-in user
# (oauth2-proxy oauthproxy.go AuthOnly).
OAUTH2_PROXY = ("oauth2-proxy answers {path} with 202 to signed-in users (oauthproxy.go AuthOnly) and Higress "
                "ext-auth lets only 200 through (main.go): every signed-in user would get a bare 202, the route "
                "would be unusable (not open). Use Higress's oidc plugin instead, or put oauth2-proxy in front of "
                "the service (its --upstream mode)")


def _ext_auth_config(ctx: Context, url: str) -> tuple[dict, str]:
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    problems = []
    if parts.path.rstrip("/").endswith("/oauth2/auth"):
        problems.append(OAUTH2_PROXY.format(path=parts.path))
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


def ip_restriction(which: str, cidrs: list[str]) -> dict:
    """An ip-restriction config: `allow` or `deny` (its parser takes one, not both: main.go parseConfig) by the
    connection's address, answered 403 as nginx's deny."""
    return {"ip_source_type": "origin-source", which: cidrs, "status": 403}


def _ip_restriction(ctx, name, value, parsed, rule) -> Entry:
    ctx.plugins["ip-restriction"] = ip_restriction("deny", parsed)
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
    Handler.RATE_LIMIT: ratelimit.rate_limit, Handler.BASIC_AUTH: _basic_auth, Handler.EXT_AUTH: _ext_auth,
    Handler.IP_RESTRICTION: _ip_restriction, Handler.WAF: _waf,
}


# Phase and priority of each generated plugin, from its README in alibaba/higress plugins/wasm-go/extensions/.
PLUGIN_ORDER = {"ext-auth": ("AUTHN", 360), "ip-restriction": ("AUTHN", 210), "waf": ("AUTHZ", 330),
                ratelimit.PLUGIN_NAME: ("UNSPECIFIED_PHASE", 20)}


def wasm_plugin(plugin: str, match_rules: list[dict], options: MigrateOptions, name: str | None = None) -> dict:
    """One WasmPlugin of a plugin kind (`migrated-<plugin>` unless `name`), active only on the migrated routes (one
    match rule each)."""
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
        "metadata": generated_metadata(f"migrated-{name or plugin}", options.higress_namespace),
        "spec": spec,
    }
