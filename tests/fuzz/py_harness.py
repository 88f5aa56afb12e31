"""Drive the generated Python host glue (host-py) with raw core arguments over wasmtime's
`Memory`, with stub implementations that return hypothesis-drawn results, and check the
guarantees of docs/abi.md after every call (tests/test_fuzz_py.py; issue 19, item 2).

The glue's functions are what `wit2witx.hosts.runtime.make_host_func` builds from each
module's `SPECS` — the callables wasmtime calls — given a stand-in for wasmtime's
`Caller` that exports a real `wasmtime.Memory`. The checks are the C harness's
(tests/fuzz/fz_driver.c): the status is one the function may return, and a glue status
when the implementation was not called; nothing written outside the out-pointers the
status allows; the handle table holds exactly the handles the guest was told about
(read back from its memory with the glue's own codecs); every object a stub handed over
is released exactly once by the end of a session.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import wasmtime
from hypothesis import strategies as st

from wit2witx.hosts import runtime as rt

PAGE = 65536
GLUE = ("buffer_too_small", "bad_handle", "bad_pointer", "bad_value")


class Broken(AssertionError):
    """A guarantee does not hold."""


def load_specs(folder: Path) -> list[rt.FuncSpec]:
    """Every `SPECS` entry of the generated modules in `folder`."""
    sys.path.insert(0, str(folder))
    specs: list[rt.FuncSpec] = []
    for path in sorted(folder.glob("*_host.py")):
        module = importlib.import_module(path.stem)
        specs += list(module.SPECS)
    return specs


@dataclass(eq=False)
class Obj:
    """What a stub hands out for a resource: released exactly once."""

    key: str
    state: str = "live"  # live, released, discarded


class _Caller:
    """What the glue uses of wasmtime's `Caller`: the exported memory and a store."""

    def __init__(self, store: wasmtime.Store, memory: wasmtime.Memory) -> None:
        self.store, self.memory = store, memory

    def get(self, name: str) -> Any:
        return self.memory if name == "memory" else None

    def _context(self) -> Any:
        return self.store._context()


class _Recorder:
    """A stand-in for the handle tables while a result is read back: notes handles."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, str]] = []

    def get(self, handle: int, key: str) -> int:
        self.seen.append((handle & rt.MASK32, key))
        return handle


@dataclass
class Session:
    draw: Any
    specs: list[rt.FuncSpec]
    capacity: int = 8
    pages: int = 1
    store: Any = None
    memory: Any = None
    caller: Any = None
    tables: Any = None
    objs: list[Obj] = field(default_factory=list)
    model: dict[int, str] = field(default_factory=dict)
    stale: list[int] = field(default_factory=list)
    hosts: dict[int, Any] = field(default_factory=dict)
    trace: list[str] = field(default_factory=list)  # the calls so far, for a report
    current: rt.FuncSpec | None = None
    called: int = 0

    def __post_init__(self) -> None:
        self.store = wasmtime.Store()
        self.memory = wasmtime.Memory(self.store, wasmtime.MemoryType(wasmtime.Limits(self.pages, self.pages)))
        self.caller = _Caller(self.store, self.memory)
        self.tables = rt.HandleTables(self.capacity)
        for spec in self.specs:
            if spec.drop_key is not None:
                self.tables.set_dropper(spec.drop_key, self._released(spec.drop_key))

    # ------------------------------------------------------------------ memory

    def mem(self) -> memoryview:
        return rt.guest_memory(self.memory, self.caller)

    @property
    def size(self) -> int:
        return self.pages * PAGE

    # ------------------------------------------------------------------ objects

    def _released(self, key: str):
        def release(obj: Any) -> None:
            self.release(obj, key)
        return release

    def release(self, obj: Any, key: str) -> None:
        if not isinstance(obj, Obj) or obj not in self.objs:
            raise Broken(f"a drop of {key} got {obj!r}, which no implementation made")
        if obj.state == "released":
            raise Broken(f"a {key} object was released twice")
        if obj.state == "discarded":
            raise Broken(f"a drop got a {key} object the implementation kept")
        if obj.key != key:
            raise Broken(f"a drop of {key} got a {obj.key} object")
        obj.state = "released"

    def new_obj(self, key: str) -> Obj:
        obj = Obj(key)
        self.objs.append(obj)
        return obj

    # ------------------------------------------------------------------ stub results

    def value(self, codec: Any, depth: int = 0) -> Any:
        d = self.draw
        if isinstance(codec, rt.Option):
            return None if d(st.booleans()) else self.value(codec.cases[1], depth + 1)
        if isinstance(codec, rt.Expected):
            tag = d(st.integers(0, 1))
            payload = None if codec.cases[tag] is None else self.value(codec.cases[tag], depth + 1)
            return rt.Err(payload) if tag else rt.Ok(payload)
        if isinstance(codec, rt.Variant):
            tag = d(st.integers(0, len(codec.cases) - 1))
            c = codec.cases[tag]
            return codec.cls(codec.tag_cls(tag), None if c is None else self.value(c, depth + 1))
        if isinstance(codec, rt.Record):
            vals = [self.value(c, depth + 1) for _, _, c in codec.fields]
            return tuple(vals) if codec.cls is None else codec.cls(*vals)
        if isinstance(codec, rt.Handle):
            return self.new_obj(codec.key)
        if isinstance(codec, rt.Enum):
            return codec.cls(d(st.integers(0, codec.count - 1)))
        if isinstance(codec, rt.Flags):
            return codec.cls(d(st.integers(0, codec.valid)))
        if isinstance(codec, rt.Bool):
            return d(st.booleans())
        if isinstance(codec, rt.Char):
            return d(st.characters(codec="utf-8"))
        if isinstance(codec, rt.Float):
            return d(st.floats(width=32 if codec.size == 4 else 64))
        if isinstance(codec, rt.Int):
            return d(st.integers(codec.lo, codec.hi))
        if isinstance(codec, rt.Str):
            return d(st.text(max_size=d(st.sampled_from((4, 4, 40, 300)))))
        if isinstance(codec, rt.ListOf):
            n = d(st.sampled_from((0, 1, 3, 3, 20, 200)))
            if codec._bytes:
                return d(st.binary(min_size=n, max_size=n))
            return [self.value(codec.elem, depth + 1) for _ in range(n if depth < 2 else min(n, 3))]
        return d(st.integers(0, rt.MASK32))

    def hostile(self, codec: Any) -> Any:
        """A value a buggy implementation returns: out of range, or of the wrong kind."""
        if isinstance(codec, rt.Enum):
            return codec.count + self.draw(st.integers(0, 300))
        if isinstance(codec, rt.Flags):
            return codec.valid + 1
        if rt._holds_handles(codec):  # any object stands for a resource: keep it ours
            return self.value(codec)
        return self.draw(st.sampled_from((object(), -1, "x", None, [object()])))

    # ------------------------------------------------------------------ the stub

    def stub(self, spec: rt.FuncSpec):
        def impl(*args: Any, **kw: Any) -> Any:
            if self.current is not spec:
                raise Broken(f"calling {self.current and self.current.name} ran the implementation of {spec.name}")
            self.called += 1
            if spec.drop_key is not None:
                self.release(args[0], spec.drop_key)
                return None
            pos = 0
            for kind, _name, arg in spec.params:
                if kind in (rt.OUT, rt.BUF, rt.ERROR_PAYLOAD):
                    continue
                if kind == rt.HANDLE:
                    obj = args[pos]
                    if not isinstance(obj, Obj) or obj.state != "live" or obj.key != arg:
                        raise Broken(f"{spec.name} got {obj!r} for a live {arg}")
                pos += 1
            return self.outcome(spec)
        return impl

    def outcome(self, spec: rt.FuncSpec) -> Any:
        outs = [p[2] for p in spec.params if p[0] == rt.OUT]
        errp = next((p[2] for p in spec.params if p[0] == rt.ERROR_PAYLOAD), None)
        choice = self.draw(st.integers(0, 15))
        if choice < 10:
            if choice == 9 and outs:  # a buggy implementation
                vals = [self.hostile(c) for c in outs]
            else:
                vals = [self.value(c) for c in outs]
            return (tuple(vals) if len(vals) > 1 else vals[0]) if vals else None
        if choice < 13 and spec.error_class is not None:
            if spec.error_cases is not None:
                k = self.draw(st.integers(0, len(spec.error_cases) - 1))
                value = self.value(errp) if errp is not None else k
                raise spec.error_class(value)
            errors = [i for i, c in enumerate(spec.status_cases) if i and c not in GLUE]
            status = self.draw(st.sampled_from(errors))
            raise spec.error_class(status, self.value(errp) if errp is not None else None)
        if choice == 13:
            raise rt.BadValue("the implementation's own glue fault")
        raise RuntimeError("an implementation bug")

    # ------------------------------------------------------------------ raw arguments

    def arg32(self) -> int:
        d = self.draw
        mode = d(st.integers(0, 10))
        live = sorted(self.model)
        if mode == 0:
            v = d(st.integers(0, rt.MASK32))
        elif mode == 1:
            v = d(st.integers(0, 255))
        elif mode == 2:
            v = self.size - d(st.integers(0, 63))
        elif mode == 3:
            v = d(st.sampled_from(live)) if live else 0
        elif mode == 4:
            v = d(st.sampled_from(self.stale)) if self.stale else 0
        elif mode == 5:
            v = rt.MASK32 - d(st.integers(0, 255))
        elif mode in (6, 7):
            v = d(st.integers(0, self.size // 8 - 1)) * 8 + (d(st.integers(0, 7)) if mode == 7 else 0)
        elif mode == 8:
            v = 0
        elif mode == 9:
            v = (d(st.sampled_from(live)) if live else 1) ^ (1 << d(st.integers(0, 31)))
        else:
            v = self.size
        v &= rt.MASK32
        return v - (1 << 32) if v >= 1 << 31 else v  # wasmtime passes i32 signed

    def arg(self, core: str) -> Any:
        if core == "i64":
            v = self.draw(st.integers(0, rt.MASK64))
            return v - (1 << 64) if v >= 1 << 63 else v
        if core == "f32" or core == "f64":
            return self.draw(st.floats())
        return self.arg32()

    def raw_args(self, spec: rt.FuncSpec) -> list[Any]:
        """Raw core arguments: mostly what a guest that means well passes (a live handle
        of the right type, aligned addresses inside memory, short lengths), so that
        calls get past the checks; otherwise any of `arg`'s hostile values."""
        d = self.draw
        raw: list[Any] = []
        for kind, _name, arg in spec.params:
            n = {rt.LIST: 2, rt.BUF: 3}.get(kind, 1)
            cores = spec.core_params[len(raw):len(raw) + n]
            if not d(st.integers(0, 3)):
                raw += [self.arg(c) for c in cores]
            elif kind == rt.HANDLE:
                live = sorted(h for h, k in self.model.items() if k == arg)
                raw.append(self._signed(d(st.sampled_from(live))) if live else self.arg32())
            elif kind in (rt.OUT, rt.BY_REF, rt.ERROR_PAYLOAD):
                raw.append(self._address())
            elif kind == rt.LIST:
                raw += [self._address(), d(st.integers(0, 64))]
            elif kind == rt.BUF:
                raw += [self._address(), d(st.sampled_from((0, 8, 64, 512, 4096))), self._address()]
            else:
                raw += [self.arg(c) for c in cores]
        return raw

    def _missing(self, spec: rt.FuncSpec) -> list[str]:
        held = set(self.model.values())
        return [arg for kind, _n, arg in spec.params if kind == rt.HANDLE and arg not in held]

    def _makers(self) -> dict[str, list[rt.FuncSpec]]:
        """For each resource type, the functions whose ok value is one of its handles."""
        if not hasattr(self, "_maker_map"):
            found: dict[str, list[rt.FuncSpec]] = {}
            for spec in self.specs:
                for kind, _n, arg in spec.params:
                    if kind == rt.OUT and isinstance(arg, rt.Handle):
                        found.setdefault(arg.key, []).append(spec)
            self._maker_map = found
        return self._maker_map

    def _address(self) -> int:
        return self.draw(st.integers(0, self.size // 8 - 1)) * 8

    @staticmethod
    def _signed(v: int) -> int:
        return v - (1 << 32) if v >= 1 << 31 else v

    # ------------------------------------------------------------------ a checked call

    def call(self, spec: rt.FuncSpec, raw: list[Any]) -> int:
        host = self.hosts.get(id(spec))
        if host is None:
            impl = type("Stub", (), {spec.method: staticmethod(self.stub(spec))})()
            host = self.hosts[id(spec)] = rt.make_host_func(spec, impl, self.tables)
        before = bytes(self.mem())
        objs_before = len(self.objs)
        self.current, self.called = spec, 0
        status = host(self.caller, *raw)
        self.current = None
        self.trace.append(f"{spec.module}.{spec.name}{tuple(raw)} -> {spec.status_cases[status] if isinstance(status, int) and 0 <= status < len(spec.status_cases) else status!r}"
                          f"{'' if self.called else ' (not called)'}")
        self.check(spec, raw, status, before, objs_before)
        return status

    def _addrs(self, spec: rt.FuncSpec, raw: list[Any]):
        """(outs, buf, error payload): where the call may write, from its raw arguments."""
        outs, buf, errp = [], None, None
        i = 0
        for kind, _name, arg in spec.params:
            r = raw[i] & rt.MASK32
            if kind == rt.OUT:
                outs.append((r, arg))
            elif kind == rt.BUF:
                buf = (r, raw[i + 1] & rt.MASK32, raw[i + 2] & rt.MASK32)
                i += 2
            elif kind == rt.LIST:
                i += 1
            elif kind == rt.ERROR_PAYLOAD:
                errp = (r, arg)
            i += 1
        return outs, buf, errp

    def check(self, spec: rt.FuncSpec, raw: list[Any], status: Any, before: bytes, objs_before: int) -> None:
        cases = spec.status_cases
        name = f"{spec.module}.{spec.name}"
        if not isinstance(status, int) or not 0 <= status < len(cases):
            raise Broken(f"{name}: status {status!r} is not one of its {len(cases)}")
        glue = {cases.index(g) for g in GLUE if g in cases}
        if not self.called and status not in glue:
            raise Broken(f"{name}: status {cases[status]} without calling the implementation")
        iface = status != 0 and status not in glue
        small = cases.index("buffer_too_small") if "buffer_too_small" in cases else None
        outs, buf, errp = self._addrs(spec, raw)
        regions = []
        if buf is not None and self.called:
            regions.append((buf[0], buf[1]))
        if buf is not None and (status == 0 or status == small or iface):
            regions.append((buf[2], 4))
        if errp is not None and iface:
            regions.append((errp[0], errp[1].size))
        if status == 0:
            regions += [(a, c.size) for a, c in outs]
        after = bytes(self.mem())
        if after != before:
            for i, (x, y) in enumerate(zip(before, after)):
                if x != y and not any(a <= i < a + n for a, n in regions):
                    raise Broken(f"{name}: status {cases[status]} wrote byte {i} outside what it may "
                                 f"(raw {raw})")
        # handles: read the results back with the glue's codecs
        every = [(a, c.size) for a, c in outs] + ([(buf[0], buf[1]), (buf[2], 4)] if buf else []) + \
            ([(errp[0], errp[1].size)] if errp else [])
        overlap = any(a1 < a2 + n2 and a2 < a1 + n1 for k, (a1, n1) in enumerate(every)
                      for (a2, n2) in every[k + 1:])
        if spec.drop_key is not None and self.called:
            h = raw[0] & rt.MASK32
            if self.model.get(h) != spec.drop_key:
                raise Broken(f"{name}: a drop took handle {h:#x}, which the guest does not hold")
            del self.model[h]
            self.stale.append(h)
        if overlap:
            self.model = {h: k for h, _ in self.tables.items() for k in [self._key_of(h)]}
            return
        rec = _Recorder()
        cx = rt.Call(self.mem(), rec)  # type: ignore[arg-type]
        try:
            if status == 0:
                for a, c in outs:
                    c.load(cx, a)
            if iface and errp is not None:
                errp[1].load(cx, errp[0])
        except rt.GlueFault as exc:
            raise Broken(f"{name}: the result in guest memory does not decode: {exc!r}") from None
        for h, key in rec.seen:
            if h in self.model:
                raise Broken(f"{name}: told handle {h:#x} again")
            self.model[h] = key
        live = {h: self._key_of(h) for h, _ in self.tables.items()}
        if live != self.model:
            raise Broken(f"{name}: the table holds {live}, the guest was told about {self.model}")

    def _key_of(self, handle: int) -> str | None:
        for key in {o.key for o in self.objs} | {s.drop_key for s in self.specs if s.drop_key}:
            try:
                self.tables.get(handle, key)
                return key
            except rt.BadHandle:
                pass
        return None

    # ------------------------------------------------------------------ a session

    def run(self, steps: int) -> None:
        d = self.draw
        for _ in range(steps):
            op = d(st.integers(0, 9))
            mem = self.mem()
            if op == 0:
                at = d(st.integers(0, self.size - 1))
                data = d(st.binary(max_size=64))[: self.size - at]
                mem[at:at + len(data)] = data
            elif op == 1:
                at = d(st.integers(0, self.size - 4))
                mem[at:at + 4] = (self.arg32() & rt.MASK32).to_bytes(4, "little")
            else:
                spec = d(st.sampled_from(self.specs))
                for key in self._missing(spec):  # make what it needs first, mostly
                    makers = self._makers().get(key)
                    if makers and d(st.integers(0, 3)):
                        maker = d(st.sampled_from(makers))
                        self.call(maker, self.raw_args(maker))
                self.call(spec, self.raw_args(spec))
        self.finish()

    def finish(self) -> None:
        """The guest drops every handle it holds; every object is then released."""
        drops = {s.drop_key: s for s in self.specs if s.drop_key is not None}
        for h, key in list(self.model.items()):
            spec = drops[key]
            self.current, self.called = spec, 0
            impl = type("Stub", (), {spec.method: staticmethod(self.stub(spec))})()
            status = rt.make_host_func(spec, impl, self.tables)(self.caller, h - (1 << 32) if h >= 1 << 31 else h)
            self.current = None
            if status != 0:
                raise Broken(f"dropping {key} handle {h:#x}: status {status}")
            del self.model[h]
        if self.tables.live:
            raise Broken(f"{self.tables.live} handles left after the guest dropped all it holds")
        for obj in self.objs:
            if obj.state == "live":
                raise Broken(f"a {obj.key} object was never released; calls:\n  " + "\n  ".join(self.trace))
