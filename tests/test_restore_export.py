"""restore/export.py: plain YAML for kubectl. File names (issue 24): one file per object for every set of valid
names, so no two objects of a snapshot ever share a file ("File exists; nothing was exported"); and the export's
own rules (issue 13): files 0600 in tier order, all or nothing, never through a symlink."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import stat

import pytest
import yaml
from conftest import EXAMPLE, manifest_for, run

from hgbackup.kube import names
from hgbackup.kube.model import StoredObject
from hgbackup.restore import export
from hgbackup.store import open_store
from hgbackup.store.layout import SnapshotKey
from hgbackup.store.manifest import ClusterInfo
from hgbackup.store.repository import Repository

LONG = "a" * 249
# what the shortened form of LONG used to be: its first 150 characters, "-" and 16 hex of its sha256 (167
# characters, short enough to be written as is)
OLD_SHORT = f"{LONG[:150]}-{hashlib.sha256(LONG.encode()).hexdigest()[:16]}"


def ingress(name: str) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": name, "namespace": "shop"},
            "spec": {"defaultBackend": {"service": {"name": name[:60].rstrip("-"), "port": {"number": 80}}}}}


def test_a_long_name_and_its_shortened_form_get_their_own_files(tmp_path):
    assert names.valid_name(LONG) and names.valid_name(OLD_SHORT)
    path = tmp_path / "two.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [ingress(LONG), ingress(OLD_SHORT)]}))
    store = str(tmp_path / "store")
    sid = json.loads(run("snapshot", "--from-file", str(path), "--store", store, "-o", "json").stdout)["id"]
    out = tmp_path / "out"
    result = run("export", sid, str(out), "--store", store, "-o", "json")
    files = [f for f in json.loads(result.stdout)["files"] if "/10-" in f]
    assert len(files) == 2 and len(set(files)) == 2
    read_back = {yaml.safe_load(open(f))["metadata"]["name"] for f in files}
    assert read_back == {LONG, OLD_SHORT}


def test_file_names_are_one_to_one_and_short_enough():
    """Names around the limit, each long one beside every valid name its file name could be mistaken for: its
    kept prefix, and that prefix with `-` and the same 16 hex digits (the old shortened form)."""
    valid = {LONG, OLD_SHORT, "a", "a" * 63}
    for length in (190, 195, 196, 200, 240, 253):
        name = ("ab-c." * 60)[:length].strip(".-")
        digest = hashlib.sha256(name.encode()).hexdigest()[:16]
        valid |= {name, name[:export.SHORTENED_KEEP], f"{name[:export.SHORTENED_KEEP]}-{digest}",
                  f"{name[:export.SHORTENED_KEEP]}.{digest}"}
    valid = {n for n in valid if names.valid_name(n)}
    files = [export.file_name(n) for n in valid]
    assert len(set(files)) == len(valid)
    assert all(len(f.encode()) <= export.MAX_FILE_NAME for f in files)


def test_a_snapshot_with_a_name_kubernetes_refuses_is_not_exported(tmp_path):
    """A keyless store's writer can put any name an archive path allows: `_` (the shortened form's marker) among
    them. Export refuses it, exit 4, and writes nothing."""
    store = str(tmp_path / "store")
    repo = Repository(open_store(store))
    forged = export.file_name(LONG)[: -len(".yaml")]
    objects = [StoredObject.from_object(ingress(LONG)), StoredObject.from_object(ingress(forged))]
    key = SnapshotKey("default", "20260101T000000Z-abcdef")
    data, manifest = manifest_for(objects, snapshot_id=key.id)
    repo.store.put(key.archive_key(False), data)
    repo.store.put(key.manifest_key, dataclasses.replace(manifest, cluster=ClusterInfo("default")).to_bytes())
    out = tmp_path / "out"
    result = run("export", key.id, str(out), "--store", store, code=4)
    assert "names Kubernetes does not accept" in result.stderr and not out.exists()


# -- the export's own rules: private files, tier order, all or nothing, no symlinks (issue 13) ----------------
@pytest.fixture
def exported(tmp_path):
    store = str(tmp_path / "store")
    items = yaml.safe_load(open(EXAMPLE))["items"]
    long_name = "a" * 250 + ".b"
    items.append({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                  "metadata": {"name": long_name, "namespace": "shop"}, "spec": {}})
    path = tmp_path / "cluster.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    sid = json.loads(run("snapshot", "--from-file", str(path), "--store", store, "-o", "json").stdout)["id"]
    return store, sid, long_name


def test_export_is_private_ordered_and_handles_long_names(exported, tmp_path):
    store, sid, long_name = exported
    out = tmp_path / "out"
    doc = json.loads(run("export", sid, str(out), "--store", store, "-o", "json").stdout)
    assert len(doc["files"]) == 26 + 2
    for folder, _, files in os.walk(out):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
        for name in files:
            assert stat.S_IMODE(os.stat(os.path.join(folder, name)).st_mode) == 0o600
            assert len(name) <= 200
    long_files = os.listdir(out / "10-ingresses.networking.k8s.io" / "shop")
    assert any(f.startswith("a" * 150 + "_") for f in long_files)
    again = yaml.safe_load(open(next(out.glob(f"10-*/shop/{'a' * 150}_*.yaml"))))
    assert again["metadata"]["name"] == long_name
    assert sorted(os.listdir(out))[0] == "00-namespaces"


def test_export_refuses_a_non_empty_folder_unless_overwrite_which_replaces_it(exported, tmp_path):
    store, sid, _ = exported
    out = tmp_path / "out"
    out.mkdir()
    (out / "11-stale-plugin.yaml").write_text("kind: WasmPlugin\n")
    result = run("export", sid, str(out), "--store", store, code=2)
    assert "is not empty" in result.stderr and (out / "11-stale-plugin.yaml").exists()
    run("export", sid, str(out), "--store", store, "--overwrite")
    assert not (out / "11-stale-plugin.yaml").exists()


def test_export_never_writes_through_a_symlink(exported, tmp_path):
    store, sid, _ = exported
    victim = tmp_path / "victim"
    victim.mkdir()
    link = tmp_path / "link"
    link.symlink_to(victim)
    assert "is a symlink" in run("export", sid, str(link), "--store", store, code=2).stderr
    assert os.listdir(victim) == []
