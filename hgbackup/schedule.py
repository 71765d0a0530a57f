"""Schedule files (schedules/*.yaml) and the Kubernetes objects that run them as a CronJob.

A schedule file names what to back up (scope), where (store, cluster), when (cron, time zone), how long to keep it
(retention) and which Secret holds the store credentials and encryption key. `render()` turns it into a CronJob
with a ServiceAccount whose RBAC can only read the kinds in scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import yaml

from . import catalogue, retention
from . import snapshot as snapshot_mod
from .errors import EXIT_OK, EXIT_PARTIAL, InvalidInput, NotFound
from .kube import Kube
from .manifest import Snapshot
from .repository import Repository
from .retention import ForgetReport, Policy
from .selection import Scope
from .store import StoreSettings

DEFAULT_IMAGE = "ghcr.io/hgbackup/hgbackup:0.1.0"
FIELDS = {"name", "schedule", "timeZone", "store", "s3Endpoint", "cluster", "namespace", "scope", "retention",
          "tags", "credentialsSecret", "image", "requireEncryption", "secretNamespaces", "allowEmpty"}
DEFAULT_NAMESPACE = "hgbackup"  # a namespace of its own: the job's credentials Secret stays out of its reach
SCOPE_FIELDS = {"higress_namespace", "secret_selectors", "ingress_classes", "namespaces", "with_services",
                "with_cert_manager", "with_ingress_classes", "include", "exclude"}
MOUNT = "/etc/hgbackup"


@dataclass
class Schedule:
    name: str
    schedule: str
    store: str
    source: str  # the file's text, mounted into the job as is
    time_zone: str = "UTC"
    s3_endpoint: str | None = None
    cluster: str | None = None
    namespace: str = DEFAULT_NAMESPACE
    scope: Scope = field(default_factory=Scope)
    retention: Policy = field(default_factory=Policy)
    tags: list[str] = field(default_factory=list)
    credentials_secret: str | None = None
    image: str = DEFAULT_IMAGE
    require_encryption: bool = False
    secret_namespaces: list[str] = field(default_factory=list)
    allow_empty: bool = False

    def secret_reads(self) -> list[str]:
        """Where the job may `get` Secrets: secretNamespaces, else the scope's namespaces, else the Higress one."""
        chosen = self.secret_namespaces or self.scope.namespaces or [self.scope.higress_namespace]
        return sorted(set(chosen))


    def store_settings(self) -> StoreSettings:
        return StoreSettings(self.store, s3_endpoint=self.s3_endpoint)


@dataclass
class ScheduleReport:
    """One scheduled run: the snapshot written and what retention kept and removed."""

    schedule: str
    snapshot: Snapshot
    retention: ForgetReport | None = None
    retention_skipped: str | None = None
    leftovers: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_PARTIAL if self.snapshot.manifest.partial else EXIT_OK

    def as_json(self) -> dict:
        m = self.snapshot.manifest
        return {"schedule": self.schedule, "snapshot": self.snapshot.id, "cluster": self.snapshot.cluster,
                "objects": len(m.objects), "partial": m.partial, "warnings": list(m.warnings),
                "kept": len(self.retention.decision.keep) if self.retention else None,
                "removed": [s.id for s in self.retention.decision.remove] if self.retention else None,
                "retention_skipped": self.retention_skipped, "leftovers_removed": self.leftovers}


def run(sched: Schedule, kube: Kube, repo: Repository) -> ScheduleReport:
    """What the CronJob runs: snapshot with the file's scope, then its retention over this schedule's snapshots."""
    capture = snapshot_mod.capture_live(kube, sched.scope, sched.cluster)
    tag = f"schedule:{sched.name}"
    taken = snapshot_mod.take(repo, capture, sched.scope, tags=[*sched.tags, tag],
                              require_encryption=sched.require_encryption, allow_empty=sched.allow_empty)
    snap = taken.snapshot
    report = ScheduleReport(sched.name, snap)
    identity = snap.manifest.cluster.identity
    if snap.manifest.partial and not sched.retention.empty():
        report.retention_skipped = "the snapshot is partial: no snapshot was removed"
    elif not sched.retention.empty():
        report.retention = retention.forget(repo, sched.retention, identity=identity,
                                            cluster=None if identity else snap.cluster, tags=[tag])
    report.leftovers = (report.retention.leftovers if report.retention is not None
                        else repo.remove_leftovers(datetime.now(timezone.utc) - retention.LEFTOVER_AGE))
    return report


def load(path: str) -> Schedule:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise NotFound(f"{path}: {exc.strerror}") from None
    return parse(text, path)


def parse(text: str, where: str) -> Schedule:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InvalidInput(f"{where}:{mark.line + 1 if mark else '?'}: invalid YAML") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: a schedule file is a YAML mapping")
    unknown = set(data) - FIELDS
    if unknown:
        raise InvalidInput(f"{where}: {sorted(unknown)[0]}: unknown field (known: {', '.join(sorted(FIELDS))})")
    for required in ("name", "schedule", "store"):
        if not isinstance(data.get(required), str) or not data[required].strip():
            raise InvalidInput(f"{where}: {required}: required, a non-empty string")
    if len(data["schedule"].split()) != 5 and not data["schedule"].startswith("@"):
        raise InvalidInput(f"{where}: schedule: {data['schedule']!r} is not a cron expression (5 fields)")
    if not _dns_label(data["name"]):
        raise InvalidInput(f"{where}: name: {data['name']!r} must be a DNS label (lower case, digits, '-')")
    tags = data.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise InvalidInput(f"{where}: tags: must be a list of strings")
    secret_namespaces = data.get("secretNamespaces") or []
    if not isinstance(secret_namespaces, list) or not all(isinstance(n, str) and _dns_label(n)
                                                          for n in secret_namespaces):
        raise InvalidInput(f"{where}: secretNamespaces: must be a list of namespace names")
    return Schedule(
        name=data["name"], schedule=data["schedule"], store=data["store"], source=text,
        time_zone=_string(data, "timeZone", where) or "UTC", s3_endpoint=_string(data, "s3Endpoint", where),
        cluster=_string(data, "cluster", where), namespace=_string(data, "namespace", where) or DEFAULT_NAMESPACE,
        scope=_scope(data.get("scope") or {}, where), retention=_retention(data.get("retention") or {}, where),
        tags=tags, credentials_secret=_string(data, "credentialsSecret", where),
        image=_string(data, "image", where) or DEFAULT_IMAGE, require_encryption=bool(data.get("requireEncryption")),
        secret_namespaces=secret_namespaces, allow_empty=data.get("allowEmpty") is True,
    )


def _string(data: dict, key: str, where: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{where}: {key}: must be a string")
    return value


def _dns_label(text: str) -> bool:
    import re

    return bool(re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?", text))


def _scope(data: dict, where: str) -> Scope:
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: scope: must be a mapping")
    unknown = set(data) - SCOPE_FIELDS
    if unknown:
        raise InvalidInput(f"{where}: scope.{sorted(unknown)[0]}: unknown field")
    for key in ("secret_selectors", "ingress_classes", "namespaces", "include", "exclude"):
        if key in data and not (isinstance(data[key], list) and all(isinstance(v, str) for v in data[key])):
            raise InvalidInput(f"{where}: scope.{key}: must be a list of strings")
    optins = {name for flag, name in (("with_services", "services"), ("with_cert_manager", "cert_manager"),
                                      ("with_ingress_classes", "ingress_classes")) if data.get(flag)}
    try:
        scope = Scope.from_json({**data, "optins": sorted(optins)})
        scope.kinds()  # validates include/exclude names
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: scope: {exc}") from None
    return scope


def _retention(data: dict, where: str) -> Policy:
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: retention: must be a mapping")
    try:
        return Policy.from_dict(data)
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc}") from None


# -- rendering -------------------------------------------------------------------------------------------------------
def kubernetes_objects(sched: Schedule, *, image: str | None = None, namespace: str | None = None) -> list[dict]:
    """ServiceAccount, RBAC, the schedule ConfigMap and the CronJob, in apply order."""
    if not sched.store.startswith("s3://"):
        raise InvalidInput(f"schedule {sched.name}: store {sched.store!r} is a local folder, which would live and "
                           "die with the CronJob's pod (no volume is mounted for it): use an s3:// store")
    ns = namespace or sched.namespace
    name = f"hgbackup-{sched.name}"
    labels = {"app.kubernetes.io/name": "hgbackup", "app.kubernetes.io/instance": sched.name}
    meta = {"name": name, "namespace": ns, "labels": labels}
    objects: list[dict] = []
    if ns != sched.scope.higress_namespace:
        objects.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}})
    objects.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta})
    objects += rbac(sched.scope, name, ns, labels, sched.secret_reads())
    objects.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
                    "data": {"schedule.yaml": sched.source}})
    objects.append(cronjob(sched, name, ns, labels, image or sched.image))
    return objects


def rbac(scope: Scope, name: str, ns: str, labels: dict, secret_namespaces: list[str]) -> list[dict]:
    """Read-only rights on exactly the kinds in scope; Secrets and ConfigMaps narrowed to where they are read:
    console Secrets are listed in the Higress namespace, referenced ones are read by name (`get`) only in
    `secret_namespaces`, never cluster-wide."""
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
    hns = scope.higress_namespace
    plain = [k for k in kinds if k not in (catalogue.CRDS, catalogue.SECRETS, catalogue.CONFIGMAPS)]
    for group in sorted({k.group for k in plain}):
        resources = sorted(k.plural for k in plain if k.group == group and (not k.namespaced or not scope.namespaces))
        if resources:
            cluster_rules.append({"apiGroups": [group], "resources": resources, "verbs": ["get", "list", "watch"]})
        if scope.namespaces:
            namespaced = sorted(k.plural for k in plain if k.group == group and k.namespaced)
            for target in scope.namespaces:
                if namespaced:
                    ns_rules.setdefault(target, []).append(
                        {"apiGroups": [group], "resources": namespaced, "verbs": ["get", "list", "watch"]})
    if catalogue.CONFIGMAPS in kinds:
        ns_rules.setdefault(hns, []).append(
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]})
    if catalogue.SECRETS in kinds:
        # console Secrets are listed in the Higress namespace only; referenced ones are read one by one by name,
        # which RBAC cannot narrow further than `get` in a namespace (names are not known in advance)
        if scope.wants_namespace(hns):
            ns_rules.setdefault(hns, []).append({"apiGroups": [""], "resources": ["secrets"],
                                                 "verbs": ["get", "list", "watch"]})
        for target in secret_namespaces:
            if target != hns or not scope.wants_namespace(hns):
                ns_rules.setdefault(target, []).append({"apiGroups": [""], "resources": ["secrets"],
                                                        "verbs": ["get"]})
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
            names = f" named {', '.join(rule['resourceNames'])}" if rule.get("resourceNames") else ""
            resources = ", ".join(f"{r}.{g}" if g else r for g in rule["apiGroups"] for r in rule["resources"])
            lines.append(f"{where}: {','.join(rule['verbs'])} {resources}{names}")
    return lines


def render_warnings(sched: Schedule, namespace: str | None = None) -> list[str]:
    """What a person should know about the rendered identity's reach."""
    ns = namespace or sched.namespace
    warnings = []
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
        "env": [{"name": "HOME", "value": "/tmp"}],
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
                "template": {"metadata": {"labels": labels}, "spec": pod},
            }},
        },
    }
