"""Object names as the API server accepts them (k8s.io/apimachinery/pkg/util/validation: IsDNS1123Subdomain for
names, IsDNS1123Label for namespaces). A name outside these rules cannot exist in a cluster, so it can only come
from a hand-edited file or a forged snapshot."""

from __future__ import annotations

import re

from .model import Ref

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def valid_name(name: str) -> bool:
    return isinstance(name, str) and len(name) <= 253 and bool(_SUBDOMAIN.match(name))


def valid_namespace(namespace: str) -> bool:
    return isinstance(namespace, str) and len(namespace) <= 63 and bool(_LABEL.match(namespace))


def valid_ref(ref: Ref) -> bool:
    return valid_name(ref.name) and (ref.namespace is None or valid_namespace(ref.namespace))
