"""Reproducible installs: requirements.lock pins every dependency with hashes, and the Dockerfile's install steps
work as a non-root user with a read-only install tree (scripts/test-install; no Docker engine here)."""

from __future__ import annotations

import os
import re
import subprocess

import tomllib
from conftest import ROOT


def locked() -> dict[str, list[str]]:
    with open(os.path.join(ROOT, "requirements.lock"), encoding="utf-8") as fh:
        text = fh.read()
    pins: dict[str, list[str]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = re.match(r"([A-Za-z0-9_.-]+)==(\S+)", block)
        if match:
            pins.setdefault(re.sub(r"[-_.]+", "-", match.group(1).lower()), []).append(block)
    return pins


def test_the_lock_pins_every_dependency_with_hashes():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as fh:
        project = tomllib.load(fh)
    wanted = [re.match(r"[A-Za-z0-9_.-]+", d).group(0) for d in project["project"]["dependencies"]]
    wanted += project["build-system"]["requires"]
    pins = locked()
    for name in wanted:
        key = re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9_.-]+", name).group(0).lower())
        assert key in pins, f"{name} is not in requirements.lock (run scripts/lock)"
    for blocks in pins.values():
        assert all("--hash=sha256:" in block for block in blocks)


def test_dockerfile_installs_from_the_lock():
    with open(os.path.join(ROOT, "Dockerfile"), encoding="utf-8") as fh:
        docker = fh.read()
    assert "COPY requirements.lock" in docker and "RUN scripts/install-locked" in docker
    with open(os.path.join(ROOT, "scripts", "install-locked"), encoding="utf-8") as fh:
        steps = fh.read()
    assert "--require-hashes" in steps and "--no-deps" in steps


def test_install_steps_as_a_non_root_user_with_a_read_only_tree():
    result = subprocess.run([os.path.join(ROOT, "scripts", "test-install")], capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "test-install: ok" in result.stdout
    if os.getuid() == 0:  # as root, the script switches to the image's user
        assert "uid 65532" in result.stdout
