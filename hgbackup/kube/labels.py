"""Kubernetes label selectors: parsed once, matched against many objects' labels.

Kubernetes' grammar (k8s.io/apimachinery/pkg/labels/selector.go): comma-separated requirements, each `key`, `!key`,
`key=value`, `key==value`, `key!=value`, `key in (a,b)`, `key notin (a,b)`, `key>N` or `key<N`. Keys and values
follow names.py; anything Kubernetes would refuse is an error (exit 2).
"""

from __future__ import annotations

import re

from ..errors import InvalidInput
from . import names

_TOKEN = re.compile(r"\s*(==|!=|[!=(),<>]|[^\s!=(),<>]+)")
_END = (None, ",")  # what may follow a complete requirement

Requirement = tuple  # (key, op, values): op one of exists, !, =, !=, in, notin, <, >


def parse_selector(text: str) -> list[Requirement]:
    """A Kubernetes label selector as a list of (key, op, values); anything Kubernetes would refuse is an error."""
    tokens = _TOKEN.findall(text)
    if "".join(tokens) != re.sub(r"\s+", "", text) or not tokens:
        raise InvalidInput(f"invalid label selector {text!r}")
    return _Parser(text, tokens).requirements()


class _Parser:
    def __init__(self, text: str, tokens: list[str]):
        self.text, self.tokens, self.pos = text, tokens, 0

    def fail(self, why: str):
        raise InvalidInput(f"invalid label selector {self.text!r}: {why}")

    def take(self) -> str | None:
        self.pos += 1
        return self.tokens[self.pos - 1] if self.pos <= len(self.tokens) else None

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def key(self) -> str:
        key = self.take()
        if key is None or not names.valid_label_key(key):
            self.fail(f"{key!r} is not a label key")
        return key

    def value(self, value: str | None) -> str:
        if value is None or not names.valid_label_value(value):
            self.fail(f"{value!r} is not a label value")
        return value

    def requirements(self) -> list[Requirement]:
        reqs = []
        while True:
            reqs.append(self.requirement())
            sep = self.take()
            if sep is None:
                return reqs
            if sep != "," or self.peek() is None:
                self.fail("requirements are separated by single commas")

    def requirement(self) -> Requirement:
        if self.peek() == "!":
            self.take()
            req = (self.key(), "!", ())
            if self.peek() not in _END:
                self.fail("'!key' takes no operator or value")
            return req
        key = self.key()
        op = self.peek()
        if op in _END:
            return key, "exists", ()
        self.take()
        if op in ("=", "==", "!="):
            return key, "!=" if op == "!=" else "=", (self.value("" if self.peek() in _END else self.take()),)
        if op in ("in", "notin"):
            return key, op, self.value_list(op)
        if op in ("<", ">"):
            number = self.take()
            if number is None or not re.fullmatch(r"-?\d+", number):
                self.fail(f"'{op}' needs a whole number")
            return key, op, (int(number),)
        self.fail(f"unexpected {op!r}")

    def value_list(self, op: str) -> tuple[str, ...]:
        if self.take() != "(":
            self.fail(f"'{op}' needs a parenthesised list")
        values = []
        while True:
            values.append(self.value("" if self.peek() in (",", ")") else self.take()))
            sep = self.take()
            if sep == ")":
                return tuple(values)
            if sep != ",":
                self.fail("unclosed value list")


def matches(selector: list[Requirement], labels: dict) -> bool:
    """Whether labels satisfy every requirement of a parsed selector."""
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
