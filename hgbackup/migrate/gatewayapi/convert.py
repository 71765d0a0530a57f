"""`migrate nginx --to gateway-api`: Ingresses in, Gateways, ReferenceGrants, HTTPRoutes/GRPCRoutes and WasmPlugins
out, with the same report as the Ingress path (every annotation once). Pure, like convert.migrate.

The Ingress path (convert.convert_ingress) still reads every Ingress first: its entries carry the value checks and
the plugin configs (ext-auth, ip-restriction, waf), so both paths judge a value the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..ingress.convert import convert_ingress, select_ingresses, to_v1
from ..model import MANAGED_BY, Entry, IngressReport, MigrateOptions, Migration
from ..plugins import ip_restriction, wasm_plugin
from ..rules import CONVERTED, INVALID, MANUAL, NGINX, PLUGIN, parse_bool
from .annotations import GATEWAY, entries, implicit_ssl_redirect
from .context import GwContext
from .gateway import STANDARD, GatewayPlan, service_grants
from .httproute import Built, Draft, apply_weight, backend_ref, build, canary_rules, ingress_paths

PATH_KEYS = ("rewrite-target", "use-regex")
CANARY_KEYS = tuple(k for k, h in GATEWAY.items() if k.startswith("canary"))
KEPT_ON_CANARY = ("load-balance", "upstream-hash-by", "affinity", "affinity-mode", "session-cookie-name",
                  "session-cookie-path", "session-cookie-max-age", "session-cookie-expires")
SWITCH = [
    "The Ingresses are not changed: ingress-nginx keeps serving them while the routes are created. Higress should "
    "not serve these Ingresses as well (its ingressClass must not be nginx), or one host has two route sources.",
    "Switch: check each host against Higress's gateway address (curl --resolve HOST:443:ADDRESS https://HOST/), "
    "then point DNS (or the load balancer) from ingress-nginx to Higress.",
    "Go back: point DNS back to ingress-nginx, which never stopped serving; then delete what this migration wrote "
    f"(label {'='.join(MANAGED_BY)}), or restore its pre-migrate safety snapshot.",
]


@dataclass
class GatewayOptions:
    base: MigrateOptions = field(default_factory=MigrateOptions)
    channel: str = STANDARD
    gateway: str | None = None  # NAMESPACE/NAME of an existing Gateway to attach to
    gateway_name: str = "nginx-migrated"


@dataclass
class GatewayMigration(Migration):
    routes: list[dict] = field(default_factory=list)
    gateways: list[dict] = field(default_factory=list)
    grants: list[dict] = field(default_factory=list)
    route_names: list[str] = field(default_factory=list)  # Higress's names of the routes plugins attach to
    notes: list[str] = field(default_factory=list)

    @property
    def objects(self) -> list[dict]:
        return self.gateways + self.grants + self.routes + self.plugins

    def as_json(self) -> dict:
        doc = super().as_json()
        doc["generated"] = [{"apiVersion": o["apiVersion"], "kind": o["kind"], "namespace": o["metadata"]["namespace"],
                             "name": o["metadata"].get("name") or o["metadata"].get("generateName")}
                            for o in self.objects]
        doc["notes"] = self.notes
        return doc


def _services(objects: list[dict]) -> dict:
    out = {}
    for obj in objects:
        if obj.get("kind") == "Service" and obj.get("apiVersion") == "v1":
            meta = obj.get("metadata") or {}
            ports = {p["name"]: p["port"] for p in (obj.get("spec") or {}).get("ports") or [] if p.get("name")}
            out[(meta.get("namespace", "default"), meta.get("name"))] = ports
    return out


def _flag(annotations: dict, key: str, base: dict) -> bool:
    entry = base.get(NGINX + key)
    try:
        return entry is not None and entry.status != INVALID and parse_bool(annotations[NGINX + key])
    except (ValueError, AttributeError):
        return False


@dataclass
class _Source:
    ingress: dict
    namespace: str
    name: str
    base: dict
    plugins: dict
    report: IngressReport

    @property
    def annotations(self) -> dict:
        return (self.ingress.get("metadata") or {}).get("annotations") or {}

    @property
    def canary(self) -> bool:
        return _flag(self.annotations, "canary", self.base)


def _read(chosen: list[dict], options: MigrateOptions) -> list[_Source]:
    out = []
    for obj in chosen:
        v1, note = to_v1(obj)
        _, report, plugins = convert_ingress(obj, options)
        # the Ingress path's implicit entries and its findings on the spec (a host without paths, a TLS host
        # without a Secret) are about Ingresses Higress serves; routes are judged here (ingress_paths, _plan_tls)
        report.entries = [e for e in report.entries if e.value is not None and not e.key.startswith("spec.")]
        report.notes = [note] if note else []
        meta = v1.get("metadata") or {}
        out.append(_Source(v1, meta.get("namespace", "default"), meta.get("name") or "", {e.key: e for e in
                                                                                         report.entries},
                           plugins, report))
    return out


def _regex_hosts(sources: list[_Source]) -> set[str]:
    """Hosts whose every path nginx matches as a regex: one of its Ingresses has use-regex or a rewrite-target
    (template.go enforceRegexModifier works per server)."""
    hosts = set()
    for src in sources:
        if src.canary:
            continue
        target = src.base.get(NGINX + "rewrite-target")
        if _flag(src.annotations, "use-regex", src.base) or (target is not None and target.status != INVALID
                                                               and target.value):
            hosts |= {r.get("host") or "" for r in (src.ingress.get("spec") or {}).get("rules") or []}
    return hosts


def _plan_tls(sources: list[_Source], plan: GatewayPlan) -> None:
    for src in sources:
        if src.canary:
            continue
        for index, tls in enumerate((src.ingress.get("spec") or {}).get("tls") or []):
            hosts, secret = tls.get("hosts") or [], tls.get("secretName")
            key = f"spec.tls[{index}]"
            if not secret:
                src.report.entries.append(_finding(key, ", ".join(hosts), "no secretName: nginx served these hosts "
                                                   "with its default certificate; Higress builds no HTTPS server "
                                                   "without one, so no HTTPS listener was generated"))
            elif not hosts:
                src.report.entries.append(_finding(key, secret, "no hosts: nginx uses the Secret for the hosts its "
                                                   "certificate covers; name them in tls.hosts"))
            for host in hosts if secret else []:
                plan.add_certificate(host, src.namespace, secret, f"Ingress {src.namespace}/{src.name}")


def _finding(key: str, value: str | None, note: str) -> Entry:
    return Entry(key, value, MANUAL, None, note)


def _context(src: _Source, options: GatewayOptions, regex_hosts: set[str], plan: GatewayPlan | None = None
             ) -> GwContext:
    ctx = GwContext(src.ingress, src.namespace, src.name, options.channel, src.base,
                    plugin_namespace=options.base.higress_namespace)
    hosts = [r.get("host") or "" for r in (src.ingress.get("spec") or {}).get("rules") or []]
    ctx.tls = plan is not None and any(plan.https_parent(h) for h in hosts)
    protocol = (ctx.nginx("backend-protocol") or "").strip().upper()
    ctx.grpc = protocol in ("GRPC", "GRPCS")
    ctx.regex = not ctx.grpc and any(h in regex_hosts for h in hosts)
    ctx.route = f"{'GRPCRoute' if ctx.grpc else 'HTTPRoute'} {src.namespace}/{src.name}"
    return ctx


def _convert_main(src: _Source, options: GatewayOptions, plan: GatewayPlan, services: dict,
                  regex_hosts: set[str]) -> tuple[GwContext, Built]:
    ctx = _context(src, options, regex_hosts, plan)
    first = entries(ctx, skip=PATH_KEYS)
    built = build(ctx, plan, services)
    src.report.entries = sorted(first + entries(ctx, only=PATH_KEYS) + implicit_ssl_redirect(ctx) + [
        e for e in src.report.entries if not e.key.startswith((NGINX, "higress.io/"))], key=lambda e: e.key)
    for problem in ctx.path_problems:
        if not any(problem in e.note for e in src.report.entries):
            src.report.entries.append(_finding("spec.rules", None, problem))
    return ctx, built


def _merge_canary(src: _Source, options: GatewayOptions, mains: dict, regex_hosts: set[str]) -> None:
    """Canary rules go before their main rule; the weight splits the main rule's backends."""
    ctx = _context(src, options, regex_hosts)
    targets = []
    for host, path, _, backend in ingress_paths(src.ingress):
        found = mains.get((src.namespace, host, path))
        ref, problem = backend_ref(backend, src.namespace, {}) if backend else (None, "no backend")
        if found is None or ref is None:
            ctx.canary_problem = problem or (f"no main Ingress for {host or '*'}{path} in {src.namespace}: "
                                             "ingress-nginx serves no canary without one (controller.go "
                                             "mergeAlternativeBackends); nothing generated")
            continue
        draft, rule, main_ref = found
        # nginx.tmpl: the location's `return` of a redirect runs before rewrite_by_lua's ngx_rewrite.lua, where
        # balancer.lua picks the canary: a redirecting main rule never sends anything to its canary
        if main_ref is None or not rule.get("backendRefs"):
            ctx.canary_problem = (f"the main Ingress's rule for {host or '*'}{path} has no backend: it redirects "
                                  "(ingress-nginx answers with the redirect before a canary is chosen); nothing "
                                  "generated, decide what the canary was meant to do")
            continue
        extra, problem = canary_rules(ctx, rule, main_ref, ref)
        if problem:
            ctx.canary_problem = problem
            continue
        position = next(i for i, r in enumerate(draft.rules) if r is rule)
        draft.rules[position:position] = extra
        apply_weight(ctx, rule, ref)
        targets.append(f"{draft.kind} {draft.namespace}/{draft.name}")
    ctx.canary_target = ", ".join(sorted(set(targets))) + " rules (header matches, weighted backendRefs)"
    own = CANARY_KEYS + KEPT_ON_CANARY
    out = entries(ctx, only=own)
    for entry in src.report.entries:
        name = entry.key[len(NGINX):] if entry.key.startswith(NGINX) else None
        if name in own:
            continue
        if name is not None and entry.status != INVALID:
            entry.status, entry.target = CONVERTED, None
            entry.note = "ingress-nginx ignores it on a canary Ingress (the main Ingress's settings apply)"
        out.append(entry)
    src.report.entries = sorted(out, key=lambda e: e.key)


def _plugins(pairs: list[tuple[_Source, GwContext, Built]], options: GatewayOptions) -> tuple[list[dict], list[str]]:
    """WasmPlugins whose matchRules name the generated routes by Higress's route names."""
    rules: dict[str, list[dict]] = {}
    names = []
    hns = options.base.higress_namespace
    for src, ctx, built in pairs:
        route_names = [n for d in built.drafts if d.plugins for n in d.route_names(hns)]
        names += route_names
        configs = {plugin: rule["config"] for plugin, rule in src.plugins.items()}
        if ctx.allow:
            configs["ip-allowlist"] = ip_restriction("allow", ctx.allow)
        for plugin, config in configs.items():
            if not route_names:
                _no_route(src, plugin)
                continue
            rules.setdefault(plugin, []).append({"ingress": route_names, "config": config})
    out = []
    for plugin, match in sorted(rules.items()):
        out.append(wasm_plugin("ip-restriction" if plugin == "ip-allowlist" else plugin, match, options.base, plugin))
    return out, names


def _no_route(src: _Source, plugin: str) -> None:
    for entry in src.report.entries:
        if entry.status == PLUGIN and plugin in (entry.target or ""):
            entry.status = MANUAL
            entry.note = "no route was generated for this Ingress, so the plugin has nothing to attach to"


def migrate_gateway(objects: list[dict], options: GatewayOptions) -> GatewayMigration:
    chosen, skipped = select_ingresses(objects, options.base)
    sources = _read(chosen, options.base)
    namespace, _, name = (options.gateway or "").partition("/")
    plan = GatewayPlan(namespace or options.base.higress_namespace, name or options.gateway_name,
                       existing=bool(options.gateway), gateway_class=options.base.target_class)
    _plan_tls(sources, plan)
    regex_hosts, services = _regex_hosts(sources), _services(objects)
    pairs, mains = [], {}
    for src in (s for s in sources if not s.canary):
        ctx, built = _convert_main(src, options, plan, services, regex_hosts)
        pairs.append((src, ctx, built))
        for (host, path), found in built.index.items():
            mains.setdefault((src.namespace, host, path), found)
    for src in (s for s in sources if s.canary):
        _merge_canary(src, options, mains, regex_hosts)
    plugins, names = _plugins(pairs, options)
    drafts: list[Draft] = [d for _, _, built in pairs for d in built.drafts]
    needs: dict = {}
    for _, ctx, _ in pairs:
        for target_ns, service in ctx.grants:
            needs.setdefault((ctx.namespace, target_ns), set()).add(service)
    # only the Gateways some route attaches to (none without routes), and their certificates' grants
    used = {(p.namespace, p.name) for d in drafts for p in d.parents}
    migration = GatewayMigration(
        [s.ingress for s in sources], plugins, [s.report for s in sources], skipped,
        routes=[o for d in drafts for o in d.objects()],
        gateways=[g for g in plan.gateways() if (g["metadata"]["namespace"], g["metadata"]["name"]) in used],
        grants=(plan.grants() if used else []) + service_grants(needs), route_names=names)
    migration.notes = _notes(plan) + SWITCH
    return migration


def _notes(plan: GatewayPlan) -> list[str]:
    notes = list(plan.conflicts)
    if plan.existing:
        for host, (ns, secret) in sorted(plan.certificates.items()):
            notes.append(f"Gateway {plan.namespace}/{plan.name} (not changed) needs an HTTPS listener on port 443 "
                         f"for {host} with Secret {ns}/{secret}")
    return notes
