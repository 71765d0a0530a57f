"""Names in schedule files (issue 24): every name is checked as Kubernetes checks it (names.py, the one home of
these rules), with exit 2 naming the field, and what `schedule render` prints for a shell is quoted."""

from __future__ import annotations

import shlex

import pytest
import yaml
from conftest import invoke, rand_name

from hgbackup.kube import names
from hgbackup.kube.client import ApiError
from hgbackup.schedule import file as schedule
from hgbackup.schedule.render import kubernetes_objects

BASE = {"name": "nightly", "schedule": "30 2 * * *", "store": "s3://b/p", "credentialsSecret": "hgbackup-creds",
        "scope": {"higress_namespace": "higress-system"}}
HOSTILE = ["x; touch /tmp/pwned", "$(id)", "`id`", "a b", "UPPER", "a_b", "-a", "a-", "", "a" * 64, "ns\nrm -rf ~"]
FIELDS = {  # where a name goes in a schedule file, and how the error names it
    "namespace": (lambda v: {"namespace": v}, "namespace"),
    "credentialsSecret": (lambda v: {"credentialsSecret": v}, "credentialsSecret"),
    "name": (lambda v: {"name": v}, "name"),
    "secretNamespaces": (lambda v: {"secretNamespaces": ["higress-system", v]}, "secretNamespaces[1]"),
    "dashboardNamespace": (lambda v: {"metrics": {"pushgateway": "http://pg:9091", "dashboardNamespace": v}},
                           "metrics.dashboardNamespace"),
    "scope.higress_namespace": (lambda v: {"scope": {"higress_namespace": v}}, "scope.higress_namespace"),
    "scope.namespaces": (lambda v: {"scope": {"namespaces": ["shop", v]}}, "scope.namespaces[1]"),
    "consoleSecrets": (lambda v: {"consoleSecrets": ["higress-console", v]}, "consoleSecrets[1]"),
}


def render(tmp_path, doc: dict, *extra, code=0):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = invoke("schedule", "render", str(path), *extra)
    assert result.exit_code == code, (result.exit_code, result.output, result.stderr)
    return result


CASES = [(field, i) for field in sorted(FIELDS) for i, value in enumerate(HOSTILE)
         if not (field in ("credentialsSecret", "consoleSecrets") and value == "a" * 64)]  # a valid Secret name


@pytest.mark.parametrize(("field", "case"), CASES)
def test_every_name_in_a_schedule_file_is_checked(field, case, tmp_path):
    value = HOSTILE[case]
    make, shown = FIELDS[field]
    result = render(tmp_path, {**BASE, **make(value)}, code=2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f": {shown}: " in lines[0], lines
    assert result.stdout == ""  # nothing rendered


def test_the_credentials_secret_is_a_subdomain_and_the_namespace_option_a_label(tmp_path):
    assert render(tmp_path, {**BASE, "credentialsSecret": "creds.v2"}).exit_code == 0
    render(tmp_path, {**BASE, "credentialsSecret": "a" * 254}, code=2)
    result = render(tmp_path, BASE, "--namespace", "hgb;id", code=2)
    assert "--namespace" in result.stderr and "namespace name" in result.stderr


def test_a_schedule_name_is_as_long_as_its_cronjob_allows(tmp_path):
    longest = "a" * (names.CRONJOB_NAME_MAX - len(schedule.OBJECT_PREFIX))
    render(tmp_path, {**BASE, "name": longest})
    result = render(tmp_path, {**BASE, "name": longest + "b"}, code=2)
    assert "at most 52" in result.stderr


def test_rule_labels_are_labels(tmp_path):
    monitoring = {"pushgateway": "http://pg:9091"}
    render(tmp_path, {**BASE, "metrics": {**monitoring, "ruleLabels": {"release": "kube-prometheus-stack"}}})
    for labels in ({"release": "a b"}, {"a,b": "c"}, {"release": "x,y=z"}):
        result = render(tmp_path, {**BASE, "metrics": {**monitoring, "ruleLabels": labels}}, code=2)
        assert "metrics.ruleLabels" in result.stderr


@pytest.mark.parametrize("key,ok", [
    ("app", True), ("app.kubernetes.io/name", True), ("A_b.c-D", True), ("x" * 63, True), ("x" * 64, False),
    ("-a", False), ("a-", False), ("Example.COM/a", False), ("/a", False), ("a/", False),
    (("p" * 63 + ".") * 4 + "p/a", False),  # a prefix over 253 characters
])
def test_label_keys_are_kubernetes_qualified_names(key, ok):
    assert names.valid_label_key(key) is ok


@pytest.mark.parametrize("value,ok", [("", True), ("v1.2_3-x", True), ("v" * 63, True), ("v" * 64, False),
                                      ("a b", False), ("-v", False), ("a/b", False)])
def test_label_values_are_empty_or_qualified(value, ok):
    assert names.valid_label_value(value) is ok


def test_the_printed_command_is_quoted_for_a_shell(tmp_path):
    """Valid names pass through unchanged; every placeholder is one quoted word, so the command splits into exactly
    the arguments kubectl gets (no redirection from `<access`, no second command)."""
    result = render(tmp_path, {**BASE, "requireEncryption": True})
    command = result.stderr.split("fill in the values):\n", 1)[1].split("\nhgbackup:", 1)[0]
    words = shlex.split(command.replace("\\\n", " "))
    assert words == ["kubectl", "-n", "hgbackup", "create", "secret", "generic", "hgbackup-creds",
                     "--from-literal=AWS_ACCESS_KEY_ID=<access key id>",
                     "--from-literal=AWS_SECRET_ACCESS_KEY=<secret access key>",
                     "--from-literal=AWS_DEFAULT_REGION=<region>",
                     "--from-file=HGBACKUP_ENCRYPTION_KEY=./hgbackup.key"]


@pytest.mark.kube
def test_the_cronjob_name_limit_is_the_api_servers(kube, tmp_path):
    """The longest schedule name renders a CronJob the real API server accepts; one character more, it refuses."""
    longest = rand_name("s")[:6] + "a" * (names.CRONJOB_NAME_MAX - len(schedule.OBJECT_PREFIX) - 6)
    cron = kubernetes_objects(schedule.parse(yaml.safe_dump({**BASE, "name": longest}), "t"),
                                       namespace="default")[-1]
    assert cron["kind"] == "CronJob" and len(cron["metadata"]["name"]) == names.CRONJOB_NAME_MAX
    path = "/apis/batch/v1/namespaces/default/cronjobs"
    kube.request("POST", path, query={"dryRun": "All"}, body=cron)
    cron["metadata"]["name"] += "b"
    with pytest.raises(ApiError) as refused:
        kube.request("POST", path, query={"dryRun": "All"}, body=cron)
    assert refused.value.status == 422 and "52" in str(refused.value)


# -- names read from an archive (the store is untrusted input) --------------------------------------------------------
def forge_keyless(store: str, objects: list[dict], scope: dict | None = None) -> str:
    """A well-formed plaintext snapshot, as anyone who can write a keyless store can make it."""
    import dataclasses

    from conftest import manifest_for

    from hgbackup.kube.model import StoredObject
    from hgbackup.store import open_store
    from hgbackup.store.layout import SnapshotKey
    from hgbackup.store.manifest import ClusterInfo
    from hgbackup.store.repository import Repository

    repo = Repository(open_store(store))
    key = SnapshotKey("default", "20260101T000000Z-abcdef")
    data, manifest = manifest_for([StoredObject.from_object(o) for o in objects], snapshot_id=key.id)
    repo.store.put(key.archive_key(False), data)
    manifest = dataclasses.replace(manifest, cluster=ClusterInfo("default"), scope=scope or manifest.scope)
    repo.store.put(key.manifest_key, manifest.to_bytes())
    return key.id


GATEWAY_CLASS = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": ".."},
                 "spec": {"controllerName": "higress.io/gateway-controller"}}


@pytest.mark.kube
def test_a_gatewayclass_named_dot_dot_is_refused_before_any_request(kubeconfig, kube, crds, tmp_path):
    """urllib3 turns /apis/gateway.networking.k8s.io/v1/gatewayclasses/.. into the group's discovery URL, which
    answers 200: the restore said "created" and exit 0 while nothing existed. Now: exit 4, nothing written, no
    safety snapshot, and verify refuses the snapshot too."""
    from conftest import run

    from hgbackup.kube import catalogue

    store = str(tmp_path / "store")
    sid = forge_keyless(store, [GATEWAY_CLASS])
    kind = catalogue.BY_GROUP_KIND[("gateway.networking.k8s.io", "GatewayClass")]
    version = kube.served()[kind.key].version
    before = sorted(o["metadata"]["name"] for o in kube.list(kind, version))
    result = run("restore", sid, "--store", store, "--kubeconfig", kubeconfig, "--yes", "-o", "json", code=4)
    assert "holds what hgbackup will not restore" in result.stderr and "GatewayClass" in result.stderr
    assert sorted(o["metadata"]["name"] for o in kube.list(kind, version)) == before
    assert [k.name for k in (tmp_path / "store" / "default" / "snapshots").iterdir()] == [sid]  # no safety snapshot
    verified = run("verify", sid, "--store", store, "-o", "json", code=4)
    assert "name or namespace Kubernetes does not accept" in verified.stdout


@pytest.mark.parametrize(("namespace", "name"), [(None, ".."), (None, "."), ("shop", "a/b"), ("shop", "A"),
                                                 ("..", "x"), ("a/b", "x"), ("shop", "x?y")])
@pytest.mark.kube
def test_the_api_client_builds_no_path_from_a_name_kubernetes_refuses(namespace, name, kube):
    """Defence in depth: whoever asks (a restore, a capture following a reference, a migration), kube.py refuses
    to put such a name into a URL (exit 2)."""
    from hgbackup.errors import InvalidInput
    from hgbackup.kube import catalogue

    kind = catalogue.CONFIGMAPS if namespace else catalogue.BY_GROUP_KIND[("gateway.networking.k8s.io",
                                                                           "GatewayClass")]
    with pytest.raises(InvalidInput):
        kube.object_path(kind, "v1", namespace, name)
    with pytest.raises(InvalidInput):
        kube.apply(kind, "v1", {"metadata": {"name": name, **({"namespace": namespace} if namespace else {})}})
    assert kube.object_path(kind, "v1", "shop" if namespace else None, "ok.name").endswith("/ok.name")


@pytest.mark.parametrize("option", [["-n", "A_b"], ["--higress-namespace", ".."], ["-n", "shop", "-n", "x/y"]])
def test_scope_namespaces_on_the_command_line_are_namespace_names(option, tmp_path):
    """Checked before the cluster is contacted (the kubeconfig does not exist): exit 2, not a partial snapshot of
    requests the API client refuses to build."""
    from conftest import run

    result = run("snapshot", *option, "--store", str(tmp_path / "s"), "--kubeconfig", "/nonexistent", code=2)
    assert "is not a namespace name" in result.stderr
