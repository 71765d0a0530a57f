"""Object names as the API server accepts them (k8s.io/apimachinery/pkg/util/validation: IsDNS1123Subdomain for names,
IsDNS1123Label for namespaces, IsQualifiedName and IsValidLabelValue for label keys and values). A name outside these
rules cannot exist in a cluster, so it can only come from a hand-edited file, a schedule file or a forged snapshot;
it is refused before it reaches a request path, a file name or a printed command.

Every rule of this kind lives here: capture from files, the archive's hard limits (confine.py), the request paths
(client.py), label selectors (labels.py), export file names and schedule files read these.
"""

from __future__ import annotations

import re

from ..errors import InvalidInput
from .model import Ref

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")  # a label key's name part, a label value
SUBDOMAIN_MAX = 253
LABEL_MAX = 63
QUALIFIED_MAX = 63
# A CronJob's name is at most 63 - 11: the controller names each Job `<cronjob>-<scheduled time in minutes>`, and
# a Job's name must stay a 63-character label (k8s.io/kubernetes pkg/apis/batch/validation/validation.go,
# ValidateCronJobCreate: "must be no more than 52 characters").
CRONJOB_NAME_MAX = LABEL_MAX - 11

LABEL_RULE = "a DNS-1123 label: at most 63 characters, lower case letters, digits and '-', starting and ending " \
             "with a letter or digit"
SUBDOMAIN_RULE = "a DNS-1123 subdomain: at most 253 characters, lower case letters, digits, '-' and '.', each " \
                 "part starting and ending with a letter or digit"


def valid_name(name: str) -> bool:
    return isinstance(name, str) and len(name) <= SUBDOMAIN_MAX and bool(_SUBDOMAIN.match(name))


def valid_namespace(namespace: str) -> bool:
    return isinstance(namespace, str) and len(namespace) <= LABEL_MAX and bool(_LABEL.match(namespace))


def valid_cronjob_name(name: str) -> bool:
    return valid_name(name) and len(name) <= CRONJOB_NAME_MAX


def valid_label_key(key: str) -> bool:
    """`name` or `prefix/name`: the prefix a DNS-1123 subdomain, the name at most 63 letters, digits, `-`, `_`
    and `.`, starting and ending with a letter or digit (IsQualifiedName)."""
    prefix, slash, name = key.rpartition("/")
    if slash and not valid_name(prefix):
        return False
    return len(name) <= QUALIFIED_MAX and bool(_QUALIFIED.match(name))


def valid_label_value(value: str) -> bool:
    """Empty, or as a label key's name part (IsValidLabelValue)."""
    return value == "" or (len(value) <= QUALIFIED_MAX and bool(_QUALIFIED.match(value)))


def valid_ref(ref: Ref) -> bool:
    return valid_name(ref.name) and (ref.namespace is None or valid_namespace(ref.namespace))


def require_namespace(value, where: str) -> str:
    """`value` when it is a namespace name, else InvalidInput (exit 2) naming `where` and the rule."""
    if not valid_namespace(value):
        raise InvalidInput(f"{where}: {_shown(value)} is not a namespace name ({LABEL_RULE})")
    return value


def require_name(value, where: str) -> str:
    """`value` when it is an object name, else InvalidInput (exit 2) naming `where` and the rule."""
    if not valid_name(value):
        raise InvalidInput(f"{where}: {_shown(value)} is not an object name ({SUBDOMAIN_RULE})")
    return value


def _shown(value) -> str:
    return repr(value)[:80]
