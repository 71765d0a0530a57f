"""The Gateway API migration report as Markdown: counts, security first, what was generated, how to switch and go
back, then per Ingress every annotation with the object and field it became. Security keys are report.py's."""

from __future__ import annotations

from ..ingress.report import is_security
from ..model import Entry
from ..rules import NEEDS_WORK, STATUSES
from .convert import GatewayMigration


def _cell(text) -> str:
    return "-" if text is None else str(text).replace("|", "\\|").replace("\n", "<br>")


def _row(e: Entry, where: str | None = None) -> str:
    cells = ([where] if where else []) + [f"`{e.key}`", _cell(e.value), e.status.value, _cell(e.target),
                                           _cell(e.note)]
    return "| " + " | ".join(cells) + " |"


def _generated(migration: GatewayMigration) -> list[str]:
    lines = ["## Generated", "", "| kind | namespace | name |", "|---|---|---|"]
    for obj in migration.objects:
        meta = obj["metadata"]
        lines.append(f"| {obj['kind']} | {meta['namespace']} | {meta.get('name') or meta.get('generateName')} |")
    return lines + [""]


def markdown(migration: GatewayMigration) -> str:
    summary = migration.summary()
    lines = ["# ingress-nginx to Gateway API on Higress: migration report", "",
             f"{len(migration.ingresses)} Ingress(es) read; {len(migration.routes)} route(s), "
             f"{len(migration.gateways)} Gateway(s), {len(migration.grants)} ReferenceGrant(s) and "
             f"{len(migration.plugins)} plugin(s) generated; {len(migration.skipped)} Ingress(es) left out.", "",
             "| status | findings |", "|---|---|"]
    lines += [f"| {s.value} | {summary[s.value]} |" for s in STATUSES] + [""]
    header = ["| Ingress | key | value | status | Gateway API form | what to do |", "|---|---|---|---|---|---|"]
    security = [(r, e) for r in migration.reports for e in r.entries if is_security(e) and e.status in NEEDS_WORK]
    lines += ["## Security first", ""]
    if security:
        lines += ["These change who can reach a route, or how it is protected. Resolve them before switching.", ""]
        lines += header + [_row(e, f"{r.namespace}/{r.name}") for r, e in security] + [""]
    else:
        lines += ["No authentication, mTLS, IP restriction or TLS setting needs manual work.", ""]
    lines += ["## Switching over, and back", ""] + [f"- {n}" for n in migration.notes] + [""]
    lines += _generated(migration)
    lines += ["## Per Ingress", ""]
    for report in migration.reports:
        lines += [f"### {report.namespace}/{report.name}", ""] + [f"- {n}" for n in report.notes]
        if not report.entries:
            lines += ["No ingress-nginx annotations.", ""]
            continue
        todo = [e for e in report.entries if e.status in NEEDS_WORK]
        done = [e for e in report.entries if e.status not in NEEDS_WORK]
        lines += [f"{len(todo)} to do, {len(done)} carried over.", "",
                  "| key | value | status | Gateway API form | note |", "|---|---|---|---|---|"]
        lines += [_row(e) for e in todo + done] + [""]
    if migration.globals is not None:
        g = migration.globals
        lines += ["## Global settings (ingress-nginx ConfigMap)", "", f"Read from {g.source}; they apply to the "
                  "routes too (higress-config is global).", "", "| key | value | status | Higress form | note |",
                  "|---|---|---|---|---|"] + [_row(e) for e in g.entries] + [""]
    if migration.skipped:
        lines += ["## Left out", "", "| Ingress | why | to include it |", "|---|---|---|"]
        lines += [f"| {s['namespace']}/{s['name']} | {_cell(s['reason'])} | `{s['flag']}` |" for s in migration.skipped]
        lines.append("")
    return "\n".join(lines)


def one_line(migration: GatewayMigration) -> str:
    summary = migration.summary()
    counts = ", ".join(f"{summary[s.value]} {s.value}" for s in STATUSES if summary[s.value])
    skipped = f", {len(migration.skipped)} left out" if migration.skipped else ""
    return (f"migrated {len(migration.ingresses)} Ingress(es) to {len(migration.routes)} route(s), "
            f"{len(migration.gateways)} Gateway(s), {len(migration.plugins)} plugin(s){skipped}; findings: "
            f"{counts or 'none'}")
