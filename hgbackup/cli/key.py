"""`hgbackup key generate|fingerprint`: archive encryption keys, and which snapshots of a store a key opens."""

from __future__ import annotations

import click

from ..store import StoreSettings, crypto, keycheck
from .base import cli, emit, finish, output_option


@cli.group("key")
def key_group():
    """Archive encryption keys.

    Example: hgbackup key generate > hgbackup.key && chmod 600 hgbackup.key
    """


@key_group.command("generate")
@click.option("-o", "--output", "path", type=click.Path(dir_okay=False),
              help="Write the key to this new file (mode 0600) instead of stdout.")
def generate(path):
    """Print a new random AES-256 key (base64), for --encryption-key-file or HGBACKUP_ENCRYPTION_KEY.

    Keep a copy outside the cluster it protects: a backup whose key was lost with the cluster cannot be read.

    Example: hgbackup key generate -o hgbackup.key
    """
    key = crypto.generate_key()
    if path:
        crypto.write_key_file(path, key)
        click.echo(f"wrote a new key to {path} (fingerprint {crypto.fingerprint(crypto.parse_key(key, path))})",
                   err=True)
    else:
        click.echo(key)


@key_group.command("fingerprint")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--store", "store_url", envvar="HGBACKUP_STORE", metavar="URL",
              help="Also say which snapshots of this store the key opens (each manifest authenticated with it).")
@click.option("--s3-endpoint", envvar="HGBACKUP_S3_ENDPOINT", metavar="URL", help="S3-compatible endpoint.")
@output_option
def fingerprint_cmd(path, store_url, s3_endpoint, fmt):
    """Print a key's fingerprint; with --store, which snapshots it opens and which need another key.

    A snapshot counts as opened only when its manifest authenticates with the key; manifests that do not (edited,
    relabelled, unreadable) are listed, exit 4. Exit 1 when some snapshots need another key.

    Example: hgbackup key fingerprint hgbackup.key --store s3://backups/higress
    """
    key = crypto.load_key(path)
    store = StoreSettings(store_url, s3_endpoint).open() if store_url else None
    report = keycheck.check(store, key)
    emit(report.as_json(), fmt, report.text())
    finish(report)
