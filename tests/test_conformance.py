"""Conformance: every back end over every real package we have, checked by real tools.

Inputs: every package of WASI 0.2.12 and 0.3.0 in ../shared/corpus (each with the
others as its deps/), the corpus' P1-era WITX modules, and the project's fixtures.
For each input every back end runs (WASI 0.3.0: the P1 back ends with
`--skip-unsupported`, JSON without it) and the outputs must hold up:

- every guest header compiles alone (one translation unit each) with zig for
  wasm32-wasi, as C11 and as C++17, `-Wall -Wextra -Werror -pedantic`;
- every host C file (core, wasm3 binding, WAMR binding) compiles with gcc and with g++
  (`-Wall -Wextra -Werror`), against wasm3's and WAMR's real headers;
- every host-py module imports (with wasmtime installed);
- `resolve.json` is byte for byte what `wasm-tools component wit --json` prints.

Compiles are batched: one compiler invocation per (input, language), each file its own
translation unit, and every (input, check) pair is its own test so xdist spreads them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import CORPUS, FIXTURES, corpus_path, run_wasm_tools, zig_cc
from support import wamr as wamr_support
from support.wasm3 import gcc, wasm3_lib

import wit2witx

P1_BACKENDS = ("witx", "c", "host-py", "docs")
HOST_C_BACKENDS = ("host-c", "host-wasm3", "host-wamr")
#: Inputs the C host glue refuses, with the diagnostic it must give: a hand-written
#: status enum without the glue statuses (nor P1's errno names for them) leaves the
#: checks no status to report a bad pointer, handle or value with.
HOST_C_REFUSES = {
    "fixture-c-sensors": "status enum `errno` has no `buffer_too_small` case",
}
HOST_C_SUFFIXES = ("_host.c", "_wasm3.c", "_wamr.c")
HOST_H_SUFFIXES = ("_host.h", "_host_inline.h", "_wasm3.h", "_wamr.h")
SUPPORT_HEADER = "w2w_host.h"
WARNINGS = ("-Wall", "-Wextra", "-Werror")


@dataclass(frozen=True)
class Case:
    """One input: WIT package folder(s) (with deps) or one WITX document."""

    id: str
    kind: str  # "wasi" (a corpus release/package), "wit" (a fixture folder), "witx" (a
    #            fixture file), "corpus-witx" (a corpus file)
    where: tuple[str, ...]  # corpus or fixture path parts
    skip_unsupported: bool = False

    @property
    def has_json(self) -> bool:
        return self.kind in ("wasi", "wit")


def _corpus_dirs(release: str) -> list[str]:
    root = CORPUS / release
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def _corpus_witx() -> list[tuple[str, ...]]:
    root = CORPUS / "witx"
    if not root.is_dir():
        return []
    return [("witx", p.parent.name, p.name) for p in sorted(root.glob("*/*.witx"))
            if p.name != "typenames.witx"]


def _cases() -> list[Case]:
    cases = [Case(f"wasi-p2-{p}", "wasi", ("wasi-p2", p)) for p in _corpus_dirs("wasi-p2")]
    cases += [Case(f"wasi-p3-{p}", "wasi", ("wasi-p3", p), skip_unsupported=True)
              for p in _corpus_dirs("wasi-p3")]
    cases += [Case("-".join(parts[1:]).removesuffix(".witx"), "corpus-witx", parts)
              for parts in _corpus_witx()]
    cases += [Case(f"fixture-{name}", "wit", (name,)) for name in ("example", "pool")]
    cases += [Case(f"fixture-{p.parent.name}-{p.stem}", "witx", (p.parent.name, p.name))
              for d in ("c", "witx") for p in sorted((FIXTURES / d).glob("*.witx"))]
    return cases


CASES = _cases()
CASE_BY_ID = {c.id: c for c in CASES}


def test_the_corpus_is_all_there():
    """The case list is built from what exists: make sure that is everything."""
    corpus_path("wasi-p2")
    assert len(_corpus_dirs("wasi-p2")) == 7
    assert len(_corpus_dirs("wasi-p3")) == 6
    assert {parts[1] for parts in _corpus_witx()} == {"preview0", "preview1", "ephemeral"}
    assert len([c for c in CASES if c.kind == "corpus-witx"]) == 12


# --------------------------------------------------------------------------- generation


def _input_path(case: Case, tmp: Path) -> Path:
    if case.kind == "wit":
        return FIXTURES / case.where[0]
    if case.kind == "witx":
        return FIXTURES.joinpath(*case.where)
    if case.kind == "corpus-witx":
        return corpus_path(*case.where)
    release, package = case.where
    src = corpus_path(release)
    root = tmp / "input" / package
    if not root.exists():
        shutil.copytree(src / package, root)
        for other in _corpus_dirs(release):
            if other != package:
                shutil.copytree(src / other, root / "deps" / other)
    return root


@dataclass
class Generated:
    case: Case
    input: Path
    out: Path  # the P1 back ends' files
    host_c_refused: str = ""  # the diagnostic of an input in HOST_C_REFUSES

    def files(self, *suffixes: str) -> list[Path]:
        return sorted(p for p in self.out.iterdir() if p.name.endswith(suffixes))

    def guest_headers(self) -> list[Path]:
        return [p for p in self.files(".h")
                if not p.name.endswith(HOST_H_SUFFIXES) and p.name != SUPPORT_HEADER]


_GENERATED: dict[str, Generated] = {}


def _write(files, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text)


def generated(case_id: str, tmp_path_factory) -> Generated:
    """Every back end's output for one case, generated once per test process."""
    if case_id in _GENERATED:
        return _GENERATED[case_id]
    case = CASE_BY_ID[case_id]
    tmp = tmp_path_factory.mktemp(case_id)
    path = _input_path(case, tmp)
    arts = wit2witx.compile(path, emit=P1_BACKENDS, skip_unsupported=case.skip_unsupported)
    _write(arts, tmp / "out")
    gen = _GENERATED[case_id] = Generated(case, path, tmp / "out")
    try:
        _write(wit2witx.compile(path, emit=HOST_C_BACKENDS, skip_unsupported=case.skip_unsupported),
               tmp / "out")
    except wit2witx.UnsupportedError as exc:
        expected = HOST_C_REFUSES.get(case_id)
        if expected is None or expected not in str(exc):
            raise
        gen.host_c_refused = str(exc)
    return gen


# --------------------------------------------------------------------------- compiling


def _batch_probe(headers: list[Path], workdir: Path, ext: str) -> list[Path]:
    """One probe source per header, each including only that header."""
    workdir.mkdir(parents=True, exist_ok=True)
    probes = []
    for h in headers:
        probe = workdir / f"{h.stem}_probe.{ext}"
        probe.write_text(f'#include "{h.name}"\n#include "{h.name}"\nint {h.stem}_probe_symbol;\n')
        probes.append(probe)
    return probes


def _zig_compile_alone(gen: Generated, cxx: bool, workdir: Path) -> None:
    headers = gen.guest_headers()
    assert headers, f"{gen.case.id}: no guest header"
    probes = _batch_probe(headers, workdir, "cpp" if cxx else "c")
    std = "-std=c++17" if cxx else "-std=c11"
    # several sources and -c: each is its own translation unit, one zig start-up for all
    args = ["--target=wasm32-wasi", std, *WARNINGS, "-pedantic", "-I", str(gen.out), "-c",
            *map(str, probes)]
    cwd = os.getcwd()
    os.chdir(workdir)  # the objects land in the working directory
    try:
        proc = zig_cc(*args, cxx=cxx)
    finally:
        os.chdir(cwd)
    assert proc.returncode == 0, f"{gen.case.id} ({std}):\n{proc.stderr[-6000:]}"


@pytest.fixture(scope="session")
def runtime_includes() -> list[str]:
    wasm3_inc, _ = wasm3_lib(("-O2",))
    wamr_inc = wamr_support.require(wamr_support.wamr_include)
    return ["-isystem", str(wasm3_inc), "-isystem", str(wamr_inc)]


def _gcc_compile(gen: Generated, cxx: bool, includes: list[str]) -> None:
    if gen.case.id in HOST_C_REFUSES:
        assert gen.host_c_refused, f"{gen.case.id}: host-c no longer refuses it: drop it from HOST_C_REFUSES"
        assert not gen.files(*HOST_C_SUFFIXES)
        return
    sources = gen.files(*HOST_C_SUFFIXES)
    units = gen.files("_host.c")
    assert units and len(sources) >= len(units), f"{gen.case.id}: no host C"
    compiler = gcc()
    if cxx:
        compiler = shutil.which("g++")
        assert compiler, "g++ not installed"
    lang = ["-x", "c++", "-std=c++17"] if cxx else ["-std=c11"]
    cmd = [compiler, *lang, *WARNINGS, "-pedantic", "-fsyntax-only", "-I", str(gen.out), *includes,
           *map(str, sources)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, f"{gen.case.id} ({'g++' if cxx else 'gcc'}):\n{proc.stderr[-6000:]}"


# --------------------------------------------------------------------------- tests

CHECKS = ("guest-c11", "guest-c++", "host-gcc", "host-g++", "host-py", "json")


def _params():
    for case in CASES:
        for check in CHECKS:
            if check == "json" and not case.has_json:
                continue
            yield pytest.param(case.id, check, id=f"{case.id}-{check}")


@pytest.mark.slow
@pytest.mark.parametrize("case_id,check", list(_params()))
def test_backend_output_holds_up(case_id, check, tmp_path_factory, request):
    gen = generated(case_id, tmp_path_factory)
    work = tmp_path_factory.mktemp(f"{case_id}-{check}")
    if check == "guest-c11":
        _zig_compile_alone(gen, False, work)
    elif check == "guest-c++":
        _zig_compile_alone(gen, True, work)
    elif check in ("host-gcc", "host-g++"):
        _gcc_compile(gen, check == "host-g++", request.getfixturevalue("runtime_includes"))
    elif check == "host-py":
        _imports(gen)
    else:
        _json_equals_wasm_tools(gen)


def _imports(gen: Generated) -> None:
    modules = [p.stem for p in gen.files("_host.py")]
    assert modules, f"{gen.case.id}: no host-py module"
    code = ("import sys\nsys.path.insert(0, sys.argv[1])\nimport importlib\n"
            "for name in sys.argv[2:]:\n    importlib.import_module(name)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(gen.out), *modules],
                          capture_output=True, text=True)
    assert proc.returncode == 0, f"{gen.case.id}: {proc.stderr[-6000:]}"


def _json_equals_wasm_tools(gen: Generated) -> None:
    # JSON needs no backport: it runs without --skip-unsupported on every package
    ours = wit2witx.compile(gen.input, emit=("json",))["resolve.json"]
    ref = run_wasm_tools("component", "wit", "--json", str(gen.input))
    assert ref.returncode == 0, ref.stderr.decode()
    assert ours.strip() == ref.stdout.decode().strip()
