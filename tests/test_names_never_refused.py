"""The lowering never refuses a package wasm-tools accepts because of a name (issue 12).

A WIT name that meets one the backport gives itself (the parameters `buf`, `buf_len`,
`buf_used`, `error_payload`, the result `error`, the `memory` import, `<r>_drop`, the
typenames `$status`, `$<e>_status`, `$<f>_result`), or that two WIT items would both
get, is resolved deterministically (docs/abi.md, "Names the backport gives itself").
Checked here:

- over the shared adversarial generator (`packages()`) and a generator made of those
  clashes only: no package the real wasm-tools accepts is refused except for a
  documented, non-name reason; the guest headers compile with zig (C11), the host C
  with gcc (against the real wasm3 and WAMR headers), the host-py modules import;
- one package with every such name through every back end (c-p2 included), the
  backport's slots recognised by the call plan, and the names documented;
- a real call through wasmtime-py of a function `memory(buf: string) -> list<u8>`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

import wit2witx
from conftest import IN_CI, import_from, run_wasm_tools, zig_cc
from support import wamr as wamr_support
from support.adversarial import packages
from support.wasm3 import gcc, wasm3_lib
from wit2witx.diagnostics import Wit2WitxError
from wit2witx.p1.callplan import SlotKind
from wit2witx.p1.names import BUF_PARAMS, ERROR_PAYLOAD_PARAM

EXAMPLES = int(os.environ.get("NAMES_EXAMPLES", "12"))
PHASES = tuple(p for p in Phase if p is not Phase.shrink or not IN_CI)
P1_EMIT = ("witx", "c", "host-c", "host-wasm3", "host-wamr", "host-py", "docs")
WARNINGS = ("-Wall", "-Wextra", "-Werror")

#: Refusals that are not about a name: WASI 0.3 constructs, too many flags, and a
#: `success` case that is not case 0 of an errno-style error (a failure that would read
#: as success). Anything else is a regression of this test's property.
GENUINE_REFUSALS = ("WASI 0.3", "P1 flags hold at most 64", "which is the status enum's 0")
#: what the lowering said before names were resolved (must never come back)
NAME_REFUSALS = ("clashes with the P1 parameter", "would both be the P1 typename",
                 "is already taken in module")


# --------------------------------------------------------------------------- inputs

_PARAMS = ("buf", "buf-len", "buf-used", "error-payload", "error", "x", "x-len", "self",
           "memory", "status")
_PARAM_TYPES = ("u8", "u32", "string", "list<u8>", "list<string>", "%x")
_RESULTS = ("", " -> string", " -> list<u8>", " -> result<string, %x>",
            " -> result<list<u8>, %v>", " -> u32", " -> result<_, %x>")
_TYPES = {
    "x-status": "type %x-status = u32;", "status": "enum %status { a, b }",
    "f-result": "type %f-result = u16;", "memory-result": "type %memory-result = string;",
    "v-status": "record %v-status { a: u8 }", "r-drop-result": "type %r-drop-result = u8;",
}
_FUNCS = ("f", "memory", "r-drop", "r-m", "r-new", "g")


@st.composite
def clash_packages(draw) -> tuple[str, str]:
    """A package made of the clashes the lowering used to refuse: types named like
    generated typenames, functions named like `memory` / a drop / a method, parameters
    named like the backport's own."""
    types = draw(st.lists(st.sampled_from(sorted(_TYPES)), unique=True, max_size=4))
    funcs = draw(st.lists(st.sampled_from(_FUNCS), unique=True, min_size=1, max_size=4))
    lines = ["package adv:names;", "interface i {", "  enum x { a, buffer-too-small, b }",
             "  variant v { a(string), bad-handle, c(u32) }",
             "  resource r { constructor(buf: string); m: func(buf-used: u8) -> string; }"]
    lines += [f"  {_TYPES[t]}" for t in types]
    for name in funcs:
        params = draw(st.lists(st.sampled_from(_PARAMS), unique=True, max_size=4))
        plist = ", ".join(f"%{p}: {draw(st.sampled_from(_PARAM_TYPES))}" for p in params)
        lines.append(f"  %{name}: func({plist}){draw(st.sampled_from(_RESULTS))};")
    lines.append("}")
    if draw(st.booleans()):  # a second module that uses the first's types
        lines += ["interface user {", "  use i.{x, r};",
                  "  status: func(buf: list<r>) -> result<list<r>, x>;", "}"]
    return "adv:names", "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- checks


def _accepted_by_wasm_tools(text: str, src: Path) -> bool:
    src.write_text(text, encoding="utf-8")
    return run_wasm_tools("component", "wit", str(src)).returncode == 0


def _lower_or_genuine_refusal(src: Path, emit=P1_EMIT, **options) -> dict[str, str] | None:
    """The artifacts, or None for a refusal that is not about a name."""
    try:
        return dict(wit2witx.compile(src, emit=emit, **options))
    except Wit2WitxError as exc:
        text = str(exc)
        assert not any(r in text for r in NAME_REFUSALS), f"refused for a name:\n{text}"
        assert any(r in text for r in GENUINE_REFUSALS), f"undocumented refusal:\n{text}"
        event(f"refused: {next(r for r in GENUINE_REFUSALS if r in text)}")
        return None


def _write(files: dict[str, str], out: Path) -> None:
    out.mkdir(parents=True)
    for name, body in files.items():
        (out / name).write_text(body, encoding="utf-8")


def _check(cmd: list[str] | subprocess.CompletedProcess, what: str, text: str) -> None:
    proc = cmd if isinstance(cmd, subprocess.CompletedProcess) else subprocess.run(
        cmd, capture_output=True, text=True)
    assert proc.returncode == 0, f"{what}:\n{proc.stderr[-4000:]}\n--- WIT ---\n{text}"


def _compile_guest_headers(out: Path, src: Path, text: str) -> None:
    # the guest headers are what `--emit c` writes (a unit may be named `*_host`)
    headers = sorted(name for name in wit2witx.compile(src, emit=["c"]) if name.endswith(".h"))
    assert headers, "no guest header"
    probe = out / "probe.c"
    probe.write_text("".join(f'#include "{h}"\n' for h in headers) + "int probe;\n")
    _check(zig_cc("--target=wasm32-wasi", "-std=c11", *WARNINGS, "-c", str(probe),
                  "-o", str(out / "probe.o")), "zig cc (guest headers)", text)


def _compile_host_c(out: Path, includes: list[str], text: str) -> None:
    sources = [str(c) for c in sorted(out.glob("*.c")) if c.name != "probe.c"]
    assert sources, "no host C"
    _check([gcc(), "-std=c11", *WARNINGS, "-fsyntax-only", f"-I{out}", *includes, *sources],
           "gcc (host C)", text)


def _import_host_py(out: Path, files: dict[str, str]) -> list:
    stems = sorted(name[:-3] for name in files if name.endswith("_host.py"))
    assert stems, "no host-py module"
    return import_from(out, *stems, fresh=True, forget=True)


def _every_p1_output_works(text: str, case: Path, includes: list[str]) -> bool:
    """False when wasm-tools refuses the package (not this test's concern) or the
    lowering refuses it for a genuine reason; else every output compiles/imports."""
    case.mkdir(parents=True)
    src = case / "pkg.wit"
    if not _accepted_by_wasm_tools(text, src):
        event("wasm-tools refused")  # a generator slip (e.g. a name wit-parser rejects)
        return False
    files = _lower_or_genuine_refusal(src)
    if files is None:
        return False
    assert files == dict(wit2witx.compile(src, emit=P1_EMIT)), "output differs between runs"
    out = case / "out"
    _write(files, out)
    _compile_guest_headers(out, src, text)
    _compile_host_c(out, includes, text)
    _import_host_py(out, files)
    return True


@pytest.fixture(scope="module")
def runtime_includes() -> list[str]:
    wasm3_inc, _ = wasm3_lib(("-O2",))
    wamr_inc = wamr_support.require(wamr_support.wamr_include)
    return ["-isystem", str(wasm3_inc), "-isystem", str(wamr_inc)]


_SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=IN_CI, phases=PHASES,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                            HealthCheck.function_scoped_fixture])


@_SETTINGS
@given(package=packages(max_types=4, max_funcs=4))
def test_adversarial_packages_are_never_refused_for_a_name(package, tmp_path_factory,
                                                            runtime_includes):
    _name, text = package
    _every_p1_output_works(text, tmp_path_factory.mktemp("adv") / "case", runtime_includes)


@_SETTINGS
@given(package=clash_packages())
def test_clashing_names_are_resolved_and_compile(package, tmp_path_factory, runtime_includes):
    _name, text = package
    assert _every_p1_output_works(text, tmp_path_factory.mktemp("clash") / "case",
                                  runtime_includes), "a clash package was not lowered"


# --------------------------------------------------------------------------- every name

EVERY_NAME = """package adv:every;
interface i {
  enum x { a, b }
  type x-status = u32;
  type status = u8;
  type f-result = u16;
  resource r { m: func(); }
  r-m: func(buf: string, buf-len: u32, error-payload: list<u8>, error: u8) -> result<string, x>;
  r-drop: func(buf-used: u32);
  memory: func(buf: string) -> list<u8>;
  f: func(x: string, x-len: u32) -> string;
  g: func(self: u32, error: u64) -> result<u32, string>;
}
world w { import i; }
"""


@pytest.fixture(scope="module")
def every_name(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("every") / "every.wit"
    assert _accepted_by_wasm_tools(EVERY_NAME, src)
    return src


def test_every_name_through_every_back_end(every_name, runtime_includes):
    case = every_name.parent
    files = _lower_or_genuine_refusal(every_name, (*P1_EMIT, "json"))
    assert files is not None
    witx = files["adv_every_i.witx"]
    # the backport's names stay; the user's give way with a trailing `_`
    for expected in ('(export "memory_")', '(export "r_drop")', '(export "r_drop_")',
                     '(export "r_m")', '(export "r_m_")', "(param $buf_ (@w2w string) (@witx const_pointer u8))",
                     "(param $buf__len (@witx usize))", "(param $buf_len_ u32)",
                     "(param $error_payload_ ", "(param $error_ u8)", "(param $buf_used_ u32)",
                     "(param $x_len_ u32)", "(param $self_ u32)", "(param $error_ u64)",
                     "(typename $x_status u32)", "(typename $x_status_\n",
                     "(typename $status u8)", "(typename $status_\n",
                     "(typename $f_result u16)", "(typename $f_result_ string)"):
        assert expected in witx, expected
    out = case / "out"
    _write(files, out)
    _compile_guest_headers(out, every_name, EVERY_NAME)
    _compile_host_c(out, runtime_includes, EVERY_NAME)
    (module,) = _import_host_py(out, files)
    specs = {s.name: s for s in module.SPECS}
    assert {"memory_", "r_m_", "r_drop_", "r_drop", "r_m", "f", "g"} <= set(specs)
    # the WITX reads back and plans the same (slots by the backport's fixed names)
    again = wit2witx.compile([str(out / "adv_every_i.witx")], emit=["witx"])["adv_every_i.witx"]
    assert again.split("\n", 1)[1] == witx.split("\n", 1)[1]
    docs = files["adv_every_i.md"]
    assert "memory_" in docs and "buf_" in docs
    # c-p2: the P2 names call the renamed P1 functions
    p2 = wit2witx.compile(every_name, emit=["c-p2"], world="w")
    source = next(body for name, body in p2.items() if name.endswith(".c"))
    assert '"memory_"' in source and '"r_drop_"' in source and '"r_m_"' in source
    p2_out = case / "p2"
    _write(dict(p2), p2_out)
    c_files = [str(p) for p in sorted(p2_out.glob("*.c"))]
    _check(zig_cc("--target=wasm32-wasi", "-std=c11", *WARNINGS, "-c", *c_files,
                  "-o", str(p2_out / "p2.o")), "zig cc (c-p2)", EVERY_NAME)


def test_call_plan_finds_the_backport_slots_beside_renamed_parameters(every_name):
    from wit2witx.p1.facts import facts_of  # noqa: PLC0415
    from wit2witx.p1.lower import lower  # noqa: PLC0415

    lowered = lower(wit2witx.load([every_name]))
    (unit,) = lowered.units
    facts = facts_of(lowered.documents)
    plans = {f.name: facts.call_plan(f, unit.document) for f in unit.module.functions}
    kinds = {name: [s.kind for s in plan.slots] for name, plan in plans.items()}
    assert kinds["r_m_"] == [SlotKind.SPAN, SlotKind.SCALAR, SlotKind.SPAN, SlotKind.SCALAR,
                             SlotKind.BUFFER, SlotKind.OUT]
    assert kinds["memory_"] == [SlotKind.SPAN, SlotKind.BUFFER, SlotKind.OUT]
    assert kinds["r_drop_"] == [SlotKind.SCALAR] and plans["r_drop_"].drop_of is None
    assert plans["r_drop"].drop_of is not None
    assert kinds["g"] == [SlotKind.SCALAR, SlotKind.SCALAR, SlotKind.BUFFER,
                          SlotKind.ERROR_PAYLOAD, SlotKind.OUT]
    # the status that gave way to the user's `x-status` still knows its error type
    assert plans["r_m_"].result.status.error_type.name == "x"
    names = {p.name for f in unit.module.functions for p in f.params}
    assert {*BUF_PARAMS, ERROR_PAYLOAD_PARAM} <= names


def test_a_free_function_shaped_like_a_drop_is_no_drop(tmp_path):
    """`r-drop: func(self: r)` in an interface that uses `r`: P1 name `r_drop`, one
    handle parameter, no result — a drop's shape, but its `self` is the user's, so it
    is `self_` and the call plan (hence every glue) calls the function, not a drop."""
    from wit2witx.p1.facts import facts_of  # noqa: PLC0415
    from wit2witx.p1.lower import lower  # noqa: PLC0415

    src = tmp_path / "drop.wit"
    assert _accepted_by_wasm_tools(
        "package adv:drop;\ninterface i {\n  resource r;\n}\n"
        "interface user {\n  use i.{r};\n  r-drop: func(self: r);\n}\n", src)
    lowered = lower(wit2witx.load([src]))
    unit = next(u for u in lowered.units if u.name == "adv_drop_user")
    (func,) = unit.module.functions
    assert (func.name, [p.name for p in func.params]) == ("r_drop", ["self_"])
    plan = facts_of(lowered.documents).call_plan(func, unit.document)
    assert plan.drop_of is None and [s.kind for s in plan.slots] == [SlotKind.HANDLE]


# --------------------------------------------------------------------------- a real call


def test_real_call_with_a_buf_parameter_and_a_list_result(every_name, tmp_path):
    """`memory(buf: string) -> list<u8>`, lowered to `memory_(buf_, buf__len, buf,
    buf_len, buf_used, retptr0)`, called by a real guest through wasmtime: the user's
    `buf` arrives as the string, the result lands in the backport's `buf`."""
    wasmtime = pytest.importorskip("wasmtime")
    files = dict(wit2witx.compile(every_name, emit=["host-py"]))
    out = tmp_path / "out"
    _write(files, out)
    (module,) = _import_host_py(out, files)
    spec = next(s for s in module.SPECS if s.name == "memory_")
    assert spec.core_params == ("i32",) * 6 and spec.core_results == ("i32",)

    seen = []

    class Impl:
        def __getattr__(self, name):
            return lambda *a, **k: None

        def memory_(self, buf_, *, result_capacity):
            seen.append(buf_)  # the glue passes a string parameter as a str (UTF-8 checked)
            return buf_.encode() + b"\xff"

    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    linker = wasmtime.Linker(engine)
    module.add_to_linker(linker, store, Impl())
    params = " ".join(spec.core_params)
    wat = (f'(module (import "{spec.module}" "memory_" (func $f (param {params}) (result i32)))\n'
           '  (memory (export "memory") 1)\n'
           f'  (func (export "call") (param {params}) (result i32)\n'
           '    local.get 0 local.get 1 local.get 2 local.get 3 local.get 4 local.get 5 call $f))')
    (tmp_path / "g.wat").write_text(wat)
    proc = run_wasm_tools("parse", str(tmp_path / "g.wat"), "-o", str(tmp_path / "g.wasm"))
    assert proc.returncode == 0, proc.stderr
    instance = linker.instantiate(store, wasmtime.Module.from_file(engine, str(tmp_path / "g.wasm")))
    exports = instance.exports(store)
    memory = exports["memory"]
    memory.write(store, bytearray(b"hey"), 100)
    # buf_ = "hey" at 100; result buffer 64 bytes at 200; *buf_used at 300; ret at 304
    status = exports["call"](store, 100, 3, 200, 64, 300, 304)
    assert status == 0 and seen == ["hey"]
    used = int.from_bytes(bytes(memory.read(store, 300, 304)), "little")
    ptr = int.from_bytes(bytes(memory.read(store, 304, 308)), "little")
    length = int.from_bytes(bytes(memory.read(store, 308, 312)), "little")
    assert (ptr, length, used) == (200, 4, 4)
    assert bytes(memory.read(store, 200, 204)) == b"hey\xff"
    # too small: `buffer_too_small` with the size needed, nothing written
    memory.write(store, bytearray(b"\0" * 8), 200)
    status = exports["call"](store, 100, 3, 200, 2, 300, 304)
    assert status == 2  # success, error, buffer_too_small
    assert int.from_bytes(bytes(memory.read(store, 300, 304)), "little") == 4
    assert bytes(memory.read(store, 200, 204)) == b"\0\0\0\0"
