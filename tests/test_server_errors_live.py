"""The API server answering with an error (after retries) is "cannot reach" (exit 6), never a partial or a diff.

The error is real: a WasmPlugin CRD that serves a second version through a conversion webhook nobody listens on.
Listing in that version makes the API server answer 500 Internal Server Error, on every attempt.
"""

from __future__ import annotations

import copy
import json

import pytest
import yaml
from conftest import load_crds, run

from hgbackup.kube.client import Kube

pytestmark = pytest.mark.kube


def broken_conversion_crd() -> dict:
    crd = copy.deepcopy(next(c for c in load_crds() if c["metadata"]["name"] == "wasmplugins.extensions.higress.io"))
    stored = crd["spec"]["versions"][0]
    crd["spec"]["versions"].append(dict(copy.deepcopy(stored), name="v1", storage=False))  # preferred: v1 > v1alpha1
    crd["spec"]["conversion"] = {"strategy": "Webhook", "webhook": {
        "conversionReviewVersions": ["v1"], "clientConfig": {"url": "https://127.0.0.1:1/convert"}}}
    return crd


def test_a_server_error_while_reading_the_live_side_is_exit_6(empty_cluster, tmp_path):
    kube = Kube(empty_cluster)
    kube.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body=broken_conversion_crd())
    plugin = {"apiVersion": "extensions.higress.io/v1alpha1", "kind": "WasmPlugin",
              "metadata": {"name": "p", "namespace": "default"}, "spec": {"url": "oci://x/y:1"}}
    for _ in range(100):  # until the new kind is served
        try:
            kube.request("POST", "/apis/extensions.higress.io/v1alpha1/namespaces/default/wasmplugins", body=plugin)
            break
        except Exception:  # noqa: BLE001 - 404 until the CRD is established
            import time

            time.sleep(0.1)
    path = tmp_path / "plugin.yaml"
    path.write_text(yaml.safe_dump(plugin))

    result = run("diff", str(path), "live", "--kubeconfig", empty_cluster, "-o", "json", code=6)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "the live side is incomplete: cannot list wasmplugins.extensions.higress.io" in lines[0]
    assert "500" in lines[0]

    # a snapshot of the same cluster: nothing else is there, so nothing is written (exit 3, naming the failure);
    # with --allow-empty it is kept as partial and names the kind it could not read
    store = tmp_path / "store"
    empty = run("snapshot", "--kubeconfig", empty_cluster, "--store", str(store), code=3)
    assert "matched no object" in empty.stderr and "cannot list wasmplugins" in empty.stderr
    assert not store.exists()
    doc = json.loads(run("snapshot", "--kubeconfig", empty_cluster, "--store", str(store), "--allow-empty",
                         "-o", "json", code=3).stdout)
    assert doc["partial"] is True and any("wasmplugins" in w and "500" in w for w in doc["warnings"])
