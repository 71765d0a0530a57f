"""The paths of the reference table (reftable.py), read: `spec.rules[].backendRefs[]` walks every rule's every
backend, `metadata.annotations["higress.io/destination"]` one annotation, and `spec.**` every Secret reference below
`spec` in cert-manager's spellings. Each value found comes with the concrete path it was read at (for messages) and
the container and key that hold it (for a namespace map, which rewrites it there)."""

from __future__ import annotations

import re
from collections.abc import Iterator

_TOKEN = re.compile(r'\.?([A-Za-z0-9_*-]+)|\["([^"]+)"\]|(\[\])')
EACH = ()  # the token of `[]`: every item of a list
DEEP = "**"  # the token of every Secret reference below


def tokens(path: str) -> tuple:
    """A path as tokens: field names (str) and EACH."""
    return tuple(EACH if each else (quoted or name) for name, quoted, each in _TOKEN.findall(path))


def step(where: str, key: str) -> str:
    """The concrete path one field further down."""
    if "/" in key or "." in key:
        return f'{where}["{key}"]'
    return f"{where}.{key}" if where else key


def leading(path: str) -> tuple[tuple[str, ...], tuple, str]:
    """(the path's leading plain fields, the rest of its tokens, the leading fields' concrete path): the leading
    fields can be looked up without walking (most objects lack most of them)."""
    parts = tokens(path)
    lead = []
    for token in parts[:-1]:
        if not isinstance(token, str) or token == DEEP:
            break
        lead.append(token)
    where = ""
    for token in lead:
        where = step(where, token)
    return tuple(lead), parts[len(lead):], where


def values(node, parts: tuple, where: str) -> Iterator[tuple]:
    """(value, concrete path, container, key) of every value at `parts` below `node`."""
    if not parts:
        return
    head, rest = parts[0], parts[1:]
    if head == EACH:
        if isinstance(node, list):
            for i, item in enumerate(node):
                if rest:
                    yield from values(item, rest, f"{where}[{i}]")
                else:
                    yield item, f"{where}[{i}]", node, i
        return
    if head == DEEP:
        yield from _secret_refs(node, where)
        return
    if not isinstance(node, dict) or head not in node:
        return
    here = step(where, head)
    if rest:
        yield from values(node[head], rest, here)
    else:
        yield node[head], here, node, head


def _secret_refs(node, where: str) -> Iterator[tuple]:
    """cert-manager's Secret references: every `...SecretRef`/`secretRef`/`credentialsRef` with a name, and
    `secretName` (a Certificate's issued Secret, a CA issuer's key pair)."""
    stack = [(node, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                here = f"{path}.{key}"
                if (key.endswith(("SecretRef", "secretRef")) or key == "credentialsRef") and isinstance(value, dict):
                    if isinstance(value.get("name"), str):
                        yield value["name"], here + ".name", value, "name"
                elif key == "secretName" and isinstance(value, str):
                    yield value, here, item, key
                else:
                    stack.append((value, here))
        elif isinstance(item, list):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(item))
