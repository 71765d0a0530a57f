"""migrate nginx --to gateway-api: per-annotation cases, the invariants over the whole corpus, goldens, the CLI.
The real CRDs judge the output in test_migrate_gateway_live.py."""

from __future__ import annotations

import json
import os

import pytest
import yaml
from conftest import CORPUS, ROOT, assert_golden, run

from hgbackup.kube import yamlfiles as kubeyaml
from hgbackup.migrate import MigrateOptions, migrate
from hgbackup.migrate import globals as nginx_globals
from hgbackup.migrate.gatewayapi import report as gateway_report
from hgbackup.migrate.gatewayapi.annotations import GATEWAY
from hgbackup.migrate.gatewayapi.convert import GatewayOptions, migrate_gateway
from hgbackup.migrate.gatewayapi.gateway import GatewayPlan, service_grants
from hgbackup.migrate.ingress import report as ingress_report
from hgbackup.migrate.rules import CONVERTED, NATIVE, NGINX, RULES

GOLDEN = os.path.join(ROOT, "tests", "migrate_golden_gateway")
# conversion.go convertHTTPRoute / buildHTTPDestination / convertGRPCRoute: every other type is rejected
HTTP_FILTERS = {"RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "RequestMirror", "URLRewrite",
                "CORS"}
GRPC_FILTERS = {"RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror"}
LONG_HOST = ".".join(["a" * 63] * 4)[:250] + ".com"  # 254 characters, each label within 63


def ingress(annotations: dict, *, name="web", namespace="shop", paths=None, host="a.example.com", tls=None) -> dict:
    paths = paths or [{"path": "/", "pathType": "Prefix"}]
    spec = {"ingressClassName": "nginx", "rules": [{"host": host, "http": {"paths": [
        {**p, "backend": p.get("backend") or {"service": {"name": "app", "port": {"number": 80}}}} for p in paths]}}]}
    if tls:
        spec["tls"] = tls
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "namespace": namespace,
                         "annotations": {NGINX + k: v for k, v in annotations.items()}}, "spec": spec}


def convert(objects, channel="standard", **base):
    return migrate_gateway(objects, GatewayOptions(MigrateOptions(**base), channel=channel))


def entry(migration, key, ingress_name=None):
    found = [e for r in migration.reports for e in r.entries if e.key == NGINX + key
             and (ingress_name is None or r.name == ingress_name)]
    assert len(found) == 1, (key, found)
    return found[0]


def routes(migration, kind="HTTPRoute"):
    return [r for r in migration.routes if r["kind"] == kind]


def route(migration, name):
    return next(r for r in migration.routes if r["metadata"]["name"] == name)


def test_every_key_higress_reads_on_ingresses_has_a_gateway_row():
    """Native and converted keys work through Ingress annotations, which HTTPRoutes do not have."""
    missing = [k for k, rule in RULES.items() if rule.status in (NATIVE, CONVERTED) and k not in GATEWAY]
    assert missing == []


def _corpus():
    return kubeyaml.load_paths(CORPUS, allow_generate_name=True)


@pytest.mark.parametrize("channel", ["standard", "experimental"])
def test_each_annotation_is_reported_once_and_only_higress_filters_are_used(channel):
    objects = _corpus()
    m = convert(objects, channel, include_unclassed=True)
    by_name = {(r.namespace, r.name): r for r in m.reports}
    for obj in objects:
        meta = obj.get("metadata") or {}
        report = by_name.get((meta.get("namespace", "default"), meta.get("name") or ""))
        if obj.get("kind") != "Ingress" or report is None:
            continue
        keys = sorted(e.key for e in report.entries if e.key.startswith(NGINX) and e.value is not None)
        assert keys == sorted(k for k in meta.get("annotations") or {} if k.startswith(NGINX)), report.name
    for obj in m.routes:
        allowed = GRPC_FILTERS if obj["kind"] == "GRPCRoute" else HTTP_FILTERS
        for rule in obj["spec"]["rules"]:
            used = {f["type"] for f in rule.get("filters", [])}
            used |= {f["type"] for b in rule.get("backendRefs", []) for f in b.get("filters", [])}
            assert used <= allowed, (obj["metadata"]["name"], used)
            if channel == "standard":
                assert "CORS" not in used and "retry" not in rule
            text = json.dumps(rule.get("filters", []))
            assert "$1" not in text and "$2" not in text and "$host" not in text


def test_every_match_rule_names_a_generated_route():
    m = convert(_corpus())
    names = set()
    for obj in m.routes:
        meta = obj["metadata"]
        base = f"{meta['namespace']}/{meta['name']}"
        names.add(base if obj["kind"] == "HTTPRoute" else f"GRPC/{base}")
    assert m.plugins
    for plugin in m.plugins:
        for rule in plugin["spec"]["matchRules"]:
            assert rule["ingress"] and set(rule["ingress"]) <= names, rule["ingress"]
    redirects = {f"{r['metadata']['namespace']}/{r['metadata']['name']}" for r in m.routes
                 if r["metadata"]["name"].endswith("-https-redirect")}
    assert redirects and not redirects & {n for p in m.plugins for r in p["spec"]["matchRules"] for n in r["ingress"]}


def test_route_names_follow_generate_route_name():
    """`name` in Higress's own namespace, `ns/name` elsewhere, GRPC/ before GRPCRoutes (conversion.go)."""
    objects = [ingress({"denylist-source-range": "1.2.3.4"}, namespace="higress-system", name="own"),
               ingress({"denylist-source-range": "1.2.3.4", "backend-protocol": "GRPC"}, name="rpc")]
    m = convert(objects)
    assert m.plugins[0]["spec"]["matchRules"][0]["ingress"] == ["GRPC/shop/rpc"]
    assert m.plugins[0]["spec"]["matchRules"][1]["ingress"] == ["own"]
    assert routes(m, "GRPCRoute")[0]["spec"]["rules"] == [{"backendRefs": [{"name": "app", "port": 80}]}]


@pytest.mark.parametrize("annotations,key,status,fragment", [
    ({"rewrite-target": "/", "use-regex": "true"}, "rewrite-target", "converted", "URLRewrite"),
    ({"rewrite-target": "/$1"}, "rewrite-target", "manual", "capture groups"),
    ({"rewrite-target": "https://x.example.com/"}, "rewrite-target", "manual", "redirect"),
    ({"upstream-vhost": "$host.internal"}, "upstream-vhost", "manual", "literal"),
    ({"upstream-vhost": "api.internal"}, "upstream-vhost", "converted", "hostname api.internal"),
    ({"x-forwarded-prefix": "/api"}, "x-forwarded-prefix", "converted", "only with a rewrite-target"),
    ({"permanent-redirect": "https://n.example.com/x?y=1"}, "permanent-redirect", "manual", "query"),
    ({"permanent-redirect": "https://n.example.com", "permanent-redirect-code": "308"}, "permanent-redirect-code",
     "unsupported", "301 and 302 only"),
    ({"temporal-redirect": "https://n.example.com/m"}, "temporal-redirect", "converted", "RequestRedirect"),
    ({"app-root": "/app"}, "app-root", "converted", "Exact /"),
    ({"proxy-read-timeout": "600s"}, "proxy-read-timeout", "invalid", "whole number"),
    ({"proxy-read-timeout": "120"}, "proxy-read-timeout", "converted", "timeouts.request 120s"),
    ({"proxy-connect-timeout": "5"}, "proxy-connect-timeout", "manual", "no connect timeout"),
    ({"proxy-next-upstream-tries": "3"}, "proxy-next-upstream-tries", "manual", "experimental channel"),
    ({"enable-cors": "true"}, "enable-cors", "manual", "experimental channel"),
    ({"cors-allow-origin": "*"}, "cors-allow-origin", "converted", "not enabled"),
    ({"limit-rps": "5"}, "limit-rps", "manual", "cluster-key-rate-limit"),
    ({"whitelist-source-range": "10.0.0.0/8"}, "whitelist-source-range", "plugin", "migrated-ip-allowlist"),
    ({"backend-protocol": "HTTPS"}, "backend-protocol", "manual", "BackendTLSPolicy"),
    ({"backend-protocol": "GRPC"}, "backend-protocol", "converted", "GRPCRoute"),
    ({"backend-protocol": "GRPC", "proxy-read-timeout": "60"}, "proxy-read-timeout", "manual", "GRPCRoute"),
    ({"load-balance": "round_robin"}, "load-balance", "manual", "only on Ingresses"),
    ({"auth-tls-secret": "shop/ca"}, "auth-tls-secret", "manual", "mTLS is OFF"),
    ({"mirror-target": "http://shadow.other.svc:8080$request_uri"}, "mirror-target", "converted", "ReferenceGrant"),
    ({"mirror-target": "https://shadow.example.com$request_uri"}, "mirror-target", "manual", "Service"),
    # a port out of range is manual work on both paths, never an internal error (urlsplit raises on .port)
    ({"mirror-target": "http://shadow.other.svc:99999$request_uri"}, "mirror-target", "manual", "Service"),
    ({"permanent-redirect": "https://x.example.com:70000/"}, "permanent-redirect", "manual", "http(s) URL"),
    ({"auth-type": "basic", "auth-secret": "h"}, "auth-type", "manual", "UNPROTECTED"),
    ({"configuration-snippet": "x"}, "configuration-snippet", "unsupported", "Wasm"),
    ({"canary-weight": "10"}, "canary-weight", "converted", "canary is not true"),
    # a PreciseHostname is at most 253 characters (the CRDs' maxLength, names.valid_name)
    ({"upstream-vhost": LONG_HOST}, "upstream-vhost", "manual", "literal"),
    ({"upstream-vhost": LONG_HOST[:253]}, "upstream-vhost", "converted", "URLRewrite hostname"),
    ({"permanent-redirect": f"https://{LONG_HOST}/"}, "permanent-redirect", "manual", "host name"),
])
def test_annotation(annotations, key, status, fragment):
    e = entry(convert([ingress(annotations)]), key)
    assert e.status == status, (e.status, e.note)
    assert fragment in f"{e.target} {e.note}"


def _filters(m, name="web"):
    return {f["type"]: f for rule in route(m, name)["spec"]["rules"] for f in rule.get("filters", [])}


def test_rewrite_capture_groups_become_a_prefix_replacement_or_are_left_out():
    classic = convert([ingress({"use-regex": "true", "rewrite-target": "/$2"},
                               paths=[{"path": "/api(/|$)(.*)", "pathType": "ImplementationSpecific"}])])
    rule = route(classic, "web")["spec"]["rules"][0]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/api"}}]
    assert _filters(classic)["URLRewrite"]["urlRewrite"]["path"] == {"type": "ReplacePrefixMatch",
                                                                     "replacePrefixMatch": "/"}
    other = convert([ingress({"rewrite-target": "/v2/$1"}, paths=[{"path": "/v1/(.+)/x", "pathType": "Prefix"}])])
    assert routes(other) == [] and entry(other, "rewrite-target").status == "manual"


def test_regex_paths_are_case_insensitive_prefix_regexes_and_pcre_only_ones_are_reported():
    m = convert([ingress({"use-regex": "true"}, paths=[{"path": "/img/[0-9]+", "pathType": "Prefix"},
                                                       {"path": "/(?!admin)x", "pathType": "Prefix"}])])
    matches = [r["matches"][0]["path"] for r in route(m, "web")["spec"]["rules"]]
    assert matches == [{"type": "RegularExpression", "value": "(?i)/img/[0-9]+.*"}]
    assert entry(m, "use-regex").status == "manual" and "RE2" in entry(m, "use-regex").note
    # a regex under Prefix without use-regex is not put in PathPrefix (the CRDs refuse it)
    plain = convert([ingress({}, paths=[{"path": "/api(/|$)(.*)", "pathType": "Prefix"}])])
    assert routes(plain) == [] and plain.needs_work


def test_use_regex_on_one_ingress_makes_the_whole_host_regex():
    """template.go enforceRegexModifier works per server: another Ingress's Prefix path on that host is a regex."""
    m = convert([ingress({"use-regex": "true"}, name="a", paths=[{"path": "/a", "pathType": "Prefix"}]),
                 ingress({}, name="b", paths=[{"path": "/b", "pathType": "Prefix"}]),
                 ingress({}, name="c", host="other.example.com")])
    assert route(m, "b")["spec"]["rules"][0]["matches"][0]["path"]["type"] == "RegularExpression"
    assert route(m, "c")["spec"]["rules"][0]["matches"][0]["path"]["type"] == "PathPrefix"


def test_cors_with_nginx_defaults_and_an_origin_nginx_refuses():
    m = convert([ingress({"enable-cors": "true", "cors-allow-origin": "$http_origin"})], "experimental")
    cors = _filters(m)["CORS"]["cors"]
    assert cors["allowOrigins"] == ["*"] and cors["allowCredentials"] is True and cors["maxAge"] == 1728000
    assert "refuses the value" in entry(m, "cors-allow-origin").note
    wildcard = convert([ingress({"enable-cors": "true", "cors-allow-origin": "https://*.example.com"})],
                       "experimental")
    assert entry(wildcard, "enable-cors").status == "manual" and "CORS" not in _filters(wildcard)


def test_retry_on_the_experimental_channel():
    m = convert([ingress({"proxy-next-upstream": "error http_502 http_503", "proxy-next-upstream-tries": "4"})],
                "experimental")
    assert route(m, "web")["spec"]["rules"][0]["retry"] == {"attempts": 3, "codes": [502, 503]}


def test_canary_header_cookie_and_weight_in_nginx_order():
    main = ingress({}, name="main")
    canary = ingress({"canary": "true", "canary-by-header": "X-Canary", "canary-by-cookie": "beta",
                      "canary-weight": "5", "canary-weight-total": "1000", "proxy-body-size": "1m"}, name="canary",
                     paths=[{"path": "/", "pathType": "Prefix",
                             "backend": {"service": {"name": "app-v2", "port": {"number": 80}}}}])
    m = convert([main, canary])
    rules = route(m, "main")["spec"]["rules"]
    wanted = [("X-Canary", "always", "app-v2"), ("X-Canary", "never", "app"), ("Cookie", "always", "app-v2"),
              ("Cookie", "never", "app")]
    for rule, (header, word, backend) in zip(rules, wanted):
        match = rule["matches"][0]["headers"][0]
        assert match["name"] == header and word in match["value"] and rule["backendRefs"][0]["name"] == backend
    assert rules[-1]["backendRefs"] == [{"name": "app", "port": 80, "weight": 995},
                                        {"name": "app-v2", "port": 80, "weight": 5}]
    assert [r["metadata"]["name"] for r in m.routes] == ["main"]
    assert entry(m, "canary-weight").status == "converted"
    assert "ignores it on a canary" in entry(m, "proxy-body-size").note


@pytest.mark.parametrize("canary", [{"canary-weight": "10"}, {"canary-by-header": "X-C"},
                                    {"canary-by-header": "X-C", "canary-by-header-value": "1"},
                                    {"canary-by-cookie": "beta"}])
@pytest.mark.parametrize("main", [
    ingress({"permanent-redirect": "https://example.org"}, name="main"),  # a rule with a RequestRedirect only
    {**ingress({"permanent-redirect": "https://example.org"}, name="main"),
     "spec": {"ingressClassName": "nginx", "rules": [{"host": "a.example.com"}]}},  # a redirect-only host
], ids=["redirect", "redirect-only-host"])
def test_a_canary_of_a_redirecting_main_rule_is_manual(main, canary):
    """The main rule has no backendRefs to split or match against: the canary is manual work, nothing merged."""
    v2 = [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "app-v2", "port": {"number": 80}}}}]
    m = convert([main, ingress({"canary": "true", **canary}, name="c", paths=v2)])
    (rule,) = route(m, "main")["spec"]["rules"]
    assert "backendRefs" not in rule and rule["filters"][-1]["type"] == "RequestRedirect"
    found = entry(m, next(iter(canary)), "c")
    assert found.status == "manual" and "redirect" in found.note


def test_canary_header_pattern_is_searched_as_nginx_does():
    m = convert([ingress({}, name="main"), ingress({"canary": "true", "canary-by-header": "X-User",
                                                   "canary-by-header-pattern": "alice|bob"}, name="c")])
    header = route(m, "main")["spec"]["rules"][0]["matches"][0]["headers"][0]
    assert header == {"name": "X-User", "type": "RegularExpression", "value": ".*(?:alice|bob).*"}


def test_tls_listeners_grants_and_the_https_redirect():
    m = convert([ingress({}, tls=[{"hosts": ["a.example.com"], "secretName": "a-tls"}]),
                 ingress({}, name="open", host="b.example.com", tls=[{"hosts": ["b.example.com"]}])])
    (gateway,) = m.gateways
    listeners = {item["name"]: item for item in gateway["spec"]["listeners"]}
    assert set(listeners) == {"http", "https-a-example-com"}  # no HTTPS listener without a certificate
    assert listeners["https-a-example-com"]["tls"]["certificateRefs"] == [
        {"group": "", "kind": "Secret", "name": "a-tls", "namespace": "shop"}]
    (grant,) = m.grants
    assert grant["metadata"]["namespace"] == "shop" and grant["spec"]["to"] == [
        {"group": "", "kind": "Secret", "name": "a-tls"}]
    assert [p["sectionName"] for p in route(m, "web")["spec"]["parentRefs"]] == ["https-a-example-com"]
    redirect = route(m, "web-https-redirect")
    assert redirect["spec"]["rules"][0]["filters"][0]["requestRedirect"] == {"scheme": "https", "statusCode": 301}
    assert redirect["metadata"]["annotations"]["hgbackup.io/migrated-from"] == "Ingress shop/web"
    assert any(e.key == "spec.tls[0]" and e.status == "manual" for r in m.reports for e in r.entries)


@pytest.mark.parametrize("objects", [
    [],  # no Ingress at all
    [{**ingress({}, name="other"), "spec": {"ingressClassName": "traefik"}}],  # another class
    [{**ingress({}), "spec": {"ingressClassName": "nginx",
                              "tls": [{"hosts": ["a.example.com"], "secretName": "a-tls"}]}}],
], ids=["none", "other-class", "tls-without-routes"])
def test_no_gateway_without_a_route_that_needs_it(objects):
    """Zero routes: no Gateway (and no grant for one) that --apply would create."""
    m = convert(objects)
    assert m.routes == [] and m.gateways == [] and m.grants == []


def test_an_existing_gateway_is_attached_to_by_port_and_left_alone():
    m = migrate_gateway([ingress({}, tls=[{"hosts": ["a.example.com"], "secretName": "a-tls"}])],
                        GatewayOptions(MigrateOptions(), gateway="edge/public"))
    assert m.gateways == []
    assert route(m, "web")["spec"]["parentRefs"] == [
        {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "public", "namespace": "edge", "port": 443}]
    assert any("needs an HTTPS listener" in n and "shop/a-tls" in n for n in m.notes)


def test_limits_of_the_crds_split_routes_and_gateways():
    paths = [{"path": f"/p{i}", "pathType": "Prefix"} for i in range(20)]
    m = convert([ingress({"denylist-source-range": "1.2.3.4"}, paths=paths)])
    assert [len(r["spec"]["rules"]) for r in m.routes] == [16, 4]
    assert m.plugins[0]["spec"]["matchRules"][0]["ingress"] == ["shop/web", "shop/web-2"]
    many = convert([ingress({}, name=f"h{i}", host=f"h{i}.example.com",
                            tls=[{"hosts": [f"h{i}.example.com"], "secretName": "t"}]) for i in range(70)])
    assert [len(g["spec"]["listeners"]) for g in many.gateways] == [64, 7]


def test_allow_and_deny_lists_become_two_plugins_as_nginx_checks_both():
    m = convert([ingress({"whitelist-source-range": "10.0.0.0/8", "denylist-source-range": "10.13.0.0/16"})])
    configs = {p["metadata"]["name"]: p["spec"]["matchRules"][0]["config"] for p in m.plugins}
    assert configs["migrated-ip-allowlist"]["allow"] == ["10.0.0.0/8"]
    assert configs["migrated-ip-restriction"]["deny"] == ["10.13.0.0/16"]
    assert {p["spec"]["url"].rsplit("/", 1)[1].split(":")[0] for p in m.plugins} == {"ip-restriction"}


def test_a_redirect_url_without_path_redirects_to_it_as_written():
    m = convert([ingress({"permanent-redirect": "https://new.example.com"})])
    rule = route(m, "web")["spec"]["rules"][0]
    assert "backendRefs" not in rule
    assert rule["filters"][0]["requestRedirect"]["path"] == {"type": "ReplaceFullPath", "replaceFullPath": "/"}


@pytest.mark.parametrize("channel", ["standard", "experimental"])
@pytest.mark.parametrize("path", CORPUS, ids=[os.path.basename(p) for p in CORPUS])
def test_golden(path, channel):
    """The whole output per corpus file; regenerate with HGBACKUP_UPDATE_GOLDEN=1 and review the diff."""
    golden = os.path.join(GOLDEN, f"{os.path.basename(path)[:-5]}.{channel}.json")
    m = convert(kubeyaml.load_paths([path], allow_generate_name=True), channel)
    doc = json.loads(json.dumps({"objects": m.objects, "report": m.as_json()}))
    assert_golden(doc, golden)


def test_cli(tmp_path):
    path = os.path.join(ROOT, "tests", "migrate_corpus", "rewrite.yaml")
    report = tmp_path / "r.md"
    result = run("migrate", "nginx", path, "--to", "gateway-api", "--report", str(report))
    kinds = [d["kind"] for d in yaml.safe_load_all(result.stdout)]
    assert kinds.count("HTTPRoute") == 2 and "Gateway" in kinds and "Ingress" not in kinds
    assert result.stderr.startswith("migrated 2 Ingress(es) to 2 route(s), 1 Gateway(s)")
    text = report.read_text()
    assert text.index("## Security first") < text.index("## Switching over, and back") < text.index("## Per Ingress")
    assert "| `nginx.ingress.kubernetes.io/rewrite-target` | /$2 | converted |" in text
    run("migrate", "nginx", path, "--to", "gateway-api", "--strict", code=1)
    configmap = tmp_path / "cm.yaml"
    configmap.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: n}\n"
                         "data: {use-gzip: 'true'}\n")
    run("migrate", "nginx", path, "--to", "gateway-api", "--nginx-configmap", str(configmap), "--report", str(report))
    assert "`ConfigMap n/c: use-gzip` | true | converted |" in report.read_text()
    for bad in (["--mode", "cutover"], ["--gateway", "nonamespace"]):
        result = run("migrate", "nginx", path, "--to", "gateway-api", *bad, code=2)
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    run("migrate", "nginx", path, "--channel", "experimental", code=2)
    assert "--to gateway-api" in run("migrate", "nginx", "--help").stdout


def test_mirrors_into_another_namespace_get_grants_for_every_service():
    objects = [ingress({"mirror-target": f"http://m{i}.shadow.svc:80$request_uri"}, name=f"w{i}") for i in range(17)]
    grants = convert(objects).grants
    assert [len(g["spec"]["to"]) for g in grants] == [16, 1]
    assert {g["metadata"]["namespace"] for g in grants} == {"shadow"}


def test_a_per_client_ip_rate_limit_attaches_to_the_route_with_redis_and_is_manual_without(tmp_path):
    path = os.path.join(ROOT, "tests", "migrate_corpus", "fidelity.yaml")
    report = tmp_path / "r.json"
    out = run("migrate", "nginx", path, "--to", "gateway-api", "--redis-service", "redis.infra.svc.cluster.local:6379",
              "--report", str(report), "--report-format", "json").stdout
    plugins = {o["metadata"]["name"]: o for o in yaml.safe_load_all(out) if o and o["kind"] == "WasmPlugin"}
    limiter = plugins["migrated-cluster-key-rate-limit"]
    assert [r["ingress"] for r in limiter["spec"]["matchRules"]] == [["identity/login-rate-limit"]]
    entries = {a["key"]: a for i in json.loads(report.read_text())["ingresses"] for a in i["annotations"]
               if i["name"] == "login-rate-limit"}
    assert entries["nginx.ingress.kubernetes.io/limit-rps"]["status"] == "plugin"
    out = run("migrate", "nginx", path, "--to", "gateway-api", "--report", str(report), "--report-format",
              "json").stdout
    assert not any(o and o["kind"] == "WasmPlugin" and "rate-limit" in o["metadata"]["name"]
                   for o in yaml.safe_load_all(out))
    entries = {a["key"]: a for i in json.loads(report.read_text())["ingresses"] for a in i["annotations"]
               if i["name"] == "login-rate-limit"}
    assert entries["nginx.ingress.kubernetes.io/limit-rps"]["status"] == "manual"
    assert "--redis-service" in entries["nginx.ingress.kubernetes.io/limit-rps"]["note"]


def test_reference_grants_hold_at_most_16_targets_each():
    """referencegrants CRD: spec.to maxItems 16; certificate and mirror grants are cut alike."""
    plan = GatewayPlan("higress-system", "gw")
    for i in range(20):
        plan.add_certificate(f"h{i}.example.com", "shop", f"s{i:02d}", "Ingress shop/x")
    assert [(g["metadata"]["name"], len(g["spec"]["to"])) for g in plan.grants()] == [
        ("gw-certificates", 16), ("gw-certificates-2", 4)]
    mirrors = service_grants({("a", "b"): {f"svc{i}" for i in range(17)}})
    assert [(g["metadata"]["namespace"], g["metadata"]["name"], len(g["spec"]["to"])) for g in mirrors] == [
        ("b", "from-a-httproutes", 16), ("b", "from-a-httproutes-2", 1)]
    assert mirrors[0]["spec"]["from"] == [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute",
                                           "namespace": "a"}]
    assert mirrors[0]["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "hgbackup"}


def test_the_report_of_either_target_gives_the_higress_config_patch_of_the_global_settings():
    """The global settings apply to routes too: the Gateway API report gives the patch the Ingress path's does."""
    configmap = {"metadata": {"name": "ingress-nginx-controller", "namespace": "ingress-nginx"},
                 "data": {"use-gzip": "true"}}
    for migration, render in ((convert([ingress({})]), gateway_report.markdown),
                              (migrate([ingress({})], MigrateOptions()), ingress_report.markdown)):
        migration.globals = nginx_globals.convert(configmap, "cm.yaml")
        text = render(migration)
        assert "| `ConfigMap ingress-nginx/ingress-nginx-controller: use-gzip` | true | converted |" in text
        assert "```yaml\naddXRealIpHeader: true\ngzip:\n  enable: true\n```" in text


def test_a_cors_origin_value_nginx_refuses_allows_every_origin_on_both_paths():
    """cors/main.go: a value corsOriginRegexValidator refuses is `*` (one reading, rules.nginx_cors_origins)."""
    annotations = {"enable-cors": "true", "cors-allow-origin": "https://a.example.com/app"}
    m = convert([ingress(annotations)], channel="experimental")
    e = entry(m, "cors-allow-origin")
    assert e.status == "converted" and "refuses" in e.note, (e.status, e.note)
    [cors] = [f["cors"] for f in route(m, "web")["spec"]["rules"][0]["filters"] if f["type"] == "CORS"]
    assert cors["allowOrigins"] == ["*"]
    on_ingress = migrate([ingress(annotations)], MigrateOptions())
    assert on_ingress.ingresses[0]["metadata"]["annotations"][NGINX + "cors-allow-origin"] == "*"
