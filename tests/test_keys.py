"""Key files and key checks (issue 24): a key file is read as bytes in one of two forms, and `key fingerprint
--store` says a snapshot opens only after its manifest authenticated with the key (on the real MinIO)."""

from __future__ import annotations

import base64
import json
import os

import pytest
from conftest import EXAMPLE, invoke, run

from hgbackup.store import crypto, open_store
from hgbackup.store.repository import Repository

KEY = bytes(range(200, 232))  # not UTF-8 (0xc8 ... 0xe7), as a raw key file may be
ACCEPTED = {
    "raw 32 bytes": KEY,
    "raw 32 bytes of 0xff": b"\xff" * 32,
    "base64": base64.b64encode(KEY),
    "base64 and a newline": base64.b64encode(KEY) + b"\n",
    "base64 and CRLF": base64.b64encode(KEY) + b"\r\n",
}
REFUSED = {
    "empty": b"",
    "31 raw bytes": KEY[:31],
    "33 raw bytes, not UTF-8": b"\xff" + KEY,
    "raw key and a newline": KEY + b"\n",
    "base64 of 31 bytes": base64.b64encode(KEY[:31]) + b"\n",
    "base64 with junk after it": base64.b64encode(KEY) + b"\n\xff\xfe",
    "two newlines": base64.b64encode(KEY) + b"\n\n",
    "a large file": os.urandom(1 << 16),
}


def material(data: bytes) -> list[str]:
    """Ways a key file's bytes could leak into a message: escaped, hex, base64, or any byte as 0x.. / \\x.."""
    found = [data.hex()[:16], base64.b64encode(data)[:12].decode(), repr(data)[2:14]]
    found += [f"0x{b:02x}" for b in set(data) if b > 0x7F] + [f"\\x{b:02x}" for b in set(data) if b > 0x7F]
    return [m for m in found if len(m) >= 4]


@pytest.mark.parametrize("form", sorted(ACCEPTED))
def test_accepted_key_file_forms(form, tmp_path):
    path = tmp_path / "key"
    path.write_bytes(ACCEPTED[form])
    expected = b"\xff" * 32 if "0xff" in form else KEY
    assert crypto.load_key(str(path)) == expected
    result = run("key", "fingerprint", str(path))
    assert result.stdout.strip() == crypto.fingerprint(expected)


@pytest.mark.parametrize("form", sorted(REFUSED))
@pytest.mark.parametrize("command", ["fingerprint", "list"])
def test_any_other_key_file_is_exit_2_naming_the_forms_without_key_material(form, command, tmp_path):
    path = tmp_path / "key"
    path.write_bytes(REFUSED[form])
    store = tmp_path / "store"
    store.mkdir()
    args = (["key", "fingerprint", str(path)] if command == "fingerprint"
            else ["list", "--store", str(store), "--encryption-key-file", str(path)])
    for log_format in ("text", "json"):
        result = invoke("--log-format", log_format, "-v", *args)
        assert result.exit_code == 2, (result.exit_code, result.output, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, lines
        text = json.loads(lines[0])["message"] if log_format == "json" else lines[0]
        assert "32 raw bytes" in text and "base64 of 32 bytes" in text and str(path) in text
        for leak in material(REFUSED[form]):
            assert leak not in result.stderr and leak not in result.stdout, leak


def test_a_key_in_the_environment_is_base64_text_and_its_errors_hold_no_key(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    assert run("list", "--store", str(store), env={crypto.KEY_ENV: base64.b64encode(KEY).decode()})
    bad = base64.b64encode(KEY[:31]).decode()
    result = run("list", "--store", str(store), env={crypto.KEY_ENV: bad}, code=2)
    assert "base64 of 32 bytes" in result.stderr and bad[:8] not in result.stderr


# -- key fingerprint --store (on the real MinIO) ---------------------------------------------------------------------
@pytest.fixture
def s3_store(testenv, bucket) -> list[str]:
    return ["--store", f"s3://{bucket}/h", "--s3-endpoint", testenv["HGBACKUP_TEST_S3_ENDPOINT"]]


def keys(tmp_path) -> tuple[str, str]:
    a, b = tmp_path / "a.key", tmp_path / "b.key"
    run("key", "generate", "-o", str(a))
    run("key", "generate", "-o", str(b))
    return str(a), str(b)


def snapshot(st: list[str], keyfile: str) -> str:
    return json.loads(run("snapshot", "--from-file", EXAMPLE, *st, "--encryption-key-file", keyfile,
                          "-o", "json").stdout)["id"]


def repo_of(st: list[str]) -> Repository:
    return Repository(open_store(st[1], s3_endpoint=st[3]))


@pytest.mark.s3
def test_relabelled_and_corrupted_manifests_are_unreadable_not_opened(s3_store, tmp_path):
    """Two snapshots encrypted with key A and relabelled with key B's fingerprint, one corrupted manifest, one
    honest snapshot of B: B opens one (what `list` with B reads), three cannot be read, exit 4."""
    a, b = keys(tmp_path)
    fingerprint_b = crypto.fingerprint(crypto.load_key(b))
    relabelled = [snapshot(s3_store, a) for _ in range(2)]
    corrupted, honest = snapshot(s3_store, b), snapshot(s3_store, b)
    repo = repo_of(s3_store)
    for sid in relabelled:
        key = repo.resolve(sid)
        doc = json.loads(repo.store.get(key.manifest_key))
        doc["auth"]["key_id"] = doc["archive"]["encryption"]["key_id"] = fingerprint_b
        repo.store.put(key.manifest_key, json.dumps(doc).encode())
    key = repo.resolve(corrupted)
    repo.store.put(key.manifest_key, repo.store.get(key.manifest_key)[:-40])

    result = run("key", "fingerprint", b, *s3_store, "-o", "json", code=4)
    doc = json.loads(result.stdout)
    assert doc["opens"] == [honest] and doc["other_key"] == [] and doc["unencrypted"] == []
    assert sorted(u["id"] for u in doc["unreadable"]) == sorted([*relabelled, corrupted])
    assert all(u["error"] for u in doc["unreadable"])
    listed = json.loads(run("list", *s3_store, "--encryption-key-file", b, "-o", "json", code=4).stdout)
    assert [s["id"] for s in listed] == doc["opens"]  # the key check and a reader agree
    text = run("key", "fingerprint", b, *s3_store, code=4).stdout
    assert "3 cannot be read" in text and all(sid in text for sid in [*relabelled, corrupted])


@pytest.mark.s3
def test_snapshots_of_another_key_and_plaintext_ones_are_told_apart(s3_store, tmp_path):
    a, b = keys(tmp_path)
    mine, theirs = snapshot(s3_store, a), snapshot(s3_store, b)
    plain = json.loads(run("snapshot", "--from-file", EXAMPLE, *s3_store, "-o", "json").stdout)["id"]
    doc = json.loads(run("key", "fingerprint", a, *s3_store, "-o", "json", code=1).stdout)
    assert doc == {"fingerprint": crypto.fingerprint(crypto.load_key(a)), "opens": [mine], "other_key": [theirs],
                   "unencrypted": [plain], "unreadable": []}
