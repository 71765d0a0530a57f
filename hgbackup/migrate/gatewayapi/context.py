"""The state of one Ingress on its way to Gateway API routes, shared by the annotation handlers (annotations,
filters) and the route builder (httproute)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model import Entry
from ..rules import INVALID, MANUAL, NGINX
from .gateway import EXPERIMENTAL


@dataclass
class GwContext:
    """One Ingress on its way to routes: what its annotations ask of every rule."""

    ingress: dict
    namespace: str
    name: str
    channel: str
    base: dict[str, Entry]  # the Ingress path's entry of each key
    regex: bool = False  # nginx matches this host's paths as regexes
    route: str = ""  # "HTTPRoute ns/name", for report targets
    grpc: bool = False
    tls: bool = False  # one of its hosts has an HTTPS listener
    plugin_namespace: str = "higress-system"
    headers: dict = field(default_factory=lambda: {"request": {}, "response": {}})
    hostname: str | None = None
    redirect: dict | None = None
    app_root: str | None = None
    timeouts: dict | None = None
    retry: dict | None = None
    mirror: dict | None = None
    cors: dict | None = None
    cors_note: str = ""
    ssl_redirect: bool | None = None  # None: nginx's default (redirect when the host has TLS)
    force_ssl: bool = False
    allow: list | None = None
    path_problems: list[str] = field(default_factory=list)
    path_notes: list[str] = field(default_factory=list)
    canary_target: str = ""
    canary_problem: str = ""
    grants: set = field(default_factory=set)  # (namespace, service) a mirror reaches in another namespace

    @property
    def annotations(self) -> dict:
        return (self.ingress.get("metadata") or {}).get("annotations") or {}

    def nginx(self, key: str):
        value = self.annotations.get(NGINX + key)
        entry = self.base.get(NGINX + key)
        return None if entry is not None and entry.status == INVALID else value

    def entry(self, key: str, status, target: str | None = None, note: str = "") -> Entry:
        return Entry(NGINX + key, self.annotations.get(NGINX + key), status, target, note)

    def field(self, what: str) -> str:
        return f"{self.route}: {what}"


def experimental(ctx: GwContext, key: str, what: str) -> Entry | None:
    if ctx.channel == EXPERIMENTAL:
        return None
    return ctx.entry(key, MANUAL, None, f"{what} is in Gateway API's experimental channel only: install its "
                                        "experimental CRDs and convert with --channel experimental")


def ingress_only(hint: str):
    def handler(ctx: GwContext, key: str) -> Entry:
        return ctx.entry(key, MANUAL, None, "Higress reads this only on Ingresses, not on HTTPRoutes, and no "
                                            f"HTTPRoute field does it: {hint}")
    return handler


