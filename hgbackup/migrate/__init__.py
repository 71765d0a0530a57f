"""ingress-nginx -> Higress conversion: a rules table (rules.py), a few handlers (convert.py), a report (report.py)."""

from .convert import CUTOVER, SIDE_BY_SIDE, Migration, Options, migrate, select_ingresses

__all__ = ["CUTOVER", "SIDE_BY_SIDE", "Migration", "Options", "migrate", "select_ingresses"]
