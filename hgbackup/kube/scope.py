"""The scope of a snapshot: which kinds, namespaces, ingress classes and console Secrets it covers.

A record every stage reads: the capture selects by it, the manifest records it (`as_json`), a restore and `verify`
check an archive against the scope it records, retention groups snapshots by it, and a schedule file names one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import catalogue
from .labels import parse_selector

DEFAULT_SECRET_SELECTOR = "higress.io/resource-definer=higress"
# The scope's opt-in flags (`--with-services` on the command line, `with_services: true` in a schedule file), each
# adding the catalogue's kinds of its opt-in (catalogue.Kind.optin).
OPTIN_FLAGS = {f"with_{optin}": optin for optin in sorted(catalogue.OPTINS)}


def optins_of(flags: dict) -> set[str]:
    """The opt-ins the flags set in `flags` (flag name -> value, as OPTIN_FLAGS names them) ask for."""
    return {optin for flag, optin in OPTIN_FLAGS.items() if flags.get(flag)}


@dataclass
class Scope:
    """The scope options of `snapshot` (and of `diff ... live`, restore's safety snapshot and schedule files)."""

    higress_namespace: str = "higress-system"
    secret_selectors: list[str] = field(default_factory=lambda: [DEFAULT_SECRET_SELECTOR])
    ingress_classes: list[str] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    optins: set[str] = field(default_factory=set)
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.selectors = [parse_selector(s) for s in self.secret_selectors]

    def kinds(self) -> list[catalogue.Kind]:
        return catalogue.in_scope(self.optins, self.include, self.exclude)

    def wants_namespace(self, namespace: str | None) -> bool:
        return not self.namespaces or namespace is None or namespace in self.namespaces

    def as_json(self) -> dict:
        return {
            "higress_namespace": self.higress_namespace,
            "secret_selectors": list(self.secret_selectors),
            "ingress_classes": list(self.ingress_classes),
            "namespaces": list(self.namespaces),
            "optins": sorted(self.optins),
            "include": list(self.include),
            "exclude": list(self.exclude),
        }

    @classmethod
    def from_json(cls, data: dict) -> Scope:
        fields = ("higress_namespace", "secret_selectors", "ingress_classes", "namespaces", "include", "exclude")
        kwargs = {k: data[k] for k in fields if data.get(k) is not None}
        return cls(optins=set(data.get("optins") or ()), **kwargs)
