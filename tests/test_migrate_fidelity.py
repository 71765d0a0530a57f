"""migrate nginx, round 3 (issue 26): the traffic a migrated Ingress serves is the traffic nginx served.

One test (or a few) per finding; each states the nginx and the Higress behaviour it checks, with the source file it
was read in (kubernetes/ingress-nginx, alibaba/higress). Pure logic: no server is needed.
"""

from __future__ import annotations

import plugin_parsers
import pytest

from hgbackup.migrate import MigrateOptions, migrate
from hgbackup.migrate.gatewayapi.convert import GatewayOptions, migrate_gateway
from hgbackup.migrate.rules import NGINX


def ingress(annotations: dict, *, rules: list | None = None, tls: list | None = None, paths: list | None = None,
            name: str = "web", namespace: str = "shop") -> dict:
    """An Ingress of class nginx with one host and real paths (so a finding about hosts without paths is not
    triggered by the helper itself)."""
    paths = paths or [{"path": "/", "pathType": "Prefix",
                       "backend": {"service": {"name": "web", "port": {"number": 80}}}}]
    spec = {"ingressClassName": "nginx",
            "rules": rules if rules is not None else [{"host": "a.example.com", "http": {"paths": paths}}]}
    if tls is not None:
        spec["tls"] = tls
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "namespace": namespace,
                         "annotations": {NGINX + k: v for k, v in annotations.items()}},
            "spec": spec}


def run_one(obj: dict, **options):
    return migrate([obj], MigrateOptions(**options))


def entry(migration, key: str):
    found = [e for r in migration.reports for e in r.entries if e.key == key or e.key == NGINX + key]
    assert len(found) == 1, (key, [e.key for r in migration.reports for e in r.entries])
    return found[0]


def annotations_of(migration) -> dict:
    return migration.ingresses[0]["metadata"].get("annotations") or {}


# 1. oauth2-proxy's /oauth2/auth answers 202 (oauth2-proxy oauthproxy.go AuthOnly: rw.WriteHeader(StatusAccepted));
#    nginx's auth_request lets any 2xx through; Higress ext-auth lets only 200 through (ext-auth main.go
#    checkExtAuth: statusCode != http.StatusOK -> the auth answer is sent to the client).
def test_oauth2_proxy_auth_endpoint_is_manual_naming_the_202():
    m = run_one(ingress({"auth-url": "http://oauth2-proxy.auth.svc.cluster.local/oauth2/auth",
                         "auth-signin": "https://auth.example.com/oauth2/start?rd=$escaped_request_uri"}))
    e = entry(m, "auth-url")
    assert e.status == "manual"
    assert "202" in e.note and "only 200" in e.note and "oidc" in e.note


def test_other_auth_services_keep_the_plugin_and_are_told_about_200():
    m = run_one(ingress({"auth-url": "http://authz.auth.svc.cluster.local/check"}))
    e = entry(m, "auth-url")
    assert e.status == "plugin" and "only a 200" in e.note


# 2. A rewrite-target starting with http(s):// makes nginx answer the client with a redirect (template.go
#    buildProxyPass writes `rewrite "<path>" <target> break;`, and ngx_http_rewrite_module redirects when the
#    replacement starts with http:// or https://); Higress puts the text into the upstream path (rewrite.go
#    ApplyRoute: UriRegexRewrite) and proxies to the old service.
def test_rewrite_target_to_an_absolute_url_is_never_native():
    obj = ingress({"rewrite-target": "https://new.example.com/$1", "use-regex": "true"},
                  paths=[{"path": "/old/(.*)", "pathType": "ImplementationSpecific",
                          "backend": {"service": {"name": "web", "port": {"number": 80}}}}])
    for mode in ("side-by-side", "cutover"):
        m = run_one(obj, mode=mode)
        e = entry(m, "rewrite-target")
        assert e.status == "manual" and "redirect" in e.note and "upstream path" in e.note
        assert "higress.io/rewrite-target" not in annotations_of(m)


def test_a_fixed_absolute_rewrite_target_names_the_redirect_to_use():
    m = run_one(ingress({"rewrite-target": "https://new.example.com/landing"}))
    e = entry(m, "rewrite-target")
    assert e.status == "manual" and "higress.io/temporal-redirect: https://new.example.com/landing" in e.note


# 11. `rewrite-target: /$2` on a path with one capture group: nginx copies nothing for a capture the regex lacks
#     (src/http/ngx_http_script.c copy_capture_code: `if (n < r->ncaptures)`), so every request goes to `/`.
#     Higress writes `\2` into an Envoy regex rewrite (rewrite.go convertToRE2); Envoy substitutes with
#     RE2::GlobalReplace (envoy source/common/common/regex.h replaceAll), which refuses a rewrite naming a group the
#     pattern lacks and leaves the path as it was (re2/re2.cc GlobalReplace: nvec > 1 + NumberOfCapturingGroups()).
def _regex_paths(*paths):
    return [{"path": p, "pathType": "ImplementationSpecific",
             "backend": {"service": {"name": "web", "port": {"number": 80}}}} for p in paths]


def test_a_capture_the_path_lacks_is_manual_with_both_behaviours():
    m = run_one(ingress({"rewrite-target": "/$2", "use-regex": "true"}, paths=_regex_paths("/api/(.*)")))
    e = entry(m, "rewrite-target")
    assert e.status == "manual"
    assert "/api/(.*)" in e.note and "1 capture group" in e.note and "every request to /" in e.note
    assert "unrewritten" in e.note


def test_groups_are_counted_as_pcre_counts_them():
    from hgbackup.migrate.ingress.regexes import capture_groups

    assert capture_groups("/api(/|$)(.*)") == 2
    assert capture_groups(r"/a\(b\)(c)") == 1  # escaped parentheses are no group
    assert capture_groups("/x[()](.*)") == 1  # nor are parentheses in a character class
    assert capture_groups("/(?:v1|v2)/(?<rest>.*)") == 1  # non-capturing no, named yes
    assert capture_groups("/(?P<a>x)(?'b'y)(?=z)(?<!w)") == 2


def test_enough_groups_stay_native():
    m = run_one(ingress({"rewrite-target": "/$2", "use-regex": "true"},
                        paths=_regex_paths("/api(/|$)(.*)", "/v1(/|$)(.*)")))
    assert entry(m, "rewrite-target").status == "native"


# 10. nginx sends X-Forwarded-Prefix only together with a rewrite-target, and sets it (proxy_set_header overwrites
#     what the client sent): template.go buildProxyPass. Higress's request-header-control-add appends (Istio
#     headers.request.add), -update sets (headers.request.set): header_control.go ApplyRoute.
def test_forwarded_prefix_without_rewrite_target_sends_nothing():
    m = run_one(ingress({"x-forwarded-prefix": "/api"}))
    e = entry(m, "x-forwarded-prefix")
    assert e.status == "converted" and e.target is None and "rewrite-target" in e.note
    assert not any("header-control" in k for k in annotations_of(m))


def test_forwarded_prefix_with_rewrite_target_overwrites_the_header():
    m = run_one(ingress({"x-forwarded-prefix": "/api", "rewrite-target": "/$1", "use-regex": "true"},
                        paths=_regex_paths("/api/(.*)")))
    e = entry(m, "x-forwarded-prefix")
    assert e.status == "converted" and "request-header-control-update" in e.target
    out = annotations_of(m)
    assert out["higress.io/request-header-control-update"] == "X-Forwarded-Prefix /api"
    assert "higress.io/request-header-control-add" not in out


def test_forwarded_prefix_joins_the_users_own_update_list():
    obj = ingress({"x-forwarded-prefix": "/api", "rewrite-target": "/$1"}, paths=_regex_paths("/api/(.*)"))
    obj["metadata"]["annotations"]["higress.io/request-header-control-update"] = "X-Team web"
    out = annotations_of(run_one(obj))
    assert out["higress.io/request-header-control-update"] == "X-Team web\nX-Forwarded-Prefix /api"


# 7. `cors-allow-origin: "$http_origin"` fails ingress-nginx's validator (cors/main.go corsOriginRegexValidator), so
#    nginx falls back to `*` and answers every Origin with itself (nginx.tmpl CORS: Access-Control-Allow-Origin:
#    $http_origin). Higress takes the text literally (cors.go: an exact match), so no origin would ever match.
def test_an_origin_nginx_refuses_becomes_the_star_it_applied_in_both_modes():
    for mode, key in (("side-by-side", NGINX), ("cutover", "higress.io/")):
        m = run_one(ingress({"enable-cors": "true", "cors-allow-origin": "$http_origin"}), mode=mode)
        e = entry(m, "cors-allow-origin")
        assert e.status == "converted" and "*" in e.target and "every origin" in e.note
        assert annotations_of(m)[key + "cors-allow-origin"] == "*"


def test_valid_origins_stay_as_written():
    for value in ("https://app.example.com, https://admin.example.com", "https://*.example.com", "*"):
        m = run_one(ingress({"enable-cors": "true", "cors-allow-origin": value}))
        assert entry(m, "cors-allow-origin").status == "native", value
        assert annotations_of(m)[NGINX + "cors-allow-origin"] == value
    m = run_one(ingress({"enable-cors": "true", "cors-allow-origin": "https://a.example.com, $http_origin"}))
    assert entry(m, "cors-allow-origin").status == "converted"  # one bad origin fails the whole value


# 12. nginx matches canary-by-header-pattern unanchored (balancer.lua: ngx.re.match(header, pattern)); Higress
#     builds ".*" + pattern + ".*" (canary.go ApplyByHeader) and Envoy matches regexes whole (regex.h FullMatch):
#     `cd|sz` becomes `.*cd|sz.*`, which `cd-1` no longer matches. A group keeps the alternation together.
def test_an_alternation_is_grouped_in_both_modes():
    annotations = {"canary": "true", "canary-by-header": "X-Region", "canary-by-header-pattern": "cd|sz"}
    for mode, key in (("side-by-side", NGINX), ("cutover", "higress.io/")):
        m = run_one(ingress(annotations), mode=mode)
        e = entry(m, "canary-by-header-pattern")
        assert e.status == "converted" and "cd-1" in e.note
        assert annotations_of(m)[key + "canary-by-header-pattern"] == "(?:cd|sz)"


def test_patterns_without_a_top_level_alternation_stay():
    for value in ("^beta$", "(cd|sz)", r"a\|b", "[|]x"):
        m = run_one(ingress({"canary": "true", "canary-by-header": "X-Region", "canary-by-header-pattern": value}))
        assert entry(m, "canary-by-header-pattern").status == "native", value


@pytest.mark.parametrize("pattern", ["^(?!prod)", "a++b", r"(a)\1", "(?>ab)"])
def test_pcre_only_patterns_are_manual_on_both_paths(pattern):
    """One list of what RE2 lacks (regexes.PCRE_ONLY) for the Ingress path and the Gateway API path."""
    annotations = {"canary": "true", "canary-by-header": "X-Region", "canary-by-header-pattern": pattern}
    e = entry(run_one(ingress(annotations)), "canary-by-header-pattern")
    assert e.status == "manual" and "RE2" in e.note
    gateway = migrate_gateway([ingress({}, name="main"), ingress(annotations)], GatewayOptions(MigrateOptions()))
    e = entry(gateway, "canary")
    assert e.status == "manual" and "PCRE syntax RE2 (Envoy) lacks" in e.note, e.note


# 8. nginx returns the redirect URL exactly as written (nginx.tmpl: `return <code> <url>;`). Higress sends only
#    its path (redirect.go ApplyRoute: Uri = parseURL.Path), and an empty path leaves the request's own: `/x` on
#    https://maintenance.example.com went to https://maintenance.example.com/x. The query of the URL is dropped.
def test_a_redirect_url_without_a_path_gets_the_root_path_in_both_modes():
    for key in ("permanent-redirect", "temporal-redirect"):
        for mode, prefix in (("side-by-side", NGINX), ("cutover", "higress.io/")):
            m = run_one(ingress({key: "https://maintenance.example.com"}), mode=mode)
            e = entry(m, key)
            assert e.status == "converted" and "/x" in e.note, (key, mode)
            assert annotations_of(m)[prefix + key] == "https://maintenance.example.com/"


def test_a_redirect_url_with_a_query_is_manual():
    m = run_one(ingress({"permanent-redirect": "https://new.example.com/?from=old"}))
    e = entry(m, "permanent-redirect")
    assert e.status == "manual" and "query" in e.note


def test_a_relative_permanent_redirect_is_accepted_by_nginx_but_not_by_higress():
    # redirect/redirect.go validates permanent-redirect only against URLIsValidRegex (a path is fine), while
    # temporal-redirect must pass isValidURL (http or https); Higress's isValidURL refuses both relative forms.
    e = entry(run_one(ingress({"permanent-redirect": "/maintenance"})), "permanent-redirect")
    assert e.status == "manual" and "relative" in e.note
    e = entry(run_one(ingress({"temporal-redirect": "/maintenance"})), "temporal-redirect")
    assert e.status == "invalid"


def test_a_redirect_with_a_path_stays_native():
    m = run_one(ingress({"permanent-redirect": "https://new.example.com/docs"}))
    assert entry(m, "permanent-redirect").status == "native"


# 9. ingress-nginx sends the listed error codes to an error backend with X-Code, X-Format, X-Original-URI ...
#    (nginx.tmpl CUSTOM_ERRORS location), the Ingress's default-backend or its own. Higress acts on
#    custom-http-errors only beside default-backend (default_backend.go Parse: no default-backend, no fallback),
#    and then redirects to it internally without those headers.
def test_custom_errors_without_a_default_backend_are_ignored_by_higress():
    e = entry(run_one(ingress({"custom-http-errors": "404,503"})), "custom-http-errors")
    assert e.status == "manual" and "default-backend" in e.note and "ignores" in e.note


def test_custom_errors_with_a_default_backend_lose_the_headers_error_pages_read():
    e = entry(run_one(ingress({"custom-http-errors": "404,503", "default-backend": "error-pages"})),
              "custom-http-errors")
    assert e.status == "manual" and "X-Code" in e.note and "error-pages" in e.note


# 6. nginx's proxy_next_upstream_timeout bounds the time spent passing a request on to further servers and never
#    cuts the first attempt; Higress makes it Envoy's perTryTimeout (retry.go), which cuts every attempt. nginx's
#    error/timeout/invalid_header become Envoy's 5xx (retry.go), which also retries a plain 500, and Envoy retries
#    POST and PATCH, which nginx passes on only with non_idempotent.
def test_next_upstream_timeout_is_manual_saying_the_first_attempt_is_cut():
    e = entry(run_one(ingress({"proxy-next-upstream-timeout": "5"})), "proxy-next-upstream-timeout")
    assert e.status == "manual" and "first attempt" in e.note and "504" in e.note
    assert entry(run_one(ingress({"proxy-next-upstream-timeout": "0"})), "proxy-next-upstream-timeout").status == \
        "native"


def test_next_upstream_conditions_report_what_higress_retries_more():
    e = entry(run_one(ingress({"proxy-next-upstream": "error timeout http_502"})), "proxy-next-upstream")
    assert e.status == "manual" and "500" in e.note and "POST" in e.note
    e = entry(run_one(ingress({"proxy-next-upstream": "http_503 non_idempotent"})), "proxy-next-upstream")
    assert e.status == "native", e.note  # exactly the listed codes, and nginx re-sent POST too
    assert entry(run_one(ingress({"proxy-next-upstream": "off"})), "proxy-next-upstream").status == "native"


# 3. A rule with a host and no http: ingress-nginx gives every host a root location carrying the Ingress's
#    annotations (controller.go createServers), so a redirect-only Ingress redirects; Higress skips the rule
#    (ingressv1/controller.go ConvertHTTPRoute: "no paths defined") and the host answers 404. With
#    spec.defaultBackend, Higress serves every rule host from it (ApplyDefaultBackend).
def test_a_redirect_only_host_without_paths_is_manual_in_both_modes():
    obj = ingress({"permanent-redirect": "https://www.example.com/"}, rules=[{"host": "old.example.com"}])
    for mode in ("side-by-side", "cutover"):
        m = run_one(obj, mode=mode)
        e = entry(m, "spec.rules[0]")
        assert e.status == "manual" and e.value == "old.example.com" and "404" in e.note
        assert m.needs_work


def test_a_host_without_paths_gets_the_root_path_when_a_backend_is_at_hand():
    paths = [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "www", "port": {"number": 80}}}}]
    obj = ingress({"permanent-redirect": "https://www.example.com/"},
                  rules=[{"host": "old.example.com"}, {"host": "www.example.com", "http": {"paths": paths}}])
    m = run_one(obj)
    e = entry(m, "spec.rules[0]")
    assert e.status == "converted" and "www" in e.note
    assert m.ingresses[0]["spec"]["rules"][0]["http"] == {"paths": paths}
    assert obj["spec"]["rules"][0] == {"host": "old.example.com"}  # the input is not changed


def test_hosts_without_paths_are_fine_with_a_default_backend_or_without_a_redirect():
    obj = ingress({"permanent-redirect": "https://www.example.com/"}, rules=[{"host": "old.example.com"}])
    obj["spec"]["defaultBackend"] = {"service": {"name": "www", "port": {"number": 80}}}
    plain = ingress({"proxy-body-size": "8m"}, rules=[{"host": "old.example.com"}])
    for m in (run_one(obj), run_one(plain)):
        assert not [e for r in m.reports for e in r.entries if e.key.startswith("spec.")]


# 4. tls hosts without secretName: ingress-nginx serves them with its default certificate (controller.go
#    createServers: "secretName is empty. Using default certificate") and redirects them to HTTPS; Higress builds
#    no HTTPS server for a host whose TLS entry has no secret (ingressv1/controller.go ConvertGateway) unless the
#    higress-https ConfigMap maps one. The implicit ssl-redirect would send users to a dead HTTPS endpoint.
def test_tls_hosts_without_a_secret_get_no_ssl_redirect_and_are_manual():
    m = run_one(ingress({}, tls=[{"hosts": ["a.example.com"]}]))
    e = entry(m, "spec.tls")
    assert e.status == "manual" and e.value == "a.example.com" and "higress-https" in e.note
    assert "higress.io/ssl-redirect" not in annotations_of(m)
    implicit = entry(m, "ssl-redirect")
    assert implicit.value is None and implicit.target is None and "not added" in implicit.note


def test_mixed_tls_hosts_lose_the_redirect_on_the_hosts_with_a_secret():
    rules = [{"host": h, "http": {"paths": [{"path": "/", "pathType": "Prefix",
                                             "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}
             for h in ("a.example.com", "b.example.com")]
    m = run_one(ingress({}, rules=rules, tls=[{"hosts": ["a.example.com"], "secretName": "a-tls"},
                                              {"hosts": ["b.example.com"]}]))
    assert entry(m, "spec.tls").value == "b.example.com"
    implicit = entry(m, "ssl-redirect")
    assert implicit.status == "manual" and "a.example.com" in implicit.note
    assert "higress.io/ssl-redirect" not in annotations_of(m)


def test_an_explicit_ssl_redirect_beside_a_host_without_a_secret_is_named():
    m = run_one(ingress({"ssl-redirect": "true"}, tls=[{"hosts": ["a.example.com"]}]))
    assert "ssl-redirect" in entry(m, "spec.tls").note


def test_tls_hosts_with_secrets_keep_the_implicit_redirect():
    m = run_one(ingress({}, tls=[{"hosts": ["a.example.com"], "secretName": "a-tls"}]))
    assert annotations_of(m)["higress.io/ssl-redirect"] == "true"
    assert not [e for r in m.reports for e in r.entries if e.key.startswith("spec.")]


# 5. limit-rps / limit-rpm are per client IP in nginx (ratelimit/main.go; nginx.tmpl `limit_req_zone $limit_<id>`,
#    the client address unless in limit-allowlist/limit-whitelist), with a burst of rate x limit-burst-multiplier
#    (default 5, nodelay) and 503 (config.go limit-req-status-code). Higress's route-limit is one bucket per route
#    per gateway pod (local_rate_limit.go): never the conversion. The per-client-IP limiter is the
#    cluster-key-rate-limit plugin (limit_by_per_ip), whose parser requires Redis (config.go InitRedisClusterClient:
#    "missing redis in config", "redis service name must not be empty").
def test_a_rate_limit_without_redis_is_manual_naming_the_field_and_no_route_limit_is_set():
    m = run_one(ingress({"limit-rps": "4", "limit-whitelist": "10.0.0.0/8"}))
    e = entry(m, "limit-rps")
    assert e.status == "manual" and "redis.service_name" in e.note and "--redis-service" in e.note
    assert "each client IP" in e.note
    assert entry(m, "limit-whitelist").status == "manual"
    assert not any(k.startswith("higress.io/route-limit") for k in annotations_of(m)) and m.plugins == []


def test_with_redis_a_per_client_ip_plugin_its_parser_accepts_is_generated():
    m = run_one(ingress({"limit-rps": "4", "limit-burst-multiplier": "3",
                         "limit-whitelist": "10.0.0.0/8, 192.168.1.5"}),
                redis_service="redis.infra.svc.cluster.local", redis_port=6380)
    e = entry(m, "limit-rps")
    assert e.status == "plugin" and "migrated-cluster-key-rate-limit" in e.target and "burst" in e.note
    assert entry(m, "limit-burst-multiplier").status == "unsupported"
    assert entry(m, "limit-whitelist").status == "plugin"
    [plugin] = m.plugins
    assert (plugin["spec"]["phase"], plugin["spec"]["priority"]) == plugin_parsers.ORDER["cluster-key-rate-limit"]
    [rule] = plugin["spec"]["matchRules"]
    assert rule["ingress"] == ["shop/web"]
    config = rule["config"]
    assert plugin_parsers.problems("cluster-key-rate-limit", config) == []
    assert config["redis"] == {"service_name": "redis.infra.svc.cluster.local", "service_port": 6380}
    assert config["rejected_code"] == 503
    [item] = config["rule_items"]
    assert item["limit_by_per_ip"] == "from-remote-addr"
    keys = item["limit_keys"]
    assert [k["key"] for k in keys] == ["10.0.0.0/8", "192.168.1.5/32", "0.0.0.0/0", "::/0"]
    assert keys[-1] == {"key": "::/0", "query_per_second": 4}  # every client IP, the allowlist first


def test_rps_and_rpm_together_keep_one_window():
    m = run_one(ingress({"limit-rps": "5", "limit-rpm": "100"}), redis_service="redis.infra.svc.cluster.local")
    assert entry(m, "limit-rps").status == "plugin" and entry(m, "limit-rpm").status == "manual"
    keys = m.plugins[0]["spec"]["matchRules"][0]["config"]["rule_items"][0]["limit_keys"]
    assert keys[-1] == {"key": "::/0", "query_per_second": 5}
    m = run_one(ingress({"limit-rpm": "100"}), redis_service="redis.infra.svc.cluster.local")
    keys = m.plugins[0]["spec"]["matchRules"][0]["config"]["rule_items"][0]["limit_keys"]
    assert keys[-1] == {"key": "::/0", "query_per_minute": 100}


def test_cli_redis_service_generates_the_rate_limit_plugin(tmp_path):
    import yaml
    from conftest import run

    source = tmp_path / "in.yaml"
    source.write_text(yaml.safe_dump(ingress({"limit-rps": "4"})))
    out = run("migrate", "nginx", str(source), "--redis-service", "redis.infra.svc.cluster.local:6380")
    plugin = [d for d in yaml.safe_load_all(out.stdout) if d["kind"] == "WasmPlugin"][0]
    assert plugin["metadata"]["name"] == "migrated-cluster-key-rate-limit"
    assert plugin["spec"]["matchRules"][0]["config"]["redis"]["service_port"] == 6380
    without = run("migrate", "nginx", str(source), "--strict", code=1)
    assert "WasmPlugin" not in without.stdout
    bad = run("migrate", "nginx", str(source), "--redis-service", "redis:http", code=2)
    assert "--redis-service" in bad.stderr and "Traceback" not in bad.stderr


# 13. One invalid file (an annotation value written as a bare integer, which the API server refuses too) must not
#     stop the run: every invalid file is named with its cause, one line each, the rest is converted, exit 2.
BAD_INT = """apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: uploads
  namespace: shop
  annotations:
    nginx.ingress.kubernetes.io/proxy-read-timeout: 600
spec:
  ingressClassName: nginx
  rules: [{host: u.example.com}]
"""


def _inputs(tmp_path):
    import yaml

    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(ingress({"proxy-read-timeout": "600"})))
    bad = tmp_path / "bad-int.yaml"
    bad.write_text(BAD_INT)
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: Ingress\nmetadata: {name: [\n")
    return good, bad, broken


def test_invalid_files_are_each_reported_and_the_rest_converted(tmp_path):
    import json

    import yaml
    from conftest import run

    good, bad, broken = _inputs(tmp_path)
    report = tmp_path / "r.json"
    out = run("migrate", "nginx", str(bad), str(good), str(broken), "--report", str(report), "--report-format",
              "json", code=2)
    assert [d["metadata"]["name"] for d in yaml.safe_load_all(out.stdout)] == ["web"]
    lines = [line for line in out.stderr.splitlines() if "invalid" in line.lower() and ".yaml" in line]
    assert any(str(bad) in line and "proxy-read-timeout is 600, quote it" in line for line in lines), out.stderr
    assert any(str(broken) in line and "YAML" in line for line in lines), out.stderr
    assert "Traceback" not in out.stderr
    doc = json.loads(report.read_text())
    assert [i["file"] for i in doc["invalid"]] == [str(bad), str(broken)]
    assert len(doc["ingresses"]) == 1


def test_apply_applies_nothing_when_any_input_is_invalid(tmp_path):
    from conftest import run

    good, bad, _ = _inputs(tmp_path)
    nowhere = tmp_path / "kubeconfig"
    nowhere.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    out = run("migrate", "nginx", str(good), str(bad), "--apply", "--yes", "--kubeconfig", str(nowhere),
              "--store", str(tmp_path / "store"), code=2)  # 2, not 6: the cluster is never asked
    assert "nothing was applied" in out.stderr
    assert not (tmp_path / "store").exists()


def test_a_markdown_report_lists_the_invalid_files_first(tmp_path):
    from conftest import run

    good, bad, _ = _inputs(tmp_path)
    report = tmp_path / "r.md"
    run("migrate", "nginx", str(good), str(bad), "--report", str(report), code=2)
    text = report.read_text()
    assert text.index("## Invalid input files") < text.index("## Security first")
    assert str(bad) in text


# Also imprecise (issue 26). auth-tls-verify-client (ingress-nginx authtls/main.go: on, off, optional,
# optional_no_ca; default on): "on" is exactly Higress's mutual mode (downstreamtls.go: a CA secret sets MUTUAL),
# the others let clients without a certificate in, which Higress's MUTUAL refuses.
TLS = [{"hosts": ["a.example.com"], "secretName": "a-tls"}]


def test_verify_client_on_is_what_higress_does():
    m = run_one(ingress({"auth-tls-secret": "shop/a-tls", "auth-tls-verify-client": "on"}, tls=TLS))
    e = entry(m, "auth-tls-verify-client")
    assert e.status == "converted" and "mutual" in e.note
    assert entry(m, "auth-tls-secret").status == "native"


def test_optional_client_certificates_become_required_and_both_entries_say_so():
    for value in ("optional", "optional_no_ca", "off"):
        m = run_one(ingress({"auth-tls-secret": "shop/a-tls", "auth-tls-verify-client": value}, tls=TLS))
        e = entry(m, "auth-tls-verify-client")
        assert e.status == "manual" and "required" in e.note, value
        assert "required" in entry(m, "auth-tls-secret").note, value
    m = run_one(ingress({"auth-tls-secret": "ca", "auth-tls-verify-client": "optional"}, tls=TLS))
    assert "required" in entry(m, "auth-tls-secret").note  # the instruction to create the -cacert Secret too


def test_ewma_is_said_to_become_istios_default():
    e = entry(run_one(ingress({"load-balance": "ewma"})), "load-balance")
    assert "Istio's default" in e.note and "round robin" not in e.note


def test_the_markdown_report_names_each_traffic_change_in_plain_words():
    from hgbackup.migrate.ingress.report import markdown

    m = migrate([ingress({"proxy-next-upstream": "error timeout"}, name="retries"),
                 ingress({"limit-rps": "4"}, name="limited"),
                 ingress({"permanent-redirect": "https://www.example.com/"}, name="moved",
                         rules=[{"host": "old.example.com"}])], MigrateOptions())
    text = markdown(m)
    section = text[text.index("## Traffic that changes"):text.index("## Per Ingress")]
    assert "| shop/retries | `nginx.ingress.kubernetes.io/proxy-next-upstream` |" in section
    assert "could run twice" in section
    assert "no rate limit under Higress" in section and "answer 404" in section


def test_a_tls_host_losing_https_is_a_security_finding():
    from hgbackup.migrate.ingress.report import markdown

    text = markdown(run_one(ingress({}, tls=[{"hosts": ["a.example.com"]}])))
    assert "`spec.tls`" in text[text.index("## Security first"):text.index("## Per Ingress")]


MALFORMED_SPECS = [
    ({"rules": 5}, "spec.rules"),
    ({"rules": [{"host": "a.example.com", "http": {"paths": [
        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "a", "port": {"number": "80a"}}}}]}}]},
     "spec.rules[0].http.paths[0].backend.service.port.number"),
    ({"rules": [{"host": "a.example.com", "http": {"paths": "/"}}]}, "spec.rules[0].http.paths"),
    ({"rules": [{"host": 7}]}, "spec.rules[0].host"),
    ({"tls": [{"hosts": "a.example.com"}]}, "spec.tls[0].hosts"),
    ({"defaultBackend": "svc"}, "spec.defaultBackend"),
    ({"ingressClassName": ["nginx"]}, "spec.ingressClassName"),
    ("rules", "spec"),
]


def test_a_malformed_service_is_an_invalid_file(tmp_path):
    """The Services given with the Ingresses (whose ports name a backend's port) are checked the same way."""
    import yaml
    from conftest import run

    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(ingress({})))
    bad = tmp_path / "svc.yaml"
    bad.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Service",
                                   "metadata": {"name": "app", "namespace": "shop"},
                                   "spec": {"ports": [{"name": "http", "port": "80a"}]}}))
    out = run("migrate", "nginx", str(bad), str(good), "--to", "gateway-api", code=2)
    assert any(str(bad) in line and "spec.ports[0].port" in line for line in out.stderr.splitlines()), out.stderr


@pytest.mark.parametrize("to", ["ingress", "gateway-api"])
@pytest.mark.parametrize("spec,field", MALFORMED_SPECS, ids=[f for _, f in MALFORMED_SPECS])
def test_a_malformed_ingress_spec_is_an_invalid_file_and_the_rest_converted(tmp_path, spec, field, to):
    """The spec's shape is checked where the input is read: the file is named with the field, exit 2, the other
    files are converted (before: TypeError or ValueError, exit 70)."""
    import json

    import yaml
    from conftest import run

    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(ingress({"proxy-read-timeout": "600"})))
    bad = tmp_path / "bad-spec.yaml"
    bad.write_text(yaml.safe_dump({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                                   "metadata": {"name": "odd", "namespace": "shop"},
                                   "spec": {"ingressClassName": "nginx", **spec} if isinstance(spec, dict) else spec}))
    report = tmp_path / "r.json"
    out = run("migrate", "nginx", str(bad), str(good), "--to", to, "--report", str(report), "--report-format",
              "json", code=2)
    assert "Traceback" not in out.stderr
    lines = [line for line in out.stderr.splitlines() if str(bad) in line]
    assert len(lines) == 1 and field in lines[0], out.stderr
    doc = json.loads(report.read_text())
    assert [i["file"] for i in doc["invalid"]] == [str(bad)]
    assert [i["name"] for i in doc["ingresses"]] == ["web"]


def test_a_snapshot_holding_a_malformed_ingress_is_exit_4(tmp_path):
    """The store is untrusted input: a forged snapshot whose Ingress spec no API server would accept is refused
    (integrity, exit 4, one line naming the field), never an internal error."""
    import dataclasses

    from conftest import manifest_for, run

    from hgbackup.kube.model import StoredObject
    from hgbackup.store import open_store
    from hgbackup.store.layout import SnapshotKey
    from hgbackup.store.manifest import ClusterInfo
    from hgbackup.store.repository import Repository

    sid = "20260101T000000Z-abcdef"
    odd = StoredObject.from_object({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                                    "metadata": {"name": "odd", "namespace": "shop"},
                                    "spec": {"ingressClassName": "nginx", "rules": 5}})
    store = str(tmp_path / "store")
    data, manifest = manifest_for([odd], snapshot_id=sid)
    manifest = dataclasses.replace(manifest, cluster=ClusterInfo("c", "v1.35.4", "aaaa1111-0000"),
                                   scope={"higress_namespace": "higress-system"})
    repo, key = Repository(open_store(store)), SnapshotKey("c", sid)
    repo.store.put(key.archive_key(False), data)
    repo.store.put(key.manifest_key, manifest.to_bytes())
    out = run("migrate", "nginx", "--snapshot", sid, "--store", store, code=4)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "spec.rules" in lines[0] and sid in lines[0], lines
