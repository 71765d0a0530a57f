"""ingress-nginx's own ConfigMap (ingress-nginx-controller): global settings every Ingress relied on.

Each key is reported with the same statuses as annotations. Keys with a Higress global equivalent become a patch
for the `higress` document of higress-system/higress-config, whose fields follow alibaba/higress
pkg/ingress/kube/configmap/global.go (downstream, upstream, addXRealIpHeader) and gzip.go (gzip). The patch is
shown to be merged by a person, never applied: higress-config holds more than this migration knows about.
ingress-nginx defaults that Higress does not share are reported even when the ConfigMap does not set them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .model import Entry
from .rules import CONVERTED, INVALID, MANUAL, UNSUPPORTED, parse_bool, parse_int

H = "alibaba/higress pkg/ingress/kube/configmap/"
N = "kubernetes/ingress-nginx internal/ingress/controller/config/config.go"
HSTS = ("ingress-nginx sends Strict-Transport-Security on TLS hosts by default; Higress does not: add it with "
        "higress.io/response-header-control-add on the TLS Ingresses")
FORWARDED = ("which proxies' X-Forwarded-For Higress trusts is set in its mesh config (number of trusted proxies), "
             "not per key: review it")


@dataclass
class GlobalReport:
    source: str
    entries: list[Entry] = field(default_factory=list)
    patch: dict = field(default_factory=dict)  # to merge into higress-config's `higress` document

    def as_json(self) -> dict:
        return {"source": self.source, "settings": [e.as_json() for e in self.entries], "higress_config": self.patch}


def _set(patch: dict, path: str, value) -> str:
    node = patch
    parts = path.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return f"higress-config higress: {path}: {value!r}"


def _to(path: str, parse: Callable = parse_int, note: str = ""):
    def handler(patch, value):
        return CONVERTED, _set(patch, path, parse(value)), note
    return handler


def _manual(note: str):
    return lambda patch, value: (MANUAL, None, note)


def _nothing(note: str):
    return lambda patch, value: (CONVERTED, None, note)


def _gzip_types(patch, value):
    return CONVERTED, _set(patch, "gzip.contentType", value.split()), ""


def _timeouts(patch, value):
    return MANUAL, None, ("ingress-nginx times out between two reads/writes; Higress has one total route timeout "
                          "(downstream.routeTimeout or higress.io/timeout): a total would cut long transfers nginx "
                          "allowed, so none was set")


KEYS: dict[str, Callable] = {
    "use-gzip": _to("gzip.enable", parse_bool),
    "gzip-min-length": _to("gzip.minContentLength"),
    "gzip-types": _gzip_types,
    "gzip-level": _manual("Higress names gzip levels (gzip.compressionLevel BEST_SPEED ... BEST_COMPRESSION)"),
    "keep-alive": _to("downstream.idleTimeout", note="client keep-alive becomes the downstream idle timeout"),
    "upstream-keepalive-timeout": _to("upstream.idleTimeout"),
    "http2-max-concurrent-streams": _to("downstream.http2.maxConcurrentStreams"),
    "proxy-read-timeout": _timeouts,
    "proxy-send-timeout": _timeouts,
    "proxy-connect-timeout": _manual("Higress has no global connect timeout"),
    "proxy-body-size": _manual("Higress has no global request body size limit: requests nginx refused are accepted"),
    "ssl-protocols": _manual("Higress sets TLS versions per Ingress (higress.io/tls-min-protocol-version)"),
    "ssl-ciphers": _manual("Higress sets ciphers per Ingress (higress.io/ssl-cipher)"),
    "hsts": lambda patch, value: ((CONVERTED, None, "HSTS off in ingress-nginx, as Higress by default: nothing "
                                  "to do") if not parse_bool(value) else (MANUAL, None, HSTS)),
    "hsts-max-age": _manual(HSTS), "hsts-include-subdomains": _manual(HSTS),
    "hsts-preload": _manual(HSTS),
    "use-forwarded-headers": _manual(FORWARDED), "compute-full-forwarded-for": _manual(FORWARDED),
    "forwarded-for-header": _manual(FORWARDED), "proxy-real-ip-cidr": _manual(FORWARDED),
    "use-proxy-protocol": _manual("Higress accepts the PROXY protocol through its listener settings: review"),
    "enable-real-ip": _manual(FORWARDED),
    "allow-snippet-annotations": _nothing("Higress has no snippets: nothing to carry over"),
    "annotations-risk-level": _nothing("Higress has no snippets: nothing to carry over"),
    "ssl-redirect": _nothing("carried over per Ingress (higress.io/ssl-redirect)"),
    "server-tokens": _manual("Higress sends its own server header: review if hiding the version mattered"),
}

# ingress-nginx defaults (config.go NewDefault) Ingresses relied on without setting them.
DEFAULTS = {
    "proxy-body-size": ("1m", MANUAL, "ingress-nginx refuses request bodies over 1m by default; Higress does not "
                                      "limit them"),
    "proxy-read-timeout": ("60", MANUAL, "ingress-nginx gives up on an upstream silent for 60 s by default; Higress "
                                         "has no route timeout unless one is set"),
    "hsts": ("true", MANUAL, HSTS),
    "ssl-redirect": ("true", CONVERTED, "carried over per TLS Ingress (higress.io/ssl-redirect: true)"),
}


def missing(spec: str) -> GlobalReport:
    """The default ConfigMap was not there: the global settings were not checked, and that is said."""
    return GlobalReport(f"ConfigMap {spec} (not found)", [Entry(f"ConfigMap {spec}", None, MANUAL, None,
                        "ingress-nginx's ConfigMap was not found there: its global settings were not checked; give "
                        "--nginx-configmap NAMESPACE/NAME")])


def convert(configmap: dict, source: str) -> GlobalReport:
    """Every key of ingress-nginx's ConfigMap, and the defaults it leaves in force, as report entries."""
    meta = configmap.get("metadata") or {}
    where = f"ConfigMap {meta.get('namespace', 'default')}/{meta.get('name', '')}"
    report = GlobalReport(source)
    data = configmap.get("data") or {}
    for key in sorted(data):
        value = data[key]
        handler = KEYS.get(key)
        if handler is None:
            report.entries.append(Entry(f"{where}: {key}", value, UNSUPPORTED, None, "no Higress global equivalent"))
            continue
        try:
            status, target, note = handler(report.patch, str(value))
        except ValueError as exc:
            status, target, note = INVALID, None, str(exc)
        report.entries.append(Entry(f"{where}: {key}", value, status, target, note))
    for key, (value, status, note) in DEFAULTS.items():
        if key not in data:
            report.entries.append(Entry(f"{where}: {key} (default)", value, status, None, note))
    # ingress-nginx always sends X-Real-IP to the upstream (its nginx.tmpl); Higress only when asked
    target = _set(report.patch, "addXRealIpHeader", True)
    report.entries.append(Entry(f"{where}: X-Real-IP (always sent)", None, CONVERTED, target, ""))
    return report
