"""Ingress paths as Gateway API matches, and rewrite-target as URLRewrite, with nginx's semantics.

ingress-nginx (internal/ingress/controller/template/template.go): when any location of a host has use-regex or a
rewrite-target, every location of that host is `~* "^<path>"` (enforceRegexModifier, buildLocation): a
case-insensitive regex matched from the start, PCRE. The rewrite is `rewrite "(?i)<path>" <target> break;`
(buildProxyPass): the whole URI becomes the target, `$n` are the path regex's groups.
Higress (pkg/ingress/kube/gateway/istio/conversion.go): RegularExpression is passed to Envoy as an RE2 regex matched
against the whole path (createURIMatch); ReplaceFullPath becomes a regex rewrite of `/.*` (no groups), and
ReplacePrefixMatch a prefix rewrite (createRewriteFilter). The Gateway API CRDs only accept PathPrefix/Exact values
made of URL path characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..ingress.regexes import re2_problem

# What the httproutes CRD accepts for a PathPrefix or Exact value (and neither `//`, `/./`, `/../`, `%2f`).
PLAIN_PATH = re.compile(r"^/(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|%[0-9a-fA-F]{2})*$")
STRIP_PREFIX = re.compile(r"^(/[-A-Za-z0-9/._~]*?)(/?)\((?:/\|\$|\$\|/)\)\(\.\*\)$")  # /api(/|$)(.*)
STRIP_SLASH = re.compile(r"^(/[-A-Za-z0-9/._~]*?)/\(\.\*\)$")  # /api/(.*)
TARGET_GROUP = re.compile(r"^(/[-A-Za-z0-9/._~]*?)/?\$(\d)$")  # /$2, /new/$1


@dataclass
class PathMatch:
    """One Ingress path as an HTTPRoute match, the URLRewrite path it needs, and what a person should know."""

    match: dict | None  # None: not expressible
    rewrite: dict | None = None
    note: str = ""
    problem: str = ""  # not carried over: why


def plain_path_problem(path: str) -> str:
    if not PLAIN_PATH.match(path) or "//" in path or "/./" in path or "/../" in path or "%2f" in path.lower():
        return f"{path!r} is not a plain URL path, which PathPrefix and Exact require"
    return ""


def path_match(path: str, path_type: str, regex: bool) -> PathMatch:
    """The match for one Ingress path. In regex mode nginx matches `~* ^<path>`: the same as the whole-path RE2
    `(?i)<path>.*` where the pattern is RE2."""
    if regex:
        problem = re2_problem(path)
        if problem:
            return PathMatch(None, problem=problem)
        return PathMatch({"path": {"type": "RegularExpression", "value": f"(?i){path}.*"}},
                         note="regex path matched case-insensitively from the start, as nginx did")
    problem = plain_path_problem(path)
    if problem:
        return PathMatch(None, problem=problem + " (nginx matched it as a literal prefix)")
    if path_type == "Exact":
        return PathMatch({"path": {"type": "Exact", "value": path}})
    note = ""
    if path_type == "ImplementationSpecific" and path != "/" and not path.endswith("/"):
        note = (f"ImplementationSpecific {path}: nginx matched it as a string prefix ({path}x too); PathPrefix "
                "matches whole path segments")
    return PathMatch({"path": {"type": "PathPrefix", "value": path}}, note=note)


def rewrite_for(path: str, path_type: str, regex: bool, target: str) -> PathMatch:
    """Path match plus URLRewrite for `rewrite-target: target`; never a literal `$1` in a rewrite."""
    if target.startswith(("http://", "https://")):
        return PathMatch(None, problem="a rewrite-target URL makes nginx redirect the client; Higress would put it "
                                       "into the upstream path: write a RequestRedirect by hand")
    if "?" in target or "\\" in target:
        return PathMatch(None, problem="URLRewrite cannot set a query string or regex escapes")
    if "$" not in target:
        base = path_match(path, path_type, regex)
        if base.match is None:
            return base
        base.rewrite = {"type": "ReplaceFullPath", "replaceFullPath": target}
        return base
    group = TARGET_GROUP.match(target)
    strip = STRIP_PREFIX.match(path) or STRIP_SLASH.match(path)
    if group and strip:
        prefix = strip.group(1) or "/"
        wanted = "2" if STRIP_PREFIX.match(path) else "1"
        if group.group(2) == wanted and not plain_path_problem(prefix):
            new = group.group(1) or "/"
            note = (f"{path} -> {target} is a prefix replacement: PathPrefix {prefix} with ReplacePrefixMatch "
                    f"{new} (matched case-sensitively; nginx matched case-insensitively)")
            return PathMatch({"path": {"type": "PathPrefix", "value": prefix}},
                             {"type": "ReplacePrefixMatch", "replacePrefixMatch": new}, note)
    return PathMatch(None, problem=(
        f"capture groups ({target} from {path}) are not expressible in URLRewrite: Higress rewrites ReplaceFullPath "
        "as the regex /.* without groups; write this rewrite by hand (a literal $n would reach the backend)"))


def grpc_match(path: str, path_type: str) -> PathMatch:
    """A gRPC path (`/`, `/pkg.Service`, `/pkg.Service/Method`) as a GRPCRoute method match."""
    if path in ("", "/") and path_type != "Exact":
        return PathMatch({})
    parts = path.strip("/").split("/")
    name = re.compile(r"^[A-Za-z_][A-Za-z_0-9]*(\.[A-Za-z_][A-Za-z_0-9]*)*$")
    if len(parts) == 1 and name.match(parts[0]) and path_type != "Exact":
        return PathMatch({"method": {"type": "Exact", "service": parts[0]}})
    if len(parts) == 2 and name.match(parts[0]) and re.match(r"^[A-Za-z_][A-Za-z_0-9]*$", parts[1]):
        return PathMatch({"method": {"type": "Exact", "service": parts[0], "method": parts[1]}})
    return PathMatch(None, problem=f"gRPC path {path!r} is not /, /<service> or /<service>/<method>")
