"""Issue 18: the Python glue's handle table (wit2witx/hosts/runtime.py) under threads,
and what wasmtime-py offers for wasi-threads guests.

4 Python threads race 100k operations on one HandleTables: calls that insert and then
fail (`unwind`, with the handle visible to others), lookups that hold their object
across a switch, and drops. Every object must be released exactly once, none while a
call holds it, the table empty at the end, and the racy paths really taken.

wasmtime-py (the version installed) runs no wasi-threads guest: its Linker defines WASI
Preview 1 only, so a module importing `wasi` `thread-spawn` does not instantiate; the
test shows it (if a later wasmtime-py links it, the test fails and the threaded guests
should then run there too).
"""

from __future__ import annotations

import random
import sys
import threading
import time

import pytest

from wit2witx.hosts.runtime import BadHandle, HandleTables

OPS = 100_000
THREADS = 4
KEYS = ("m.a", "m.b")


def test_handle_table_race_100k_ops() -> None:
    tables = HandleTables(capacity=256)
    released: dict[int, int] = {}
    released_lock = threading.Lock()
    uaf: list[int] = []
    counts = {"created": 0, "uses_ok": 0, "uses_bad": 0, "drops_ok": 0, "drops_pinned": 0, "rollbacks": 0,
              "deferred": 0}
    counts_lock = threading.Lock()
    shared: list[int] = [0] * 24
    hot: list[int] = [0] * 8
    slots_lock = threading.Lock()  # the "guest memory" holding published handles
    next_id = iter(range(10**9))
    leaving = threading.local()

    def count(name: str) -> None:
        with counts_lock:
            counts[name] += 1

    def release(obj: int) -> None:
        with released_lock:
            released[obj] = released.get(obj, 0) + 1
        if getattr(leaving, "on", False):
            count("deferred")

    for key in KEYS:
        tables.set_dropper(key, release)

    def drop_owned(h: int) -> None:
        while True:
            for key in KEYS:
                try:
                    obj = tables.remove(h, key)
                except BadHandle:
                    continue
                release(obj)
                count("drops_ok")
                return
            count("drops_pinned")
            time.sleep(0)

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(OPS // THREADS):
            r = rng.random()
            if r < 0.3:  # a call creating an object
                with counts_lock:
                    obj = next(next_id)
                    counts["created"] += 1
                key = KEYS[obj & 1]
                tables.begin()
                h = tables.insert(key, obj)
                if rng.random() < 0.125:  # it fails after issuing, its handle seen by others
                    with slots_lock:
                        hot[rng.randrange(len(hot))] = h
                    time.sleep(0)
                    for k, o in tables.unwind():
                        tables.release(k, o)
                    count("rollbacks")
                else:
                    with slots_lock:
                        i = rng.randrange(len(shared))
                        old, shared[i] = shared[i], h
                    if old:
                        drop_owned(old)
                tables.end()
                tables.leave()
            elif r < 0.7:  # a call using a handle someone published
                with slots_lock:
                    h = rng.choice(shared) if rng.random() < 0.5 else rng.choice(hot)
                obj = None
                for key in KEYS:
                    try:
                        obj = tables.get(h, key)
                        break
                    except BadHandle:
                        pass
                if obj is None:
                    count("uses_bad")
                else:
                    for _ in range(2):
                        if released.get(obj):
                            uaf.append(obj)
                        time.sleep(0)
                    count("uses_ok")
                leaving.on = True
                tables.leave()
                leaving.on = False
            else:  # a drop
                with slots_lock:
                    i = rng.randrange(len(shared))
                    h, shared[i] = shared[i], 0
                if h:
                    drop_owned(h)
                tables.leave()

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often: make the races happen
    try:
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old_interval)
    for h in shared:
        if h:
            drop_owned(h)
    assert uaf == []
    assert tables.live == 0 and tables.items() == []
    assert len(released) == counts["created"]
    assert set(released.values()) == {1}
    assert counts["created"] == counts["drops_ok"] + counts["rollbacks"]
    assert counts["drops_pinned"] > 0 and counts["deferred"] > 0 and counts["uses_bad"] > 0


def test_drop_of_a_handle_in_use_is_bad_handle_and_later_works() -> None:
    tables = HandleTables()
    h = tables.insert("m.a", object())
    got: list[object] = []
    in_call, may_leave = threading.Event(), threading.Event()

    def call() -> None:
        got.append(tables.get(h, "m.a"))
        in_call.set()
        may_leave.wait(10)
        tables.leave()

    t = threading.Thread(target=call)
    t.start()
    assert in_call.wait(10)
    with pytest.raises(BadHandle):
        tables.remove(h, "m.a")  # another call holds it
    assert tables.live == 1
    may_leave.set()
    t.join()
    assert tables.remove(h, "m.a") is got[0]
    with pytest.raises(BadHandle):
        tables.get(h, "m.a")


SPAWNING_GUEST = """
(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (func (export "_start") (drop (call $spawn (i32.const 0)))))
"""


def test_wasmtime_py_links_no_wasi_threads() -> None:
    """The evidence for "not under wasmtime-py": its API has shared memories (the
    threads proposal) but nothing that provides `wasi` `thread-spawn`."""
    import wasmtime

    config = wasmtime.Config()
    config.wasm_threads = True
    if hasattr(wasmtime.Config, "shared_memory"):
        config.shared_memory = True
    engine = wasmtime.Engine(config)
    module = wasmtime.Module(engine, SPAWNING_GUEST)  # it compiles: atomics/shared memory are there
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    # (`thread-spawn` is the first import: it is the one the link stops at)
    with pytest.raises(wasmtime.WasmtimeError, match="thread-spawn"):
        linker.instantiate(store, module)
    assert not [name for name in dir(wasmtime.Linker) if "thread" in name.lower()]
