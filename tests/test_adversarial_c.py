"""Adversarial packages through the C back ends (issue 12: C names injective, docs as data).

Hypothesis builds WIT packages whose names are made to collide once the C back ends join
them with prefixes and suffixes: a type `b` next to `b-u` (a variant's union), `b-t`,
`b-elem` (an anonymous list element), `decode-b` / `encode-b` / `glue-b` (host codecs and
status tables), `host-ctx`, `module`, functions `f` next to `impl-f`, `call-f`, `f-ret0`,
record fields whose anonymous option/list is spelled like a named type, C and C++
keywords everywhere, and docs with backslashes, quotes, comment delimiters, trigraphs,
control characters and any Unicode WIT allows. Packages from `support.adversarial`
(shared with tests/test_adversarial.py) are mixed in.

For every package: no internal error (every back end accepts it), every guest header
compiles alone with zig for wasm32-wasi as C11 and as C++17, and the host glue (core,
wasm3 and WAMR bindings) compiles with gcc and with g++, all `-Wall -Wextra -Werror`.
Each example is a batch of packages so that one compiler start serves many of them.
Bounded, and derandomized under CI=true; W2W_ADVERSARIAL_C_EXAMPLES raises the count.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import IN_CI, zig_cc
from support import wamr as wamr_support
from support.adversarial import docs, identifiers, packages
from support.wasm3 import gcc, wasm3_lib

import wit2witx
from wit2witx.diagnostics import ResolveError, WitSyntaxError

EXAMPLES = int(os.environ.get("W2W_ADVERSARIAL_C_EXAMPLES", "5"))
BATCH = 8  # packages per example: 8 x 5 = 40 packages in CI
EMIT = ("c", "host-c", "host-wasm3", "host-wamr")
WARNINGS = ("-Wall", "-Wextra", "-Werror", "-pedantic")
HOST_H = ("_host.h", "_host_inline.h", "_wasm3.h", "_wamr.h", "w2w_host.h")

#: Documented refusals (diagnostics, not internal errors) a package may meet. None is
#: about a name any more: a WIT name meeting one the backport gives itself (`buf`,
#: `error_payload`, `memory`, `$x_status`, ...) takes a trailing `_` (docs/abi.md, "Names
#: the backport gives itself"), so a refusal for a name fails this test. Left: a
#: `success` case that is not case 0 of an errno-style error.
REFUSALS = ("which is the status enum's 0",)

#: what the C back ends derive from a name `b` (see emit/cnames.py): a WIT name spelled
#: like one of these meets a generated name
TYPE_SPELLINGS = ("{b}", "{b}-u", "{b}-t", "{b}-u-t", "{b}-elem", "{b}-type", "{b}-release",
                  "decode-{b}", "encode-{b}", "release-{b}", "glue-{b}", "{b}-status",
                  "{b}-result", "{b}-list", "{b}-host", "{b}-t-defined", "{b}-len")
FUNC_SPELLINGS = ("{b}", "impl-{b}", "call-{b}", "{b}-inline", "w3-{b}", "wamr-{b}",
                  "{b}-ret0", "{b}-error-payload", "{b}-result", "{b}-drop", "{b}-new")
FIXED = ("host-ctx", "host-init", "module", "wasm3-link", "wamr-register", "wamr-natives",
         "wamr-memory", "host", "buf", "buf-len", "buf-used", "error-payload", "ret0", "rc",
         "status", "mem", "mark", "result", "self", "this", "class", "new", "delete", "int",
         "errno", "unix", "linux", "offsetof", "null", "size-t", "uint32-t", "int8-t")
_CASES = st.lists(st.one_of(identifiers(), st.sampled_from(FIXED)), min_size=1, max_size=4, unique=True)
_PRIMS = ("u8", "u16", "u32", "u64", "s32", "f64", "char", "bool", "string")


@st.composite
def _type(draw, named: list[str], depth: int = 2) -> str:
    if depth <= 0 or draw(st.integers(0, 2)) == 0:
        return draw(st.sampled_from(list(_PRIMS) + [f"%{n}" for n in named]))
    kind = draw(st.sampled_from(("list", "option", "tuple", "result")))
    inner = draw(_type(named, depth - 1))
    if kind == "list":
        return f"list<{inner}>"
    if kind == "option":
        return f"option<{inner}>"
    if kind == "tuple":
        return f"tuple<{inner}, {draw(_type(named, 0))}>"
    return f"result<{inner}, {draw(_type(named, 0))}>"


@st.composite
def c_packages(draw):
    """(name, WIT text): one package whose type and function names are spelled like what
    the C back ends derive from each other."""
    bases = draw(st.lists(st.one_of(identifiers(), st.sampled_from(FIXED)), min_size=1, max_size=3,
                          unique=True))
    type_names: list[str] = []
    for b in bases:
        spellings = draw(st.lists(st.sampled_from(TYPE_SPELLINGS), min_size=1, max_size=4, unique=True))
        type_names += [s.format(b=b) for s in spellings]
    type_names = list(dict.fromkeys(type_names))[:8]
    out = [draw(docs("")), "package %adv:%c;\n\n", draw(docs("")), "interface %this {\n"]
    named: list[str] = []
    errors: list[str] = []
    for name in type_names:
        out.append(draw(docs("  ")))
        kind = draw(st.sampled_from(("record", "enum", "flags", "variant", "metadata", "resource")))
        members = draw(_CASES)
        if kind == "record":
            # fields with anonymous option/list types spelled like the named types
            body = "".join(f"{draw(docs('    '))}    %{m}: {draw(_type(named))},\n" for m in members)
            out.append(f"  record %{name} {{\n{body}  }}\n")
        elif kind == "enum":
            body = "".join(f"{draw(docs('    '))}    %{m},\n" for m in members)
            out.append(f"  enum %{name} {{\n{body}  }}\n")
            errors.append(name)
        elif kind == "flags":
            body = "".join(f"{draw(docs('    '))}    %{m},\n" for m in members)
            out.append(f"  flags %{name} {{\n{body}  }}\n")
        elif kind == "variant":
            cases = []
            for m in members:
                payload = draw(st.one_of(st.none(), _type(named, 1)))
                cases.append(f"{draw(docs('    '))}    %{m}{'' if payload is None else f'({payload})'},\n")
            out.append(f"  variant %{name} {{\n{''.join(cases)}  }}\n")
            errors.append(name)
        elif kind == "metadata":  # the issue's `type metadata = list<tuple<string, string>>`
            out.append(f"  type %{name} = list<tuple<string, {draw(_type(named, 1))}>>;\n")
        else:
            methods = draw(st.lists(st.sampled_from(FUNC_SPELLINGS[1:]), max_size=3, unique=True))
            # a method's `self` is implicit: no parameter may take that name
            first, last = (m if m != "self" else "self-param" for m in (members[0], members[-1]))
            body = [f"{draw(docs('    '))}    constructor(%{first}: {draw(_type(named, 1))});\n"]
            for m in methods:
                body.append(f"{draw(docs('    '))}    %{m.format(b=name)}: func(%{last}: "
                            f"{draw(_type(named, 1))}) -> {draw(_type(named, 1))};\n")
            out.append(f"  resource %{name} {{\n{''.join(body)}  }}\n")
        named.append(name)
    funcs = draw(st.lists(st.sampled_from(FUNC_SPELLINGS), min_size=1, max_size=4, unique=True))
    fbase = draw(st.one_of(identifiers(), st.sampled_from(FIXED)))
    taken = set(named)
    for spelling in funcs:
        fname = spelling.format(b=fbase)
        if fname in taken:
            continue
        taken.add(fname)
        params = draw(st.lists(st.one_of(identifiers(), st.sampled_from(FIXED)), max_size=3, unique=True))
        plist = ", ".join(f"%{p}: {draw(_type(named))}" for p in params)
        ok = draw(_type(named))
        err = f"%{draw(st.sampled_from(errors))}" if errors else draw(_type(named, 1))
        res = draw(st.sampled_from((f" -> result<{ok}, {err}>", f" -> {ok}", "")))
        out.append(f"{draw(docs('  '))}  %{fname}: func({plist}){res};\n")
    out.append("}\n")
    return "adv:c", "".join(out)


# --------------------------------------------------------------------------- checks


def _generate(batch, root: Path) -> list[Path]:
    """Every package of the batch through the C back ends, each into its own folder."""
    outs = []
    for i, (_name, text) in enumerate(batch):
        src = root / f"p{i}" / "src"
        src.mkdir(parents=True)
        (src / "pkg.wit").write_text(text, encoding="utf-8")
        try:
            files = wit2witx.compile(src, emit=EMIT)
        except wit2witx.UnsupportedError as exc:
            if not any(reason in str(exc) for reason in REFUSALS):
                raise AssertionError(f"package {i} refused: {exc}\n--- WIT ---\n{text}") from exc
            continue
        except (WitSyntaxError, ResolveError):
            # a doc with a code point WIT discourages, names that meet after `%`: the
            # generator's, not the back ends' (the front end is checked against
            # wasm-tools elsewhere); it is a diagnostic, not an internal error
            continue
        except Exception as exc:  # anything else is an internal error
            raise AssertionError(f"package {i}: {exc!r}\n--- WIT ---\n{text}") from exc
        out = root / f"p{i}" / "out"
        out.mkdir()
        for path, body in files.items():
            target = (out / path).resolve()
            assert target.is_relative_to(out.resolve()), path
            target.write_text(body, encoding="utf-8")
        outs.append(out)
    # most of every batch must get through, or the test would check little
    assert len(outs) * 2 >= len(batch), f"only {len(outs)} of {len(batch)} packages compiled"
    return outs


def _run(cmd: list[str], cwd: Path, what: str, batch) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
    if proc.returncode != 0:
        wit = "\n".join(f"--- package {i} ---\n{text}" for i, (_n, text) in enumerate(batch))
        raise AssertionError(f"{what}:\n{proc.stderr[-5000:]}\n{wit}")


def _zig(outs: list[Path], work: Path, cxx: bool, batch) -> None:
    probes = []
    for k, out in enumerate(outs):
        for h in sorted(out.glob("*.h")):
            if h.name.endswith(HOST_H):
                continue
            probe = work / f"p{k}_{h.stem}.{'cpp' if cxx else 'c'}"
            probe.write_text(f'#include "{h}"\n#include "{h}"\nint p{k}_{h.stem}_probe;\n')
            probes.append(str(probe))
    assert probes
    std = "-std=c++17" if cxx else "-std=c11"
    args = ["--target=wasm32-wasi", std, *WARNINGS, "-c", *probes]
    cwd = os.getcwd()
    os.chdir(work)
    try:
        proc = zig_cc(*args, cxx=cxx)
    finally:
        os.chdir(cwd)
    if proc.returncode != 0:
        wit = "\n".join(f"--- package {i} ---\n{text}" for i, (_n, text) in enumerate(batch))
        raise AssertionError(f"zig {std}:\n{proc.stderr[-5000:]}\n{wit}")


def _gcc(outs: list[Path], work: Path, cxx: bool, includes: list[str], batch) -> None:
    sources = [str(p) for out in outs for p in sorted(out.glob("*.c"))]
    assert sources
    compiler = shutil.which("g++") if cxx else gcc()
    assert compiler, "g++ not installed"
    lang = ["-x", "c++", "-std=c++17"] if cxx else ["-std=c11"]
    _run([compiler, *lang, *WARNINGS, "-fsyntax-only", *includes, *sources], work,
         "g++" if cxx else "gcc", batch)


@pytest.fixture(scope="module")
def runtime_includes() -> list[str]:
    wasm3_inc, _ = wasm3_lib(("-O2",))
    wamr_inc = wamr_support.require(wamr_support.wamr_include)
    return ["-isystem", str(wasm3_inc), "-isystem", str(wamr_inc)]


@pytest.mark.slow
@settings(max_examples=EXAMPLES, deadline=None, derandomize=IN_CI,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(batch=st.lists(st.one_of(c_packages(), packages(max_types=4, max_funcs=3)),
                      min_size=BATCH, max_size=BATCH))
def test_adversarial_packages_compile_as_c_and_cpp(batch, tmp_path_factory, runtime_includes):
    root = tmp_path_factory.mktemp("adv")
    outs = _generate(batch, root)
    work = root / "work"
    work.mkdir()
    _zig(outs, work, False, batch)
    _zig(outs, work, True, batch)
    _gcc(outs, work, False, runtime_includes, batch)
    _gcc(outs, work, True, runtime_includes, batch)

