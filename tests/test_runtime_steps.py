"""The Python glue runtime made of small parts (issue 13): a step per FuncSpec parameter
kind from one table, checks in parameter order, and the shipped glue's every kind known.

These call `make_host_func`'s closures directly with a stand-in for wasmtime's `Caller`
(a real store and memory), so each check is one call and its status."""

from __future__ import annotations

import importlib
import struct
from pathlib import Path
from typing import Any

import pytest
import wasmtime

from wit2witx.hosts import runtime as rt

CASES = ("success", "error", "buffer_too_small", "bad_handle", "bad_pointer", "bad_value")
ST = {name: i for i, name in enumerate(CASES)}
KEY = "test.thing"
PAGE = 65536


class _Caller:
    """What the glue uses of wasmtime's `Caller`: the exported memory and a store."""

    def __init__(self) -> None:
        self.store = wasmtime.Store()
        self.memory = wasmtime.Memory(self.store, wasmtime.MemoryType(wasmtime.Limits(1, 1)))

    def get(self, name: str) -> Any:
        return self.memory if name == "memory" else None

    def _context(self) -> Any:
        return self.store._context()

    def read(self, addr: int, n: int) -> bytes:
        return bytes(self.memory.read(self.store, addr, addr + n))


class _Impl:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def take(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((args, kwargs))
        return 7


def _spec(*params: tuple, method: str = "take") -> rt.FuncSpec:
    return rt.FuncSpec(module="test", name="f", method=method, params=params,
                       core_params=(), core_results=("i32",), status_cases=CASES)


def test_every_parameter_kind_has_a_step():
    kinds = {rt.VALUE, rt.HANDLE, rt.LIST, rt.BY_REF, rt.POINTER, rt.OUT, rt.BUF,
             rt.ERROR_PAYLOAD}
    assert set(rt._STEPS) == kinds
    # a list takes pointer and length, the caller's buffer three values, the rest one
    assert {k: width for k, (_, width) in rt._STEPS.items()} == {
        **{k: 1 for k in kinds}, rt.LIST: 2, rt.BUF: 3}


def test_an_unknown_parameter_kind_is_refused_when_the_function_is_made():
    spec = _spec((rt.VALUE, "a", rt.U32), ("buf", "b", None))
    with pytest.raises(TypeError, match=r"test::f: parameter `b` has no known kind \('buf'\)"):
        rt.make_host_func(spec, _Impl(), rt.HandleTables())


def test_the_shipped_glue_uses_only_known_kinds():
    folder = Path(rt.__file__).parent / "_generated"
    specs = [s for path in sorted(folder.glob("*_host.py"))
             for s in importlib.import_module(f"wit2witx.hosts._generated.{path.stem}").SPECS]
    assert len(specs) > 100
    assert {kind for s in specs for kind, _, _ in s.params} <= set(rt._STEPS)


@pytest.mark.parametrize("order", ["buffer first", "handle first"])
def test_the_first_bad_parameter_decides_the_fault(order):
    """Hand-written WITX may put the caller's buffer before other parameters: checks
    run in parameter order, so a call with a bad buffer and a bad handle gets the
    status of whichever comes first."""
    buffer, handle = (rt.BUF, "buf", None), (rt.HANDLE, "h", KEY)
    params = (buffer, handle) if order == "buffer first" else (handle, buffer)
    impl = _Impl()
    host = rt.make_host_func(_spec(*params), impl, rt.HandleTables())
    bad_buffer, bad_handle = (PAGE - 2, 16, 0), (12345,)
    raw = (*bad_buffer, *bad_handle) if order == "buffer first" else (*bad_handle, *bad_buffer)
    want = "bad_pointer" if order == "buffer first" else "bad_handle"
    assert host(_Caller(), *raw) == ST[want]
    assert impl.calls == []


def test_steps_feed_the_implementation_and_the_out_pointer():
    """A value, a handle, a string and a by-reference record reach the implementation
    in order; its result goes through the out-pointer."""
    caller = _Caller()
    caller.memory.write(caller.store, b"hi!", 100)
    caller.memory.write(caller.store, struct.pack("<II", 5, 6), 200)
    pair = rt.Record(8, 4, None, [("a", 0, rt.U32), ("b", 4, rt.U32)])
    tables = rt.HandleTables()
    thing = object()
    handle = tables.insert(KEY, thing)
    impl = _Impl()
    host = rt.make_host_func(_spec((rt.VALUE, "n", rt.U32), (rt.HANDLE, "h", KEY),
                                   (rt.LIST, "s", rt.STRING), (rt.BY_REF, "p", pair),
                                   (rt.OUT, "ret", rt.U32)), impl, tables)
    assert host(caller, 3, handle, 100, 3, 200, 300) == 0
    assert impl.calls == [((3, thing, "hi!", (5, 6)), {})]
    assert caller.read(300, 4) == struct.pack("<I", 7)
    assert host(caller, 3, handle, 100, 3, 200, 301) == ST["bad_pointer"]  # misaligned
    assert len(impl.calls) == 1


def test_the_caller_buffer_gives_the_capacity_and_the_bytes_used():
    caller = _Caller()
    impl = _Impl()
    impl.take = lambda result_capacity: b"x" * 5  # type: ignore[method-assign]
    host = rt.make_host_func(_spec((rt.BUF, "buf", None), (rt.OUT, "ret", rt.ListOf(rt.U8))),
                             impl, rt.HandleTables())
    assert host(caller, 1000, 4, 16, 64) == ST["buffer_too_small"]
    assert caller.read(16, 4) == struct.pack("<I", 5)
    assert host(caller, 1000, 8, 16, 64) == 0
    assert caller.read(64, 8) == struct.pack("<II", 1000, 5)
    assert caller.read(1000, 5) == b"xxxxx"
