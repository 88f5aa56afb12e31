"""Host glue (C) back end: a runtime-neutral core plus wasm3 and WAMR bindings.

For every unit (one P1 module) it writes:

- `<module>_host.h` / `<module>_host.c` — the core. The embedder implements one C
  function per P1 function, `<module>_impl_<f>(host, decoded args...)`, returning the
  module's status (0 = success). The core's trampoline `<module>_call_<f>(host, mem, raw
  core args...)` takes a guest memory view (`w2w_mem`: base, size) and the raw core
  arguments, checks *everything* before the implementation runs — every pointer and
  length (`addr + len` in 64-bit, alignment of out-pointers), integer ranges, enum
  values, flag bits, variant tags, handles (resolved through the typed,
  generation-checked handle table to the embedder's `void *` objects) — calls the
  implementation and writes the results into guest memory. Any check that fails
  returns a glue status of the module's status enum (`buffer_too_small`, `bad_handle`,
  `bad_pointer`, `bad_value`) and the implementation is not called.
- `<module>_host_inline.h` — the same core as static inline functions: the `.c` wraps
  them, the bindings include them so that binding + checks + encoding compile into one
  function per import (no call between binding and core: see bench/bench_host_c.py).
- `<module>_wasm3.{h,c}` — `<module>_wasm3_link(module, host)` registers every import
  with `m3_LinkRawFunctionEx` (the host context is the userdata).
- `<module>_wamr.{h,c}` — `<module>_wamr_register(natives, host)` fills an
  embedder-owned `NativeSymbol` table (signature strings with plain `i`/`I`/`f`/`F`,
  never `*`/`~`: guest addresses are checked by the core with their exact size; the
  host context is the attachment) and calls `wasm_runtime_register_natives`.
- `w2w_host.h` (once) — memory view, little-endian loads/stores, the result buffer and
  the handle table (see its header comment).

Decoded argument shapes (the embedder's view):

| P1 | implementation gets |
|---|---|
| integers, floats, char | the C value (narrow integers range-checked, chars validated) |
| enum / bool / flags | the value (checked: case < n, only defined flag bits) |
| handle | `void *` (the object stored when the handle was issued) |
| `x` const_pointer/pointer T + `x_len` | `const T *x, uint32_t x_len` (raw guest layout bytes for non-scalar T; each element checked first, by `<module>_check_<f>_<x>_inline`, when a T can be invalid) |
| `x` string (WITX `string`, or const_pointer char8) | `const char *x, uint32_t x_len`: well-formed UTF-8 (`w2w_valid_utf8`), as is every string in a by-reference value or a list element; a result's strings are checked when encoded |
| `x` WIT `string` parameter (`(@w2w string)` const_pointer u8) | `const uint8_t *x, uint32_t x_len`, the guest's C type: well-formed UTF-8 too (`SpanSlot.utf8`) |
| `$buf`, `$buf_len`, `$buf_used` | `w2w_buf *buf`: reserve with `w2w_buf_alloc`, then point result lists into it |
| record / variant by reference | `const T *` (decoded into a host struct, every member checked) |
| out-pointers `retptrN` | `T *retN` (host struct, zeroed; encoded into guest memory after success) |
| `$error_payload` | `E *error_payload` (encoded when the status is an error of the interface) |
| other pointers | `w2w_gaddr_t` guest address; `host->mem` is the memory view during the call |

Host types: a typename `$t` is `<module>_t_t`; lists and strings are `w2w_list_t`
(native pointer into guest memory, elements in guest layout); records are structs;
variants are `{ tag; union { case payloads } val; }`; handles are `void *`. Every
typename has `<module>_decode_<t>` / `<module>_encode_<t>` (guest layout ↔ host struct),
which the implementation uses for list elements (an anonymous record/tuple/variant
element type gets a name of its own, `<hint>_elem`, so that it has codecs too).

Resource results: a handle returned by the implementation (`void *`) is entered into the
table; the trampoline checks beforehand that the table has room for every handle of the
result outside lists (`bad_handle` otherwise, nothing called). `r_drop` removes the
handle first, then calls the implementation with the object; it is the only call that
removes a handle, after every other check passed (an `own<r>` parameter is not consumed).

No side effects on failure: a trampoline whose result can hold handles journals the
handles issued during the call (`w2w_handles_begin`), by its own encoding and by the
implementation's (list elements it encodes with `<module>_encode_<t>`). When the call
fails after that — a status other than success, a full table, a bad value from the
implementation — it removes them again and releases their objects through their
module's `<r>_drop` implementation (`w2w_handles_rollback`); objects of the result the
glue had not issued yet are released too (`<module>_release_<t>`). The results are
encoded into scratch space first and copied to the guest only when all of them encoded,
so a failed call writes no out-pointer. An encode of a value with handles issues all of
them or none (`w2w_handles_unwind`). Each module that owns resource types registers its
host context with the handle table in `<module>_host_init`, which is how a call of one
module releases another module's resources (a tcp-socket's streams).

Templates only format. A trampoline is a `Trampoline` view model made from the function's
call plan (`p1.callplan`: one piece per slot, by `SlotKind`, and the result plan), laid
out by `templates/host_c/trampoline.c.j2`; no parameter is recognised here by its name.
The codecs' statements (decode, encode, release of each type) are still computed here.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any, Callable, ClassVar

from ..diagnostics import UnsupportedError, error
from ..p1 import abi
from ..p1.abi import WasmType
from ..p1.callplan import (
    BufferSlot, ByRefSlot, CallPlan, DropSlot, EnumSlot, ErrorPayloadSlot, FlagsSlot, HandleSlot,
    OutSlot, Ownership, PointerSlot, ResultKind, ScalarSlot, Slot, SlotKind, SpanSlot, StatusPlan,
    handle_typename,
)
from ..p1.facts import Facts, facts_of
from ..p1.names import guest_export_name
from ..p1.model import (
    Bool, Builtin, ConstPointer, Enum, Flags, Function, Handle, IntRepr, List, Pointer, Ref,
    String, Type, TypeName, TypeRef, canonical_fields, canonical_variant_cases, is_enum_like,
    resolve,
)
from ..p1.unit import Unit
from ..records import record
from . import cnames
from .cnames import ProgramNames

SUPPORT_HEADER = "w2w_host.h"

_BUILTIN_C = {
    "u8": "uint8_t", "u16": "uint16_t", "u32": "uint32_t", "u64": "uint64_t",
    "s8": "int8_t", "s16": "int16_t", "s32": "int32_t", "s64": "int64_t",
    "f32": "float", "f64": "double", "char8": "char", "usize": "uint32_t",
    "char": "uint32_t",
}
_UINT = {1: "uint8_t", 2: "uint16_t", 4: "uint32_t", 8: "uint64_t"}
_WASM_C = {WasmType.I32: "int32_t", WasmType.I64: "int64_t", WasmType.F32: "float", WasmType.F64: "double"}
_WASM3_SIG = {WasmType.I32: "i", WasmType.I64: "I", WasmType.F32: "f", WasmType.F64: "F"}
_WAMR_SIG = _WASM3_SIG

#: Locals of every trampoline (`trampoline.c.j2`) that the locals of a parameter `x`
#: (`p_x`, `v_x`, `s_x`) could meet: the caller buffer's `p_buf_used` and a returned
#: handle's `v_result`. No parameter of the implementation takes their stems.
_TRAMPOLINE_LOCALS = ("p_buf_used", "v_result")
_IMPL_TAKEN = tuple(local[2:] for local in _TRAMPOLINE_LOCALS)


def c_ident(name: str) -> str:
    """A C identifier for a WITX name (tuple members "0" → "f0", C and C++ keywords →
    "x_"; `cnames.member`, shared with the guest header)."""
    return cnames.member(name)


def _members(names: list[str]) -> list[str]:
    """The distinct C names of one struct's or union's members, in order."""
    return cnames.unique(cnames.member(n) for n in names)


def _indent(lines: list[str]) -> str:
    """Statement lines as one block of text, indented one level (no trailing newline)."""
    return "    " + "\n    ".join(lines) if lines else ""


_doc_lines = cnames.doc_lines  # docs are data: escaped for C comments in one place


# --------------------------------------------------------------------------- view models
# View models are only read by templates, never compared or printed: `eq=False,
# repr=False` spares generating methods nobody calls (class creation is import time).


@record(slots=True, eq=False, repr=False)
class HConst:
    name: str
    value: str


@record(slots=True, eq=False, repr=False)
class HType:
    """One host typedef with its constants and its decode/encode functions."""

    cname: str          # `<module>_t_t`
    typedef: list[str]  # lines of the typedef
    doc: list[str]
    constants: list[HConst]
    decode_name: str
    encode_name: str
    decode_body: list[str]
    encode_body: list[str]
    guest_size: int
    guest_align: int
    descriptor: str = ""      # handle types: the `w2w_type` object
    descriptor_label: str = ""  # a C string literal: `"<module>.<type>"`
    descriptor_text: str = ""   # the same, as text
    typename: TypeName | None = None
    module_key: str = ""      # handle types: the owning module's `w2w_module` object
    dropper: str = ""         # handle types: the static `(host, obj)` release callback
    drop_impl: str = ""       # ... which calls this `<r>_drop` implementation ("": none)
    host_t: str = ""
    release_name: str = ""    # types holding handles outside lists: `<module>_release_<t>`
    release_body: list[str] = field(default_factory=list)

    @property
    def descriptor_comment(self) -> str:
        """The handle type's `<module>.<type>` label as comment text."""
        return " ".join(_doc_lines(self.descriptor_text))

    @property
    def release_text(self) -> str:
        return _indent(self.release_body)

    @property
    def decode_text(self) -> str:
        return _indent(self.decode_body)

    @property
    def encode_text(self) -> str:
        return _indent(self.encode_body)


@record(slots=True, eq=False, repr=False)
class HParam:
    ctype: str
    name: str
    decl: str = field(init=False)  # `ctype name` (every template spells it several times)

    def __post_init__(self) -> None:
        self.decl = f"{self.ctype}{self.name}" if self.ctype.endswith("*") else f"{self.ctype} {self.name}"


# --------------------------------------------------------------------------- trampolines
# The view model of a trampoline `<module>_call_<f>`: one typed piece per slot of the
# function's call plan (`p1.callplan`), made by the builder of the slot's kind (`_ARGS`),
# and the plan's result. `templates/host_c/trampoline.c.j2` lays them out (locals,
# checks, the implementation's arguments, by kind); every value it prints is decided
# here. View models: `eq=False, repr=False`, as above.


@record(slots=True, eq=False, repr=False)
class ScalarArg:
    """An integer, float or char by value: range-checked when narrow, validated when a char."""

    name: str  # the implementation's parameter
    arg: str  # the raw core argument (`a_<x>`)
    params: tuple[HParam, ...]  # the implementation's parameters it becomes
    cast: str  # the C type the core value is cast to ("": passed as it is)
    low: int  # the valid range of a narrow integer (`high` None: any value is valid)
    high: int | None
    char: bool
    kind: ClassVar[SlotKind] = SlotKind.SCALAR


@record(slots=True, eq=False, repr=False)
class EnumArg:
    """An enum, bool or payload-free variant: its case index is checked."""

    name: str
    arg: str
    params: tuple[HParam, ...]
    case_count: int
    is_bool: bool
    kind: ClassVar[SlotKind] = SlotKind.ENUM


@record(slots=True, eq=False, repr=False)
class FlagsArg:
    name: str
    arg: str
    params: tuple[HParam, ...]
    mask: int  # the defined bits
    wide: bool  # a 64-bit flags value
    kind: ClassVar[SlotKind] = SlotKind.FLAGS


@record(slots=True, eq=False, repr=False)
class HandleArg:
    """A handle looked up (`handle`) or taken out of the table (`drop`)."""

    kind: SlotKind
    name: str
    arg: str
    params: tuple[HParam, ...]
    descriptor: str  # the resource type's `w2w_type`


@record(slots=True, eq=False, repr=False)
class ElementCheck:
    """`<module>_check_<f>_<x>_inline(mem, handles, src, n)`: the `n` elements of a span
    checked before the implementation runs, each as its decode would check it (and the
    elements of its lists, at any depth), without producing a value: W2W_E_* or 0."""

    name: str
    body: list[str]

    @property
    def text(self) -> str:
        return _indent(self.body)


@record(slots=True, eq=False, repr=False)
class SpanArg:
    """`length` elements at a guest address."""

    name: str
    arg: str
    length: str  # the core argument holding the element count
    params: tuple[HParam, ...]  # (pointer, length)
    size: int  # of one element
    align: int
    check: ElementCheck | None = None  # elements whose decode can fail: checked first
    utf8: bool = False  # a string: its bytes must be well-formed UTF-8
    kind: ClassVar[SlotKind] = SlotKind.SPAN


@record(slots=True, eq=False, repr=False)
class ByRefArg:
    """A value at a guest address, decoded into `local` with `decode`."""

    name: str
    arg: str
    params: tuple[HParam, ...]
    local: HParam
    size: int
    align: int
    decode: str
    check: ElementCheck | None = None  # lists in it whose elements need checks (its decode
    # checks the lists' bounds, not their elements)
    kind: ClassVar[SlotKind] = SlotKind.BY_REF


@record(slots=True, eq=False, repr=False)
class PointerArg:
    name: str
    arg: str
    params: tuple[HParam, ...]
    kind: ClassVar[SlotKind] = SlotKind.POINTER


@record(slots=True, eq=False, repr=False)
class BufferArg:
    """The caller buffer: its address, its capacity and where the bytes used go."""

    arg: str
    capacity: str
    used: str
    params: tuple[HParam, ...]
    kind: ClassVar[SlotKind] = SlotKind.BUFFER


@record(slots=True, eq=False, repr=False)
class ErrorPayloadArg:
    """Where the error value goes: `local`, staged, encoded with `encode` when the
    status is an interface error (`release`: the objects of its handles given back
    when that fails)."""

    name: str
    arg: str
    params: tuple[HParam, ...]
    local: HParam
    size: int
    align: int
    hint: str  # the name a type written in place gets
    encode: str = ""
    release: str = ""
    keeps_list_handles: bool = False
    kind: ClassVar[SlotKind] = SlotKind.ERROR_PAYLOAD

    @property
    def stage_size(self) -> int:
        return max(self.size, 1)  # a C array has at least one element


@record(slots=True, eq=False, repr=False)
class OutArg:
    """Out-pointer `index`: the host value `local` is encoded with `encode` on success
    (`release`: its objects given back when the results could not all be issued)."""

    index: int
    arg: str
    params: tuple[HParam, ...]
    local: HParam
    size: int
    align: int
    encode: str
    release: str = ""
    kind: ClassVar[SlotKind] = SlotKind.OUT

    @property
    def stage_size(self) -> int:
        return max(self.size, 1)


Arg = (ScalarArg | EnumArg | FlagsArg | HandleArg | SpanArg | ByRefArg | PointerArg
       | BufferArg | ErrorPayloadArg | OutArg)


@record(slots=True, eq=False, repr=False)
class Trampoline:
    """The body of `<module>_call_<f>`: check every argument, call the implementation,
    deliver its result (`result`: a `ResultKind` value)."""

    impl: str
    call_return: str
    glue: str  # the table mapping glue failures onto the status ("": none)
    ncases: int  # of the status
    void_mem: bool  # no core parameters: `mem` is unused
    args: list[Arg]  # in core order
    result: str = ResultKind.NONE.value
    impl_return: str = "void"
    result_descriptor: str = ""  # a handle returned directly: its resource type
    room: int = 0  # free handle-table slots needed before the call
    journal: bool = False  # the handles the call issues are journalled
    mark: bool = False  # a failed encode unwinds to a mark
    release_outs: list[OutArg] = field(default_factory=list)
    outs: list[OutArg] = field(init=False)
    buffer: BufferArg | None = field(init=False)
    error_payload: ErrorPayloadArg | None = field(init=False)
    drop: HandleArg | None = field(init=False)
    needs_rc: bool = field(init=False)

    def __post_init__(self) -> None:
        self.outs = [a for a in self.args if isinstance(a, OutArg)]
        self.buffer = next((a for a in self.args if isinstance(a, BufferArg)), None)
        self.error_payload = next((a for a in self.args if isinstance(a, ErrorPayloadArg)), None)
        self.drop = next((a for a in self.args if a.kind is SlotKind.DROP), None)  # type: ignore[assignment]
        self.needs_rc = bool(self.outs) or any(isinstance(a, ByRefArg) for a in self.args) \
            or bool(self.checks)

    @property
    def checks(self) -> list[ElementCheck]:
        """The element checks of its spans, defined before the trampoline."""
        return [a.check for a in self.args if isinstance(a, (SpanArg, ByRefArg)) and a.check is not None]


# --------------------------------------------------------------------------- export callers
# A typed caller per guest export (`Module.exports`) in each runtime binding: typed C
# arguments in, handles lent to the guest (or handed over), the core export called,
# its result checked and mapped back (a handle to its object). From the same call plan.


@record(slots=True, eq=False, repr=False)
class ExportParam:
    """One argument of a caller: `param` (typed) passed as the core value `core`
    (`cell`: its first 32-bit cell in WAMR's argv; `cells`: 1, or 2 for 64 bits)."""

    kind: SlotKind  # scalar, enum, flags or handle
    name: str
    param: HParam
    core: str  # the C type of the core value
    cell: int
    cells: int
    descriptor: str = ""  # handle: the resource type
    own: bool = False  # handle: handed over (else lent for the call)


@record(slots=True, eq=False, repr=False)
class HExport:
    """The caller of the guest's core export `export_name`: returns W2W_OK with the
    result in `*result`, a W2W_E_* glue status, or W2W_CALL_TRAPPED."""

    name: str
    doc: list[str]
    export_literal: str  # the core export's name as a C string
    export_text: str  # ... and as comment text
    params: list[ExportParam]
    result: str  # a `ResultKind` value
    result_ctype: str  # what `*result` gets ("": no result)
    core_result: str  # the C type of the core result ("": none)
    check: ScalarArg | EnumArg | FlagsArg | None  # what a returned value must be
    result_descriptor: str  # a returned handle's resource type
    w3_name: str
    wamr_name: str

    @property
    def result_param(self) -> HParam | None:
        ct = self.result_ctype
        if not ct:
            return None
        return HParam(ct + ("*" if ct.endswith("*") else " *"), "result")

    @property
    def handles(self) -> list[ExportParam]:
        return [p for p in self.params if p.kind is SlotKind.HANDLE]

    @property
    def argv_cells(self) -> int:
        """WAMR's argv: the arguments' cells, and at least room for the result."""
        return max(sum(p.cells for p in self.params), 2 if self.core_result in ("int64_t", "double") else 1)


@record(slots=True, eq=False, repr=False)
class HFunc:
    name: str                # P1 name
    doc: list[str]
    impl_name: str
    impl_return: str
    impl_params: list[HParam]
    call_name: str
    call_return: str         # C type of the core result ("void" when none)
    core_params: list[HParam]
    call: Trampoline         # the trampoline's body (`trampoline.c.j2`)
    wasm3_sig: str
    wamr_sig: str
    core_result_wasm: str    # "" or the C type of the core result
    import_module: str
    w3_name: str = ""        # the wasm3 binding's function
    wamr_name: str = ""      # the WAMR binding's function

    @property
    def import_module_literal(self) -> str:
        return cnames.c_string(self.import_module)

    @property
    def import_name_literal(self) -> str:
        return cnames.c_string(self.name)

    @property
    def core_arg_names(self) -> list[str]:
        return [p.name for p in self.core_params]


@record(slots=True, eq=False, repr=False)
class HUnit:
    module: str
    prefix: str
    header_line: str
    origin: str
    includes: list[str]
    types: list[HType]
    functions: list[HFunc]
    glue_tables: list[tuple[str, str, list[str], int]]  # (name, C type, values, ncases)
    exports: list[HExport] = field(default_factory=list)  # the guest's, with typed callers

    @property
    def module_key(self) -> str:
        """The `w2w_module` object of a unit that defines resource types ("" if none)."""
        return f"{self.prefix}module" if any(t.descriptor for t in self.types) else ""

    @property
    def module_literal(self) -> str:
        return cnames.c_string(self.module)

    @property
    def guard(self) -> str:
        return f"{self.prefix.upper()}HOST_H"

    @property
    def host_t(self) -> str:
        return f"{self.prefix}host_ctx_t"


# --------------------------------------------------------------------------- helpers


def _unsupported(message: str) -> UnsupportedError:
    return UnsupportedError(error(f"host-c: {message}"))


def _ld(size: int, src: str) -> str:
    return f"({src})[0]" if size == 1 else f"w2w_ld_u{size * 8}({src})"


def _st(size: int, dst: str, value: str) -> str:
    return f"w2w_st_u{size * 8}({dst}, ({_UINT[size]})({value}));"


def _flags_mask(n: int) -> str:
    return f"0x{(1 << n) - 1 if n else 0:X}ull"


def _count_handles(tref: TypeRef | None, facts: Facts) -> int:
    """Handles a value of this type holds outside of lists (upper bound over cases);
    asked for every type and function, so answered once per type (`facts.memo`)."""
    if tref is None:
        return 0
    return facts.memo("handles", tref, lambda t: _count_handles_of(t, facts))


def _count_handles_of(tref: TypeRef, facts: Facts) -> int:
    ty = resolve(tref)
    if isinstance(ty, Handle):
        return 1
    fields = canonical_fields(ty)
    if fields is not None:
        return sum(_count_handles(f.type, facts) for f in fields)
    cases = canonical_variant_cases(ty)
    if cases is not None:
        return max((_count_handles(c.type, facts) for c in cases), default=0)
    return 0


def _is_composite(ty: Type) -> bool:
    """Records, tuples and variants with a payload: host structs with their own codecs."""
    if canonical_fields(ty) is not None:
        return True
    return canonical_variant_cases(ty) is not None and not is_enum_like(ty)


def _elem(ty: Type) -> TypeRef:
    return Builtin("char8") if isinstance(ty, String) else ty.element  # type: ignore[union-attr]


# --------------------------------------------------------------------------- the unit builder


class _UnitBuilder:
    def __init__(self, unit: Unit, owners: dict[int, str], header_line: str, facts: Facts,
                 names: ProgramNames) -> None:
        self.unit = unit
        self.names = names  # the run's C names (this back end's fork)
        self.module_name = unit.module.name if unit.module is not None else unit.name
        self.prefix = self.module_name + "_"
        self.owners = owners
        self.header_line = header_line
        self.types: list[HType] = []
        self._synth: dict[int, str] = {}  # id(anonymous type) -> synthesized C name
        self._synth_names: set[str] = set()
        self._glue: dict[int, tuple[str, str, list[str], int]] = {}  # by id(status TypeName)
        # while an encode of a type holding handles is generated: its failures unwind
        self._unwind = False
        # layouts, memoized for the whole run (the same types are laid out again and again)
        self.facts = facts
        self.sa = facts.size_align
        self.vl = facts.variant_layout
        self.rl = facts.record_layout

    # --- naming ---------------------------------------------------------------------

    def _prefix_of(self, tn: TypeName) -> str:
        return self.owners.get(id(tn), self.prefix)

    def frag(self, node) -> str:
        """The distinct identifier fragment of a typename or function (`cnames`)."""
        return self.names.fragment(node)

    def tname(self, tn: TypeName) -> str:
        return f"{self._prefix_of(tn)}{self.frag(tn)}_t"

    def const_names(self, tn: TypeName, cases: list[str]) -> list[str]:
        base = f"{self._prefix_of(tn).upper()}{self.frag(tn).upper()}_"
        suffixes = self.names.case_suffixes.get(id(tn)) or cnames.case_suffixes(cases)
        return [base + s for s in suffixes[:len(cases)]]

    def descriptor(self, tn: TypeName) -> str:
        return f"{self._prefix_of(tn)}{self.frag(tn)}_type"

    def codec(self, tn: TypeName, which: str) -> str:
        """The public decode/encode function of a typename."""
        return f"{self._prefix_of(tn)}{which}_{self.frag(tn)}"

    def impl_name(self, func: Function) -> str:
        return f"{self.prefix}impl_{self.frag(func)}"

    def call_name(self, func: Function) -> str:
        return f"{self.prefix}call_{self.frag(func)}"

    def codec_inline(self, tn: TypeName, which: str) -> str:
        """What generated code calls: the static inline version for this unit's own
        typenames (so that trampolines and bindings compile to one function), the
        public function of the owning unit otherwise."""
        name = self.codec(tn, which)
        return name + "_inline" if self._prefix_of(tn) == self.prefix else name

    # --- host C types ---------------------------------------------------------------

    def ctype(self, tref: TypeRef, hint: str) -> str:
        if isinstance(tref, Ref):
            assert tref.target is not None
            return self.tname(tref.target)
        ty = tref
        if isinstance(ty, Builtin):
            return _BUILTIN_C[ty.name]
        if isinstance(ty, (String, List)):
            if isinstance(ty, List) and not isinstance(ty.element, Ref) and _is_composite(ty.element):
                # elements stay in guest layout; name their type so that the embedder
                # gets `<module>_encode_<hint>_elem` / `_decode_` to write/read them
                self._synthesize(ty.element, f"{hint}_elem")
            return "w2w_list_t"
        if isinstance(ty, (Pointer, ConstPointer)):
            return "w2w_gaddr_t"
        if isinstance(ty, Handle):
            return "void *"
        if isinstance(ty, Bool):
            return "bool"
        if isinstance(ty, Flags):
            return _UINT[ty.repr.size]
        if is_enum_like(ty):
            return _UINT[self.vl(ty).tag_size]
        return self._synthesize(ty, hint)

    def _synthesize(self, ty: Type, hint: str) -> str:
        """A named host type for an anonymous record/variant written in place."""
        key = id(ty)
        if key in self._synth:
            return self._synth[key]
        tn = self._claim_synth(key, hint, ty)
        self._synth[key] = self.tname(tn)
        self.add_type(tn)
        return self._synth[key]

    # --- decode (guest layout -> host value); statements return W2W_E_* on failure ----

    def dec(self, tref: TypeRef, src: str, dst: str, hint: str, d: int) -> list[str]:
        if isinstance(tref, Ref):
            assert tref.target is not None
            return [f"if ((rc = {self.codec_inline(tref.target, 'decode')}(mem, handles, {src}, &{dst})) != 0)",
                    "    return rc;"]
        ty = tref
        if _is_composite(ty):
            cname = self._synthesize(ty, hint)
            tn = self._synth_tn(cname)
            return self.dec(Ref(tn.name, tn), src, dst, hint, d)
        return self.dec_value(ty, src, dst, hint, d, None)

    def _claim_synth(self, key: int, hint: str, ty: TypeRef) -> TypeName:
        """A typename for an anonymous type, named after where it occurs, with names
        distinct from every other of the run (`cnames.Registry`)."""
        tn = TypeName(hint, ty)
        cases = cnames.type_cases(tn)
        suffixes = cnames.case_suffixes(cases)
        prefix = self.prefix
        frag = self.names.registry.claim(("synth", key), cnames.fragment(hint),
                                         lambda f: cnames.host_type_names(prefix, f, suffixes))
        tn.name = frag
        self.names.fragment_of[id(tn)] = frag
        self.names.case_suffixes[id(tn)] = suffixes
        self._synth_names.add(frag)
        self.owners[id(tn)] = self.prefix
        return tn

    def _synth_tn(self, cname: str) -> TypeName:
        for t in self.types:
            if t.cname == cname:
                assert t.typename is not None
                return t.typename
        raise AssertionError(cname)

    def dec_value(self, ty: Type, src: str, dst: str, hint: str, d: int,
                  tn: TypeName | None) -> list[str]:
        t = f"t{d}"
        if isinstance(ty, Builtin):
            sa = self.sa(ty)
            ctype = _BUILTIN_C[ty.name]
            if ty.name == "f32":
                return [f"{dst} = w2w_ld_f32({src});"]
            if ty.name == "f64":
                return [f"{dst} = w2w_ld_f64({src});"]
            if ty.name == "char":
                return [f"{dst} = w2w_ld_u32({src});",
                        f"if (!w2w_valid_char({dst}))", "    return W2W_E_BAD_VALUE;"]
            return [f"{dst} = ({ctype}){_ld(sa.size, src)};"]
        if isinstance(ty, Bool):
            vl = self.vl(ty)
            return ["{", f"    uint64_t {t} = {_ld(vl.tag_size, src)};", f"    if ({t} > 1u)",
                    "        return W2W_E_BAD_VALUE;", f"    {dst} = {t} != 0;", "}"]
        if isinstance(ty, Flags):
            ctype = _UINT[ty.repr.size]
            return ["{", f"    uint64_t {t} = {_ld(ty.repr.size, src)};",
                    f"    if (({t} & ~{_flags_mask(len(ty.flags))}) != 0)",
                    "        return W2W_E_BAD_VALUE;", f"    {dst} = ({ctype}){t};", "}"]
        if is_enum_like(ty):
            vl = self.vl(ty)
            return ["{", f"    uint64_t {t} = {_ld(vl.tag_size, src)};", f"    if ({t} >= {len(vl.cases)}u)",
                    "        return W2W_E_BAD_VALUE;", f"    {dst} = ({_UINT[vl.tag_size]}){t};", "}"]
        if isinstance(ty, Handle):
            assert tn is not None
            return ["{", f"    w2w_slot *s{d} = w2w_handles_slot(handles, w2w_ld_u32({src}), &{self.descriptor(tn)});",
                    f"    if (s{d} == NULL)", "        return W2W_E_BAD_HANDLE;", f"    {dst} = s{d}->obj;", "}"]
        if isinstance(ty, (String, List)):
            es = self.sa(_elem(ty))
            return ["{", f"    uint32_t p{d} = w2w_ld_u32({src}), n{d} = w2w_ld_u32({src} + 4);",
                    f"    uint8_t *q{d} = w2w_mem_ptr(mem, p{d}, (uint64_t)n{d} * {es.size}u, {es.align}u);",
                    f"    if (q{d} == NULL)", "        return W2W_E_BAD_POINTER;",
                    f"    {dst}.ptr = q{d};", f"    {dst}.len = n{d};", "}"]
        if isinstance(ty, (Pointer, ConstPointer)):
            return [f"{dst} = w2w_ld_u32({src});"]
        fields = canonical_fields(ty)
        if fields is not None:
            out: list[str] = []
            layout = self.rl(ty)
            for fl, m in zip(layout, _members([fl.name for fl in layout])):
                out += self.dec(fl.type, f"{src} + {fl.offset}", f"{dst}.{m}",
                                f"{hint}_{fl.name}", d + 1)
            return out
        vl = self.vl(ty)
        out = ["{", f"    uint64_t {t} = {_ld(vl.tag_size, src)};", f"    switch ({t}) {{"]
        members = self._case_members(vl.cases)
        for i, case in enumerate(vl.cases):
            out.append(f"    case {i}:")
            if case.type is not None:
                out += ["        " + s for s in self.dec(
                    case.type, f"{src} + {vl.payload_offset}", f"{dst}.val.{members[i]}",
                    f"{hint}_{case.name}", d + 1)]
            out.append("        break;")
        out += ["    default:", "        return W2W_E_BAD_VALUE;", "    }",
                f"    {dst}.tag = ({_UINT[vl.tag_size]}){t};", "}"]
        return out

    # --- encode (host value -> guest layout) -----------------------------------------

    def enc(self, tref: TypeRef, dst: str, src: str, hint: str, d: int) -> list[str]:
        if isinstance(tref, Ref):
            assert tref.target is not None
            return [f"if ((rc = {self.codec_inline(tref.target, 'encode')}(handles, buf, {dst}, &{src})) != 0)",
                    "    " + self._efail("rc")]
        ty = tref
        if _is_composite(ty):
            cname = self._synthesize(ty, hint)
            tn = self._synth_tn(cname)
            return self.enc(Ref(tn.name, tn), dst, src, hint, d)
        return self.enc_value(ty, dst, src, hint, d, None)

    def enc_value(self, ty: Type, dst: str, src: str, hint: str, d: int,
                  tn: TypeName | None) -> list[str]:
        if isinstance(ty, Builtin):
            sa = self.sa(ty)
            if ty.name == "f32":
                return [f"w2w_st_f32({dst}, {src});"]
            if ty.name == "f64":
                return [f"w2w_st_f64({dst}, {src});"]
            if ty.name == "char":
                return [f"if (!w2w_valid_char({src}))", "    " + self._efail("W2W_E_BAD_VALUE"),
                        _st(4, dst, src)]
            return [_st(sa.size, dst, src)]
        if isinstance(ty, Bool):
            vl = self.vl(ty)
            return [_st(vl.tag_size, dst, f"{src} ? 1u : 0u")]
        if isinstance(ty, Flags):
            return [f"if (((uint64_t){src} & ~{_flags_mask(len(ty.flags))}) != 0)",
                    "    " + self._efail("W2W_E_BAD_VALUE"), _st(ty.repr.size, dst, src)]
        if is_enum_like(ty):
            vl = self.vl(ty)
            if len(vl.cases) >= 1 << (8 * vl.tag_size):
                # the host type is as wide as the tag: every value it holds is a case
                # (and gcc's -Wtype-limits rejects a check that is always false)
                return [_st(vl.tag_size, dst, src)]
            return [f"if ((uint64_t){src} >= {len(vl.cases)}u)", "    " + self._efail("W2W_E_BAD_VALUE"),
                    _st(vl.tag_size, dst, src)]
        if isinstance(ty, Handle):
            assert tn is not None
            return ["{", f"    uint32_t h{d} = w2w_handles_insert(handles, &{self.descriptor(tn)}, {src});",
                    f"    if (h{d} == 0)", "        return W2W_E_BAD_HANDLE;",
                    f"    w2w_st_u32({dst}, h{d});", "}"]
        if isinstance(ty, (String, List)):
            es = self.sa(_elem(ty))
            out = ["{", f"    uint32_t a{d};",
                   f"    if (w2w_buf_addr(buf, {src}.ptr, (uint64_t){src}.len * {es.size}u, &a{d}) != 0)",
                   "        " + self._efail("W2W_E_BAD_VALUE")]
            if isinstance(ty, String):  # the guest never gets a string that is not UTF-8
                out += [f"    if (!w2w_valid_utf8((const uint8_t *){src}.ptr, {src}.len))",
                        "        " + self._efail("W2W_E_BAD_VALUE")]
            return out + [f"    w2w_st_u32({dst}, a{d});", f"    w2w_st_u32({dst} + 4, {src}.len);", "}"]
        if isinstance(ty, (Pointer, ConstPointer)):
            return [f"w2w_st_u32({dst}, {src});"]
        fields = canonical_fields(ty)
        if fields is not None:
            out: list[str] = []
            layout = self.rl(ty)
            for fl, m in zip(layout, _members([fl.name for fl in layout])):
                out += self.enc(fl.type, f"{dst} + {fl.offset}", f"{src}.{m}",
                                f"{hint}_{fl.name}", d + 1)
            return out
        vl = self.vl(ty)
        out = [f"switch ({src}.tag) {{"]
        members = self._case_members(vl.cases)
        for i, case in enumerate(vl.cases):
            out += [f"case {i}:", "    " + _st(vl.tag_size, dst, f"{i}u")]
            if case.type is not None:
                out += ["    " + s for s in self.enc(
                    case.type, f"{dst} + {vl.payload_offset}", f"{src}.val.{members[i]}",
                    f"{hint}_{case.name}", d + 1)]
            out.append("    break;")
        out += ["default:", "    " + self._efail("W2W_E_BAD_VALUE"), "}"]
        return out

    @staticmethod
    def _case_members(cases) -> dict[int, str]:
        """Case index -> union member, for the cases with a payload (distinct names)."""
        payload = [i for i, c in enumerate(cases) if c.type is not None]
        return dict(zip(payload, _members([cases[i].name for i in payload])))

    def _efail(self, code: str) -> str:
        """An encode's failure: it returns `code`, after removing the handles it issued
        when its type holds handles (so that its value is issued entirely or not at all)."""
        if self._unwind:
            return f"return w2w_handles_unwind(handles, mark, {code});"
        return f"return {code};"

    # --- release (the objects of a host value that holds handles) ----------------------

    def rel(self, tref: TypeRef, src: str, hint: str) -> list[str]:
        """Statements releasing every handle object of `src` outside lists through its
        module's `<r>_drop` implementation (for results the glue could not issue)."""
        if not _count_handles(tref, self.facts):
            return []
        if isinstance(tref, Ref):
            assert tref.target is not None
            return [f"{self.codec_inline(tref.target, 'release')}(handles, &{src});"]
        ty = tref
        if _is_composite(ty):
            cname = self._synthesize(ty, hint)
            tn = self._synth_tn(cname)
            return self.rel(Ref(tn.name, tn), src, hint)
        return self.rel_value(ty, src, hint, None)

    def rel_value(self, ty: Type, src: str, hint: str, tn: TypeName | None) -> list[str]:
        if isinstance(ty, Handle):
            assert tn is not None
            return [f"(void)w2w_handles_release(handles, &{self.descriptor(tn)}, {src});"]
        fields = canonical_fields(ty)
        if fields is not None:
            out: list[str] = []
            layout = self.rl(ty)
            for fl, m in zip(layout, _members([fl.name for fl in layout])):
                out += self.rel(fl.type, f"{src}.{m}", f"{hint}_{fl.name}")
            return out
        vl = self.vl(ty)
        out = [f"switch ({src}.tag) {{"]
        members = self._case_members(vl.cases)
        for i, case in enumerate(vl.cases):
            if case.type is not None and _count_handles(case.type, self.facts):
                out += [f"case {i}:", *("    " + s for s in self.rel(
                    case.type, f"{src}.val.{members[i]}", f"{hint}_{case.name}")), "    break;"]
        out += ["default:", "    break;", "}"]
        return out

    # --- checks (a guest value validated as its decode would, lists included) --------

    def needs_check(self, tref: TypeRef) -> bool:
        """Whether a value of this type in guest layout can be invalid: its decode (or
        the decode of an element of one of its lists) can fail. Plain integers, floats,
        bytes and guest addresses cannot."""
        return self.facts.memo("host_c.needs_check", tref, self._needs_check)

    def _needs_check(self, tref: TypeRef) -> bool:
        ty = resolve(tref)
        if isinstance(ty, Builtin):
            return ty.name == "char"
        if isinstance(ty, (Pointer, ConstPointer)):
            return False
        fields = canonical_fields(ty)
        if fields is not None:
            return any(self.needs_check(f.type) for f in fields)
        return True  # bool, enum, flags, variant tag, handle, list/string pointer

    def lists_need_check(self, tref: TypeRef) -> bool:
        """Whether a value of this type holds a list whose elements can be invalid, or a
        string (its decode checks their bounds only, not the elements or the UTF-8)."""
        return self.facts.memo("host_c.lists_need_check", tref, self._lists_need_check)

    def _lists_need_check(self, tref: TypeRef) -> bool:
        ty = resolve(tref)
        if isinstance(ty, String):
            return True
        if isinstance(ty, List):
            return self.needs_check(_elem(ty))
        fields = canonical_fields(ty)
        if fields is not None:
            return any(self.lists_need_check(f.type) for f in fields)
        cases = canonical_variant_cases(ty)
        return cases is not None and any(c.type is not None and self.lists_need_check(c.type) for c in cases)

    def element_check(self, frag: str, param: str, elem: TypeRef) -> ElementCheck | None:
        """The check of a span's elements, when they can be invalid (a span of plain
        bytes or integers needs none: its bounds check is all there is)."""
        if not self.needs_check(elem):
            return None
        prefix = self.prefix
        stem = self.names.registry.claim(
            ("check", prefix, frag, param), f"check_{frag}_{param}",
            lambda f: [f"{prefix}{f}_inline"])
        size = self.sa(elem).size
        body = ["uint32_t i0;", "(void)mem;", "(void)handles;", "for (i0 = 0; i0 < n; i0++) {",
                *("    " + x for x in self.chk(elem, f"src + (size_t)i0 * {size}u", 1)), "}"]
        return ElementCheck(f"{prefix}{stem}_inline", body)

    def chk(self, tref: TypeRef, src: str, d: int) -> list[str]:
        """Statements checking the value at `src` (returning W2W_E_* when it is not
        valid); none for a type whose every value is valid."""
        if not self.needs_check(tref):
            return []
        ty = resolve(tref)
        t = f"t{d}"
        if isinstance(ty, Handle):
            tn = handle_typename(tref)
            if tn is None:
                raise _unsupported("a list of handles of no resource type")
            return [f"if (w2w_handles_slot(handles, w2w_ld_u32({src}), &{self.descriptor(tn)}) == NULL)",
                    "    return W2W_E_BAD_HANDLE;"]
        if isinstance(ty, Builtin):  # char
            return [f"if (!w2w_valid_char(w2w_ld_u32({src})))", "    return W2W_E_BAD_VALUE;"]
        if isinstance(ty, (String, List)):
            return self._chk_list(ty, src, d)
        if isinstance(ty, Flags):
            return ["{", f"    uint64_t {t} = {_ld(ty.repr.size, src)};",
                    f"    if (({t} & ~{_flags_mask(len(ty.flags))}) != 0)",
                    "        return W2W_E_BAD_VALUE;", "}"]
        if is_enum_like(ty):  # bool too
            vl = self.vl(ty)
            return ["{", f"    uint64_t {t} = {_ld(vl.tag_size, src)};", f"    if ({t} >= {len(vl.cases)}u)",
                    "        return W2W_E_BAD_VALUE;", "}"]
        fields = canonical_fields(ty)
        if fields is not None:
            return [x for fl in self.rl(ty) for x in self.chk(fl.type, f"{src} + {fl.offset}", d + 1)]
        vl = self.vl(ty)
        out = [f"switch ({_ld(vl.tag_size, src)}) {{"]
        for i, case in enumerate(vl.cases):
            out.append(f"case {i}:")
            if case.type is not None:
                out += ["    " + x for x in self.chk(case.type, f"{src} + {vl.payload_offset}", d + 1)]
            out.append("    break;")
        return out + ["default:", "    return W2W_E_BAD_VALUE;", "}"]

    def _chk_list(self, ty: String | List, src: str, d: int) -> list[str]:
        """A list's bounds, then each of its elements when they can be invalid (a
        string's bytes: well-formed UTF-8)."""
        elem = _elem(ty)
        es = self.sa(elem)
        inner = self.chk(elem, f"q{d} + (size_t)i{d} * {es.size}u", d + 1)
        out = ["{", f"    uint32_t n{d} = w2w_ld_u32({src} + 4);",
               f"    const uint8_t *q{d} = w2w_mem_ptr(mem, w2w_ld_u32({src}), (uint64_t)n{d} * {es.size}u, {es.align}u);",
               f"    if (q{d} == NULL)", "        return W2W_E_BAD_POINTER;"]
        if inner:
            out = out[:1] + [f"    uint32_t i{d};"] + out[1:]
            out += [f"    for (i{d} = 0; i{d} < n{d}; i{d}++) {{", *("        " + x for x in inner), "    }"]
        if isinstance(ty, String):
            out += [f"    if (!w2w_valid_utf8(q{d}, n{d}))", "        return W2W_E_BAD_VALUE;"]
        return out + ["}"]

    # --- typenames ------------------------------------------------------------------

    def add_type(self, tn: TypeName) -> None:
        """The host type of a typename: its typedef, constants and codecs (`HType`)."""
        cname = self.tname(tn)
        ty = tn.type
        hint = tn.name
        typedef, constants = self._typedef(tn, cname)
        descriptor = self.descriptor(tn) if isinstance(ty, Handle) else ""
        sa = self.sa(ty)
        dec_body, enc_body = self._codec_bodies(tn, sa.size)
        release_name, release_body = "", []
        if _count_handles(ty, self.facts):
            release_name = self.codec(tn, "release")
            release_body = self.rel(ty, "(*src)", hint) if isinstance(ty, Ref) \
                else self.rel_value(ty, "(*src)", hint, tn)
        htype = HType(cname, typedef, _doc_lines(tn.docs), constants,
                      self.codec(tn, "decode"), self.codec(tn, "encode"), dec_body, enc_body,
                      sa.size, sa.align, descriptor, cnames.c_string(f"{self.module_name}.{tn.name}"),
                      f"{self.module_name}.{tn.name}",
                      release_name=release_name, release_body=release_body)
        htype.typename = tn
        if descriptor:
            htype.module_key = f"{self._prefix_of(tn)}module"
            htype.host_t = f"{self.prefix}host_ctx_t"
        self.types.append(htype)

    def _typedef(self, tn: TypeName, cname: str) -> tuple[list[str], list[HConst]]:
        """The typedef lines and the constants of a typename's host type."""
        ty = tn.type
        if not isinstance(ty, Ref) and _is_composite(ty):
            return self._struct_typedef(tn, cname, ty)
        typedef = [f"typedef {self.ctype(ty, tn.name)} {cname};"] if not isinstance(ty, Handle) \
            else [f"typedef void *{cname};"]
        constants: list[HConst] = []
        if isinstance(ty, Ref):
            return typedef, constants
        if isinstance(ty, Enum):
            names = self.const_names(tn, [c.name for c in ty.cases])
            constants += [HConst(n, f"{i}u") for i, n in enumerate(names)]
        elif isinstance(ty, Flags):
            names = self.const_names(tn, [f.name for f in ty.flags])
            constants += [HConst(n, f"0x{1 << i:X}u") for i, n in enumerate(names)]
        elif is_enum_like(ty) and not isinstance(ty, Bool):
            names = self.const_names(tn, [c.name for c in canonical_variant_cases(ty) or []])
            constants += [HConst(n, f"{i}u") for i, n in enumerate(names)]
        return typedef, constants

    def _struct_typedef(self, tn: TypeName, cname: str, ty: Type) -> tuple[list[str], list[HConst]]:
        """Structs and tagged unions (members first, so nested synthesized types come
        first); a variant's case constants."""
        hint = tn.name
        fields = canonical_fields(ty)
        if fields is not None:
            layout = self.rl(ty)
            members = [f"    {self._decl(self.ctype(fl.type, f'{hint}_{fl.name}'), m)};"
                       for fl, m in zip(layout, _members([fl.name for fl in layout]))]
            if not members:
                members = ["    uint8_t unused_;"]
            return [f"typedef struct {cname[:-2]} {{", *members, f"}} {cname};"], []
        vl = self.vl(ty)
        members = []
        names = self._case_members(vl.cases)
        consts = self.const_names(tn, [c.name for c in vl.cases])
        constants = []
        for i, c in enumerate(vl.cases):
            if c.type is not None:
                members.append(f"        {self._decl(self.ctype(c.type, f'{hint}_{c.name}'), names[i])};")
            constants.append(HConst(consts[i], f"{i}u"))
        return [f"typedef struct {cname[:-2]} {{", f"    {_UINT[vl.tag_size]} tag;",
                "    union {", *members, "    } val;", f"}} {cname};"], constants

    def _codec_bodies(self, tn: TypeName, size: int) -> tuple[list[str], list[str]]:
        """The statements of a typename's decode and encode."""
        ty, hint = tn.type, tn.name
        # a value holding handles (outside lists) other than the handle itself: its encode
        # unwinds the handles it issued when it fails, and it gets a release function
        holds = _count_handles(ty, self.facts) > 0 and not isinstance(ty, Handle)
        outer_unwind, self._unwind = self._unwind, holds
        try:
            if isinstance(ty, Ref):
                dec = self.dec(ty, "src", "(*dst)", hint, 0)
                enc = self.enc(ty, "dst", "(*src)", hint, 0)
            else:
                dec = self.dec_value(ty, "src", "(*dst)", hint, 0, tn)
                enc = self.enc_value(ty, "dst", "(*src)", hint, 0, tn)
        finally:
            self._unwind = outer_unwind
        # (`(rc = `: a member may be named `rc`, as in `dst.rc = ...`)
        dec_body = (["int rc;"] if any("(rc = " in s for s in dec) else []) + dec
        enc_body = (["int rc;"] if any("(rc = " in s for s in enc) else []) + \
            (["uint32_t mark = w2w_handles_issued(handles);"] if holds else []) + \
            [f"memset(dst, 0, {size});"] + enc
        return dec_body, enc_body

    @staticmethod
    def _decl(ctype: str, name: str) -> str:
        return f"{ctype}{name}" if ctype.endswith("*") else f"{ctype} {name}"

    # --- status mapping ---------------------------------------------------------------

    def glue_table(self, status: TypeRef, plan: StatusPlan, func: str) -> str:
        """Name of the static table mapping W2W_E_* onto the status enum's values: the
        glue statuses of the call plan (`plan`), as every back end has them."""
        if not isinstance(status, Ref) or status.target is None:
            raise _unsupported(f"function `{func}`: the error type of its result must be a named enum")
        tn = status.target
        ty = resolve(status)
        cases = canonical_variant_cases(ty)
        if cases is None or not is_enum_like(ty):
            raise _unsupported(f"function `{func}`: status `{tn.name}` is not an enum")
        if id(tn) in self._glue:
            return self._glue[id(tn)][0]
        values = ["0"]
        for glue in plan.glue:
            if glue.value is None:
                raise _unsupported(
                    f"status enum `{tn.name}` has no `{glue.name}` case (the backport ABI's glue statuses "
                    "are `buffer_too_small`, `bad_handle`, `bad_pointer`, `bad_value`)")
            values.append(f"{glue.value}")
        ctype = "int64_t" if abi.repr_wasm_type(self.vl(ty).tag) is WasmType.I64 else "int32_t"
        # each unit has its own static table, also for a status type of another unit
        # (an own status type reserved its table's name with its other names)
        prefix = self.prefix
        name = f"{prefix}glue_{self.frag(tn)}"
        if self._prefix_of(tn) != prefix:
            name = prefix + self.names.registry.claim(
                ("glue", prefix, id(tn)), f"glue_{self.frag(tn)}", lambda f: [prefix + f])
        self._glue[id(tn)] = (name, ctype, values, len(cases))
        return name

    # --- functions: a trampoline's view model, from the call plan --------------------

    def function(self, func: Function) -> HFunc:
        plan = self.facts.call_plan(func, self.unit.document)
        sig = plan.signature
        call_return = _WASM_C[sig.results[0].wasm_type] if sig.results else "void"
        glue, ncases = self._glue_of(plan)
        c = _Call(func.name, self.impl_name(func), self.frag(func), _core_args(plan), _impl_names(plan))
        args = [_ARGS[s.kind](self, c, s) for s in plan.slots]
        t = Trampoline(c.impl, call_return, glue, ncases, not sig.params, args)
        self._result(t, plan)
        impl_params = [HParam(f"{self.prefix}host_ctx_t *", "host")]
        impl_params += [p for a in args for p in a.params]
        frag = self.frag(func)
        return HFunc(func.name, _doc_lines(func.docs), c.impl, t.impl_return, impl_params,
                     self.call_name(func), call_return,
                     [HParam(_WASM_C[p.wasm_type], c.args[id(p)]) for p in sig.params], t,
                     _wasm3_signature(sig), _wamr_signature(sig),
                     call_return if sig.results else "", self.module_name,
                     f"{self.prefix}w3_{frag}", f"{self.prefix}wamr_{frag}")

    def _glue_of(self, plan: CallPlan) -> tuple[str, int]:
        """The static table mapping glue failures onto the status a call returns ("":
        no status with an error type) and the status's case count."""
        if plan.result.kind is not ResultKind.STATUS:
            return "", 0
        cases = canonical_variant_cases(resolve(plan.result.core[0].type))
        assert cases is not None
        err = cases[1].type if len(cases) > 1 else None
        if err is None:
            return "", 0
        assert plan.result.status is not None
        name = self.glue_table(err, plan.result.status, plan.function.name)
        return name, self._glue[id(err.target)][3]

    def _result(self, t: Trampoline, plan: CallPlan) -> None:
        """What the trampoline does with the implementation's result (`plan.result`)."""
        result = plan.result
        t.result = result.kind.value
        t.room = result.issues.room
        t.journal = result.rollback.journal
        t.release_outs = [o for o in t.outs if o.index in result.rollback.release_outs]
        t.mark = t.journal and bool(t.release_outs or result.rollback.release_error_payload)
        fname = plan.function.name
        if result.kind is ResultKind.STATUS:
            t.impl_return = t.call_return
            ep = t.error_payload
            if ep is not None and t.glue:
                self._error_payload_result(ep, result, fname)
        elif result.value is not None:
            t.impl_return = self.ctype(result.value.type, f"{fname}_result")
            resource = handle_typename(result.value.type)
            if resource is not None:
                t.result = ResultKind.HANDLE.value
                t.result_descriptor = self.descriptor(resource)
            else:
                t.result = ResultKind.VALUE.value

    def _error_payload_result(self, ep: ErrorPayloadArg, result, fname: str) -> None:
        """The error payload's encode (and release, when a failed encode must give the
        handles of the value back) once the implementation returned an interface error."""
        assert result.error_payload is not None
        tref = result.error_payload.value.type
        tn = self._named(tref, self.ctype(tref, ep.hint), ep.hint)
        ep.encode = self.codec_inline(tn, "encode")
        ep.keeps_list_handles = result.rollback.error_keeps_list_handles
        if result.rollback.release_error_payload:
            ep.release = self.codec_inline(tn, "release")

    # --- guest exports: typed callers ---------------------------------------------------

    def export(self, func: Function) -> HExport:
        plan = self.facts.call_plan(func, self.unit.document)
        names = _impl_names(plan)
        params: list[ExportParam] = []
        cell = 0
        for slot in plan.slots:
            p = self._export_param(func, slot, names[slot.name], cell)
            params.append(p)
            cell += p.cells
        frag = self.frag(func)
        export = guest_export_name(self.module_name, func.name)
        e = HExport(func.name, _doc_lines(func.docs), cnames.c_string(export),
                    " ".join(_doc_lines(export)), params,
                    plan.result.kind.value, "", "", None, "",
                    f"{self.prefix}w3_call_{frag}", f"{self.prefix}wamr_call_{frag}")
        self._export_result(e, plan)
        return e

    def _export_param(self, func: Function, slot: Slot, name: str, cell: int) -> ExportParam:
        if slot.kind not in _FLAT_KINDS or len(slot.core) != 1:
            raise _unsupported(f"the parameter `{slot.name}` of the guest export `{func.name}` "
                               "has no flat value")
        cp = slot.core[0]
        core = _WASM_C[cp.wasm_type]
        cells = 2 if cp.wasm_type in (WasmType.I64, WasmType.F64) else 1
        if slot.kind is SlotKind.HANDLE:
            if slot.resource is None:
                raise _unsupported(f"the parameter `{slot.name}` of the guest export "
                                   f"`{func.name}` is a handle of no resource type")
            return ExportParam(slot.kind, name, HParam("void *", name), core, cell, cells,
                               self.descriptor(slot.resource), slot.ownership is Ownership.OWN)
        return ExportParam(slot.kind, name, HParam(self.ctype(slot.value.type, name), name), core,
                           cell, cells)

    def _export_result(self, e: HExport, plan: CallPlan) -> None:
        """What the caller makes of the export's core result."""
        result = plan.result
        if result.kind is ResultKind.NONE:
            return
        e.core_result = _WASM_C[result.core[0].wasm_type]
        if result.kind is ResultKind.STATUS:
            assert result.status is not None
            status = result.status
            ct = self.tname(status.typename) if status.typename is not None else e.core_result
            e.result_ctype = ct
            # success or an error of the interface: a glue status is the host's to
            # return, never the guest's (as `hosts.exports` has it)
            e.check = EnumArg("result", "r", (), 1 + len(status.interface_errors), False)
            return
        assert result.value is not None
        resource = handle_typename(result.value.type)
        if result.kind is ResultKind.HANDLE or resource is not None:
            if resource is None:
                raise _unsupported(f"the guest export `{e.name}` returns a handle of no resource type")
            e.result = ResultKind.HANDLE.value
            e.result_ctype = "void *"
            e.result_descriptor = self.descriptor(resource)
            return
        e.result_ctype = self.ctype(result.value.type, "result")
        e.check = _value_check(result.value.type)

    def _note_drop(self, htn: TypeName, fname: str, impl: str) -> None:
        """`fname` is `htn`'s drop: the descriptor of an own resource type gets a release
        callback that calls its implementation (used to undo a failed call)."""
        if fname != f"{htn.name}_drop" or self._prefix_of(htn) != self.prefix:
            return
        for t in self.types:
            if t.typename is htn and t.descriptor:
                t.dropper = f"{self.prefix}{self.frag(htn)}_release"
                t.drop_impl = impl

    def _named(self, tref: TypeRef, cname: str, hint: str) -> TypeName:
        if isinstance(tref, Ref):
            assert tref.target is not None
            return tref.target
        ty = resolve(tref)
        if _is_composite(ty):
            return self._synth_tn(cname)
        # a scalar/list written in place: give it a codec of its own
        key = id(tref)
        if key not in self._synth:
            tn = self._claim_synth(key, hint, tref)
            self._synth[key] = self.tname(tn)
            self.add_type(tn)
            return tn
        return self._synth_tn(self._synth[key])


# --------------------------------------------------------------------------- slot kinds


@record(slots=True)
class _Call:
    """The names one trampoline's slots are built with."""

    fname: str  # the P1 function's name (hints for types written in place)
    impl: str
    frag: str  # the function's C identifier fragment (`<module>_call_<frag>`)
    args: dict[int, str]  # id(core parameter) -> the trampoline's raw argument
    names: dict[str, str]  # P1 parameter -> the implementation's parameter

    def arg(self, s: Slot, k: int = 0) -> str:
        return self.args[id(s.core[k])]


def _core_args(plan: CallPlan) -> dict[int, str]:
    """Raw core arguments `a_<param>`, distinct, by position (a parameter named
    `retptr0` meets the witx ABI's out-pointer)."""
    params = plan.signature.params
    names = cnames.unique(c_ident(p.name) for p in params)
    return {id(p): f"a_{n}" for p, n in zip(params, names)}


def _impl_names(plan: CallPlan) -> dict[str, str]:
    """The implementation's parameter names: distinct C names; the prototype's own
    parameters (`host`, the buffer, the error payload, `ret<k>`) keep theirs and a P1
    parameter so named gets a `_`; none meets a local of every trampoline."""
    own = {"host"}
    own.update(s.name for s in plan.slots if s.kind in (SlotKind.BUFFER, SlotKind.ERROR_PAYLOAD))
    own.update(f"ret{s.index}" for s in plan.result.outs)
    params = plan.function.params
    idents = (c_ident(p.name) for p in params)
    return dict(zip((p.name for p in params), cnames.unique(
        (i + "_" if i in own else i for i in idents), taken=_IMPL_TAKEN)))


def _wasm3_signature(sig) -> str:
    return (_WASM3_SIG[sig.results[0].wasm_type] if sig.results else "v") + \
        "(" + "".join(_WASM3_SIG[p.wasm_type] for p in sig.params) + ")"


def _wamr_signature(sig) -> str:
    return "(" + "".join(_WAMR_SIG[p.wasm_type] for p in sig.params) + ")" + \
        (_WAMR_SIG[sig.results[0].wasm_type] if sig.results else "")


def _scalar_arg(b: _UnitBuilder, c: _Call, s: ScalarSlot) -> ScalarArg:
    name = c.names[s.name]
    cast = _BUILTIN_C[s.builtin]
    low, high = s.range if s.range is not None else (0, None)
    return ScalarArg(name, c.arg(s), (HParam(b.ctype(s.value.type, name), name),),
                     "" if cast in ("float", "double") else cast, low, high, s.unicode_scalar)


def _enum_arg(b: _UnitBuilder, c: _Call, s: EnumSlot) -> EnumArg:
    name = c.names[s.name]
    return EnumArg(name, c.arg(s), (HParam(b.ctype(s.value.type, name), name),),
                   s.case_count, s.is_bool)


def _flags_arg(b: _UnitBuilder, c: _Call, s: FlagsSlot) -> FlagsArg:
    name = c.names[s.name]
    wide = resolve(s.value.type).repr is IntRepr.U64
    return FlagsArg(name, c.arg(s), (HParam(b.ctype(s.value.type, name), name),), s.mask, wide)


def _handle_arg(b: _UnitBuilder, c: _Call, s: HandleSlot | DropSlot) -> HandleArg:
    if s.resource is None:
        raise _unsupported(f"function `{c.fname}`: parameter `{s.name}` is a handle of no resource type")
    name = c.names[s.name]
    if s.kind is SlotKind.DROP:
        b._note_drop(s.resource, c.fname, c.impl)
    return HandleArg(s.kind, name, c.arg(s), (HParam("void *", name),), b.descriptor(s.resource))


def _span_arg(b: _UnitBuilder, c: _Call, s: SpanSlot) -> SpanArg:
    name = c.names[s.name]
    elem = resolve(s.element.type)
    if not isinstance(s.element.type, Ref) and _is_composite(elem):  # a decoder for the elements
        b._synthesize(elem, f"{c.fname}_{s.name}_elem")
    q = "const " if s.read_only else ""
    ct = f"{q}{_BUILTIN_C[elem.name]} *" if isinstance(elem, Builtin) else f"{q}uint8_t *"
    return SpanArg(name, c.arg(s), c.arg(s, 1), (HParam(ct, name), HParam("uint32_t", f"{name}_len")),
                   s.element.size, s.element.align, b.element_check(c.frag, name, s.element.type),
                   s.utf8)


def _by_ref_arg(b: _UnitBuilder, c: _Call, s: ByRefSlot) -> ByRefArg:
    name, hint = c.names[s.name], f"{c.fname}_{s.name}"
    ct = b.ctype(s.value.type, hint)
    tn = b._named(s.value.type, ct, hint)
    check = b.element_check(c.frag, name, s.value.type) if b.lists_need_check(s.value.type) else None
    return ByRefArg(name, c.arg(s), (HParam(f"const {ct} *", name),), HParam(ct, f"v_{name}"),
                    s.value.size, s.value.align, b.codec_inline(tn, "decode"), check)


def _pointer_arg(b: _UnitBuilder, c: _Call, s: PointerSlot) -> PointerArg:
    name = c.names[s.name]
    return PointerArg(name, c.arg(s), (HParam("w2w_gaddr_t", name),))


def _buffer_arg(b: _UnitBuilder, c: _Call, s: BufferSlot) -> BufferArg:
    return BufferArg(c.arg(s), c.arg(s, 1), c.arg(s, 2), (HParam("w2w_buf *", c_ident(s.name)),))


def _error_payload_arg(b: _UnitBuilder, c: _Call, s: ErrorPayloadSlot) -> ErrorPayloadArg:
    name, hint = c_ident(s.name), f"{c.fname}_{s.name}"
    ct = b.ctype(s.value.type, hint)
    return ErrorPayloadArg(name, c.arg(s), (HParam(f"{ct} *", name),), HParam(ct, name),
                           s.value.size, s.value.align, hint)


def _out_arg(b: _UnitBuilder, c: _Call, s: OutSlot) -> OutArg:
    local, hint = f"ret{s.index}", f"{c.fname}_ret{s.index}"
    ct = b.ctype(s.value.type, hint)
    tn = b._named(s.value.type, ct, hint)
    release = b.codec_inline(tn, "release") if s.value.handles else ""
    return OutArg(s.index, c.arg(s), (HParam(f"{ct} *", local),), HParam(ct, local),
                  s.value.size, s.value.align, b.codec_inline(tn, "encode"), release)


#: The view-model piece of each slot kind (sqlglot style: dispatch on the kind).
_ARGS: dict[SlotKind, Callable[[_UnitBuilder, _Call, Any], Arg]] = {
    SlotKind.SCALAR: _scalar_arg,
    SlotKind.ENUM: _enum_arg,
    SlotKind.FLAGS: _flags_arg,
    SlotKind.HANDLE: _handle_arg,
    SlotKind.DROP: _handle_arg,
    SlotKind.SPAN: _span_arg,
    SlotKind.BY_REF: _by_ref_arg,
    SlotKind.POINTER: _pointer_arg,
    SlotKind.BUFFER: _buffer_arg,
    SlotKind.ERROR_PAYLOAD: _error_payload_arg,
    SlotKind.OUT: _out_arg,
}


def _value_check(tref: TypeRef) -> ScalarArg | EnumArg | FlagsArg | None:
    """The check a value the guest returns must pass (like an argument of an import's:
    the guest is not trusted), as the piece of that kind; None: every value is one."""
    ty = resolve(tref)
    if isinstance(ty, Builtin):
        low, high = _VALUE_RANGES.get(ty.name, (0, None))
        if high is None and ty.name != "char":
            return None
        return ScalarArg("result", "r", (), "", low, high, ty.name == "char")
    if isinstance(ty, Flags):
        return FlagsArg("result", "r", (), (1 << len(ty.flags)) - 1, ty.repr is IntRepr.U64)
    cases = canonical_variant_cases(ty)
    if cases is not None and is_enum_like(ty):
        return EnumArg("result", "r", (), len(cases), isinstance(ty, Bool))
    return None


#: the slots a guest export's parameters can be (one core value each)
_FLAT_KINDS = frozenset((SlotKind.SCALAR, SlotKind.ENUM, SlotKind.FLAGS, SlotKind.HANDLE))
#: narrow integers returned in a wider core value: the range a valid one has
_VALUE_RANGES = {"u8": (0, 0xFF), "char8": (0, 0xFF), "u16": (0, 0xFFFF),
                 "s8": (-128, 127), "s16": (-32768, 32767)}


# --------------------------------------------------------------------------- program level


def _owners(units: list[Unit]) -> dict[int, str]:
    owners: dict[int, str] = {}
    for u in units:
        prefix = (u.module.name if u.module is not None else u.name) + "_"
        for d in u.own:
            if isinstance(d, TypeName):
                owners.setdefault(id(d), prefix)
    return owners


def build_units(program) -> list[HUnit]:
    """The view models of every unit of a compiled program (host-c, host-wasm3 and
    host-wamr of one run share them: memoized in `program.views`)."""
    views = getattr(program, "views", None)
    if views is None:
        return _build_units(program)
    hunits = views.get("host-c")
    if hunits is None:
        hunits = views["host-c"] = _build_units(program)
    return hunits


def _build_units(program) -> list[HUnit]:
    units: list[Unit] = list(program.units)
    owners = _owners(units)
    names = {u.name: (u.module.name if u.module is not None else u.name) for u in units}
    facts = facts_of(program)
    # file names in the header line are data: no `*/` may end the comment it sits in
    header_line = " ".join(_doc_lines(program.header_line()))
    base = cnames.names_of(program)
    # this back end's synthesized names go into its own copy of the run's registry
    cn = ProgramNames(base.registry.fork(), dict(base.fragment_of), dict(base.case_suffixes))
    out = []
    for u in units:
        b = _UnitBuilder(u, dict(owners), header_line, facts, cn)
        for tn in u.own_typenames:
            b.add_type(tn)
        funcs = [b.function(f) for f in u.module.functions] if u.module is not None else []
        exports = [b.export(f) for f in u.module.exports] if u.module is not None else []
        includes = [f"{names.get(n, n)}_host.h" for n in u.uses]
        out.append(HUnit(b.module_name, b.prefix, header_line, " ".join(_doc_lines(u.origin)), includes,
                         b.types, funcs, list(b._glue.values()), exports))
    return out


def _render(program, name: str, view=None, **context) -> str:
    """`templates/host_c/<name>` (or the run's override of it) with `view`."""
    from .templating import render, template_dirs  # noqa: PLC0415

    return render(f"host_c/{name}", view, templates=template_dirs(program), **context)


def emit_files(program) -> dict[str, str]:
    """`w2w_host.h` and `<module>_host.h` / `<module>_host.c` for every unit."""
    hunits = build_units(program)
    files: dict[str, str] = {}
    if hunits:
        # the same text whatever the input, so that runs sharing an output folder agree
        files[SUPPORT_HEADER] = _render(program, "w2w_host.h.j2", header_line=hunits[0].header_line)
    for hu in hunits:
        files[f"{hu.module}_host.h"] = _render(program, "host.h.j2", hu)
        files[f"{hu.module}_host_inline.h"] = _render(program, "host_inline.h.j2", hu)
        files[f"{hu.module}_host.c"] = _render(program, "host.c.j2", hu)
    return files


def emit_wasm3_files(program) -> dict[str, str]:
    """`<module>_wasm3.h` / `.c`: link every import of a unit into a wasm3 module."""
    return _runtime_binding(program, "wasm3")


def emit_wamr_files(program) -> dict[str, str]:
    """`<module>_wamr.h` / `.c`: a NativeSymbol table for WAMR per unit."""
    return _runtime_binding(program, "wamr")


def _runtime_binding(program, runtime: str) -> dict[str, str]:
    """`<module>_<runtime>.h` / `.c` for every unit that has imports or guest exports."""
    files: dict[str, str] = {}
    for hu in build_units(program):
        if hu.functions or hu.exports:
            files[f"{hu.module}_{runtime}.h"] = _render(program, f"{runtime}.h.j2", hu)
            files[f"{hu.module}_{runtime}.c"] = _render(program, f"{runtime}.c.j2", hu)
    return files


__all__ = ["emit_files", "emit_wasm3_files", "emit_wamr_files", "build_units", "c_ident",
           "SUPPORT_HEADER"]
