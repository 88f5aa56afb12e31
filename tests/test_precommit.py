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


def try_hook(hook: str, repo: Path, env: dict, *, all_files: bool = True) -> subprocess.CompletedProcess:
    """Run one hook of this repository; without `all_files`, as on a commit of what is
    staged (the hook must run even when only generated files are staged or deleted)."""
    return run([str(Path(sys.executable).parent / "pre-commit"), "try-repo", str(ROOT), hook,
                *(["--all-files"] if all_files else [])], repo, env)


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory) -> Path:
    """One pre-commit cache for the module: the hook's environment is built once per
    revision of this repository, not once per test."""
    return tmp_path_factory.mktemp("pre-commit-home")


def test_check_and_generate_hooks(tmp_path, pre_commit_home):
    if shutil.which("git") is None:
        pytest.fail("git is needed to run pre-commit")
    env = {**os.environ, "PRE_COMMIT_HOME": str(pre_commit_home),
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


def test_hooks_see_edited_deleted_and_orphaned_outputs(tmp_path, pre_commit_home):
    """What the manifest adds: a file edited by hand or deleted, and the outputs of an
    interface removed from the WIT, fail the check hook; the generate hook restores the
    first two and removes the orphans, and keeps a file the user added."""
    if shutil.which("git") is None:
        pytest.fail("git is needed to run pre-commit")
    env = {**os.environ, "PRE_COMMIT_HOME": str(pre_commit_home),
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    repo = tmp_path / "iface"
    shutil.copytree(FIXTURES / "example", repo / "wit")
    wit = repo / "wit" / "sensors.wit"
    with_extra = wit.read_text() + "\ninterface extra {\n  ping: func() -> u32;\n}\n"
    wit.write_text(with_extra)
    (repo / "wit2witx.toml").write_text('paths = ["wit"]\nout = "generated"\n')
    git(repo, env, "init", "-q")
    gen = subprocess.run([sys.executable, "-m", "wit2witx"], cwd=repo, capture_output=True, text=True)
    assert gen.returncode == 0, gen.stderr
    out = repo / "generated"
    (out / "README.md").write_text("the user's own file\n")
    git(repo, env, "add", "-A")
    git(repo, env, "commit", "-qm", "interface and generated outputs")
    assert try_hook("wit2witx-check", repo, env).returncode == 0

    header = out / "example_sensors_bus.h"
    header.write_text(header.read_text() + "/* my hand edit */\n")
    (out / "example_sensors_bus.witx").unlink()
    git(repo, env, "add", "-A")  # a commit of generated files only: one edited, one deleted
    failed = try_hook("wit2witx-check", repo, env, all_files=False)
    report = failed.stdout + failed.stderr
    assert failed.returncode != 0, report
    assert "edited" in report and "example_sensors_bus.h" in report
    assert "missing" in report and "example_sensors_bus.witx" in report

    wit.write_text(with_extra.split("\ninterface extra")[0] + "\n")  # `extra` removed
    git(repo, env, "add", "-A")
    failed = try_hook("wit2witx-check", repo, env)
    report = failed.stdout + failed.stderr
    assert failed.returncode != 0, report
    assert "orphaned" in report and "example_sensors_extra.witx" in report
    assert "example_sensors_extra.h" in report

    regen = try_hook("wit2witx-generate", repo, env)
    assert regen.returncode != 0, "the generate hook fails when it changed files"
    assert not (out / "example_sensors_extra.witx").exists()
    assert not (out / "example_sensors_extra.h").exists()
    assert (out / "example_sensors_bus.witx").exists() and "hand edit" not in header.read_text()
    assert (out / "README.md").read_text() == "the user's own file\n"
    git(repo, env, "add", "-A")
    assert try_hook("wit2witx-check", repo, env).returncode == 0
