"""migrate nginx: a test per rule, golden files over a corpus of realistic manifests, the CLI, bad input."""

from __future__ import annotations

import json
import os

import pytest
import yaml
from conftest import CORPUS, ROOT, assert_golden, run

from hgbackup.capture import selection
from hgbackup.kube import yamlfiles as kubeyaml
from hgbackup.kube.scope import Scope
from hgbackup.migrate import CUTOVER, SIDE_BY_SIDE, MigrateOptions, migrate, select_ingresses
from hgbackup.migrate.rules import NGINX, PARSERS, RULES, parse_size

GOLDEN = os.path.join(ROOT, "tests", "migrate_golden")


def ingress(annotations: dict, tls: bool = False, cls: str = "nginx") -> dict:
    spec = {"ingressClassName": cls, "rules": [{"host": "a.example.com"}]}
    if tls:
        spec["tls"] = [{"hosts": ["a.example.com"], "secretName": "a-tls"}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "web", "namespace": "shop", "annotations": annotations}, "spec": spec}


def entry_for(migration, key):
    found = [e for r in migration.reports for e in r.entries if e.key == NGINX + key]
    assert len(found) == 1, key
    return found[0]


# One row per rule: annotation, value, expected status, and a fragment the Higress form or note must contain.
RULE_CASES = [
    ("canary", "true", "native", ""), ("canary-by-header", "X-Canary", "native", ""),
    ("canary-by-header-value", "always", "native", ""), ("canary-by-header-pattern", "^a$", "native", ""),
    ("canary-by-cookie", "canary", "native", ""), ("canary-weight", "20", "native", ""),
    ("canary-weight-total", "1000", "native", ""), ("enable-cors", "True", "native", ""),
    ("cors-allow-origin", "*", "native", ""), ("cors-allow-methods", "GET", "native", ""),
    ("cors-allow-headers", "X-A", "native", ""), ("cors-expose-headers", "X-B", "native", ""),
    ("cors-allow-credentials", "false", "native", ""), ("cors-max-age", "600", "native", ""),
    ("default-backend", "svc", "native", ""), ("custom-http-errors", "404,503", "manual", "default-backend"),
    ("rewrite-target", "/$2", "native", ""), ("use-regex", "true", "native", ""),
    ("upstream-vhost", "x.internal", "native", ""), ("app-root", "/app", "native", ""),
    ("temporal-redirect", "https://x/", "native", ""), ("permanent-redirect", "https://y/a", "native", ""),
    ("permanent-redirect-code", "308", "native", ""), ("ssl-redirect", "false", "native", ""),
    ("force-ssl-redirect", "true", "native", ""), ("proxy-next-upstream", "error timeout", "manual", "5xx"),
    ("proxy-next-upstream-tries", "3", "manual", "POST"), ("proxy-next-upstream-timeout", "5", "manual", "first"),
    ("whitelist-source-range", "10.0.0.0/8", "native", ""), ("backend-protocol", "grpcs", "native", ""),
    ("allowlist-source-range", "10.0.0.0/8", "converted", "higress.io/whitelist-source-range: '10.0.0.0/8'"),
    ("proxy-ssl-secret", "ns/ca", "native", ""), ("proxy-ssl-verify", "on", "native", ""),
    ("proxy-ssl-name", "x", "native", ""), ("proxy-ssl-server-name", "on", "native", ""),
    ("auth-tls-secret", "ns/ca", "manual", "mTLS would be OFF"), ("ssl-cipher", "ECDHE", "native", ""),
    ("ssl-ciphers", "ECDHE", "converted", "higress.io/ssl-cipher: 'ECDHE'"),
    ("tls-min-protocol-version", "TLSv1.2", "native", ""), ("tls-max-protocol-version", "TLSv1.3", "native", ""),
    ("load-balance", "ewma", "native", "Istio's default"), ("upstream-hash-by", "$remote_addr", "native", ""),
    ("affinity", "cookie", "native", "balanced"), ("session-cookie-name", "route", "native", ""),
    ("session-cookie-path", "/", "native", ""), ("session-cookie-max-age", "3600", "native", ""),
    ("session-cookie-expires", "3600", "native", ""), ("ignore-path-case", "true", "native", ""),
    ("mirror-target-service", "mirror", "native", ""), ("mirror-percentage", "10", "native", ""),
    ("mirror-target-fqdn", "m.example.com", "native", ""), ("mirror-target-fqdn-port", "80", "native", ""),
    ("mirror-target", "http://mirror.shadow.svc.cluster.local:8080$request_uri", "converted",
     "higress.io/mirror-target-service: 'shadow/mirror:8080'"),
    ("affinity-mode", "balanced", "converted", "only affinity mode"),
    ("proxy-connect-timeout", "5", "manual", "no per-route connect timeout"),
    ("proxy-send-timeout", "120", "converted", "higress.io/timeout: '120'"),
    ("proxy-read-timeout", "3600", "converted", "higress.io/timeout: '3600'"),
    ("limit-rps", "10", "manual", "redis.service_name"), ("limit-rpm", "600", "manual", "redis.service_name"),
    ("limit-burst-multiplier", "3", "converted", "nothing to carry over"),
    ("limit-allowlist", "10.0.0.0/8", "converted", "nothing to carry over"),
    ("limit-whitelist", "10.0.0.0/8", "converted", "nothing to carry over"),
    ("x-forwarded-prefix", "/api", "converted", "only together with a rewrite-target"),
    ("auth-type", "basic", "manual", "UNPROTECTED"),
    ("auth-secret", "ns/htpasswd", "manual", "consumers"),
    ("auth-secret-type", "auth-file", "manual", "consumers"),
    ("auth-realm", "Admin", "unsupported", "realm"),
    ("auth-url", "http://auth.auth.svc.cluster.local/check", "plugin", "migrated-ext-auth"),
    ("auth-signin", "https://login.example.com", "manual", "sign-in"),
    ("auth-response-headers", "X-User", "manual", "no auth-url"),
    ("auth-method", "POST", "manual", "no auth-url"),
    ("denylist-source-range", "1.2.3.4", "plugin", "migrated-ip-restriction"),
    ("enable-modsecurity", "true", "plugin", "migrated-waf"),
    ("enable-owasp-core-rules", "true", "converted", "not enabled"),
    ("modsecurity-snippet", "SecRuleEngine On", "converted", "not enabled"),
    ("limit-connections", "5", "unsupported", "connection"),
    ("configuration-snippet", "return 403;", "unsupported", "Wasm"),
    ("server-snippet", "x", "unsupported", "Wasm"), ("http-snippet", "x", "unsupported", "Wasm"),
    ("stream-snippet", "x", "unsupported", "Wasm"), ("proxy-body-size", "8m", "unsupported", "body"),
    ("client-body-buffer-size", "1m", "unsupported", ""), ("proxy-buffering", "off", "unsupported", ""),
    ("proxy-buffer-size", "8k", "unsupported", ""), ("proxy-buffers-number", "4", "unsupported", ""),
    ("proxy-request-buffering", "on", "unsupported", ""), ("proxy-http-version", "1.1", "unsupported", ""),
    ("ssl-passthrough", "true", "unsupported", ""), ("service-upstream", "true", "unsupported", ""),
    ("from-to-www-redirect", "true", "unsupported", ""),
    ("auth-tls-verify-client", "on", "converted", "nothing to verify"),
    ("auth-tls-pass-certificate-to-upstream", "true", "unsupported", ""),
    ("custom-headers", "ns/cm", "unsupported", ""), ("proxy-set-headers", "ns/cm", "unsupported", ""),
]


def test_every_rule_has_a_case():
    assert {k for k, *_ in RULE_CASES} == set(RULES)


@pytest.mark.parametrize("key,value,status,fragment", RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_rule(key, value, status, fragment):
    entry = entry_for(migrate([ingress({NGINX + key: value})], MigrateOptions()), key)
    assert entry.status == status, (entry.status, entry.note)
    assert fragment in f"{entry.target} {entry.note}"


@pytest.mark.parametrize("key,value,reason", [
    ("canary-weight", "${CANARY_WEIGHT}", "placeholder"), ("proxy-read-timeout", "soon", "whole number of seconds"),
    ("proxy-read-timeout", "600s", "ingress-nginx ignores it"), ("proxy-connect-timeout", "2m", "default"),
    ("proxy-next-upstream-timeout", "10s", "whole number of seconds"),
    ("temporal-redirect", "/relative", "absolute http(s) URL"),
    ("proxy-body-size", "big", "size"), ("enable-cors", "yes", "true or false"),
    ("whitelist-source-range", "10.0.0.0/33", "CIDR"), ("backend-protocol", "SOAP", "backend protocol"),
    ("auth-url", "not a url", "URL"), ("affinity-mode", "sticky", "balanced or persistent"),
])
def test_invalid_values_are_reported_not_crashed_on(key, value, reason):
    entry = entry_for(migrate([ingress({NGINX + key: value})], MigrateOptions()), key)
    assert entry.status == "invalid" and reason in entry.note


@pytest.mark.parametrize("value", ["AUTO_HTTP", "FCGI", "AJP"])
def test_backend_protocols_higress_lacks(value):
    entry = entry_for(migrate([ingress({NGINX + "backend-protocol": value})], MigrateOptions()), "backend-protocol")
    assert entry.status == "unsupported" and value in entry.note


def test_unknown_key_is_unsupported():
    assert entry_for(migrate([ingress({NGINX + "made-up": "1"})], MigrateOptions()), "made-up").status == "unsupported"


def test_every_rule_reads_its_value_with_a_parser_of_the_table():
    types = {rule.value for rule in RULES.values()}
    assert {t for t in types if not t.startswith("enum:")} <= set(PARSERS), types


@pytest.mark.parametrize("text,size", [("0", 0), ("8m", 8 << 20), ("200m", 200 << 20), ("5G", 5 << 30),
                                       ("20g", 20 << 30), ("512k", 512 << 10)])
def test_sizes(text, size):
    assert parse_size(text) == size


def test_timeouts_use_the_largest_send_or_read_phase_and_never_invent_one():
    m = migrate([ingress({NGINX + "proxy-connect-timeout": "5", NGINX + "proxy-read-timeout": "600",
                          NGINX + "proxy-send-timeout": "30"})], MigrateOptions())
    assert m.ingresses[0]["metadata"]["annotations"]["higress.io/timeout"] == "600"
    assert entry_for(m, "proxy-connect-timeout").status == "converted"
    # "2m" is ignored by ingress-nginx itself: nothing is converted (it used to become a 120 s timeout)
    m = migrate([ingress({NGINX + "proxy-read-timeout": "2m"})], MigrateOptions())
    assert "higress.io/timeout" not in (m.ingresses[0]["metadata"].get("annotations") or {})
    assert entry_for(m, "proxy-read-timeout").status == "invalid"
    # a connect timeout alone does not become a total route timeout
    m = migrate([ingress({NGINX + "proxy-connect-timeout": "5"})], MigrateOptions())
    assert "higress.io/timeout" not in (m.ingresses[0]["metadata"].get("annotations") or {})


def migrate_one(annotations: dict, tls: bool = False, **options):
    return migrate([ingress(annotations, tls=tls)], MigrateOptions(**options))


@pytest.mark.parametrize("annotations,key,status,fragment", [
    # canary.go: one mechanism per canary Ingress, header > cookie > weight, no fallback
    ({"canary": "true", "canary-by-header": "X-Canary", "canary-weight": "20"}, "canary-weight", "manual",
     "the 20/100 of requests without the header"),
    ({"canary": "true", "canary-by-cookie": "beta", "canary-weight": "5", "canary-weight-total": "1000"},
     "canary-weight", "manual", "the 5/1000 of requests without the cookie"),
    ({"canary": "true", "canary-by-header": "X-Canary", "canary-by-cookie": "beta"}, "canary-by-cookie", "manual",
     "with the cookie but without the header"),
    ({"canary": "true", "canary-weight": "20"}, "canary-weight", "native", ""),
    # ratelimit.py: per client IP needs cluster-key-rate-limit, and it needs Redis
    ({"limit-rps": "5", "limit-rpm": "100"}, "limit-rpm", "manual", "cluster-key-rate-limit plugin (limit_by_per_ip)"),
    ({"limit-rps": "5"}, "limit-rps", "manual", "cluster-key-rate-limit plugin (limit_by_per_ip)"),
    # retry.go: 0 tries means no retry in Higress
    ({"proxy-next-upstream-tries": "0"}, "proxy-next-upstream-tries", "manual", "unlimited"),
    # redirect.go, loadbalance.go, rewrite.go: values Higress takes literally or not at all
    ({"permanent-redirect": "https://new.example.com$request_uri"}, "permanent-redirect", "manual", "not expanded"),
    ({"upstream-hash-by": "$http_x_user"}, "upstream-hash-by", "native", ""),
    ({"upstream-hash-by": "$cookie_session"}, "upstream-hash-by", "manual", "round robin"),
    ({"upstream-hash-by": "$request_uri$host"}, "upstream-hash-by", "manual", "round robin"),
    ({"upstream-vhost": "$host.internal"}, "upstream-vhost", "manual", "literally"),
    # harmless values: nothing to do, said so
    ({"proxy-body-size": "0"}, "proxy-body-size", "converted", "nothing to do"),
    ({"from-to-www-redirect": "false"}, "from-to-www-redirect", "converted", "nothing to do"),
    ({"proxy-body-size": "8m"}, "proxy-body-size", "unsupported", "body size"),
    # names Higress reads under another key
    ({"ssl-ciphers": "ECDHE-RSA-AES128-GCM-SHA256", "ssl-cipher": "X"}, "ssl-ciphers", "converted", "is set as well"),
    ({"mirror-target": "https://shadow.example.com$request_uri"}, "mirror-target", "converted",
     "higress.io/mirror-target-fqdn: 'shadow.example.com', higress.io/mirror-target-fqdn-port: '443'"),
    ({"mirror-target": "http://shadow.example.com/copy?x=$arg_y"}, "mirror-target", "manual", "carries over"),
])
def test_combinations_checked_against_the_higress_source(annotations, key, status, fragment):
    entry = entry_for(migrate_one({NGINX + k: v for k, v in annotations.items()}), key)
    assert entry.status == status, (entry.status, entry.note)
    assert fragment in f"{entry.target} {entry.note}"


@pytest.mark.parametrize("secret,status,fragment", [
    ("a-tls", "native", ""), ("a-tls-cacert", "native", ""), ("shop/a-tls-cacert", "native", ""),
    ("ca", "manual", "create Secret shop/a-tls-cacert"), ("other/a-tls-cacert", "manual", "mTLS is OFF"),
])
def test_auth_tls_secret_is_native_only_where_higress_turns_mtls_on(secret, status, fragment):
    entry = entry_for(migrate_one({NGINX + "auth-tls-secret": secret}, tls=True), "auth-tls-secret")
    assert entry.status == status and fragment in f"{entry.target} {entry.note}"


def test_a_mirror_target_with_a_port_out_of_range_is_manual_work_not_an_internal_error():
    entry = entry_for(migrate_one({NGINX + "mirror-target": "http://shadow.other.svc:99999$request_uri"}),
                      "mirror-target")
    assert entry.status == "manual" and "http(s)://host[:port]$request_uri" in entry.note


def test_allowlist_keeps_the_ip_restriction_at_cutover():
    m = migrate_one({NGINX + "allowlist-source-range": "10.0.0.0/8"}, mode=CUTOVER)
    annotations = m.ingresses[0]["metadata"]["annotations"]
    assert annotations["higress.io/whitelist-source-range"] == "10.0.0.0/8"
    assert not any(k.startswith(NGINX) for k in annotations)


def test_every_rule_row_cites_the_source_it_follows():
    assert all(rule.source for rule in RULES.values()), [k for k, r in RULES.items() if not r.source]


def test_an_auth_host_outside_the_cluster_is_never_made_a_cluster_service():
    m = migrate_one({NGINX + "auth-url": "https://auth.example.com/verify"})
    entry = entry_for(m, "auth-url")
    assert entry.status == "manual" and "outside the cluster" in entry.note
    endpoint = m.plugins[0]["spec"]["matchRules"][0]["config"]["http_service"]["endpoint"]
    assert not endpoint["service_name"].endswith(".svc.cluster.local")


def test_tls_without_ssl_redirect_gets_it_explicitly():
    m = migrate([ingress({}, tls=True)], MigrateOptions())
    entry = entry_for(m, "ssl-redirect")
    assert entry.status == "converted" and entry.value is None
    assert m.ingresses[0]["metadata"]["annotations"]["higress.io/ssl-redirect"] == "true"
    explicit = migrate([ingress({NGINX + "ssl-redirect": "false"}, tls=True)], MigrateOptions())
    assert "higress.io/ssl-redirect" not in explicit.ingresses[0]["metadata"]["annotations"]


def test_side_by_side_keeps_class_and_nginx_keys():
    source = ingress({NGINX + "proxy-read-timeout": "30", NGINX + "server-snippet": "x", NGINX + "canary": "True"})
    out = migrate([source], MigrateOptions(mode=SIDE_BY_SIDE)).ingresses[0]
    assert out["spec"]["ingressClassName"] == "nginx"
    assert set(source["metadata"]["annotations"]) < set(out["metadata"]["annotations"])
    assert out["metadata"]["annotations"]["higress.io/timeout"] == "30"


def test_cutover_moves_native_keys_and_drops_the_rest():
    source = ingress({NGINX + "proxy-read-timeout": "30", NGINX + "server-snippet": "x", NGINX + "canary": "True",
                      "kubernetes.io/ingress.class": "nginx", "team": "a"})
    out = migrate([source], MigrateOptions(mode=CUTOVER)).ingresses[0]
    assert out["spec"]["ingressClassName"] == "higress"
    assert out["metadata"]["annotations"] == {"team": "a", "higress.io/timeout": "30", "higress.io/canary": "true"}


def test_only_the_chosen_class_is_converted():
    objects = [ingress({}, cls="nginx"), ingress({}, cls="higress"),
               {**ingress({}), "spec": {"rules": []}, "metadata": {"name": "u", "namespace": "a"}}]
    assert len(migrate(objects, MigrateOptions()).ingresses) == 1
    assert len(migrate(objects, MigrateOptions(include_unclassed=True)).ingresses) == 2


def test_each_nginx_annotation_is_reported_exactly_once_over_the_corpus():
    objects = kubeyaml.load_paths(CORPUS, allow_generate_name=True)
    migration = migrate(objects, MigrateOptions(include_unclassed=True))
    assert len(migration.reports) >= 40  # the regression corpus (tests/migrate_corpus)

    def named(o):
        return (o["metadata"].get("namespace", "default"),
                o["metadata"].get("name") or o["metadata"]["generateName"] + "*")

    for report in migration.reports:
        keys = [e.key for e in report.entries if e.value is not None and e.key.startswith(NGINX)]
        original = migrate([o for o in objects if o.get("kind") == "Ingress"
                            and named(o) == (report.namespace, report.name)], MigrateOptions(include_unclassed=True))
        nginx_keys = sorted(k for k in (original.ingresses[0]["metadata"].get("annotations") or {})
                            if k.startswith(NGINX))
        assert sorted(keys) == nginx_keys, report.name
    names = {r.name for r in migration.reports}
    assert "already-higress" not in names and "unclassed" in names


def _golden_doc(path: str, mode: str) -> dict:
    migration = migrate(kubeyaml.load_paths([path], allow_generate_name=True), MigrateOptions(mode=mode))
    return {"objects": migration.objects, "report": migration.as_json()}


@pytest.mark.parametrize("mode", [SIDE_BY_SIDE, CUTOVER])
@pytest.mark.parametrize("path", CORPUS, ids=[os.path.basename(p) for p in CORPUS])
def test_golden(path, mode):
    """The whole output for each corpus file; regenerate with HGBACKUP_UPDATE_GOLDEN=1 and review the diff."""
    golden = os.path.join(GOLDEN, f"{os.path.basename(path)[:-5]}.{mode}.json")
    doc = _golden_doc(path, mode)
    assert_golden(doc, golden)



def test_cli_outputs_report_and_strict(tmp_path):
    path = os.path.join(ROOT, "tests", "migrate_corpus", "basic-auth.yaml")
    report = tmp_path / "report.json"
    result = run("migrate", "nginx", path, "--report", str(report), "--report-format", "json", "--strict", code=1)
    docs = list(yaml.safe_load_all(result.stdout))
    assert [d["kind"] for d in docs] == ["Ingress", "WasmPlugin"]  # no basic-auth plugin its parser would refuse
    assert result.stderr.strip().startswith("migrated 1 Ingress(es), generated 1 plugin(s)")
    doc = json.loads(report.read_text())
    assert set(doc) == {"ingresses", "generated", "summary", "skipped"}
    assert set(doc["ingresses"][0]["annotations"][0]) == {"key", "value", "status", "target", "note"}
    assert doc["summary"]["manual"] == 4 and doc["summary"]["plugin"] == 1  # auth-type, auth-secret, limit-rps, burst
    run("migrate", "nginx", os.path.join(ROOT, "tests", "migrate_corpus", "canary.yaml"), "-o", "json",
        "--strict", code=1)
    clean = run("migrate", "nginx", "-", "--strict", input=yaml.safe_dump(ingress({NGINX + "canary": "true"})))
    assert "kind: Ingress" in clean.stdout


def test_cli_markdown_report_and_output_dir(tmp_path):
    out = tmp_path / "out"
    report = tmp_path / "report.md"
    run("migrate", "nginx", *CORPUS, "--output-dir", str(out), "--report", str(report), "--mode", "cutover")
    files = sorted(os.listdir(out))
    assert "11-wasmplugins.extensions.higress.io" in files
    assert "migrated-ext-auth.yaml" in os.listdir(out / "11-wasmplugins.extensions.higress.io" / "higress-system")
    text = report.read_text()
    assert "### ops/dashboard" in text and "| `nginx.ingress.kubernetes.io/auth-signin` |" in text
    # counts first, security findings before the per-Ingress tables, left-out Ingresses last
    assert text.index("| status | annotations |") < text.index("## Security first") < text.index("## Per Ingress")
    security = text[text.index("## Security first"):text.index("## Per Ingress")]
    assert "`nginx.ingress.kubernetes.io/auth-type`" in security and "UNPROTECTED" in security
    assert text.index("## Per Ingress") < text.index("## Left out")


def test_cli_bad_input(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Ingress\nmetadata: {name: [\n")
    result = run("migrate", "nginx", str(bad), code=2)
    assert f"{bad}:" in result.stderr and "Traceback" not in result.stderr
    run("migrate", "nginx", str(tmp_path / "missing.yaml"), code=5)
    notk8s = tmp_path / "x.yaml"
    notk8s.write_text("hello: world\n")
    run("migrate", "nginx", str(notk8s), code=2)
    run("migrate", "nginx", code=2)


def test_old_ingress_versions_are_converted_and_every_left_out_ingress_is_named():
    old = {"apiVersion": "extensions/v1beta1", "kind": "Ingress",
           "metadata": {"name": "legacy", "namespace": "shop", "uid": "x", "resourceVersion": "7",
                        "annotations": {"kubernetes.io/ingress.class": "nginx",
                                        "kubectl.kubernetes.io/last-applied-configuration": "{}"}},
           "spec": {"backend": {"serviceName": "web", "servicePort": 80},
                    "rules": [{"host": "a.example.com", "http": {"paths": [
                        {"path": "/api", "backend": {"serviceName": "api", "servicePort": "http"}}]}}]},
           "status": {"loadBalancer": {}}}
    beta = dict(old, apiVersion="networking.k8s.io/v1beta1", metadata={"name": "beta", "namespace": "shop",
                                                                       "annotations": {}})
    beta["spec"] = dict(old["spec"], ingressClassName="nginx")
    other = ingress({}, cls="traefik")
    unclassed = ingress({})
    unclassed["spec"].pop("ingressClassName")
    generated = ingress({})
    generated["metadata"] = {"generateName": "web-", "namespace": "shop"}
    m = migrate([old, beta, other, unclassed, generated], MigrateOptions())
    legacy = next(i for i in m.ingresses if i["metadata"].get("name") == "legacy")
    assert legacy["apiVersion"] == "networking.k8s.io/v1"
    assert legacy["spec"]["defaultBackend"] == {"service": {"name": "web", "port": {"number": 80}}}
    path = legacy["spec"]["rules"][0]["http"]["paths"][0]
    assert path == {"path": "/api", "pathType": "ImplementationSpecific",
                    "backend": {"service": {"name": "api", "port": {"name": "http"}}}}
    assert set(legacy["metadata"]) == {"name", "namespace", "annotations"} and "status" not in legacy
    assert "kubectl.kubernetes.io/last-applied-configuration" not in legacy["metadata"]["annotations"]
    assert any("converted from extensions/v1beta1" in n for r in m.reports for n in r.notes)
    assert len(m.ingresses) == 3  # legacy, beta and the generateName-only one
    assert {(s["name"], s["flag"]) for s in m.skipped} == {("web", "--ingress-class traefik"),
                                                           ("web", "--include-unclassed")}
    assert any(r.name == "web-*" for r in m.reports)


NGINX_CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata: {name: ingress-nginx-controller, namespace: ingress-nginx}
data:
  use-gzip: "true"
  gzip-types: "application/json text/css"
  keep-alive: "75"
  proxy-read-timeout: "120"
  hsts: "false"
  use-forwarded-headers: "true"
  log-format-upstream: "$remote_addr"
"""


def test_the_nginx_configmap_is_reported_key_by_key_with_a_higress_config_patch(tmp_path):
    cm = tmp_path / "cm.yaml"
    cm.write_text(NGINX_CONFIGMAP)
    report = tmp_path / "r.json"
    run("migrate", "nginx", os.path.join(ROOT, "tests", "migrate_corpus", "canary.yaml"), "--nginx-configmap",
        str(cm), "--report", str(report), "--report-format", "json", "--report", str(report))
    doc = json.loads(report.read_text())["global"]
    status = {e["key"].split(": ", 1)[1]: e["status"] for e in doc["settings"]}
    assert status == {"use-gzip": "converted", "gzip-types": "converted", "keep-alive": "converted",
                      "proxy-read-timeout": "manual", "hsts": "converted", "use-forwarded-headers": "manual",
                      "log-format-upstream": "unsupported", "proxy-body-size (default)": "manual",
                      "ssl-redirect (default)": "converted", "X-Real-IP (always sent)": "converted"}
    assert doc["higress_config"] == {"gzip": {"enable": True, "contentType": ["application/json", "text/css"]},
                                     "downstream": {"idleTimeout": 75}, "addXRealIpHeader": True}
    run("migrate", "nginx", os.path.join(ROOT, "tests", "migrate_corpus", "canary.yaml"), "--nginx-configmap",
        "nowhere", code=2)


def test_migrate_and_capture_read_an_ingress_class_alike():
    """One rule (catalogue.ingress_class): spec.ingressClassName, else the kubernetes.io/ingress.class annotation."""
    by_spec = ingress({})
    by_annotation = ingress({"kubernetes.io/ingress.class": "nginx"})
    del by_annotation["spec"]["ingressClassName"]
    other = ingress({}, cls="traefik")
    unclassed = ingress({})
    del unclassed["spec"]["ingressClassName"]
    docs = []
    for name, doc in (("spec", by_spec), ("annotation", by_annotation), ("other", other), ("none", unclassed)):
        doc["metadata"]["name"] = name
        docs.append(doc)
    chosen, skipped = select_ingresses(docs, MigrateOptions())
    captured = [o for o in selection.select(docs, Scope(ingress_classes=["nginx"])) if o["kind"] == "Ingress"]
    assert [o["metadata"]["name"] for o in chosen] == ["spec", "annotation"]
    assert sorted(o["metadata"]["name"] for o in captured) == ["annotation", "spec"]
    assert {s["name"]: s["flag"] for s in skipped} == {"other": "--ingress-class traefik",
                                                       "none": "--include-unclassed"}
    cut = migrate([by_annotation], MigrateOptions(mode=CUTOVER)).ingresses[0]
    assert "kubernetes.io/ingress.class" not in (cut["metadata"].get("annotations") or {})
    assert cut["spec"]["ingressClassName"] == "higress"


@pytest.mark.parametrize("namespace,route", [("higress-system", "login"), ("shop", "shop/login")])
def test_plugin_rules_name_the_route_as_higress_names_it(namespace, route):
    """Higress names an Ingress's routes by the bare name in its own namespace and `ns/name` elsewhere
    (common/tool.go GenerateUniqueRouteName): a rule naming `higress-system/login` matches nothing, and the deny
    list (or an auth plugin) would silently not apply."""
    obj = ingress({NGINX + "denylist-source-range": "198.51.100.0/24"})
    obj["metadata"].update(name="login", namespace=namespace)
    [plugin] = migrate([obj], MigrateOptions()).plugins
    assert [r["ingress"] for r in plugin["spec"]["matchRules"]] == [[route]]
