"""How `restore` and `migrate nginx --apply` show restore's notices (cli/restore.py): a warning is a warning log
line, anything else is shown to a person as it is, or an info event in JSON logs; the level is the notice's own,
never read back from its text."""

from __future__ import annotations

import json

import pytest

from hgbackup import logs
from hgbackup.cli.restore import notice
from hgbackup.restore.records import Level, Notice


@pytest.fixture
def log_format():
    def use(fmt: str) -> None:
        logs.configure(fmt)

    yield use
    logs.configure("text")


def test_a_warning_notice_is_a_warning_line(log_format, capsys):
    log_format("text")
    notice(Notice("the safety snapshot holds live Secrets unencrypted (no key given)", Level.WARNING))
    assert capsys.readouterr().err == ("hgbackup: warning: the safety snapshot holds live Secrets unencrypted "
                                       "(no key given)\n")


def test_an_info_notice_is_shown_as_it_is_whatever_its_text(log_format, capsys):
    log_format("text")
    notice(Notice("warning: is a word an object may hold; this line is not a warning"))
    assert capsys.readouterr().err == "warning: is a word an object may hold; this line is not a warning\n"


def test_in_json_logs_each_notice_is_one_event_of_its_level(log_format, capsys):
    log_format("json")
    notice(Notice("restore s1 into https://k8s:6443"))
    notice(Notice("snapshot s1 is not authenticated (no key)", Level.WARNING))
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(e["level"], e["message"]) for e in events] == [
        ("info", "restore s1 into https://k8s:6443"), ("warning", "snapshot s1 is not authenticated (no key)")]
