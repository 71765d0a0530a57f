"""Unit tests of matching, path rendering and masking in diff, and the diff command on local snapshots."""

from __future__ import annotations

import copy
import json

import pytest
import yaml
from conftest import EXAMPLE, invoke

from hgbackup.diff import sources
from hgbackup.diff.compare import changed_paths, compare, masked, render_path
from hgbackup.kube.model import StoredObject

ING = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
       "metadata": {"name": "web", "namespace": "shop", "annotations": {"higress.io/timeout": "30"}},
       "spec": {"rules": [{"host": "a.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix"}]}}]}}
SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "shop"},
          "data": {"nacosPassword": "c2VjcmV0LW9uZQ==", "user": "dXNlcg=="}}


def objs(*items):
    return [StoredObject.from_object(i) for i in items]


def test_render_path():
    assert render_path(["spec", "rules", 0, "http", "paths", 0, "path"]) == "spec.rules[0].http.paths[0].path"
    rendered = render_path(["metadata", "annotations", "higress.io/timeout"])
    assert rendered == 'metadata.annotations["higress.io/timeout"]'


def test_matching_added_removed_changed():
    changed = copy.deepcopy(ING)
    changed["spec"]["rules"][0]["http"]["paths"][0]["path"] = "/v2"
    changed["metadata"]["annotations"]["higress.io/timeout"] = "60"
    other = dict(copy.deepcopy(ING), metadata={"name": "other", "namespace": "shop"})
    result = compare(objs(ING, SECRET), objs(changed, other))
    assert sorted((c.op, c.ref.name) for c in result.changes) == [("+", "other"), ("-", "s"), ("M", "web")]
    change = next(c for c in result.changes if c.op == "M")
    assert change.paths == ('metadata.annotations["higress.io/timeout"]', "spec.rules[0].http.paths[0].path")
    assert result.summary() == {"added": 1, "removed": 1, "changed": 1, "unchanged": 0}


def test_server_fields_never_show_as_changes():
    live = copy.deepcopy(ING)
    live["metadata"].update(uid="x", resourceVersion="9", managedFields=[{}], generation=4)
    live["status"] = {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}
    assert compare(objs(ING), objs(live)).same


def test_filters():
    changed = copy.deepcopy(ING)
    changed["spec"]["rules"][0]["host"] = "b.example.com"
    result = compare(objs(ING), objs(changed), kinds={("", "Secret")})
    assert result.same
    assert compare(objs(ING), objs(changed), namespaces={"other"}).same
    assert not compare(objs(ING), objs(changed), namespaces={"shop"}).same


def test_secret_paths_are_keys_and_masking_hides_values():
    new = copy.deepcopy(SECRET)
    new["data"]["nacosPassword"] = "c2VjcmV0LXR3bw=="
    assert changed_paths(SECRET, new) == ["data.nacosPassword"]
    text = json.dumps(masked(new, SECRET))
    assert "c2VjcmV0" not in text and "dXNlcg" not in text
    assert masked(new, SECRET)["data"] == {"nacosPassword": "<redacted, changed>", "user": "<redacted>"}


@pytest.fixture
def two_snapshots(tmp_path):
    store = str(tmp_path / "store")
    first = json.loads(invoke("snapshot", "--from-file", EXAMPLE, "--store", store, "-o", "json").stdout)
    items = yaml.safe_load(open(EXAMPLE))["items"]
    secret = next(i for i in items if i["metadata"]["name"] == "nacos-auth-x7k2p")
    secret["data"]["nacosPassword"] = "Q2hhbmdlZC1OYWNvcy1QYXNzd29yZA=="
    ing = next(i for i in items if i["metadata"]["name"] == "shop-api")
    ing["spec"]["rules"][0]["host"] = "api2.example.com"
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}))
    second = json.loads(invoke("snapshot", "--from-file", str(changed), "--store", store,
                                            "-o", "json").stdout)
    return store, first["id"], second["id"]


def test_diff_command_json_and_exit_codes(two_snapshots):
    store, a, b = two_snapshots
    same = invoke("diff", a, a, "--store", store)
    assert same.exit_code == 0 and "0 added, 0 removed, 0 changed, 25 unchanged" in same.stdout
    result = invoke("diff", a, b, "--store", store, "-o", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["added"] == [] and doc["removed"] == []
    assert {c["ref"]["name"]: c["paths"] for c in doc["changed"]} == {
        "nacos-auth-x7k2p": ["data.nacosPassword"], "shop-api": ["spec.rules[0].host"]}
    assert doc["changed"][0]["ref"].keys() == {"apiVersion", "kind", "namespace", "name"}


def test_diff_never_prints_secret_values_unless_asked(two_snapshots):
    store, a, b = two_snapshots
    values = ("Q2hhbmdlZC1OYWNvcy1QYXNzd29yZA==", "Changed-Nacos-Password", "RXhhbXBsZS1OYWNvcy1QYXNzd29yZC0y",
              "Example-Nacos-Password-2")
    for args in ([], ["--unified"], ["-o", "json"], ["-o", "yaml"], ["--unified", "-o", "json"]):
        result = invoke("diff", a, b, "--store", store, *args)
        assert result.exit_code == 1
        for value in values:
            assert value not in result.stdout and value not in result.stderr, args
    revealed = invoke("diff", a, b, "--store", store, "--unified", "--show-secrets")
    assert "Q2hhbmdlZC1OYWNvcy1QYXNzd29yZA==" in revealed.stdout


def test_diff_text_lines_and_unified(two_snapshots):
    store, a, b = two_snapshots
    result = invoke("diff", a, b, "--store", store, "--unified", "--kind", "Ingress")
    lines = result.stdout.splitlines()
    assert lines[0] == "M Ingress.networking.k8s.io shop/shop-api  spec.rules[0].host"
    assert "-  - host: api.example.com" in lines and "+  - host: api2.example.com" in lines
    assert lines[-1] == "0 added, 0 removed, 1 changed, 2 unchanged"


def test_diff_snapshot_against_manifest_file(two_snapshots):
    store, a, _ = two_snapshots
    result = invoke("diff", a, EXAMPLE, "--store", store)
    assert result.exit_code == 0, result.output


def test_paths_for_list_length_changes_and_type_changes():
    old = {"spec": {"hosts": ["a", "b"], "x": 1}, "metadata": {"name": "n"}}
    new = {"spec": {"hosts": ["a", "c", "b"], "x": "1"}, "metadata": {"name": "n", "labels": {"k": "v"}}}
    assert changed_paths(old, new) == ["metadata.labels", "spec.hosts[1]", "spec.x"]


def test_the_cluster_is_connected_to_once_and_only_when_a_side_needs_it():
    calls = []
    kube = sources.connect_once(lambda: calls.append(1) or object())
    assert calls == []
    assert kube() is kube() and calls == [1]


def _configmap(value: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "higress-system"},
            "data": {"higress": value}}


# a few hundred bytes whose aliases stand for 10**9 leaves: every level names the one below ten times
BOMB = "a: &a [x]\n" + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n"
                               for i in range(9))


def test_an_embedded_document_is_parsed_within_the_file_limits():
    """A ConfigMap value is parsed with yamlfiles' bounds (aliases, depth, size); a refused one is plain text."""
    from hgbackup.diff.compare import embedded_document

    assert len(BOMB) < 500
    assert embedded_document(BOMB) is None
    assert embedded_document("x:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(500))) is None
    assert embedded_document("gzip:\n  enable: true\n") == {"gzip": {"enable": True}}
    assert embedded_document('{"a": [1, 2]}') == {"a": [1, 2]}


def test_a_changed_alias_bomb_value_is_one_changed_text_path():
    """Before, walking the expanded aliases took forever (diff/log --paths hung on a 300-byte value)."""
    old, new = _configmap(BOMB), _configmap(BOMB.replace("[x]", "[y]"))
    assert changed_paths(old, new) == ["data.higress"]
    assert changed_paths(_configmap("gzip:\n  enable: true\n"), _configmap("gzip:\n  enable: false\n")) == [
        "data.higress > gzip.enable"]
