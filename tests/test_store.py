"""Opening a store from its URL (store/__init__.py): a store that is not there, a file, an unknown scheme or an
endpoint without a scheme is said in one line with its exit code, and nothing is created."""

from __future__ import annotations

import os

from conftest import EXAMPLE, run


def test_a_store_that_does_not_exist_is_exit_5_for_every_read(tmp_path):
    missing = str(tmp_path / "typo")
    for args in (["list"], ["show", "latest"], ["verify", "--all"], ["forget", "--keep-last", "1"]):
        result = run(*args, "--store", missing, code=5)
        assert f"no store at {missing}" in result.stderr, args
    assert not os.path.exists(missing)


def test_a_store_path_that_is_a_file_or_an_unknown_scheme_is_exit_2(tmp_path, monkeypatch):
    path = tmp_path / "file"
    path.write_text("x")
    assert "is a file, not a folder" in run("list", "--store", str(path), code=2).stderr
    monkeypatch.chdir(tmp_path)
    result = run("snapshot", "--from-file", EXAMPLE, "--store", "gs://bucket/x", code=2)
    assert "unknown scheme gs://" in result.stderr
    assert not (tmp_path / "gs:").exists()


def test_an_s3_endpoint_without_a_scheme_is_exit_2():
    result = run("list", "--store", "s3://bucket/x", "--s3-endpoint", "127.0.0.1:9000", code=2)
    assert "needs a scheme: http://127.0.0.1:9000" in result.stderr
