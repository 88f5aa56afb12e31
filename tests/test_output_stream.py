"""Writing OUT from files that come one at a time (`output.write_files`,
`compiler.compile_into`, what the command line does): the same folder as `write`, each
file staged as it comes and let go, OUT untouched when making or checking one fails."""

from __future__ import annotations

import os
import weakref
from pathlib import Path

import pytest

from conftest import FIXTURES
from test_output import leftovers, package, tree
from wit2witx import compiler, output
from wit2witx.diagnostics import InputError, UsageError
from wit2witx.output import MANIFEST

EXAMPLE = FIXTURES / "example"
ALL_P1 = ("witx", "c", "host-c", "host-wasm3", "host-wamr", "host-py", "docs", "json")


def test_compile_into_writes_what_write_of_compile_writes(tmp_path):
    artifacts = compiler.compile([str(EXAMPLE)], emit=ALL_P1)
    output.write(artifacts, tmp_path / "a")
    made, written = compiler.compile_into(tmp_path / "b", [str(EXAMPLE)], emit=ALL_P1)
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    assert list(made) == list(artifacts) and written.changed == sorted(artifacts)
    assert leftovers(tmp_path) == []


def test_each_file_is_staged_before_the_next_is_made(tmp_path):
    """The C header back end hands its headers over one by one, and the writer lets
    each go once staged: while a header is made, the one before is on disk, and the
    one before that no longer held (the layers of generators keep the last one)."""
    out = tmp_path / "out"
    src = package(tmp_path / "src", {f"i{n}": str(n) for n in range(4)})
    staging = out.parent / f".{out.name}{output.STAGING_SUFFIX}"
    seen: list[tuple[str, bool, bool]] = []
    texts: list[weakref.ref] = []

    class Text(str):  # a str that can be weakly referenced, to see it let go
        pass

    def files():
        for path, text in compiler._generate(program):
            if path.endswith(".h"):
                if len(texts) >= 2:
                    before = f"ex_pkg_i{len(texts) - 1}.h"
                    seen.append((path, (staging / before).exists(), texts[-2]() is None))
                text = Text(text)
                texts.append(weakref.ref(text))
            yield path, text
            del text

    program = compiler.build_program([str(src)], compiler._options(emit="c"))
    output.write_files(files(), out)
    assert [s[0] for s in seen] == ["ex_pkg_i2.h", "ex_pkg_i3.h"]
    assert all(on_disk and let_go for _, on_disk, let_go in seen), seen
    assert (out / "ex_pkg_i3.h").read_text().startswith("/*")


def test_a_back_end_failing_midway_leaves_out_as_it_was(tmp_path):
    out = tmp_path / "out"
    output.write(compiler.compile([str(EXAMPLE)]), out)
    (out / "mine.txt").write_text("kept")
    before = tree(out)

    def files():
        yield from compiler.compile([str(EXAMPLE)], emit="witx").items()
        raise InputError(compiler.error("the back end failed"))

    with pytest.raises(InputError, match="the back end failed"):
        output.write_files(files(), out)
    assert tree(out) == before and leftovers(tmp_path) == []


@pytest.mark.parametrize("paths, message", [
    (["a.h", "../x.h"], "not a plain relative path"),
    (["a.h", "A.h"], "differ only in case"),
    (["a/b.h", "a"], "is also the folder of another artifact"),
    (["a", "a/b.h"], "is also the folder of another artifact"),
    (["a.h", MANIFEST], "name of wit2witx's manifest"),
])
def test_a_bad_path_midway_is_refused_and_out_left_as_it_was(tmp_path, paths, message):
    out = tmp_path / "out"
    output.write({"old.h": "old"}, out)
    before = tree(out)
    with pytest.raises(UsageError, match=message):
        output.write_files(((p, "new") for p in paths), out)
    assert tree(out) == before and leftovers(tmp_path) == []


def test_an_up_to_date_out_is_not_touched(tmp_path, monkeypatch):
    out = tmp_path / "out"
    compiler.compile_into(out, [str(EXAMPLE)])
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    made = []
    real_mkdir = os.mkdir
    monkeypatch.setattr(output.os, "mkdir", lambda p, *a, **k: made.append(p) or real_mkdir(p, *a, **k))
    _, written = compiler.compile_into(out, [str(EXAMPLE)])
    assert not written
    assert [p for p in made if output.STAGING_SUFFIX in os.fspath(p)] == []  # no staging either
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == stamps


def test_a_folder_where_a_file_goes_is_refused(tmp_path):
    out = tmp_path / "out"
    output.write({"a.h": "1"}, out)
    (out / "b.h").mkdir()
    before = tree(out)
    with pytest.raises(InputError, match="a folder of that name is in the way"):
        output.write_files([("a.h", "2"), ("b.h", "2")], out)
    assert tree(out) == before and (out / "b.h").is_dir() and leftovers(tmp_path) == []


def test_unchanged_files_stay_linked_when_others_change(tmp_path):
    """Files met before the first changed one (no staging folder yet) are still carried
    into the new tree as links of OUT's (same inode)."""
    out = tmp_path / "out"
    output.write({"a.h": "1", "b.h": "1", "sub/c.h": "1"}, out)
    inodes = {p: (out / p).stat().st_ino for p in ("a.h", "sub/c.h")}
    written = output.write_files([("a.h", "1"), ("sub/c.h", "1"), ("b.h", "2")], out)
    assert written.changed == ["b.h"]
    assert {p: (out / p).stat().st_ino for p in inodes} == inodes
    assert (out / "b.h").read_text() == "2" and leftovers(tmp_path) == []


def test_a_file_under_a_symlinked_folder_is_written_anew(tmp_path):
    """As `write` sees OUT (symlinks not followed): a file reached through a symlink in
    OUT is not OUT's own, so it is never linked from there."""
    out = tmp_path / "out"
    output.write({"x.h": "1"}, out)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "c.h").write_text("1")
    (out / "sub").symlink_to(elsewhere)
    with pytest.raises(InputError, match="cannot create the folder"):
        output.write_files([("x.h", "1"), ("sub/c.h", "1")], out)
    assert (elsewhere / "c.h").read_text() == "1" and leftovers(tmp_path) == []


def test_cli_writes_the_same_as_the_library(tmp_path):
    from test_output import wit2witx

    proc = wit2witx(str(EXAMPLE), "-o", str(tmp_path / "cli"))
    assert proc.returncode == 0, proc.stderr
    output.write(compiler.compile([str(EXAMPLE)]), tmp_path / "lib")
    assert tree(tmp_path / "cli") == tree(tmp_path / "lib")
    assert f"wrote {len(compiler.compile([str(EXAMPLE)]))} files" in proc.stderr


def test_back_end_warnings_are_reported_after_the_front_ends(tmp_path):
    """c-p2 without `--world` among other back ends warns while the files are made: the
    command line still says so (after the front end's warnings, before its summary)."""
    from test_output import wit2witx

    proc = wit2witx(str(EXAMPLE), "--emit", "witx,c-p2", "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert "needs `--world`" in proc.stderr
    assert proc.stderr.index("needs `--world`") < proc.stderr.index("wrote ")
    got = []
    made, _ = compiler.compile_into(tmp_path / "lib", [str(EXAMPLE)], emit=["witx", "c-p2"],
                                    on_warnings=got.extend)
    assert [w.message for w in got] == [w.message for w in made.warnings]
    assert any("needs `--world`" in w.message for w in got)


def test_a_signal_while_a_file_is_made_abandons_the_write_at_once(tmp_path):
    """SIGINT while a back end makes a file: the write stops there (the producer is not
    asked for another file), the staging folder goes, OUT is as it was."""
    import signal

    out = tmp_path / "out"
    output.write({"a.h": "old"}, out)
    asked = []

    def files():
        asked.append(1)
        yield "a.h", "new"
        asked.append(2)
        signal.raise_signal(signal.SIGINT)  # delivered while this file is being made
        asked.append(3)
        yield "b.h", "new"
        asked.append(4)
        yield "c.h", "new"

    with pytest.raises(KeyboardInterrupt):
        output.write_files(files(), out)
    assert asked == [1, 2]
    assert tree(out) == {"a.h": b"old", MANIFEST: (out / MANIFEST).read_bytes()}
    assert leftovers(tmp_path) == []
