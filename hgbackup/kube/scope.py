"""The scope of a snapshot: which kinds, namespaces, ingress classes and console Secrets it covers.

A record every stage reads: the capture selects by it, the manifest records it (`as_json`), a restore and `verify`
check an archive against the scope it records, retention groups snapshots by it, and a schedule file names one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import HgbackupError, IntegrityError, InvalidInput
from . import catalogue, names
from .labels import parse_selector

DEFAULT_SECRET_SELECTOR = "higress.io/resource-definer=higress"
# The scope's opt-in flags (`--with-services` on the command line, `with_services: true` in a schedule file), each
# adding the catalogue's kinds of its opt-in (catalogue.Kind.optin).
OPTIN_FLAGS = {f"with_{optin}": optin for optin in sorted(catalogue.OPTINS)}
LIST_FIELDS = ("secret_selectors", "ingress_classes", "namespaces", "optins", "include", "exclude")


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
    def from_json(cls, data, where: str = "the manifest's scope",
                  error: type[HgbackupError] = IntegrityError) -> Scope:
        """A recorded scope (a manifest's; a schedule file's with error=InvalidInput), every field checked once
        here: its type, its namespace names, its selectors and kind names. Anything else is `error` naming the
        field (an edited manifest is an integrity failure, exit 4; never a crash)."""
        if not isinstance(data, dict):
            raise error(f"{where}: must be a mapping")
        hns = data.get("higress_namespace")
        if hns is not None and not names.valid_namespace(hns):
            raise error(f"{where}.higress_namespace: {repr(hns)[:80]} is not a namespace name ({names.LABEL_RULE})")
        for key in LIST_FIELDS:
            value = data.get(key)
            if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise error(f"{where}.{key}: must be a list of strings")
        for i, ns in enumerate(data.get("namespaces") or ()):
            if not names.valid_namespace(ns):
                raise error(f"{where}.namespaces[{i}]: {repr(ns)[:80]} is not a namespace name ({names.LABEL_RULE})")
        kwargs = {k: list(data[k]) for k in LIST_FIELDS if k != "optins" and data.get(k) is not None}
        try:
            scope = cls(optins=set(data.get("optins") or ()), **({"higress_namespace": hns} if hns else {}), **kwargs)
            scope.kinds()  # kind names in include and exclude
        except InvalidInput as exc:
            raise error(f"{where}: {exc}") from None
        return scope
