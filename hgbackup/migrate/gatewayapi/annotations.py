"""nginx annotations on the Gateway API path: what each becomes on an HTTPRoute, and its one report entry.

Higress does not read route annotations on HTTPRoutes (pkg/ingress/config/ingress_config.go: ApplyRoute runs only
for routes converted from Ingresses), so a key the Ingress path leaves to Higress as `native` must here become an
HTTPRoute field, one of the filters Higress converts (conversion.go convertHTTPRoute: RequestHeaderModifier,
ResponseHeaderModifier, RequestRedirect, RequestMirror, URLRewrite, CORS), a plugin, or manual work. Keys the
Ingress path already reports as plugin, manual, unsupported or invalid keep that entry (rules.RULES stays the one
table of value types and sources); GATEWAY below lists every other key.
"""

from __future__ import annotations

import re

from ...kube import names
from ..model import Entry
from ..rules import (
    CONVERTED,
    INVALID,
    MANUAL,
    NGINX,
    PLUGIN,
    UNSUPPORTED,
    parse_bool,
    parse_value,
    split_url,
    total_timeout,
)
from .context import GwContext, ingress_only
from .filters import cors, mirror, retry

HIGRESS_HEADERS = {"request-header-control-add": ("request", "add"), "request-header-control-update":
                   ("request", "set"), "request-header-control-remove": ("request", "remove"),
                   "response-header-control-add": ("response", "add"), "response-header-control-update":
                   ("response", "set"), "response-header-control-remove": ("response", "remove")}


def _rewrite(ctx: GwContext, key: str) -> Entry:
    if ctx.redirect is not None:
        return ctx.entry(key, CONVERTED, None, "the Ingress redirects every request: no rewrite is used")
    if ctx.grpc:
        return ctx.entry(key, MANUAL, None, "GRPCRoute has no URLRewrite filter")
    if ctx.path_problems:
        return ctx.entry(key, MANUAL, None, "; ".join(ctx.path_problems))
    return ctx.entry(key, CONVERTED, ctx.field("filters URLRewrite path"), "; ".join(ctx.path_notes))


def _use_regex(ctx: GwContext, key: str) -> Entry:
    if not parse_bool(ctx.nginx(key)):
        return ctx.entry(key, CONVERTED, None, "false: nothing to carry over")
    if ctx.path_problems:
        return ctx.entry(key, MANUAL, None, "; ".join(ctx.path_problems))
    return ctx.entry(key, CONVERTED, ctx.field("matches"),
                     "nginx matches every path of the host as `~* ^<path>`: a RegularExpression (?i)<path>.*, or a "
                     "PathPrefix where a rewrite-target needs one")


def _vhost(ctx: GwContext, key: str) -> Entry:
    value = ctx.nginx(key).strip()
    if not names.valid_name(value.lower()):  # a PreciseHostname: a DNS-1123 subdomain (apis/v1/shared_types.go)
        return ctx.entry(key, MANUAL, None, "URLRewrite hostname takes a literal host name: nginx variables and "
                                            "ports are not expressible")
    ctx.hostname = value.lower()
    return ctx.entry(key, CONVERTED, ctx.field(f"filters URLRewrite hostname {ctx.hostname}"))


def _forwarded_prefix(ctx: GwContext, key: str) -> Entry:
    if not ctx.nginx("rewrite-target"):
        return ctx.entry(key, CONVERTED, None, "nginx sends X-Forwarded-Prefix only with a rewrite-target "
                                               "(template.go buildProxyPass): nothing to carry over")
    ctx.headers["request"].setdefault("set", {})["X-Forwarded-Prefix"] = ctx.nginx(key)
    return ctx.entry(key, CONVERTED, ctx.field("filters RequestHeaderModifier set X-Forwarded-Prefix"))


def _app_root(ctx: GwContext, key: str) -> Entry:
    value = ctx.nginx(key).strip()
    if not value.startswith("/") or "?" in value or "$" in value:
        return ctx.entry(key, MANUAL, None, "only an absolute path without query or variables is expressible")
    ctx.app_root = value
    return ctx.entry(key, CONVERTED, ctx.field("rule Exact / with RequestRedirect 302"),
                     "nginx answers / with a 302 to the app root (keeping scheme and host)")


def _redirect_target(url: str) -> tuple[dict | None, str]:
    if "$" in url:
        return None, "nginx expands variables in the redirect URL; RequestRedirect cannot"
    try:
        parts = split_url(url)
    except ValueError:
        return None, "RequestRedirect needs an http(s) URL with a host name and a valid port"
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not names.valid_name(host) or re.match(r"^[\d.]+$", host):
        return None, "RequestRedirect needs an http(s) URL with a host name"
    if parts.query or parts.fragment:
        return None, "RequestRedirect cannot set a query string"
    out = {"scheme": parts.scheme, "hostname": host, "path": {"type": "ReplaceFullPath",
                                                              "replaceFullPath": parts.path or "/"}}
    if parts.port:
        out["port"] = parts.port
    return out, ""


def _redirect(ctx: GwContext, key: str) -> Entry:
    if key == "permanent-redirect-code":
        if not ctx.nginx("permanent-redirect"):
            return ctx.entry(key, CONVERTED, None, "no permanent-redirect: nothing to carry over")
        if ctx.redirect is None:
            return ctx.entry(key, MANUAL, None, "the redirect itself is manual work (see permanent-redirect)")
        code = parse_value("int", ctx.nginx(key))
        if code in (301, 302):
            return ctx.entry(key, CONVERTED, ctx.field(f"filters RequestRedirect statusCode {code}"))
        return ctx.entry(key, UNSUPPORTED, ctx.field("filters RequestRedirect statusCode 301"),
                         f"Gateway API's RequestRedirect allows 301 and 302 only: 301 is sent instead of {code}, "
                         "which clients may follow with GET")
    if key == "temporal-redirect" and ctx.nginx("permanent-redirect"):
        return ctx.entry(key, CONVERTED, None, "permanent-redirect is set too and takes precedence (redirect.go)")
    target, problem = _redirect_target(ctx.nginx(key))
    if target is None:
        return ctx.entry(key, MANUAL, None, problem)
    code = 302 if key == "temporal-redirect" else parse_value("int", ctx.nginx("permanent-redirect-code") or "301")
    target["statusCode"] = code if code in (301, 302) else 301
    ctx.redirect = target
    return ctx.entry(key, CONVERTED, ctx.field("filters RequestRedirect (every rule, no backends)"),
                     "the URL as written, request path not appended, as nginx's return does")


def _ssl_redirect(ctx: GwContext, key: str) -> Entry:
    on = parse_bool(ctx.nginx(key))
    if key == "force-ssl-redirect":
        ctx.force_ssl = on
    else:
        ctx.ssl_redirect = on
    if not on:
        if key == "ssl-redirect" and ctx.tls:
            return ctx.entry(key, CONVERTED, ctx.field("parentRefs HTTP and HTTPS listeners"),
                             "no redirect: the route is served on both listeners")
        return ctx.entry(key, CONVERTED, None, "false: nothing to carry over")
    if not ctx.tls:
        if key == "force-ssl-redirect":
            return ctx.entry(key, MANUAL, None, "nginx redirects plain HTTP to HTTPS here although the Ingress has "
                                                "no TLS Secret (TLS ends in front of it?): no HTTPS listener was "
                                                "generated for these hosts, so no redirect either")
        return ctx.entry(key, CONVERTED, None, "no TLS Secret on this Ingress: nginx does not redirect either")
    return ctx.entry(key, CONVERTED, redirect_target(ctx), REDIRECT_NOTE)


REDIRECT_NOTE = ("redirect to https with 301 (Gateway API has no 308, which nginx sends); for the hosts with an "
                 "HTTPS listener")


def redirect_target(ctx: GwContext) -> str:
    return f"{ctx.route}-https-redirect (HTTPRoute on the HTTP listener)"


def implicit_ssl_redirect(ctx: GwContext) -> list[Entry]:
    """ingress-nginx redirects TLS hosts to HTTPS when nothing says otherwise (config.go ssl-redirect: true)."""
    if not ctx.tls or ctx.redirect is not None:
        return []
    if ctx.nginx("ssl-redirect") is not None or ctx.nginx("force-ssl-redirect") is not None:
        return []
    return [Entry(NGINX + "ssl-redirect", None, CONVERTED, redirect_target(ctx),
                  "not set: ingress-nginx redirects TLS hosts to HTTPS by default; " + REDIRECT_NOTE)]


def _timeout(ctx: GwContext, key: str) -> Entry:
    if ctx.grpc:
        return ctx.entry(key, MANUAL, None, "GRPCRoute has no timeouts field")
    total = total_timeout(ctx.nginx)
    if key == "proxy-connect-timeout":
        note = "no connect timeout in Gateway API (only a total request timeout): nothing was set"
        return ctx.entry(key, CONVERTED if total else MANUAL, None,
                         note + ("; the send/read timeouts make the total" if total else ""))
    value = parse_value("seconds", ctx.nginx(key))
    if total is None:
        return ctx.entry(key, CONVERTED, None, f"{value}: no timeout to set")
    ctx.timeouts = {"request": f"{total}s"}
    return ctx.entry(key, CONVERTED, ctx.field(f"timeouts.request {total}s"),
                     f"one total timeout, not per phase: the largest of send/read ({total}s); this key alone was "
                     f"{value}s")


def _allowlist(ctx: GwContext, key: str) -> Entry:
    if key == "whitelist-source-range" and ctx.nginx("allowlist-source-range"):
        return ctx.entry(key, CONVERTED, None, "allowlist-source-range is set too and is the one carried over")
    ctx.allow = parse_value("cidrs", ctx.nginx(key))
    return ctx.entry(key, PLUGIN, f"WasmPlugin {ctx.plugin_namespace}/migrated-ip-allowlist (ip-restriction allow)",
                     "a second ip-restriction plugin: the plugin takes allow or deny, not both (main.go)")


def _backend_protocol(ctx: GwContext, key: str) -> Entry:
    upper = ctx.nginx(key).strip().upper()
    if upper == "HTTP":
        return ctx.entry(key, CONVERTED, None, "the default: nothing to carry over")
    if upper == "GRPC":
        return ctx.entry(key, CONVERTED, ctx.route, "a GRPCRoute")
    hints = {"GRPCS": "a GRPCRoute was generated; TLS to the backend needs a BackendTLSPolicy (it verifies the "
                      "backend certificate, nginx did not by default)",
             "HTTPS": "TLS to the backend needs a BackendTLSPolicy, which verifies the backend certificate (nginx "
                      "did not by default): create one with the backend's CA and hostname",
             "HTTP2": "set appProtocol kubernetes.io/h2c on the Service port"}
    base = ctx.base.get(NGINX + key)
    if upper not in hints:
        return base
    return ctx.entry(key, MANUAL, ctx.route if upper == "GRPCS" else None, hints[upper])


def _canary(ctx: GwContext, key: str) -> Entry:
    if key != "canary" and not parse_bool(ctx.nginx("canary") or "false"):
        return ctx.entry(key, CONVERTED, None, "canary is not true on this Ingress: nothing to carry over")
    if key == "canary" and not parse_bool(ctx.nginx(key)):
        return ctx.entry(key, CONVERTED, None, "false: nothing to carry over")
    if ctx.canary_problem:
        status = CONVERTED if ctx.canary_problem.startswith("no main Ingress") else MANUAL
        return ctx.entry(key, status, None, ctx.canary_problem)
    return ctx.entry(key, CONVERTED, ctx.canary_target,
                     "ingress-nginx's order kept: header, then cookie, then weight (balancer.lua)")


def _rate_limit(ctx: GwContext, key: str) -> Entry:
    """The Ingress path's per-client-IP plugin (cluster-key-rate-limit, with --redis-service) attaches to the routes
    by their names like any plugin; without it the limit is manual, as there."""
    base = ctx.base.get(NGINX + key)
    if base is not None and base.status in (PLUGIN, UNSUPPORTED):
        return base
    return ingress_only("a per-client-IP limit is the cluster-key-rate-limit plugin (limit_by_per_ip), which needs "
                        "a Redis service: give --redis-service")(ctx, key)


LB = "keep this host on an Ingress, or set it in an Istio DestinationRule with Higress's Istio API enabled"
TLS = "set it on the Gateway listener's TLS options by hand"
GATEWAY = {
    **{k: _canary for k in ("canary", "canary-by-header", "canary-by-header-value", "canary-by-header-pattern",
                            "canary-by-cookie", "canary-weight", "canary-weight-total")},
    **{k: cors for k in ("enable-cors", "cors-allow-origin", "cors-allow-methods", "cors-allow-headers",
                          "cors-expose-headers", "cors-allow-credentials", "cors-max-age")},
    "default-backend": ingress_only("the custom-response plugin, or a catch-all rule, can stand in"),
    "custom-http-errors": ingress_only("the custom-response plugin can stand in"),
    "rewrite-target": _rewrite, "use-regex": _use_regex, "upstream-vhost": _vhost, "app-root": _app_root,
    "temporal-redirect": _redirect, "permanent-redirect": _redirect, "permanent-redirect-code": _redirect,
    "ssl-redirect": _ssl_redirect, "force-ssl-redirect": _ssl_redirect,
    "proxy-next-upstream": retry, "proxy-next-upstream-tries": retry, "proxy-next-upstream-timeout": retry,
    "whitelist-source-range": _allowlist, "allowlist-source-range": _allowlist,
    "backend-protocol": _backend_protocol,
    **{k: ingress_only("a BackendTLSPolicy (which always verifies the backend certificate)")
       for k in ("proxy-ssl-secret", "proxy-ssl-verify", "proxy-ssl-name", "proxy-ssl-server-name")},
    **{k: ingress_only("client certificates are checked on the Gateway listener (tls.frontend validation): mTLS "
                       "is OFF until it is set there") for k in ("auth-tls-secret", "auth-tls-verify-client")},
    **{k: ingress_only(TLS) for k in ("ssl-cipher", "ssl-ciphers", "tls-min-protocol-version",
                                      "tls-max-protocol-version")},
    **{k: ingress_only(LB) for k in ("load-balance", "upstream-hash-by", "affinity", "affinity-mode",
                                     "session-cookie-name", "session-cookie-path", "session-cookie-max-age",
                                     "session-cookie-expires")},
    "ignore-path-case": ingress_only("write the paths as case-insensitive RegularExpression matches by hand"),
    **{k: mirror for k in ("mirror-target", "mirror-target-service", "mirror-percentage", "mirror-target-fqdn",
                            "mirror-target-fqdn-port")},
    **{k: _timeout for k in ("proxy-connect-timeout", "proxy-send-timeout", "proxy-read-timeout")},
    **{k: _rate_limit for k in ("limit-rps", "limit-rpm", "limit-burst-multiplier", "limit-whitelist",
                                "limit-allowlist")},
    "x-forwarded-prefix": _forwarded_prefix,
}


def entries(ctx: GwContext, only: tuple = (), skip: tuple = ()) -> list[Entry]:
    """One entry per nginx annotation (and per higress.io/ key, which HTTPRoutes do not read), in key order;
    `only`/`skip` name nginx keys, for the ones that must wait until the paths are converted."""
    out = []
    for key in sorted(ctx.annotations):
        name = key[len(NGINX):] if key.startswith(NGINX) else None
        if (only and name not in only) or (name is not None and name in skip):
            continue
        if name is not None:
            base = ctx.base.get(key)
            if base is not None and base.status == INVALID:
                out.append(base)
            elif name in GATEWAY:
                out.append(GATEWAY[name](ctx, name))
            else:
                out.append(base)
        elif key.startswith("higress.io/"):
            out.append(_higress_key(ctx, key))
    return out


def _higress_key(ctx: GwContext, key: str) -> Entry:
    name = key[len("higress.io/"):]
    value = ctx.annotations[key]
    if name not in HIGRESS_HEADERS:
        return Entry(key, value, UNSUPPORTED, None, "Higress does not read higress.io/ annotations on HTTPRoutes")
    side, op = HIGRESS_HEADERS[name]
    ops = ctx.headers[side]
    if op == "remove":
        ops.setdefault("remove", []).extend(h.strip() for h in value.split(",") if h.strip())
    else:
        for line in value.splitlines():
            header, _, text = line.strip().partition(" ")
            if header:
                ops.setdefault(op, {})[header] = text.strip()
    kind = "RequestHeaderModifier" if side == "request" else "ResponseHeaderModifier"
    return Entry(key, value, CONVERTED, ctx.field(f"filters {kind} {op}"))
