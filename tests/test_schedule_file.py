"""Schedule files (schedule/file.py): every field checked, each refusal naming the field (no cluster needed)."""

from __future__ import annotations

import json

import pytest
from conftest import EXAMPLE, run

from hgbackup.errors import InvalidInput
from hgbackup.kube import catalogue
from hgbackup.schedule import file as schedule

BASE = "name: x\nstore: s3://b/p\ncluster: prod\n"


def parse(extra: str, cron: str = "30 2 * * *"):
    return schedule.parse(f"{BASE}schedule: '{cron}'\n{extra}", "f")


@pytest.mark.parametrize("text,field", [
    ("name: x\nstore: s\n", "schedule"),
    ("name: x\nschedule: 'daily'\nstore: s\n", "schedule"),
    ("name: X_Y\nschedule: '0 * * * *'\nstore: s\n", "name"),
    ("name: x\nschedule: '0 * * * *'\nstore: s\nretention: {keep_daily: seven}\n", "retention.keep_daily"),
    ("name: x\nschedule: '0 * * * *'\nstore: s\nscope: {include: [Pod]}\n", "scope"),
    ("name: x\nschedule: '0 * * * *'\nstore: s\nscope: {namespace: a}\n", "scope.namespace"),
    ("name: x\nschedule: '0 * * * *'\nstore: s\nbackup: yes\n", "backup"),
    ("name: x\nschedule: '0 * * * *'\nstore: s\ntags: nightly\n", "tags"),
    ("- a\n", "mapping"),
])


def test_malformed_schedule_names_the_field(text, field):
    with pytest.raises(InvalidInput, match=field):
        schedule.parse(text, "bad.yaml")


def test_schedule_sse_fields_reach_the_store_settings():
    sched = parse("s3ServerSideEncryption: aws:kms\ns3KmsKeyId: alias/backups\n")
    settings = sched.store_settings()
    assert (settings.s3_sse, settings.s3_kms_key_id) == ("aws:kms", "alias/backups")
    with pytest.raises(InvalidInput, match="s3ServerSideEncryption"):
        parse("s3ServerSideEncryption: DES\n")
    with pytest.raises(InvalidInput, match="needs s3ServerSideEncryption: aws:kms"):
        parse("s3KmsKeyId: alias/backups\n")


def test_image_references_are_checked_and_digests_recognised():
    digest = "sha256:" + "0" * 64
    assert schedule.image_pinned(f"reg.example:5000/team/hgbackup:0.1.0@{digest}")
    assert not schedule.image_pinned("reg.example/hgbackup:0.1.0")
    for bad in ("Reg/UPPER:1", f"x@{digest[:-1]}", "x:tag with space", "x@md5:abc"):
        with pytest.raises(InvalidInput, match="not an image reference"):
            schedule.check_image(bad, "--image")


def test_a_pushgateway_is_an_http_url():
    with pytest.raises(InvalidInput, match="metrics.pushgateway: required"):
        parse("metrics:\n  pushgateway: ftp://x\n")


@pytest.mark.parametrize("optin", sorted({k.optin for k in catalogue.KINDS if k.optin}))
def test_each_opt_in_is_the_same_flag_in_a_schedule_file_and_on_the_command_line(optin, tmp_path):
    flag = f"with_{optin}"
    assert parse(f"scope: {{{flag}: true}}\n").scope.optins == {optin}
    assert parse(f"scope: {{{flag}: false}}\n").scope.optins == set()
    store = str(tmp_path / "store")
    run("snapshot", "--from-file", EXAMPLE, "--store", store, f"--{flag.replace('_', '-')}", "--allow-empty")
    assert json.loads(run("show", "latest", "--store", store, "-o", "json").stdout)["scope"]["optins"] == [optin]
