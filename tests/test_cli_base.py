"""The `hgbackup` group (cli/base.py): help on every command, the version, the documented exit codes."""

from __future__ import annotations

import re

import click
from conftest import run

from hgbackup.cli import cli
from hgbackup.cli.base import COMMAND_MODULES
from hgbackup.errors import EXIT_CODES


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
