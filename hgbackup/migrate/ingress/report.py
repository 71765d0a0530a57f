"""The migration report as Markdown, for a person who has to act on it: counts on top, then the security-relevant
findings (authentication, mTLS, IP restrictions, TLS), then per Ingress what to do, then the Ingresses left out."""

from __future__ import annotations

from ..model import Entry, Migration
from ..rules import NEEDS_WORK, NGINX, STATUSES

# Keys whose loss opens a route, drops client-certificate checks or an IP restriction, or weakens TLS.
SECURITY_KEYS = ("auth-type", "auth-secret", "auth-secret-type", "auth-realm", "auth-url", "auth-signin",
                 "auth-response-headers", "auth-method", "auth-tls-secret", "auth-tls-verify-client",
                 "auth-tls-pass-certificate-to-upstream", "whitelist-source-range", "allowlist-source-range",
                 "denylist-source-range", "ssl-redirect", "force-ssl-redirect", "ssl-ciphers", "ssl-cipher",
                 "tls-min-protocol-version", "tls-max-protocol-version", "enable-modsecurity",
                 "enable-owasp-core-rules", "modsecurity-snippet", "proxy-ssl-verify", "ssl-passthrough")


def _cell(text) -> str:
    if text is None:
        return "-"
    return str(text).replace("|", "\\|").replace("\n", "<br>")


SECURITY_SPEC = ("spec.tls",)  # spec findings of the same weight: a TLS host losing HTTPS


def is_security(entry: Entry) -> bool:
    return entry.key in SECURITY_SPEC or (entry.key.startswith(NGINX) and entry.key[len(NGINX):] in SECURITY_KEYS)


def _row(where: str, e: Entry) -> str:
    return f"| {where} | `{e.key}` | {_cell(e.value)} | {e.status.value} | {_cell(e.target)} | {_cell(e.note)} |"


def _findings(migration: Migration) -> list[str]:
    """The sections before the per-Ingress tables: invalid input files, security findings, traffic that changes."""
    lines = []
    if migration.invalid:
        lines += ["## Invalid input files", "",
                  "Left out whole, nothing of them converted; fix them and run again (exit code 2 until then).", "",
                  "| file | why |", "|---|---|"]
        lines += [f"| {_cell(i['file'])} | {_cell(i['error'])} |" for i in migration.invalid] + [""]
    header = ["| Ingress | annotation | value | status | Higress form | what to do |", "|---|---|---|---|---|---|"]
    security = [(r, e) for r in migration.reports for e in r.entries if is_security(e) and e.status in NEEDS_WORK]
    lines += ["## Security first", ""]
    if security:
        lines += ["These change who can reach a route, or how it is protected. Resolve them before cutover.", ""]
        lines += header + [_row(f"{r.namespace}/{r.name}", e) for r, e in security] + [""]
    else:
        lines += ["No authentication, mTLS, IP restriction or TLS setting needs manual work.", ""]
    traffic = [(r, e) for r in migration.reports for e in r.entries if not is_security(e) and e.status in NEEDS_WORK]
    if traffic:
        lines += ["## Traffic that changes", "",
                  "What users of these routes would see differently under Higress until each is resolved.", "",
                  "| Ingress | setting | what changes |", "|---|---|---|"]
        lines += [f"| {r.namespace}/{r.name} | `{e.key}` | {_cell(e.note)} |" for r, e in traffic] + [""]
    return lines


def markdown(migration: Migration) -> str:
    summary = migration.summary()
    lines = ["# ingress-nginx to Higress migration report", "",
             f"{len(migration.ingresses)} Ingress(es) converted, {len(migration.plugins)} plugin(s) generated, "
             f"{len(migration.skipped)} Ingress(es) left out.", "",
             "| status | annotations |", "|---|---|"]
    lines += [f"| {status.value} | {summary[status.value]} |" for status in STATUSES]
    lines.append("")
    lines += _findings(migration)

    if migration.plugins:
        lines.append("Generated plugins: " + ", ".join(
            f"`{p['metadata']['namespace']}/{p['metadata']['name']}`" for p in migration.plugins))
        lines.append("")

    lines += ["## Per Ingress", ""]
    for report in migration.reports:
        lines.append(f"### {report.namespace}/{report.name}")
        lines.append("")
        lines += [f"- {note}" for note in report.notes]
        todo = [e for e in report.entries if e.status in NEEDS_WORK]
        done = [e for e in report.entries if e.status not in NEEDS_WORK]
        if not report.entries:
            lines += ["No ingress-nginx annotations.", ""]
            continue
        lines.append(f"{len(todo)} to do, {len(done)} carried over.")
        lines.append("")
        lines.append("| annotation | value | status | Higress form | note |")
        lines.append("|---|---|---|---|---|")
        for e in todo + done:
            lines.append(f"| `{e.key}` | {_cell(e.value)} | {e.status.value} | {_cell(e.target)} | {_cell(e.note)} |")
        lines.append("")

    if migration.globals is not None:
        g = migration.globals
        lines += ["## Global settings (ingress-nginx ConfigMap)", "", f"Read from {g.source}.", "",
                  "| setting | value | status | Higress form | note |", "|---|---|---|---|---|"]
        lines += [f"| `{e.key}` | {_cell(e.value)} | {e.status.value} | {_cell(e.target)} | {_cell(e.note)} |"
                  for e in g.entries]
        lines.append("")
        if g.patch:
            import yaml

            lines += ["Merge this into the `higress` key of higress-system/higress-config (not applied: that "
                      "ConfigMap holds more than this migration knows):", "", "```yaml",
                      yaml.safe_dump(g.patch, sort_keys=True).rstrip(), "```", ""]
    if migration.skipped:
        lines += ["## Left out", "", "| Ingress | why | to include it |", "|---|---|---|"]
        lines += [f"| {s['namespace']}/{s['name']} | {_cell(s['reason'])} | `{s['flag']}` |"
                  for s in migration.skipped]
        lines.append("")
    return "\n".join(lines)


def one_line(migration: Migration) -> str:
    summary = migration.summary()
    counts = ", ".join(f"{summary[s.value]} {s.value}" for s in STATUSES if summary[s.value])
    skipped = f", {len(migration.skipped)} left out" if migration.skipped else ""
    skipped += f", {len(migration.invalid)} invalid input file(s) left out" if migration.invalid else ""
    return (f"migrated {len(migration.ingresses)} Ingress(es), generated {len(migration.plugins)} plugin(s)"
            f"{skipped}; annotations: {counts or 'none'}")
