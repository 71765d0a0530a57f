"""The ingress-nginx annotation table: data, not branches.

Every `nginx.ingress.kubernetes.io/<name>` key maps to a Rule: its status on Higress (facts from
shared/higress-reference.md, section 2, which follow the Higress controller code), the type its value must parse as,
and for converted and plugin keys the name of the handler in convert.py that carries it over. Keys not in the table
are `unsupported` (Higress silently ignores them).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from enum import Enum

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
    """The function in convert.py that carries a key over when a status alone does not."""

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


NATIVE, CONVERTED, PLUGIN, MANUAL, UNSUPPORTED, INVALID = (
    Status.NATIVE, Status.CONVERTED, Status.PLUGIN, Status.MANUAL, Status.UNSUPPORTED, Status.INVALID)
STATUSES = tuple(Status)
NEEDS_WORK = (MANUAL, UNSUPPORTED, INVALID)


@dataclass(frozen=True)
class Rule:
    status: Status
    value: str = "str"  # bool | int | duration | size | cidrs | url | str | enum:A,B
    handler: Handler | None = None
    note: str = ""


def _native(value: str = "str", note: str = "") -> Rule:
    return Rule(NATIVE, value, None, note)


def _unsupported(value: str = "str", note: str = "no Higress equivalent") -> Rule:
    return Rule(UNSUPPORTED, value, None, note)


SNIPPET = "no Higress equivalent: nginx configuration has to become a custom Wasm plugin"
BACKEND_PROTOCOLS = "HTTP,HTTP2,HTTPS,GRPC,GRPCS"

RULES: dict[str, Rule] = {
    # A. read by Higress under both prefixes
    "canary": _native("bool"),
    "canary-by-header": _native(),
    "canary-by-header-value": _native(),
    "canary-by-header-pattern": _native(),
    "canary-by-cookie": _native(),
    "canary-weight": _native("int"),
    "canary-weight-total": _native("int"),
    "enable-cors": _native("bool"),
    "cors-allow-origin": _native(),
    "cors-allow-methods": _native(),
    "cors-allow-headers": _native(),
    "cors-expose-headers": _native(),
    "cors-allow-credentials": _native("bool"),
    "cors-max-age": _native("int"),
    "default-backend": _native(),
    "custom-http-errors": _native(),
    "rewrite-target": _native(),
    "use-regex": _native("bool"),
    "upstream-vhost": _native(),
    "app-root": _native(),
    "temporal-redirect": _native(),
    "permanent-redirect": _native(),
    "permanent-redirect-code": _native("int"),
    "ssl-redirect": _native("bool"),
    "force-ssl-redirect": _native("bool"),
    "proxy-next-upstream": _native(),
    "proxy-next-upstream-tries": _native("int"),
    "proxy-next-upstream-timeout": _native("duration"),
    "whitelist-source-range": _native("cidrs"),
    "backend-protocol": Rule(NATIVE, "str", Handler.BACKEND_PROTOCOL),
    "proxy-ssl-secret": _native(),
    "proxy-ssl-verify": _native("onoff"),
    "proxy-ssl-name": _native(),
    "proxy-ssl-server-name": _native("onoff"),
    "auth-tls-secret": _native(note="Higress expects the CA secret to be named <tls-secret>-cacert"),
    "ssl-cipher": _native(),
    "ssl-ciphers": _native(),
    "tls-min-protocol-version": _native(),
    "tls-max-protocol-version": _native(),
    "load-balance": Rule(NATIVE, "str", Handler.LOAD_BALANCE),
    "upstream-hash-by": _native(),
    "affinity": _native(note="Higress has only the balanced affinity mode"),
    "session-cookie-name": _native(),
    "session-cookie-path": _native(),
    "session-cookie-max-age": _native("int"),
    "session-cookie-expires": _native("int"),
    "ignore-path-case": _native("bool"),
    "mirror-target-service": _native(),
    "mirror-percentage": _native("int"),
    "mirror-target-fqdn": _native(),
    "mirror-target-fqdn-port": _native("int"),
    "affinity-mode": Rule(NATIVE, "str", Handler.AFFINITY_MODE),
    # C. ignored by Higress, carried over to a Higress annotation
    "proxy-connect-timeout": Rule(CONVERTED, "duration", Handler.TIMEOUT),
    "proxy-send-timeout": Rule(CONVERTED, "duration", Handler.TIMEOUT),
    "proxy-read-timeout": Rule(CONVERTED, "duration", Handler.TIMEOUT),
    "limit-rps": Rule(CONVERTED, "int", Handler.RATE_LIMIT),
    "limit-rpm": Rule(CONVERTED, "int", Handler.RATE_LIMIT),
    "limit-burst-multiplier": Rule(CONVERTED, "int", Handler.RATE_LIMIT),
    "x-forwarded-prefix": Rule(CONVERTED, "str", Handler.FORWARDED_PREFIX),
    # C. carried over as a plugin
    "auth-type": Rule(PLUGIN, "enum:basic,digest", Handler.BASIC_AUTH),
    "auth-secret": Rule(MANUAL, "str", Handler.BASIC_AUTH),
    "auth-secret-type": Rule(MANUAL, "enum:auth-file,auth-map", Handler.BASIC_AUTH),
    "auth-realm": Rule(UNSUPPORTED, "str", Handler.BASIC_AUTH, "the basic-auth plugin has no realm setting"),
    "auth-url": Rule(PLUGIN, "url", Handler.EXT_AUTH),
    "auth-signin": Rule(MANUAL, "str", Handler.EXT_AUTH),
    "auth-response-headers": Rule(PLUGIN, "str", Handler.EXT_AUTH),
    "auth-method": Rule(PLUGIN, "enum:GET,POST,HEAD", Handler.EXT_AUTH),
    "denylist-source-range": Rule(PLUGIN, "cidrs", Handler.IP_RESTRICTION),
    "enable-modsecurity": Rule(PLUGIN, "bool", Handler.WAF),
    "enable-owasp-core-rules": Rule(PLUGIN, "bool", Handler.WAF),
    "modsecurity-snippet": Rule(MANUAL, "str", Handler.WAF),
    # C. no Higress equivalent
    "limit-connections": _unsupported("int", "no Higress equivalent for a per-client connection limit"),
    "configuration-snippet": _unsupported(note=SNIPPET),
    "server-snippet": _unsupported(note=SNIPPET),
    "http-snippet": _unsupported(note=SNIPPET),
    "stream-snippet": _unsupported(note=SNIPPET),
    "proxy-body-size": _unsupported("size", "no per-route request body size limit in Higress"),
    "client-body-buffer-size": _unsupported("size"),
    "proxy-buffering": _unsupported("onoff"),
    "proxy-buffer-size": _unsupported("size"),
    "proxy-buffers-number": _unsupported("int"),
    "proxy-request-buffering": _unsupported("onoff"),
    "proxy-http-version": _unsupported(),
    "ssl-passthrough": _unsupported("bool"),
    "service-upstream": _unsupported("bool"),
    "from-to-www-redirect": _unsupported("bool"),
    "auth-tls-verify-client": _unsupported(),
    "auth-tls-pass-certificate-to-upstream": _unsupported("bool"),
    "custom-headers": _unsupported(),
    "proxy-set-headers": _unsupported(),
}

UNKNOWN = Rule(UNSUPPORTED, "str", None, "not an annotation Higress reads; ignored")


# -- value parsers: each returns the parsed value or raises ValueError with a reason ------------------------------
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$", re.IGNORECASE)
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg])?b?\s*$", re.IGNORECASE)
_UNITS = {None: 1, "ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
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


def parse_duration(text: str) -> float:
    """Seconds from `600`, `600s`, `5m`, `1h`, `1d`, `500ms`."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a duration (600, 600s, 5m, 1h, 1d)")
    unit = m.group(2).lower() if m.group(2) else None
    return float(m.group(1)) * _UNITS[unit]


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


def parse_url(text: str) -> str:
    if not re.match(r"^https?://[^/\s]+", text.strip()):
        raise ValueError(f"{text!r} is not an http(s) URL")
    return text.strip()


PARSERS = {"bool": parse_bool, "onoff": parse_onoff, "int": parse_int, "duration": parse_duration,
           "size": parse_size, "cidrs": parse_cidrs, "url": parse_url, "str": lambda text: text}


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
