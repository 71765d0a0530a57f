"""Which objects belong in a snapshot: pure rules, shared by live snapshots and `--from-file`.

The same rules run over whatever candidates a source offers, so a `kubectl get -A -o yaml` dump of a cluster selects
exactly what a live snapshot of that cluster would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import InvalidInput
from ..kube import catalogue, references
from . import confine

GENERATED_CONFIGMAPS = tuple(catalogue.LEFT_OUT_CONFIGMAPS)
CONSOLE_SECRET = "higress-console"
DEFAULT_SECRET_SELECTOR = "higress.io/resource-definer=higress"
LEFT_OUT_SHOWN = 10  # objects named in the capture's "left out" warning
# The scope's opt-in flags (`--with-services` on the command line, `with_services: true` in a schedule file), each
# adding the catalogue's kinds of its opt-in (catalogue.Kind.optin).
OPTIN_FLAGS = {f"with_{optin}": optin for optin in sorted({k.optin for k in catalogue.KINDS if k.optin})}


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


# -- label selectors --------------------------------------------------------------------------------------------
# Kubernetes' grammar (k8s.io/apimachinery/pkg/labels/selector.go): comma-separated requirements, each `key`,
# `!key`, `key=value`, `key==value`, `key!=value`, `key in (a,b)`, `key notin (a,b)`, `key>N` or `key<N`.
_TOKEN = re.compile(r"\s*(==|!=|[!=(),<>]|[^\s!=(),<>]+)")
_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_LABEL_NAME = re.compile(rf"^{_NAME}$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _valid_key(key: str) -> bool:
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return False
    return bool(_LABEL_NAME.match(name))


def _valid_value(value: str) -> bool:
    return value == "" or bool(_LABEL_NAME.match(value))


def parse_selector(text: str) -> list[tuple]:
    """A Kubernetes label selector as a list of (key, op, values); anything Kubernetes would refuse is an error."""
    tokens = _TOKEN.findall(text)
    if "".join(tokens) != re.sub(r"\s+", "", text) or not tokens:
        raise InvalidInput(f"invalid label selector {text!r}")
    reqs: list[tuple] = []
    pos = 0

    def fail(why: str):
        raise InvalidInput(f"invalid label selector {text!r}: {why}")

    def take() -> str | None:
        nonlocal pos
        pos += 1
        return tokens[pos - 1] if pos <= len(tokens) else None

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def key_token() -> str:
        key = take()
        if key is None or not _valid_key(key):
            fail(f"{key!r} is not a label key")
        return key

    while True:
        if peek() == "!":
            take()
            reqs.append((key_token(), "!", ()))
            if peek() not in (None, ","):
                fail("'!key' takes no operator or value")
        else:
            key = key_token()
            op = peek()
            if op in (None, ","):
                reqs.append((key, "exists", ()))
            elif op in ("=", "==", "!="):
                take()
                value = "" if peek() in (None, ",") else take()
                if not _valid_value(value):
                    fail(f"{value!r} is not a label value")
                reqs.append((key, "!=" if op == "!=" else "=", (value,)))
            elif op in ("in", "notin"):
                take()
                if take() != "(":
                    fail(f"'{op}' needs a parenthesised list")
                values = []
                while True:
                    value = "" if peek() in (",", ")") else take()
                    if value is None or not _valid_value(value):
                        fail(f"{value!r} is not a label value")
                    values.append(value)
                    sep = take()
                    if sep == ")":
                        break
                    if sep != ",":
                        fail("unclosed value list")
                reqs.append((key, op, tuple(values)))
            elif op in ("<", ">"):
                take()
                number = take()
                if number is None or not re.fullmatch(r"-?\d+", number):
                    fail(f"'{op}' needs a whole number")
                reqs.append((key, op, (int(number),)))
            else:
                fail(f"unexpected {op!r}")
        sep = take()
        if sep is None:
            return reqs
        if sep != "," or peek() is None:
            fail("requirements are separated by single commas")


def matches(selector: list[tuple], labels: dict) -> bool:
    for key, op, values in selector:
        present = key in labels
        value = labels.get(key)
        if op == "=":
            ok = present and value == values[0]
        elif op == "!=":
            ok = value != values[0]
        elif op == "in":
            ok = present and value in values
        elif op == "notin":
            ok = value not in values
        elif op == "exists":
            ok = present
        elif op in ("<", ">"):
            try:
                number = int(value) if present else None
            except ValueError:
                number = None
            ok = number is not None and (number < values[0] if op == "<" else number > values[0])
        else:  # "!"
            ok = not present
        if not ok:
            return False
    return True


# -- references between objects --------------------------------------------------------------------------------
def _meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def secret_refs(obj: dict, higress_namespace: str, grants: references.Grants | None = None) -> set[tuple[str, str]]:
    """(namespace, name) of every Secret an object names that the controllers follow (the reference table)."""
    return _followed(obj, higress_namespace, grants, references.SECRET)


def service_refs(obj: dict, higress_namespace: str = "higress-system",
                 grants: references.Grants | None = None) -> set[tuple[str, str]]:
    """(namespace, name) of every Service an object sends traffic to (the reference table)."""
    return _followed(obj, higress_namespace, grants, references.SERVICE)


def _followed(obj: dict, higress_namespace: str, grants, kind: tuple[str, str]) -> set[tuple[str, str]]:
    grants = grants if grants is not None else references.Grants()
    return {(r.namespace, r.name) for r in references.of(obj, higress_namespace, {kind})
            if kind in r.row.targets and references.followed(r, grants)}


# -- the rules ---------------------------------------------------------------------------------------------------
def select(candidates: list[dict], scope: Scope) -> list[dict]:
    """The objects of `candidates` that a snapshot with this scope holds (see DESIGN.md, default scope)."""
    return select_with_refs(candidates, scope)[0]


def select_with_refs(candidates: list[dict], scope: Scope, refused: list[str] | None = None,
                     left: list[str] | None = None) -> tuple[list[dict], set[tuple[str, str]]]:
    """`select`, plus the (namespace, name) of every Secret the selected objects reference; references not
    followed (another namespace) are described in `refused` when given, with one note naming what was left out
    because hgbackup never restores it (also listed in `left` when given)."""
    selector = Selector(scope, refused)
    chosen = [obj for obj in candidates if selector.offer(obj)]
    chosen += selector.finish()
    note = left_out_note(selector.left)
    if note and refused is not None:
        refused.append(note)
    if left is not None:
        left.extend(selector.left)
    return _dedupe(chosen), selector.secret_wanted


def left_out_note(left: list[str]) -> str | None:
    """The capture's one warning about what the rules would take but hgbackup never restores (confine.left_out)."""
    if not left:
        return None
    more = f" (and {len(left) - LEFT_OUT_SHOWN} more)" if len(left) > LEFT_OUT_SHOWN else ""
    return (f"left out {len(left)} object(s) that hgbackup never restores: " + "; ".join(left[:LEFT_OUT_SHOWN])
            + more)


class Selector:
    """The rules, an object at a time, for captures that cannot hold every candidate (a live snapshot packs each
    LIST page as it arrives). `offer` says at once whether most objects are kept; the kinds whose rule depends on
    the others (Secrets and Services: kept when referenced; CRDs: of the kinds in scope) are held and decided by
    `finish`, which follows the references (the table in references.py) once every ReferenceGrant is known.

    Everything an object brings (its references, a held object, a grant) is filed under the `lane` it was offered
    in (one LIST): a LIST that restarts (410 Gone on a continue page) drops its lane, so the references of objects
    deleted in between are forgotten with them."""

    HELD = frozenset({catalogue.SECRETS.key, catalogue.CRDS.key, "services"})

    def __init__(self, scope: Scope, refused: list[str] | None = None):
        self.scope = scope
        self.kinds = {k.key: k for k in scope.kinds()}
        self.refused = refused
        self.services = "services" in self.kinds
        self.follow = references.FOLLOWED if self.services else frozenset({references.SECRET})
        self.lanes: dict[object, _Lane] = {}
        self.secret_wanted: set[tuple[str, str]] = set()
        self.service_wanted: set[tuple[str, str]] = set()
        self.left: list[str] = []  # what the rules would take but confine.left_out refuses, named for a warning

    @property
    def held(self) -> dict[str, list[dict]]:
        """Held objects by kind key, over every lane."""
        out: dict[str, list[dict]] = {}
        for lane in self.lanes.values():
            for key, objs in lane.held.items():
                out.setdefault(key, []).extend(objs)
        return out

    def offer(self, obj: dict, kind: catalogue.Kind | None = None, lane: object = None) -> bool:
        """True: `obj` belongs in the snapshot (and its references are noted). False: it does not, or it is held
        for `finish`."""
        kind = kind or catalogue.kind_of(obj)
        if kind is None or kind.key not in self.kinds:
            return False
        state = self.lanes.get(lane)
        if state is None:
            state = self.lanes[lane] = _Lane()
        if kind.key in self.HELD:
            state.held.setdefault(kind.key, []).append(obj)
            return False
        if not _keep_plain(obj, kind, self.scope, self.left):
            return False
        if kind.kind == "ReferenceGrant":
            state.grants.append(obj)
        state.refs.extend(references.of(obj, self.scope.higress_namespace, self.follow, rewritable=False))
        return True

    def drop_lane(self, lane: object) -> None:
        """Forget what the objects offered in `lane` brought (its LIST starts again)."""
        self.lanes.pop(lane, None)

    def finish(self) -> list[dict]:
        """The held objects the rules keep, now that every other object has been offered."""
        grants = references.Grants(g for lane in self.lanes.values() for g in lane.grants)
        for lane in self.lanes.values():
            for ref in lane.refs:
                if not references.followed(ref, grants):
                    if self.refused is not None:
                        self.refused.append(references.why_not(ref))
                    continue
                if references.SECRET in ref.row.targets:
                    self.secret_wanted.add((ref.namespace, ref.name))
                if references.SERVICE in ref.row.targets:
                    self.service_wanted.add((ref.namespace, ref.name))
        held = self.held
        chosen = [obj for obj in held.get(catalogue.SECRETS.key, [])
                  if _keep_secret(obj, self.scope, self.secret_wanted, self.left)]
        if self.services:
            # the Higress namespace's own Services too: higress-gateway holds the load balancer's address
            chosen.extend(
                o for o in held.get("services", [])
                if ((_meta(o).get("namespace"), _meta(o).get("name")) in self.service_wanted
                    or _meta(o).get("namespace") == self.scope.higress_namespace)
                and self.scope.wants_namespace(_meta(o).get("namespace"))
                and _not_left_out(o, catalogue.BY_KEY["services"], self.left)
            )
        if catalogue.CRDS.key in self.kinds:
            wanted_crds = crd_names(self.kinds.values())
            chosen.extend(o for o in held.get(catalogue.CRDS.key, []) if _meta(o).get("name") in wanted_crds
                          and _not_left_out(o, catalogue.CRDS, self.left))
        return _dedupe(chosen)


@dataclass
class _Lane:
    """What the objects of one LIST brought to a Selector."""

    held: dict[str, list[dict]] = field(default_factory=dict)
    grants: list[dict] = field(default_factory=list)
    refs: list[references.Reference] = field(default_factory=list)


def select_fetched(chosen: list[dict], fetched: list[dict], scope: Scope,
                   referenced: set[tuple[str, str]], left: list[str] | None = None) -> list[dict]:
    """`chosen` plus those of `fetched` (Secrets and CRDs read one by one) that the rules keep, without selecting
    the (possibly many thousand) first-round objects again: fetched objects never add references, and were fetched
    because no listed object had their name, so there is nothing to deduplicate against."""
    kinds = {k.key for k in scope.kinds()}
    wanted_crds = crd_names(scope.kinds())
    extra = []
    for obj in fetched:
        kind = catalogue.kind_of(obj)
        if kind is None or kind.key not in kinds:
            continue
        keep_secret = kind is catalogue.SECRETS and _keep_secret(obj, scope, referenced, left)
        keep_crd = (kind is catalogue.CRDS and _meta(obj).get("name") in wanted_crds
                    and _not_left_out(obj, kind, left))
        if keep_secret or keep_crd:
            extra.append(obj)
    return chosen + _dedupe(extra)


def crd_names(kinds) -> set[str]:
    return {k.key for k in kinds if k.custom}


def _keep_plain(obj: dict, kind: catalogue.Kind, scope: Scope, left: list[str] | None = None) -> bool:
    """The rule of a kind that is not held; what it would keep but hgbackup never restores is named in `left`."""
    ns = _meta(obj).get("namespace")
    if kind.namespaced and not scope.wants_namespace(ns):
        return False
    if kind is catalogue.CONFIGMAPS:
        labels = _meta(obj).get("labels") or {}
        own = labels.get(catalogue.OWN_LABEL[0]) == catalogue.OWN_LABEL[1]
        keep = ns == scope.higress_namespace and _meta(obj).get("name") not in GENERATED_CONFIGMAPS and not own
    elif kind is catalogue.INGRESSES and scope.ingress_classes:
        keep = catalogue.ingress_class(obj) in scope.ingress_classes
    else:
        keep = True
    return keep and _not_left_out(obj, kind, left)


def _keep_secret(obj: dict, scope: Scope, referenced: set[tuple[str, str]], left: list[str] | None = None) -> bool:
    """Referenced Secrets, and the console's in the Higress namespace; never what confine.left_out refuses (named in
    `left` when the rules would have kept it)."""
    meta = _meta(obj)
    ns, name = meta.get("namespace"), meta.get("name", "")
    if not scope.wants_namespace(ns):
        return False
    if (ns, name) in referenced:
        keep = True
    elif ns != scope.higress_namespace:
        keep = False
    else:
        keep = name == CONSOLE_SECRET or any(matches(sel, meta.get("labels") or {}) for sel in scope.selectors)
    return keep and _not_left_out(obj, catalogue.SECRETS, left)


def _not_left_out(obj: dict, kind: catalogue.Kind, left: list[str] | None) -> bool:
    """False for what hgbackup never takes nor restores (one definition: confine.left_out), named in `left`."""
    why = confine.left_out(obj)
    if why is None:
        return True
    if left is not None:
        meta = _meta(obj)
        where = f"{meta['namespace']}/" if meta.get("namespace") else ""
        left.append(f"{kind.kind} {where}{meta.get('name')} ({why})")
    return False


def _dedupe(objects: list[dict]) -> list[dict]:
    seen, out = set(), []
    for obj in objects:
        meta = _meta(obj)
        key = (catalogue.group_of(obj["apiVersion"]), obj["kind"], meta.get("namespace"), meta.get("name"))
        if key not in seen:
            seen.add(key)
            out.append(obj)
    return out
