"""The migration report as Markdown: a table per Ingress and a summary."""

from __future__ import annotations

from .convert import Migration
from .rules import STATUSES


def _cell(text) -> str:
    if text is None:
        return "-"
    return str(text).replace("|", "\\|").replace("\n", "<br>")


def markdown(migration: Migration) -> str:
    lines = ["# ingress-nginx to Higress migration report", ""]
    summary = migration.summary()
    lines.append("| status | annotations |")
    lines.append("|---|---|")
    lines += [f"| {status.value} | {summary[status.value]} |" for status in STATUSES]
    lines.append("")
    if migration.plugins:
        lines.append("Generated plugins: " + ", ".join(
            f"`{p['metadata']['namespace']}/{p['metadata']['name']}`" for p in migration.plugins))
        lines.append("")
    for report in migration.reports:
        lines.append(f"## {report.namespace}/{report.name}")
        lines.append("")
        if not report.entries:
            lines += ["No ingress-nginx annotations.", ""]
            continue
        lines.append("| annotation | value | status | Higress form | note |")
        lines.append("|---|---|---|---|---|")
        for e in report.entries:
            lines.append(f"| `{e.key}` | {_cell(e.value)} | {e.status.value} | {_cell(e.target)} | {_cell(e.note)} |")
        lines.append("")
    return "\n".join(lines)


def one_line(migration: Migration) -> str:
    summary = migration.summary()
    counts = ", ".join(f"{summary[s.value]} {s.value}" for s in STATUSES if summary[s.value])
    return (f"migrated {len(migration.ingresses)} Ingress(es), generated {len(migration.plugins)} plugin(s); "
            f"annotations: {counts or 'none'}")
