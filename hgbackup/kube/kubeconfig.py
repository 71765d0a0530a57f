"""Which cluster, and how to reach it: configuration found as kubectl finds it (--kubeconfig, $KUBECONFIG,
~/.kube/config, then in-cluster), read by the official client's loaders; what cannot be loaded is said in one line."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import InvalidInput, Unreachable

IN_CLUSTER_ENV = ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT")


@dataclass
class Loaded:
    configuration: object  # kubernetes.client.Configuration: host, TLS, credentials, proxies
    context_name: str
    context_cluster: str  # the kubeconfig's cluster name of the context (a snapshot's default cluster name)


def load(kubeconfig: str | None = None, context: str | None = None) -> Loaded:
    """The configuration of `context` (default: the current one) in `kubeconfig` (default: as kubectl looks), or
    of the pod this runs in. A kubeconfig that is not YAML is exit 2; no usable configuration is exit 6."""
    import yaml  # the Kubernetes client costs a noticeable part of a second to import: only when a cluster is used
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    cfg = client.Configuration()
    loaded = Loaded(cfg, "in-cluster", "in-cluster")
    paths = kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    has_file = any(os.path.exists(p) for p in paths.split(os.pathsep) if p)
    try:
        if has_file or kubeconfig or context:
            config.load_kube_config(config_file=kubeconfig, context=context, client_configuration=cfg)
            contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)
            chosen = context or (active or {}).get("name")
            loaded.context_name = chosen or "-"
            for ctx in contexts:
                if ctx.get("name") == chosen:
                    loaded.context_cluster = ctx.get("context", {}).get("cluster") or chosen
        elif _in_cluster():
            config.load_incluster_config(client_configuration=cfg)
        else:
            raise Unreachable(_no_configuration(paths))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise InvalidInput(f"the kubeconfig {kubeconfig or paths} is not valid YAML{where}") from None
    except (ConfigException, OSError, TypeError, ValueError, AttributeError, KeyError) as exc:
        raise Unreachable(f"no usable Kubernetes configuration: {str(exc).splitlines()[0]}") from None
    return loaded


def _in_cluster() -> bool:
    """Running in a pod, as client-go's InClusterConfig decides: the service's address in the environment."""
    return all(os.environ.get(name) for name in IN_CLUSTER_ENV)


def _no_configuration(paths: str) -> str:
    """What was looked for, in kubectl's order, and how to point hgbackup at a cluster."""
    env = os.environ.get("KUBECONFIG")
    home = os.path.expanduser("~/.kube/config")
    looked = ["--kubeconfig (not given)",
              f"$KUBECONFIG ({env}: no such file)" if env else "$KUBECONFIG (not set)"]
    if not env:
        looked.append(f"{home} (no such file)")
    looked.append("in-cluster config (not in a pod: KUBERNETES_SERVICE_HOST is not set)")
    return ("no Kubernetes configuration found; looked for " + ", ".join(looked)
            + ". Point hgbackup at a cluster with --kubeconfig FILE (or KUBECONFIG=FILE), as for kubectl")
