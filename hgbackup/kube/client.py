"""The only module that talks to the Kubernetes API.

Configuration is found as kubectl finds it (--kubeconfig, $KUBECONFIG, ~/.kube/config, then in-cluster). Requests
are raw JSON over the client's authenticated connection pool: no model classes, so any kind (including custom
resources) is handled the same way and large lists decode fast. Retries with backoff on 429, 5xx and connection
resets; API errors become hgbackup's exceptions.
"""

from __future__ import annotations

import json
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlencode

import orjson

from .. import __version__, logs
from ..errors import EXIT_UNREACHABLE, AccessDenied, HgbackupError, InvalidInput, NotFound, Unreachable
from . import catalogue, names, retry
from . import kubeconfig as kubeconfig_mod

RETRY_STATUSES = {429, 500, 502, 503, 504}
DEFAULT_TIMEOUT = 30.0  # seconds one request may wait for an answer
# The one limit on how long a request may take with its retries: RETRY_WINDOW x the request timeout. Every wait
# (backoff, and a server's Retry-After) stays inside it; a server asking for a longer wait is an error at once.
RETRY_WINDOW = 2
RETRY_WINDOW_WORDS = "twice"  # how --help and the README say RETRY_WINDOW
_UNKNOWN = object()
RESTART = None  # what Kube.pages yields before it lists a collection again from the start
MAX_ATTEMPTS = 6
PAGE_SIZE = 500
USER_AGENT = f"hgbackup/{__version__}"
AUTH_CACHE_SECONDS = 1.0


class ApiError(HgbackupError):
    """An API answer hgbackup cannot use (after retries); `status` is the HTTP status, `reason` the API's own.

    Exit 6, like any other failure to get what was asked of the cluster: a server error while reading the live side
    of a diff is not a "partial" anything. Restore records per-object API errors as failed results instead.
    """

    exit_code = EXIT_UNREACHABLE

    def __init__(self, status: int, reason: str, message: str):
        super().__init__(message)
        self.status, self.reason = status, reason


class Conflict(ApiError):
    pass


class Gone(ApiError):
    pass


@dataclass(frozen=True)
class Served:
    """What discovery says of one catalogue kind on this cluster."""

    kind: catalogue.Kind
    version: str | None  # the preferred served version; None: not served
    versions: tuple[str, ...] = ()  # every served version


@dataclass(frozen=True)
class KubeSettings:
    """Which cluster, as the user gave it: --kubeconfig and --context (None: as kubectl finds it), and how long one
    request may take (--request-timeout). `notice` receives one-line warnings (TLS verification off)."""

    kubeconfig: str | None = None
    context: str | None = None
    request_timeout: float = DEFAULT_TIMEOUT
    notice: object = None
    identity: str | None = None  # --cluster-identity: the cluster's identity when it may not be read

    def connect(self, pool_size: int = 16) -> Kube:
        kube = Kube(self.kubeconfig, self.context, pool_size=pool_size, request_timeout=self.request_timeout)
        kube.named_identity = self.identity
        if kube.insecure and callable(self.notice):
            self.notice(f"TLS verification is off for the Kubernetes API at {kube.host} "
                        "(insecure-skip-tls-verify in the kubeconfig)")
        return kube


class Kube:
    def __init__(self, kubeconfig: str | None = None, context: str | None = None, *, pool_size: int = 16,
                 request_timeout: float = DEFAULT_TIMEOUT):
        import urllib3
        from kubernetes import client

        loaded = kubeconfig_mod.load(kubeconfig, context)
        cfg = loaded.configuration
        self.context_name, self.context_cluster = loaded.context_name, loaded.context_cluster
        self.insecure = not cfg.verify_ssl
        if self.insecure:  # said once, by the caller's notice, instead of a urllib3 warning per request
            warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
        self.request_timeout = request_timeout
        cfg.connection_pool_maxsize = pool_size
        cfg.retries = False
        self.host = cfg.host.rstrip("/")
        self.api = client.ApiClient(cfg)
        self.pool = self.api.rest_client.pool_manager
        self._served: dict[str, Served] | None = None
        self._identity: str | None | object = _UNKNOWN
        self.named_identity: str | None = None  # given by the user (--cluster-identity), used when none can be read
        self._identity_error = ""
        self._auth_cache: tuple[float, str | None] | None = None

    def close(self) -> None:
        self.api.close()

    # -- raw requests --------------------------------------------------------------------------------------
    def request(self, method: str, path: str, *, query: dict | None = None, body: dict | None = None,
                content_type: str = "application/json") -> dict:
        """One API call, retried with backoff on 429, 5xx and connection errors within RETRY_WINDOW times the
        request timeout (a server that accepts connections but never answers, a stopped one, ends in exit 6, not a
        hang); a Retry-After is honoured within that window, and one beyond it is exit 6 at once. Returns the
        decoded JSON.

        It goes straight to the client's authenticated urllib3 pool (TLS, client certificates and proxies as the
        kubeconfig says; the bearer token, refreshed by exec/OIDC plugins, from the client's auth settings):
        the generated client's request building cost more CPU than the request itself.
        """
        url = self.host + path
        params = [(k, v) for k, v in (query or {}).items() if v is not None]
        if params:
            url += "?" + urlencode(params)
        data = orjson.dumps(body) if body is not None else None
        what = f"{method} {path.split('?')[0]}"
        deadline = retry.Deadline(RETRY_WINDOW * self.request_timeout)
        last_error, reauthorized = None, False
        for attempt in range(1, MAX_ATTEMPTS + 1):
            left = deadline.left()
            if left <= 0:
                cause = f": {last_error}" if last_error else ""
                raise Unreachable(f"cannot reach the Kubernetes API at {self.host}{cause} (no answer to {what} "
                                  f"within {deadline.window:g}s)")
            try:
                resp = self._send(method, url, data, content_type, left)
            except _NoAnswer as exc:
                last_error = str(exc)
                if attempt < MAX_ATTEMPTS and deadline.left() > 0:
                    logs.debug("retrying a Kubernetes API request", method=method, path=path.split("?")[0],
                               attempt=attempt, cause=last_error)
                    retry.sleep(min(retry.backoff(attempt), deadline.left()))
                    continue
                raise Unreachable(f"cannot reach the Kubernetes API at {self.host}: {last_error}") from None
            if logs.LOGGER.isEnabledFor(logs.logging.DEBUG):
                logs.debug("kubernetes api", method=method, path=path.split("?")[0], status=resp.status)
            if 200 <= resp.status < 300:
                try:
                    return orjson.loads(resp.data) if resp.data else {}
                except orjson.JSONDecodeError:
                    raise Unreachable(_not_kubernetes(self.host, resp)) from None
            if resp.status == 401 and not reauthorized and attempt < MAX_ATTEMPTS:
                self._auth_cache, reauthorized = None, True  # refreshed within the last second? ask the client again
                continue
            if resp.status in RETRY_STATUSES and attempt < MAX_ATTEMPTS:
                self._wait_to_retry(resp, method, path, attempt, deadline)
                continue
            raise _api_error(method, path, resp.status, resp.data, self.host, resp)
        raise AssertionError("unreachable")

    def _send(self, method: str, url: str, data: bytes | None, content_type: str, left: float):
        """One attempt, answered within what is `left`; a connection that fails or stays silent is _NoAnswer."""
        import urllib3  # loaded with the Kubernetes client (Kube.__init__): only when a cluster is used

        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if data is not None:
            headers["Content-Type"] = content_type
        authorization = self._authorization()
        if authorization:
            headers["Authorization"] = authorization
        timeout = min(self.request_timeout, left)
        try:
            return self.pool.request(method, url, body=data, headers=headers, retries=False,
                                     timeout=urllib3.Timeout(connect=min(10, left), read=timeout))
        except urllib3.exceptions.SSLError as exc:
            raise Unreachable(f"TLS error talking to the Kubernetes API at {self.host}: {retry.short(exc)}") from None
        except (urllib3.exceptions.HTTPError, ConnectionError) as exc:
            raise _NoAnswer(f"no answer within {timeout:.0f}s" if isinstance(
                exc, urllib3.exceptions.ReadTimeoutError) else retry.short(exc)) from None

    def _wait_to_retry(self, resp, method: str, path: str, attempt: int, deadline: retry.Deadline) -> None:
        """Back off before retrying a 429 or 5xx, at least as long as the server's Retry-After asks; one that asks
        for longer than the deadline leaves is exit 6 at once."""
        path = path.split("?")[0]
        logs.debug("retrying a Kubernetes API request", method=method, path=path, attempt=attempt, status=resp.status)
        wanted = retry.retry_after(resp.headers.get("Retry-After"))
        left = deadline.left()
        if wanted is not None and wanted > left:
            raise Unreachable(
                f"the Kubernetes API at {self.host} answered {resp.status} to {method} {path} and asked to be "
                f"retried after {wanted:.0f}s (Retry-After), beyond the {max(left, 0):.0f}s left of the "
                f"{deadline.window:g}s a request may take with its retries (--request-timeout "
                f"{self.request_timeout:g}; retries stop at {RETRY_WINDOW_WORDS} that)")
        retry.sleep(min(max(retry.backoff(attempt), wanted or 0.0), left))

    def _authorization(self) -> str | None:
        """The bearer token header, as the client's auth settings give it (exec and OIDC plugins refresh it there),
        asked for at most once a second: asking runs the client's refresh hook, which cost a sixth of each request's
        CPU during a restore."""
        now = time.monotonic()
        cached = self._auth_cache
        if cached is None or now - cached[0] > AUTH_CACHE_SECONDS:
            auth = self.api.configuration.auth_settings().get("BearerToken") or {}
            cached = self._auth_cache = (now, auth.get("value") or None)
        return cached[1]

    # -- discovery ---------------------------------------------------------------------------------------------
    def served(self) -> dict[str, Served]:
        """The preferred served version of every catalogue kind (by key), or None where it is not served."""
        if self._served is None:
            groups = {"": "v1"}
            resources: dict[tuple[str, str], set[str]] = {}
            for group in self.request("GET", "/apis").get("groups", []):
                groups[group["name"]] = group.get("preferredVersion", {}).get("version")
                for v in group.get("versions", []):
                    resources.setdefault((group["name"], v["version"]), set())
            wanted_groups = {k.group for k in catalogue.KINDS}
            paths = {gv: f"/apis/{gv[0]}/{gv[1]}" for gv in resources if gv[0] in wanted_groups}
            paths[("", "v1")] = "/api/v1"
            with ThreadPoolExecutor(max_workers=8) as pool:
                listings = pool.map(lambda path: self.request("GET", path), paths.values())
                for gv, listing in zip(paths, listings):
                    resources[gv] = {r["name"] for r in listing.get("resources", [])}
            result = {}
            for kind in catalogue.KINDS:
                serving = tuple(v for (g, v), names in resources.items() if g == kind.group and kind.plural in names)
                preferred = groups.get(kind.group)
                version = preferred if preferred in serving else (serving[0] if serving else None)
                result[kind.key] = Served(kind, version, serving)
            self._served = result
        return self._served

    def forget_discovery(self) -> None:
        self._served = None

    # -- reading ------------------------------------------------------------------------------------------------
    def collection_path(self, kind: catalogue.Kind, version: str, namespace: str | None = None) -> str:
        """A collection's URL path. A namespace Kubernetes would not accept is refused here, whoever asks: `..` or
        `.` would be rewritten by the HTTP stack into another path (urllib3 removes dot segments)."""
        base = f"/apis/{kind.group}/{version}" if kind.group else f"/api/{version}"
        if kind.namespaced and namespace:
            if not names.valid_namespace(namespace):
                raise InvalidInput(f"refusing a request for {kind.kind} in namespace {namespace!r:.80}: not a "
                                   "namespace name Kubernetes accepts")
            return f"{base}/namespaces/{namespace}/{kind.plural}"
        return f"{base}/{kind.plural}"

    def object_path(self, kind: catalogue.Kind, version: str, namespace: str | None, name: str) -> str:
        """An object's URL path; a name Kubernetes would not accept is refused (see collection_path)."""
        if not names.valid_name(name):
            raise InvalidInput(f"refusing a request for {kind.kind} {name!r:.80}: not a name Kubernetes accepts")
        return f"{self.collection_path(kind, version, namespace)}/{name}"

    def list(self, kind: catalogue.Kind, version: str, namespace: str | None = None,
             label_selector: str | None = None, page_size: int = PAGE_SIZE) -> list[dict]:
        """Every object of a kind, page by page (limit/continue); a 410 Gone restarts the list once more."""
        items: list[dict] = []
        for page in self.pages(kind, version, namespace, label_selector, page_size):
            if page is RESTART:
                items = []
            else:
                items.extend(page)
        return items

    def pages(self, kind: catalogue.Kind, version: str, namespace: str | None = None,
              label_selector: str | None = None, page_size: int = PAGE_SIZE, prefetch=None):
        """The items of a kind a page at a time. With `prefetch` (an executor) the next page is requested while the
        caller works on this one. A continue token that expired (410 Gone) restarts the list, at most twice more:
        RESTART is yielded first, and the caller forgets what it had from this list."""
        path = self.collection_path(kind, version, namespace)

        def fetch(token):
            page = self.request("GET", path, query={"limit": page_size, "continue": token,
                                                    "labelSelector": label_selector})
            api_version = page.get("apiVersion") or kind.api_version(version)
            items = page.get("items") or []
            for item in items:
                item.setdefault("apiVersion", api_version)
                item.setdefault("kind", kind.kind)
            return items, (page.get("metadata") or {}).get("continue")

        for attempt in range(3):
            if attempt:
                yield RESTART
            try:
                items, token = fetch(None)
                while True:
                    following = prefetch.submit(fetch, token) if token and prefetch is not None else None
                    yield items
                    if not token:
                        return
                    items, token = following.result() if following is not None else fetch(token)
            except Gone:
                continue
        raise ApiError(410, "Expired", f"listing {kind.key} kept expiring (the list changed too fast)")

    def get(self, kind: catalogue.Kind, version: str, namespace: str | None, name: str) -> dict | None:
        try:
            obj = self.request("GET", self.object_path(kind, version, namespace, name))
        except NotFound:
            return None
        obj.setdefault("apiVersion", kind.api_version(version))
        obj.setdefault("kind", kind.kind)
        return obj

    def version_info(self) -> dict:
        return self.request("GET", "/version")

    def cluster_identity(self) -> str:
        """The uid of the kube-system namespace: stable for a cluster's lifetime, distinct between clusters. Every
        snapshot records it and every `latest` and restore target is told apart by it, so an identity that cannot
        be read is an error (exit 6 naming the permission) unless the user named it (`named_identity`)."""
        if self._identity is _UNKNOWN:
            try:
                read = self.request("GET", "/api/v1/namespaces/kube-system")["metadata"]["uid"]
            except (NotFound, AccessDenied) as exc:
                read, why = None, ("this cluster has no namespace kube-system" if isinstance(exc, NotFound) else
                                   "get namespaces/kube-system is forbidden for this identity")
                self._identity_error = why
            if read and self.named_identity and read != self.named_identity:
                raise InvalidInput(f"--cluster-identity {self.named_identity} is not this cluster's identity: the "
                                   f"uid of its kube-system namespace is {read}")
            self._identity = read or self.named_identity
        if self._identity is None:
            raise AccessDenied(f"cannot read the identity of the cluster at {self.host} (the uid of namespace "
                               f"kube-system): {self._identity_error}; grant `get` on namespaces/kube-system (the "
                               "RBAC of `hgbackup schedule render` does) or name it with --cluster-identity UID")
        return self._identity

    # -- writing ------------------------------------------------------------------------------------------------
    def apply(self, kind: catalogue.Kind, version: str, obj: dict, *, force: bool = True,
              dry_run: bool = False) -> dict:
        """Server-side apply with field manager `hgbackup`."""
        meta = obj["metadata"]
        path = self.object_path(kind, version, meta.get("namespace"), meta["name"])
        query = {"fieldManager": "hgbackup", "force": "true" if force else None, "dryRun": "All" if dry_run else None}
        return self.request("PATCH", path, query=query, body=obj, content_type="application/apply-patch+yaml")

    def replace(self, kind: catalogue.Kind, version: str, obj: dict, resource_version: str, *,
                dry_run: bool = False) -> dict:
        """PUT the whole object (optimistic concurrency on resource_version): fields others set are dropped."""
        meta = obj["metadata"]
        body = dict(obj, metadata=dict(meta, resourceVersion=resource_version))
        path = self.object_path(kind, version, meta.get("namespace"), meta["name"])
        return self.request("PUT", path, query={"fieldManager": "hgbackup", "dryRun": "All" if dry_run else None},
                            body=body)

    def create(self, kind: catalogue.Kind, version: str, obj: dict, *, dry_run: bool = False) -> dict:
        path = self.collection_path(kind, version, obj["metadata"].get("namespace"))
        return self.request("POST", path, query={"dryRun": "All" if dry_run else None, "fieldManager": "hgbackup"},
                            body=obj)

    def delete(self, kind: catalogue.Kind, version: str, namespace: str | None, name: str, *,
               dry_run: bool = False) -> None:
        try:
            self.request("DELETE", self.object_path(kind, version, namespace, name),
                         query={"dryRun": "All" if dry_run else None})
        except NotFound:
            pass


class _NoAnswer(Exception):
    """A request that got no HTTP answer (refused, reset, timed out): retried while the deadline allows."""


def _not_kubernetes(host: str, resp) -> str:
    kind = (resp.headers.get("Content-Type") or "no content type").split(";")[0]
    return f"the server at {host} does not answer as a Kubernetes API server (HTTP {resp.status}, {kind})"


def _api_error(method: str, path: str, status: int, data: bytes, host: str, resp=None) -> HgbackupError:
    try:
        status_obj = json.loads(data)
        if not isinstance(status_obj, dict):
            raise ValueError
        message = str(status_obj.get("message") or "")
        reason = str(status_obj.get("reason") or "")
    except (ValueError, UnicodeDecodeError):
        if resp is not None:
            return Unreachable(_not_kubernetes(host, resp))
        message, reason = (data or b"").decode("utf-8", "replace")[:200], ""
    text = f"{method} {path}: {status} {reason}: {message}".strip()
    if status == 401:
        return AccessDenied(f"the Kubernetes API at {host} did not accept our credentials (401 Unauthorized)")
    if status == 403:
        return AccessDenied(f"forbidden: {message or path}")
    if status == 404:
        return NotFound(text)
    if status == 409:
        return Conflict(status, reason, text)
    if status == 410:
        return Gone(status, reason, text)
    return ApiError(status, reason, text)
