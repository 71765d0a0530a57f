"""Restore a snapshot in dependency order: plan first, then apply tier by tier.

`run()` is the whole verb (used by `restore` and `migrate --apply`): capture what the restore may touch, plan,
confirm, take the safety snapshot, execute, and return a `RestoreReport` whatever happened on the way.
`plan()` reads the target (discovery, one LIST per kind and namespace) and decides, per object, what would happen;
it writes nothing. `execute()` carries the plan out: missing CRDs first (waiting until Established), missing
namespaces, then each tier's objects concurrently with server-side apply (field manager `hgbackup`). Every object
ends with one result; one failed object never stops the rest. When the cluster itself stops answering or refuses
us (a lost connection, a revoked identity), no further tier is started and every object not applied is reported
as failed.
"""

from .choose import (
    choose,
    content_sha,
    desired_form,
    map_namespaces,
    parse_namespace_map,
    prune_scope,
    safety_scope,
)
from .closure import Closure
from .execute import execute
from .plan import plan, prune_steps
from .records import (
    DISASTER_RECOVERY,
    LIVE_CLUSTER,
    SAFETY_TAGS,
    SAME_CLUSTER,
    WRITTEN,
    Action,
    Execution,
    Existing,
    Intent,
    Plan,
    RestoreOptions,
    RestoreReport,
    RestoreRequest,
    Result,
    Step,
)
from .run import restore_snapshot, run, source_info

__all__ = ["DISASTER_RECOVERY", "LIVE_CLUSTER", "SAME_CLUSTER",
           "SAFETY_TAGS", "WRITTEN", "Action", "Closure", "Execution", "Existing", "Intent", "Plan", "RestoreOptions",
           "RestoreReport", "RestoreRequest", "Result", "Step", "choose", "content_sha", "desired_form", "execute",
           "map_namespaces", "parse_namespace_map", "plan", "prune_scope", "prune_steps", "restore_snapshot", "run",
           "safety_scope", "source_info"]
