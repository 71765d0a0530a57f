"""Export file names (issue 24): one file per object for every set of valid names, so no two objects of a
snapshot ever share a file ("File exists; nothing was exported")."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import yaml
from conftest import manifest_for, run

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
