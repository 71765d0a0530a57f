"""`migrate nginx --output-dir` (cli/migrate.py): the objects are written by the export's writer and under its rules
(restore/export.py): one file per object in restore order, 0600 files in 0700 folders, no symlink followed, never
into a folder that is not empty, all or nothing; an object whose name Kubernetes refuses names no file."""

from __future__ import annotations

import os
import stat

import yaml
from conftest import run


def ingress(namespace: str, name: str | None, host: str = "a.example.com") -> dict:
    meta = {"namespace": namespace, **({"name": name} if name else {"generateName": "web-"})}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta,
            "spec": {"ingressClassName": "nginx", "rules": [{"host": host, "http": {"paths": [
                {"path": "/", "pathType": "Prefix",
                 "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}}


def files_under(folder) -> dict[str, dict]:
    out = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, encoding="utf-8") as fh:
                out[os.path.relpath(path, folder)] = yaml.safe_load(fh)
    return out


def test_every_object_gets_its_own_file_even_when_names_run_together(tmp_path):
    # namespace a-b, name c and namespace a, name b-c were one file name (ingress-a-b-c.yaml): one was lost
    docs = [ingress("a-b", "c"), ingress("a", "b-c"), ingress("shop", None), ingress("shop", None, "b.example.com")]
    out = tmp_path / "out"
    run("migrate", "nginx", "-", "--output-dir", str(out), input=yaml.safe_dump_all(docs))
    written = files_under(out)
    ingresses = sorted((d["metadata"]["namespace"], d["metadata"].get("name") or d["metadata"]["generateName"])
                       for d in written.values() if d["kind"] == "Ingress")
    assert ingresses == [("a", "b-c"), ("a-b", "c"), ("shop", "web-"), ("shop", "web-")]
    assert "10-ingresses.networking.k8s.io/a-b/c.yaml" in written  # the export's layout: restore order
    for root, _, names in os.walk(out):
        assert stat.S_IMODE(os.stat(root).st_mode) == 0o700
        for name in names:
            assert stat.S_IMODE(os.stat(os.path.join(root, name)).st_mode) == 0o600


def test_json_files_hold_json(tmp_path):
    out = tmp_path / "out"
    run("migrate", "nginx", "-", "--output-dir", str(out), "-o", "json", input=yaml.safe_dump(ingress("a", "web")))
    path = out / "10-ingresses.networking.k8s.io" / "a" / "web.json"
    assert path.read_text().startswith("{\n")


def test_a_folder_that_is_not_empty_is_refused_and_left_alone(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    result = run("migrate", "nginx", "-", "--output-dir", str(out), input=yaml.safe_dump(ingress("a", "web")), code=2)
    assert f"{out} is not empty" in result.stderr and result.stderr.count("\n") == 1
    assert os.listdir(out) == ["mine.txt"] and (out / "mine.txt").read_text() == "keep me"


def test_a_symlink_is_never_written_through(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "out").symlink_to(elsewhere)
    result = run("migrate", "nginx", "-", "--output-dir", str(tmp_path / "out"),
                 input=yaml.safe_dump(ingress("a", "web")), code=2)
    assert "is a symlink" in result.stderr and os.listdir(elsewhere) == []


def test_a_name_kubernetes_refuses_names_no_file_and_nothing_is_written(tmp_path):
    out = tmp_path / "deep" / "out"
    result = run("migrate", "nginx", "-", "--output-dir", str(out), code=2,
                 input=yaml.safe_dump_all([ingress("a", "web"), ingress("a", "../../escaped")]))
    assert "Ingress a/../../escaped" in result.stderr and "nothing was written" in result.stderr
    assert result.stderr.count("\n") == 1
    assert os.listdir(tmp_path) == []  # not even the folder
