"""Run-time support for the Python host glue that `wit2witx --emit host-py` generates.

Generated `<module>_host.py` files describe their types and functions as data (codecs
and `FuncSpec`s); this module turns that description into wasmtime host functions.
It depends on nothing but the standard library and `wasmtime` (imported lazily), so an
application that ships generated glue only needs `wit2witx.hosts.runtime` at run time.

The contract every generated import keeps (the backport ABI, DESIGN.md):

* every guest pointer is checked before use: the whole range `[p, p + size)` must lie in
  the caller's linear memory (computed without wrap-around) and be aligned for its type,
  else the call returns `bad_pointer`; every length likewise;
* enum tags, flag bits, bools, chars and UTF-8 strings coming from the guest are
  validated (`bad_value`); handles are looked up in a typed, generation-checked table
  (`bad_handle`): a handle that was never given out, was dropped, or names a resource
  of another type is refused;
* all checks (including the out-pointers the results go to, and room in the handle
  table for every handle of the result outside lists) happen *before* the
  implementation is called; a result whose strings/lists do not fit in the caller's
  buffer returns `buffer_too_small` and writes only `*buf_used` (the size needed);
  an implementation whose method takes a `result_address` keyword gets the buffer's
  guest address with `result_capacity` (to know exactly what fits, alignment included);
* no side effects on failure: when writing a result fails after some of its handles
  were issued (the table filled up while storing a `list<own<r>>`, a bad value from
  the implementation), every handle issued by the call is removed again (generation
  bumped, as by a drop), every resource object of the result is released through the
  owning module's `<r>_drop` method (`HandleTables.set_dropper`; `define_all` registers
  them), the out-pointers and `*buf_used` get their old bytes back, and the call
  returns the fault's status (`bad_handle` for a full table). Only `<r>_drop` removes a
  handle, after every other check passed: an `own<r>` parameter is not consumed;
* the implementation reports a WIT error by raising the generated `<E>Error(value)`;
  the glue maps it to the status case of the same name and, for errors with payloads,
  writes the value through `$error_payload`;
* no Python exception reaches wasmtime: any other exception from the implementation
  is logged (logger `wit2witx.hosts`) and the call returns `bad_value`. Only a function
  that has no status result (possible in hand-written WITX) traps instead.
"""

from __future__ import annotations

import ctypes
import logging
import struct
import threading
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ..p1.names import GLUE_STATUSES, glue_status_positions

log = logging.getLogger("wit2witx.hosts")

MASK32 = 0xFFFFFFFF
MASK64 = 0xFFFFFFFFFFFFFFFF

# ---------------------------------------------------------------------------- faults


class GlueFault(Exception):
    """Raised inside the glue for a bad guest input; mapped to a status, never escapes."""

    status_name = "bad_value"


class BadPointer(GlueFault):
    status_name = "bad_pointer"


class BadHandle(GlueFault):
    status_name = "bad_handle"


class BadValue(GlueFault):
    status_name = "bad_value"


#: Status case names, in the order of preference, for each fault; the other spellings
#: are wasi_snapshot_preview1's errno (so glue for hand-written P1 WITX works too). The
#: same as the call plan's `GLUE_CASE_NAMES` (a test checks it); the generated glue
#: gives each function's statuses from its plan (`FuncSpec.glue_statuses`), this is
#: for a FuncSpec made without them.
FAULT_CASES = {
    "buffer_too_small": ("buffer_too_small", "nobufs", "overflow"),
    "bad_handle": ("bad_handle", "badf"),
    "bad_pointer": ("bad_pointer", "fault"),
    "bad_value": ("bad_value", "inval"),
}


class WitError(Exception):
    """Base of the generated `<E>Error` exceptions.

    `value` is the WIT error value (an `E` enum member or variant) or, for a status
    enum raised directly (the generic `<iface>_status`), the status case; `payload` is
    then what goes through `$error_payload` when the function has one (e.g. the
    string of a `result<T, string>`).
    """

    def __init__(self, value: Any = None, payload: Any = None) -> None:
        super().__init__(value) if payload is None else super().__init__(value, payload)
        self.value = value
        self.payload = payload


# ---------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class Ok:
    """The ok case of a `result` (expected) *inside* another value."""

    value: Any = None


@dataclass(frozen=True, slots=True)
class Err:
    """The error case of a `result` (expected) *inside* another value."""

    value: Any = None


@dataclass(frozen=True, slots=True)
class VariantValue:
    """A value of an anonymous variant type (named variants get generated classes)."""

    tag: int
    value: Any = None


class GuestPointer:
    """A raw `(@witx pointer T)` handed to the implementation: checked on each access."""

    __slots__ = ("_cx", "addr", "_codec")

    def __init__(self, cx: "Call", addr: int, codec: "Codec | None") -> None:
        self._cx, self.addr, self._codec = cx, addr, codec

    def load(self, index: int = 0) -> Any:
        c = self._codec
        if c is None:
            raise BadValue("untyped pointer")
        addr = self.addr + index * c.size
        self._cx.check(addr, c.size, c.align)
        return c.load(self._cx, addr)

    def store(self, value: Any, index: int = 0) -> None:
        c = self._codec
        if c is None:
            raise BadValue("untyped pointer")
        addr = self.addr + index * c.size
        self._cx.check(addr, c.size, c.align)
        c.store(self._cx, addr, value)

    def read_bytes(self, n: int) -> bytes:
        self._cx.check(self.addr, n, 1)
        return bytes(self._cx.mem[self.addr:self.addr + n])

    def write_bytes(self, data: bytes) -> None:
        self._cx.check(self.addr, len(data), 1)
        self._cx.mem[self.addr:self.addr + len(data)] = data


# ---------------------------------------------------------------------------- handles


class HandleTables:
    """One table for every resource type of a store: typed, generation-checked entries.

    A handle is `generation << 20 | (slot + 1)`: never 0, always a positive i32, and
    never given out twice (a slot whose 11-bit generation is used up is retired). A
    slot remembers the resource type (`key`, e.g. "wasi_io_streams.input_stream") and
    the generation it was filled with, so a stale handle, a forged one and a handle of
    another resource type are all refused. Share one instance between the
    `add_to_linker` calls of every module of a store (handles cross modules: a
    tcp-socket hands out input-streams that wasi_io_streams reads).

    A call that fails undoes what it issued: `begin` starts a journal of the handles
    `insert` gives out, `unwind` removes them again. `set_dropper(key, drop)` names how
    an object of a resource type is released (the owning module's `<r>_drop` method;
    `define_all` registers them) and `release` calls it.

    Thread-safe (docs/abi.md, threads): every operation holds the table's lock, the
    journal is the calling thread's, and `get` pins the handle until that thread's
    `leave` (the generated functions call it when the call returns): a `remove` of a
    handle another call has pinned is refused (BadHandle, nothing changes), and an
    `unwind` of one removes the handle at once but leaves the release of its object to
    the last `leave`, so an object is never released while a call still uses it.
    """

    SLOT_BITS = 20
    MAX_SLOTS = (1 << SLOT_BITS) - 1
    GEN_MASK = (1 << 11) - 1

    __slots__ = ("_keys", "_gens", "_objs", "_free", "capacity", "live", "_droppers", "_lock", "_local",
                 "_pins", "_doomed")

    def __init__(self, capacity: int = MAX_SLOTS) -> None:
        self.capacity = min(capacity, self.MAX_SLOTS)
        self._keys: list[str | None] = []
        self._gens: list[int] = []
        self._objs: list[Any] = []
        self._free: list[int] = []
        self.live = 0
        self._droppers: dict[str, Callable[[Any], Any]] = {}
        self._lock = threading.Lock()
        self._local = threading.local()  # .journal: list | None, .pins: list[int] (slots)
        self._pins: dict[int, int] = {}  # slot -> calls in flight that looked it up
        self._doomed: dict[int, tuple[str, Any]] = {}  # unwound while pinned: released at the last leave

    @property
    def _journal(self) -> list[tuple[int, str]] | None:
        return getattr(self._local, "journal", None)

    @_journal.setter
    def _journal(self, value: list[tuple[int, str]] | None) -> None:
        self._local.journal = value

    @property
    def free(self) -> int:
        """How many more handles can be issued now."""
        with self._lock:
            return self.capacity - len(self._keys) + len(self._free)

    def insert(self, key: str, obj: Any) -> int:
        with self._lock:
            handle = self._insert(key, obj)
        if self._journal is not None:
            self._journal.append((handle, key))
        return handle

    def _insert(self, key: str, obj: Any) -> int:
        if self._free:
            slot = self._free.pop()
            gen = self._gens[slot] + 1
            self._keys[slot], self._gens[slot], self._objs[slot] = key, gen, obj
        else:
            slot = len(self._keys)
            if slot >= self.capacity:
                raise BadHandle("handle table full")
            gen = 1
            self._keys.append(key)
            self._gens.append(gen)
            self._objs.append(obj)
        self.live += 1
        return (gen << self.SLOT_BITS) | (slot + 1)

    def _slot(self, handle: int, key: str) -> int:
        handle &= MASK32
        slot = (handle & self.MAX_SLOTS) - 1
        if (slot < 0 or slot >= len(self._keys) or self._keys[slot] != key
                or self._gens[slot] != handle >> self.SLOT_BITS):
            raise BadHandle(handle)
        return slot

    def get(self, handle: int, key: str) -> Any:
        """The object of a live handle, pinned until this thread's `leave`."""
        with self._lock:
            slot = self._slot(handle, key)
            self._pins[slot] = self._pins.get(slot, 0) + 1
            self._my_pins().append(slot)
            return self._objs[slot]

    def _my_pins(self) -> list[int]:
        pins = getattr(self._local, "pins", None)
        if pins is None:
            pins = self._local.pins = []
        return pins

    def leave(self) -> None:
        """The calling thread's call is over: unpin what it looked up; an object whose
        handle was unwound while pinned is released by its last unpin."""
        pins = getattr(self._local, "pins", None)
        while pins:
            slot = pins.pop()
            with self._lock:
                left = self._pins[slot] - 1
                if left:
                    self._pins[slot] = left
                    continue
                del self._pins[slot]
                doomed = self._doomed.pop(slot, None)
                if doomed is not None:
                    self._vacate(slot)
            if doomed is not None:
                self.release(*doomed)

    def remove(self, handle: int, key: str) -> Any:
        """Remove a live handle; BadHandle when it is not one, or when another thread's
        call has it pinned (its object is in use: nothing changes)."""
        with self._lock:
            slot = self._slot(handle, key)
            if self._pins.get(slot, 0) > self._my_pins().count(slot):
                raise BadHandle(f"{handle}: in use by another call")
            obj = self._objs[slot]
            self._vacate(slot)
            return obj

    def _vacate(self, slot: int) -> None:
        self._keys[slot] = None
        self._objs[slot] = None
        if self._gens[slot] < self.GEN_MASK:
            self._free.append(slot)
        # else: the slot has used up its generations and is retired, so that no
        # handle value is ever given out twice
        self.live -= 1

    # -- no side effects on failure

    def begin(self) -> None:
        """Journal the handles issued from now on (until `end`)."""
        self._journal = []

    def end(self) -> None:
        self._journal = None

    def unwind(self) -> list[tuple[str, Any]]:
        """Remove every handle issued since `begin`, newest first (generations bumped as
        by a drop); their (key, object) pairs, whose release is the caller's business."""
        journal, self._journal = self._journal or [], []
        out = []
        for handle, key in reversed(journal):
            with self._lock:
                try:
                    slot = self._slot(handle, key)
                except BadHandle:  # removed during the call already
                    continue
                if self._pins.get(slot, 0) > self._my_pins().count(slot):
                    # another call uses it: the handle goes now (its key cleared, so no
                    # lookup finds it; the slot stays taken), the object at the last leave
                    self._doomed[slot] = (key, self._objs[slot])
                    self._keys[slot] = None
                    continue
                out.append((key, self._objs[slot]))
                self._vacate(slot)
        return out

    def set_dropper(self, key: str, drop: Callable[[Any], Any]) -> None:
        """`drop(obj)` releases an object of resource type `key` (its `<r>_drop`)."""
        self._droppers[key] = drop

    def release(self, key: str, obj: Any) -> bool:
        """Release an object the guest holds no handle to, as its drop would; False when
        no dropper is registered for `key`. A failing dropper is logged, never raised."""
        drop = self._droppers.get(key)
        if drop is None:
            return False
        try:
            drop(obj)
        except Exception:  # noqa: BLE001 - an implementation bug must not mask the status
            log.exception("releasing a %s object failed", key)
        return True

    def items(self, key: str | None = None) -> list[tuple[int, Any]]:
        """Live (handle, object) pairs, optionally of one resource type (for cleanup)."""
        out = []
        for slot, k in enumerate(self._keys):
            if k is not None and (key is None or k == key):
                out.append(((self._gens[slot] << self.SLOT_BITS) | (slot + 1), self._objs[slot]))
        return out


# ---------------------------------------------------------------------------- a call


class Call:
    """One host call: the caller's memory (a memoryview over linear memory), the handle
    tables, and the result buffer the glue allocates strings/lists in.

    The checked parameters of the call land here too, so that the small functions a
    host function is made of share them without another object per call: `args` (for
    the implementation), `outs` ((address, codec) per out-pointer), `buffer` ((address,
    capacity, address of the bytes used) of the caller's buffer) and `error_at` (where
    the error value goes)."""

    __slots__ = ("mem", "size", "tables", "cursor", "end", "args", "outs", "buffer", "error_at")

    def __init__(self, mem: memoryview, tables: HandleTables) -> None:
        self.mem = mem
        self.size = len(mem)
        self.tables = tables
        self.cursor = 0
        self.end = 0
        self.args: list[Any] = []
        self.outs: list[tuple[int, Codec]] = []
        self.buffer: tuple[int, int, int] | None = None
        self.error_at: int | None = None

    def check(self, addr: int, n: int, align: int = 1) -> int:
        if addr < 0 or n < 0 or addr + n > self.size or (align > 1 and addr % align):
            raise BadPointer(addr)
        return addr

    def alloc(self, n: int, align: int) -> int:
        pos = _align(self.cursor, align)
        if pos + n > self.end:  # `need` was computed first: a bug if this happens
            raise BadValue("result buffer overrun")
        self.cursor = pos + n
        return pos


def _align(n: int, a: int) -> int:
    return n if a <= 1 else (n + a - 1) // a * a


_EMPTY = memoryview(b"")


def guest_memory(memory: Any, ctx: Any) -> memoryview:
    """A writable memoryview over the whole linear memory (valid for this call only)."""
    size = memory.data_len(ctx)
    if size == 0:
        return _EMPTY
    base = ctypes.addressof(memory.data_ptr(ctx).contents)
    return memoryview((ctypes.c_ubyte * size).from_address(base)).cast("B")


# ---------------------------------------------------------------------------- codecs


class Codec:
    """How one P1 type sits in linear memory, and how it is a Python value."""

    size = 0
    align = 1
    has_list = False  # contains strings/lists/handles-needing-allocation in results

    def load(self, cx: Call, addr: int) -> Any:  # addr is already checked
        raise NotImplementedError

    def store(self, cx: Call, addr: int, value: Any) -> None:
        raise NotImplementedError

    def need(self, value: Any, pos: int) -> int:
        """Advance `pos` over what storing `value` allocates in the result buffer."""
        return pos

    def from_core(self, raw: int) -> Any:
        """A value passed directly as a core wasm parameter."""
        raise BadValue("not a scalar")

    def to_core(self, value: Any) -> Any:
        raise BadValue("not a scalar")


class Int(Codec):
    __slots__ = ("fmt", "size", "align", "lo", "hi", "mask", "signed", "_st")

    def __init__(self, fmt: str, size: int, signed: bool) -> None:
        self.fmt, self.size, self.align, self.signed = fmt, size, size, signed
        bits = size * 8
        self.lo = -(1 << (bits - 1)) if signed else 0
        self.hi = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
        self.mask = (1 << bits) - 1
        self._st = struct.Struct("<" + fmt)

    def load(self, cx: Call, addr: int) -> int:
        return self._st.unpack_from(cx.mem, addr)[0]

    def store(self, cx: Call, addr: int, value: Any) -> None:
        self._st.pack_into(cx.mem, addr, value)

    def from_core(self, raw: int) -> int:
        if self.size >= 4:  # i32/i64 carry the bits; reinterpret the sign
            v = raw & self.mask
            if self.signed and v > self.hi:
                v -= self.mask + 1
            return v
        # narrower than the core type: witx passes it zero/sign-extended
        if not self.lo <= raw <= self.hi:
            if self.signed or not 0 <= (raw & MASK32) <= self.hi:
                raise BadValue(raw)
            return raw & MASK32
        return raw

    def to_core(self, value: Any) -> int:
        if not isinstance(value, int) or not self.lo <= value <= self.hi:
            raise TypeError(f"{value!r} is not a {self.fmt} integer")
        if self.size == 4 and value > 0x7FFFFFFF:
            return value - (1 << 32)
        if self.size == 8 and value > 0x7FFFFFFFFFFFFFFF:
            return value - (1 << 64)
        return value


class Float(Codec):
    __slots__ = ("size", "align", "_st")

    def __init__(self, fmt: str, size: int) -> None:
        self.size = self.align = size
        self._st = struct.Struct("<" + fmt)

    def load(self, cx: Call, addr: int) -> float:
        return self._st.unpack_from(cx.mem, addr)[0]

    def store(self, cx: Call, addr: int, value: Any) -> None:
        self._st.pack_into(cx.mem, addr, value)

    def from_core(self, raw: float) -> float:
        return raw

    def to_core(self, value: Any) -> float:
        return float(value)


U8, U16, U32, U64 = Int("B", 1, False), Int("H", 2, False), Int("I", 4, False), Int("Q", 8, False)
S8, S16, S32, S64 = Int("b", 1, True), Int("h", 2, True), Int("i", 4, True), Int("q", 8, True)
USIZE = U32
CHAR8 = U8
F32, F64 = Float("f", 4), Float("d", 8)
_REPR = {1: U8, 2: U16, 4: U32, 8: U64}


class Char(Codec):
    size = align = 4

    def _check(self, v: int) -> str:
        if v > 0x10FFFF or 0xD800 <= v <= 0xDFFF:
            raise BadValue(v)
        return chr(v)

    def load(self, cx: Call, addr: int) -> str:
        return self._check(U32.load(cx, addr))

    def store(self, cx: Call, addr: int, value: Any) -> None:
        U32.store(cx, addr, ord(value))

    def from_core(self, raw: int) -> str:
        return self._check(raw & MASK32)

    def to_core(self, value: Any) -> int:
        return ord(value)


CHAR = Char()


class Bool(Codec):
    """witx lays bool out as a variant false/true with a u32 tag (4 bytes)."""

    size = align = 4

    def load(self, cx: Call, addr: int) -> bool:
        return self.from_core(U32.load(cx, addr))

    def store(self, cx: Call, addr: int, value: Any) -> None:
        U32.store(cx, addr, 1 if value else 0)

    def from_core(self, raw: int) -> bool:
        if raw == 0 or raw == 1:
            return bool(raw)
        raise BadValue(raw)

    def to_core(self, value: Any) -> int:
        if not isinstance(value, bool):
            raise TypeError(f"{value!r} is not a bool")
        return int(value)


BOOL = Bool()


class Enum(Codec):
    """Payload-free variant: the tag, an `IntEnum` member."""

    __slots__ = ("size", "align", "cls", "count", "_tag")

    def __init__(self, tag_size: int, cls: Any, count: int, size: int | None = None,
                 align: int | None = None) -> None:
        self._tag = _REPR[tag_size]
        self.size = size if size is not None else tag_size
        self.align = align if align is not None else tag_size
        self.cls, self.count = cls, count

    def load(self, cx: Call, addr: int) -> Any:
        return self.from_core(self._tag.load(cx, addr))

    def store(self, cx: Call, addr: int, value: Any) -> None:
        self._tag.store(cx, addr, self.to_core(value))

    def from_core(self, raw: int) -> Any:
        raw &= MASK64
        if raw >= self.count:
            raise BadValue(raw)
        return self.cls(raw)

    def to_core(self, value: Any) -> int:
        v = int(value)
        if not 0 <= v < self.count:
            raise ValueError(f"{value!r} is not a case of {self.cls.__name__}")
        return v


class Flags(Codec):
    __slots__ = ("size", "align", "cls", "valid", "_repr")

    def __init__(self, repr_size: int, cls: Any, count: int) -> None:
        self._repr = _REPR[repr_size]
        self.size = self.align = repr_size
        self.cls, self.valid = cls, (1 << count) - 1

    def load(self, cx: Call, addr: int) -> Any:
        return self.from_core(self._repr.load(cx, addr))

    def store(self, cx: Call, addr: int, value: Any) -> None:
        self._repr.store(cx, addr, self.to_core(value))

    def from_core(self, raw: int) -> Any:
        raw &= self._repr.mask
        if raw & ~self.valid:
            raise BadValue(raw)
        return self.cls(raw)

    def to_core(self, value: Any) -> int:
        v = int(value)
        if v & ~self.valid or v < 0:
            raise ValueError(f"{value!r} has unknown flag bits")
        if self.size == 4 and v > 0x7FFFFFFF:
            v -= 1 << 32
        elif self.size == 8 and v > 0x7FFFFFFFFFFFFFFF:
            v -= 1 << 64
        return v


class Handle(Codec):
    """A resource handle: looked up (params) or inserted (results) in the tables."""

    size = align = 4
    has_list = True  # storing one allocates a table slot: only after the size check

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key

    def load(self, cx: Call, addr: int) -> Any:
        return cx.tables.get(U32.load(cx, addr), self.key)

    def store(self, cx: Call, addr: int, value: Any) -> None:
        U32.store(cx, addr, cx.tables.insert(self.key, value))


class Pointer(Codec):
    size = align = 4
    __slots__ = ("pointee",)

    def __init__(self, pointee: Codec | None) -> None:
        self.pointee = pointee

    def load(self, cx: Call, addr: int) -> GuestPointer:
        return GuestPointer(cx, U32.load(cx, addr), self.pointee)

    def store(self, cx: Call, addr: int, value: Any) -> None:
        U32.store(cx, addr, value.addr if isinstance(value, GuestPointer) else int(value))


class Record(Codec):
    """A record (`cls` a dataclass, fields by keyword) or a tuple (`cls` None)."""

    __slots__ = ("size", "align", "cls", "fields", "has_list")

    def __init__(self, size: int, align: int, cls: Any,
                 fields: Sequence[tuple[str, int, Codec]]) -> None:
        self.size, self.align, self.cls, self.fields = size, align, cls, tuple(fields)
        self.has_list = any(c.has_list for _, _, c in self.fields)

    def _members(self, value: Any) -> list[Any]:
        if self.cls is None:
            if len(value) != len(self.fields):
                raise ValueError(f"expected a {len(self.fields)}-tuple, got {value!r}")
            return list(value)
        return [getattr(value, name) for name, _, _ in self.fields]

    def load(self, cx: Call, addr: int) -> Any:
        vals = [c.load(cx, addr + off) for _, off, c in self.fields]
        if self.cls is None:
            return tuple(vals)
        return self.cls(*vals)

    def store(self, cx: Call, addr: int, value: Any) -> None:
        for (_, off, c), v in zip(self.fields, self._members(value)):
            c.store(cx, addr + off, v)

    def need(self, value: Any, pos: int) -> int:
        if self.has_list:
            for (_, _, c), v in zip(self.fields, self._members(value)):
                pos = c.need(v, pos)
        return pos


class Variant(Codec):
    """A variant with payloads: `cls(tag, value)`; `tag_cls` is its tag `IntEnum`."""

    __slots__ = ("size", "align", "cls", "tag_cls", "payload_offset", "cases", "_tag", "has_list")

    def __init__(self, tag_size: int, payload_offset: int, size: int, align: int, cls: Any,
                 tag_cls: Any, cases: Sequence[Codec | None]) -> None:
        self._tag = _REPR[tag_size]
        self.size, self.align, self.payload_offset = size, align, payload_offset
        self.cls, self.tag_cls, self.cases = cls, tag_cls, tuple(cases)
        self.has_list = any(c is not None and c.has_list for c in self.cases)

    def _split(self, value: Any) -> tuple[int, Any]:
        return int(value.tag), value.value

    def _make(self, tag: int, payload: Any) -> Any:
        return self.cls(self.tag_cls(tag), payload)

    def load(self, cx: Call, addr: int) -> Any:
        tag = self._tag.load(cx, addr)
        if tag >= len(self.cases):
            raise BadValue(tag)
        c = self.cases[tag]
        return self._make(tag, None if c is None else c.load(cx, addr + self.payload_offset))

    def store(self, cx: Call, addr: int, value: Any) -> None:
        tag, payload = self._split(value)
        c = self.cases[tag]
        self._tag.store(cx, addr, tag)
        if c is not None:
            c.store(cx, addr + self.payload_offset, payload)

    def need(self, value: Any, pos: int) -> int:
        if self.has_list:
            tag, payload = self._split(value)
            c = self.cases[tag]
            if c is not None:
                pos = c.need(payload, pos)
        return pos


class Option(Variant):
    """option<T>: None or the value (so option<option<T>> cannot say some(none))."""

    def __init__(self, tag_size: int, payload_offset: int, size: int, align: int,
                 some: Codec) -> None:
        super().__init__(tag_size, payload_offset, size, align, None, None, (None, some))

    def _split(self, value: Any) -> tuple[int, Any]:
        return (0, None) if value is None else (1, value)

    def _make(self, tag: int, payload: Any) -> Any:
        return payload if tag else None


class Expected(Variant):
    """result<T, E> inside another value: `Ok(v)` or `Err(e)`."""

    def __init__(self, payload_offset: int, size: int, align: int,
                 ok: Codec | None, err: Codec | None) -> None:
        super().__init__(4, payload_offset, size, align, None, None, (ok, err))

    def _split(self, value: Any) -> tuple[int, Any]:
        if isinstance(value, Ok):
            return 0, value.value
        if isinstance(value, Err):
            return 1, value.value
        raise TypeError(f"{value!r} is neither Ok nor Err")

    def _make(self, tag: int, payload: Any) -> Any:
        return Err(payload) if tag else Ok(payload)

    def from_core(self, raw: int) -> Any:
        """A result without payloads passed directly, as its tag (`exit(status)`)."""
        if raw not in (0, 1) or any(c is not None for c in self.cases):
            raise BadValue(raw)
        return self._make(raw, None)


class Str(Codec):
    """string: (pointer, length) of UTF-8 bytes."""

    size, align, has_list = 8, 4, True

    def load(self, cx: Call, addr: int) -> str:
        ptr, n = struct.unpack_from("<II", cx.mem, addr)
        return self.load_span(cx, ptr, n)

    def load_span(self, cx: Call, ptr: int, n: int) -> str:
        ptr &= MASK32
        n &= MASK32
        cx.check(ptr, n, 1)
        try:
            return str(cx.mem[ptr:ptr + n], "utf-8")
        except UnicodeDecodeError:
            raise BadValue("invalid UTF-8") from None

    def store(self, cx: Call, addr: int, value: Any) -> None:
        data = value.encode("utf-8")
        ptr = cx.alloc(len(data), 1)
        cx.mem[ptr:ptr + len(data)] = data
        struct.pack_into("<II", cx.mem, addr, ptr, len(data))

    def need(self, value: Any, pos: int) -> int:
        return pos + len(value.encode("utf-8"))


STRING = Str()


class ListOf(Codec):
    """list<T>: (pointer, length); list<u8> is `bytes`, other lists Python lists."""

    size, align, has_list = 8, 4, True
    __slots__ = ("elem", "_bytes")

    def __init__(self, elem: Codec) -> None:
        self.elem = elem
        self._bytes = elem is U8 or elem is CHAR8

    def load(self, cx: Call, addr: int) -> Any:
        ptr, n = struct.unpack_from("<II", cx.mem, addr)
        return self.load_span(cx, ptr, n)

    def load_span(self, cx: Call, ptr: int, n: int) -> Any:
        ptr &= MASK32
        n &= MASK32
        e = self.elem
        cx.check(ptr, n * e.size, e.align)
        if e.size == 0 and n > 0xFFFF:  # zero-sized elements: no memory bounds the count
            raise BadValue(n)
        if self._bytes:
            return bytes(cx.mem[ptr:ptr + n])
        return [e.load(cx, ptr + i * e.size) for i in range(n)]

    def store(self, cx: Call, addr: int, value: Any) -> None:
        e = self.elem
        n = len(value)
        ptr = cx.alloc(n * e.size, e.align)
        if self._bytes:
            cx.mem[ptr:ptr + n] = value
        else:
            for i, v in enumerate(value):
                e.store(cx, ptr + i * e.size, v)
        struct.pack_into("<II", cx.mem, addr, ptr, n)

    def need(self, value: Any, pos: int) -> int:
        e = self.elem
        pos = _align(pos, e.align) + len(value) * e.size
        if e.has_list and not isinstance(e, Handle):
            for v in value:
                pos = e.need(v, pos)
        return pos


# ---------------------------------------------------------------------------- functions

# core parameter kinds in a FuncSpec: the glue (emit/host_py.py) maps each slot kind of
# the call plan to one; they are compared by identity of kind, never a parameter's name
VALUE, HANDLE, LIST, BY_REF, POINTER, OUT, BUF, ERROR_PAYLOAD = (
    "value", "handle", "list", "by_ref", "pointer", "out", "caller_buffer", "error_value")


@dataclass(frozen=True, slots=True)
class FuncSpec:
    """One import, as the generated glue describes it.

    `params` lists the core parameters in order, each `(kind, name, arg)`:
    `value` (arg: codec; enums, flags, bools and chars too), `handle` (arg: resource
    key), `list` (two core values, arg: the list/string codec), `by_ref` (arg: codec of
    the value at the address), `pointer` (arg: pointee codec or None), `out` (arg:
    codec of the ok value/tuple member written there), `caller_buffer` (three core
    values: buffer, its length, and where to write the bytes used), `error_value` (arg:
    the error type's codec). `method` is the implementation's method name.

    For a function returning `(expected T (error S))`: `status_cases` names S's cases
    in order; `error_class` is the generated `WitError` subclass the implementation
    raises; `error_cases` names the cases of its error type E when E is not S itself
    (E's case i maps to the S case of the same name). `status_cases` is None for a
    function whose result is returned directly (`direct`: its codec, or None): such a
    function traps on bad input. `drop_key` marks a resource's `<r>_drop`.
    `glue_statuses`: the S values of the glue's own faults in `names.GLUE_STATUSES`
    order (buffer_too_small, bad_handle, bad_pointer, bad_value; None: S has no case
    for it), as the call plan's `StatusPlan` has them, so that every back end returns
    the same ones; None: found by name in `status_cases` (`FAULT_CASES`).
    """

    module: str
    name: str
    method: str
    params: tuple
    core_params: tuple[str, ...]
    core_results: tuple[str, ...]
    status_cases: tuple[str, ...] | None = None
    error_class: Any = None
    error_cases: tuple[str, ...] | None = None
    direct: Codec | None = None
    drop_key: str | None = None
    glue_statuses: tuple[int | None, ...] | None = None


def _write_results(cx: Call, buf: tuple[int, int, int] | None,
                   writes: list[tuple[int, "Codec", Any]]) -> bool:
    """Store values at checked addresses; their strings/lists go into the caller's
    buffer. False (and only `*buf_used` written, with the size needed) when they do
    not fit."""
    # what a failing store (a value the implementation got wrong) must put back: the
    # out-pointers and `*buf_used` (found by tests/test_fuzz_py.py)
    saved = [(addr, bytes(cx.mem[addr:addr + codec.size])) for addr, codec, _ in writes]
    if buf is not None:
        b, blen, bused = buf
        pos = b
        for _, codec, v in writes:
            pos = codec.need(v, pos)
        used = pos - b
        saved.append((bused, bytes(cx.mem[bused:bused + 4])))
        U32.store(cx, bused, used)
        if used > blen:
            return False
        cx.cursor, cx.end = b, b + blen
    try:
        for addr, codec, v in writes:
            codec.store(cx, addr, v)
    except BaseException:
        for addr, old in saved:
            cx.mem[addr:addr + len(old)] = old
        raise
    return True


def _fixed_handles(codec: Codec | None) -> int:
    """Handles a value holds outside of lists (upper bound over variant cases)."""
    if isinstance(codec, Handle):
        return 1
    if isinstance(codec, Record):
        return sum(_fixed_handles(c) for _, _, c in codec.fields)
    if isinstance(codec, Variant):
        return max((_fixed_handles(c) for c in codec.cases), default=0)
    return 0


def _holds_handles(codec: Codec | None) -> bool:
    """Whether a value can hold a handle anywhere (list elements too)."""
    if isinstance(codec, Handle):
        return True
    if isinstance(codec, ListOf):
        return _holds_handles(codec.elem)
    if isinstance(codec, Record):
        return any(_holds_handles(c) for _, _, c in codec.fields)
    if isinstance(codec, Variant):
        return any(_holds_handles(c) for c in codec.cases)
    return False


def _handle_objects(codec: Codec | None, value: Any, out: list[tuple[str, Any]]) -> None:
    """The (key, object) of every resource in `value`; a malformed part is skipped."""
    try:
        if isinstance(codec, Handle):
            out.append((codec.key, value))
        elif isinstance(codec, ListOf):
            if _holds_handles(codec.elem):
                for v in value:
                    _handle_objects(codec.elem, v, out)
        elif isinstance(codec, Record):
            for (_, _, c), v in zip(codec.fields, codec._members(value)):
                _handle_objects(c, v, out)
        elif isinstance(codec, Variant):
            tag, payload = codec._split(value)
            _handle_objects(codec.cases[tag], payload, out)
    except Exception:  # noqa: BLE001 - what cannot be walked was not stored either
        pass


def _write_undoable(cx: Call, buf: tuple[int, int, int] | None,
                    writes: list[tuple[int, "Codec", Any]]) -> bool:
    """`_write_results` for values holding handles, with no side effect when it fails:
    the handles it issued are removed, every resource object of the values is released
    through its dropper (the glue owns them all until they are issued), and the bytes
    it wrote at the out-pointers and `*buf_used` are put back; then the fault is raised."""
    tables = cx.tables
    saved = [(addr, bytes(cx.mem[addr:addr + codec.size])) for addr, codec, _ in writes]
    if buf is not None:
        saved.append((buf[2], bytes(cx.mem[buf[2]:buf[2] + 4])))
    tables.begin()
    try:
        if _write_results(cx, buf, writes):
            return True
        # buffer too small: nothing was issued, and the glue still owns every object of
        # the values (found by tests/test_fuzz_py.py: they used to leak)
        objs: list[tuple[str, Any]] = []
        for _, codec, v in writes:
            _handle_objects(codec, v, objs)
        for key, obj in objs:
            tables.release(key, obj)
        return False
    except BaseException:
        issued = tables.unwind()
        objs: list[tuple[str, Any]] = []
        for _, codec, v in writes:
            _handle_objects(codec, v, objs)
        found = {id(obj) for _, obj in objs}
        objs += [(k, obj) for k, obj in issued if id(obj) not in found]
        for key, obj in objs:
            tables.release(key, obj)
        for addr, old in saved:
            cx.mem[addr:addr + len(old)] = old
        raise
    finally:
        tables.end()


def _status_of(cases: Sequence[str], fault: str) -> int | None:
    # a status enum of the backport ends with the glue statuses, maybe renamed where
    # its error type has a case of the same name; others (P1's errno) go by name
    positions = glue_status_positions(cases)
    if positions is not None:
        return positions[fault]
    for name in FAULT_CASES[fault]:
        if name in cases:
            return cases.index(name)
    return None


def _wasm_type(name: str) -> Any:
    import wasmtime  # noqa: PLC0415

    return {"i32": wasmtime.ValType.i32(), "i64": wasmtime.ValType.i64(),
            "f32": wasmtime.ValType.f32(), "f64": wasmtime.ValType.f64()}[name]


def func_type(spec: FuncSpec) -> Any:
    import wasmtime  # noqa: PLC0415

    return wasmtime.FuncType([_wasm_type(t) for t in spec.core_params],
                             [_wasm_type(t) for t in spec.core_results])


def _accepts(method: Callable[..., Any], keyword: str) -> bool:
    import inspect  # noqa: PLC0415

    try:
        return keyword in inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False


# -- reading the parameters: one small step per core parameter kind -----------------
#
# A step is made once per parameter of a FuncSpec and run on every call as
# `step(cx, raw)`: it checks the raw core values at its position and puts what they
# mean where the call needs it (an argument of the implementation, an out-pointer, the
# caller's buffer, where the error value goes). Steps run in parameter order, so the
# first bad parameter decides the fault, as the checks are written in the WITX.

_Step = Callable[[Call, tuple], None]


def _value_step(i: int, codec: Codec, drop_key: str | None) -> _Step:
    from_core = codec.from_core

    def step(cx: Call, raw: tuple) -> None:
        cx.args.append(from_core(raw[i]))
    return step


def _handle_step(i: int, key: str, drop_key: str | None) -> _Step:
    if drop_key is None:
        def step(cx: Call, raw: tuple) -> None:
            cx.args.append(cx.tables.get(raw[i], key))
        return step

    def check_only(cx: Call, raw: tuple) -> None:
        # a drop: the handle is checked here and removed after every other check
        cx.tables.get(raw[i], key)
        cx.args.append(raw[i])
    return check_only


def _list_step(i: int, codec: Codec, drop_key: str | None) -> _Step:
    load_span = codec.load_span  # type: ignore[attr-defined]

    def step(cx: Call, raw: tuple) -> None:
        cx.args.append(load_span(cx, raw[i], raw[i + 1]))
    return step


def _by_ref_step(i: int, codec: Codec, drop_key: str | None) -> _Step:
    size, align, load = codec.size, codec.align, codec.load

    def step(cx: Call, raw: tuple) -> None:
        cx.args.append(load(cx, cx.check(raw[i] & MASK32, size, align)))
    return step


def _pointer_step(i: int, codec: Codec | None, drop_key: str | None) -> _Step:
    def step(cx: Call, raw: tuple) -> None:
        cx.args.append(GuestPointer(cx, raw[i] & MASK32, codec))
    return step


def _out_step(i: int, codec: Codec, drop_key: str | None) -> _Step:
    size, align = codec.size, codec.align

    def step(cx: Call, raw: tuple) -> None:
        cx.outs.append((cx.check(raw[i] & MASK32, size, align), codec))
    return step


def _buffer_step(i: int, _arg: Any, drop_key: str | None) -> _Step:
    def step(cx: Call, raw: tuple) -> None:
        b, blen, bused = raw[i] & MASK32, raw[i + 1] & MASK32, raw[i + 2] & MASK32
        cx.check(b, blen, 1)
        cx.check(bused, 4, 4)
        cx.buffer = (b, blen, bused)
    return step


def _error_value_step(i: int, codec: Codec, drop_key: str | None) -> _Step:
    size, align = codec.size, codec.align

    def step(cx: Call, raw: tuple) -> None:
        cx.error_at = cx.check(raw[i] & MASK32, size, align)
    return step


#: per parameter kind: how its step is made, and how many core values it takes
_STEPS: dict[str, tuple[Callable[[int, Any, str | None], _Step], int]] = {
    VALUE: (_value_step, 1), HANDLE: (_handle_step, 1), LIST: (_list_step, 2),
    BY_REF: (_by_ref_step, 1), POINTER: (_pointer_step, 1), OUT: (_out_step, 1),
    BUF: (_buffer_step, 3), ERROR_PAYLOAD: (_error_value_step, 1),
}

#: the kinds whose step reads or checks guest memory
_MEMORY_KINDS = frozenset((LIST, BY_REF, POINTER, OUT, BUF, ERROR_PAYLOAD))


def _param_steps(spec: FuncSpec) -> tuple[_Step, ...]:
    steps = []
    i = 0
    for kind, name, arg in spec.params:
        if kind not in _STEPS:
            raise TypeError(f"{spec.module}::{spec.name}: parameter `{name}` has no known "
                            f"kind ({kind!r})")
        make, width = _STEPS[kind]
        steps.append(make(i, arg, spec.drop_key))
        i += width
    return tuple(steps)


def _codecs_of(spec: FuncSpec, kind: str) -> list[Codec]:
    return [arg for k, _, arg in spec.params if k == kind]


# -- what a status means ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Statuses:
    """The status values of a function returning `(expected T (error S))`: S's cases,
    the status of each glue fault, of a result that does not fit, and of an
    implementation bug (`fallback`)."""

    cases: tuple[str, ...]
    fault: dict[str, int]
    too_small: int
    fallback: int


def _statuses_of(cases: tuple[str, ...], glue: tuple[int | None, ...] | None = None) -> _Statuses:
    given = dict(zip(GLUE_STATUSES, glue)) if glue is not None else None

    def status_of(fault: str) -> int | None:
        return given[fault] if given is not None else _status_of(cases, fault)
    st_value = status_of("bad_value")
    fallback = st_value if st_value is not None else (1 if len(cases) > 1 else 0)

    def or_fallback(fault: str) -> int:
        status = status_of(fault)
        return fallback if status is None else status
    fault = {"bad_pointer": or_fallback("bad_pointer"), "bad_handle": or_fallback("bad_handle"),
             "bad_value": fallback}
    return _Statuses(cases, fault, or_fallback("buffer_too_small"), fallback)


# -- calling the implementation ----------------------------------------------------------


def _method_of(impl: Any, spec: FuncSpec) -> Callable[..., Any]:
    method = getattr(impl, spec.method, None)
    if method is None or not callable(method):
        raise TypeError(f"{type(impl).__name__} has no method `{spec.method}` "
                        f"(needed for import {spec.module}::{spec.name})")
    return method


def _invoker(method: Callable[..., Any], spec: FuncSpec) -> Callable[[Call], Any]:
    """`method(*args)`; with a caller's buffer, also told its capacity (and its guest
    address, when the method takes `result_address`: an implementation that must know
    exactly what fits, alignment included)."""
    if not any(kind == BUF for kind, _, _ in spec.params):
        return lambda cx: method(*cx.args)
    if _accepts(method, "result_address"):
        return lambda cx: method(*cx.args, result_capacity=cx.buffer[1],  # type: ignore[index]
                                 result_address=cx.buffer[0])  # type: ignore[index]
    return lambda cx: method(*cx.args, result_capacity=cx.buffer[1])  # type: ignore[index]


def _writer_for(codecs: Sequence[Codec | None]) -> Callable[..., bool]:
    """How values of these codecs are written: undoably when they can hold handles."""
    return _write_undoable if any(_holds_handles(c) for c in codecs) else _write_results


def _ok_finisher(spec: FuncSpec, st: _Statuses) -> Callable[[Call, Any], int]:
    """What a function with a status does with the implementation's return value:
    write it through the out-pointers (and the caller's buffer); 0, or the
    status for a result that does not fit."""
    outs = _codecs_of(spec, OUT)
    write, too_small, n = _writer_for(outs), st.too_small, len(outs)
    if not outs and not any(kind == BUF for kind, _, _ in spec.params):
        return lambda cx, value: 0  # nothing to write: `write` would do nothing
    if n <= 1:
        def finish(cx: Call, value: Any) -> int:
            writes = [(addr, codec, value) for addr, codec in cx.outs]
            return 0 if write(cx, cx.buffer, writes) else too_small
        return finish

    def finish_tuple(cx: Call, value: Any) -> int:  # a tuple: an out-pointer per member
        members = list(value)
        if len(members) != n:
            raise TypeError(f"{spec.method} returned {value!r}, expected {n} values")
        writes = [(addr, codec, v) for (addr, codec), v in zip(cx.outs, members)]
        return 0 if write(cx, cx.buffer, writes) else too_small
    return finish_tuple


def _direct_finisher(spec: FuncSpec) -> Callable[[Call, Any], Any]:
    """A function without a status: its value returned as the core result (if any)."""
    direct = spec.direct
    if direct is None:
        return lambda cx, value: None
    return lambda cx, value: direct.to_core(value)


# -- what a failed call returns ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Failures:
    """What the host function returns for a glue fault, a WIT error raised by the
    implementation, and any other exception (an implementation bug)."""

    fault: Callable[[GlueFault], Any]
    wit_error: Callable[[Call, WitError], Any]
    bug: Callable[[Exception], Any]


def _trapping_failures(spec: FuncSpec) -> _Failures:
    """A function without a status has no way to report a failure but a trap."""
    def trap(exc: BaseException) -> Any:
        import wasmtime  # noqa: PLC0415

        raise wasmtime.Trap(f"{spec.module}::{spec.name}: {exc!r}")

    def bug(exc: Exception) -> Any:
        log.exception("%s::%s: the implementation failed", spec.module, spec.name)
        return trap(exc)
    return _Failures(trap, lambda cx, exc: trap(exc), bug)


def _status_failures(spec: FuncSpec, st: _Statuses) -> _Failures:
    fault, fallback = st.fault, st.fallback

    def bug(exc: Exception) -> int:
        log.exception("%s::%s: the implementation failed", spec.module, spec.name)
        return fallback
    return _Failures(lambda exc: fault[exc.status_name], _wit_error_status(spec, st), bug)


def _error_decoder(spec: FuncSpec, st: _Statuses) -> Callable[[WitError], tuple[int, Any]]:
    """(status, error value) of a raised WIT error."""
    cases = st.cases
    if spec.error_cases is None:
        # the status enum is the error type itself (the generic `<iface>_status`, or a
        # P1 errno): raised with the status case (`error` when no value) and a payload
        def status_case(exc: WitError) -> tuple[int, Any]:
            value = exc.value
            status = cases.index("error") if value is None else int(value)
            if not 0 < status < len(cases):
                raise ValueError(f"{value!r} is not an error status")
            return status, exc.payload
        return status_case
    # E's case i → the status case of the same name
    error_map = [cases.index(c) if c in cases else st.fallback for c in spec.error_cases]

    def error_case(exc: WitError) -> tuple[int, Any]:
        value = exc.value
        tag = int(value.tag) if hasattr(value, "tag") else int(value)
        return error_map[tag], value
    return error_case


def _wit_error_status(spec: FuncSpec, st: _Statuses) -> Callable[[Call, WitError], int]:
    """The status of a WIT error the implementation raised; its value written through
    the error value's pointer when the function has one."""
    err_cls, decode = spec.error_class, _error_decoder(spec, st)
    codecs = _codecs_of(spec, ERROR_PAYLOAD)
    codec = codecs[0] if codecs else None
    write = _writer_for(codecs)

    def status(cx: Call, exc: WitError) -> int:
        if err_cls is None or not isinstance(exc, err_cls):
            log.error("%s::%s raised %r, which is not its error type", spec.module,
                      spec.name, exc)
            return st.fallback
        try:
            result, payload = decode(exc)
            if codec is not None and cx.error_at is not None:
                at = cx.error_at
                if payload is None and not isinstance(codec, Option):
                    cx.mem[at:at + codec.size] = bytes(codec.size)
                elif not write(cx, cx.buffer, [(at, codec, payload)]):
                    return st.too_small
            return result
        except GlueFault as fault:  # e.g. the table filled while storing the payload
            return st.fault[fault.status_name]
        except Exception:  # noqa: BLE001 - a malformed error value: impl bug
            log.exception("%s::%s raised a malformed %s", spec.module, spec.name,
                          type(exc).__name__)
            return st.fallback
    return status


# -- the host function -----------------------------------------------------------------------


def _handles_needed(spec: FuncSpec) -> int:
    """Room in the table for every handle of the result outside lists, checked before
    the call (the ok value's, or the error value's, whichever needs more)."""
    needed = sum(_fixed_handles(c) for c in _codecs_of(spec, OUT))
    return max([needed] + [_fixed_handles(c) for c in _codecs_of(spec, ERROR_PAYLOAD)[:1]])


def make_host_func(spec: FuncSpec, impl: Any, tables: HandleTables,
                   memory_name: str = "memory") -> Callable[..., Any]:
    """The Python callable wasmtime calls for `spec` (with `access_caller=True`)."""
    invoke = _invoker(_method_of(impl, spec), spec)
    if spec.status_cases is None:
        finish, failures = _direct_finisher(spec), _trapping_failures(spec)
    else:
        st = _statuses_of(spec.status_cases, spec.glue_statuses)
        finish, failures = _ok_finisher(spec, st), _status_failures(spec, st)
    host = _host_function(spec, tables, memory_name, invoke, finish, failures)
    host.__name__ = f"{spec.module}__{spec.name}"
    host.__qualname__ = host.__name__
    return host


def _host_function(spec: FuncSpec, tables: HandleTables, memory_name: str,
                   invoke: Callable[[Call], Any], finish: Callable[[Call, Any], Any],
                   failures: _Failures) -> Callable[..., Any]:
    """The call itself: check every parameter, make room for the result's handles,
    remove a dropped handle, call the implementation, write its result; a failure
    anywhere becomes a status (or a trap)."""
    steps = _param_steps(spec)
    needs_mem = any(kind in _MEMORY_KINDS for kind, _, _ in spec.params)
    handles_needed, drop_key = _handles_needed(spec), spec.drop_key
    on_fault, on_wit_error, on_bug = failures.fault, failures.wit_error, failures.bug

    def host(caller: Any, *raw: Any) -> Any:
        cx = Call(_EMPTY, tables)
        try:
            if needs_mem:
                memory = caller.get(memory_name)
                if memory is None:
                    raise BadPointer("the caller exports no memory")
                cx.mem = guest_memory(memory, caller)
                cx.size = len(cx.mem)
            for step in steps:
                step(cx, raw)
            if handles_needed and tables.free < handles_needed:
                raise BadHandle("handle table full")
            if drop_key is not None:
                cx.args[0] = tables.remove(cx.args[0], drop_key)
            return finish(cx, invoke(cx))
        except GlueFault as exc:
            return on_fault(exc)
        except WitError as exc:
            return on_wit_error(cx, exc)
        except Exception as exc:  # noqa: BLE001 - an implementation bug
            return on_bug(exc)
        finally:
            # the view dies with the call: a GuestPointer kept by the implementation
            # must not reach memory that a later memory.grow may have moved
            cx.mem = _EMPTY
            cx.size = 0
            tables.leave()
    return host


def define_all(linker: Any, specs: Sequence[FuncSpec], impl: Any,
               tables: HandleTables | None) -> HandleTables:
    """Define every spec on `linker` (the body of a generated `add_to_linker`)."""
    if tables is None:
        tables = HandleTables()
    hosts = [(spec, make_host_func(spec, impl, tables)) for spec in specs]  # all or nothing
    for spec, host in hosts:
        linker.define_func(spec.module, spec.name, func_type(spec), host, access_caller=True)
    for spec in specs:  # how a failed call releases objects of these resource types
        if spec.drop_key is not None:
            tables.set_dropper(spec.drop_key, getattr(impl, spec.method))
    return tables


__all__ = [
    "BadHandle", "BadPointer", "BadValue", "Call", "Codec", "Err", "FuncSpec",
    "GlueFault", "GuestPointer", "HandleTables", "Ok", "WitError", "define_all",
    "guest_memory", "make_host_func",
]
