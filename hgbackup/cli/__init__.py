"""The command line: parse, call the library, render. The only package that knows Click."""

from .base import cli  # the commands are loaded on demand (base.COMMAND_MODULES)


def main() -> None:
    cli(prog_name="hgbackup")


__all__ = ["cli", "main"]
