"""Handlers of the annotations that need more than a status (rules.Rule.handler names one): each returns the one
report Entry of its key and may add higress.io/ annotations to the context. Plugin-backed keys are in plugins.py."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ..model import Entry, native, rewrite_value, set_annotation
from ..rules import (
    CONVERTED,
    HIGRESS,
    INVALID,
    MANUAL,
    NGINX,
    UNSUPPORTED,
    Handler,
    mirror_target,
    nginx_cors_origins,
    total_timeout,
)

SUPPORTED_PROTOCOLS = ("HTTP", "HTTP2", "HTTPS", "GRPC", "GRPCS")


def _timeout(ctx, name, value, parsed, rule) -> Entry:
    """Higress has one total route timeout (higress.io/timeout); ingress-nginx has per-phase ones. The largest
    send/read timeout becomes the total; a connect timeout alone has no counterpart and is not made one."""
    total = total_timeout(ctx.nginx)
    if name == "proxy-connect-timeout":
        note = "Higress has no per-route connect timeout (only one total route timeout): nothing was set"
        return Entry(NGINX + name, value, MANUAL if total is None else CONVERTED, None,
                     note if total is None else note + "; the send/read timeouts make the total")
    total = parsed if total is None else total
    target = set_annotation(ctx, HIGRESS + "timeout", str(total))
    note = (f"Higress has one total route timeout, not per phase: the largest of send/read ({total}s) is used; "
            f"this key alone was {parsed}s")
    return Entry(NGINX + name, value, CONVERTED, target, note)




def _forwarded_prefix(ctx, name, value, parsed, rule) -> Entry:
    """nginx sets X-Forwarded-Prefix (overwriting the client's) only where it rewrites: template.go buildProxyPass
    writes the proxy_set_header beside the rewrite-target's `rewrite`. Higress's -update sets, -add appends."""
    if not (ctx.nginx("rewrite-target") or "").strip():
        return Entry(NGINX + name, value, CONVERTED, None,
                     "nginx sends X-Forwarded-Prefix only together with a rewrite-target, which this Ingress does "
                     "not have: nothing to carry over")
    key = HIGRESS + "request-header-control-update"
    line = f"X-Forwarded-Prefix {value}"
    existing = ctx.add.get(key) or ctx.annotations.get(key)
    ctx.add[key] = f"{existing}\n{line}" if existing else line
    if key in ctx.annotations:  # merge into the user's own header list rather than dropping our line
        ctx.annotations = dict(ctx.annotations)
        ctx.annotations.pop(key)
    return Entry(NGINX + name, value, CONVERTED, f"{key}: {line!r}",
                 "set as a request header to the backend, replacing one the client sent, as nginx does")


def _backend_protocol(ctx, name, value, parsed, rule) -> Entry:
    upper = value.strip().upper()
    if upper in SUPPORTED_PROTOCOLS:
        return native(ctx, name, value)
    if upper in ("AUTO_HTTP", "FCGI", "AJP"):
        return Entry(NGINX + name, value, UNSUPPORTED, None,
                     f"Higress supports {', '.join(SUPPORTED_PROTOCOLS)} only; {upper} has no equivalent")
    return Entry(NGINX + name, value, INVALID, None, f"{value!r} is not a backend protocol")


def _load_balance(ctx, name, value, parsed, rule) -> Entry:
    note = ("Higress knows no ewma: the load balancer becomes Istio's default (loadbalance.go: an unknown name is "
            "LoadBalancerSettings UNSPECIFIED)") if value.strip().lower() == "ewma" else ""
    return native(ctx, name, value, note)


def _affinity_mode(ctx, name, value, parsed, rule) -> Entry:
    mode = value.strip().lower()
    if mode == "balanced":
        return Entry(NGINX + name, value, CONVERTED, None, "balanced is Higress's only affinity mode: key not needed")
    if mode == "persistent":
        return Entry(NGINX + name, value, UNSUPPORTED, None, "Higress has no persistent affinity mode")
    return Entry(NGINX + name, value, INVALID, None, f"{value!r} is not balanced or persistent")



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
    return native(ctx, name, value, rule.note)


def _custom_errors(ctx, name, value, parsed, rule) -> Entry:
    """ingress-nginx answers the listed codes from an error backend that reads X-Code (nginx.tmpl CUSTOM_ERRORS);
    Higress needs default-backend for them and sends no such headers (default_backend.go)."""
    backend = ctx.nginx("default-backend")
    if not (backend or "").strip():
        return Entry(NGINX + name, value, MANUAL, None,
                     "Higress ignores custom-http-errors without default-backend (default_backend.go): the error "
                     "pages ingress-nginx served from its default backend would be replaced by the backend's own "
                     f"{value} answers; add default-backend naming the error page Service")
    return Entry(NGINX + name, value, MANUAL, rewrite_value(ctx, name, value),
                 f"Higress sends these errors to {backend.strip()} (default_backend.go) without the X-Code, "
                 "X-Format and X-Original-URI headers nginx sets (nginx.tmpl): an error page backend that reads "
                 "X-Code cannot tell which error it serves: ingress-nginx's custom-error-pages then answers 404 to "
                 "every code (images/custom-error-pages main.go); check what yours does without the headers")


def _retry(ctx, name, value, parsed, rule) -> Entry:
    """Higress maps the three proxy-next-upstream keys to one Istio retry policy (retry.go): tries to attempts, the
    timeout to perTryTimeout, the conditions to Envoy retry_on."""
    if name == "proxy-next-upstream-tries" and parsed == 0:
        return Entry(NGINX + name, value, MANUAL, None,
                     "0 means unlimited tries to ingress-nginx but no retry at all to Higress (retry.go): set "
                     "the number of tries you want")
    if name == "proxy-next-upstream-timeout" and parsed > 0:
        return Entry(NGINX + name, value, MANUAL, None,
                     f"nginx limits to {parsed}s the time spent passing a failed request on to other servers and "
                     "never cuts the first attempt; Higress makes it a per-try timeout (retry.go perTryTimeout) "
                     f"that cuts every attempt, the first included: requests slower than {parsed}s that nginx "
                     "served would fail with 504. Drop it, or set it above the slowest answer")
    if name == "proxy-next-upstream-tries" and ctx.nginx("proxy-next-upstream") is not None:
        return native(ctx, name, value, "see proxy-next-upstream")
    if name in ("proxy-next-upstream", "proxy-next-upstream-tries"):
        changes = _more_retries(ctx.nginx("proxy-next-upstream") or "error timeout")
        if changes:
            return Entry(NGINX + name, value, MANUAL, None, "Higress would retry more than nginx: " + changes)
    return native(ctx, name, value, rule.note)


def _more_retries(conditions_text: str) -> str:
    """What Higress's retry policy for these proxy-next-upstream conditions (nginx's default: error timeout) retries
    that nginx does not: retry.go turns error/timeout/invalid_header into Envoy's 5xx and passes http_<code> as
    retriable status codes; Envoy retries whatever the method, nginx no POST/PATCH/LOCK without non_idempotent."""
    split = conditions_text.split(",") if "," in conditions_text else conditions_text.split()
    conditions = {c.strip() for c in split if c.strip()}
    if not conditions or "off" in conditions:
        return ""
    changes = []
    if conditions & {"error", "timeout", "invalid_header"}:
        changes.append("a request answered with any 5xx, a plain 500 too, is sent again to another backend (Envoy "
                       "retry_on 5xx), where nginx passed it on only after a connection error or timeout" + (
                           " or the listed http_ codes" if any(c.startswith("http_") for c in conditions) else ""))
    if "non_idempotent" not in conditions:
        changes.append("POST, PATCH and LOCK requests are re-sent too, so one could run twice: nginx never passes "
                       "them on without non_idempotent")
    return "; ".join(changes)


def _rename(ctx, name, value, parsed, rule) -> Entry:
    new = RENAMED[name]
    if ctx.nginx(new) is not None:
        return Entry(NGINX + name, value, CONVERTED, None, f"{new} is set as well and is what Higress reads")
    target = set_annotation(ctx, HIGRESS + new, value.strip())
    return Entry(NGINX + name, value, CONVERTED, target, rule.note)


def _mirror(ctx, name, value, parsed, rule) -> Entry:
    """ingress-nginx mirrors to a URL; Higress to a Service (`ns/name:port`) or an FQDN and port (mirror.go)."""
    mirror = mirror_target(value)
    if mirror is None:
        return Entry(NGINX + name, value, MANUAL, None,
                     "Higress mirrors whole requests to a service: only http(s)://host[:port]$request_uri carries "
                     "over")
    port = mirror.port
    if mirror.service is not None:
        target = set_annotation(ctx, HIGRESS + "mirror-target-service", "{}/{}:{}".format(*mirror.service, port))
    else:
        target = set_annotation(ctx, HIGRESS + "mirror-target-fqdn", mirror.host)
        set_annotation(ctx, HIGRESS + "mirror-target-fqdn-port", str(port))
        target += f", {HIGRESS}mirror-target-fqdn-port: '{port}'"
    note = "https to the mirror is not carried over: Higress sends it the request as is" if (
        mirror.scheme == "https") else ""
    return Entry(NGINX + name, value, CONVERTED, target, note)


def _auth_tls(ctx, name, value, parsed, rule) -> Entry:
    """mTLS is on only when the CA Secret is the Ingress's TLS Secret itself or `<tls-secret>-cacert`, in the
    Ingress's namespace (downstreamtls.go ApplyGateway); otherwise Higress logs "CA secret invalid" and serves
    without client certificates. When it is on it is MUTUAL: a client certificate is required."""
    if name == "auth-tls-verify-client":
        return _verify_client(ctx, name, value, parsed, rule)
    ns = (ctx.ingress.get("metadata") or {}).get("namespace", "default")
    ca_ns, _, ca_name = value.strip().rpartition("/")
    ca_ns = ca_ns or ns
    tls_names = [t.get("secretName") for t in (ctx.ingress.get("spec") or {}).get("tls") or [] if t.get("secretName")]
    verify = (ctx.nginx("auth-tls-verify-client") or "on").strip().lower()
    required = "" if verify == "on" else (
        f"; nginx's auth-tls-verify-client {verify} let clients without a certificate in, Higress's mutual mode "
        "makes a client certificate required for everyone")
    if ca_ns == ns and any(ca_name in (tls, tls + "-cacert") for tls in tls_names):
        return native(ctx, name, value, rule.note + required.lstrip("; "))
    if not tls_names:
        return Entry(NGINX + name, value, MANUAL, None,
                     "this Ingress has no TLS Secret, so Higress cannot turn client-certificate checks on: mTLS "
                     "would be OFF")
    wanted = f"{ns}/{tls_names[0]}-cacert"
    return Entry(NGINX + name, value, MANUAL, f"{NGINX}{name}: {wanted}",
                 f"Higress reads the CA only from the TLS Secret itself or <tls-secret>-cacert in the Ingress's "
                 f"namespace: create Secret {wanted} holding ca.crt from {ca_ns}/{ca_name} and point the "
                 "annotation at it, or mTLS is OFF" + required)


def _verify_client(ctx, name, value, parsed, rule) -> Entry:
    """ingress-nginx authtls/main.go: on (the default), off, optional, optional_no_ca."""
    if not (ctx.nginx("auth-tls-secret") or "").strip():
        return Entry(NGINX + name, value, CONVERTED, None, "no auth-tls-secret: nothing to verify, in either")
    if parsed == "on":
        return Entry(NGINX + name, value, CONVERTED, None,
                     "exactly Higress's mutual mode (downstreamtls.go), on wherever auth-tls-secret turns mTLS on: "
                     "key not needed")
    return Entry(NGINX + name, value, MANUAL, None,
                 f"nginx {'does not ask for' if parsed == 'off' else 'does not require'} client certificates "
                 "here; Higress has only its mutual mode, where auth-tls-secret makes a client certificate required "
                 "for every client: drop auth-tls-secret to stay open, or accept that certificates are required")


def _redirect(ctx, name, value, parsed, rule) -> Entry:
    """nginx returns the URL as written (nginx.tmpl `return <code> <url>`); Higress redirects to its scheme, host
    and path only (redirect.go ApplyRoute), an empty path keeping the request's, and only to http(s) URLs."""
    text = value.strip()
    if "$" in text:
        return Entry(NGINX + name, value, MANUAL, None,
                     "Higress takes the URL literally (redirect.go): nginx variables are not expanded")
    if not re.match(r"^https?://[^/\s]+", text):
        if name == "permanent-redirect" and text.startswith("/"):
            return Entry(NGINX + name, value, MANUAL, None,
                         f"nginx redirects to the relative {text} on the request's host (redirect.go accepts a "
                         "path); Higress redirects only to an absolute http(s) URL (redirect.go isValidURL) and "
                         "would proxy the request to the backend instead: write the absolute URL")
        return Entry(NGINX + name, value, INVALID, None,
                     "Higress redirects only to an absolute http(s) URL (redirect.go isValidURL)")
    parts = urlsplit(text)
    if parts.query or parts.fragment:
        return Entry(NGINX + name, value, MANUAL, None,
                     "Higress redirects to the URL's scheme, host and path only (redirect.go): its query "
                     f"({parts.query or parts.fragment}) would be dropped, the request's own kept in its place")
    if not parts.path:
        target = rewrite_value(ctx, name, text + "/")
        return Entry(NGINX + name, value, CONVERTED, target,
                     "a URL without a path: nginx sends every request to exactly this URL, Higress would keep the "
                     "request's path (/x would go to " + text + "/x); written with the root path /, the same URL "
                     "to clients")
    return native(ctx, name, value, rule.note)


def _hash_by(ctx, name, value, parsed, rule) -> Entry:
    if HASH_VARIABLES.match(value.strip()):
        return native(ctx, name, value, rule.note)
    return Entry(NGINX + name, value, MANUAL, None,
                 "Higress hashes only on $request_uri, $host, $remote_addr, $http_<name> or $arg_<name> "
                 "(loadbalance.go); anything else is round robin")


def _vhost(ctx, name, value, parsed, rule) -> Entry:
    if "$" in value:
        return Entry(NGINX + name, value, MANUAL, None,
                     "Higress sets the Host header to this text literally (rewrite.go): nginx variables are not "
                     "expanded")
    return native(ctx, name, value, rule.note)


def _harmless(ctx, name, value, parsed, rule) -> Entry:
    """Values that ask for nothing Higress would do differently: nothing to carry over."""
    if (name == "proxy-body-size" and parsed == 0) or (name == "from-to-www-redirect" and parsed is False):
        what = "no body size limit" if name == "proxy-body-size" else "no www redirect"
        return Entry(NGINX + name, value, CONVERTED, None, f"{what}, as Higress does by default: nothing to do")
    return Entry(NGINX + name, value, rule.status, None, rule.note)


def _cors_origin(ctx, name, value, parsed, rule) -> Entry:
    """nginx answers every Origin with itself when the value fails its validator (cors/main.go falls back to `*`;
    nginx.tmpl echoes $http_origin); Higress would match the text exactly (cors.go), so no origin would match."""
    if not nginx_cors_origins(value)[1]:
        return native(ctx, name, value, rule.note)
    target = rewrite_value(ctx, name, "*")
    return Entry(NGINX + name, value, CONVERTED, target,
                 "ingress-nginx refuses this value (cors/main.go validation) and allows every origin (*), answering "
                 "each with its own Origin; Higress would match the text literally and allow no origin: written as "
                 "*, what nginx applied. If only some origins were meant, list them instead")


HANDLERS = {
    Handler.CORS_ORIGIN: _cors_origin,
    Handler.CUSTOM_ERRORS: _custom_errors,
    Handler.TIMEOUT: _timeout, Handler.FORWARDED_PREFIX: _forwarded_prefix,
    Handler.BACKEND_PROTOCOL: _backend_protocol, Handler.LOAD_BALANCE: _load_balance,
    Handler.AFFINITY_MODE: _affinity_mode, Handler.CANARY: _canary, Handler.RETRY: _retry,
    Handler.RENAME: _rename, Handler.MIRROR: _mirror, Handler.AUTH_TLS: _auth_tls, Handler.REDIRECT: _redirect,
    Handler.HASH_BY: _hash_by, Handler.VHOST: _vhost, Handler.HARMLESS: _harmless,
}
