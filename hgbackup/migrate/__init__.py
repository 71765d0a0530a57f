"""ingress-nginx -> Higress conversion: a rules table (rules.py), a few handlers (convert.py), a report (report.py),
and the apply step (apply.py) that hands the result to the restore machinery."""

from .apply import MigrationOutcome, apply_request, merge_live_plugins
from .convert import CUTOVER, SIDE_BY_SIDE, MigrateOptions, Migration, migrate, select_ingresses

__all__ = ["CUTOVER", "SIDE_BY_SIDE", "MigrateOptions", "Migration", "MigrationOutcome", "apply_request",
           "merge_live_plugins", "migrate",
           "select_ingresses"]
