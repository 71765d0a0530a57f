"""The `hgbackup` group, its error mapping and the options shared by several commands."""

from __future__ import annotations

import os
import traceback

import click

from .. import __version__
from ..errors import EXIT_INTERNAL, HgbackupError
from ..render import document
from ..repository import Repository, default_store_url
from ..selection import DEFAULT_SECRET_SELECTOR, Scope
from ..store import open_store

EXIT_CODES_HELP = """\b
Exit codes: 0 ok; 1 differences found / manual migration work left (--strict);
2 usage or invalid input; 3 partial failure; 4 integrity failure (checksum,
decryption, unknown format); 5 not found; 6 cannot reach or not allowed
(cluster or store); 70 internal error."""


class HgGroup(click.Group):
    """Maps hgbackup's exceptions to one line on stderr and the documented exit code."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except HgbackupError as exc:
            click.echo(f"hgbackup: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            click.echo("hgbackup: interrupted", err=True)
            ctx.exit(130)
        except Exception as exc:  # noqa: BLE001 - anything else is our bug: say so in one line, trace only on request
            if os.environ.get("HGBACKUP_DEBUG"):
                traceback.print_exc()
            click.echo(f"hgbackup: internal error: {exc.__class__.__name__}: {exc}", err=True)
            ctx.exit(EXIT_INTERNAL)


@click.group(cls=HgGroup, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="hgbackup")
def cli():
    """Back up, diff, restore and migrate the configuration of a Higress gateway.

    Example: hgbackup snapshot --store s3://backups/higress --s3-endpoint http://minio:9000
    """


# -- shared options ----------------------------------------------------------------------------------------------
def _compose(*decorators):
    def apply(func):
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


store_options = _compose(
    click.option("--store", envvar="HGBACKUP_STORE", default=None, metavar="URL",
                 help="Folder, file://PATH or s3://bucket/prefix [env HGBACKUP_STORE; default ./hgbackup-store]."),
    click.option("--s3-endpoint", envvar="HGBACKUP_S3_ENDPOINT", metavar="URL",
                 help="S3-compatible endpoint, e.g. MinIO [env HGBACKUP_S3_ENDPOINT]."),
    click.option("--s3-sse", type=click.Choice(["AES256", "aws:kms"]), help="S3 server-side encryption."),
    click.option("--s3-kms-key-id", metavar="ID", help="KMS key for --s3-sse aws:kms."),
)
kube_options = _compose(
    click.option("--kubeconfig", type=click.Path(dir_okay=False), help="Kubeconfig file (default as kubectl)."),
    click.option("--context", help="Kubeconfig context to use."),
)
output_option = click.option("-o", "--output", "fmt", type=click.Choice(["text", "json", "yaml"]), default="text",
                             show_default=True, help="Output format.")
key_option = click.option("--encryption-key-file", type=click.Path(dir_okay=False),
                          help="AES-256 key (base64 of 32 bytes) [env HGBACKUP_ENCRYPTION_KEY].")
cluster_option = click.option("--cluster", help="Cluster name in the store (default: the kube context's cluster).")
scope_options = _compose(
    click.option("--higress-namespace", default="higress-system", show_default=True,
                 help="Namespace Higress runs in."),
    click.option("--secret-selector", multiple=True, metavar="SELECTOR",
                 help=f"Label selector for console Secrets (repeatable, OR) [default {DEFAULT_SECRET_SELECTOR}]."),
    click.option("--ingress-class", multiple=True, help="Only Ingresses of this class (repeatable)."),
    click.option("-n", "--namespace", "namespaces", multiple=True, help="Only these namespaces (repeatable)."),
    click.option("--with-services", is_flag=True, help="Also Services referenced by routes."),
    click.option("--with-cert-manager", is_flag=True, help="Also cert-manager Certificates and Issuers."),
    click.option("--with-ingress-classes", is_flag=True, help="Also IngressClasses."),
    click.option("--include", multiple=True, metavar="KIND", help="Only this Kind or plural.group (repeatable)."),
    click.option("--exclude", multiple=True, metavar="KIND", help="Leave out this Kind or plural.group."),
)


def scope_from(opts: dict) -> Scope:
    optins = {name for flag, name in (("with_services", "services"), ("with_cert_manager", "cert_manager"),
                                      ("with_ingress_classes", "ingress_classes")) if opts.pop(flag, False)}
    return Scope(
        higress_namespace=opts.pop("higress_namespace"),
        secret_selectors=list(opts.pop("secret_selector")) or [DEFAULT_SECRET_SELECTOR],
        ingress_classes=list(opts.pop("ingress_class")),
        namespaces=list(opts.pop("namespaces")),
        optins=optins,
        include=list(opts.pop("include")),
        exclude=list(opts.pop("exclude")),
    )


def repo_from(opts: dict) -> Repository:
    store = open_store(opts.pop("store", None) or default_store_url(), s3_endpoint=opts.pop("s3_endpoint", None),
                       s3_sse=opts.pop("s3_sse", None), s3_kms_key_id=opts.pop("s3_kms_key_id", None))
    return Repository(store)


def kube_from(opts: dict, **kwargs):
    from ..kube import Kube

    return Kube(opts.pop("kubeconfig", None), opts.pop("context", None), **kwargs)


def emit(data, fmt: str, text: str | None = None) -> None:
    click.echo(text if fmt == "text" and text is not None else document(data, "yaml" if fmt == "yaml" else "json"))


def warn(message: str) -> None:
    click.echo(f"hgbackup: warning: {message}", err=True)


def public_manifest(manifest: dict) -> dict:
    return {k: v for k, v in manifest.items() if not k.startswith("_")}


SCOPE_PARAMS = ("higress_namespace", "secret_selector", "ingress_class", "namespaces", "with_services",
                "with_cert_manager", "with_ingress_classes", "include", "exclude")


def scope_given(ctx: click.Context) -> bool:
    """Whether the user set any scope option (on the command line or through the environment)."""
    return any(ctx.get_parameter_source(name) not in (None, click.core.ParameterSource.DEFAULT)
               for name in SCOPE_PARAMS)
