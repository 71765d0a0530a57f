"""What each Wasm plugin the migration generates refuses at start, stated here from the plugins' own sources (not
from hgbackup's code), so that a test of a generated config can fail. Paths are in alibaba/higress
plugins/wasm-go/extensions/; `problems(plugin, config)` is empty when that plugin's parser accepts the config.

Phase and priority come from each plugin's README ("插件执行阶段" / "插件执行优先级"): 认证阶段 is AUTHN, 授权阶段
AUTHZ, 默认阶段 UNSPECIFIED_PHASE.
"""

from __future__ import annotations

import ipaddress

ORDER = {"ext-auth": ("AUTHN", 360), "ip-restriction": ("AUTHN", 210), "waf": ("AUTHZ", 330),
         "cluster-key-rate-limit": ("UNSPECIFIED_PHASE", 20)}
STRING_MATCHERS = ("exact", "prefix", "suffix", "contains", "regex")  # ext-auth expr/matcher.go
TIME_WINDOWS = ("query_per_second", "query_per_minute", "query_per_hour", "query_per_day")
LIMIT_BY = ("limit_by_header", "limit_by_param", "limit_by_cookie", "limit_by_per_header", "limit_by_per_param",
            "limit_by_per_cookie", "limit_by_consumer", "limit_by_per_consumer", "limit_by_per_ip")


def _is_net(text) -> bool:
    try:
        ipaddress.ip_network(str(text), strict=False)
        return True
    except ValueError:
        return False


def ext_auth(config: dict) -> list[str]:
    """ext-auth config/config.go ParseConfig, parseEndpointConfig, parseAuthorization*Config; expr/
    repeated_string_matcher.go (each header matcher names one of STRING_MATCHERS)."""
    service = config.get("http_service")
    if not isinstance(service, dict):
        return ["missing http_service"]
    out = []
    mode = service.get("endpoint_mode") or "envoy"
    if mode not in ("envoy", "forward_auth"):
        out.append(f"endpoint_mode {mode} is not supported")
    endpoint = service.get("endpoint")
    if not isinstance(endpoint, dict):
        return out + ["missing endpoint"]
    if not endpoint.get("service_name"):
        out.append("endpoint service name must not be empty")
    if mode == "envoy" and "path_prefix" not in endpoint:
        out.append("envoy mode needs endpoint.path_prefix")
    if mode == "forward_auth" and "path" not in endpoint:
        out.append("forward_auth mode needs endpoint.path")
    method = (endpoint.get("request_method") or "GET").upper()
    request = service.get("authorization_request") or {}
    if request.get("with_request_body") and method in ("GET", "OPTIONS", "HEAD"):
        out.append(f"{method} does not support with_request_body")
    response = service.get("authorization_response") or {}
    for where, matchers in (("allowed_headers", request.get("allowed_headers")),
                            ("allowed_upstream_headers", response.get("allowed_upstream_headers")),
                            ("allowed_client_headers", response.get("allowed_client_headers"))):
        for matcher in matchers or []:
            if not any(matcher.get(kind) for kind in STRING_MATCHERS):
                out.append(f"{where}: unknown string matcher type {matcher!r}")
    return out


def ip_restriction(config: dict) -> list[str]:
    """ip-restriction main.go parseConfig and utils.go parseIPNets: exactly one of allow and deny, each an IP or
    CIDR list."""
    allow, deny = config.get("allow") or [], config.get("deny") or []
    if allow and deny:
        return ["allow and deny cannot be set at the same time"]
    if not allow and not deny:
        return ["allow and deny cannot be empty at the same time"]
    return [f"{item!r} is no IP or CIDR" for item in allow + deny if not _is_net(item)]


def waf(config: dict) -> list[str]:
    """waf wasmplugin/plugin.go parseConfig: useCRS a boolean, secRules directive strings (Coraza compiles them)."""
    out = []
    if "useCRS" in config and not isinstance(config["useCRS"], bool):
        out.append("useCRS is not a boolean")
    rules = config.get("secRules", [])
    if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
        out.append("secRules is not a list of directives")
    return out


def _limit_keys(where: str, item: dict, per_ip: bool) -> list[str]:
    """config/config.go initConfigItems and createConfigItemFromRate (the window map is unordered: every window
    given must be positive)."""
    keys = item.get("limit_keys")
    if not keys:
        return [f"{where}.limit_keys missing or empty"]
    out = []
    for key in keys:
        name = key.get("key")
        if not name:
            out.append(f"{where}.limit_keys key is required")
        elif per_ip and not _is_net(name):
            out.append(f"{where}.limit_keys: {name!r} is no IP or CIDR")
        windows = [w for w in TIME_WINDOWS if w in key]
        if not windows or any(not isinstance(key[w], int) or key[w] <= 0 for w in windows):
            out.append(f"{where}.limit_keys: {name!r} needs a positive query_per_*")
    return out


def cluster_key_rate_limit(config: dict) -> list[str]:
    """cluster-key-rate-limit config/config.go: InitRedisClusterClient, ParseClusterKeyRateLimitConfig,
    initLimitRule, parseLimitRuleItem."""
    out = []
    if "rule_name" not in config:
        out.append("missing rule_name")
    redis = config.get("redis")
    if not isinstance(redis, dict):
        out.append("missing redis")
    elif not redis.get("service_name"):
        out.append("redis service name must not be empty")
    if ("global_threshold" in config) == ("rule_items" in config):
        return out + ["exactly one of global_threshold and rule_items"]
    if "global_threshold" in config:
        windows = [w for w in TIME_WINDOWS if w in config["global_threshold"]]
        return out + ([] if windows and all(config["global_threshold"][w] > 0 for w in windows)
                      else ["global_threshold needs a positive query_per_*"])
    if not config["rule_items"]:
        out.append("rule_items cannot be empty")
    for number, item in enumerate(config["rule_items"]):
        where = f"rule_items[{number}]"
        given = [k for k in LIMIT_BY if item.get(k) not in (None, "")]
        if not given:
            out.append(f"{where}: one limit_by_* is needed")
            continue
        source = item.get("limit_by_per_ip")
        if source and source != "from-remote-addr" and not (source.startswith("from-header-") and source[12:]):
            out.append(f"{where}.limit_by_per_ip: from-remote-addr or from-header-<name>")
        out += _limit_keys(where, item, per_ip=bool(source))
    return out


PARSERS = {"ext-auth": ext_auth, "ip-restriction": ip_restriction, "waf": waf,
           "cluster-key-rate-limit": cluster_key_rate_limit}


def problems(plugin: str, config: dict) -> list[str]:
    return PARSERS[plugin](config)
