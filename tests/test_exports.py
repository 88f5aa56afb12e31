"""Guest exports in the P1 model (issue #16 item 3).

A world's exports (its own exported functions; with `--world`, its exported interfaces)
are functions the guest implements: `Module.exports`, each a core export of the guest
named `<module>#<function>` with a flat signature (scalar, enum, flags and handle
parameters; nothing, a status, or one scalar, flags or handle value returned). The WITX
marks them `(@w2w guest_export)` and reads them back; the C header declares them for the
guest to define (`__export_name__`); the docs list them. Whatever has no flat signature
is a diagnostic with its place, or left out with a warning.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import wit2witx
from conftest import check_witx_refused, zig_cc
from wit2witx.diagnostics import UnsupportedError, Wit2WitxError
from wit2witx.emit.witx import print_unit
from wit2witx.p1.abi import Role
from wit2witx.p1.callplan import ResultKind, plan_call
from wit2witx.p1.facts import Facts
from wit2witx.p1.lower import lower
from wit2witx.p1.model import Builtin, Expected, Ref
from wit2witx.p1.names import guest_export_name
from wit2witx.witx.reader import read_witx

WIT = """package t:ex@0.1.0;

interface types {
  resource thing { get: func() -> u32; }
  enum color { red, green }
  flags perms { read, write }
  enum fault { again, busy }
}

interface handler {
  use types.{thing, color, perms, fault};
  /// Handle one thing.
  handle: func(t: borrow<thing>, c: color, p: perms, n: u64) -> result<_, fault>;
  make: func(x: s32) -> own<thing>;
  count: func(a: f32, ch: char, b: bool) -> perms;
  run: func() -> result;
}

world w {
  import types;
  export handler;
  export run: func();
  export total: func(%result: u32, b: s64) -> u64;
  import total: func() -> u32;
}
"""

#: core roles a guest export never has: the host has no memory in the guest
_POINTER_ROLES = {Role.POINTER, Role.CONST_POINTER, Role.LIST_PTR, Role.LIST_LEN, Role.BY_REF,
                  Role.OUT_PTR}


def write(tmp_path: Path, text: str = WIT) -> Path:
    path = tmp_path / "ex.wit"
    path.write_text(text, encoding="utf-8")
    return path


def lowered_units(tmp_path: Path, text: str = WIT, **options) -> dict:
    lowered = lower(wit2witx.load([write(tmp_path, text)]), world="w", **options)
    return {u.name: u for u in lowered.units}


def test_exports_are_the_guests_with_flat_signatures(tmp_path):
    units = lowered_units(tmp_path)
    handler = units["t_ex_handler"].module
    assert handler.functions == []  # no host glue is made for what the guest implements
    assert [f.name for f in handler.exports] == ["handle", "make", "count", "run"]
    facts = Facts()
    roles = {}
    for f in handler.exports:
        sig = facts.core_signature(f)
        assert not {p.role for p in sig.params} & _POINTER_ROLES, f.name
        roles[f.name] = [r.role for r in sig.results]
    assert roles == {"handle": [Role.STATUS], "make": [Role.HANDLE], "count": [Role.FLAGS],
                     "run": [Role.STATUS]}
    assert facts.core_signature(handler.export("handle")).param_types == ["i32", "i32", "i32", "i64"]
    kinds = {f.name: plan_call(f, facts, units["t_ex_handler"].document).result.kind
             for f in handler.exports}
    assert kinds == {"handle": ResultKind.STATUS, "make": ResultKind.HANDLE,
                     "count": ResultKind.VALUE, "run": ResultKind.STATUS}
    # the world's own: the import `total` and the export share the module's namespace
    world = units["t_ex_w"].module
    assert [f.name for f in world.functions] == ["total"]
    assert [f.name for f in world.exports] == ["run", "total_"]
    total = world.export("total_")
    assert [(p.name, p.type) for p in total.params] == [("result_", Builtin("u32")), ("b", Builtin("s64"))]
    assert [(r.name, r.type) for r in total.results] == [("result", Builtin("u64"))]
    assert world.export("run").results[0].type == Expected(None, Ref("status"))
    assert units["t_ex_w"].function_names == {"total": "total_"}


def test_the_export_name_is_one_rule():
    from wit2witx.hosts.exports import export_name

    assert guest_export_name("wasi_cli_run", "run") == "wasi_cli_run#run"
    assert export_name("m", "f") == guest_export_name("m", "f")


def test_without_a_world_only_the_worlds_own_exports_are_the_guests(tmp_path):
    lowered = lower(wit2witx.load([write(tmp_path)]))
    units = {u.name: u.module for u in lowered.units}
    assert [f.name for f in units["t_ex_handler"].functions] == ["handle", "make", "count", "run"]
    assert units["t_ex_handler"].exports == []
    assert [f.name for f in units["t_ex_w"].exports] == ["run", "total_"]


def test_witx_marks_exports_and_reads_them_back(tmp_path):
    lowered = lower(wit2witx.load([write(tmp_path)]), world="w")
    out = tmp_path / "witx"
    out.mkdir()
    for u in lowered.units:
        (out / f"{u.name}.witx").write_text(print_unit(u), encoding="utf-8")
    for u in lowered.units:
        again = read_witx(out / f"{u.name}.witx")
        assert again == u.document, u.name
        assert again.module(u.module.name).exports == u.module.exports
    text = (out / "t_ex_handler.witx").read_text()
    assert text.count("(@w2w guest_export)") == 4
    assert '(@interface func (export "make")\n    (@w2w guest_export)\n    (param $x s32)\n' \
           '    (result $result $thing)\n  )' in text


@pytest.mark.parametrize("body,message", [
    ('(@interface func (export "f") (param $x u32) (@w2w guest_export) (result $e u32))',
     "comes once, before the params"),
    ('(@interface func (export "f") (@w2w guest_export) (@w2w guest_export))',
     "comes once, before the params"),
    ('(@interface func (export "f") (@w2w guest_export extra))', "guest_export"),
    ('(@interface func (export "f") (@w2w other))', "expected `param`, `result`"),
])
def test_the_reader_checks_the_export_mark(tmp_path, body, message):
    path = tmp_path / "m.witx"
    path.write_text(f"(module $m\n  {body}\n)\n")
    with pytest.raises(Wit2WitxError) as info:
        read_witx(path)
    text = info.value.render(color=False)
    assert message in text and f"{path}:2:" in text and "^" in text


# --- what has no flat signature ----------------------------------------------------------

REFUSED = [
    ("export greet: func(name: string);", "parameter `name` is not a scalar"),
    ("export sum: func(xs: list<u8>);", "parameter `xs` is not a scalar"),
    ("export at: func(p: point);", "parameter `p` is not a scalar"),
    ("export maybe: func(x: option<u32>);", "parameter `x` is not a scalar"),
    ("export name: func() -> string;", "no strings, lists"),
    ("export col: func() -> color;", "enums or bools"),
    ("export yes: func() -> bool;", "enums or bools"),
    ("export get: func() -> result<u32, fault>;", "no strings, lists"),
    ("export why: func() -> result<_, string>;", "no strings, lists"),
    ("export later: async func();", "WASI 0.3"),
]

SMALL = """package t:bad;

interface types {{
  record point {{ x: u32 }}
  enum color {{ red, green }}
  enum fault {{ again }}
}}

world w {{
  use types.{{point, color, fault}};
  {item}
}}
"""


@pytest.mark.parametrize("item,message", REFUSED, ids=[i.split(":")[0][7:] for i, _ in REFUSED])
def test_exports_without_a_flat_signature_are_diagnosed(tmp_path, item, message):
    path = write(tmp_path, SMALL.format(item=item))
    with pytest.raises(UnsupportedError) as info:
        lower(wit2witx.load([path]), world="w")
    text = info.value.render(color=False)
    assert message in text, text
    assert f"{path}:11:10" in text and "^" in text
    # left out on request, with a warning at the same place
    lowered = lower(wit2witx.load([path]), world="w", skip_unsupported=True)
    world = next(u for u in lowered.units if u.name == "t_bad_w").module
    assert world is None or world.exports == []
    assert any(w.message.startswith("left out function") and w.span.line == 11
               for w in lowered.warnings)


def test_the_cli_says_where_and_exits_1(tmp_path):
    path = write(tmp_path, SMALL.format(item="export greet: func(name: string);"))
    proc = subprocess.run([sys.executable, "-m", "wit2witx", str(path), "--world", "w",
                           "-o", str(tmp_path / "out")], capture_output=True, text=True)
    assert proc.returncode == 1
    assert f"{path}:11:10" in proc.stderr and "Traceback" not in proc.stderr


def test_resources_of_an_exported_interface_are_diagnosed(tmp_path):
    text = """package t:res;
interface api {
  resource conn { send: func(x: u32); }
  open: func() -> own<conn>;
  ping: func(x: u32) -> u32;
}
world w { export api; }
"""
    path = write(tmp_path, text)
    with pytest.raises(UnsupportedError) as info:
        lower(wit2witx.load([path]), world="w")
    rendered = info.value.render(color=False)
    assert "resource of an exported interface" in rendered and f"{path}:3:12" in rendered
    lowered = lower(wit2witx.load([path]), world="w", skip_unsupported=True)
    api = next(u for u in lowered.units if u.name == "t_res_api").module
    assert [f.name for f in api.exports] == ["ping"] and api.functions == []  # no `conn_drop`


def test_importing_and_exporting_one_interface_is_diagnosed(tmp_path):
    text = """package t:both;
interface a { f: func(x: u32) -> u32; }
world w {
  import a;
  export a;
}
"""
    path = write(tmp_path, text)
    with pytest.raises(UnsupportedError) as info:
        lower(wit2witx.load([path]), world="w")
    rendered = info.value.render(color=False)
    assert "imports it too" in rendered and f"{path}:5:10" in rendered
    lowered = lower(wit2witx.load([path]), world="w", skip_unsupported=True)
    a = next(u for u in lowered.units if u.name == "t_both_a").module
    assert [f.name for f in a.functions] == ["f"] and a.exports == []  # the import is kept
    assert any("left out export `t:both/a`" in w.message for w in lowered.warnings)


# --- the C header: declarations the guest defines, called through wasmtime ---------------------

GUEST = r"""
#include "t_ex_handler.h"
#include "t_ex_w.h"

t_ex_types_fault_status_t t_ex_handler_handle(t_ex_types_thing_t t, t_ex_types_color_t c,
                                              t_ex_types_perms_t p, uint64_t n) {
    if (c != T_EX_TYPES_COLOR_GREEN)
        return T_EX_TYPES_FAULT_STATUS_BUSY;
    return (t == 7 && p == T_EX_TYPES_PERMS_WRITE && n == (UINT64_C(1) << 40))
        ? T_EX_TYPES_FAULT_STATUS_SUCCESS : T_EX_TYPES_FAULT_STATUS_AGAIN;
}

t_ex_types_thing_t t_ex_handler_make(int32_t x) { return x + 1; }

t_ex_types_perms_t t_ex_handler_count(float a, uint32_t ch, uint32_t b) {
    return (t_ex_types_perms_t) ((a > 1.5f ? T_EX_TYPES_PERMS_READ : 0) |
                                 (ch == 0x1F600 && b ? T_EX_TYPES_PERMS_WRITE : 0));
}

t_ex_handler_handler_status_t t_ex_handler_run(void) { return T_EX_HANDLER_HANDLER_STATUS_ERROR; }

t_ex_w_status_t t_ex_w_run(void) { return T_EX_W_STATUS_SUCCESS; }

uint64_t t_ex_w_total_(uint32_t result_, int64_t b) { return (uint64_t) ((int64_t) result_ + b); }
"""


@pytest.fixture(scope="module")
def guest(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("exports_guest")
    out = tmp / "gen"
    out.mkdir()
    files = dict(wit2witx.compile([str(write(tmp))], emit="c", world="w"))
    for name, text in files.items():
        (out / name).write_text(text)
    assert '__export_name__("t_ex_handler#handle")' in files["t_ex_handler.h"]
    assert "__warn_unused_result__" not in files["t_ex_handler.h"]  # the guest defines them
    source = tmp / "guest.c"
    source.write_text(GUEST)
    wasm = tmp / "guest.wasm"
    proc = zig_cc("--target=wasm32-freestanding", "-nostdlib", "-O2", "-std=c11", "-Wall",
                  "-Wextra", "-Werror", "-Wl,--no-entry", f"-I{out}", "-o", str(wasm), str(source))
    assert proc.returncode == 0, proc.stderr
    return wasm


def test_a_guest_defines_the_exports_the_header_declares(guest):
    wasmtime = pytest.importorskip("wasmtime")
    store = wasmtime.Store()
    module = wasmtime.Module.from_file(store.engine, str(guest))
    assert {i.module for i in module.imports} == set()  # nothing the guest did not call
    exported = {e.name for e in module.exports}
    assert {"t_ex_handler#handle", "t_ex_handler#make", "t_ex_handler#count",
            "t_ex_handler#run", "t_ex_w#run", "t_ex_w#total_"} <= exported
    exports = wasmtime.Instance(store, module, []).exports(store)
    handle = exports["t_ex_handler#handle"]
    assert handle(store, 7, 1, 2, 1 << 40) == 0  # success
    assert handle(store, 7, 1, 1, 1 << 40) == 1  # again
    assert handle(store, 7, 0, 2, 1 << 40) == 2  # busy
    assert exports["t_ex_handler#make"](store, 41) == 42
    assert exports["t_ex_handler#count"](store, 2.0, 0x1F600, 1) == 3
    assert exports["t_ex_handler#run"](store) == 1
    assert exports["t_ex_w#run"](store) == 0
    assert exports["t_ex_w#total_"](store, 5, -7) == -2  # the u64's bits, read as an i64
    handle_type = next(e.type for e in module.exports if e.name == "t_ex_handler#handle")
    assert [str(p) for p in handle_type.params] == ["i32", "i32", "i32", "i64"]
    assert [str(r) for r in handle_type.results] == ["i32"]


def test_a_definition_that_does_not_match_the_declaration_fails_to_compile(guest, tmp_path):
    out = guest.parent / "gen"
    source = tmp_path / "wrong.c"
    source.write_text('#include "t_ex_handler.h"\n'
                      "t_ex_types_thing_t t_ex_handler_make(int64_t x) { return (int) x; }\n")
    proc = zig_cc("--target=wasm32-freestanding", "-nostdlib", "-c", f"-I{out}", "-o",
                  str(tmp_path / "wrong.o"), str(source))
    assert proc.returncode != 0 and "conflicting types" in proc.stderr


# --- docs ------------------------------------------------------------------------------------


def test_docs_list_the_exports(tmp_path):
    files = dict(wit2witx.compile([str(write(tmp_path))], emit="docs", world="w"))
    handler = files["t_ex_handler.md"]
    assert "## Exports" in handler
    assert "Core: `t_ex_handler#handle` `(func (param i32 i32 i32 i64) (result i32))`" in handler
    assert "## Functions\n\n(none)" in handler
    assert "## Exports" not in files["t_ex_types.md"]  # nothing changes where none are


RUN_GUEST = r"""
#include "wasi_cli_run.h"

wasi_cli_run_status_t wasi_cli_run_run(void) {
    return RESULT;
}
"""


@pytest.mark.parametrize("result,status", [("WASI_CLI_RUN_STATUS_SUCCESS", 0),
                                           ("WASI_CLI_RUN_STATUS_ERROR", 1)])
def test_wit2witx_run_calls_a_header_built_guests_run(tmp_path, result, status):
    """Acceptance: a guest exporting wasi:cli/run's `run` (here through the plain C
    header, no c-p2 shim) is run by `wit2witx run`: its status is the exit status."""
    from wasi import wasi_package_with_deps

    out = tmp_path / "gen"
    out.mkdir()
    root = wasi_package_with_deps(tmp_path, "cli")
    for name, text in wit2witx.compile([str(root)], emit="c", world="wasi:cli/command").items():
        (out / name).write_text(text)
    source = tmp_path / "run.c"
    source.write_text(RUN_GUEST)
    wasm = tmp_path / "run.wasm"
    proc = zig_cc("--target=wasm32-freestanding", "-nostdlib", "-O2", "-Wall", "-Wextra", "-Werror",
                  "-Wl,--no-entry", f"-DRESULT={result}", f"-I{out}", "-o", str(wasm), str(source))
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([sys.executable, "-m", "wit2witx", "run", str(wasm)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == status, proc.stderr
    assert proc.stderr == ""  # the guest's own status: not a failure to load or instantiate


def test_witx_input_with_exports_goes_through_every_back_end(tmp_path):
    """A hand-written WITX file with an export: the JSON dump lists it apart, the C header
    declares it for the guest."""
    import json

    path = tmp_path / "m.witx"
    path.write_text("""(typename $status (enum (@witx tag u8) $success $error))
(module $m
  (import "memory" (memory))
  (@interface func (export "f") (param $x u32) (result $error (expected (error $status))))
  (@interface func (export "run") (@w2w guest_export) (param $x u32) (result $result u64))
)
""")
    files = dict(wit2witx.compile([str(path)], emit=["json", "c"]))
    module = json.loads(files["m.p1.json"])["modules"][0]
    assert [f["name"] for f in module["functions"]] == ["f"]
    assert [(f["name"], f["core"]["results"][0]["type"]) for f in module["exports"]] == [("run", "i64")]
    assert 'uint64_t m_run(\n    uint32_t x\n) __attribute__((\n    __export_name__("m#run")\n));' in files["m.h"]


# --- own<r> vs borrow<r>: who holds a handle passed to the guest ----------------------------

OWNERSHIP_WIT = """package t:owning;

interface types {
  resource thing;
  consume: func(x: own<thing>, y: borrow<thing>);
}

interface api {
  use types.{thing};
  type kept = thing;
  take: func(a: own<thing>, b: borrow<thing>, c: thing, d: kept, n: u32) -> result;
  give: func(a: own<thing>) -> u32;
}

world w {
  import types;
  export api;
}
"""


def test_an_exports_own_parameters_are_the_guests(tmp_path):
    """WIT's `own<r>` (spelled `own<r>`, `r` or an alias of it) on a guest export: the
    guest owns the handle after the call (`Param.own`, `Ownership.OWN`); `borrow<r>` is
    lent. An import's handle parameters stay borrowed, `own<r>` or not (P1 never
    consumes one but in `<r>_drop`)."""
    from wit2witx.p1.callplan import Ownership, SlotKind

    units = lowered_units(tmp_path, OWNERSHIP_WIT)
    api, types = units["t_owning_api"], units["t_owning_types"]
    take = api.module.export("take")
    assert [(p.name, p.own) for p in take.params] == [
        ("a", True), ("b", False), ("c", True), ("d", True), ("n", False)]
    assert [p.own for p in api.module.export("give").params] == [True]
    assert not any(r.own for f in api.module.exports for r in f.results)
    facts = Facts()
    slots = plan_call(take, facts, api.document).slots
    assert [s.ownership for s in slots if s.kind is SlotKind.HANDLE] == [
        Ownership.OWN, Ownership.BORROW, Ownership.OWN, Ownership.OWN]
    consume = types.module.function("consume")
    assert [p.own for p in consume.params] == [False, False]
    assert [s.ownership for s in plan_call(consume, facts, types.document).slots] == [
        Ownership.BORROW, Ownership.BORROW]
    assert "(@w2w own)" not in print_unit(types)  # an import's WITX is as before


def test_witx_marks_own_parameters_and_reads_them_back(tmp_path):
    from wit2witx.p1.callplan import Ownership

    lowered = lower(wit2witx.load([write(tmp_path, OWNERSHIP_WIT)]), world="w")
    out = tmp_path / "witx"
    out.mkdir()
    for u in lowered.units:
        (out / f"{u.name}.witx").write_text(print_unit(u), encoding="utf-8")
    text = (out / "t_owning_api.witx").read_text()
    assert ("    (@w2w guest_export)\n    (param $a (@w2w own) $thing)\n    (param $b $thing)\n"
            "    (param $c (@w2w own) $thing)\n    (param $d (@w2w own) $kept)\n    (param $n u32)\n"
            ) in text
    assert text.count("(@w2w own)") == 4
    for u in lowered.units:
        again = read_witx(out / f"{u.name}.witx")
        assert again == u.document, u.name  # `own` is compared
    take = read_witx(out / "t_owning_api.witx").module("t_owning_api").export("take")
    assert [p.own for p in take.params] == [True, False, True, True, False]
    assert plan_call(take).slots[0].ownership is Ownership.OWN
    # a param that differs only by the mark is another param
    flipped = read_witx(out / "t_owning_api.witx").module("t_owning_api").export("take")
    flipped.params[1].own = True
    assert flipped != take


OWN_PRELUDE = "(typename $r (handle)) (typename $alias $r) (typename $e (enum (@witx tag u8) $success $no))\n"


@pytest.mark.parametrize("body,message,at", [
    ('(@interface func (export "f") (param $x (@w2w own) $r))',
     "`(@w2w own)` marks a parameter of a guest export", "(@w2w own)"),
    ('(@interface func (export "f") (@w2w guest_export) (param $x (@w2w own) u32))',
     "`(@w2w own)` marks a handle parameter", "(@w2w own)"),
    ('(@interface func (export "f") (@w2w guest_export) (result $x (@w2w own) $r))',
     "marks a parameter, not a result", "(@w2w own)"),
    ('(@interface func (export "f") (@w2w guest_export) (param $x (@w2w own extra) $r))',
     "unexpected `extra` in `@w2w own`", "extra"),
    ('(@interface func (export "f") (@w2w guest_export) (param $x (@w2w own) (@w2w own) $r))',
     "comes once, between the parameter's name and its type", "(@w2w own)"),
    ('(@interface func (export "f") (@w2w guest_export) (param $x $r (@w2w own)))',
     "comes once, between the parameter's name and its type", "(@w2w own)"),
    ('(@interface func (export "f") (@w2w guest_export) (param $x (@w2w own)))',
     "expected a type before `)`", "))"),
])
def test_the_reader_checks_the_own_mark(tmp_path, body, message, at):
    check_witx_refused(tmp_path, OWN_PRELUDE, body, message, at)


def test_the_reader_takes_the_own_mark_through_an_alias(tmp_path):
    path = tmp_path / "m.witx"
    path.write_text(f"{OWN_PRELUDE}(module $m\n  (@interface func (export \"f\") (@w2w guest_export)"
                    " (param $x (@w2w own) $alias) (param $y $alias))\n)\n")
    func = read_witx(path).module("m").export("f")
    assert [p.own for p in func.params] == [True, False]


def test_the_c_header_and_docs_say_which_handles_the_guest_owns(tmp_path):
    files = dict(wit2witx.compile([str(write(tmp_path, OWNERSHIP_WIT))], emit=["c", "docs"], world="w"))
    header = files["t_owning_api.h"]
    assert " * Owned by the guest after the call (it drops them): `a`, `c`, `d`.\n" in header
    assert header.count("Owned by the guest") == 2  # `take` and `give`
    assert "Owned by the guest" not in files["t_owning_types.h"]
    assert "\nOwned by the guest after the call (it drops them): `a`, `c`, `d`.\n" in files["t_owning_api.md"]
