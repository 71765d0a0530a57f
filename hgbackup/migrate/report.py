"""The Markdown report a person acts on, in the pieces both targets' reports are made of (ingress/report.py,
gatewayapi/report.py): the counts, the security findings first, a table per Ingress, ingress-nginx's global
settings, the Ingresses left out. `key` and `form` name the columns of what was read and what it became
("annotation", "Higress form" on the Ingress path; "key", "Gateway API form" on the Gateway API path).
"""

from __future__ import annotations

import yaml

from .model import Entry, Migration
from .rules import NEEDS_WORK, NGINX, STATUSES

# Keys whose loss opens a route, drops client-certificate checks or an IP restriction, or weakens TLS.
SECURITY_KEYS = ("auth-type", "auth-secret", "auth-secret-type", "auth-realm", "auth-url", "auth-signin",
                 "auth-response-headers", "auth-method", "auth-tls-secret", "auth-tls-verify-client",
                 "auth-tls-pass-certificate-to-upstream", "whitelist-source-range", "allowlist-source-range",
                 "denylist-source-range", "ssl-redirect", "force-ssl-redirect", "ssl-ciphers", "ssl-cipher",
                 "tls-min-protocol-version", "tls-max-protocol-version", "enable-modsecurity",
                 "enable-owasp-core-rules", "modsecurity-snippet", "proxy-ssl-verify", "ssl-passthrough")
SECURITY_SPEC = ("spec.tls",)  # spec findings of the same weight: a TLS host losing HTTPS


def is_security(entry: Entry) -> bool:
    return entry.key in SECURITY_SPEC or (entry.key.startswith(NGINX) and entry.key[len(NGINX):] in SECURITY_KEYS)


def cell(text) -> str:
    return "-" if text is None else str(text).replace("|", "\\|").replace("\n", "<br>")


def row(e: Entry, where: str | None = None) -> str:
    cells = ([where] if where else []) + [f"`{e.key}`", cell(e.value), e.status.value, cell(e.target), cell(e.note)]
    return "| " + " | ".join(cells) + " |"


def counts(migration: Migration, what: str) -> list[str]:
    summary = migration.summary()
    return [f"| status | {what} |", "|---|---|"] + [f"| {s.value} | {summary[s.value]} |" for s in STATUSES] + [""]


def security(migration: Migration, key: str, form: str, before: str) -> list[str]:
    """The findings that change who can reach a route or how it is protected, to resolve `before` the switch."""
    found = [(r, e) for r in migration.reports for e in r.entries if is_security(e) and e.status in NEEDS_WORK]
    lines = ["## Security first", ""]
    if not found:
        return lines + ["No authentication, mTLS, IP restriction or TLS setting needs manual work.", ""]
    lines += [f"These change who can reach a route, or how it is protected. Resolve them before {before}.", "",
              f"| Ingress | {key} | value | status | {form} | what to do |",
              "|---|---|---|---|---|---|"]
    return lines + [row(e, f"{r.namespace}/{r.name}") for r, e in found] + [""]


def per_ingress(migration: Migration, key: str, form: str) -> list[str]:
    lines = ["## Per Ingress", ""]
    for report in migration.reports:
        lines += [f"### {report.namespace}/{report.name}", ""] + [f"- {note}" for note in report.notes]
        if not report.entries:
            lines += ["No ingress-nginx annotations.", ""]
            continue
        todo = [e for e in report.entries if e.status in NEEDS_WORK]
        done = [e for e in report.entries if e.status not in NEEDS_WORK]
        lines += [f"{len(todo)} to do, {len(done)} carried over.", "",
                  f"| {key} | value | status | {form} | note |",
                  "|---|---|---|---|---|"]
        lines += [row(e) for e in todo + done] + [""]
    return lines


def global_settings(migration: Migration, read_from: str = "") -> list[str]:
    """ingress-nginx's ConfigMap, when one was read, and the patch for higress-config it makes (never applied)."""
    g = migration.globals
    if g is None:
        return []
    lines = ["## Global settings (ingress-nginx ConfigMap)", "", f"Read from {g.source}{read_from}.", "",
             "| setting | value | status | Higress form | note |", "|---|---|---|---|---|"]
    lines += [row(e) for e in g.entries] + [""]
    if g.patch:
        lines += ["Merge this into the `higress` key of higress-system/higress-config (not applied: that ConfigMap "
                  "holds more than this migration knows):", "", "```yaml",
                  yaml.safe_dump(g.patch, sort_keys=True).rstrip(), "```", ""]
    return lines


def left_out(migration: Migration) -> list[str]:
    if not migration.skipped:
        return []
    lines = ["## Left out", "", "| Ingress | why | to include it |", "|---|---|---|"]
    lines += [f"| {s['namespace']}/{s['name']} | {cell(s['reason'])} | {_flag(s['flag'])} |" for s in migration.skipped]
    return lines + [""]


def _flag(flag: str | None) -> str:
    return f"`{flag}`" if flag else "none: hgbackup never writes it"


def count_text(migration: Migration) -> str:
    """The statuses that occur, for the one line on stderr: `3 native, 1 manual`."""
    summary = migration.summary()
    return ", ".join(f"{summary[s.value]} {s.value}" for s in STATUSES if summary[s.value]) or "none"
