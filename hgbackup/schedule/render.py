"""The Kubernetes objects that run a schedule: its Namespace, ServiceAccount, read-only RBAC on exactly the kinds in
scope, the ConfigMap holding the schedule file and the CronJob; the kubectl command that creates the credentials
Secret (never rendered itself), and what a person should know before applying them."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from ..capture import selection
from ..errors import EXIT_INTEGRITY, EXIT_NOT_FOUND, EXIT_USAGE, InvalidInput
from ..kube import catalogue, names
from ..kube.scope import Scope
from .file import OBJECT_PREFIX, Schedule, check_image, image_pinned
from .monitoring import dashboard_configmap, prometheus_rule

# Exit codes that a retry cannot fix (usage/configuration, integrity, not found): the Job fails at once.
FAIL_AT_ONCE = (EXIT_USAGE, EXIT_INTEGRITY, EXIT_NOT_FOUND)
JOB_TTL_SECONDS = 7 * 24 * 3600
MOUNT = "/etc/hgbackup"


@dataclass
class Rendering:
    """What `schedule render` prints: the objects, what their identity may do, the command that creates the
    credentials Secret (None without one), and what a person should know before applying them."""

    objects: list[dict]
    grants: list[str]
    credentials_command: str | None
    warnings: list[str]


def render(sched: Schedule, *, image: str | None = None, namespace: str | None = None,
           monitoring: bool = False) -> Rendering:
    """`schedule render`: kubernetes_objects, and what to tell about them."""
    objects = kubernetes_objects(sched, image=image, namespace=namespace, monitoring=monitoring)
    return Rendering(objects, grants(objects), credentials_command(sched, namespace),
                     render_warnings(sched, namespace, image))


def kubernetes_objects(sched: Schedule, *, image: str | None = None, namespace: str | None = None,
                       monitoring: bool = False) -> list[dict]:
    """ServiceAccount, RBAC, the schedule ConfigMap and the CronJob, in apply order; with `monitoring`, also the
    PrometheusRule and the Grafana dashboard ConfigMap (the schedule must name its Pushgateway)."""
    if image is not None:
        check_image(image, "--image")
    if monitoring and not sched.pushgateway:
        raise InvalidInput(f"schedule {sched.name}: monitoring needs metrics.pushgateway in the schedule file (the "
                           "alerts and the dashboard read what the job pushes there)")
    if not sched.store.startswith("s3://"):
        raise InvalidInput(f"schedule {sched.name}: store {sched.store!r} is a local folder, which would live and "
                           "die with the CronJob's pod (no volume is mounted for it): use an s3:// store")
    ns = names.require_namespace(namespace, "--namespace") if namespace is not None else sched.namespace
    name = f"{OBJECT_PREFIX}{sched.name}"
    labels = {"app.kubernetes.io/name": "hgbackup", "app.kubernetes.io/instance": sched.name}
    meta = {"name": name, "namespace": ns, "labels": labels}
    objects: list[dict] = []
    if ns != sched.scope.higress_namespace:
        objects.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}})
    objects.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta})
    objects += rbac(sched.scope, name, ns, labels, sched.secret_reads(), sched.console_secrets)
    objects.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
                    "data": {"schedule.yaml": sched.source}})
    objects.append(cronjob(sched, name, ns, labels, image or sched.image))
    if monitoring:
        objects.append(prometheus_rule(sched, name, ns, labels))
        objects.append(dashboard_configmap(sched, name, sched.dashboard_namespace or ns, labels))
    return objects



def credentials_command(sched: Schedule, namespace: str | None = None) -> str | None:
    """The exact kubectl command that creates the credentials Secret (values are the user's to fill in; hgbackup
    never renders them)."""
    if not sched.credentials_secret:
        return None
    ns = names.require_namespace(namespace, "--namespace") if namespace is not None else sched.namespace
    secret = names.require_name(sched.credentials_secret, "credentialsSecret")  # checked when parsed, and here
    parts = [["kubectl", "-n", ns, "create", "secret", "generic", secret],
             ["--from-literal=AWS_ACCESS_KEY_ID=<access key id>"],
             ["--from-literal=AWS_SECRET_ACCESS_KEY=<secret access key>"],
             ["--from-literal=AWS_DEFAULT_REGION=<region>"]]
    if sched.require_encryption or catalogue.SECRETS in sched.scope.kinds():
        parts.append(["--from-file=HGBACKUP_ENCRYPTION_KEY=./hgbackup.key"])
    # every word quoted for a shell: the placeholders too, so a command pasted before filling them in fails
    # harmlessly (an unknown literal) instead of redirecting from a file named "<access"
    return " \\\n    ".join(" ".join(shlex.quote(word) for word in line) for line in parts)


def rbac(scope: Scope, name: str, ns: str, labels: dict, secret_namespaces: list[str],
         console_secrets: list[str] = ()) -> list[dict]:
    """Read-only rights on exactly the kinds in scope; Secrets and ConfigMaps narrowed to where they are read:
    console Secrets are listed in the Higress namespace (RBAC cannot filter a list by label, so that grant reads
    every Secret there), or with `console_secrets` only those are got by name (`resourceNames`); referenced ones
    are read by name (`get`) only in `secret_namespaces`, never cluster-wide."""
    kinds = scope.kinds()
    cluster_rules: list[dict] = [
        # the cluster identity recorded in each manifest
        {"apiGroups": [""], "resources": ["namespaces"], "resourceNames": ["kube-system"], "verbs": ["get"]},
    ]
    custom = sorted(k.key for k in kinds if k.custom)
    if catalogue.CRDS in kinds and custom:
        cluster_rules.append({"apiGroups": [catalogue.APIEXT], "resources": ["customresourcedefinitions"],
                              "resourceNames": custom, "verbs": ["get"]})
    ns_rules: dict[str, list[dict]] = {}
    _kind_rules(scope, kinds, cluster_rules, ns_rules)
    hns = scope.higress_namespace
    if catalogue.CONFIGMAPS in kinds:
        ns_rules.setdefault(hns, []).append(
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]})
    if catalogue.SECRETS in kinds:
        _secret_rules(scope, secret_namespaces, console_secrets, ns_rules)
    return _roles(name, ns, labels, cluster_rules, ns_rules)


def _kind_rules(scope: Scope, kinds: list, cluster_rules: list[dict], ns_rules: dict[str, list[dict]]) -> None:
    """get/list/watch on the kinds in scope but CRDs, Secrets and ConfigMaps: cluster-wide, or with namespaces in
    the scope, in each of those namespaces only (cluster-scoped kinds stay cluster-wide)."""
    plain = [k for k in kinds if k not in (catalogue.CRDS, catalogue.SECRETS, catalogue.CONFIGMAPS)]
    for group in sorted({k.group for k in plain}):
        resources = sorted(k.plural for k in plain if k.group == group and (not k.namespaced or not scope.namespaces))
        if resources:
            cluster_rules.append({"apiGroups": [group], "resources": resources, "verbs": ["get", "list", "watch"]})
        namespaced = sorted(k.plural for k in plain if k.group == group and k.namespaced)
        for target in scope.namespaces if namespaced else ():
            ns_rules.setdefault(target, []).append(
                {"apiGroups": [group], "resources": namespaced, "verbs": ["get", "list", "watch"]})


def _secret_rules(scope: Scope, secret_namespaces: list[str], console_secrets: list[str],
                  ns_rules: dict[str, list[dict]]) -> None:
    """Console Secrets are listed in the Higress namespace only (or got by name with `console_secrets`); referenced
    ones are read one by one by name, which RBAC cannot narrow further than `get` in a namespace (names are not
    known in advance)."""
    hns = scope.higress_namespace
    if scope.wants_namespace(hns) and console_secrets:
        named = sorted({*console_secrets, selection.CONSOLE_SECRET})
        ns_rules.setdefault(hns, []).append({"apiGroups": [""], "resources": ["secrets"],
                                             "resourceNames": named, "verbs": ["get"]})
    elif scope.wants_namespace(hns):
        ns_rules.setdefault(hns, []).append({"apiGroups": [""], "resources": ["secrets"],
                                             "verbs": ["get", "list", "watch"]})
    for target in secret_namespaces:
        if target != hns or not scope.wants_namespace(hns):
            ns_rules.setdefault(target, []).append({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]})


def _roles(name: str, ns: str, labels: dict, cluster_rules: list[dict], ns_rules: dict[str, list[dict]]) -> list[dict]:
    """The ClusterRole and a Role per namespace, each bound to the job's ServiceAccount."""
    subject = [{"kind": "ServiceAccount", "name": name, "namespace": ns}]
    out = [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": name, "labels": labels}, "rules": cluster_rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": name, "labels": labels},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
         "subjects": subject},
    ]
    for target, rules in sorted(ns_rules.items()):
        meta = {"name": name, "namespace": target, "labels": labels}
        out.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta, "rules": rules})
        out.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta,
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                    "subjects": subject})
    return out


def grants(objects: list[dict]) -> list[str]:
    """What the rendered identity may do, one line per rule, for a person to check before applying it."""
    lines = []
    for obj in objects:
        if obj["kind"] not in ("ClusterRole", "Role"):
            continue
        where = "cluster-wide" if obj["kind"] == "ClusterRole" else f"in namespace {obj['metadata']['namespace']}"
        for rule in obj["rules"]:
            named = f" named {', '.join(rule['resourceNames'])}" if rule.get("resourceNames") else ""
            resources = ", ".join(f"{r}.{g}" if g else r for g in rule["apiGroups"] for r in rule["resources"])
            lines.append(f"{where}: {','.join(rule['verbs'])} {resources}{named}{_secret_reach(rule)}")
    return lines


def _secret_reach(rule: dict) -> str:
    """What a rule on Secrets really lets the job read, said beside it: a `list` cannot be narrowed by label."""
    if rule["resources"] != ["secrets"] or rule.get("resourceNames"):
        return ""
    if "list" in rule["verbs"]:
        return (" (every Secret there, service-account token and Helm release Secrets included: RBAC cannot filter "
                "a list by label; only console Secrets are stored; consoleSecrets grants get on named ones instead)")
    return " (any Secret there whose name it asks for)"


def render_warnings(sched: Schedule, namespace: str | None = None, image: str | None = None) -> list[str]:
    """What a person should know about the rendered identity's reach and what it runs."""
    ns = namespace or sched.namespace
    warnings = []
    if not image_pinned(image or sched.image):
        warnings.append(f"the image {image or sched.image} is not pinned by digest: a moved tag changes what the "
                        "job runs; render with --image NAME@sha256:<digest>")
    if not sched.cluster:
        warnings.append("the schedule names no cluster: snapshots and metrics will say \"in-cluster\"; set "
                        "cluster: to the name you restore by")
    readable = set(sched.secret_reads()) | {sched.scope.higress_namespace}
    if catalogue.SECRETS in sched.scope.kinds() and sched.credentials_secret and ns in readable:
        warnings.append(f"the job's own credentials Secret {ns}/{sched.credentials_secret} is readable by its "
                        "identity: run the CronJob in a namespace of its own (namespace: hgbackup)")
    if catalogue.SECRETS in sched.scope.kinds() and not sched.secret_namespaces and not sched.scope.namespaces:
        warnings.append("Secrets are read only in the Higress namespace: a TLS Secret referenced from another "
                        "namespace will be reported as unreadable (partial snapshot); list those namespaces in "
                        "secretNamespaces")
    return warnings


def cronjob(sched: Schedule, name: str, ns: str, labels: dict, image: str) -> dict:
    container = {
        "name": "hgbackup",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "args": ["schedule", "run", f"{MOUNT}/schedule.yaml"],
        "env": [{"name": "HOME", "value": "/tmp"}, {"name": "HGBACKUP_LOG_FORMAT", "value": "json"}],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
        "securityContext": {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                            "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "schedule", "mountPath": MOUNT, "readOnly": True},
                         {"name": "tmp", "mountPath": "/tmp"}],
    }
    if sched.credentials_secret:
        container["envFrom"] = [{"secretRef": {"name": sched.credentials_secret}}]
    pod = {
        "serviceAccountName": name,
        "restartPolicy": "Never",
        "securityContext": {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532, "fsGroup": 65532,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": [{"name": "schedule", "configMap": {"name": name}}, {"name": "tmp", "emptyDir": {}}],
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {
            "schedule": sched.schedule,
            "timeZone": sched.time_zone,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 600,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 5,
            "jobTemplate": {"metadata": {"labels": labels}, "spec": {
                "backoffLimit": 2,
                "activeDeadlineSeconds": 3600,
                "ttlSecondsAfterFinished": JOB_TTL_SECONDS,
                # configuration, integrity and not-found errors fail the Job at once: a retry cannot fix them
                "podFailurePolicy": {"rules": [
                    {"action": "FailJob", "onExitCodes": {"containerName": "hgbackup", "operator": "In",
                                                          "values": list(FAIL_AT_ONCE)}},
                    {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]},
                ]},
                "template": {"metadata": {"labels": labels}, "spec": pod},
            }},
        },
    }
