"""The `hgbackup` group, its error mapping, the options shared by several commands, and how a command ends.

Shared options are read here once (command line or environment) and handed to a command as values: `store` a
StoreSettings, `kube` a KubeSettings, `scope` a Scope, `keyring` the encryption key (or None). A command body is:
parse, call one library function, render, `finish(report)`; the exit code comes from the report or the exception.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import textwrap
import traceback

import click

from .. import __version__, logs
from ..errors import EXIT_CODES, EXIT_INTERNAL, HgbackupError, InvalidInput
from ..kube import catalogue, names
from ..kube.client import DEFAULT_TIMEOUT, RETRY_WINDOW_WORDS, KubeSettings
from ..kube.scope import DEFAULT_SECRET_SELECTOR, OPTIN_FLAGS, Scope, optins_of
from ..output import document
from ..store import DEFAULT_URL, SSE_MODES, StoreSettings, crypto
from ..store.repository import Repository

# errors.EXIT_CODES as the group's epilog, wrapped here (\b: Click keeps these lines as they are)
EXIT_CODES_HELP = "\b\n" + "\n".join(textwrap.wrap(
    "Exit codes: " + "; ".join(f"{code} {meaning}" for code, meaning in EXIT_CODES.items()) + ".", 79,
    break_on_hyphens=False))


one_line = logs.one_line


# Each command's module, imported only when the command runs (or help lists it): a nightly `snapshot` does not pay
# for the migration tables, and the whole CLI starts faster.
COMMAND_MODULES = {"snapshot": "snapshots", "list": "snapshots", "show": "snapshots", "verify": "snapshots",
                   "export": "snapshots", "diff": "diff", "restore": "restore", "forget": "forget",
                   "schedule": "schedule", "key": "key", "migrate": "migrate", "log": "timeline", "check": "check"}


class HgGroup(click.Group):
    """Loads commands on demand; maps hgbackup's exceptions to one line on stderr and the documented exit code."""

    def list_commands(self, ctx):
        return sorted(set(COMMAND_MODULES) | set(self.commands))

    def get_command(self, ctx, name):
        if name not in self.commands and name in COMMAND_MODULES:
            importlib.import_module(f"{__package__}.{COMMAND_MODULES[name]}")
        command = super().get_command(ctx, name)
        if command is not None:
            _accept_global_options(command)
        return command

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except HgbackupError as exc:
            command = ctx.invoked_subcommand
            logs.error(str(exc), command=command, exit_code=exc.exit_code, error=exc.__class__.__name__)
            ctx.exit(exc.exit_code)
        except click.ClickException as exc:
            if not logs.json_lines():
                raise
            logs.error(exc.format_message(), command=ctx.invoked_subcommand, exit_code=exc.exit_code,
                       error="UsageError")
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            logs.error("interrupted", command=ctx.invoked_subcommand, exit_code=130)
            ctx.exit(130)
        except Exception as exc:  # noqa: BLE001 - anything else is our bug: say so in one line, trace only on request
            if os.environ.get("HGBACKUP_DEBUG"):
                traceback.print_exc()
            logs.internal(f"{exc.__class__.__name__}: {exc}", command=ctx.invoked_subcommand,
                          exit_code=EXIT_INTERNAL)
            ctx.exit(EXIT_INTERNAL)


@click.group(cls=HgGroup, epilog=EXIT_CODES_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hgbackup")
@click.option("--log-format", type=click.Choice(logs.FORMATS), envvar="HGBACKUP_LOG_FORMAT", default="text",
              show_default=True, help="Log lines on stderr: text, or json (one object per line, for Loki) "
                                      "[env HGBACKUP_LOG_FORMAT].")
@click.option("-v", "--verbose", count=True, help="Also info and debug log lines.")
def cli(log_format, verbose):
    """Back up, diff, restore and migrate the configuration of a Higress gateway.

    Example: hgbackup --log-format json -v snapshot --store s3://backups/higress --s3-endpoint http://minio:9000
    """
    logs.configure(log_format, verbose)


def _set_log_format(ctx, param, value) -> None:
    if value is not None:
        logs.reconfigure(fmt=value)


def _add_verbosity(ctx, param, value) -> None:
    if value:
        logs.reconfigure(more_verbose=value)


def _accept_global_options(command: click.Command) -> None:
    """The group's --log-format and -v are accepted after the command too (kubectl takes its global flags
    anywhere): every command, nested ones included, gets them as options that only set the log configuration."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _accept_global_options(sub)
        return
    if any(p.name == "global_log_format" for p in command.params):
        return
    command.params += [
        click.Option(["--log-format", "global_log_format"], type=click.Choice(logs.FORMATS), default=None,
                     expose_value=False, callback=_set_log_format,
                     help="Log lines on stderr: text or json (also before the command) [env HGBACKUP_LOG_FORMAT]."),
        click.Option(["-v", "--verbose", "global_verbose"], count=True, expose_value=False,
                     callback=_add_verbosity, help="Also info and debug log lines (also before the command)."),
    ]


def finish(report) -> None:
    """End a command with the exit code its report derives (0 when all that was asked was done)."""
    code = report.exit_code
    if code:
        click.get_current_context().exit(code)


# -- shared options ----------------------------------------------------------------------------------------------
def _option_group(options: list, build):
    """A decorator adding `options` to a command and replacing their values with `build(**values)`'s results."""
    def decorator(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            kwargs.update(build(kwargs))
            return func(*args, **kwargs)

        for option in reversed(options):
            wrapper = option(wrapper)
        return wrapper

    return decorator


def _store_values(kwargs: dict) -> dict:
    return {"store": StoreSettings(kwargs.pop("store") or DEFAULT_URL, kwargs.pop("s3_endpoint"),
                                   kwargs.pop("s3_sse"), kwargs.pop("s3_kms_key_id"))}


store_options = _option_group([
    click.option("--store", envvar="HGBACKUP_STORE", default=None, metavar="URL",
                 help=f"Folder, file://PATH or s3://bucket/prefix [env HGBACKUP_STORE; default {DEFAULT_URL}]."),
    click.option("--s3-endpoint", envvar="HGBACKUP_S3_ENDPOINT", metavar="URL",
                 help="S3-compatible endpoint, e.g. MinIO [env HGBACKUP_S3_ENDPOINT]."),
    click.option("--s3-sse", type=click.Choice(SSE_MODES), help="S3 server-side encryption."),
    click.option("--s3-kms-key-id", metavar="ID", help="KMS key for --s3-sse aws:kms."),
], _store_values)

IDENTITY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{3,127}$")


def _identity(value: str | None) -> str | None:
    if value is not None and not IDENTITY_RE.match(value):
        raise InvalidInput(f"--cluster-identity {value[:40]!r} is not an identity (the uid of the cluster's "
                           "kube-system namespace: 4 to 128 letters, digits, '.', '_' or '-')")
    return value


kube_options = _option_group([
    click.option("--kubeconfig", type=click.Path(dir_okay=False), help="Kubeconfig file (default as kubectl)."),
    click.option("--context", help="Kubeconfig context to use."),
    click.option("--request-timeout", type=click.FloatRange(min=0.1), default=DEFAULT_TIMEOUT, show_default=True,
                 metavar="SECONDS", help="How long one API request may wait for an answer (retries, and a "
                                         f"server's Retry-After, stop at {RETRY_WINDOW_WORDS} that)."),
    click.option("--cluster-identity", metavar="UID",
                 help="The cluster's identity (uid of its kube-system namespace), for an identity that may not read "
                      "it; checked against the cluster when it can be read."),
], lambda kw: {"kube": KubeSettings(kw.pop("kubeconfig"), kw.pop("context"), kw.pop("request_timeout"), warn,
                                    _identity(kw.pop("cluster_identity")))})

key_option = _option_group([
    click.option("--encryption-key-file", type=click.Path(dir_okay=False), envvar=crypto.KEY_FILE_ENV,
                 help=f"File with the AES-256 key (base64 of 32 bytes) [env {crypto.KEY_FILE_ENV}; or the key "
                      f"itself in {crypto.KEY_ENV}]."),
    click.option("--encryption-key", "encryption_key_text", envvar=crypto.KEY_ENV, hidden=True),
    click.option("--allow-unencrypted", is_flag=True,
                 help="With a key: also read snapshots that are not encrypted and authenticated."),
], lambda kw: {"keyring": crypto.Keyring(
    crypto.load_key(kw.pop("encryption_key_file"), kw.pop("encryption_key_text")), kw.pop("allow_unencrypted"))})

output_option = click.option("-o", "--output", "fmt", type=click.Choice(["text", "json", "yaml"]), default="text",
                             show_default=True, help="Output format.")
names_output_option = click.option("-o", "--output", "fmt", type=click.Choice(["text", "json", "yaml", "name"]),
                                   default="text", show_default=True,
                                   help="Output format (name: one id or object per line, for scripts).")
# --cluster means a different thing to a command that writes a snapshot, one that reads the store only, and one that
# also talks to a cluster: each says what it does there.
CLUSTER_TO_WRITE = ("Cluster name to file the snapshot under (default: the kube context's cluster; `default` with "
                    "--from-file).")
CLUSTER_OF_LATEST = ("Which cluster's snapshots latest and latest~N mean when the store holds several: a name, a "
                     "name@identity as list shows it, or an identity prefix.")
CLUSTER_OF_LATEST_LIVE = ("Which cluster's snapshots latest and latest~N mean: a name, a name@identity as list "
                          "shows it, or an identity prefix (default: the snapshots of the cluster it talks to).")


def cluster_option(help_text: str):
    return click.option("--cluster", metavar="NAME", help=help_text)
ALLOW_PARTIAL = "hgbackup.allow_partial"  # click context meta: read by open_repository


def _allow_partial(kwargs: dict) -> dict:
    click.get_current_context().meta[ALLOW_PARTIAL] = kwargs.pop("allow_partial")
    return {}


def latest_options(cluster_help: str):
    """For commands that take `latest`: which cluster's (`cluster_help` says it for the command), and whether a
    partial snapshot may be it."""
    return _option_group([
        cluster_option(cluster_help),
        click.option("--allow-partial", is_flag=True,
                     help="latest and latest~N may be a partial snapshot (by default they skip those, and say so)."),
    ], _allow_partial)

SCOPE_PARAMS = ("higress_namespace", "secret_selector", "ingress_class", "namespaces", *OPTIN_FLAGS, "include",
                "exclude")


def _scope_values(kwargs: dict) -> dict:
    values = {name: kwargs.pop(name) for name in SCOPE_PARAMS}
    names.require_namespace(values["higress_namespace"], "--higress-namespace")
    for namespace in values["namespaces"]:
        names.require_namespace(namespace, "-n/--namespace")
    scope = Scope(
        higress_namespace=values["higress_namespace"],
        secret_selectors=list(values["secret_selector"]) or [DEFAULT_SECRET_SELECTOR],
        ingress_classes=list(values["ingress_class"]),
        namespaces=list(values["namespaces"]),
        optins=optins_of(values),
        include=list(values["include"]),
        exclude=list(values["exclude"]),
    )
    return {"scope": scope}


scope_options = _option_group([
    click.option("--higress-namespace", default=Scope.higress_namespace, show_default=True,
                 help="Namespace Higress runs in."),
    click.option("--secret-selector", multiple=True, metavar="SELECTOR",
                 help=f"Label selector for console Secrets (repeatable, OR) [default {DEFAULT_SECRET_SELECTOR}]."),
    click.option("--ingress-class", multiple=True, help="Only Ingresses of this class (repeatable)."),
    click.option("-n", "--namespace", "namespaces", multiple=True, help="Only these namespaces (repeatable)."),
    *[click.option(f"--{flag.replace('_', '-')}", flag, is_flag=True, help=f"Also {catalogue.OPTINS[optin]}.")
      for flag, optin in OPTIN_FLAGS.items()],
    click.option("--include", multiple=True, metavar="KIND", help="Only this Kind or plural.group (repeatable)."),
    click.option("--exclude", multiple=True, metavar="KIND", help="Leave out this Kind or plural.group."),
], _scope_values)


def scope_given() -> bool:
    """Whether the user set any scope option (on the command line or through the environment)."""
    ctx = click.get_current_context()
    return any(ctx.get_parameter_source(name) not in (None, click.core.ParameterSource.DEFAULT)
               for name in SCOPE_PARAMS)


def open_repository(store: StoreSettings, keyring: crypto.Keyring | None = None) -> Repository:
    ctx = click.get_current_context(silent=True)
    return Repository(store.open(), keyring, allow_partial=bool(ctx and ctx.meta.get(ALLOW_PARTIAL)))


# -- rendering -----------------------------------------------------------------------------------------------------
def emit(data, fmt: str, text: str | None = None) -> None:
    click.echo(text if fmt == "text" and text is not None else document(data, "yaml" if fmt == "yaml" else "json"))


def warn(message: str, **fields) -> None:
    logs.warning(message, **fields)
