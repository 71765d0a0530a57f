"""One Ingress's HTTPRoute (or GRPCRoute), and the canary Ingresses merged into it.

Hosts with the same paths share a route; each path is one rule (one match, as Higress's route sorting expects:
conversion.go sortHTTPRoutes looks at match[0] only). Rules beyond the CRD's 16 go to `<name>-2`, ... The rule-level
behaviour (filters, timeouts, retry, redirects) comes from context.GwContext. Canary Ingresses follow
ingress-nginx's balancer.lua: header (value, pattern, or always/never), then cookie (always/never), then weight;
Gateway API can say all three at once, as rules with header matches listed before the weighted rule.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from ...kube.catalogue import GATEWAY
from ...kube.references import route_name
from ..ingress.regexes import re2_problem
from ..model import generated_metadata
from .context import GwContext
from .gateway import V1, GatewayPlan, Parent, suffixed
from .paths import PathMatch, grpc_match, path_match, rewrite_for

MAX_RULES = 16  # httproutes/grpcroutes CRD: spec.rules maxItems


@dataclass
class Draft:
    """A route before it is cut into objects of at most MAX_RULES rules."""

    kind: str
    namespace: str
    name: str
    hostnames: list[str]
    parents: list[Parent]
    rules: list[dict] = field(default_factory=list)
    plugins: bool = True  # the Ingress's plugins attach to it (not to its https-redirect companion)
    source: str = ""  # the Ingress it comes from (default: same namespace and name)

    def names(self) -> list[str]:
        count = max(1, -(-len(self.rules) // MAX_RULES))
        return [self.name] + [suffixed(self.name, str(i + 1)) for i in range(1, count)]

    def route_names(self, higress_namespace: str) -> list[str]:
        return [route_name(self.namespace, n, higress_namespace, (GATEWAY, self.kind)) for n in self.names()]

    def objects(self) -> list[dict]:
        out = []
        for index, name in enumerate(self.names()):
            spec = {"parentRefs": [p.ref(self.namespace) for p in self.parents],
                    "rules": self.rules[index * MAX_RULES:(index + 1) * MAX_RULES]}
            if self.hostnames:
                spec = {"hostnames": self.hostnames, **spec}
            out.append({"apiVersion": V1, "kind": self.kind,
                        "metadata": generated_metadata(name, self.namespace,
                                                       f"Ingress {self.namespace}/{self.source or self.name}"),
                        "spec": spec})
        return out


@dataclass
class Built:
    """What one Ingress became: its routes, and for canaries the rule each (host, path) landed in."""

    drafts: list[Draft]
    index: dict = field(default_factory=dict)  # (host, path) -> (draft, rule)
    problems: list[str] = field(default_factory=list)  # paths not carried over, for the report


def backend_ref(backend: dict, namespace: str, services: dict) -> tuple[dict | None, str]:
    """A backendRef for an Ingress backend; a named port is resolved from a Service in the input, or reported."""
    service = backend.get("service")
    if not service:
        return None, "a resource backend has no Gateway API form"
    port = service.get("port") or {}
    number = port.get("number")
    if number is None and port.get("name"):
        number = services.get((namespace, service["name"]), {}).get(port["name"])
        if number is None:
            return None, (f"Service {namespace}/{service['name']} port {port['name']!r}: a backendRef needs the "
                          "port number; give the Service with the Ingresses so it can be read")
    return {"name": service["name"], "port": int(number)}, ""


def ingress_paths(ingress: dict) -> list[tuple[str, str, str, dict | None]]:
    """(host, path, pathType, backend) of every path; a host without paths gets `/` with no backend."""
    spec = ingress.get("spec") or {}
    out = []
    for rule in spec.get("rules") or []:
        host = rule.get("host") or ""
        paths = (rule.get("http") or {}).get("paths") or []
        if not paths:
            out.append((host, "/", "Prefix", spec.get("defaultBackend")))
        for p in paths:
            out.append((host, p.get("path") or "/", p.get("pathType") or "ImplementationSpecific", p.get("backend")))
        if paths and spec.get("defaultBackend") and not any((p.get("path") or "/") == "/" for p in paths):
            out.append((host, "/", "Prefix", spec["defaultBackend"]))
    if not spec.get("rules") and spec.get("defaultBackend"):
        out.append(("", "/", "Prefix", spec["defaultBackend"]))
    return out


def _match(ctx: GwContext, path: str, path_type: str) -> PathMatch:
    if ctx.grpc:
        return grpc_match(path, path_type)
    target = ctx.nginx("rewrite-target")
    if target and target != path and ctx.redirect is None:
        return rewrite_for(path, path_type, ctx.regex, target)
    return path_match(path, path_type, ctx.regex)


def _filters(ctx: GwContext, rewrite: dict | None) -> list[dict]:
    out = []
    for side, kind in (("request", "RequestHeaderModifier"), ("response", "ResponseHeaderModifier")):
        ops = ctx.headers[side]
        if ops:
            key = kind[0].lower() + kind[1:]
            out.append({"type": kind, key: {op: ([{"name": k, "value": v} for k, v in sorted(val.items())]
                                                 if isinstance(val, dict) else val) for op, val in ops.items()}})
    if ctx.grpc:
        return out + ([{"type": "RequestMirror", "requestMirror": ctx.mirror}] if ctx.mirror else [])
    if ctx.redirect is not None:
        return out + [{"type": "RequestRedirect", "requestRedirect": ctx.redirect}]
    url = {}
    if rewrite:
        url["path"] = rewrite
    if ctx.hostname:
        url["hostname"] = ctx.hostname
    if url:
        out.append({"type": "URLRewrite", "urlRewrite": url})
    if ctx.mirror:
        out.append({"type": "RequestMirror", "requestMirror": ctx.mirror})
    if ctx.cors:
        out.append({"type": "CORS", "cors": ctx.cors})
    return out


def _rule(ctx: GwContext, matched: PathMatch, ref: dict | None) -> dict:
    rule: dict = {}
    if matched.match:
        rule["matches"] = [matched.match]
    filters = _filters(ctx, matched.rewrite)
    if filters:
        rule["filters"] = filters
    if ref is not None and ctx.redirect is None:
        rule["backendRefs"] = [dict(ref)]
    if ctx.timeouts and not ctx.grpc:
        rule["timeouts"] = dict(ctx.timeouts)
    if ctx.retry is not None and not ctx.grpc:
        rule["retry"] = dict(ctx.retry)
    return rule


def plan_paths(ctx: GwContext, services: dict) -> list[tuple[str, str, dict, dict | None]]:
    """(host, path, rule, backendRef) per path that carries over; the others go to ctx.path_problems."""
    out = []
    for host, path, path_type, backend in ingress_paths(ctx.ingress):
        ref, problem = (None, "") if backend is None else backend_ref(backend, ctx.namespace, services)
        matched = _match(ctx, path, path_type)
        where = f"{host or '*'}{path}"
        if matched.match is None:
            ctx.path_problems.append(f"{where}: {matched.problem}")
            continue
        if matched.note and matched.note not in ctx.path_notes:
            ctx.path_notes.append(matched.note)
        if problem:
            ctx.path_problems.append(f"{where}: {problem}")
            continue
        if ref is None and ctx.redirect is None:
            continue  # nothing to route to: nginx answers from its default backend, Higress with a 404
        out.append((host, path, _rule(ctx, matched, ref), ref))
    if ctx.app_root and not ctx.grpc:
        redirect = {"path": {"type": "ReplaceFullPath", "replaceFullPath": ctx.app_root}, "statusCode": 302}
        hosts = sorted({h for h, *_ in out}) or [""]
        out = [(h, "=/", {"matches": [{"path": {"type": "Exact", "value": "/"}}],
                          "filters": [{"type": "RequestRedirect", "requestRedirect": redirect}]}, None)
               for h in hosts] + out
    return out


def build(ctx: GwContext, plan: GatewayPlan, services: dict) -> Built:
    """The routes of one (non-canary) Ingress."""
    planned = plan_paths(ctx, services)
    by_host: dict[str, list] = {}
    for host, path, rule, ref in planned:
        by_host.setdefault(host, []).append((path, rule, ref))
    groups: dict[tuple, list[str]] = {}
    for host, items in by_host.items():
        signature = (repr([(p, r) for p, r, _ in items]), plan.https_parent(host) is not None)
        groups.setdefault(signature, []).append(host)
    kind = "GRPCRoute" if ctx.grpc else "HTTPRoute"
    built = Built([])
    for number, ((_, tls), hosts) in enumerate(sorted(groups.items(), key=lambda g: sorted(g[1]))):
        name = ctx.name if number == 0 else suffixed(ctx.name, str(number + 1))
        hostnames = sorted(h for h in hosts if h)
        redirect = tls and (ctx.force_ssl or ctx.ssl_redirect is not False) and ctx.redirect is None
        https = sorted({plan.https_parent(h) for h in hosts if plan.https_parent(h)}, key=str)
        parents = https if redirect else [plan.http_parent(), *https]
        draft = Draft(kind, ctx.namespace, name, hostnames, parents, source=ctx.name)
        for path, rule, ref in by_host[hosts[0]]:
            draft.rules.append(copy.deepcopy(rule))
            for host in hosts:
                built.index[(host, path)] = (draft, draft.rules[-1], ref)
        built.drafts.append(draft)
        if redirect:
            built.drafts.append(_https_redirect(draft, plan))
    return built


def _https_redirect(main: Draft, plan: GatewayPlan) -> Draft:
    rules = []
    for rule in main.rules:
        redirect = {"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}
        rules.append({**({"matches": rule["matches"]} if "matches" in rule else {}), "filters": [redirect]})
    return Draft("HTTPRoute", main.namespace, suffixed(main.name, "https-redirect"), main.hostnames,
                 [plan.http_parent()], rules, plugins=False, source=main.source or main.name)


def cookie_pattern(name: str, value: str) -> str:
    """An RE2 whole-header match for cookie `name` with `value` in a Cookie header."""
    return rf"(.*;\s*)?{re.escape(name)}={re.escape(value)}(;.*)?"


def canary_rules(ctx: GwContext, main_rule: dict, main_ref: dict, canary_ref: dict) -> tuple[list[dict], str]:
    """The rules a canary adds before its main rule, in balancer.lua's order; also the weight it takes."""
    header, cookie = ctx.nginx("canary-by-header"), ctx.nginx("canary-by-cookie")
    value, pattern = ctx.nginx("canary-by-header-value"), ctx.nginx("canary-by-header-pattern")
    matches: list[tuple[dict, dict]] = []  # (header match, backend)
    if header and value:
        matches.append(({"name": header, "value": value}, canary_ref))
    elif header and pattern:
        problem = re2_problem(pattern)
        if problem:
            return [], f"canary-by-header-pattern: {problem}"
        matches.append(({"name": header, "type": "RegularExpression", "value": f".*(?:{pattern}).*"}, canary_ref))
    elif header:
        matches += [({"name": header, "value": "always"}, canary_ref), ({"name": header, "value": "never"},
                                                                        main_ref)]
    if cookie:
        for word, ref in (("always", canary_ref), ("never", main_ref)):
            matches.append(({"name": "Cookie", "type": "RegularExpression", "value": cookie_pattern(cookie, word)},
                            ref))
    out = []
    for header_match, ref in matches:
        rule = copy.deepcopy(main_rule)
        rule.setdefault("matches", [{}])
        for match in rule["matches"]:
            match.setdefault("headers", []).append(header_match)
        rule["backendRefs"] = [dict(ref)]
        out.append(rule)
    return out, ""


def apply_weight(ctx: GwContext, rule: dict, canary_ref: dict) -> None:
    """canary-weight out of canary-weight-total (100 unless larger, balancer.lua) as weighted backendRefs."""
    raw = ctx.nginx("canary-weight")
    if raw is None:
        return
    weight = max(0, int(raw))
    total_raw = ctx.nginx("canary-weight-total")
    total = int(total_raw) if total_raw is not None and int(total_raw) > 100 else 100
    weight = min(weight, total)
    main = rule["backendRefs"][0]
    main["weight"] = total - weight
    rule["backendRefs"].append({**canary_ref, "weight": weight})
