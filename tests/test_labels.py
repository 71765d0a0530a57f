"""Kubernetes label selectors (kube/labels.py): the grammar of k8s.io/apimachinery/pkg/labels/selector.go, keys
and values as names.py holds them."""

from __future__ import annotations

import re

import pytest

from hgbackup.errors import InvalidInput
from hgbackup.kube import labels as labels_mod


@pytest.mark.parametrize("text,labels,expected", [
    ("a=b", {"a": "b"}, True),
    ("a=b", {"a": "c"}, False),
    ("a==b,c", {"a": "b", "c": ""}, True),
    ("a!=b", {}, True),
    ("!a", {"a": "x"}, False),
    ("a in (x, y)", {"a": "y"}, True),
    ("a notin (x,y),b", {"a": "z", "b": "1"}, True),
    ("higress.io/resource-definer=higress", {"higress.io/resource-definer": "higress"}, True),
    ("a=", {"a": ""}, True),
    ("  a = b ,  !c ", {"a": "b"}, True),
    ("n>5", {"n": "7"}, True),
    ("n<5", {"n": "7"}, False),
    ("n>5", {"n": "x"}, False),
])
def test_label_selectors(text, labels, expected):
    assert labels_mod.matches(labels_mod.parse_selector(text), labels) is expected


@pytest.mark.parametrize("text,why", [
    ("a=b,,=c", "',' is not a label key"),
    ("!a=b", "'!key' takes no operator"),  # was read as `!a`
    ("!a in (x)", "'!key' takes no operator"),
    ("a=b,", "separated by single commas"),
    ("a in x", "needs a parenthesised list"),
    ("a in (x", "unclosed value list"),
    ("a=b c", "separated by single commas"),
    ("-a=b", "is not a label key"),
    ("Example.COM/a=b", "is not a label key"),
    ("a=" + "v" * 64, "is not a label value"),
    ("a>x", "needs a whole number"),
    ("", "invalid label selector"),
])
def test_selectors_kubernetes_refuses_are_refused(text, why):
    with pytest.raises(InvalidInput, match=re.escape(why)):
        labels_mod.parse_selector(text)
