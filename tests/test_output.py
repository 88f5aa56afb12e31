"""The output folder: paths stay inside OUT, updates are all or nothing, the manifest.

Runs the real `wit2witx` command where the behaviour is the command's (exit status,
signals, umask) and the library where the contract is `write`/`check`'s.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, ROOT
from wit2witx import compiler, output
from wit2witx.diagnostics import InputError, UsageError
from wit2witx.filenames import SHARED_FILES, UNIT_FILES
from wit2witx.output import MANIFEST

EXAMPLE = FIXTURES / "example"
ALL_P1 = ("witx", "c", "host-c", "host-wasm3", "host-wamr", "host-py", "docs")


def wit2witx(*args: str, cwd: Path | None = None, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "wit2witx", *args], capture_output=True,
                          text=True, cwd=cwd or ROOT, **kw)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink()}


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".wit2witx-" in p.name)


def package(folder: Path, interfaces: dict[str, str], name: str = "ex:pkg") -> Path:
    """A WIT package folder with one `f: func` per interface (`doc` varies the output)."""
    folder.mkdir(parents=True, exist_ok=True)
    body = "".join(f"/// {doc}\ninterface {iface} {{ f: func(x: u32) -> u32; }}\n"
                   for iface, doc in interfaces.items())
    (folder / "p.wit").write_text(f"package {name};\n{body}")
    return folder


# --- item 4: every path a plain relative path inside OUT ---------------------------------


BAD_KEYS = ["../escaped.h", "a/../../escaped.h", "/tmp/absolute.h", "a//b.h", "./a.h", "",
            "a\\b.h", "C:evil.h", "nul\x00.h", "tab\t.h", MANIFEST, f"{MANIFEST}/x", "a/"]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_write_and_check_refuse_paths_outside_out(tmp_path, key):
    out = tmp_path / "deep" / "out"
    with pytest.raises(UsageError):
        output.write({"ok.h": "x", key: "y"}, out)
    with pytest.raises(UsageError):
        output.check({key: "y"}, out)
    assert list(tmp_path.rglob("*")) == [], "a refused write creates nothing"


@pytest.mark.parametrize("keys", [["A.h", "a.h"], ["a", "a/b.h"], ["x/Y.h", "X/y.h"]])
def test_write_refuses_paths_that_collide_on_some_file_system(tmp_path, keys):
    with pytest.raises(UsageError):
        output.write(dict.fromkeys(keys, "x"), tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("module", ["../../escaped", "/tmp/absolute", "my-mod", "a.b", "1st"])
def test_witx_module_names_must_be_c_identifiers(tmp_path, module):
    src = tmp_path / "in" / "m.witx"
    src.parent.mkdir()
    src.write_text(f'(module ${module}\n  (import "memory" (memory))\n)\n')
    before = set(tmp_path.rglob("*"))
    proc = wit2witx(str(src), "--emit", ",".join(ALL_P1), "-o", str(tmp_path / "in" / "out"))
    assert proc.returncode == 1, proc.stderr
    assert "m.witx:1:1" in proc.stderr and "^" in proc.stderr and "C identifier" in proc.stderr
    assert set(tmp_path.rglob("*")) == before and not Path("/tmp/absolute.witx").exists()


@pytest.mark.parametrize("value", ["../x", "a/b", "/abs", "x.y", "w2w"])
def test_bad_module_name_options_are_usage_errors(tmp_path, value):
    src = package(tmp_path / "in", {"a": "d"})
    proc = wit2witx(str(src), "--emit", "witx,c,host-c", "--module-name", f"ex:pkg/a={value}",
                    "-o", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stderr
    assert value in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


@pytest.mark.parametrize("suffix", ["host", "wasm3", "wamr", "host-inline"])
def test_file_name_clashes_between_units_are_diagnosed(tmp_path, suffix):
    src = package(tmp_path / "in", {"sensor": "a", f"sensor-{suffix}": "b"})
    proc = wit2witx(str(src), "--emit", ",".join(ALL_P1), "-o", str(tmp_path / "out"))
    assert proc.returncode == 1, proc.stderr
    assert "`ex:pkg/sensor`" in proc.stderr and f"`ex:pkg/sensor-{suffix}`" in proc.stderr
    assert "p.wit:" in proc.stderr and "--module-name" in proc.stderr
    assert not (tmp_path / "out").exists()
    # the way out the diagnostic names works
    renamed = wit2witx(str(src), "--emit", ",".join(ALL_P1), "--module-name",
                       f"ex:pkg/sensor-{suffix}=other", "-o", str(tmp_path / "out"))
    assert renamed.returncode == 0, renamed.stderr


def test_a_clash_with_a_file_named_after_the_world_is_a_diagnostic(tmp_path):
    """c-p2 names its files after the world: a guest header of the same name is caught
    after emission, still as a diagnostic."""
    src = tmp_path / "in"
    src.mkdir()
    (src / "p.wit").write_text("package ex:pkg;\ninterface a { f: func() -> u32; }\n"
                               "world imports { import a; }\n")
    with pytest.raises(InputError, match="would both write `imports.h`"):
        compiler.compile([str(src)], emit=["c", "c-p2"], world="imports",
                         module_names={"ex:pkg/a": "imports"})


def _forecast(program, emit) -> set[str]:
    names = {n for b in emit for n in SHARED_FILES.get(b, ())}
    for unit in program.units:
        names |= {p.format(unit.name) for b in emit for p, _ in UNIT_FILES.get(b, ())}
    return names


@pytest.mark.parametrize("inputs", [
    [EXAMPLE], [FIXTURES / "witx" / "sensors_bus.witx"],
])
def test_every_file_a_run_makes_is_forecast(inputs):
    """The clash check knows every file name: none can vanish in a back end's dict."""
    inputs = [str(p) for p in inputs]
    emit = (*ALL_P1, "json")
    artifacts = compiler.compile(inputs, emit=emit)
    program = compiler.build_program(inputs, compiler.Options(emit=emit))
    assert set(artifacts) <= _forecast(program, emit)


NAME_PARTS = st.sampled_from(["sensor", "w2w", "host", "inline", "wasm3", "wamr", "a", "p1"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.lists(NAME_PARTS, min_size=1, max_size=3).map("-".join),
                      min_size=1, max_size=4, unique=True),
       namespace=st.sampled_from(["ex:pkg", "w2w:host", "a:b"]))
def test_any_interface_names_write_inside_out_or_are_diagnosed(tmp_path_factory, names, namespace):
    """Whole class of item 4: whatever the names, a file per forecast name, all inside
    OUT, or a diagnostic; never an internal error or an overwritten file."""
    base = tmp_path_factory.mktemp("names")
    src = package(base / "in", {n: n for n in names}, namespace)
    emit = (*ALL_P1, "json")
    try:
        artifacts = compiler.compile([str(src)], emit=emit)
    except InputError as exc:
        assert "would both be the file" in str(exc)
        return
    program = compiler.build_program([str(src)], compiler.Options(emit=emit))
    units = len(program.units)
    per_unit = sum(len(UNIT_FILES[b]) for b in ALL_P1)
    # every unit has a function, so every per-unit file exists: none was overwritten
    assert len(artifacts) == units * per_unit + 2  # + w2w_host.h + resolve.json
    out = base / "out"
    output.write(artifacts, out)
    assert {str(p.relative_to(base)) for p in base.rglob("*")} - {"in", "in/p.wit", "out"} == {
        f"out/{k}" for k in [*artifacts, MANIFEST]}


# --- item 6: all or nothing ---------------------------------------------------------------


def test_new_folders_get_the_umask(tmp_path):
    def umask_027():
        os.umask(0o027)

    out = tmp_path / "a" / "b" / "out"
    proc = wit2witx(str(EXAMPLE), "-o", str(out), preexec_fn=umask_027)
    assert proc.returncode == 0, proc.stderr
    for folder in (tmp_path / "a", tmp_path / "a" / "b", out):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o750, folder
    for path in out.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path


def test_replaced_out_keeps_its_mode_and_unchanged_files_keep_inode_and_mtime(tmp_path):
    out = tmp_path / "out"
    first = package(tmp_path / "v1", {"a": "same", "b": "one"})
    second = package(tmp_path / "v2", {"a": "same", "b": "two"})
    output.write(compiler.compile([str(first)]), out)
    os.chmod(out, 0o711)
    old = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.iterdir()}
    for p in out.iterdir():
        os.utime(p, ns=(10**18, 10**18))
    old = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.iterdir()}
    written = output.write(compiler.compile([str(second)]), out)
    assert written.changed == ["ex_pkg_b.h", "ex_pkg_b.witx"] and not written.removed
    new = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.iterdir()}
    assert new["ex_pkg_a.witx"] == old["ex_pkg_a.witx"] and new["ex_pkg_a.h"] == old["ex_pkg_a.h"]
    assert new["ex_pkg_b.witx"] != old["ex_pkg_b.witx"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o711


def test_up_to_date_run_touches_nothing(tmp_path):
    out = tmp_path / "out"
    artifacts = compiler.compile([str(EXAMPLE)])
    output.write(artifacts, out)
    before = {p.name: p.stat().st_mtime_ns for p in [out, *out.iterdir()]}
    inode = out.stat().st_ino
    assert not output.write(artifacts, out)
    assert out.stat().st_ino == inode
    assert {p.name: p.stat().st_mtime_ns for p in [out, *out.iterdir()]} == before


def test_unwritable_file_leaves_out_unchanged(tmp_path):
    """A file that cannot be created (its name is too long for the file system) comes
    after others were staged: OUT keeps every old file, nothing is left beside it."""
    out = tmp_path / "out"
    assert wit2witx(str(package(tmp_path / "v1", {"a": "old"})), "-o", str(out)).returncode == 0
    before = tree(out)
    too_long = "x" * 300
    src = package(tmp_path / "v2", {"a": "new", too_long: "new"})
    proc = wit2witx(str(src), "-o", str(out))
    assert proc.returncode == 1, proc.stderr
    assert "cannot write" in proc.stderr and "left as it was" in proc.stderr
    assert tree(out) == before
    assert leftovers(tmp_path) == []


def test_user_files_survive_and_orphans_go(tmp_path):
    out = tmp_path / "out"
    output.write(compiler.compile([str(package(tmp_path / "v1", {"a": "1", "b": "1"}))]), out)
    (out / "notes.md").write_text("mine")
    (out / "sub" / "deeper").mkdir(parents=True)
    (out / "sub" / "deeper" / "data.bin").write_bytes(b"\x00\x01")
    (out / "empty").mkdir()
    (out / "link").symlink_to("notes.md")
    (out / "ex_pkg_b.h").write_text((out / "ex_pkg_b.h").read_text() + "// mine too\n")
    written = output.write(compiler.compile([str(package(tmp_path / "v2", {"a": "1"}))]), out)
    assert written.removed == ["ex_pkg_b.witx"]
    assert written.kept == ["ex_pkg_b.h"], "an orphan edited by hand is not removed"
    assert (out / "notes.md").read_text() == "mine"
    assert (out / "sub" / "deeper" / "data.bin").read_bytes() == b"\x00\x01"
    assert (out / "empty").is_dir() and os.readlink(out / "link") == "notes.md"
    assert "// mine too" in (out / "ex_pkg_b.h").read_text()
    assert not (out / "ex_pkg_b.witx").exists()
    assert "ex_pkg_b" not in (out / MANIFEST).read_text(), "the kept file is the user's now"
    # the next run does not touch it again
    assert output.write(compiler.compile([str(tmp_path / "v2")]), out).kept == []


def test_a_symlink_at_a_generated_name_gives_way(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "elsewhere.h").write_text("not to be touched")
    (out / "example_sensors_bus.h").symlink_to(tmp_path / "elsewhere.h")
    output.write(compiler.compile([str(EXAMPLE)]), out)
    assert not (out / "example_sensors_bus.h").is_symlink()
    assert (tmp_path / "elsewhere.h").read_text() == "not to be touched"


def test_a_generated_name_in_the_way_of_a_user_folder_is_diagnosed(tmp_path):
    out = tmp_path / "out"
    (out / "example_sensors_bus.h").mkdir(parents=True)
    (out / "example_sensors_bus.h" / "mine").write_text("x")
    with pytest.raises(InputError, match="folder of that name is in the way"):
        output.write(compiler.compile([str(EXAMPLE)]), out)
    assert tree(out) == {"example_sensors_bus.h/mine": b"x"}
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("state", ["staging-only", "backup-only", "both", "backup-and-out"])
def test_a_killed_run_is_recovered_by_the_next(tmp_path, state):
    out = tmp_path / "out"
    artifacts = compiler.compile([str(EXAMPLE)])
    output.write(artifacts, out)
    old = tree(out)
    staging = tmp_path / f".out{output.STAGING_SUFFIX}"
    backup = tmp_path / f".out{output.BACKUP_SUFFIX}"
    if state in ("staging-only", "both"):
        staging.mkdir()
        (staging / "half.h").write_text("partial")
    if state in ("backup-only", "both"):
        out.rename(backup)  # killed between the two renames of the fallback swap
        assert output.check(artifacts, out) == [], "check reads the old tree meanwhile"
    if state == "backup-and-out":
        backup.mkdir()
        (backup / "old.h").write_text("old tree")
    output.write(artifacts, out)
    assert tree(out) == old
    assert leftovers(tmp_path) == []


def test_two_rename_swap_where_exchange_is_unsupported(tmp_path, monkeypatch):
    monkeypatch.setattr(output, "_exchange", lambda a, b: False)
    out = tmp_path / "out"
    output.write(compiler.compile([str(package(tmp_path / "v1", {"a": "1"}))]), out)
    (out / "mine.txt").write_text("kept")
    output.write(compiler.compile([str(package(tmp_path / "v2", {"a": "2"}))]), out)
    assert "2" in (out / "ex_pkg_a.witx").read_text() and (out / "mine.txt").exists()
    assert leftovers(tmp_path) == []


def test_out_holding_the_current_folder_is_a_usage_error(tmp_path):
    """OUT is replaced as a whole: the shell sitting in it would be left in the old tree."""
    (tmp_path / "here").mkdir()
    proc = wit2witx(str(EXAMPLE), "-o", ".", cwd=tmp_path / "here")
    assert proc.returncode == 2 and "current folder" in proc.stderr
    assert list((tmp_path / "here").iterdir()) == []


def test_out_given_as_a_symlink_updates_the_folder_it_names(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "mine.txt").write_text("kept")
    (tmp_path / "link").symlink_to("real")
    output.write(compiler.compile([str(EXAMPLE)]), tmp_path / "link")
    assert (tmp_path / "link").is_symlink() and os.readlink(tmp_path / "link") == "real"
    assert (real / "example_sensors_bus.h").exists() and (real / "mine.txt").read_text() == "kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]


def _big_package(folder: Path, doc: str, count: int = 80) -> Path:
    return package(folder, {f"iface{i}": f"{doc} {i}" for i in range(count)}, "big:many")


def _time_the_write(cmd: list[str], staging: Path) -> tuple[float, float]:
    """Run `cmd` once; return (the whole run's time, how long the staging folder existed)."""
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    appeared = gone = None
    while proc.poll() is None:
        now, exists = time.monotonic(), staging.exists()
        if exists and appeared is None:
            appeared = now
        elif not exists and appeared is not None and gone is None:
            gone = now
        time.sleep(0.0005)
    _, err = proc.communicate()
    assert proc.returncode == 0, err
    ended = time.monotonic()
    if appeared is None:  # the write was quicker than the polling: aim at the run's end
        appeared = ended - 0.01
    return ended - started, max((gone or ended) - appeared, 0.002)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_a_large_write_leaves_old_or_new(tmp_path, signum):
    """Ctrl-C / SIGTERM sent to the real command at random moments of a large write:
    OUT is entirely the old tree or entirely the new one, and nothing is left beside it.

    Half the trials aim at the write itself: the signal follows the staging folder's
    appearance by a random part of the time a write takes.
    """
    emit = ",".join(ALL_P1)
    out = tmp_path / "out"
    old_src, new_src = _big_package(tmp_path / "old", "old"), _big_package(tmp_path / "new", "new")
    cmd = [sys.executable, "-m", "wit2witx", str(new_src), "--emit", emit, "-o", str(out), "-q"]

    assert wit2witx(str(old_src), "--emit", emit, "-o", str(out), "-q").returncode == 0
    old = tree(out)
    pristine = tmp_path / "pristine"
    shutil.copytree(out, pristine, symlinks=True)

    def reset() -> None:
        shutil.rmtree(out)
        shutil.copytree(pristine, out, symlinks=True)

    staging = tmp_path / f".out{output.STAGING_SUFFIX}"
    full, window = _time_the_write(cmd, staging)
    new = tree(out)
    assert len(new) > 800 and old != new
    rng = random.Random(signum * 7919)
    outcomes = {"old": 0, "new": 0, "signalled while writing": 0}
    trials, deadline = 0, time.monotonic() + 75
    while trials < 14 and time.monotonic() < deadline:
        trials += 1
        reset()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if trials % 2:
            time.sleep(rng.uniform(0.2, 1.4) * full)  # some trials end before the signal
        else:
            while proc.poll() is None and not staging.exists():
                time.sleep(0.0005)
            # a random moment inside the staging window measured above: on a quiet
            # machine the write is a small part of the whole run
            time.sleep(rng.uniform(0.0, 0.6) * window)
        outcomes["signalled while writing"] += staging.exists()
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
        assert b"Traceback" not in err, err
        assert proc.returncode in (0, 130, -signum), (proc.returncode, err)
        now = tree(out)
        assert now in (old, new), "OUT mixes the old and the new tree"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["new", "old", "out", "pristine"], \
            "a staging or backup folder was left behind"
        outcomes["old" if now == old else "new"] += 1
    assert outcomes["old"] and outcomes["signalled while writing"], outcomes
    print(f"{signal.Signals(signum).name}: {trials} trials, {outcomes}")


# --- item 7: --check sees everything a run generated --------------------------------------


def test_check_reports_missing_stale_edited_and_orphaned(tmp_path):
    out = tmp_path / "out"
    v1 = package(tmp_path / "v1", {"a": "1", "b": "1", "c": "1"})
    output.write(compiler.compile([str(v1)]), out)
    (out / "user.txt").write_text("not generated")
    assert output.check(compiler.compile([str(v1)]), out) == []
    (out / "ex_pkg_a.h").unlink()
    (out / "ex_pkg_c.witx").write_text("edited")
    v2 = package(tmp_path / "v2", {"a": "1", "c": "2"})  # b removed, c changed
    found = {(s.path, s.reason) for s in output.check(compiler.compile([str(v2)]), out)}
    assert found == {("ex_pkg_a.h", "missing"), ("ex_pkg_c.witx", "edited"),
                     ("ex_pkg_c.h", "stale"), ("ex_pkg_b.witx", "orphaned"),
                     ("ex_pkg_b.h", "orphaned")}
    output.write(compiler.compile([str(v2)]), out)
    assert output.check(compiler.compile([str(v2)]), out) == []
    assert not (out / "ex_pkg_b.h").exists() and (out / "user.txt").read_text() == "not generated"


def test_check_reports_a_missing_manifest(tmp_path):
    out = tmp_path / "out"
    artifacts = compiler.compile([str(EXAMPLE)])
    output.write(artifacts, out)
    (out / MANIFEST).unlink()
    assert [(s.path, s.reason) for s in output.check(artifacts, out)] == [(MANIFEST, "missing")]


def test_manifest_is_what_sha256sum_checks(tmp_path):
    out = tmp_path / "out"
    output.write(compiler.compile([str(EXAMPLE)], emit=ALL_P1), out)
    proc = subprocess.run(["sha256sum", "-c", "--strict", MANIFEST], cwd=out,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    listed = [line.split("  ", 1)[1] for line in (out / MANIFEST).read_text().splitlines()
              if not line.startswith("#")]
    assert listed == sorted(p.name for p in out.iterdir() if p.name != MANIFEST)


def test_a_hostile_manifest_cannot_remove_files_outside_out(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "out"
    output.write(compiler.compile([str(EXAMPLE)]), out)
    digest = output._digest(b"precious")
    with open(out / MANIFEST, "a") as fh:
        fh.write(f"{digest}  ../victim.txt\n{digest}  {victim}\n")
    output.write(compiler.compile([str(EXAMPLE)], emit=["witx"]), out)
    assert victim.read_text() == "precious"


def test_cli_check_and_regenerate_after_removing_an_interface(tmp_path):
    out = tmp_path / "out"
    src = package(tmp_path / "in", {"a": "1", "b": "1"})
    assert wit2witx(str(src), "-o", str(out)).returncode == 0
    package(tmp_path / "in", {"a": "1"})
    check = wit2witx(str(src), "-o", str(out), "--check")
    assert check.returncode == 3
    assert "orphaned" in check.stderr and "ex_pkg_b.witx" in check.stderr
    regen = wit2witx(str(src), "-o", str(out), "--fail-on-change")
    assert regen.returncode == 3 and "removed (no longer generated)" in regen.stderr
    assert not (out / "ex_pkg_b.witx").exists()
    assert wit2witx(str(src), "-o", str(out), "--check").returncode == 0


# --- item 9: a folder named `run` ---------------------------------------------------------


def test_a_folder_named_run_is_a_path(tmp_path):
    package(tmp_path / "run", {"a": "1"})
    for args in (["run", "-o", "out"], ["run", "--emit", "witx", "--out=out2"], ["./run", "-o", "out3"]):
        proc = wit2witx(*args, cwd=tmp_path)
        assert proc.returncode == 0, (args, proc.stderr)
        assert (tmp_path / args[-1].removeprefix("--out=") / "ex_pkg_a.witx").exists()
    sub = wit2witx("run", "--help", cwd=tmp_path)
    assert sub.returncode == 0 and "GUEST.wasm" in sub.stdout, "`run` alone is still the subcommand"


def test_help_lists_the_run_subcommand():
    proc = wit2witx("--help")
    assert proc.returncode == 0
    assert "wit2witx run GUEST.wasm" in proc.stdout and "./run" in proc.stdout
