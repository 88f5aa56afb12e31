"""Typed callers of guest exports in the Python host glue (issue 16, item 3).

A world's exports with scalar, enum, flags and handle parameters are core exports of
the guest (`<P1 module>#<function>`); the generated `<module>_host.py` gets one
`call_<function>(instance, store, *args, tables=...)` per export, run by
`wit2witx.hosts.exports.call`. Here a real guest (C, built with zig against `--emit
c-p2`) implements a world exporting functions that take counters, resources of an
interface the guest imports and the test implements: the callers check arguments
before the call, lend `borrow<r>` handles for the call only (a trap included), hand
`own<r>` handles over, take a returned handle out of the table and raise the typed
error of a status.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import FIXTURES, import_from, zig_cc

wasmtime = pytest.importorskip("wasmtime")

GUEST_WIT = """package test:exports;

interface counters {
  resource counter {
    constructor(start: u32);
    get: func() -> u32;
    add: func(n: u32);
  }
  enum code { too-big, empty }
  flags mode { double, negate }
}

world guest {
  import counters;
  use counters.{counter, code, mode};

  /// Adds `n` (twice with `double`) to a counter the host lends: `too-big` past 1000.
  export add-to: func(c: borrow<counter>, n: u8, how: mode) -> result<_, code>;
  /// The sum of two lent counters' values.
  export sum: func(a: borrow<counter>, b: borrow<counter>) -> u32;
  /// Keeps a counter the host hands over: `too-big` when one is kept already.
  export keep: func(c: own<counter>) -> result<_, code>;
  /// Hands the kept counter back.
  export give-back: func() -> own<counter>;
  /// Drops the kept counter: `empty` when none is kept.
  export forget: func() -> result<_, code>;
  /// Adds a counter the host hands over to one it lends, and drops the one handed over:
  /// `too-big` past 1000 (dropped all the same); traps when handed 13 (before the drop).
  export merge: func(into: borrow<counter>, extra: own<counter>) -> result<_, code>;
  /// Adds the code point of `at` to a lent counter, then traps.
  export crash: func(c: borrow<counter>, at: char);
  /// Makes a counter and drops it.
  export run: func();
}
"""

KEY = "test_exports_counters.counter"


class Counter:
    def __init__(self, value: int) -> None:
        self.value = value


class Counters:
    """The host side of test:exports/counters: what the guest did, in `log`."""

    def __init__(self) -> None:
        self.log: list[tuple[str, object]] = []

    def counter_new(self, start: int) -> Counter:
        self.log.append(("new", start))
        return Counter(start)

    def counter_get(self, self_: Counter) -> int:
        self.log.append(("get", self_))
        return self_.value

    def counter_add(self, self_: Counter, n: int) -> None:
        self.log.append(("add", self_))
        self_.value += n

    def counter_drop(self, self_: Counter) -> None:
        self.log.append(("drop", self_))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(glue package, guest.wasm, the guest module's glue text)."""
    from wit2witx import compiler

    tmp = tmp_path_factory.mktemp("exports_py")
    (tmp / "guest.wit").write_text(GUEST_WIT)
    gen = tmp / "gen"
    gen.mkdir()
    for name, text in dict(compiler.compile([str(tmp / "guest.wit")], emit="c-p2", world="guest")).items():
        (gen / name).write_text(text)
    pkg = tmp / "exports_py_glue"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    glue = dict(compiler.compile([str(tmp / "guest.wit")], emit="host-py", world="guest"))
    for name, text in glue.items():
        (pkg / name).write_text(text)
    wasm = tmp / "guest.wasm"
    proc = zig_cc("--target=wasm32-wasi", "-mexec-model=reactor", "-O2", "-std=c11", "-Wall",
                  "-Wextra", "-Werror", f"-I{gen}", "-o", str(wasm),
                  str(FIXTURES / "p2" / "exports_guest.c"), str(gen / "guest.c"))
    assert proc.returncode == 0, proc.stderr
    counters, guest = import_from(tmp, "exports_py_glue.test_exports_counters_host",
                                  "exports_py_glue.test_exports_guest_host")
    return counters, guest, wasm, glue["test_exports_guest_host.py"]


@pytest.fixture
def world(built):
    """A fresh instance: (glue of counters, glue of the guest, store, instance, tables, host)."""
    counters, guest, wasm, _ = built
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    host = Counters()
    tables = counters.add_to_linker(linker, store, host)
    instance = linker.instantiate(store, wasmtime.Module.from_file(engine, str(wasm)))
    instance.exports(store)["_initialize"](store)
    return counters, guest, store, instance, tables, host


def test_the_glue_has_a_typed_caller_per_export(built):
    *_, text = built
    assert ("def call_add_to(\n    instance: Any,\n    store: Any,\n"
            "    c: _u_test_exports_counters.Counter,\n    n: int,\n"
            "    how: _u_test_exports_counters.Mode,\n    *,\n    tables: HandleTables,\n"
            ") -> None:") in text
    assert "export='test_exports_guest#add_to'" in text
    assert "(_ex.BORROW, 'c', 'test_exports_counters.counter')" in text
    assert "error_class=_u_test_exports_counters.CodeError" in text
    assert "def call_give_back(" in text and ") -> _u_test_exports_counters.Counter:" in text
    # no handle crosses: `tables` may be left out
    assert "def call_run(\n    instance: Any,\n    store: Any,\n    *,\n    tables: HandleTables | None = None,\n) -> None:" in text
    for name in ("call_add_to", "call_sum", "call_keep", "call_give_back", "call_forget",
                 "call_merge", "call_crash", "call_run"):
        assert f'    "{name}",' in text  # in __all__
    assert "class Impl(Protocol):" in text and "def add_to(" not in text  # no import glue


def test_lent_handles_are_used_by_the_guest_and_gone_after_the_call(world):
    counters, guest, store, instance, tables, host = world
    a, b = Counter(3), Counter(4)
    before = tables.live
    assert guest.call_sum(instance, store, a, b, tables=tables) == 7
    assert tables.live == before
    assert guest.call_add_to(instance, store, a, 5, counters.Mode.DOUBLE, tables=tables) is None
    assert a.value == 13
    assert guest.call_add_to(instance, store, a, 5, counters.Mode(0), tables=tables) is None
    assert a.value == 18
    assert tables.live == before
    assert [op for op, _ in host.log] == ["get", "get", "get", "add", "get", "add"]
    assert not any(op == "drop" for op, _ in host.log)  # lent, never released


def test_a_status_is_raised_as_the_typed_error(world):
    counters, guest, store, instance, tables, host = world
    c = Counter(995)
    before = tables.live
    with pytest.raises(counters.CodeError) as info:
        guest.call_add_to(instance, store, c, 10, counters.Mode(0), tables=tables)
    assert info.value.value is counters.Code.TOO_BIG
    assert c.value == 995 and tables.live == before
    with pytest.raises(counters.CodeError) as info:
        guest.call_forget(instance, store)
    assert info.value.value is counters.Code.EMPTY


@pytest.mark.parametrize("n,how,why", [
    (256, 0, "u8"), (-1, 0, "u8"), ("1", 0, "u8"), (1.0, 0, "u8"),
    (1, 4, "undefined flag"), (1, -1, "undefined flag"),
])
def test_a_bad_argument_is_refused_before_the_call(world, n, how, why):
    from wit2witx.hosts.exports import BadArgument

    counters, guest, store, instance, tables, host = world
    c = Counter(1)
    before = tables.live
    with pytest.raises(BadArgument, match="add_to: `(n|how)`"):
        guest.call_add_to(instance, store, c, n, how, tables=tables)
    assert host.log == [] and c.value == 1 and tables.live == before, why


def test_a_char_that_is_no_unicode_scalar_is_refused(world):
    from wit2witx.hosts.exports import BadArgument

    _, guest, store, instance, tables, host = world
    for bad in ("\ud800", "ab", 65):
        with pytest.raises(BadArgument, match="`at`"):
            guest.call_crash(instance, store, Counter(0), bad, tables=tables)
    assert host.log == []


def test_a_handle_of_another_resource_is_refused(world):
    from wit2witx.hosts.exports import BadArgument, Borrowed

    _, guest, store, instance, tables, host = world
    before = tables.live
    with pytest.raises(BadArgument, match="takes a `test_exports_counters.counter`"):
        guest.call_sum(instance, store, Counter(1), Borrowed("wasi_io_poll.pollable", object()),
                       tables=tables)
    assert host.log == [] and tables.live == before
    with pytest.raises(TypeError, match="needs `tables`"):
        guest.call_sum(instance, store, Counter(1), Counter(2), tables=None)


def test_an_owned_handle_stays_until_the_guest_drops_it(world):
    counters, guest, store, instance, tables, host = world
    from wit2witx.hosts.exports import Owned

    c, d = Counter(1), Counter(2)
    before = tables.live
    guest.call_keep(instance, store, Owned(KEY, c), tables=tables)
    assert tables.live == before + 1  # the guest holds it now
    assert guest.call_sum(instance, store, c, d, tables=tables) == 3
    # a second one: the guest refuses and drops what it was given
    with pytest.raises(counters.CodeError):
        guest.call_keep(instance, store, Owned(KEY, d), tables=tables)
    assert ("drop", d) in host.log and tables.live == before + 1
    # handed back: out of the table, the same host object
    assert guest.call_give_back(instance, store, tables=tables) is c
    assert tables.live == before and ("drop", c) not in host.log
    guest.call_keep(instance, store, Owned(KEY, c), tables=tables)
    guest.call_forget(instance, store, tables=tables)  # the guest drops it
    assert host.log[-1] == ("drop", c) and tables.live == before


def test_an_own_parameter_is_handed_over_and_a_borrow_lent(world, built):
    """`merge(into: borrow<counter>, extra: own<counter>)`: the plan says which is which
    (WIT's `own<r>` on an export: the guest's to drop), so plain host objects do."""
    counters, guest, store, instance, tables, host = world
    *_, text = built
    assert ("params=((_ex.BORROW, 'into', 'test_exports_counters.counter'), "
            "(_ex.OWN, 'extra', 'test_exports_counters.counter'), )") in text
    assert "`into`: a `counter`, lent for the call." in text
    assert "`extra`: a `counter`, handed over." in text
    assert "(_ex.OWN, 'c', 'test_exports_counters.counter')" in text  # `keep`'s own<counter>
    into, extra = Counter(5), Counter(7)
    before = tables.live
    assert guest.call_merge(instance, store, into, extra, tables=tables) is None
    assert into.value == 12
    # the guest dropped what it was handed (the host's `counter_drop` ran); the lent one
    # was taken back after the call, not released
    assert ("drop", extra) in host.log and ("drop", into) not in host.log
    assert tables.live == before
    # an error of the interface: the guest owned it all the same and dropped it
    big = Counter(999)
    with pytest.raises(counters.CodeError) as info:
        guest.call_merge(instance, store, into, big, tables=tables)
    assert info.value.value is counters.Code.TOO_BIG
    assert ("drop", big) in host.log and into.value == 12 and tables.live == before
    # handed over without `Owned`: after the call the guest still holds it
    kept = Counter(1)
    guest.call_keep(instance, store, kept, tables=tables)
    assert tables.live == before + 1 and ("drop", kept) not in host.log
    assert guest.call_give_back(instance, store, tables=tables) is kept
    assert tables.live == before
    # a trap before the guest dropped it: the host takes it back (nothing released)
    lucky = Counter(13)
    with pytest.raises(wasmtime.Trap):
        guest.call_merge(instance, store, into, lucky, tables=tables)
    assert tables.live == before and ("drop", lucky) not in host.log
    assert ("drop", into) not in host.log and into.value == 12


def test_a_trap_leaves_the_table_as_before(world):
    _, guest, store, instance, tables, host = world
    from wit2witx.hosts.exports import Owned

    c = Counter(0)
    before = tables.live
    with pytest.raises(wasmtime.Trap):
        guest.call_crash(instance, store, c, "A", tables=tables)
    assert c.value == 65  # the guest used the handle before it trapped
    assert tables.live == before
    with pytest.raises(wasmtime.Trap):  # handed over, but the call never returned
        guest.call_crash(instance, store, Owned(KEY, c), "B", tables=tables)
    assert tables.live == before and not any(op == "drop" for op, _ in host.log)
    with pytest.raises(wasmtime.Trap):  # nothing kept: the guest traps
        guest.call_give_back(instance, store, tables=tables)
    assert tables.live == before


def test_run_without_handles(world):
    _, guest, store, instance, tables, host = world
    assert guest.call_run(instance, store) is None
    assert [op for op, _ in host.log] == ["new", "drop"] and host.log[0][1] == 7


class _FakeInstance:
    """An instance whose one export returns `value` (what a misbehaving guest does)."""

    def __init__(self, name: str, value: object) -> None:
        self._exports = {name: lambda store, *args: value}

    def exports(self, store):
        return self._exports


@pytest.mark.parametrize("function,value", [
    ("forget", 3),  # past `empty`: a glue status (`buffer_too_small`)
    ("forget", 99),  # no case at all
    ("forget", -1),
    ("give_back", 12345),  # a handle the guest does not hold
])
def test_a_result_the_type_does_not_allow_is_refused(built, function, value):
    from wit2witx.hosts.exports import BadResult
    from wit2witx.hosts.runtime import HandleTables

    _, guest, _, _ = built
    call = getattr(guest, f"call_{function}")
    tables = HandleTables()
    with pytest.raises(BadResult):
        call(_FakeInstance(f"test_exports_guest#{function}", value), None, tables=tables)
    assert tables.live == 0


@pytest.mark.parametrize("args,fails", [(["one"], False), (["one", "fail"], True)])
def test_the_typed_caller_runs_wasi_cli_run(tmp_path, capfd, args, fails):
    """wasi:cli/command's `run` export, called through the glue generated for it, on a
    guest written against the wit-bindgen API (fixtures/p2/run_guest.c) and the
    reference wasi-cli host: its `err` raised as the module's `StatusError`."""
    from test_c_p2_exports import generate, reactor
    from wasi import wasi_package_with_deps

    from wit2witx import compiler, hosts
    from wit2witx.hosts.runtime import WitError

    root = wasi_package_with_deps(tmp_path, "cli")
    generate(root, "wasi:cli/command", tmp_path / "gen")
    wasm = reactor(tmp_path / "gen", FIXTURES / "p2" / "run_guest.c", "command.c")
    package = f"cli_run_glue_{len(args)}"  # a fresh module per case
    pkg = tmp_path / package
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for name, text in dict(compiler.compile([str(root)], emit="host-py", world="wasi:cli/command")).items():
        (pkg / name).write_text(text)
    [run] = import_from(tmp_path, f"{package}.wasi_cli_run_host")
    assert run.call_run.__doc__.startswith("Call the guest's export `wasi_cli_run#run` (func (result i32)).")

    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    argv = ["guest", *args]
    hosts.HOSTS["wasi-cli"](linker, store, argv=argv)
    instance = linker.instantiate(store, wasmtime.Module.from_file(engine, str(wasm)))
    instance.exports(store)["_initialize"](store)
    if fails:  # `result` without types: the generic status's `error`
        with pytest.raises(run.StatusError) as info:
            run.call_run(instance, store)
        assert isinstance(info.value, WitError) and info.value.value is run.Status.ERROR
    else:
        assert run.call_run(instance, store) is None
    assert capfd.readouterr().out == f"run: {len(argv)} arguments\n"


WITX_EXPORTS = """(typename $r (handle))
(typename $e (enum (@witx tag u8) $success $nope))
(typename $count u32)
(module $m
  (@interface func (export "ok")
    (@w2w guest_export)
    (param $x $r)
    (param $n u16)
    (result $error (expected (error $e))))
{bad}
)
"""


@pytest.mark.parametrize("bad,what", [
    ('  (@interface func (export "greet")\n    (@w2w guest_export)\n    (param $name string))',
     "the parameter `name` of the guest export `greet`"),
    ('  (@interface func (export "count")\n    (@w2w guest_export)\n'
     '    (result $error (expected $count (error $e))))',
     "the result of the guest export `count`"),
])
def test_hand_written_witx_exports(tmp_path, bad, what):
    """WITX marks exports `(@w2w guest_export)`: the glue calls flat ones and refuses
    others with a diagnostic pointing at the function."""
    from wit2witx import compiler
    from wit2witx.diagnostics import UnsupportedError

    good = tmp_path / "good.witx"
    good.write_text(WITX_EXPORTS.format(bad=""))
    text = dict(compiler.compile([str(good)], emit="host-py"))["m_host.py"]
    assert "(_ex.BORROW, 'x', 'm.r'), (_ex.VALUE, 'n', _rt.U16)" in text
    assert "error_class=EError" in text and "error_cases=None" in text
    path = tmp_path / "bad.witx"
    path.write_text(WITX_EXPORTS.format(bad=bad))
    with pytest.raises(UnsupportedError) as info:
        compiler.compile([str(path)], emit="host-py")
    rendered = info.value.render(color=False)
    assert what in rendered and "bad.witx:10:3" in rendered and "^" in rendered
