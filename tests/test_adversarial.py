"""Differential/adversarial generator (issue 12): WIT packages with hostile names, docs
and nesting (`tests/support/adversarial.py`), each validated by the real wasm-tools,
then run through every back end. Properties: no internal error (a back end may refuse
only with a diagnostic, and never for this generator's packages, which P1 can
express); the same input gives byte-identical output; `write()` puts every file inside
OUT and nothing elsewhere; every host-py module compiles and imports (and its
`add_to_linker` defines every import on a real wasmtime linker); the WITX output
re-reads through our WITX reader (and a file using no other prints the same again). The C
compile checks of the same packages are in tests/test_adversarial_c.py.

Bounded and derandomized in CI (`ADVERSARIAL_EXAMPLES`, default 50); run more locally
with e.g. `ADVERSARIAL_EXAMPLES=500`.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, event, given, settings

import wit2witx
from conftest import IN_CI, import_from, run_wasm_tools
from support.adversarial import deep_type, packages, witx_documents
from wit2witx.diagnostics import Wit2WitxError
from wit2witx.witx.reader import read_witx

EXAMPLES = int(os.environ.get("ADVERSARIAL_EXAMPLES", "50"))
# CI reports the first failing example as found (shrinking one takes minutes)
PHASES = tuple(p for p in Phase if p is not Phase.shrink or not IN_CI)
# the back ends checked here in depth; the C ones (whose output test_adversarial_c.py
# compiles) are checked here only for running without an internal error
BACKENDS = ("witx", "host-py", "docs", "json")
C_BACKENDS = ("c", "host-c", "host-wasm3", "host-wamr")

_counter = [0]


def _fresh_dir(tmp_root: Path) -> Path:
    _counter[0] += 1
    d = tmp_root / f"case{_counter[0]}"
    d.mkdir()
    return d


def _tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def _import_glue(out: Path, files) -> list:
    """Compile every generated .py, then import each `<unit>_host` (they import each
    other by absolute name, so `out` goes on sys.path; removed again after)."""
    stems = [name[:-3] for name in files if name.endswith("_host.py")]
    for name in files:
        if name.endswith(".py"):
            compile(files[name], name, "exec")  # SyntaxError, NUL, nesting too deep
    return import_from(out, *stems, fresh=True, forget=True)


def _source(wit_text: str, case: Path) -> Path:
    """The package as `case/pkg.wit`, after the real wasm-tools accepted it."""
    src = case / "pkg.wit"
    src.write_text(wit_text, encoding="utf-8")
    checked = run_wasm_tools("component", "wit", str(src))
    assert checked.returncode == 0, ("the generator made a package wasm-tools refuses:\n"
                                     + checked.stderr.decode(errors="replace") + wit_text)
    return src


def _compile(src: Path, emit) -> wit2witx.Artifacts | None:
    """The artifacts, or None when the package is refused with a proper diagnostic
    (one that points into the input with a caret); any other exception is an internal
    error and fails the test. Refusals are counted by class (`--hypothesis-show-statistics`)."""
    try:
        return wit2witx.compile(src, emit=emit)
    except Wit2WitxError as exc:
        text = str(exc)
        assert f"{src.name}:" in text and "^" in text, f"diagnostic without a location:\n{text}"
        reason = re.sub(r"`[^`]*`", "`_`", text.splitlines()[0])  # the class, not the names
        # names never are a reason: the lowering resolves them (docs/abi.md, "Names the
        # backport gives itself"); these are what it said before
        assert not any(r in text for r in ("clashes with the P1 parameter",
                                           "would both be the P1 typename",
                                           "is already taken in module")), text
        event(f"refused: {reason}")
        return None


def _check_package(wit_text: str, case: Path) -> None:
    src = _source(wit_text, case)
    first = _compile(src, BACKENDS)
    if first is None:
        return
    second = wit2witx.compile(src, emit=BACKENDS)
    assert dict(first) == dict(second), "output differs between two runs"

    out = case / "out"
    before = _tree(case)
    wit2witx.write(first, out)
    written = _tree(case) - before
    assert written, "nothing written"
    assert all(p == "out" or p.startswith("out/") for p in written), written
    for name, text in first.items():
        assert (out / name).read_text(encoding="utf-8") == text

    modules = _import_glue(out, first)
    assert modules, "no host-py module"
    wasmtime = pytest.importorskip("wasmtime")
    for module in modules:
        engine = wasmtime.Engine()
        linker = wasmtime.Linker(engine)
        store = wasmtime.Store(engine)

        class AnyImpl:
            def __getattr__(self, name):
                return lambda *a, **k: None

        tables = module.add_to_linker(linker, store, AnyImpl())
        assert tables is not None

    # every WITX file re-reads on its own (its `(use ...)`s from the same folder); one
    # that uses no other is a fixed point of print → read → print
    witx_files = sorted(name for name in first if name.endswith(".witx"))
    assert witx_files
    for name in witx_files:
        read_witx(str(out / name))
        if "\n(use " not in first[name]:
            again = wit2witx.compile([str(out / name)], emit=["witx"])[name]
            assert again.split("\n", 1)[1] == first[name].split("\n", 1)[1], (
                f"{name} is not a fixed point of print/read")  # (the header names the input)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=IN_CI, phases=PHASES,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(package=packages())
def test_adversarial_packages_through_every_back_end(package, tmp_path):
    _name, wit_text = package
    _check_package(wit_text, _fresh_dir(tmp_path))


@settings(max_examples=EXAMPLES, deadline=None, derandomize=IN_CI, phases=PHASES,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(package=packages())
def test_adversarial_packages_c_back_ends_run(package, tmp_path):
    """The C back ends accept the same packages (no internal error, no refusal), and
    give the same output twice; compiling it is test_adversarial_c.py's job."""
    _name, wit_text = package
    src = _source(wit_text, _fresh_dir(tmp_path))
    first = _compile(src, C_BACKENDS)
    if first is not None:
        assert dict(first) == dict(wit2witx.compile(src, emit=C_BACKENDS))


@pytest.mark.parametrize("kind", ["tuple", "list", "option", "mixed"])
def test_nesting_at_wasm_tools_limit(kind, tmp_path):
    """Types nested 99 deep (wasm-tools' limit: 100 is refused), as a named type, a
    record field, a parameter and a result: every back end, and the glue imports."""
    deep = deep_type(99, kind)
    too_deep = tmp_path / "too.wit"
    too_deep.write_text(f"package a:b;\ninterface i {{ type t = {deep_type(100, kind)}; }}\n")
    assert run_wasm_tools("component", "wit", str(too_deep)).returncode != 0
    wit = (f"package deep:nest;\ninterface i {{\n  type t = {deep};\n"
           f"  record r {{ f: {deep}, g: u8 }}\n"
           f"  f: func(x: {deep}, y: r) -> {deep_type(98, kind)};\n}}\n")
    _check_package(wit, _fresh_dir(tmp_path))


def test_witx_comments_and_strings_hold_no_line_break(tmp_path):
    """Docs with every line break WIT lets through (lone CR, U+2028) and a module
    name with quotes: each `;;;` doc is one physical line for any reader, and the
    file re-reads to the same text (a fixed point)."""
    doc = 'a\rb\u2028c\u2029d "quoted" \\ ;; (; ;) \ufeff end'
    wit = (f"package a:b;\n/// {doc}\ninterface i {{\n  /// {doc}\n  record r {{\n    /// {doc}\n"
           f"    f: u32,\n  }}\n  /** {doc}\n  {doc} */\n  g: func(x: r) -> u32;\n}}\n")
    case = _fresh_dir(tmp_path)
    src = _source(wit, case)
    text = wit2witx.compile(src, emit=["witx"])["a_b_i.witx"]
    for line in text.split("\n"):
        assert not set(line) & {"\r", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\ufeff"}, line
    assert text.count(";;; a\\u{d}b\\u{2028}c\\u{2029}d") == 4
    out = case / "out"
    out.mkdir()
    (out / "a_b_i.witx").write_text(text, encoding="utf-8")
    again = wit2witx.compile([str(out / "a_b_i.witx")], emit=["witx"])["a_b_i.witx"]
    assert again.split("\n", 1)[1] == text.split("\n", 1)[1]


@settings(max_examples=EXAMPLES, deadline=None, derandomize=IN_CI, phases=PHASES,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(document=witx_documents())
def test_adversarial_witx_documents(document, tmp_path):
    """The WITX front end lets names hold `.`, `'`, `\\`, `|`, `` ` ``... and function
    names be any string: the glue still imports, the docs render, the WITX printed
    is a fixed point, and output is identical twice."""
    module, text = document
    case = _fresh_dir(tmp_path)
    src = case / f"{module}.witx"
    src.write_text(text, encoding="utf-8")
    emit = ("witx", "host-py", "docs", "c")
    first = _compile(src, emit)
    if first is None:
        return
    assert dict(first) == dict(wit2witx.compile(src, emit=emit))
    out = case / "out"
    wit2witx.write(first, out)
    (glue,) = _import_glue(out, first)
    assert len(glue.SPECS) == text.count("(@interface func")
    again = wit2witx.compile([str(out / f"{module}.witx")], emit=["witx"])[f"{module}.witx"]
    assert again.split("\n", 1)[1] == first[f"{module}.witx"].split("\n", 1)[1]
