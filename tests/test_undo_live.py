"""Undo and stopped restores say exactly what happened (issue 23, item 14), on the real API server: an object the
restore created and its undo does not prune is named in the text report with the reason (not only in -o json), and
objects in flight when the API server stopped are "unknown (may have been applied)", not failed."""

from __future__ import annotations

import json
import os
import signal

import pytest
from conftest import run
from kubernetes import client

from hgbackup import restore
from hgbackup.kube import catalogue
from hgbackup.kube.client import Kube
from hgbackup.store import open_store
from hgbackup.store.repository import Repository

pytestmark = pytest.mark.kube


def test_an_undo_names_what_it_did_not_prune_in_the_text_report(populated, k8s, kubeconfig, tmp_path):
    hns, app, _ = populated
    store = str(tmp_path / "store")
    sid = json.loads(run("snapshot", "--kubeconfig", kubeconfig, "--store", store, "--higress-namespace", hns,
                         "-n", hns, "-n", app, "-o", "json").stdout)["id"]
    core = client.CoreV1Api(k8s)
    for narrow in ([], ["--kind", "Secret"]):  # the undo's scope holds the Ingress that names it, and does not
        core.delete_namespaced_secret("api-example-com-tls", app)  # the live Ingress shop-api still names it
        done = json.loads(run("restore", sid, "--store", store, "--kubeconfig", kubeconfig, *narrow, "--yes",
                              "-o", "json").stdout)
        assert [(r["ref"]["name"], r["action"]) for r in done["results"] if r["action"] == "created"] == [
            ("api-example-com-tls", "created")]
        undo = run("restore", done["safety_snapshot"], "--store", store, "--kubeconfig", kubeconfig, "--prune",
                   "--yes", "--no-safety-snapshot", code=3)
        [row] = [line for line in undo.stdout.splitlines() if "api-example-com-tls" in line]
        assert row.startswith("skipped") and "not pruned: " in row
        assert ("still referenced by" in row and "shop-api" in row) if not narrow else "scope does not select" in row
        assert core.read_namespaced_secret("api-example-com-tls", app)  # kept: the live Ingress needs it


def test_objects_in_flight_when_the_api_server_stops_are_unknown(populated, kubeconfig, empty_cluster, tmp_path):
    hns, app, _ = populated
    store = str(tmp_path / "store")
    sid = json.loads(run("snapshot", "--kubeconfig", kubeconfig, "--store", store, "--higress-namespace", hns,
                         "-n", hns, "-n", app, "-o", "json").stdout)["id"]
    with open(os.path.join(os.path.dirname(empty_cluster), "pid"), encoding="utf-8") as fh:
        pid = int(fh.read())

    def stop_after_secrets(done, total, what):
        if what == f"tier {catalogue.SECRETS.tier}":
            os.kill(pid, signal.SIGSTOP)  # the next tier's requests are sent to a server that no longer answers

    try:
        report = restore.restore_snapshot(Repository(open_store(store)), sid, restore.RestoreOptions(),
                                          connect=lambda: Kube(empty_cluster, request_timeout=1), safety=False,
                                          progress=stop_after_secrets)
    finally:
        os.kill(pid, signal.SIGCONT)
    actions = {}
    for result in report.results:
        actions.setdefault(result.action, []).append(result)
    assert report.stopped and report.exit_code == 3
    configmaps = [r for r in report.results if r.ref.kind == "ConfigMap"]
    assert configmaps and all(r.action == restore.Action.UNKNOWN for r in configmaps)
    assert all(r.message.startswith("unknown (may have been applied): ") for r in configmaps)
    later = [r for r in report.results if r.ref.kind in ("Ingress", "WasmPlugin")]
    assert later and all(r.action == restore.Action.FAILED and r.message.startswith("not applied")
                         for r in later)
    assert report.summary()["unknown"] == len(configmaps)
