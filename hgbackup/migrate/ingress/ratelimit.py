"""ingress-nginx's request-rate limits (limit-rps, limit-rpm, limit-burst-multiplier, limit-allowlist and its alias
limit-whitelist) as Higress's cluster-key-rate-limit plugin.

nginx limits each client IP (ingress-nginx ratelimit/main.go; nginx.tmpl `limit_req_zone $limit_<id>`, the client
address unless it is in the allowlist) with a burst of rate x multiplier (default 5, nodelay), answering 503
(config.go limit-req-status-code). Higress's higress.io/route-limit-* is one bucket per route per gateway pod
(local_rate_limit.go): all clients together, so it is never used here. cluster-key-rate-limit's `limit_by_per_ip`
counts per client IP in Redis across gateway pods, in fixed windows without burst; its parser refuses a config
without `redis.service_name` (plugins/wasm-go/extensions/cluster-key-rate-limit/config/config.go), which the
migration cannot know: it is given with --redis-service, or the limit is manual work naming that field.
"""

from __future__ import annotations

from ..model import Entry
from ..rules import CONVERTED, MANUAL, NGINX, PLUGIN, UNSUPPORTED, parse_cidrs, parse_int

PLUGIN_NAME = "cluster-key-rate-limit"
WINDOWS = {"limit-rps": "query_per_second", "limit-rpm": "query_per_minute"}
ALLOWLISTS = ("limit-allowlist", "limit-whitelist")  # the first set one is read (ratelimit/main.go aliases)
EXEMPT_PER_DAY = 10**12  # the plugin has no exemption list: a limit no client reaches stands for one
NGINX_STATUS = 503  # ingress-nginx's default limit-req-status-code (config.go)
PER_IP = ("nginx limits each client IP to {limit}; higress.io/route-limit-* would cap all clients of the route "
          "together, per gateway pod, so it is not used")
NEEDS_REDIS = ("the per-client-IP limiter of Higress is the cluster-key-rate-limit plugin (limit_by_per_ip), "
               "which needs Redis: its redis.service_name cannot be known here; give --redis-service to generate it. "
               "Until then the route has no rate limit under Higress")


def _number(ctx, name: str) -> int:
    try:
        return parse_int(ctx.nginx(name) or "0")
    except ValueError:
        return 0


def _limit(ctx) -> tuple[str, int] | None:
    """The one limit the plugin carries: rps when set, else rpm (the plugin applies one window per client)."""
    for name in WINDOWS:
        if _number(ctx, name) > 0:
            return name, _number(ctx, name)
    return None


def _allowlist(ctx) -> tuple[str, list[str]] | None:
    for name in ALLOWLISTS:
        if (ctx.nginx(name) or "").strip():
            try:
                return name, parse_cidrs(ctx.nginx(name))
            except ValueError:
                return None
    return None


def rate_limit(ctx, name, value, parsed, rule) -> Entry:
    limit = _limit(ctx)
    if limit is None:
        return Entry(NGINX + name, value, CONVERTED, None,
                     "no request-rate limit on this Ingress (limit-rps/limit-rpm unset or 0): nothing to carry over")
    key, count = limit
    allowed = _allowlist(ctx)
    unit = "second" if key == "limit-rps" else "minute"
    if name in ALLOWLISTS and allowed and allowed[0] != name:
        return Entry(NGINX + name, value, CONVERTED, None, f"{allowed[0]} is set as well and is what nginx reads")
    if not ctx.options.redis_service:
        if name in WINDOWS:
            own = f"{parsed} requests a {'second' if name == 'limit-rps' else 'minute'}"
            return Entry(NGINX + name, value, MANUAL, None, PER_IP.format(limit=own) + "; " + NEEDS_REDIS)
        what = "the clients nginx exempts from" if name in ALLOWLISTS else "the burst of"
        return Entry(NGINX + name, value, MANUAL, None, f"{what} the per-client limit: see limit-rps/limit-rpm")
    config = ctx.plugins.setdefault(PLUGIN_NAME, plugin_config(ctx, key, count, allowed[1] if allowed else []))
    target = ctx.plugin_target(PLUGIN_NAME)
    if name in WINDOWS and name != key:
        return Entry(NGINX + name, value, MANUAL, None,
                     f"the plugin applies one window per client: only {key} was generated; nginx applied both")
    if name == "limit-burst-multiplier":
        return Entry(NGINX + name, value, UNSUPPORTED, None,
                     "cluster-key-rate-limit counts fixed windows and has no burst")
    if name in ALLOWLISTS:
        return Entry(NGINX + name, value, PLUGIN, target,
                     f"exempt: these ranges come first in limit_keys with {EXEMPT_PER_DAY} requests a day per "
                     "address, a limit no client reaches (the plugin has no exemption list)")
    burst = count * (_number(ctx, "limit-burst-multiplier") or 5)
    return Entry(NGINX + name, value, PLUGIN, target,
                 f"each client IP (the connection's address, as nginx's $binary_remote_addr) gets {count} requests "
                 f"a {unit}, counted in Redis {config['redis']['service_name']} across gateway pods, answered "
                 f"{NGINX_STATUS} beyond as nginx did; nginx also let a burst of {burst} more through at once, the "
                 "plugin counts fixed windows without burst. Add redis.password if that Redis needs one")


def plugin_config(ctx, key: str, count: int, exempt: list[str]) -> dict:
    """One match rule's config: every client IP limited by its own address, the allowlist first."""
    meta = ctx.ingress.get("metadata") or {}
    window = WINDOWS[key]
    keys = [{"key": cidr, "query_per_day": EXEMPT_PER_DAY} for cidr in exempt]
    keys += [{"key": "0.0.0.0/0", window: count}, {"key": "::/0", window: count}]
    redis = {"service_name": ctx.options.redis_service}
    if ctx.options.redis_port:
        redis["service_port"] = ctx.options.redis_port
    return {"rule_name": f"migrated-{meta.get('namespace', 'default')}-{meta.get('name', '')}",
            "rule_items": [{"limit_by_per_ip": "from-remote-addr", "limit_keys": keys}],
            "rejected_code": NGINX_STATUS, "redis": redis}
