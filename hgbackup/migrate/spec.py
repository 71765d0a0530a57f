"""Findings that come from an Ingress's spec rather than one annotation (each reported as an Entry too)."""

from __future__ import annotations

from .model import Context, Entry, set_annotation
from .rules import CONVERTED, HIGRESS, NGINX


def implicit_ssl_redirect(ctx: Context) -> list[Entry]:
    """ingress-nginx redirects TLS hosts to HTTPS by default; Higress only when ssl-redirect is "true"."""
    if not (ctx.ingress.get("spec") or {}).get("tls"):
        return []
    if ctx.nginx("ssl-redirect") is not None or ctx.nginx("force-ssl-redirect") is not None:
        return []
    target = set_annotation(ctx, HIGRESS + "ssl-redirect", "true")
    return [Entry(NGINX + "ssl-redirect", None, CONVERTED, target,
                  "not set: ingress-nginx redirects TLS Ingresses to HTTPS by default, Higress only when asked")]

