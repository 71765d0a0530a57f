"""The keys whose value is a regular expression or refers to one: rewrite-target (with the path's capture groups)
and canary-by-header-pattern. nginx matches with PCRE (unanchored searches); Higress hands them to Envoy, which
matches with RE2 (envoy source/common/common/regex.h: FullMatch, GlobalReplace)."""

from __future__ import annotations

import re

from ..model import Entry, native, rewrite_value
from ..rules import CONVERTED, MANUAL, NGINX, Handler


def _rewrite(ctx, name, value, parsed, rule) -> Entry:
    """nginx writes `rewrite "<path>" <target> break;` (template.go buildProxyPass); Higress turns the target into an
    Envoy regex rewrite of the upstream path (rewrite.go)."""
    text = value.strip()
    if re.match(r"^https?://", text, re.IGNORECASE):
        fixed = "" if "$" in text else (f": use higress.io/temporal-redirect: {text} (Higress redirects to fixed "
                                        "URLs only) and drop rewrite-target")
        return Entry(NGINX + name, value, MANUAL, None,
                     "nginx answers the client with a 302 redirect to this URL (ngx_http_rewrite_module: a "
                     "replacement starting with http(s):// redirects); Higress would put the URL into the upstream "
                     "path and proxy to the old service (rewrite.go): users would get the old service's answer "
                     "instead of the redirect" + (fixed or ": captures and nginx variables "
                     "cannot be carried into a Higress redirect, which is a fixed URL"))
    wanted = max((int(n) for n in re.findall(r"\$(\d)", text)), default=0)
    for path in _paths(ctx.ingress):
        groups = capture_groups(path)
        if wanted > groups:
            sent = re.sub(r"[$]\d", "", text) or "/"
            return Entry(NGINX + name, value, MANUAL, None,
                         f"the path {path} has {groups} capture group(s) but the target uses ${wanted}: nginx "
                         f"substitutes an empty ${wanted} and sends every request to {sent}; Higress writes "
                         f"\\{wanted}, which Envoy's RE2 substitution refuses (more groups than the path has), "
                         "so requests reach the backend unrewritten (read in Envoy's regex.h replaceAll and RE2's "
                         "re2.cc GlobalReplace, not run on Higress's Envoy build). Fix the path or the target")
    return native(ctx, name, value, rule.note)


def _paths(ingress: dict) -> list[str]:
    return [p.get("path") or "/" for r in (ingress.get("spec") or {}).get("rules") or []
            for p in (r.get("http") or {}).get("paths") or []]


def capture_groups(pattern: str) -> int:
    """Capturing groups of a PCRE pattern as nginx counts them: `(...)`, `(?<n>...)`, `(?P<n>...)`, `(?'n'...)`;
    not `(?:...)` or lookarounds."""
    count = 0
    for i, c in _structure(pattern):
        rest = pattern[i + 1:i + 4]
        if c == "(" and (not rest.startswith("?") or rest.startswith(("?P<", "?'"))
                         or (rest.startswith("?<") and rest[2:3] not in ("=", "!"))):
            count += 1
    return count


def _structure(pattern: str):
    """(position, character) of each character of a PCRE pattern outside escapes and character classes: the
    characters that can open or close a group or split an alternation."""
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class, i = True, i + 1
            i += pattern[i:i + 1] == "^"
            i += pattern[i:i + 1] == "]"  # a ] first in a class is a literal
            continue
        else:
            yield i, c
        i += 1


# PCRE syntax RE2 (Envoy's regex engine, on both targets) does not have: lookaround, backreferences, atomic groups,
# possessive quantifiers, recursion, conditionals, \K, \G (RE2's syntax page lists them as not supported).
PCRE_ONLY = re.compile(r"\(\?(?:[=!>|]|<[=!]|R\)|\d|\()|\\[1-9KG]|[*+?}]\+")


def re2_problem(pattern: str) -> str:
    """Why an nginx (PCRE) regex cannot go to Envoy (RE2) unchanged; empty when it can."""
    if PCRE_ONLY.search(pattern):
        return f"{pattern!r} uses PCRE syntax RE2 (Envoy) lacks (lookaround, backreference, possessive ...)"
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"{pattern!r} is not a valid regex ({exc})"
    return ""


def _header_pattern(ctx, name, value, parsed, rule) -> Entry:
    """nginx searches the header for the pattern anywhere (balancer.lua ngx.re.match); Higress matches
    `.*<pattern>.*` whole (canary.go ApplyByHeader, Envoy RE2 FullMatch), which splits a top-level alternation."""
    if PCRE_ONLY.search(value):
        return Entry(NGINX + name, value, MANUAL, None,
                     "Envoy matches with RE2, which has no lookarounds, atomic groups, backreferences or possessive "
                     "quantifiers: this pattern cannot select canary requests under Higress; rewrite it without "
                     "them")
    if not _top_level_alternation(value):
        return native(ctx, name, value, rule.note)
    target = rewrite_value(ctx, name, f"(?:{value})")
    return Entry(NGINX + name, value, CONVERTED, target,
                 f"Higress matches .*<pattern>.* as a whole, which splits {value} into .*{value}.*: a header such "
                 f"as cd-1 that nginx sent to the canary would miss it; grouped, it means the same to both "
                 "controllers")


def _top_level_alternation(pattern: str) -> bool:
    depth = 0
    for _, c in _structure(pattern):
        depth += (c == "(") - (c == ")")
        if c == "|" and depth == 0:
            return True
    return False


HANDLERS = {Handler.REWRITE: _rewrite, Handler.HEADER_PATTERN: _header_pattern}
