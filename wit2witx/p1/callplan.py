"""The calling contract as data: for every P1 function, the typed plan of one call.

Every back end that generates or documents a call (the C header, the C host glue, the
Python glue and its runtime, the docs) needs the same answers: which core parameters
form one argument and what the host must check about it, where the results go, which
status means what, which handles the call can hand out and what a failure must undo.
This module answers them once, from the structure of the lowering, so that no back end
recognises a parameter by its name or re-derives the shape of a call.

A `CallPlan` has

- `slots`: the function's arguments in core order, each a value of one kind
  (`SlotKind`) that knows its core parameters (`core`, in order, every core parameter
  of the signature in exactly one slot) and the layout facts the glue needs:

  | kind | from | the host |
  |---|---|---|
  | `scalar` | integer, float, char | range-checks narrow integers, validates chars |
  | `enum` | enum, bool, payload-free variant | checks `value < case_count` |
  | `flags` | flags | checks no undefined bit is set |
  | `handle` | `(handle)` typename | looks it up (typed, generation-checked), keeps it |
  | `drop` | the `self` of `<r>_drop` | takes it out of the table, after every check |
  | `span` | string/list, or pointer + `x_len` | checks `ptr + len * elem_size`, alignment; a string's UTF-8 (`utf8`) |
  | `by_ref` | record, tuple, variant with payloads | decodes the value, checks every member |
  | `pointer` | any other guest address (WITX) | passes the address on |
  | `buffer` | `buf`, `buf_len`, `buf_used` | the caller buffer result lists are written to |
  | `error_payload` | the last `error_payload` | writes the full error value on an error |
  | `out` | `retptrN` | writes one ok value (or tuple member) on success |

- `result`: a `ResultPlan`: the status (its type and cases: success, the interface's
  errors, then the glue statuses, with where each glue status lands), or the value
  returned directly; the out-pointers and the error payload; the handles the call can
  issue (`Issuance`, outside lists and inside lists) and what a failure must roll back
  (`Rollback`).

Recognising the backport's own parameters (`buf`/`buf_len`/`buf_used`, `error_payload`,
`self` and `<r>_drop`, `x` + `x_len`) is a question of names at the P1 level — WITX has
no other way to say it, and the lowering and the WITX reader must agree — so it is done
here, once, with the spellings of `p1.names`, and checked against the types.

Plans are computed once per run: `Facts.call_plan(func)` memoises them next to the
layouts and core signatures they are made of. Like those, a plan and everything in it
is shared: read it, never modify it.
"""

from __future__ import annotations

import enum
from typing import Callable, ClassVar

from .abi import CoreParam, CoreResult, CoreSignature, Role, WasmType
from .facts import Facts
from .model import (
    Builtin, ConstPointer, Function, Handle, List, Param, Pointer, Ref, String,
    TypeName, TypeRef, canonical_fields, canonical_variant_cases, is_enum_like, node, resolve,
)
from .names import (
    BUF_PARAMS, ERROR_PAYLOAD_PARAM, GLUE_STATUSES, SELF_PARAM, drop_function_name,
    glue_status_positions, status_error_name,
)

#: Plans are values never modified once made, like the P1 model's: slotted dataclasses
#: with structural `==` (`model.node`). Not `frozen=True`, for the reason `node` gives,
#: measured on this module (on a busy 2-core machine): frozen slotted classes took 27 ms
#: to import instead of 11, and 2.8 us instead of 0.25 us per instance (thousands per run).
_value = node

#: `<r>_drop` is a drop of resource `r`: the suffix, as `names` spells it.
_DROP_SUFFIX = drop_function_name("")
#: The length parameter that follows a pointer parameter `x` (lowering and witx ABI).
_LENGTH_SUFFIX = "_len"

#: For each glue status, the case names that can stand for it, in order of preference:
#: the backport ABI's own names first, then wasi_snapshot_preview1's errno, so that
#: glue for hand-written P1 WITX works too.
GLUE_CASE_NAMES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (GLUE_STATUSES[0], (GLUE_STATUSES[0], "nobufs", "overflow")),
    (GLUE_STATUSES[1], (GLUE_STATUSES[1], "badf")),
    (GLUE_STATUSES[2], (GLUE_STATUSES[2], "fault")),
    (GLUE_STATUSES[3], (GLUE_STATUSES[3], "inval")),
)

#: A `string` is laid out as a list of C chars.
_STRING_ELEMENT = Builtin("char8")

#: Narrow integers arrive in a wider core value: the range a valid one has.
_RANGES = {
    "u8": (0, 0xFF), "char8": (0, 0xFF), "u16": (0, 0xFFFF),
    "s8": (-128, 127), "s16": (-32768, 32767),
}


class SlotKind(str, enum.Enum):
    SCALAR = "scalar"
    ENUM = "enum"
    FLAGS = "flags"
    HANDLE = "handle"
    DROP = "drop"
    SPAN = "span"
    BY_REF = "by_ref"
    POINTER = "pointer"
    BUFFER = "buffer"
    ERROR_PAYLOAD = "error_payload"
    OUT = "out"


class ResultKind(str, enum.Enum):
    NONE = "none"  # no core result (e.g. `proc_exit`)
    STATUS = "status"  # an `(expected ...)`: a status, the ok value through out-pointers
    VALUE = "value"  # a scalar, enum, flags or pointer returned directly
    HANDLE = "handle"  # a handle returned directly: the host issues it


class Ownership(str, enum.Enum):
    """What a handle parameter does to the caller's handle.

    P1 has one handle type for `own<r>` and `borrow<r>` (the backport ABI), so every
    handle parameter of an import is looked up and stays the guest's (`BORROW`), except
    the one a drop consumes (`OWN`): only `<r>_drop` removes a handle. A guest export's
    parameter is `OWN` when WIT declares it `own<r>` (`Param.own`): the host hands the
    handle over and the guest drops it; its `borrow<r>` ones are lent for the call.
    """

    BORROW = "borrow"
    OWN = "own"


# --------------------------------------------------------------------------- layout facts


@_value
class TypeFacts:
    """What the glue needs to know about a value of `type` in guest memory."""

    type: TypeRef
    typename: TypeName | None  # the typename `type` names (None: written in place)
    size: int
    align: int
    #: handles a value holds outside lists (an upper bound over variant cases): the
    #: room the handle table needs before the call
    handles: int
    #: the resource types of the handles it can hold outside lists / inside list elements
    resources: tuple[TypeName, ...]
    list_resources: tuple[TypeName, ...]
    holds_lists: bool  # a string or list anywhere inside (its bytes go into the buffer)

    @property
    def holds_handles(self) -> bool:
        return bool(self.resources or self.list_resources)


# --------------------------------------------------------------------------- slots


@_value
class ScalarSlot:
    """An integer, float or char passed by value."""

    name: str
    core: tuple[CoreParam, ...]
    value: TypeFacts
    builtin: str  # u8 ... f64, char, usize, char8
    #: the valid range of a narrow integer in its core value (None: every value is valid)
    range: tuple[int, int] | None
    unicode_scalar: bool  # a `char`: the value must be a Unicode scalar value
    kind: ClassVar[SlotKind] = SlotKind.SCALAR


@_value
class EnumSlot:
    """An enum, bool or payload-free variant passed as its case index."""

    name: str
    core: tuple[CoreParam, ...]
    value: TypeFacts
    case_count: int
    tag_size: int
    is_bool: bool
    kind: ClassVar[SlotKind] = SlotKind.ENUM


@_value
class FlagsSlot:
    name: str
    core: tuple[CoreParam, ...]
    value: TypeFacts
    flag_count: int
    mask: int  # the defined bits: any other bit set is `bad_value`
    kind: ClassVar[SlotKind] = SlotKind.FLAGS


@_value
class HandleSlot:
    name: str
    core: tuple[CoreParam, ...]
    resource: TypeName | None  # the `(handle)` typename (None: an anonymous handle)
    ownership: Ownership
    kind: ClassVar[SlotKind] = SlotKind.HANDLE


@_value
class DropSlot:
    """The handle `<r>_drop` consumes: removed from the table once every check passed."""

    name: str
    core: tuple[CoreParam, ...]
    resource: TypeName
    ownership: ClassVar[Ownership] = Ownership.OWN
    kind: ClassVar[SlotKind] = SlotKind.DROP


@_value
class SpanSlot:
    """`len` elements at a guest address: a string/list, or a pointer + `x_len`."""

    name: str
    core: tuple[CoreParam, ...]  # (pointer, length)
    element: TypeFacts
    read_only: bool
    #: text the guest passes: its bytes must be well-formed UTF-8, checked before the
    #: implementation runs (`bad_value`). A WITX `string`, a `const_pointer char8` with
    #: its length (hand-written WITX), or the `const_pointer u8` of a WIT `string`
    #: parameter (`Param.utf8`). A `pointer char8` is a buffer the host writes, and a
    #: `list<u8>` or `list char8` is bytes: none of those is checked.
    utf8: bool = False
    kind: ClassVar[SlotKind] = SlotKind.SPAN

    @property
    def pointer(self) -> CoreParam:
        return self.core[0]

    @property
    def length(self) -> CoreParam:
        return self.core[1]


@_value
class ByRefSlot:
    """A record, tuple or variant with payloads, passed by its address."""

    name: str
    core: tuple[CoreParam, ...]
    value: TypeFacts
    kind: ClassVar[SlotKind] = SlotKind.BY_REF


@_value
class PointerSlot:
    """Any other guest address (hand-written WITX): passed on, not dereferenced."""

    name: str
    core: tuple[CoreParam, ...]
    pointee: TypeRef
    read_only: bool
    kind: ClassVar[SlotKind] = SlotKind.POINTER


@_value
class BufferSlot:
    """The caller buffer: every string/list of the result (ok value or error payload)
    is written into it; `*buf_used` gets the bytes used, or the bytes needed along
    with `buffer_too_small` (and then nothing else is written)."""

    name: str
    core: tuple[CoreParam, ...]  # (buf, buf_len, buf_used)
    used_size: int  # bytes `buf_used` points at
    used_align: int
    kind: ClassVar[SlotKind] = SlotKind.BUFFER

    @property
    def data(self) -> CoreParam:
        return self.core[0]

    @property
    def capacity(self) -> CoreParam:
        return self.core[1]

    @property
    def used(self) -> CoreParam:
        return self.core[2]


@_value
class ErrorPayloadSlot:
    """Where the full error value is written when the status is an interface error."""

    name: str
    core: tuple[CoreParam, ...]
    value: TypeFacts
    kind: ClassVar[SlotKind] = SlotKind.ERROR_PAYLOAD


@_value
class OutSlot:
    """Out-pointer `index`: one ok value (or one member of an ok tuple), on success."""

    name: str
    core: tuple[CoreParam, ...]
    index: int
    value: TypeFacts
    kind: ClassVar[SlotKind] = SlotKind.OUT


Slot = (ScalarSlot | EnumSlot | FlagsSlot | HandleSlot | DropSlot | SpanSlot | ByRefSlot
        | PointerSlot | BufferSlot | ErrorPayloadSlot | OutSlot)


# --------------------------------------------------------------------------- results


@_value
class GlueStatus:
    """A failure of the glue itself and the status case that reports it."""

    name: str  # one of `names.GLUE_STATUSES`
    case: str | None  # the status case standing for it (None: the enum has none)
    value: int | None


@_value
class StatusPlan:
    """The status a call returns: 0 means success."""

    type: TypeRef  # the `(error S)` of the result, or the expected itself if it has none
    typename: TypeName | None
    wasm_type: WasmType
    cases: tuple[str, ...]  # every case, by value
    interface_errors: tuple[str, ...]  # cases past success that are the interface's own
    glue: tuple[GlueStatus, ...]  # in `GLUE_STATUSES` order
    #: the error type whose `$<e>_status` this is (None: a generic or hand-written status)
    error_type: TypeName | None

    @property
    def complete(self) -> bool:
        """Whether every glue status has a case (the host glue needs it)."""
        return all(g.case is not None for g in self.glue)

    def glue_value(self, name: str) -> int | None:
        for g in self.glue:
            if g.name == name:
                return g.value
        raise KeyError(name)


@_value
class Issuance:
    """The handles a call can hand out: the glue issues those outside lists (after
    checking the table has `room` for them), the implementation those in lists."""

    room: int  # free slots the table must have before the call
    resources: tuple[TypeName, ...]  # issued outside lists
    list_resources: tuple[TypeName, ...]  # issued inside list elements

    @property
    def any(self) -> bool:
        return bool(self.room or self.resources or self.list_resources)


@_value
class Rollback:
    """What a failed call must undo so that it has no side effect.

    `journal`: the call records the handles it issues and removes them again when it
    fails (any status but success, a full table, a bad value from the implementation).
    `staged`: the results are encoded into scratch space and copied to the guest only
    when all of them encoded, so a failure writes no out-pointer; `staged_error_payload`:
    the same for the error payload, written only for an interface error that encoded in
    full. `release_outs` /
    `release_error_payload`: host values holding handles outside lists whose objects
    are released (through their `<r>_drop`) when they could not be issued.
    `error_keeps_list_handles`: the implementation encoded the error payload's list
    elements, handles included; they are delivered with an interface error.
    """

    journal: bool
    staged: bool
    staged_error_payload: bool
    release_outs: tuple[int, ...]
    release_error_payload: bool
    error_keeps_list_handles: bool


@_value
class ResultPlan:
    kind: ResultKind
    core: tuple[CoreResult, ...]
    status: StatusPlan | None
    value: TypeFacts | None  # `VALUE` / `HANDLE`: what is returned directly
    outs: tuple[OutSlot, ...]
    error_payload: ErrorPayloadSlot | None
    buffer: BufferSlot | None
    issues: Issuance
    rollback: Rollback


@_value
class CallPlan:
    function: Function
    signature: CoreSignature
    slots: tuple[Slot, ...]  # in core order: inputs, buffer, error payload, outs
    result: ResultPlan
    drop_of: TypeName | None  # the resource a `<r>_drop` drops

    @property
    def inputs(self) -> tuple[Slot, ...]:
        """The slots the implementation gets as arguments (not the glue's own)."""
        glue = (SlotKind.BUFFER, SlotKind.ERROR_PAYLOAD, SlotKind.OUT)
        return tuple(s for s in self.slots if s.kind not in glue)

    @property
    def core_params(self) -> tuple[CoreParam, ...]:
        return tuple(cp for s in self.slots for cp in s.core)


# --------------------------------------------------------------------------- type facts


def handle_typename(tref: TypeRef | None) -> TypeName | None:
    """The typename whose body is `(handle)` that `tref` names (through aliases)."""
    while isinstance(tref, Ref):
        target = tref.target
        if target is None:
            return None
        if isinstance(target.type, Handle):
            return target
        tref = target.type
    return None


def _named(tref: TypeRef) -> TypeName | None:
    return tref.target if isinstance(tref, Ref) else None


def type_facts(tref: TypeRef, facts: Facts) -> TypeFacts:
    """`TypeFacts` of a type, once per type and run."""
    return facts.memo("callplan.type", tref, lambda t: _type_facts(t, facts))


def _type_facts(tref: TypeRef, facts: Facts) -> TypeFacts:
    sa = facts.size_align(tref)
    handles, outside, inside, lists = _walk(tref, facts)
    return TypeFacts(tref, _named(tref), sa.size, sa.align, handles, outside, inside, lists)


_Walk = tuple[int, tuple[TypeName, ...], tuple[TypeName, ...], bool]


def _walk(tref: TypeRef, facts: Facts) -> _Walk:
    """(handles outside lists, their resources, resources in list elements, has lists),
    once per typename (every use of a name is a `Ref` of its own) or anonymous type."""
    key = tref.target if isinstance(tref, Ref) and tref.target is not None else tref
    return facts.memo("callplan.walk", key, lambda _: _walk_type(tref, facts))


def _walk_type(tref: TypeRef, facts: Facts) -> _Walk:
    htn = handle_typename(tref)
    if htn is not None:
        return 1, (htn,), (), False
    ty = resolve(tref)
    if isinstance(ty, Handle):  # an anonymous `(handle)`: no resource type to name
        return 1, (), (), False
    if isinstance(ty, String):
        return 0, (), (), True
    if isinstance(ty, List):
        _, outside, inside, _ = _walk(ty.element, facts)
        return 0, (), _unique(outside + inside), True
    fields = canonical_fields(ty)
    if fields is not None:
        return _combine([_walk(f.type, facts) for f in fields], all_members=True)
    cases = canonical_variant_cases(ty)
    if cases is not None:
        payloads = [_walk(c.type, facts) for c in cases if c.type is not None]
        return _combine(payloads, all_members=False)
    return 0, (), (), False


def _combine(parts: list[_Walk], all_members: bool) -> _Walk:
    """A record holds the handles of all its members, a variant those of one case."""
    counts = [p[0] for p in parts]
    return (sum(counts) if all_members else max(counts, default=0),
            _unique(tuple(r for p in parts for r in p[1])),
            _unique(tuple(r for p in parts for r in p[2])),
            any(p[3] for p in parts))


def _unique(items: tuple[TypeName, ...]) -> tuple[TypeName, ...]:
    """In first-seen order, each typename once (by identity)."""
    seen: dict[int, TypeName] = {}
    for item in items:
        seen.setdefault(id(item), item)
    return tuple(seen.values())


# --------------------------------------------------------------------------- recognisers


def _is_integer(tref: TypeRef) -> bool:
    ty = resolve(tref)
    return isinstance(ty, Builtin) and ty.is_integer


def _buffer_at(params: list[Param], i: int) -> bool:
    """`buf`, `buf_len`, `buf_used` at `i`: a byte pointer, a length, a length pointer."""
    if params[i].name != BUF_PARAMS[0]:  # most parameters: one comparison
        return False
    trio = params[i:i + 3]
    if tuple(p.name for p in trio) != BUF_PARAMS:
        return False
    data, length, used = (resolve(p.type) for p in trio)
    return (isinstance(data, Pointer) and _is_integer(length) and isinstance(used, Pointer)
            and _is_integer(used.pointee))


def span_at(params: list[Param], i: int) -> bool:
    """A pointer parameter `x` followed by an integer `x_len`: `x_len` elements at `x`
    (how the lowering passes a string/list; hand-written WITX too, e.g. `random_get`).
    The WITX reader asks it too: a `(@w2w string)` pointer must start such a pair."""
    if i + 1 >= len(params):
        return False
    p, q = params[i], params[i + 1]
    return (q.name == p.name + _LENGTH_SUFFIX
            and isinstance(resolve(p.type), (Pointer, ConstPointer)) and _is_integer(q.type))


def _error_payload_at(params: list[Param], i: int) -> bool:
    """The lowering's last parameter `error_payload`, a pointer to the error value."""
    p = params[i]
    return (i == len(params) - 1 and p.name == ERROR_PAYLOAD_PARAM
            and isinstance(resolve(p.type), Pointer))


def drop_of(func: Function) -> TypeName | None:
    """The resource `func` drops, if it is a `<r>_drop`: one `self` handle parameter, no
    ok value, and its name the drop name of the handle's resource. The resource's
    typename may be qualified where names collide (`tcp_tcp_socket`), the drop keeps
    the resource's own name (`tcp_socket_drop`)."""
    if len(func.params) != 1 or func.params[0].name != SELF_PARAM or len(func.results) != 1:
        return None
    if not func.name.endswith(_DROP_SUFFIX):
        return None
    resource = handle_typename(func.params[0].type)
    if resource is None:
        return None
    cases = canonical_variant_cases(resolve(func.results[0].type))
    if cases is None or len(cases) != 2 or cases[0].type is not None:
        return None
    stem = func.name[: -len(_DROP_SUFFIX)]
    if resource.name == stem or resource.name.endswith("_" + stem):
        return resource
    return None


# --------------------------------------------------------------------------- parameter slots


class _Builder:
    """Consumes the core parameters of a signature, in order, slot by slot."""

    __slots__ = ("facts", "core", "pos", "drop")

    def __init__(self, facts: Facts, sig: CoreSignature, drop: TypeName | None) -> None:
        self.facts = facts
        self.core = sig.params
        self.pos = 0
        self.drop = drop

    def take(self, n: int) -> tuple[CoreParam, ...]:
        taken = self.core[self.pos:self.pos + n]
        self.pos += n
        return taken

    def facts_of(self, tref: TypeRef) -> TypeFacts:
        return type_facts(tref, self.facts)


def _input_slots(b: _Builder, params: list[Param]) -> list[Slot]:
    slots: list[Slot] = []
    i = 0
    while i < len(params):
        if _buffer_at(params, i):
            slots.append(_buffer_slot(b))
            i += 3
        elif span_at(params, i):
            slots.append(_pointer_span_slot(b, params[i]))
            i += 2
        elif _error_payload_at(params, i):
            slots.append(ErrorPayloadSlot(params[i].name, b.take(1),
                                          b.facts_of(resolve(params[i].type).pointee)))
            i += 1
        else:
            slots.append(_PARAM_SLOT.get(resolve(params[i].type).kind, _variant_slot)(b, params[i]))
            i += 1
    return slots


def _buffer_slot(b: _Builder) -> BufferSlot:
    core = b.take(3)
    used = b.facts.size_align(resolve(core[2].type).pointee)
    return BufferSlot(BUF_PARAMS[0], core, used.size, used.align)


def _pointer_span_slot(b: _Builder, p: Param) -> SpanSlot:
    ty = resolve(p.type)
    read_only = isinstance(ty, ConstPointer)
    return SpanSlot(p.name, b.take(2), b.facts_of(ty.pointee), read_only,
                    read_only and (p.utf8 or _is_char8(ty.pointee)))


def _is_char8(tref: TypeRef) -> bool:
    ty = resolve(tref)
    return isinstance(ty, Builtin) and ty.name == "char8"


def _list_slot(b: _Builder, p: Param) -> SpanSlot:
    ty = resolve(p.type)
    is_string = isinstance(ty, String)
    element = _STRING_ELEMENT if is_string else ty.element
    return SpanSlot(p.name, b.take(2), b.facts_of(element), True, is_string)


def _scalar_slot(b: _Builder, p: Param) -> ScalarSlot:
    name = resolve(p.type).name
    return ScalarSlot(p.name, b.take(1), b.facts_of(p.type), name, _RANGES.get(name),
                      name == "char")


def _flags_slot(b: _Builder, p: Param) -> FlagsSlot:
    ty = resolve(p.type)
    n = len(ty.flags)
    return FlagsSlot(p.name, b.take(1), b.facts_of(p.type), n, (1 << n) - 1)


def _handle_slot(b: _Builder, p: Param) -> HandleSlot | DropSlot:
    resource = handle_typename(p.type)
    if b.drop is not None and resource is b.drop:
        return DropSlot(p.name, b.take(1), resource)
    return HandleSlot(p.name, b.take(1), resource, Ownership.OWN if p.own else Ownership.BORROW)


def _pointer_slot(b: _Builder, p: Param) -> PointerSlot:
    ty = resolve(p.type)
    return PointerSlot(p.name, b.take(1), ty.pointee, isinstance(ty, ConstPointer))


def _variant_slot(b: _Builder, p: Param) -> EnumSlot | ByRefSlot:
    """Variant-shaped values (and records, tuples): a case index when no case has a
    payload, else the value's address."""
    ty = resolve(p.type)
    value = b.facts_of(p.type)
    if is_enum_like(ty):
        vl = b.facts.variant_layout(p.type)
        return EnumSlot(p.name, b.take(1), value, len(vl.cases), vl.tag_size, ty.kind == "bool")
    return ByRefSlot(p.name, b.take(1), value)


#: The slot of an ordinary parameter, by the kind of its resolved type (records, tuples
#: and variant-shaped types go to `_variant_slot`).
_PARAM_SLOT: dict[str, Callable[[_Builder, Param], Slot]] = {
    "builtin": _scalar_slot,
    "flags": _flags_slot,
    "handle": _handle_slot,
    "pointer": _pointer_slot,
    "const_pointer": _pointer_slot,
    "string": _list_slot,
    "list": _list_slot,
}


def _out_slots(b: _Builder) -> list[OutSlot]:
    outs: list[OutSlot] = []
    while b.pos < len(b.core):
        (cp,) = b.take(1)
        assert cp.role is Role.OUT_PTR, cp  # the signature appends out-pointers last
        outs.append(OutSlot(cp.name, (cp,), len(outs), b.facts_of(cp.type)))
    return outs


# --------------------------------------------------------------------------- result plan


def status_plan(err: TypeRef | None, result: CoreResult, document=None) -> StatusPlan:
    """The status of an `(expected T (error S))` result (`err` is S; None: no error type).

    A status enum the lowering made ends with the glue statuses (`glue_`-prefixed where
    the error type has a case of the same name: `names.glue_status_positions`), and its
    interface errors are the cases between `success` and them; in a hand-written one
    (P1's `$errno`) every case but 0 is the interface's, and the glue statuses are
    found by name. `document` (the unit's) finds the error type `$e` of `$e_status`."""
    if err is None or not is_enum_like(resolve(err)):
        cases: tuple[str, ...] = ("ok", "err")
        return StatusPlan(err or result.type, None, result.wasm_type, cases, cases[1:],
                          _glue_by_name(cases), None)
    cases = tuple(c.name for c in canonical_variant_cases(resolve(err)))
    positions = glue_status_positions(cases)
    if positions is None:
        glue, errors = _glue_by_name(cases), cases[1:]
    else:
        glue = tuple(GlueStatus(name, cases[i], i) for name, i in positions.items())
        errors = cases[1:min(positions.values())]
    typename = _named(err)
    return StatusPlan(err, typename, result.wasm_type, cases, errors, glue,
                      _error_type(typename, cases[:len(errors) + 1], document))


def _shared_status(result: CoreResult, facts: Facts, document) -> StatusPlan:
    """The status plan of a result, once per status enum: most functions of a module
    return one of a few (the module's `$status`, an error's `$<e>_status`)."""
    cases = canonical_variant_cases(resolve(result.type))
    err = cases[1].type if len(cases) > 1 else None
    if not isinstance(err, Ref) or err.target is None:
        return status_plan(err, result, document)
    return facts.memo("callplan.status", err.target, lambda _: status_plan(err, result, document))


def _glue_by_name(cases: tuple[str, ...]) -> tuple[GlueStatus, ...]:
    """Each glue status at the first of its spellings (`GLUE_CASE_NAMES`) the enum has."""
    index = {name: i for i, name in enumerate(cases)}
    out = []
    for glue, options in GLUE_CASE_NAMES:
        hit = next((o for o in options if o in index), None)
        out.append(GlueStatus(glue, hit, None if hit is None else index[hit]))
    return tuple(out)


def _error_type(status: TypeName | None, head: tuple[str, ...], document) -> TypeName | None:
    """`$e` for the status enum `$e_status` when the cases of `$e` are the status's
    `head` (success, then the interface errors) without success, or with it (an error
    type in P1's errno style is its own status's head): the name says which type, the
    cases confirm it."""
    name = status_error_name(status.name) if status is not None else None
    if name is None or document is None:
        return None
    etn = document.typename(name)
    if etn is None:
        return None
    cases = canonical_variant_cases(resolve(etn.type))
    if cases is None or tuple(c.name for c in cases) not in (head[1:], head):
        return None
    return etn


def _issuance(outs: list[OutSlot], payload: ErrorPayloadSlot | None,
              direct: TypeFacts | None) -> Issuance:
    """Room: the ok values are issued together, an error payload instead of them."""
    values = [o.value for o in outs]
    room = sum(v.handles for v in values)
    if payload is not None:
        room = max(room, payload.value.handles)
        values.append(payload.value)
    if direct is not None and direct.handles:
        room = max(room, 1)
        values.append(direct)
    return Issuance(room, _unique(tuple(r for v in values for r in v.resources)),
                    _unique(tuple(r for v in values for r in v.list_resources)))


def _rollback(outs: list[OutSlot], payload: ErrorPayloadSlot | None) -> Rollback:
    journal = any(o.value.holds_handles for o in outs) or (
        payload is not None and payload.value.holds_handles)
    return Rollback(
        journal=journal,
        # every out-pointer is staged, handles or not: a `bad_value` from an encode must
        # leave the guest's memory untouched too (found by tests/test_fuzz_c.py)
        staged=bool(outs),
        staged_error_payload=payload is not None,
        release_outs=tuple(o.index for o in outs if o.value.handles) if journal else (),
        release_error_payload=journal and payload is not None and payload.value.handles > 0,
        error_keeps_list_handles=payload is not None and bool(payload.value.list_resources),
    )


def _result_plan(func: Function, sig: CoreSignature, slots: list[Slot], facts: Facts,
                 document) -> ResultPlan:
    outs = [s for s in slots if isinstance(s, OutSlot)]
    payload = next((s for s in slots if isinstance(s, ErrorPayloadSlot)), None)
    buffer = next((s for s in slots if isinstance(s, BufferSlot)), None)
    status = direct = None
    kind = ResultKind.NONE
    if sig.results:
        result = sig.results[0]
        if result.role is Role.STATUS:
            kind = ResultKind.STATUS
            status = _shared_status(result, facts, document)
        else:
            direct = type_facts(result.type, facts)
            kind = ResultKind.HANDLE if result.role is Role.HANDLE else ResultKind.VALUE
    return ResultPlan(kind, sig.results, status, direct, tuple(outs), payload, buffer,
                      _issuance(outs, payload, direct), _rollback(outs, payload))


# --------------------------------------------------------------------------- entry points


def plan_call(func: Function, facts: Facts | None = None, document=None) -> CallPlan:
    """The plan of a call of `func` (computed anew: use `Facts.call_plan` in a run)."""
    facts = facts if facts is not None else Facts()
    sig = facts.core_signature(func)
    dropped = drop_of(func)
    b = _Builder(facts, sig, dropped)
    slots = _input_slots(b, func.params)
    slots += _out_slots(b)
    return CallPlan(func, sig, tuple(slots), _result_plan(func, sig, slots, facts, document),
                    dropped)


__all__ = [
    "SlotKind", "ResultKind", "Ownership", "TypeFacts", "ScalarSlot", "EnumSlot",
    "FlagsSlot", "HandleSlot", "DropSlot", "SpanSlot", "ByRefSlot", "PointerSlot",
    "BufferSlot", "ErrorPayloadSlot", "OutSlot", "Slot", "GlueStatus", "StatusPlan",
    "Issuance", "Rollback", "ResultPlan", "CallPlan", "GLUE_CASE_NAMES", "plan_call",
    "drop_of", "handle_typename", "type_facts", "status_plan", "span_at",
]
