"""ingress-nginx -> Higress: the annotation table (rules.py, each row naming the source it follows), the records every
path shares (model.py), plugin generation (plugins.py), ingress-nginx's global ConfigMap (globals.py), the two targets
(ingress/: Higress Ingresses; gatewayapi/: Gateway API routes) and the apply step (apply.py) that hands the result to
the restore machinery."""

from .apply import MigrationOutcome, apply_request, merge_live_plugins
from .ingress.convert import migrate, select_ingresses
from .model import CUTOVER, SIDE_BY_SIDE, MigrateOptions, Migration

__all__ = ["CUTOVER", "SIDE_BY_SIDE", "MigrateOptions", "Migration", "MigrationOutcome", "apply_request",
           "merge_live_plugins", "migrate",
           "select_ingresses"]
