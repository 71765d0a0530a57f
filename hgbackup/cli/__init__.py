"""The command line: parse, call the library, render. The only package that knows Click."""

from . import diff, migrate, restore, schedule, snapshots  # noqa: F401  (registers the commands)
from .base import cli


def main() -> None:
    cli(prog_name="hgbackup")


__all__ = ["cli", "main"]
