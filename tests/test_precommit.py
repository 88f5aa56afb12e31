"""The real `pre-commit` runs this repository's hooks on an interface repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT

pytestmark = pytest.mark.slow


def run(cmd: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def git(cwd: Path, env: dict, *args: str) -> None:
    proc = run(["git", *args], cwd, env)
    assert proc.returncode == 0, proc.stderr


def try_hook(hook: str, repo: Path, env: dict) -> subprocess.CompletedProcess:
    return run([str(Path(sys.executable).parent / "pre-commit"), "try-repo", str(ROOT), hook,
                "--all-files"], repo, env)


def test_check_and_generate_hooks(tmp_path):
    if shutil.which("git") is None:
        pytest.fail("git is needed to run pre-commit")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    repo = tmp_path / "iface"
    shutil.copytree(FIXTURES / "example", repo / "wit")
    (repo / "wit2witx.toml").write_text('paths = ["wit"]\nout = "generated"\n')
    git(repo, env, "init", "-q")
    gen = subprocess.run([sys.executable, "-m", "wit2witx"], cwd=repo, capture_output=True, text=True)
    assert gen.returncode == 0, gen.stderr
    git(repo, env, "add", "-A")
    git(repo, env, "commit", "-qm", "interface and generated outputs")

    current = try_hook("wit2witx-check", repo, env)
    assert current.returncode == 0, current.stdout + current.stderr

    wit = repo / "wit" / "sensors.wit"
    wit.write_text(wit.read_text().replace("busy,", "busy,\n    timeout,"))
    git(repo, env, "add", "-A")
    stale = try_hook("wit2witx-check", repo, env)
    assert stale.returncode != 0
    assert "stale" in stale.stdout + stale.stderr

    regen = try_hook("wit2witx-generate", repo, env)
    assert regen.returncode != 0, "the generate hook fails when it changed files"
    assert "timeout" in (repo / "generated" / "example_sensors_bus.witx").read_text()
    git(repo, env, "add", "-A")
    assert try_hook("wit2witx-check", repo, env).returncode == 0
    assert try_hook("wit2witx-generate", repo, env).returncode == 0
