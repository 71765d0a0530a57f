"""The Gateway API migration report as Markdown: counts, security first, what was generated, how to switch and go
back, then per Ingress every annotation with the object and field it became (the shared pieces: migrate/report.py)."""

from __future__ import annotations

from .. import report
from .convert import GatewayMigration

COLUMNS = ("key", "Gateway API form")


def _generated(migration: GatewayMigration) -> list[str]:
    lines = ["## Generated", "", "| kind | namespace | name |", "|---|---|---|"]
    for obj in migration.objects:
        meta = obj["metadata"]
        lines.append(f"| {obj['kind']} | {meta['namespace']} | {meta.get('name') or meta.get('generateName')} |")
    return lines + [""]


def markdown(migration: GatewayMigration) -> str:
    lines = ["# ingress-nginx to Gateway API on Higress: migration report", "",
             f"{len(migration.ingresses)} Ingress(es) read; {len(migration.routes)} route(s), "
             f"{len(migration.gateways)} Gateway(s), {len(migration.grants)} ReferenceGrant(s) and "
             f"{len(migration.plugins)} plugin(s) generated; {len(migration.skipped)} Ingress(es) left out.", ""]
    lines += report.counts(migration, "findings") + report.security(migration, *COLUMNS, "switching")
    lines += ["## Switching over, and back", ""] + [f"- {n}" for n in migration.notes] + [""]
    lines += _generated(migration) + report.per_ingress(migration, *COLUMNS)
    lines += report.global_settings(migration, "; they apply to the routes too (higress-config is global)")
    return "\n".join(lines + report.left_out(migration))


def one_line(migration: GatewayMigration) -> str:
    skipped = f", {len(migration.skipped)} left out" if migration.skipped else ""
    return (f"migrated {len(migration.ingresses)} Ingress(es) to {len(migration.routes)} route(s), "
            f"{len(migration.gateways)} Gateway(s), {len(migration.plugins)} plugin(s){skipped}; findings: "
            f"{report.count_text(migration)}")
