"""The migration report as Markdown, for a person who has to act on it: counts on top, then the security-relevant
findings (authentication, mTLS, IP restrictions, TLS), then per Ingress what to do, then the Ingresses left out."""

from __future__ import annotations

from .. import report
from ..model import Migration
from ..rules import NEEDS_WORK

COLUMNS = ("annotation", "Higress form")


def _findings(migration: Migration) -> list[str]:
    """The sections before the per-Ingress tables: invalid input files, security findings, traffic that changes."""
    lines = []
    if migration.invalid:
        lines += ["## Invalid input files", "",
                  "Left out whole, nothing of them converted; fix them and run again (exit code 2 until then).", "",
                  "| file | why |", "|---|---|"]
        lines += [f"| {report.cell(i['file'])} | {report.cell(i['error'])} |" for i in migration.invalid] + [""]
    lines += report.security(migration, *COLUMNS, "cutover")
    traffic = [(r, e) for r in migration.reports for e in r.entries
               if not report.is_security(e) and e.status in NEEDS_WORK]
    if traffic:
        lines += ["## Traffic that changes", "",
                  "What users of these routes would see differently under Higress until each is resolved.", "",
                  "| Ingress | setting | what changes |", "|---|---|---|"]
        lines += [f"| {r.namespace}/{r.name} | `{e.key}` | {report.cell(e.note)} |" for r, e in traffic] + [""]
    return lines


def markdown(migration: Migration) -> str:
    lines = ["# ingress-nginx to Higress migration report", "",
             f"{len(migration.ingresses)} Ingress(es) converted, {len(migration.plugins)} plugin(s) generated, "
             f"{len(migration.skipped)} Ingress(es) left out.", ""]
    lines += report.counts(migration, "annotations") + _findings(migration)
    if migration.plugins:
        lines += ["Generated plugins: " + ", ".join(
            f"`{p['metadata']['namespace']}/{p['metadata']['name']}`" for p in migration.plugins), ""]
    lines += report.per_ingress(migration, *COLUMNS) + report.global_settings(migration) + report.left_out(migration)
    return "\n".join(lines)


def one_line(migration: Migration) -> str:
    skipped = f", {len(migration.skipped)} left out" if migration.skipped else ""
    skipped += f", {len(migration.invalid)} invalid input file(s) left out" if migration.invalid else ""
    return (f"migrated {len(migration.ingresses)} Ingress(es), generated {len(migration.plugins)} plugin(s)"
            f"{skipped}; annotations: {report.count_text(migration)}")
