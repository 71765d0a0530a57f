"""hgbackup: back up, diff, restore and migrate the configuration of a Higress gateway on Kubernetes."""

__version__ = "0.1.0"
FORMAT = "hgbackup/v1"
