"""The floor for bench/snapshot.py: raw paginated LIST calls of the given collection paths, nothing else.

Usage: floor_list.py KUBECONFIG PATH... ; prints the number of items and the bytes received.
"""

from __future__ import annotations

import json
import sys

from kubernetes import client, config


def main() -> None:
    cfg = client.Configuration()
    config.load_kube_config(config_file=sys.argv[1], client_configuration=cfg)
    api = client.ApiClient(cfg)
    items = size = 0
    for path in sys.argv[2:]:
        token = None
        while True:
            query = [("limit", 500)] + ([("continue", token)] if token else [])
            _, url, headers, _, _ = api.param_serialize("GET", path, query_params=query,
                                                        header_params={"Accept": "application/json"},
                                                        auth_settings=["BearerToken"])
            data = api.call_api("GET", url, header_params=headers).read()
            page = json.loads(data)
            items += len(page.get("items", []))
            size += len(data)
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                break
    print(json.dumps({"items": items, "bytes": size}))


if __name__ == "__main__":
    main()
