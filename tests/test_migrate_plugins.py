"""migrate/plugins.py: the WasmPlugins a migration generates start under their own parsers (plugin_parsers states
those parsers' rules from the plugins' sources) with the phase and priority their READMEs give."""

from __future__ import annotations

import copy

import plugin_parsers
import pytest
from test_migrate import entry_for, migrate_one

from hgbackup.migrate.rules import NGINX

GOOD = {
    "ext-auth": {"http_service": {"endpoint_mode": "forward_auth", "endpoint": {"service_name": "a.b.svc.cluster.local",
                                                                                "path": "/auth"}}},
    "ip-restriction": {"deny": ["1.2.3.4/32"]},
    "waf": {"useCRS": True, "secRules": ["SecRuleEngine On"]},
    "cluster-key-rate-limit": {"rule_name": "a", "redis": {"service_name": "r.dns"},
                               "rule_items": [{"limit_by_per_ip": "from-remote-addr",
                                               "limit_keys": [{"key": "0.0.0.0/0", "query_per_second": 1}]}]},
}


def _with(plugin: str, path: str, value):
    """GOOD[plugin] with the field at dotted `path` set to `value` (None: removed)."""
    config = copy.deepcopy(GOOD[plugin])
    node, parts = config, path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is None:
        node.pop(parts[-1])
    else:
        node[parts[-1]] = value
    return config


@pytest.mark.parametrize("plugin,path,value,refusal", [
    # ext-auth config/config.go
    ("ext-auth", "http_service", None, "missing http_service"),
    ("ext-auth", "http_service.endpoint.service_name", "", "service name must not be empty"),
    ("ext-auth", "http_service.endpoint.path", None, "forward_auth mode needs endpoint.path"),
    ("ext-auth", "http_service.endpoint_mode", "envoy", "envoy mode needs endpoint.path_prefix"),
    ("ext-auth", "http_service.endpoint_mode", "grpc", "endpoint_mode grpc is not supported"),
    ("ext-auth", "http_service.authorization_request", {"allowed_headers": [{"exactly": "cookie"}]},
     "unknown string matcher type"),
    ("ext-auth", "http_service.authorization_request", {"with_request_body": True}, "GET does not support"),
    # ip-restriction main.go parseConfig
    ("ip-restriction", "deny", None, "cannot be empty at the same time"),
    ("ip-restriction", "allow", ["10.0.0.0/8"], "cannot be set at the same time"),
    ("ip-restriction", "deny", ["10.0.0.300"], "is no IP or CIDR"),
    # waf wasmplugin/plugin.go parseConfig
    ("waf", "secRules", "SecRuleEngine On", "not a list of directives"),
    # cluster-key-rate-limit config/config.go
    ("cluster-key-rate-limit", "redis", {}, "redis service name must not be empty"),
    ("cluster-key-rate-limit", "rule_name", None, "missing rule_name"),
    ("cluster-key-rate-limit", "global_threshold", {"query_per_second": 1}, "exactly one of global_threshold"),
    ("cluster-key-rate-limit", "rule_items.0.limit_by_per_ip", "client", "from-remote-addr or from-header-"),
    ("cluster-key-rate-limit", "rule_items.0.limit_by_per_ip", None, "one limit_by_* is needed"),
    ("cluster-key-rate-limit", "rule_items.0.limit_keys", [], "limit_keys missing or empty"),
    ("cluster-key-rate-limit", "rule_items.0.limit_keys.0.key", "nope", "'nope' is no IP or CIDR"),
    ("cluster-key-rate-limit", "rule_items.0.limit_keys.0.query_per_second", 0, "needs a positive query_per_*"),
])
def test_the_stated_parser_rules_refuse_what_the_plugins_refuse(plugin, path, value, refusal):
    assert plugin_parsers.problems(plugin, GOOD[plugin]) == []
    found = plugin_parsers.problems(plugin, _with(plugin, path, value))
    assert any(refusal in p for p in found), found


def test_basic_auth_generates_no_plugin_that_its_parser_would_refuse():
    m = migrate_one({NGINX + "auth-type": "basic", NGINX + "auth-secret": "htpasswd"})
    assert m.plugins == [] and entry_for(m, "auth-type").status == "manual"


def test_generated_plugins_pass_their_parsers_and_carry_phase_and_priority():
    m = migrate_one({NGINX + "auth-url": "http://oauth2-proxy.auth.svc.cluster.local/oauth2/auth",
                     NGINX + "auth-signin": "https://auth.example.com/oauth2/start?rd=$escaped_request_uri",
                     NGINX + "denylist-source-range": "1.2.3.4", NGINX + "enable-modsecurity": "true",
                     NGINX + "limit-rps": "5", NGINX + "limit-whitelist": "10.0.0.0/8"},
                    redis_service="redis.infra.svc.cluster.local")
    assert {p["metadata"]["name"] for p in m.plugins} == {"migrated-ext-auth", "migrated-ip-restriction",
                                                         "migrated-waf", "migrated-cluster-key-rate-limit"}
    for plugin in m.plugins:
        kind = plugin["metadata"]["name"][len("migrated-"):]
        assert (plugin["spec"]["phase"], plugin["spec"]["priority"]) == plugin_parsers.ORDER[kind]
        for rule in plugin["spec"]["matchRules"]:
            assert plugin_parsers.problems(kind, rule["config"]) == [], kind
    ext = next(p for p in m.plugins if p["metadata"]["name"] == "migrated-ext-auth")
    request = ext["spec"]["matchRules"][0]["config"]["http_service"]["authorization_request"]
    assert request == {"allowed_headers": [{"exact": "cookie"}]}  # the oauth2-proxy session cookie gets through
