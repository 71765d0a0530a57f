"""A newcomer on a fresh machine: the README's main job as written, and the messages met on the way (issue 22)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
from datetime import datetime, timezone

import pytest
from conftest import EXAMPLE, ROOT, invoke, run

from hgbackup.capture import snapshot
from hgbackup.kube.scope import Scope
from hgbackup.store import open_store
from hgbackup.store.manifest import ClusterInfo
from hgbackup.store.repository import Repository


def _readme_block(heading: str) -> str:
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as fh:
        text = fh.read()
    section = text[text.index(heading):]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def _tree_copy(tmp_path) -> str:
    """The files git tracks (what a fresh clone holds), with a venv whose packages are this suite's (a .pth file),
    so the demo's locked install finds every requirement satisfied and needs no network."""
    copy = tmp_path / "hgbackup"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for rel in filter(None, files.decode().split("\0")):
        target = copy / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        src = os.path.join(ROOT, rel)
        target.write_bytes(open(src, "rb").read())
        target.chmod(os.stat(src).st_mode)
    subprocess.run([sys.executable, "-m", "venv", str(copy / ".venv")], check=True)
    site = subprocess.run([str(copy / ".venv/bin/python"), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True).stdout.strip()
    with open(os.path.join(site, "suite.pth"), "w", encoding="utf-8") as fh:
        fh.write(sysconfig.get_paths()["purelib"] + "\n")
    return str(copy)


def _fresh_env(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBE", "HGBACKUP_", "AWS_"))}
    env["HOME"] = str(tmp_path / "home")
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin:" + os.path.dirname(sys.executable)
    return env


def test_the_readme_main_job_runs_as_written_after_the_demo(tmp_path):
    copy = _tree_copy(tmp_path)
    block = _readme_block("## The main job, on the bundled example")
    assert block.startswith("scripts/demo\n") and "hgbackup list" in block
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=copy, env=_fresh_env(tmp_path),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-2000:])
    assert f'export PATH="{copy}/.venv/bin:$PATH"' in result.stdout  # the demo says how to call the tool
    assert "0 added, 0 removed, 0 changed, 25 unchanged" in result.stdout
    assert os.path.isdir(os.path.join(copy, "restore-me", "00-namespaces"))


def test_without_any_kubeconfig_the_error_says_what_was_looked_for(tmp_path):
    store = str(tmp_path / "store")
    run("snapshot", "--from-file", EXAMPLE, "--store", store)
    env = {"KUBECONFIG": None, "HOME": str(tmp_path), "KUBERNETES_SERVICE_HOST": None}
    for args in (["diff", "latest", "live"], ["restore", "latest", "--dry-run"]):
        result = invoke(*args, "--store", store, env=env)
        assert result.exit_code == 6, result.output
        line = result.stderr.strip()
        assert len(line.splitlines()) == 1
        for looked_for in ("--kubeconfig", "$KUBECONFIG", os.path.join(str(tmp_path), ".kube", "config"),
                           "in-cluster"):
            assert looked_for in line, line
        assert "Service host/port" not in line


def test_a_short_id_prefix_finds_the_snapshot_and_a_too_short_one_says_how_long(tmp_path):
    store = str(tmp_path / "store")
    sid = run("snapshot", "--from-file", EXAMPLE, "--store", store).stdout.strip()
    assert run("show", sid[:7], "--store", store).stdout.startswith(f"id:        {sid}")
    assert run("show", sid[:4], "--store", store).stdout.startswith(f"id:        {sid}")
    result = run("show", sid[:3], "--store", store, code=2)
    assert "at least 4 characters" in result.stderr


@pytest.mark.parametrize("command", ["show", "verify", "export", "list", "log", "forget"])
def test_offline_commands_do_not_claim_to_read_a_kube_context(command):
    text = run(command, "--help").stdout
    cluster_help = text[text.index("--cluster"):]
    cluster_help = " ".join(cluster_help[:re.search(r"\n  -", cluster_help).start()].split())
    assert "kube context" not in cluster_help and "cluster" in cluster_help


def test_export_names_the_namespace_files_it_adds(tmp_path):
    store = str(tmp_path / "store")
    run("snapshot", "--from-file", EXAMPLE, "--store", store)
    text = run("export", "latest", str(tmp_path / "out"), "--store", store).stdout
    assert "wrote 25 object(s) and 2 Namespace(s) they need (27 files)" in text


def _write(store: str, name: str, identity: str) -> str:
    repo = Repository(open_store(store))
    capture = snapshot.capture_files([EXAMPLE], Scope())
    capture.cluster = ClusterInfo(name, "v1.35.4", identity)
    return snapshot.write(repo, capture, Scope(), now=datetime.now(timezone.utc)).id


def test_a_name_two_identities_share_keeps_its_suffix_in_narrowed_listings(tmp_path):
    store = str(tmp_path / "store")
    a, b = "86315792-aaaa-4000-8000-000000000001", "1a2b3c4d-bbbb-4000-8000-000000000002"
    _write(store, "kubernetes", a)
    _write(store, "kubernetes", a)
    _write(store, "kubernetes", b)
    text = run("forget", "--cluster", "kubernetes@86315792", "--keep-last", "1", "--dry-run", "--store", store).stdout
    rows = [line for line in text.splitlines() if line.startswith(("keep", "would"))]
    assert len(rows) == 2 and all("kubernetes@86315792" in row for row in rows), text
    listed = run("list", "--cluster", "kubernetes@86315792", "-o", "json", "--store", store).stdout
    assert '"cluster": "kubernetes@86315792"' in listed and f'"identity": "{a}"' in listed


def test_the_readme_documents_every_field_of_list_json(tmp_path):
    store = str(tmp_path / "store")
    run("snapshot", "--from-file", EXAMPLE, "--store", store)

    row = json.loads(run("list", "-o", "json", "--store", store).stdout)[0]
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as fh:
        line = next(x for x in fh if x.startswith("- `list`:"))
    documented = set(re.findall(r'"(\w+)"', line))
    assert set(row) == documented, set(row) ^ documented


def test_log_options_are_accepted_after_the_command_too(tmp_path):
    store = str(tmp_path / "store")
    run("snapshot", "--from-file", EXAMPLE, "--store", store)
    result = run("show", "nope", "--store", store, "--log-format", "json", code=2)
    assert result.stderr.lstrip().startswith("{") and '"exit_code": 2' in result.stderr
    quiet = run("snapshot", "--from-file", EXAMPLE, "--store", store)
    loud = run("snapshot", "--from-file", EXAMPLE, "--store", store, "-v")
    assert "snapshot written" not in quiet.stderr and "hgbackup: snapshot written" in loud.stderr
    result = run("schedule", "render", os.path.join(ROOT, "schedules", "nightly.yaml"), "--log-format", "json")
    assert all(line.startswith("{") for line in result.stderr.splitlines()
               if "warning" in line.lower() and not line.startswith(" "))
