"""`hgbackup key generate` (cli/key.py)."""

from __future__ import annotations

import base64

from conftest import run


def test_key_generate():
    key = run("key", "generate").stdout.strip()
    assert len(base64.b64decode(key)) == 32
    assert key != run("key", "generate").stdout.strip()
