"""`hgbackup log`: the change timeline over consecutive snapshots of one cluster (local store, no servers)."""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import datetime, timedelta, timezone

import pytest
import yaml
from conftest import EXAMPLE, run
from test_redaction import NEW_B64, forbidden

from hgbackup.capture import snapshot
from hgbackup.diff import timeline
from hgbackup.errors import InvalidInput
from hgbackup.kube.scope import Scope
from hgbackup.store import crypto, open_store
from hgbackup.store.repository import Repository

T0 = datetime(2026, 11, 1, 2, 30, tzinfo=timezone.utc)


def example_items() -> list[dict]:
    with open(EXAMPLE, encoding="utf-8") as fh:
        return yaml.safe_load(fh)["items"]


def find(items, kind, name):
    return next(i for i in items if i["kind"] == kind and i["metadata"]["name"] == name)


def put(repo, items, tmp_path, when, scope=None, errors=(), cluster="prod"):
    scope = scope or Scope()
    path = tmp_path / f"in-{when:%d%H%M}.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}))
    capture = snapshot.capture_files([str(path)], scope, cluster)
    capture.errors.extend(errors)
    return snapshot.write(repo, capture, scope, now=when).id


@pytest.fixture
def history(tmp_path):
    """Four nightly snapshots: an annotation change, a route removed, a Secret rotated; one partial in between."""
    store = str(tmp_path / "store")
    repo = Repository(open_store(store))
    items = example_items()
    ids = [put(repo, items, tmp_path, T0)]
    items = copy.deepcopy(items)
    find(items, "Ingress", "shop-frontend")["metadata"]["annotations"]["higress.io/timeout"] = "45"
    ids.append(put(repo, items, tmp_path, T0 + timedelta(days=1)))
    partial = [i for i in items if i["kind"] != "Secret"]  # Secrets could not be read that night
    ids.append(put(repo, partial, tmp_path, T0 + timedelta(days=2), errors=["cannot list secrets: forbidden"]))
    items = [i for i in copy.deepcopy(items) if i["metadata"]["name"] != "ai-route-openai-chat.internal"]
    find(items, "Secret", "nacos-auth-x7k2p")["data"]["nacosPassword"] = NEW_B64
    ids.append(put(repo, items, tmp_path, T0 + timedelta(days=3)))
    return store, ids


def events_of(store, *args):
    return json.loads(run("log", "--store", store, "-o", "json", *args).stdout)


def test_when_did_this_route_change(history):
    store, ids = history
    doc = events_of(store, "--kind", "Ingress", "--name", "shop-frontend")
    assert [(e["action"], e["snapshot"], e["previous"]) for e in doc["events"]] == [("changed", ids[1], ids[0])]
    assert doc["snapshots"] == 4 and doc["cluster"] == "prod"
    with_paths = events_of(store, "--kind", "Ingress", "--name", "shop-*", "--paths")
    assert with_paths["events"][0]["paths"] == ['metadata.annotations["higress.io/timeout"]']


def test_a_partial_snapshot_is_not_a_removal(history):
    store, ids = history
    events = events_of(store)["events"]
    secrets = [e for e in events if e["kind"] == "Secret"]
    # the partial night (ids[2]) lacks every Secret: no "removed"; the rotation is seen against the last known state
    assert [(e["action"], e["name"], e["snapshot"], e["previous"]) for e in secrets] == [
        ("changed", "nacos-auth-x7k2p", ids[3], ids[1])]
    removed = [(e["kind"], e["name"]) for e in events if e["action"] == "removed"]
    assert removed == [("Ingress", "ai-route-openai-chat.internal")]


def test_paths_of_a_secret_name_keys_never_values(history):
    store, ids = history
    for fmt in ("text", "json"):
        result = run("log", "--store", store, "--kind", "Secret", "--paths", "-o", fmt)
        assert "nacosPassword" in result.stdout
        for value in forbidden():
            assert value not in result.stdout + result.stderr


def test_since_starts_from_the_snapshot_before_it(history):
    store, ids = history
    events = events_of(store, "--since", (T0 + timedelta(days=2)).strftime("%Y-%m-%d"))["events"]
    assert {e["snapshot"] for e in events} == {ids[3]}
    assert events_of(store, "--since", "2026-11-01T02:31Z")["snapshots"] == 4  # the first is the baseline


def test_another_scope_is_not_a_removal(tmp_path):
    repo = Repository(open_store(str(tmp_path / "s")))
    items = example_items()
    put(repo, items, tmp_path, T0)
    put(repo, items, tmp_path, T0 + timedelta(hours=1), scope=Scope(include=["Ingress"]))  # an hourly of routes
    later = put(repo, [i for i in items if i["kind"] != "ConfigMap" or i["metadata"]["name"] != "higress-config"],
                tmp_path, T0 + timedelta(days=1))
    report = timeline.log(repo, cluster=None, flt=timeline.Filter())
    assert [(e.action, e.ref.name, e.snapshot) for e in report.events] == [("removed", "higress-config", later)]


def test_what_the_coverage_record_says_was_not_listed_is_not_a_removal(tmp_path):
    """Review finding 14: `log` reads the manifest's coverage record, the one definition prune reads too. A
    complete snapshot whose record says the Higress namespace's Secrets were got by name (consoleSecrets), not
    listed, is not the reason a Secret it lacks is "removed"; a ConfigMap it lacks is."""
    repo = Repository(open_store(str(tmp_path / "s")))
    items = example_items()
    put(repo, items, tmp_path, T0)
    later = [i for i in items if i["kind"] != "Secret" and i["metadata"]["name"] != "higress-config"]
    path = tmp_path / "later.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": later}))
    capture = snapshot.capture_files([str(path)], Scope(), "prod")
    capture.coverage = dataclasses.replace(capture.coverage, incomplete=(
        ("secrets", "higress-system", "got by name (consoleSecrets), not listed"),))
    sid = snapshot.write(repo, capture, Scope(), now=T0 + timedelta(days=1)).id
    report = timeline.log(repo, cluster=None, flt=timeline.Filter(namespaces=frozenset({"higress-system"})))
    assert not repo.snapshot(repo.resolve(sid)).manifest.partial
    assert [(e.action, e.ref.kind, e.ref.name) for e in report.events] == [("removed", "ConfigMap", "higress-config")]


def test_different_keys_make_changes_uncertain_until_read(tmp_path):
    store = str(tmp_path / "s")
    key = crypto.parse_key(crypto.generate_key(), "t")
    items = example_items()
    put(Repository(open_store(store), crypto.Keyring(key)), items, tmp_path, T0)
    other = crypto.Keyring(crypto.parse_key(crypto.generate_key(), "t"))
    put(Repository(open_store(store), other), items, tmp_path, T0 + timedelta(days=1))
    # without a key: every object's keyed digest differs, so every change is uncertain, and said so
    plain = timeline.log(Repository(open_store(store)), cluster=None, flt=timeline.Filter())
    assert plain.events and all(not e.certain for e in plain.events) and "different keys" in plain.notes[0]


def test_clusters_and_bad_input(tmp_path, history):
    store, _ = history
    repo = Repository(open_store(store))
    put(repo, example_items(), tmp_path, T0, cluster="staging")
    result = run("log", "--store", store, code=2)
    assert "several clusters" in result.stderr and "--cluster" in result.stderr
    assert events_of(store, "--cluster", "staging")["snapshots"] == 1
    assert "not a date" in run("log", "--store", store, "--since", "yesterday", code=2).stderr
    assert "unknown kind" in run("log", "--store", store, "--kind", "Pod", code=2).stderr
    assert "no store at" in run("log", "--store", str(tmp_path / "empty"), code=5).stderr


def test_parse_since():
    now = datetime(2026, 11, 21, 12, tzinfo=timezone.utc)
    assert timeline.parse_since("7d", now) == now - timedelta(days=7)
    assert timeline.parse_since("2026-11-01", now) == datetime(2026, 11, 1, tzinfo=timezone.utc)
    assert timeline.parse_since("2026-11-01T12:00+01:00", now) == datetime(2026, 11, 1, 11, tzinfo=timezone.utc)
    with pytest.raises(InvalidInput):
        timeline.parse_since("7 days", now)
