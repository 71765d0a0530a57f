"""The ingress-nginx annotation table: data, not branches.

Every `nginx.ingress.kubernetes.io/<name>` key maps to a Rule: its status on Higress (facts from
shared/higress-reference.md, section 2, which follow the Higress controller code), the type its value must parse as,
and for converted and plugin keys the handler (ingress/handlers.py, regexes.py, ratelimit.py, plugins.py) that
carries it over. Keys not in the table
are `unsupported` (Higress silently ignores them).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from enum import Enum
from urllib.parse import SplitResult, urlsplit

NGINX = "nginx.ingress.kubernetes.io/"
HIGRESS = "higress.io/"

class Status(str, Enum):
    """What became of one nginx annotation."""

    NATIVE = "native"  # Higress reads it as it is
    CONVERTED = "converted"  # rewritten to a higress.io/ annotation
    PLUGIN = "plugin"  # carried over by a generated WasmPlugin
    MANUAL = "manual"  # a person has to act
    UNSUPPORTED = "unsupported"  # no Higress equivalent
    INVALID = "invalid"  # the value is not one ingress-nginx accepts


class Handler(str, Enum):
    """The handler that carries a key over when a status alone does not (ingress/convert.py HANDLERS maps each)."""

    TIMEOUT = "timeout"
    RATE_LIMIT = "rate_limit"
    FORWARDED_PREFIX = "forwarded_prefix"
    BACKEND_PROTOCOL = "backend_protocol"
    LOAD_BALANCE = "load_balance"
    AFFINITY_MODE = "affinity_mode"
    BASIC_AUTH = "basic_auth"
    EXT_AUTH = "ext_auth"
    IP_RESTRICTION = "ip_restriction"
    WAF = "waf"
    CANARY = "canary"
    RETRY = "retry"
    RENAME = "rename"
    MIRROR = "mirror"
    AUTH_TLS = "auth_tls"
    REDIRECT = "redirect"
    HASH_BY = "hash_by"
    VHOST = "vhost"
    REWRITE = "rewrite"
    CORS_ORIGIN = "cors_origin"
    HEADER_PATTERN = "header_pattern"
    CUSTOM_ERRORS = "custom_errors"
    HARMLESS = "harmless"


NATIVE, CONVERTED, PLUGIN, MANUAL, UNSUPPORTED, INVALID = (
    Status.NATIVE, Status.CONVERTED, Status.PLUGIN, Status.MANUAL, Status.UNSUPPORTED, Status.INVALID)
STATUSES = tuple(Status)
NEEDS_WORK = (MANUAL, UNSUPPORTED, INVALID)


@dataclass(frozen=True)
class Rule:
    status: Status
    value: str = "str"  # bool | int | seconds | size | cidrs | url | str | enum:A,B
    handler: Handler | None = None
    note: str = ""
    source: str = ""  # the file of alibaba/higress (H) or kubernetes/ingress-nginx (N) this row follows


H = "alibaba/higress pkg/ingress/kube/annotations/"
N = "kubernetes/ingress-nginx internal/ingress/annotations/"
P = "alibaba/higress plugins/wasm-go/extensions/"


def _native(value: str = "str", note: str = "", source: str = "") -> Rule:
    return Rule(NATIVE, value, None, note, source)


def _unsupported(value: str = "str", note: str = "no Higress equivalent", source: str = "") -> Rule:
    return Rule(UNSUPPORTED, value, None, note, source)


SNIPPET = "no Higress equivalent: nginx configuration has to become a custom Wasm plugin"
CANARY, CORS, DEFAULT_BACKEND = H + "canary.go", H + "cors.go", H + "default_backend.go"
REWRITE, REDIRECT, RETRY = H + "rewrite.go", H + "redirect.go", H + "retry.go"
UPSTREAM_TLS, DOWNSTREAM_TLS, LOAD_BALANCE = H + "upstreamtls.go", H + "downstreamtls.go", H + "loadbalance.go"
MIRROR, AUTH, IP = H + "mirror.go", H + "auth.go", H + "ip_access_control.go"
TIMEOUT = H + "timeout.go (higress.io/timeout); " + N + "proxy/main.go (GetIntAnnotation: bare seconds)"
RATE = H + "local_rate_limit.go; " + N + "ratelimit/main.go; " + P + "cluster-key-rate-limit/config/config.go"

RULES: dict[str, Rule] = {
    # A. read by Higress under both prefixes
    "canary": _native("bool", source=CANARY),
    "canary-by-header": Rule(NATIVE, "str", Handler.CANARY, source=CANARY),
    "canary-by-header-value": _native(source=CANARY),
    "canary-by-header-pattern": Rule(NATIVE, "str", Handler.HEADER_PATTERN,
                                     source=CANARY + "; kubernetes/ingress-nginx rootfs/etc/nginx/lua/balancer.lua"),
    "canary-by-cookie": Rule(NATIVE, "str", Handler.CANARY, source=CANARY),
    "canary-weight": Rule(NATIVE, "int", Handler.CANARY, source=CANARY),
    "canary-weight-total": _native("int", source=CANARY),
    "enable-cors": _native("bool", source=CORS),
    "cors-allow-origin": Rule(NATIVE, "str", Handler.CORS_ORIGIN, source=CORS + "; " + N + "cors/main.go"),
    "cors-allow-methods": _native(source=CORS),
    "cors-allow-headers": _native(source=CORS),
    "cors-expose-headers": _native(source=CORS),
    "cors-allow-credentials": _native("bool", source=CORS),
    "cors-max-age": _native("int", source=CORS),
    "default-backend": _native(source=DEFAULT_BACKEND),
    "custom-http-errors": Rule(MANUAL, "str", Handler.CUSTOM_ERRORS,
                               source=DEFAULT_BACKEND + "; kubernetes/ingress-nginx rootfs/etc/nginx/template/"
                               "nginx.tmpl (CUSTOM_ERRORS)"),
    "rewrite-target": Rule(NATIVE, "str", Handler.REWRITE,
                           source=REWRITE + "; kubernetes/ingress-nginx internal/ingress/controller/template/"
                           "template.go (buildProxyPass); nginx src/http/modules/ngx_http_rewrite_module.c"),
    "use-regex": _native("bool", source=REWRITE),
    "upstream-vhost": Rule(NATIVE, "str", Handler.VHOST, source=REWRITE),
    "app-root": _native(source=REDIRECT),
    "temporal-redirect": Rule(NATIVE, "str", Handler.REDIRECT, source=REDIRECT),
    "permanent-redirect": Rule(NATIVE, "str", Handler.REDIRECT, source=REDIRECT),
    "permanent-redirect-code": _native("int", source=REDIRECT),
    "ssl-redirect": _native("bool", source=REDIRECT),
    "force-ssl-redirect": _native("bool", source=REDIRECT),
    "proxy-next-upstream": Rule(NATIVE, "str", Handler.RETRY, source=RETRY + "; " + N + "proxy/main.go"),
    "proxy-next-upstream-tries": Rule(NATIVE, "int", Handler.RETRY, source=RETRY),
    "proxy-next-upstream-timeout": Rule(NATIVE, "seconds", Handler.RETRY, source=RETRY + "; " + N + "proxy/main.go"),
    "whitelist-source-range": _native("cidrs", source=IP),
    "allowlist-source-range": Rule(CONVERTED, "cidrs", Handler.RENAME,
                                   "Higress reads only the old name whitelist-source-range",
                                   IP + "; " + N + "ipallowlist/main.go"),
    "backend-protocol": Rule(NATIVE, "str", Handler.BACKEND_PROTOCOL, source=UPSTREAM_TLS),
    "proxy-ssl-secret": _native(source=UPSTREAM_TLS),
    "proxy-ssl-verify": _native("onoff", source=UPSTREAM_TLS),
    "proxy-ssl-name": _native(source=UPSTREAM_TLS),
    "proxy-ssl-server-name": _native("onoff", source=UPSTREAM_TLS),
    "auth-tls-secret": Rule(NATIVE, "str", Handler.AUTH_TLS, source=DOWNSTREAM_TLS),
    "ssl-cipher": _native(source=DOWNSTREAM_TLS),
    "ssl-ciphers": Rule(CONVERTED, "str", Handler.RENAME, "Higress reads the key ssl-cipher (singular)",
                        DOWNSTREAM_TLS + "; " + N + "sslcipher/main.go"),
    "tls-min-protocol-version": _native(source=DOWNSTREAM_TLS),
    "tls-max-protocol-version": _native(source=DOWNSTREAM_TLS),
    "load-balance": Rule(NATIVE, "str", Handler.LOAD_BALANCE, source=LOAD_BALANCE),
    "upstream-hash-by": Rule(NATIVE, "str", Handler.HASH_BY, source=LOAD_BALANCE),
    "affinity": _native(note="Higress has only the balanced affinity mode", source=LOAD_BALANCE),
    "session-cookie-name": _native(source=LOAD_BALANCE),
    "session-cookie-path": _native(source=LOAD_BALANCE),
    "session-cookie-max-age": _native("int", source=LOAD_BALANCE),
    "session-cookie-expires": _native("int", source=LOAD_BALANCE),
    "ignore-path-case": _native("bool", source=H + "ignore_case.go"),
    "mirror-target-service": _native(source=MIRROR),
    "mirror-percentage": _native("int", source=MIRROR),
    "mirror-target-fqdn": _native(source=MIRROR),
    "mirror-target-fqdn-port": _native("int", source=MIRROR),
    "mirror-target": Rule(CONVERTED, "str", Handler.MIRROR, source=MIRROR + "; " + N + "mirror/main.go"),
    "affinity-mode": Rule(NATIVE, "str", Handler.AFFINITY_MODE, source=LOAD_BALANCE),
    # C. ignored by Higress, carried over to a Higress annotation
    "proxy-connect-timeout": Rule(CONVERTED, "seconds", Handler.TIMEOUT, source=TIMEOUT),
    "proxy-send-timeout": Rule(CONVERTED, "seconds", Handler.TIMEOUT, source=TIMEOUT),
    "proxy-read-timeout": Rule(CONVERTED, "seconds", Handler.TIMEOUT, source=TIMEOUT),
    "limit-rps": Rule(PLUGIN, "int", Handler.RATE_LIMIT, source=RATE),
    "limit-rpm": Rule(PLUGIN, "int", Handler.RATE_LIMIT, source=RATE),
    "limit-burst-multiplier": Rule(UNSUPPORTED, "int", Handler.RATE_LIMIT, source=RATE),
    "limit-allowlist": Rule(PLUGIN, "cidrs", Handler.RATE_LIMIT, source=RATE),
    "limit-whitelist": Rule(PLUGIN, "cidrs", Handler.RATE_LIMIT, source=RATE),
    "x-forwarded-prefix": Rule(CONVERTED, "str", Handler.FORWARDED_PREFIX,
                               source=H + "header_control.go; " + N + "xforwardedprefix/main.go"),
    # C. carried over as a plugin (auth-* are parsed by Higress but have no effect since 2.0: auth.go)
    "auth-type": Rule(MANUAL, "enum:basic,digest", Handler.BASIC_AUTH, source=AUTH + "; " + P + "basic-auth"),
    "auth-secret": Rule(MANUAL, "str", Handler.BASIC_AUTH, source=AUTH + "; " + P + "basic-auth"),
    "auth-secret-type": Rule(MANUAL, "enum:auth-file,auth-map", Handler.BASIC_AUTH, source=AUTH),
    "auth-realm": Rule(UNSUPPORTED, "str", Handler.BASIC_AUTH, "the basic-auth plugin has no realm setting",
                       AUTH + "; " + P + "basic-auth"),
    "auth-url": Rule(PLUGIN, "url", Handler.EXT_AUTH, source=P + "ext-auth; " + N + "authreq/main.go"),
    "auth-signin": Rule(MANUAL, "str", Handler.EXT_AUTH, source=P + "ext-auth; " + N + "authreq/main.go"),
    "auth-response-headers": Rule(PLUGIN, "str", Handler.EXT_AUTH, source=P + "ext-auth"),
    "auth-method": Rule(PLUGIN, "enum:GET,POST,HEAD", Handler.EXT_AUTH, source=P + "ext-auth"),
    "denylist-source-range": Rule(PLUGIN, "cidrs", Handler.IP_RESTRICTION,
                                  source=P + "ip-restriction; " + N + "ipdenylist/main.go"),
    "enable-modsecurity": Rule(PLUGIN, "bool", Handler.WAF, source=P + "waf; " + N + "modsecurity/modsecurity.go"),
    "enable-owasp-core-rules": Rule(PLUGIN, "bool", Handler.WAF, source=P + "waf"),
    "modsecurity-snippet": Rule(MANUAL, "str", Handler.WAF, source=P + "waf"),
    # C. no Higress equivalent
    "limit-connections": _unsupported("int", "no Higress equivalent for a per-client connection limit",
                                      N + "ratelimit"),
    "configuration-snippet": _unsupported(note=SNIPPET, source=N + "snippet"),
    "server-snippet": _unsupported(note=SNIPPET, source=N + "serversnippet"),
    "http-snippet": _unsupported(note=SNIPPET, source=N),
    "stream-snippet": _unsupported(note=SNIPPET, source=N + "streamsnippet"),
    "proxy-body-size": Rule(UNSUPPORTED, "size", Handler.HARMLESS, "no per-route request body size limit in Higress",
                            N + "proxy/main.go"),
    "client-body-buffer-size": _unsupported("size", source=N + "clientbodybuffersize"),
    "proxy-buffering": _unsupported("onoff", source=N + "proxy/main.go"),
    "proxy-buffer-size": _unsupported("size", source=N + "proxy/main.go"),
    "proxy-buffers-number": _unsupported("int", source=N + "proxy/main.go"),
    "proxy-request-buffering": _unsupported("onoff", source=N + "proxy/main.go"),
    "proxy-http-version": _unsupported(source=N + "proxy/main.go"),
    "ssl-passthrough": _unsupported("bool", source=N + "sslpassthrough"),
    "service-upstream": _unsupported("bool", source=N + "serviceupstream"),
    "from-to-www-redirect": Rule(UNSUPPORTED, "bool", Handler.HARMLESS, "no Higress equivalent",
                                 N + "redirect/redirect.go"),
    "auth-tls-verify-client": Rule(MANUAL, "enum:on,off,optional,optional_no_ca", Handler.AUTH_TLS,
                                   source=DOWNSTREAM_TLS + "; " + N + "authtls/main.go"),
    "auth-tls-pass-certificate-to-upstream": _unsupported("bool", source=N + "authtls"),
    "custom-headers": _unsupported(source=N + "customheaders"),
    "proxy-set-headers": _unsupported(source=N),
}

UNKNOWN = Rule(UNSUPPORTED, "str", None, "not an annotation Higress reads; ignored")


# -- value parsers: each returns the parsed value or raises ValueError with a reason ------------------------------
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg])?b?\s*$", re.IGNORECASE)
_SIZES = {None: 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise ValueError(f"{text!r} is not true or false")


def parse_onoff(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("on", "off", "true", "false"):
        return lowered in ("on", "true")
    raise ValueError(f"{text!r} is not on or off")


def parse_int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a whole number") from None


def parse_seconds(text: str) -> int:
    """Whole seconds as ingress-nginx reads them (parser.GetIntAnnotation, strconv.Atoi): `600`, never `600s`."""
    if not re.fullmatch(r"-?\d+", text):
        raise ValueError(f"{text!r} is not a whole number of seconds: ingress-nginx ignores it and uses its default")
    return int(text)


def total_timeout(nginx) -> int | None:
    """Higress (higress.io/timeout) and Gateway API (timeouts.request) have one total timeout where ingress-nginx has
    per-phase ones: the largest positive proxy-send-timeout / proxy-read-timeout (whole seconds) stands for them.
    `nginx(name)` reads an annotation's value (None when unset or invalid); None when neither gives one."""
    usable = []
    for key in ("proxy-send-timeout", "proxy-read-timeout"):
        try:
            seconds = parse_seconds(nginx(key)) if nginx(key) is not None else 0
        except ValueError:
            seconds = 0
        if seconds > 0:
            usable.append(seconds)
    return max(usable, default=None)


def parse_size(text: str) -> int:
    """Bytes from `0`, `8m`, `200m`, `5G`, `20g`, `512k`."""
    m = _SIZE.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a size (8m, 5G, 512k)")
    unit = m.group(2).lower() if m.group(2) else None
    return int(float(m.group(1)) * _SIZES[unit])


def parse_cidrs(text: str) -> list[str]:
    out = []
    for part in (p.strip() for p in text.split(",")):
        if part:
            try:
                out.append(str(ipaddress.ip_network(part, strict=False)))
            except ValueError:
                raise ValueError(f"{part!r} is not an IP address or CIDR range") from None
    if not out:
        raise ValueError("empty address list")
    return out


# ingress-nginx reads cors-allow-origin in two steps (internal/ingress/annotations/cors/main.go): the whole value
# through corsOriginRegexValidator (spaces removed first: parser.ValidateRegex), a value it refuses meaning every
# origin (*); then each comma-separated origin through corsOriginRegex, one it refuses skipped.
CORS_VALUE = re.compile(r"^((((([a-z]+://)?(\*\.)?[A-Za-z0-9\-.]*(:\d+)?,?)|null)+)|\*)?$")
CORS_ORIGIN = re.compile(r"^([a-z]+://(\*\.)?[A-Za-z0-9\-.]*(:\d+)?|\*|null)?$")


def nginx_cors_origins(raw: str | None) -> tuple[list[str], bool]:
    """The origins ingress-nginx allows for a cors-allow-origin value, and whether it refused the value (then `*`).
    Unset is `*` too."""
    if raw is None:
        return ["*"], False
    if not CORS_VALUE.match(raw.replace(" ", "")):
        return ["*"], True
    origins = []
    for origin in (o.strip() for o in raw.split(",")):
        if origin == "*":
            return ["*"], False
        if origin and CORS_ORIGIN.match(origin):
            origins.append(origin)
    return origins, False


def split_url(text: str) -> SplitResult:
    """`text` as URL parts with its port checked (urlsplit leaves that to `.port`, which raises on a port out of
    range): ValueError naming the cause for a URL no controller could use."""
    try:
        parts = urlsplit(text.strip())
        parts.port  # noqa: B018 (raises ValueError here, not in a handler)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a usable URL ({exc})") from None
    return parts


@dataclass(frozen=True)
class MirrorTarget:
    scheme: str
    host: str
    port: int
    service: tuple[str, str] | None  # (namespace, name) when the host is a cluster-local Service name


def mirror_target(text: str) -> MirrorTarget | None:
    """ingress-nginx's mirror-target (mirror/main.go: a URL, the request appended as `$request_uri`) where it
    mirrors whole requests to one host, the only form Higress (mirror.go) and Gateway API (RequestMirror) can take:
    `http(s)://host[:port]` followed by nothing but `$request_uri`. None for anything else (variables, a path, a
    query, a port out of range). A host `<svc>.<namespace>.svc[.cluster.local]` names a Service."""
    text = text.strip()
    base = text[: -len("$request_uri")] if text.endswith("$request_uri") else text
    try:
        parts = split_url(base)
    except ValueError:
        return None
    if (parts.scheme not in ("http", "https") or not parts.hostname or "$" in base
            or parts.path not in ("", "/") or parts.query):
        return None
    labels = parts.hostname.split(".")
    local = parts.hostname.endswith((".svc", ".svc.cluster.local")) and len(labels) >= 3
    return MirrorTarget(parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80),
                        (labels[1], labels[0]) if local else None)


def parse_url(text: str) -> str:
    if not re.match(r"^https?://[^/\s]+", text.strip()):
        raise ValueError(f"{text!r} is not an http(s) URL")
    return text.strip()


PARSERS = {"bool": parse_bool, "onoff": parse_onoff, "int": parse_int, "seconds": parse_seconds, "size": parse_size,
           "cidrs": parse_cidrs, "url": parse_url, "str": lambda text: text}


def parse_value(value_type: str, text) -> object:
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a string (annotation values must be quoted)")
    if "${" in text:
        raise ValueError(f"{text!r} is an unfilled template placeholder")
    if value_type.startswith("enum:"):
        allowed = value_type[len("enum:"):].split(",")
        for choice in allowed:
            if text.strip().lower() == choice.lower():
                return choice
        raise ValueError(f"{text!r} is not one of {', '.join(allowed)}")
    return PARSERS[value_type](text)
