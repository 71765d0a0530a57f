"""Proof that the test ground is real: the API server serves every test CRD kind with RBAC, and MinIO stores objects."""

from __future__ import annotations

import pytest
from conftest import rand_name
from kubernetes import client
from kubernetes.client.exceptions import ApiException

pytestmark = pytest.mark.kube


def _kinds(crds):
    for crd in crds:
        spec = crd["spec"]
        yield pytest.param(spec, id=f"{spec['names']['kind']}.{spec['group']}")


def test_namespaces_listed_by_admin(k8s):
    names = {ns.metadata.name for ns in client.CoreV1Api(k8s).list_namespace().items}
    assert {"default", "kube-system"} <= names


def test_every_crd_kind_create_list_delete(k8s, k8s_limited, crds, namespace):
    api = client.CustomObjectsApi(k8s)
    limited = client.CustomObjectsApi(k8s_limited)
    assert len(crds) >= 19
    for crd in crds:
        spec = crd["spec"]
        group, plural, version = spec["group"], spec["names"]["plural"], spec["versions"][0]["name"]
        name = rand_name("obj")
        body = {"apiVersion": f"{group}/{version}", "kind": spec["names"]["kind"],
                "metadata": {"name": name}, "spec": {"probe": True}}
        if spec["scope"] == "Namespaced":
            api.create_namespaced_custom_object(group, version, namespace, plural, body)
            listed = api.list_namespaced_custom_object(group, version, namespace, plural)
            with pytest.raises(ApiException) as refused:
                limited.list_namespaced_custom_object(group, version, namespace, plural)
            api.delete_namespaced_custom_object(group, version, namespace, plural, name)
            after = api.list_namespaced_custom_object(group, version, namespace, plural)
        else:
            api.create_cluster_custom_object(group, version, plural, body)
            listed = api.list_cluster_custom_object(group, version, plural)
            with pytest.raises(ApiException) as refused:
                limited.list_cluster_custom_object(group, version, plural)
            api.delete_cluster_custom_object(group, version, plural, name)
            after = api.list_cluster_custom_object(group, version, plural)
        assert name in {o["metadata"]["name"] for o in listed["items"]}, plural
        assert refused.value.status == 403, plural
        assert name not in {o["metadata"]["name"] for o in after["items"]}, plural


def test_limited_user_cannot_create(k8s_limited, namespace):
    with pytest.raises(ApiException) as refused:
        client.CoreV1Api(k8s_limited).create_namespaced_config_map(namespace, {"metadata": {"name": "x"}})
    assert refused.value.status == 403


@pytest.mark.s3
def test_minio_put_list_get(s3, bucket):
    s3.put_object(Bucket=bucket, Key="a/b.txt", Body=b"hello")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["a/b.txt"]
    assert s3.get_object(Bucket=bucket, Key="a/b.txt")["Body"].read() == b"hello"
