"""The snapshot family of commands (cli/snapshots.py: snapshot, list, show, verify, export) through Click, on a local
store and the bundled example (no cluster needed)."""

from __future__ import annotations

import json
import os

import pytest
import yaml
from conftest import EXAMPLE, run


@pytest.fixture
def store(tmp_path):
    return str(tmp_path / "store")


def snap(store, *extra):
    result = run("snapshot", "--from-file", EXAMPLE, "--store", store, "-o", "json", *extra)
    return json.loads(result.stdout)


def test_snapshot_json_shape_and_warning_about_secrets(store):
    result = run("snapshot", "--from-file", EXAMPLE, "--store", store, "-o", "json", "--tag", "nightly")
    doc = json.loads(result.stdout)
    assert set(doc) == {"id", "cluster", "objects", "partial", "warnings", "store", "archive_bytes", "left_out"}
    assert doc["cluster"] == "default" and doc["objects"] == 25 and doc["partial"] is False
    assert "no encryption key" in result.stderr


def test_list_newest_first_json_and_table(store):
    first = snap(store)["id"]
    second = snap(store, "--cluster", "prod")["id"]
    rows = json.loads(run("list", "--store", store, "-o", "json").stdout)
    assert [r["id"] for r in rows] == sorted([first, second], reverse=True)
    by_id = {r["id"]: r for r in rows}
    size = by_id[first]["size"]
    assert by_id[first] == {"id": first, "created": by_id[first]["created"], "cluster": "default", "objects": 25,
                            "size": size, "tags": [], "encrypted": False, "partial": False, "auth": "none",
                            "identity": None}
    table = run("list", "--store", store).stdout.splitlines()
    assert table[0].split() == ["ID", "CREATED", "CLUSTER", "OBJECTS", "SIZE", "TAGS", "ENCRYPTED", "AUTH",
                                "PARTIAL"]
    row = next(line for line in table if line.startswith(first)).split()
    assert row == [first, by_id[first]["created"], "default", "25", f"{size / 1024:.1f}", "KiB", "-", "no", "none",
                   "-"]
    assert len(table) == 3
    only_prod = json.loads(run("list", "--store", store, "--cluster", "prod", "-o", "json").stdout)
    assert [r["id"] for r in only_prod] == [second]


def test_show_manifest_json(store):
    sid = snap(store, "--tag", "a")["id"]
    manifest = json.loads(run("show", sid, "--store", store, "-o", "json").stdout)
    assert manifest["format"] == "hgbackup/v1" and manifest["id"] == sid and manifest["tags"] == ["a"]
    entry = next(o for o in manifest["objects"] if o["kind"] == "GatewayClass")
    assert entry == {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "namespace": None,
                     "name": "higress", "sha256": entry["sha256"]}
    assert manifest["counts"]["secrets"] == 5
    text = run("show", "latest", "--store", store, "--objects").stdout
    assert "McpBridge" in text and sid in text


def test_latest_tilde(store):
    a = snap(store)["id"]
    b = snap(store)["id"]
    assert json.loads(run("show", "latest~1", "--store", store, "-o", "json").stdout)["id"] == min(a, b)
    assert json.loads(run("show", "latest", "--store", store, "-o", "json").stdout)["id"] == max(a, b)
    run("show", "latest~2", "--store", store, code=5)


def test_unknown_id_is_exit_5(store):
    snap(store)
    result = run("show", "20200101T000000Z-abcdef", "--store", store, code=5)
    assert "not found" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def _archive_path(store, sid):
    for folder, _, files in os.walk(store):
        for name in files:
            if name.startswith("archive") and sid in folder:
                return os.path.join(folder, name)
    raise AssertionError("no archive")


def test_verify_detects_corruption_and_truncation(store):
    good = snap(store)["id"]
    bad = snap(store)["id"]
    assert "ok" in run("verify", good, "--store", store).stdout
    path = _archive_path(store, bad)
    data = open(path, "rb").read()
    with open(path, "wb") as fh:
        fh.write(data[: len(data) // 2])
    result = run("verify", "--all", "--store", store, "-o", "json", code=4)
    by_id = {r["id"]: r for r in json.loads(result.stdout)}
    assert by_id[good]["ok"] is True and by_id[bad]["ok"] is False
    assert "truncated" in by_id[bad]["error"]
    run("export", bad, "/tmp/never-written-hgb", "--store", store, code=4)
    assert not os.path.exists("/tmp/never-written-hgb")


def test_verify_all_reports_every_snapshot_past_a_missing_archive_and_a_broken_manifest(store):
    good, gone, broken = (snap(store)["id"] for _ in range(3))
    os.unlink(_archive_path(store, gone))
    manifest = os.path.join(os.path.dirname(_archive_path(store, broken)), "manifest.json")
    with open(manifest, "w") as fh:
        fh.write('{"format": "hgbackup/v1", "id": 7}')
    result = run("verify", "--all", "--store", store, "-o", "json", code=4)
    by_id = {r["id"]: r for r in json.loads(result.stdout)}
    assert set(by_id) == {good, gone, broken}
    assert by_id[good] == {"id": good, "cluster": "default", "ok": True, "objects": 25, "error": None}
    assert by_id[gone]["ok"] is False and "archive.tar.gz not found" in by_id[gone]["error"]
    assert by_id[broken]["ok"] is False and "lacks created, cluster, archive, objects" in by_id[broken]["error"]
    # list and forget still see the readable ones, and say which one they could not read
    listed = run("list", "--store", store, "-o", "json", code=4)  # the bad one is reported: exit 4
    assert {r["id"] for r in json.loads(listed.stdout)} == {good, gone}
    assert f"default/{broken}: snapshot {broken}: manifest lacks" in listed.stderr


def test_a_kube_context_name_finds_its_snapshots_in_every_command(store):
    """A context name like kubernetes-admin@kubernetes is stored under a safe folder name; list, show and forget
    given the same name must all find the snapshots (list and forget used to say nothing)."""
    context = "kubernetes-admin@kubernetes"
    sid = snap(store, "--cluster", context)["id"]
    rows = json.loads(run("list", "--store", store, "--cluster", context, "-o", "json").stdout)
    assert [r["id"] for r in rows] == [sid] and rows[0]["cluster"] == "kubernetes-admin-kubernetes"
    assert json.loads(run("show", "latest", "--store", store, "--cluster", context, "-o", "json").stdout)["id"] == sid
    doc = json.loads(run("forget", "--keep-last", "1", "--store", store, "--cluster", context, "-o", "json").stdout)
    assert doc == {"keep": [{"id": sid, "cluster": "kubernetes-admin-kubernetes", "scope": "full",
                             "reasons": ["last"]}],
                   "remove": [], "leftovers_removed": []}


def test_unknown_manifest_format_is_exit_4(store):
    sid = snap(store)["id"]
    path = os.path.join(os.path.dirname(_archive_path(store, sid)), "manifest.json")
    doc = json.load(open(path))
    doc["format"] = "hgbackup/v7"
    json.dump(doc, open(path, "w"))
    result = run("verify", sid, "--store", store, code=4)
    assert "unknown manifest format 'hgbackup/v7'" in result.stdout + result.stderr


def test_export_writes_kubectl_ready_yaml_in_tier_order(store, tmp_path):
    sid = snap(store)["id"]
    out = tmp_path / "out"
    run("export", sid, str(out), "--store", store)
    folders = sorted(os.listdir(out))
    assert folders[0] == "00-namespaces" and folders[1].startswith("02-secrets") and folders[-1].startswith("11-")
    assert sorted(os.listdir(out / "00-namespaces")) == ["higress-system.yaml", "shop.yaml"]
    doc = yaml.safe_load(open(out / "05-mcpbridges.networking.higress.io" / "higress-system" / "default.yaml"))
    assert doc["kind"] == "McpBridge" and "uid" not in doc["metadata"] and "status" not in doc
    assert doc["spec"]["registries"][0]["authSecretName"] == "nacos-auth-x7k2p"


def test_invalid_yaml_names_file_and_line(store, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n")
    result = run("snapshot", "--from-file", str(bad), "--store", store, code=2)
    assert f"{bad}:" in result.stderr and "invalid YAML" in result.stderr
    assert not os.path.exists(store)


def test_not_kubernetes_objects_and_missing_file(store, tmp_path):
    junk = tmp_path / "junk.yaml"
    junk.write_text("- 1\n- 2\n")
    run("snapshot", "--from-file", str(junk), "--store", store, code=2)
    run("snapshot", "--from-file", str(tmp_path / "missing.yaml"), "--store", store, code=5)


def test_stdin_and_json_input(store):
    text = json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "x", "namespace": "a"}}]})
    doc = json.loads(run("snapshot", "--from-file", "-", "--store", store, "-o", "json", input=text).stdout)
    assert doc["objects"] == 1


def test_unreachable_cluster_is_exit_6(store, tmp_path):
    cfg = tmp_path / "kubeconfig"
    cfg.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    result = run("snapshot", "--kubeconfig", str(cfg), "--store", store, code=6)
    assert "cannot reach the Kubernetes API" in result.stderr
    assert not os.path.exists(store)
