"""Annotations that become HTTPRoute filters or fields beyond paths and redirects: mirror (RequestMirror), CORS
(the CORS filter, experimental channel), retries (`retry`, experimental channel).

Facts: ingress-nginx internal/ingress/annotations/cors/main.go (defaults, origin validation) and
rootfs/etc/nginx/template (proxy_next_upstream); alibaba/higress conversion.go createCorsFilter (exact origin
matches), createMirrorFilter, convertHTTPRoute's retry (attempts, codes; connect failures always retried).
"""

from __future__ import annotations

import re

from ..model import Entry
from ..rules import CONVERTED, MANUAL, UNSUPPORTED, mirror_target, nginx_cors_origins, parse_bool, parse_value
from .context import GwContext, experimental

HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$")
METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
CORS_DEFAULTS = {"methods": "GET, PUT, POST, DELETE, PATCH, OPTIONS", "max_age": 1728000,
                 "headers": "DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,"
                            "Content-Type,Range,Authorization"}
RETRY_CODES = {"http_500": 500, "http_502": 502, "http_503": 503, "http_504": 504, "http_403": 403,
               "http_404": 404, "http_429": 429}


def retry(ctx: GwContext, key: str) -> Entry:
    if key == "proxy-next-upstream-timeout":
        return ctx.entry(key, UNSUPPORTED, None, "no HTTPRoute field bounds the whole retry phase")
    blocked = experimental(ctx, key, "HTTPRoute retry")
    if blocked or ctx.grpc:
        return blocked or ctx.entry(key, MANUAL, None, "GRPCRoute has no retry field")
    tokens = (ctx.nginx("proxy-next-upstream") or "error timeout").split()
    tries_text = ctx.nginx("proxy-next-upstream-tries")
    tries = parse_value("int", tries_text) if tries_text is not None else 3  # ingress-nginx default
    if tries == 0:
        return ctx.entry(key, MANUAL, None, "0 means unlimited tries to ingress-nginx: set the number you want")
    if "off" in tokens:
        ctx.retry = {"attempts": 0}
        return ctx.entry(key, CONVERTED, ctx.field("retry attempts 0"))
    codes = sorted({RETRY_CODES[t] for t in tokens if t in RETRY_CODES})
    ctx.retry = {"attempts": max(tries - 1, 0), **({"codes": codes} if codes else {})}
    note = ("Higress also retries connect failures and resets, for any method; nginx skips non-idempotent "
            "requests unless non_idempotent is listed")
    return ctx.entry(key, CONVERTED, ctx.field(f"retry attempts {ctx.retry['attempts']}"), note)


def mirror(ctx: GwContext, key: str) -> Entry:
    if key == "mirror-percentage":
        if ctx.mirror is None:
            return ctx.entry(key, CONVERTED, None, "no mirror target: nothing to carry over")
        ctx.mirror["percent"] = max(0, min(100, parse_value("int", ctx.nginx(key))))
        return ctx.entry(key, CONVERTED, ctx.field("filters RequestMirror percent"))
    if key in ("mirror-target-fqdn", "mirror-target-fqdn-port"):
        return ctx.entry(key, MANUAL, None, "mirroring to a host outside the cluster needs a McpBridge service "
                                            "source and a backendRef of group networking.higress.io")
    value = ctx.nginx(key).strip()
    if key == "mirror-target-service":
        ns, _, rest = value.rpartition("/")
        name, _, port = rest.partition(":")
    else:
        target = mirror_target(value)
        if target is None or target.scheme != "http" or target.service is None:
            return ctx.entry(key, MANUAL, None, "RequestMirror sends whole requests to a Service: only "
                                                "http://<svc>.<ns>.svc[:port]$request_uri carries over")
        (ns, name), port = target.service, str(target.port)
    if not port.isdigit():
        return ctx.entry(key, MANUAL, None, "a mirror backendRef needs the Service port number")
    ref = {"name": name, "port": int(port)}
    if ns and ns != ctx.namespace:
        ref["namespace"] = ns
        ctx.grants.add((ns, name))
    ctx.mirror = {"backendRef": ref}
    return ctx.entry(key, CONVERTED, ctx.field(f"filters RequestMirror {ns or ctx.namespace}/{name}:{port}"),
                     "a ReferenceGrant lets the route reach the other namespace" if "namespace" in ref else "")


def _cors_origins(raw: str | None) -> tuple[list[str], str]:
    origins, refused = nginx_cors_origins(raw)
    if refused:
        return origins, "nginx refuses the value and allows * (cors/main.go)"
    odd = [o for o in origins if "*" in o or o == "null" or "://" not in o]
    if odd:
        return [], f"Higress matches CORS origins exactly: {', '.join(odd)} cannot carry over"
    return origins, ""


def cors(ctx: GwContext, key: str) -> Entry:
    if not parse_bool(ctx.nginx("enable-cors") or "false"):
        return ctx.entry(key, CONVERTED, None, "CORS is not enabled on this Ingress: nothing to carry over")
    blocked = experimental(ctx, key, "the CORS filter")
    if blocked or ctx.grpc:
        return blocked or ctx.entry(key, MANUAL, None, "GRPCRoute has no CORS filter")
    if ctx.cors is None:
        origins, problem = _cors_origins(ctx.nginx("cors-allow-origin"))
        if not origins:
            return ctx.entry(key, MANUAL, None, problem)
        ctx.cors = _cors_filter(ctx, origins)
        ctx.cors_note = problem
    note = ctx.cors_note if key in ("enable-cors", "cors-allow-origin") else ""
    return ctx.entry(key, CONVERTED, ctx.field("filters CORS"), note)


def _split(text: str, pattern: re.Pattern) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip() and pattern.match(p.strip())]


def _cors_filter(ctx: GwContext, origins: list[str]) -> dict:
    methods = [m.upper() for m in (ctx.nginx("cors-allow-methods") or CORS_DEFAULTS["methods"]).split(",")]
    credentials = ctx.nginx("cors-allow-credentials")
    max_age = ctx.nginx("cors-max-age")
    out = {"allowOrigins": origins,
           "allowMethods": [m.strip() for m in methods if m.strip() in METHODS],
           "allowHeaders": _split(ctx.nginx("cors-allow-headers") or CORS_DEFAULTS["headers"], HEADER_NAME),
           "allowCredentials": parse_bool(credentials) if credentials is not None else True,
           "maxAge": parse_value("int", max_age) if max_age is not None else CORS_DEFAULTS["max_age"]}
    expose = _split(ctx.nginx("cors-expose-headers") or "", HEADER_NAME)
    if expose:
        out["exposeHeaders"] = expose
    return out


