"""The `hgbackup` group (cli/base.py): help on every command, the version, the documented exit codes, log lines
in text and JSON, errors included."""

from __future__ import annotations

import json
import re

import click
from conftest import EXAMPLE, run

from hgbackup.cli import cli
from hgbackup.cli.base import COMMAND_MODULES
from hgbackup.errors import EXIT_CODES
from hgbackup.kube import catalogue


def test_every_command_has_help_with_an_example():
    ctx = click.Context(cli)
    assert cli.list_commands(ctx) == sorted(COMMAND_MODULES)
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        result = run(name, "--help")
        assert "Example:" in result.output, name
        if hasattr(command, "commands"):
            for sub in command.commands:
                assert "Example:" in run(name, sub, "--help").output, f"{name} {sub}"


def test_version():
    assert run("--version").output.startswith("hgbackup, version ")


def test_help_lists_every_exit_code_of_the_errors_table():
    text = " ".join(run("--help").output.split())
    listed = re.findall(r"(\d+) ([^;]+?)(?:;|\.$)", text[text.index("Exit codes: ") + len("Exit codes: "):])
    assert {int(code): meaning for code, meaning in listed} == EXIT_CODES


def log_lines(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines()]


def test_json_logs_are_one_object_per_line_errors_included(tmp_path):
    store = str(tmp_path / "store")
    ok = run("--log-format", "json", "snapshot", "--from-file", EXAMPLE, "--store", store, "--cluster", "prod")
    lines = log_lines(ok.stderr)
    assert all({"time", "level", "message"} <= set(line) for line in lines)
    done = next(line for line in lines if line["message"] == "snapshot written")
    assert done["level"] == "info" and done["snapshot"] == ok.stdout.strip() and done["cluster"] == "prod"
    assert done["exit_code"] == 0 and done["objects"] > 0 and done["archive_bytes"] > 0
    assert any(line["level"] == "warning" for line in lines)  # Secrets without a key
    missing = run("snapshot", "--from-file", str(tmp_path / "nope.yaml"), "--store", store, code=5,
                  env={"HGBACKUP_LOG_FORMAT": "json"})
    [error] = log_lines(missing.stderr)
    assert error["level"] == "error" and error["exit_code"] == 5 and "nope.yaml" in error["message"]
    usage = run("--log-format", "json", "list", "--bogus", code=2)
    [error] = log_lines(usage.stderr)
    assert error["exit_code"] == 2 and "--bogus" in error["message"]


def test_text_logs_stay_quiet_without_verbose(tmp_path):
    store = str(tmp_path / "store")
    quiet = run("snapshot", "--from-file", EXAMPLE, "--store", store)
    assert "snapshot written" not in quiet.stderr and "hgbackup: warning:" in quiet.stderr
    loud = run("-v", "snapshot", "--from-file", EXAMPLE, "--store", store)
    assert "hgbackup: snapshot written snapshot=" in loud.stderr


def test_every_opt_in_of_the_catalogue_is_a_flag_of_every_scope_command():
    """The --with-* flags come from the catalogue's opt-ins (one list): each kind's opt-in is one of them, and each
    is a flag of snapshot and diff."""
    assert {k.optin for k in catalogue.KINDS if k.optin} == set(catalogue.OPTINS)
    for command in ("snapshot", "diff"):
        text = run(command, "--help").stdout
        for optin in catalogue.OPTINS:
            assert f"--with-{optin.replace('_', '-')}" in text
