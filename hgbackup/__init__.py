"""hgbackup: back up, diff, restore and migrate the configuration of a Higress gateway on Kubernetes.

Where things live (the folders are the pipeline's stages; imports point down this list, never up):

    errors, logs, memory, output   the bottom: one exception family with exit codes, log lines, GC, rendering
    kube/       the Kubernetes side: API client, kinds catalogue and reference table, names, label selectors, the
                scope record, what hgbackup never takes (excluded), YAML files, stored form
    store/      where snapshots live: store protocol, local and S3, key layout, manifests and their coverage record,
                archives, encryption, the manifest cache, the repository (read, write, authenticate) and clusters
                (identity, `latest`)
    capture/    what a snapshot holds and how it is taken: selection rules, the archive checks at restore (confine),
                packing into an archive, the snapshot verb itself
    restore/    putting a snapshot back: choose, closure, plan, execute, run; verify and export (to kubectl)
    diff/       reading snapshots against each other: sources (a snapshot, files, live), compare, timeline, check
    schedule/   the CronJob: the schedule file and its cron arithmetic, a scheduled run (snapshot, retention,
                metrics), rendering (CronJob and RBAC) and monitoring objects (alerts, dashboard)
    migrate/    ingress-nginx to Higress: the rules table and shared records, ingress/ (to Higress Ingresses),
                gatewayapi/ (to Gateway API routes), apply (through restore)
    cli/        the command line: parse, one library call, render; the only package that knows Click
"""

__version__ = "0.1.0"
FORMAT = "hgbackup/v1"
