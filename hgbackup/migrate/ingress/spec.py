"""Findings that come from an Ingress's spec rather than one annotation, each reported as an Entry too (key
`spec.<field>`, value the hosts concerned), so they count as work to do like any annotation."""

from __future__ import annotations

from ..model import Context, Entry, set_annotation
from ..rules import CONVERTED, HIGRESS, MANUAL, NGINX

REDIRECTS = ("permanent-redirect", "temporal-redirect")
NO_HTTPS = ("ingress-nginx serves {hosts} over HTTPS with its default certificate (controller.go createServers: "
            "secretName empty) and redirects HTTP there; Higress builds no HTTPS server for a TLS host without a "
            "secret (ingressv1/controller.go ConvertGateway), so they would be served over HTTP only. Give them a "
            "secretName, or map the domains to a certificate in the higress-https ConfigMap")


def findings(ctx: Context) -> list[Entry]:
    """Every spec-level finding of one Ingress, in a fixed order."""
    return hosts_without_paths(ctx) + tls_without_secret(ctx) + implicit_ssl_redirect(ctx)


def hosts_without_paths(ctx: Context) -> list[Entry]:
    """ingress-nginx gives every rule host a root location carrying the Ingress's annotations (controller.go
    createServers), so a host with no `http` still answers a redirect; Higress skips such a rule (ingressv1
    ConvertHTTPRoute "no paths defined") and the host answers 404, unless spec.defaultBackend serves it
    (ApplyDefaultBackend). Only redirects make that root location answer anything but nginx's default 404."""
    spec = ctx.ingress.get("spec") or {}
    redirect = next((k for k in REDIRECTS if (ctx.nginx(k) or "").strip()), None)
    if spec.get("defaultBackend") or redirect is None:
        return []
    backend = next((p["backend"] for r in spec.get("rules") or [] for p in (r.get("http") or {}).get("paths") or []
                    if (p.get("backend") or {}).get("service")), None)
    out = []
    for index, rule in enumerate(spec.get("rules") or []):
        if not rule.get("host") or ((rule.get("http") or {}).get("paths")):
            continue
        key, why = f"spec.rules[{index}]", (
            f"this host has no paths: nginx answered it with the {redirect} through the root location it gives "
            "every host (controller.go createServers); Higress skips a rule without paths (ConvertHTTPRoute), "
            "so the host would answer 404")
        if backend is None:
            out.append(Entry(key, rule["host"], MANUAL, None,
                             why + ". Add http.paths with path / (pathType Prefix) and any Service as backend: the "
                             "redirect answers before the backend is used"))
            continue
        ctx.root_paths[index] = backend
        out.append(Entry(key, rule["host"], CONVERTED, f"{key}.http.paths: / (Prefix) to "
                         f"{backend['service'].get('name')}",
                         why + f". Path / added with the Ingress's backend {backend['service'].get('name')}, "
                         "which the redirect answers before: the same to nginx"))
    return out


def tls_hosts(ctx: Context) -> tuple[list[str], list[str]]:
    """Rule hosts listed in spec.tls: those whose first TLS entry names a secret, and those whose entry names none
    (the first entry listing the host decides, in Higress as in ingress-nginx: extractTLSSecretName)."""
    spec = ctx.ingress.get("spec") or {}
    tls = spec.get("tls") or []
    with_secret: list[str] = []
    without: list[str] = []
    for rule in spec.get("rules") or []:
        host = rule.get("host")
        found = next((t for t in tls if host in (t.get("hosts") or [])), None)
        if host and found is not None and host not in with_secret + without:
            (with_secret if found.get("secretName") else without).append(host)
    return with_secret, without


def tls_without_secret(ctx: Context) -> list[Entry]:
    _, without = tls_hosts(ctx)
    if not without:
        return []
    note = NO_HTTPS.format(hosts=", ".join(without))
    explicit = [k for k in ("ssl-redirect", "force-ssl-redirect")
                if (ctx.nginx(k) or "").strip().lower() == "true"]
    if explicit:
        note += f"; {explicit[0]}: true would send their users to that missing HTTPS server"
    return [Entry("spec.tls", ", ".join(without), MANUAL, None, note)]


def implicit_ssl_redirect(ctx: Context) -> list[Entry]:
    """ingress-nginx redirects TLS hosts to HTTPS by default; Higress only when ssl-redirect is "true", and then for
    every host of the Ingress: not added where a TLS host has no HTTPS server under Higress."""
    if not (ctx.ingress.get("spec") or {}).get("tls"):
        return []
    if ctx.nginx("ssl-redirect") is not None or ctx.nginx("force-ssl-redirect") is not None:
        return []
    with_secret, without = tls_hosts(ctx)
    if without and with_secret:
        return [Entry(NGINX + "ssl-redirect", None, MANUAL, None,
                      f"not added: it would also send users of {', '.join(without)} to HTTPS that Higress does not "
                      f"serve (see spec.tls), so {', '.join(with_secret)} lose the HTTP to HTTPS redirect nginx "
                      "gave them until every TLS host has a certificate")]
    if without:
        return [Entry(NGINX + "ssl-redirect", None, CONVERTED, None,
                      "not added: Higress serves no HTTPS for these hosts (see spec.tls); add ssl-redirect once "
                      "they have a certificate")]
    target = set_annotation(ctx, HIGRESS + "ssl-redirect", "true")
    return [Entry(NGINX + "ssl-redirect", None, CONVERTED, target,
                  "not set: ingress-nginx redirects TLS Ingresses to HTTPS by default, Higress only when asked")]
