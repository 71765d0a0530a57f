"""The converted corpus, plugins included, is accepted by the real API server (dry run, then a real apply)."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import CORPUS, invoke, rand_name
from kubernetes import client

from hgbackup.kube import yamlfiles as kubeyaml

pytestmark = pytest.mark.kube


def test_corpus_applies_to_the_real_api_server(crds, k8s, kubeconfig, tmp_path):
    suffix = rand_name("m")
    objects = [o for o in kubeyaml.load_paths(CORPUS, allow_generate_name=True) if o["kind"] == "Ingress"
               and o["metadata"].get("name")]  # apply needs names
    for obj in objects:
        obj["metadata"]["namespace"] = f"{obj['metadata']['namespace']}-{suffix}"
    source = tmp_path / "corpus.yaml"
    source.write_text(yaml.safe_dump_all(objects))
    hns = f"higress-{suffix}"
    common = ["migrate", "nginx", str(source), "--mode", "cutover", "--higress-namespace", hns,
              "--apply", "--kubeconfig", kubeconfig, "--store", str(tmp_path / "store"), "--yes"]

    dry = invoke(*common, "--dry-run")
    assert dry.exit_code == 0, dry.output
    namespaces = {ns.metadata.name for ns in client.CoreV1Api(k8s).list_namespace().items}
    assert hns not in namespaces  # nothing written

    # side by side first (ingress-nginx keeps serving), applied twice: the second changes nothing
    side = [a if a != "cutover" else "side-by-side" for a in common]
    for _ in range(2):
        applied = invoke(*side)
        assert applied.exit_code == 0, applied.output
    last = [line for line in applied.stdout.splitlines() if line.strip()][-1]
    assert last.endswith("unchanged") and "created" not in last and "updated" not in last, last
    live = client.NetworkingV1Api(k8s).read_namespaced_ingress("registry", f"tools-{suffix}")
    assert live.spec.ingress_class_name == "nginx"

    real = invoke(*common)
    assert real.exit_code == 0, real.output
    assert "safety snapshot" in real.stderr
    plugins = client.CustomObjectsApi(k8s).list_namespaced_custom_object(
        "extensions.higress.io", "v1alpha1", hns, "wasmplugins")["items"]
    assert {p["metadata"]["name"] for p in plugins} == {
        "migrated-ext-auth", "migrated-ip-restriction", "migrated-waf"}  # never a basic-auth its parser refuses
    live = client.NetworkingV1Api(k8s).read_namespaced_ingress("registry", f"tools-{suffix}")
    assert live.spec.ingress_class_name == "higress"
    assert live.metadata.annotations["higress.io/timeout"] == "600"
    assert not any(k.startswith("nginx.ingress.kubernetes.io/") for k in live.metadata.annotations)
    rows = json.loads(invoke("list", "--store", str(tmp_path / "store"), "-o", "json").stdout)
    assert [r["tags"] for r in rows] == [["pre-migrate"]] * 3  # one safety snapshot per real apply


def test_a_second_apply_changes_nothing_and_a_subset_keeps_the_others_plugins(crds, k8s, kubeconfig, tmp_path):
    suffix = rand_name("m")
    ns, hns = f"apps-{suffix}", f"higress-{suffix}"

    def denied(name: str, cidr: str) -> dict:
        return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                "metadata": {"name": name, "namespace": ns,
                             "annotations": {"nginx.ingress.kubernetes.io/denylist-source-range": cidr}},
                "spec": {"ingressClassName": "nginx", "rules": [{"host": f"{name}.example.com"}]}}

    both, only_a = tmp_path / "both.yaml", tmp_path / "a.yaml"
    both.write_text(yaml.safe_dump_all([denied("a", "1.1.1.1"), denied("b", "2.2.2.2")]))
    only_a.write_text(yaml.safe_dump_all([denied("a", "3.3.3.3")]))
    common = ["migrate", "nginx", "--higress-namespace", hns, "--apply", "--kubeconfig", kubeconfig,
              "--store", str(tmp_path / "store"), "--yes", "--mode", "cutover"]
    first = invoke(*common[:2], str(both), *common[2:])
    assert first.exit_code == 0, first.output
    again = invoke(*common[:2], str(both), *common[2:])
    assert again.exit_code == 0, again.output
    summary_line = [line for line in again.stdout.splitlines() if line.strip()][-1]
    assert summary_line == "3 unchanged", again.stdout  # two Ingresses and the plugin

    subset = invoke(*common[:2], str(only_a), *common[2:])
    assert subset.exit_code == 0, subset.output
    plugin = client.CustomObjectsApi(k8s).get_namespaced_custom_object(
        "extensions.higress.io", "v1alpha1", hns, "wasmplugins", "migrated-ip-restriction")
    rules = {tuple(r["ingress"]): r["config"]["deny"] for r in plugin["spec"]["matchRules"]}
    assert rules == {(f"{ns}/a",): ["3.3.3.3/32"], (f"{ns}/b",): ["2.2.2.2/32"]}  # b's rule was kept


def test_from_cluster_reads_the_live_nginx_configmap(crds, k8s, kubeconfig, tmp_path, cleanup):
    from conftest import create_namespace

    ns = create_namespace(k8s, cleanup, "ingress-nginx")
    client.CoreV1Api(k8s).create_namespaced_config_map(ns, {"metadata": {"name": "controller"},
                                                            "data": {"use-gzip": "true"}})
    report = tmp_path / "r.json"
    result = invoke("migrate", "nginx", "--from-cluster", "--kubeconfig", kubeconfig, "--nginx-configmap",
                    f"{ns}/controller", "--report", str(report), "--report-format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(report.read_text())["global"]
    assert doc["source"] == f"the live ConfigMap {ns}/controller" and doc["higress_config"]["gzip"] == {"enable": True}
    missing = invoke("migrate", "nginx", "--from-cluster", "--kubeconfig", kubeconfig, "--nginx-configmap",
                     f"{ns}/absent")
    assert missing.exit_code == 5 and "not found" in missing.stderr


def test_strict_is_decided_before_anything_is_applied(crds, k8s, kubeconfig, tmp_path):
    suffix = rand_name("s")
    source = tmp_path / "in.yaml"
    source.write_text(yaml.safe_dump({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "snippet", "namespace": f"strict-{suffix}",
                     "annotations": {"nginx.ingress.kubernetes.io/configuration-snippet": "return 403;"}},
        "spec": {"ingressClassName": "nginx", "rules": [{"host": "s.example.com"}]}}))
    result = invoke("migrate", "nginx", str(source), "--apply", "--strict", "--yes", "--kubeconfig", kubeconfig,
                    "--store", str(tmp_path / "store"))
    assert result.exit_code == 1 and "nothing was applied" in result.stderr
    namespaces = {ns.metadata.name for ns in client.CoreV1Api(k8s).list_namespace().items}
    assert f"strict-{suffix}" not in namespaces and not (tmp_path / "store").exists()


def test_an_invalid_input_file_means_nothing_is_applied(crds, k8s, kubeconfig, tmp_path):
    suffix = rand_name("v")
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(yaml.safe_dump({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "web", "namespace": f"valid-{suffix}"},
        "spec": {"ingressClassName": "nginx", "rules": [{"host": "v.example.com"}]}}))
    bad.write_text("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: up\n  namespace: x\n"
                   "  annotations:\n    nginx.ingress.kubernetes.io/proxy-read-timeout: 600\n"
                   "spec: {ingressClassName: nginx}\n")
    result = invoke("migrate", "nginx", str(good), str(bad), "--apply", "--yes", "--kubeconfig", kubeconfig,
                    "--store", str(tmp_path / "store"))
    assert result.exit_code == 2 and "nothing was applied" in result.stderr
    assert str(bad) in result.stderr and str(good) not in result.stderr
    namespaces = {ns.metadata.name for ns in client.CoreV1Api(k8s).list_namespace().items}
    assert f"valid-{suffix}" not in namespaces and not (tmp_path / "store").exists()


def _nginx_ingress(name: str, namespace: str, host: str) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "namespace": namespace,
                         "annotations": {"nginx.ingress.kubernetes.io/denylist-source-range": "1.1.1.1"}},
            "spec": {"ingressClassName": "nginx", "rules": [{"host": host, "http": {"paths": [
                {"path": "/", "pathType": "Prefix",
                 "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}}


@pytest.mark.parametrize("to", ["ingress", "gateway-api"])
def test_a_kube_system_ingress_from_a_file_is_skipped_not_applied(crds, k8s, kubeconfig, tmp_path, to):
    """The one scope (excluded.left_out): an Ingress in kube-system is named in `skipped` and never written."""
    suffix = rand_name("k")
    ns, hns = f"apps-{suffix}", f"higress-{suffix}"
    source = tmp_path / "in.yaml"
    source.write_text(yaml.safe_dump_all([_nginx_ingress(f"sys-{suffix}", "kube-system", "k.example.com"),
                                          _nginx_ingress("web", ns, "w.example.com")]))
    report = tmp_path / "r.json"
    result = invoke("migrate", "nginx", str(source), "--to", to, "--higress-namespace", hns, "--apply", "--yes",
                    "--kubeconfig", kubeconfig, "--store", str(tmp_path / "store"), "--report", str(report),
                    "--report-format", "json", "--dry-run")
    assert result.exit_code == 0, result.output
    skipped = json.loads(report.read_text())["skipped"]
    assert [(s["namespace"], s["name"]) for s in skipped] == [("kube-system", f"sys-{suffix}")]
    assert "kube-system" in skipped[0]["reason"]
    assert "kube-system" not in result.stdout and f"{ns}/web" in result.stdout


def test_a_kube_system_ingress_in_the_cluster_is_reported_skipped(crds, k8s, kubeconfig, tmp_path, cleanup):
    """--from-cluster: the Ingress the capture leaves out (kube-system) is named in `skipped`, not dropped."""
    name = rand_name("sys")
    networking = client.NetworkingV1Api(k8s)
    networking.create_namespaced_ingress("kube-system", _nginx_ingress(name, "kube-system", "s.example.com"))
    cleanup(lambda: networking.delete_namespaced_ingress(name, "kube-system"))
    report = tmp_path / "r.json"
    result = invoke("migrate", "nginx", "--from-cluster", "--kubeconfig", kubeconfig, "--report", str(report),
                    "--report-format", "json")
    assert result.exit_code == 0, result.output
    skipped = {(s["namespace"], s["name"]): s for s in json.loads(report.read_text())["skipped"]}
    assert "kube-system" in skipped[("kube-system", name)]["reason"]
    assert name not in result.stdout


def test_the_restore_machinery_refuses_to_write_into_kube_system(crds, k8s, kubeconfig, tmp_path, cleanup):
    """restore.run refuses what excluded.left_out refuses, for every caller: plugins for a Higress namespace
    kube-system are not written (exit 2, nothing written, no safety snapshot)."""
    custom = client.CustomObjectsApi(k8s)
    cleanup(lambda: [custom.delete_namespaced_custom_object("extensions.higress.io", "v1alpha1", "kube-system",
                                                            "wasmplugins", p["metadata"]["name"])
                     for p in custom.list_namespaced_custom_object("extensions.higress.io", "v1alpha1",
                                                                   "kube-system", "wasmplugins")["items"]])
    suffix = rand_name("p")
    ns = f"apps-{suffix}"
    source = tmp_path / "in.yaml"
    source.write_text(yaml.safe_dump(_nginx_ingress("web", ns, "p.example.com")))
    result = invoke("migrate", "nginx", str(source), "--mode", "cutover", "--higress-namespace", "kube-system",
                    "--apply", "--yes", "--kubeconfig", kubeconfig, "--store", str(tmp_path / "store"))
    assert result.exit_code == 2, result.output
    assert "kube-system/migrated-ip-restriction is in kube-system" in result.stderr
    assert "nothing was written" in result.stderr
    namespaces = {n.metadata.name for n in client.CoreV1Api(k8s).list_namespace().items}
    assert ns not in namespaces and not (tmp_path / "store").exists()
    plugins = custom.list_namespaced_custom_object("extensions.higress.io", "v1alpha1", "kube-system",
                                                   "wasmplugins")["items"]
    assert not plugins
