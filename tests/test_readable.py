"""Diffs and exports a person can read (issue 17): golden files pin the text, JSON and coloured output of a
higress-config change, an ai-route JSON change and a Secret key change; exports round-trip; CLI habits.
Regenerate the goldens with HGBACKUP_UPDATE_GOLDEN=1 and review the diff."""

from __future__ import annotations

import copy
import json
import os
import re

import pytest
import yaml
from conftest import EXAMPLE, ROOT, run

from hgbackup.kube.model import StoredObject
from hgbackup.store import open_store
from hgbackup.store.repository import Repository

GOLDEN = os.path.join(ROOT, "tests", "readable_golden")
NEW_PASSWORD = "Q2hhbmdlZC1OYWNvcy1QYXNzd29yZA=="  # "Changed-Nacos-Password"


def golden(name: str, text: str) -> None:
    text = re.sub(r"\d{8}T\d{6}Z-[0-9a-f]{6,12}", "<snapshot id>", text)  # ids are random
    path = os.path.join(GOLDEN, name)
    if os.environ.get("HGBACKUP_UPDATE_GOLDEN"):
        os.makedirs(GOLDEN, exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    with open(path, encoding="utf-8") as fh:
        assert text == fh.read(), f"{name} differs from its golden file"


def _item(items, name):
    return next(i for i in items if i["metadata"]["name"] == name)


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """Two snapshots of the example, ids in order: gzip switched off in higress-config, an ai-route's upstream
    weight changed, a Secret value rotated and a key added, and a password put in a ConfigMap."""
    tmp = tmp_path_factory.mktemp("night")
    store = str(tmp / "store")
    items = yaml.safe_load(open(EXAMPLE))["items"]
    base = copy.deepcopy(items)
    _item(base, "higress-console")["data"]["db-password"] = "hunter2-old-value"
    first = tmp / "first.yaml"
    first.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": base}))
    a = json.loads(run("snapshot", "--from-file", str(first), "--store", store, "-o", "json",
                       "--cluster", "prod").stdout)["id"]
    changed = copy.deepcopy(base)
    config = _item(changed, "higress-config")["data"]
    config["higress"] = config["higress"].replace("gzip:\n  enable: true", "gzip:\n  enable: false")
    assert "enable: false" in config["higress"]
    route = _item(changed, "ai-route-openai-chat")["data"]
    route["data"] = route["data"].replace('"weight":100', '"weight":90')
    secret = _item(changed, "nacos-auth-x7k2p")
    secret["data"]["nacosPassword"] = NEW_PASSWORD
    secret["data"]["nacosToken"] = "bmV3LXRva2Vu"
    _item(changed, "higress-console")["data"]["db-password"] = "hunter2-new-value"
    second = tmp / "second.yaml"
    second.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": changed}))
    b = json.loads(run("snapshot", "--from-file", str(second), "--store", store, "-o", "json",
                       "--cluster", "prod").stdout)["id"]
    return store, a, b


def test_paths_go_inside_embedded_documents(night):
    store, a, b = night
    doc = json.loads(run("diff", a, b, "--store", store, "-o", "json", code=1).stdout)
    golden("night.diff.json", json.dumps(doc, indent=2, sort_keys=True) + "\n")
    paths = {c["ref"]["name"]: c["paths"] for c in doc["changed"]}
    assert paths["higress-config"] == ["data.higress > gzip.enable"]
    assert paths["ai-route-openai-chat"] == ["data.data > upstreams[0].weight"]
    assert paths["nacos-auth-x7k2p"] == ["data.nacosPassword", "data.nacosToken"]
    assert paths["higress-console"] == ["data.db-password"]


def test_unified_views_masked_and_revealed(night):
    store, a, b = night
    masked = run("diff", a, b, "--store", store, "--unified", "--color", "never", code=1).stdout
    golden("night.unified.txt", masked)
    assert "-      enable: true" in masked and "+      enable: false" in masked  # a block, not an escaped line
    assert "-  nacosPassword: <redacted>" in masked and "+  nacosPassword: <redacted, changed>" in masked
    assert "+  nacosToken: <redacted>" in masked  # an added key: shown, its value not
    assert NEW_PASSWORD not in masked and "hunter2" not in masked
    assert "+  db-password: <redacted, changed>" in masked  # a password in a ConfigMap is masked the same way
    revealed = run("diff", a, b, "--store", store, "--unified", "--kind", "Secret", "--show-secrets",
                   "--color", "never", code=1).stdout
    golden("night.secret-revealed.txt", revealed)
    assert f"+  nacosPassword: {NEW_PASSWORD}" in revealed


def test_the_coloured_unified_view(night):
    store, a, b = night
    coloured = run("diff", a, b, "--store", store, "--unified", "--kind", "ConfigMap", "--color", "always",
                   code=1).stdout
    golden("night.unified-colour.txt", coloured)
    assert "\x1b[31m-      enable: true\x1b[0m" in coloured and "\x1b[32m+      enable: false\x1b[0m" in coloured
    assert "\x1b[36m@@" in coloured
    plain = run("diff", a, b, "--store", store, "--unified", "--kind", "ConfigMap", code=1,
                env={"NO_COLOR": "1"}).stdout
    assert "\x1b[" not in plain


def test_export_writes_block_scalars_and_round_trips(night, tmp_path):
    store, a, _ = night
    out = tmp_path / "out"
    run("export", a, str(out), "--store", store)
    text = (out / "03-configmaps" / "higress-system" / "higress-config.yaml").read_text()
    assert re.search(r"  higress: \|-?\n    downstream:\n", text) and "\\n" not in text
    assert "&" not in text and "*id" not in text
    repo = Repository(open_store(store))
    _, objects = repo.load(repo.resolve(a))
    shas = {o.ref: o.sha256 for o in objects}
    for folder, _, files in os.walk(out):
        for name in files:
            if folder.endswith("00-namespaces"):
                continue
            again = StoredObject.from_object(yaml.safe_load(open(os.path.join(folder, name))))
            assert shas[again.ref] == again.sha256, again.ref  # re-applied, the same stored form


def test_habits_of_kubectl_and_restic_users(night, tmp_path):
    store, a, b = night
    assert "Usage:" in run("diff", "-h").stdout
    assert json.loads(run("show", a[:19], "--store", store, "-o", "json").stdout)["id"] == a  # a unique prefix
    ambiguous = run("show", a[:8], "--store", store, code=2)
    assert "is the start of 2 snapshot ids" in ambiguous.stderr and a in ambiguous.stderr
    assert json.loads(run("verify", "--store", store, "-o", "json").stdout)[0]["ok"] is True  # no ids: every one
    names = run("list", "--store", store, "-o", "name").stdout.split()
    assert names == [b, a]
    run("snapshot", "--from-file", EXAMPLE, "--store", store, "--tag", "weekly", "--cluster", "prod")
    tagged = json.loads(run("list", "--store", store, "--tag", "weekly", "-o", "json").stdout)
    assert [r["tags"] for r in tagged] == [["weekly"]]
    objects = run("show", a, "--store", store, "-o", "name").stdout.splitlines()
    assert "ConfigMap/higress-system/higress-config" in objects and "GatewayClass/higress" in objects
    changed = run("diff", a, b, "--store", store, "-o", "name", code=1).stdout.splitlines()
    assert "M ConfigMap higress-system/higress-config" in changed
    report = run("migrate", "nginx", os.path.join(ROOT, "tests", "migrate_corpus", "canary.yaml"), "--report", "-",
                 "--report-format", "json", "--output-dir", str(tmp_path / "objs")).stdout
    assert json.loads(report)["summary"]["native"] > 0
    run("migrate", "nginx", os.path.join(ROOT, "tests", "migrate_corpus", "canary.yaml"), "--report", "-", code=2)
