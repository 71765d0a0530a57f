"""Client-side encryption end to end on the local store and MinIO; wrong and missing keys; opaque archives."""

from __future__ import annotations

import base64
import dataclasses
import glob
import json
import os

import pytest
from conftest import EXAMPLE, run, secret_values

from hgbackup.store import crypto, open_store
from hgbackup.store.repository import Repository


@pytest.fixture
def store(store_args):
    return store_args


def test_encrypted_round_trip_and_opaque_archive(store, keyfile, tmp_path):
    st = ["--store", *store]
    result = run("snapshot", "--from-file", EXAMPLE, *st, "--encryption-key-file", keyfile, "-o", "json")
    assert "no encryption key" not in result.stderr
    sid = json.loads(result.stdout)["id"]
    repo = Repository(open_store(store[0], s3_endpoint=store[2] if len(store) > 2 else None))
    key = repo.resolve(sid)
    manifest = repo.snapshot(key).manifest.as_json()
    fingerprint = crypto.fingerprint(crypto.load_key(keyfile))
    assert manifest["archive"]["encryption"] == {"alg": "AES-256-GCM", "key_id": fingerprint,
                                                 "digest": "HMAC-SHA256"}
    assert manifest["auth"]["key_id"] == fingerprint and manifest["auth"]["alg"] == "HMAC-SHA256"
    data = repo.store.get(key.archive_key(True))
    assert not data.startswith(b"\x1f\x8b")  # not readable gzip
    for needle in [*secret_values(), b"nacos-auth-x7k2p", b"higress-console", b"shop-frontend", b"resources/"]:
        assert needle not in data
    assert open(keyfile).read().strip().encode() not in json.dumps(manifest).encode()

    assert "ok" in run("verify", sid, *st, "--encryption-key-file", keyfile).stdout
    shown = run("show", sid, *st, "--objects", "--encryption-key-file", keyfile).stdout
    assert "nacos-auth-x7k2p" in shown
    assert run("list", *st, "-o", "json").stdout.count('"encrypted": true') == 1
    out = tmp_path / "export"
    run("export", sid, str(out), *st, "--encryption-key-file", keyfile)
    assert len(glob.glob(f"{out}/**/*.yaml", recursive=True)) == 25 + 2  # and the two Namespaces
    run("diff", sid, EXAMPLE, *st, "--encryption-key-file", keyfile)  # decrypts, and equals its source
    env_key = {"HGBACKUP_ENCRYPTION_KEY": open(keyfile).read().strip()}
    assert "ok" in run("verify", sid, *st, env=env_key).stdout


def test_missing_and_wrong_keys_are_exit_4(store, keyfile, tmp_path):
    st = ["--store", *store]
    sid = json.loads(run("snapshot", "--from-file", EXAMPLE, *st, "--encryption-key-file", keyfile,
                         "-o", "json").stdout)["id"]
    expected = crypto.fingerprint(crypto.load_key(keyfile))
    missing = run("verify", sid, *st, code=4, env={"HGBACKUP_ENCRYPTION_KEY": ""})
    assert expected in missing.stdout
    other = tmp_path / "other"
    other.write_text(crypto.generate_key())
    for command in (["verify", sid], ["show", sid, "--objects"], ["export", sid, str(tmp_path / "x")],
                    ["diff", sid, EXAMPLE]):
        result = run(*command, *st, "--encryption-key-file", str(other), code=4)
        assert expected in result.stdout + result.stderr
    assert not os.path.exists(tmp_path / "x")


def test_bad_key_material_is_a_usage_error(tmp_path):
    bad = tmp_path / "bad"
    bad.write_text("not-base64!!")
    run("snapshot", "--from-file", EXAMPLE, "--store", str(tmp_path / "s"), "--encryption-key-file", str(bad), code=2)
    short = tmp_path / "short"
    short.write_text(base64.b64encode(b"x" * 16).decode())
    result = run("snapshot", "--from-file", EXAMPLE, "--store", str(tmp_path / "s"), "--encryption-key-file",
                 str(short), code=2)
    assert "32 bytes" in result.stderr
    assert not os.path.exists(tmp_path / "s")


def test_require_encryption_refuses_before_writing(tmp_path):
    store = tmp_path / "store"
    result = run("snapshot", "--from-file", EXAMPLE, "--store", str(store), "--require-encryption", code=2,
                 env={"HGBACKUP_ENCRYPTION_KEY": ""})
    assert "nothing was written" in result.stderr
    assert not store.exists()


def test_tampered_ciphertext_and_swapped_archives_are_refused(keyfile, tmp_path):
    store = str(tmp_path / "store")
    a = json.loads(run("snapshot", "--from-file", EXAMPLE, "--store", store, "--encryption-key-file", keyfile,
                       "-o", "json").stdout)["id"]
    b = json.loads(run("snapshot", "--from-file", EXAMPLE, "--store", store, "--encryption-key-file", keyfile,
                       "-o", "json").stdout)["id"]
    repo = Repository(open_store(store))
    ka, kb = repo.resolve(a), repo.resolve(b)
    # put b's archive under a's manifest, fixing the manifest's size and sha: the AEAD binding to the id refuses it
    data_b = repo.store.get(kb.archive_key(True))
    manifest = repo.snapshot(ka).manifest
    from hgbackup.kube.stored import sha256_hex

    forged = dataclasses.replace(manifest, archive=dataclasses.replace(manifest.archive, size=len(data_b),
                                                                       sha256=sha256_hex(data_b)))
    repo.store.put(ka.archive_key(True), data_b)
    repo.store.put(ka.manifest_key, forged.to_bytes())
    result = run("verify", a, "--store", store, "--encryption-key-file", keyfile, code=4)
    assert "failed authentication" in result.stdout
