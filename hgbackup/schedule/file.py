"""Schedule files (schedules/*.yaml): parsing and validation into a `Schedule`.

A schedule file names what to back up (scope), where (store, cluster), when (cron, time zone), how long to keep it
(retention) and which Secret holds the store credentials and encryption key. What runs it is rendered by
render.py (the CronJob and its RBAC) and monitoring.py (alerts, dashboard); what a run does is run.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

import yaml

from ..errors import InvalidInput, NotFound
from ..kube import names
from ..kube.scope import OPTIN_FLAGS, Scope, optins_of
from ..store import SSE_MODES, StoreSettings
from .cron import cron_interval
from .retention import Policy

DEFAULT_IMAGE = "ghcr.io/hgbackup/hgbackup:0.1.0"
FIELDS = {"name", "schedule", "timeZone", "store", "s3Endpoint", "s3ServerSideEncryption", "s3KmsKeyId", "cluster",
          "namespace", "scope", "retention", "tags", "credentialsSecret", "image", "requireEncryption",
          "secretNamespaces", "consoleSecrets", "allowEmpty", "metrics"}
METRICS_FIELDS = {"pushgateway", "ruleLabels", "dashboardNamespace"}
IMAGE_REF = re.compile(r"(?P<name>[a-z0-9]+(?:[._/:-]+[a-z0-9]+)*?)(?::(?P<tag>[\w][\w.-]{0,127}))?"
                       r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?")
DEFAULT_NAMESPACE = "hgbackup"  # a namespace of its own: the job's credentials Secret stays out of its reach
SCOPE_FIELDS = {"higress_namespace", "secret_selectors", "ingress_classes", "namespaces", *OPTIN_FLAGS,
                "include", "exclude"}
OBJECT_PREFIX = "hgbackup-"  # the rendered objects are named hgbackup-<schedule name>


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
    # console Secrets of the Higress namespace, by name: the job gets these instead of listing every Secret there
    console_secrets: list[str] = field(default_factory=list)
    allow_empty: bool = False
    s3_sse: str | None = None
    s3_kms_key_id: str | None = None
    pushgateway: str | None = None
    rule_labels: dict = field(default_factory=dict)
    dashboard_namespace: str | None = None

    def secret_reads(self) -> list[str]:
        """Where the job may `get` Secrets: secretNamespaces, else the scope's namespaces, else the Higress one."""
        chosen = self.secret_namespaces or self.scope.namespaces or [self.scope.higress_namespace]
        return sorted(set(chosen))


    def store_settings(self) -> StoreSettings:
        return StoreSettings(self.store, self.s3_endpoint, self.s3_sse, self.s3_kms_key_id)

    def interval(self) -> timedelta:
        """The longest gap between two runs (over a year from a fixed date, in the schedule's time zone)."""
        return cron_interval(self.schedule, self.time_zone)



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
    time_zone = _string(data, "timeZone", where) or "UTC"
    try:
        cron_interval(data["schedule"], time_zone)
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc}") from None
    sse, kms = _string(data, "s3ServerSideEncryption", where), _string(data, "s3KmsKeyId", where)
    if sse is not None and sse not in SSE_MODES:
        raise InvalidInput(f"{where}: s3ServerSideEncryption: {sse!r} is not one of {', '.join(SSE_MODES)}")
    if kms and sse != "aws:kms":
        raise InvalidInput(f"{where}: s3KmsKeyId: needs s3ServerSideEncryption: aws:kms")
    monitoring = _metrics(data.get("metrics"), where)
    image = _string(data, "image", where) or DEFAULT_IMAGE
    check_image(image, f"{where}: image")
    check_schedule_name(data["name"], f"{where}: name")
    tags = data.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise InvalidInput(f"{where}: tags: must be a list of strings")
    secret_namespaces = data.get("secretNamespaces") or []
    if not isinstance(secret_namespaces, list):
        raise InvalidInput(f"{where}: secretNamespaces: must be a list of namespace names")
    for i, ns in enumerate(secret_namespaces):
        names.require_namespace(ns, f"{where}: secretNamespaces[{i}]")
    console_secrets = data.get("consoleSecrets") or []
    if not isinstance(console_secrets, list):
        raise InvalidInput(f"{where}: consoleSecrets: must be a list of Secret names")
    for i, secret in enumerate(console_secrets):
        names.require_name(secret, f"{where}: consoleSecrets[{i}]")
    for key, check in (("namespace", names.require_namespace), ("credentialsSecret", names.require_name)):
        if data.get(key) is not None:
            check(data[key], f"{where}: {key}")
    return Schedule(
        name=data["name"], schedule=data["schedule"], store=data["store"], source=text,
        time_zone=time_zone, s3_endpoint=_string(data, "s3Endpoint", where), s3_sse=sse, s3_kms_key_id=kms,
        cluster=_string(data, "cluster", where), namespace=_string(data, "namespace", where) or DEFAULT_NAMESPACE,
        scope=_scope(data.get("scope") or {}, where), retention=_retention(data.get("retention") or {}, where),
        tags=tags, credentials_secret=_string(data, "credentialsSecret", where),
        image=image, require_encryption=bool(data.get("requireEncryption")),
        secret_namespaces=secret_namespaces, console_secrets=sorted(set(console_secrets)),
        allow_empty=data.get("allowEmpty") is True, **monitoring,
    )



def check_schedule_name(name: str, where: str) -> None:
    """A schedule's name names its objects `hgbackup-<name>`, the CronJob among them (names.CRONJOB_NAME_MAX), and is
    a label value on each: a DNS-1123 label short enough for both."""
    names.require_namespace(name, where)  # the label rule (namespaces are labels too)
    if not names.valid_cronjob_name(f"{OBJECT_PREFIX}{name}"):
        raise InvalidInput(f"{where}: {name!r} is too long: the CronJob {OBJECT_PREFIX}{name} would have "
                           f"{len(OBJECT_PREFIX + name)} characters, and a CronJob's name has at most "
                           f"{names.CRONJOB_NAME_MAX} (its Jobs add 11)")


def check_image(image: str, where: str) -> None:
    """A container image reference: name[:tag][@sha256:digest] (lower-case name, 64-hex digest)."""
    if not IMAGE_REF.fullmatch(image):
        raise InvalidInput(f"{where}: {image!r} is not an image reference (name[:tag][@sha256:<64 hex digits>])")


def image_pinned(image: str) -> bool:
    match = IMAGE_REF.fullmatch(image)
    return bool(match and match.group("digest"))


def _metrics(data, where: str) -> dict:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: metrics: must be a mapping")
    unknown = set(data) - METRICS_FIELDS
    if unknown:
        raise InvalidInput(f"{where}: metrics.{sorted(unknown)[0]}: unknown field "
                           f"(known: {', '.join(sorted(METRICS_FIELDS))})")
    url = data.get("pushgateway")
    if not isinstance(url, str) or not re.match(r"https?://[^/\s]+", url):
        raise InvalidInput(f"{where}: metrics.pushgateway: required, an http(s):// URL")
    labels = data.get("ruleLabels") or {}
    if not isinstance(labels, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        raise InvalidInput(f"{where}: metrics.ruleLabels: must be a mapping of strings")
    for key, value in labels.items():
        if not (names.valid_label_key(key) and names.valid_label_value(value)):  # Kubernetes' rules (names.py)
            raise InvalidInput(f"{where}: metrics.ruleLabels: {key!r:.80}: {value!r:.80} is not a label")
    dash_ns = data.get("dashboardNamespace")
    if dash_ns is not None:
        names.require_namespace(dash_ns, f"{where}: metrics.dashboardNamespace")
    return {"pushgateway": url, "rule_labels": dict(labels), "dashboard_namespace": dash_ns}


def _string(data: dict, key: str, where: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{where}: {key}: must be a string")
    return value


def _scope(data: dict, where: str) -> Scope:
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: scope: must be a mapping")
    unknown = set(data) - SCOPE_FIELDS
    if unknown:
        raise InvalidInput(f"{where}: scope.{sorted(unknown)[0]}: unknown field")
    return Scope.from_json({**data, "optins": sorted(optins_of(data))}, f"{where}: scope", InvalidInput)


def _retention(data: dict, where: str) -> Policy:
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: retention: must be a mapping")
    try:
        return Policy.from_dict(data)
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc}") from None


