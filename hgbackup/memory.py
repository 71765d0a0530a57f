"""The cyclic garbage collector, paused where hgbackup builds many small objects that hold no cycles.

A snapshot of 10,000 objects allocates a few million dicts, lists and tuples (decoded LIST pages, stored forms,
records); every allocation burst triggers a collection, and each full collection rescans everything still alive
(the kubernetes client's modules, the records kept so far). Measured on a LIST of 10,000 Ingresses: 0.9 s with the
collector, 0.6 s without it. Reference counting still frees everything these objects release.
"""

from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def collector_paused(freeze: bool = True):
    """No cyclic collection inside; with `freeze`, what survives is moved out of later collections' way."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if enabled:
            gc.enable()
