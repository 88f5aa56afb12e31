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
| `x` const_pointer/pointer T + `x_len` | `const T *x, uint32_t x_len` (raw guest layout bytes for non-scalar T) |
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

Templates only format: every line of C below is computed here in view models.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..diagnostics import UnsupportedError, error
from ..p1 import abi
from ..p1.abi import Role, WasmType
from ..p1.facts import Facts, facts_of
from ..p1.names import BUF_PARAMS, ERROR_PAYLOAD_PARAM, glue_status_positions
from ..p1.model import (
    Bool, Builtin, ConstPointer, Enum, Flags, Function, Handle, IntRepr, List, Pointer, Ref,
    String, Type, TypeName, TypeRef, canonical_fields, canonical_variant_cases, is_enum_like,
    resolve,
)
from ..p1.unit import Unit
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

#: glue status → the case names that can stand for it, in order of preference
#: (the backport ABI's names first, then wasi_snapshot_preview1's errno).
GLUE_CASES = (
    ("buffer_too_small", ("buffer_too_small", "nobufs", "overflow")),
    ("bad_handle", ("bad_handle", "badf")),
    ("bad_pointer", ("bad_pointer", "fault")),
    ("bad_value", ("bad_value", "inval")),
)
#: names the implementation's prototype uses itself
_IMPL_RESERVED = frozenset(("host", BUF_PARAMS[0], ERROR_PAYLOAD_PARAM))
_RET_N = re.compile(r"ret\d+")
#: locals of every trampoline that a parameter's own locals (`p_<x>`, `v_<x>`, `s_<x>`)
#: must not meet
_IMPL_TAKEN = ("buf_used", "result")


def _own_params(func: Function, sig) -> frozenset[str]:
    """The implementation's own parameter names this function's prototype has: `host`,
    `buf` (a result buffer), `error_payload`, `ret<k>` (out-pointers)."""
    names = {p.name for p in func.params}
    own = {"host"}
    if set(BUF_PARAMS) <= names:  # the backport's own names (p1.names), never a WIT one
        own.add(BUF_PARAMS[0])
    if ERROR_PAYLOAD_PARAM in names:
        own.add(ERROR_PAYLOAD_PARAM)
    own.update(f"ret{k}" for k in range(len(sig.out_params)))
    return frozenset(own)


def _impl_param(name: str, own: frozenset[str]) -> str:
    """A parameter of the implementation's prototype: its own parameters keep their
    names, a WIT parameter so named gets a `_`."""
    ident = c_ident(name)
    return ident + "_" if ident in own else ident
_RANGE = {"u8": "(uint32_t){a} > 0xFFu", "u16": "(uint32_t){a} > 0xFFFFu",
          "s8": "{a} < -128 || {a} > 127", "s16": "{a} < -32768 || {a} > 32767",
          "char8": "(uint32_t){a} > 0xFFu"}


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


@dataclass(slots=True, eq=False, repr=False)
class HConst:
    name: str
    value: str


@dataclass(slots=True, eq=False, repr=False)
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


@dataclass(slots=True, eq=False, repr=False)
class HParam:
    ctype: str
    name: str
    decl: str = field(init=False)  # `ctype name` (every template spells it several times)

    def __post_init__(self) -> None:
        self.decl = f"{self.ctype}{self.name}" if self.ctype.endswith("*") else f"{self.ctype} {self.name}"


@dataclass(slots=True, eq=False, repr=False)
class HFunc:
    name: str                # P1 name
    doc: list[str]
    impl_name: str
    impl_return: str
    impl_params: list[HParam]
    call_name: str
    call_return: str         # C type of the core result ("void" when none)
    core_params: list[HParam]
    body: list[str]          # the trampoline's statements
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

    @property
    def body_text(self) -> str:
        return _indent(self.body)


@dataclass(slots=True, eq=False, repr=False)
class HUnit:
    module: str
    prefix: str
    header_line: str
    origin: str
    includes: list[str]
    types: list[HType]
    functions: list[HFunc]
    glue_tables: list[tuple[str, str, list[str], int]]  # (name, C type, values, ncases)

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


def _handle_typename(tref: TypeRef) -> TypeName | None:
    """The typename whose body is `(handle)` that `tref` names (through aliases)."""
    while isinstance(tref, Ref):
        assert tref.target is not None
        if isinstance(tref.target.type, Handle):
            return tref.target
        tref = tref.target.type
    return None


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


def _holds_handles(tref: TypeRef | None, depth: int = 0) -> bool:
    """Whether a value of this type can hold a handle anywhere (list elements too)."""
    if tref is None or depth > 64:
        return False
    ty = resolve(tref)
    if isinstance(ty, Handle):
        return True
    if isinstance(ty, List):
        return _holds_handles(ty.element, depth + 1)
    fields = canonical_fields(ty)
    if fields is not None:
        return any(_holds_handles(f.type, depth + 1) for f in fields)
    cases = canonical_variant_cases(ty)
    if cases is not None:
        return any(_holds_handles(c.type, depth + 1) for c in cases)
    return False


def _list_handles(tref: TypeRef | None, depth: int = 0) -> bool:
    """Whether a value of this type can hold a handle in a list's elements (which the
    implementation encodes itself)."""
    if tref is None or depth > 64:
        return False
    ty = resolve(tref)
    if isinstance(ty, List):
        return _holds_handles(ty.element, depth + 1)
    fields = canonical_fields(ty)
    if fields is not None:
        return any(_list_handles(f.type, depth + 1) for f in fields)
    cases = canonical_variant_cases(ty)
    if cases is not None:
        return any(_list_handles(c.type, depth + 1) for c in cases)
    return False


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
            return ["{", f"    uint32_t a{d};",
                    f"    if (w2w_buf_addr(buf, {src}.ptr, (uint64_t){src}.len * {es.size}u, &a{d}) != 0)",
                    "        " + self._efail("W2W_E_BAD_VALUE"),
                    f"    w2w_st_u32({dst}, a{d});", f"    w2w_st_u32({dst} + 4, {src}.len);", "}"]
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

    # --- typenames ------------------------------------------------------------------

    def add_type(self, tn: TypeName) -> None:
        cname = self.tname(tn)
        ty = tn.type
        val = resolve(ty)
        hint = tn.name
        constants: list[HConst] = []
        typedef: list[str]
        descriptor = ""
        if isinstance(ty, Ref) or not _is_composite(val):
            typedef = [f"typedef {self.ctype(ty, hint)} {cname};"] if not isinstance(ty, Handle) \
                else [f"typedef void *{cname};"]
        else:
            typedef = []
        if not isinstance(ty, Ref):
            if isinstance(ty, Enum):
                names = self.const_names(tn, [c.name for c in ty.cases])
                constants += [HConst(n, f"{i}u") for i, n in enumerate(names)]
            elif isinstance(ty, Flags):
                names = self.const_names(tn, [f.name for f in ty.flags])
                constants += [HConst(n, f"0x{1 << i:X}u") for i, n in enumerate(names)]
            elif is_enum_like(ty) and not isinstance(ty, Bool):
                names = self.const_names(tn, [c.name for c in canonical_variant_cases(ty) or []])
                constants += [HConst(n, f"{i}u") for i, n in enumerate(names)]
            if isinstance(ty, Handle):
                descriptor = self.descriptor(tn)
        # structs and tagged unions (members first, so nested synthesized types come first)
        if not typedef:
            fields = canonical_fields(val)
            if fields is not None:
                layout = self.rl(val)
                members = [f"    {self._decl(self.ctype(fl.type, f'{hint}_{fl.name}'), m)};"
                           for fl, m in zip(layout, _members([fl.name for fl in layout]))]
                if not members:
                    members = ["    uint8_t unused_;"]
                typedef = [f"typedef struct {cname[:-2]} {{", *members, f"}} {cname};"]
            else:
                vl = self.vl(val)
                members = []
                names = self._case_members(vl.cases)
                consts = self.const_names(tn, [c.name for c in vl.cases])
                for i, c in enumerate(vl.cases):
                    if c.type is not None:
                        members.append(f"        {self._decl(self.ctype(c.type, f'{hint}_{c.name}'), names[i])};")
                    constants.append(HConst(consts[i], f"{i}u"))
                typedef = [f"typedef struct {cname[:-2]} {{", f"    {_UINT[vl.tag_size]} tag;",
                           "    union {", *members, "    } val;", f"}} {cname};"]
        sa = self.sa(ty)
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
        uses_rc = any("(rc = " in s for s in dec)
        dec_body = (["int rc;"] if uses_rc else []) + dec
        uses_rc = any("(rc = " in s for s in enc)
        enc_body = (["int rc;"] if uses_rc else []) + \
            (["uint32_t mark = w2w_handles_issued(handles);"] if holds else []) + \
            [f"memset(dst, 0, {sa.size});"] + enc
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

    @staticmethod
    def _decl(ctype: str, name: str) -> str:
        return f"{ctype}{name}" if ctype.endswith("*") else f"{ctype} {name}"

    # --- status mapping ---------------------------------------------------------------

    def glue_table(self, status: TypeRef, func: str) -> str:
        """Name of the static table mapping W2W_E_* onto the status enum's values."""
        if not isinstance(status, Ref) or status.target is None:
            raise _unsupported(f"function `{func}`: the error type of its result must be a named enum")
        tn = status.target
        ty = resolve(status)
        cases = canonical_variant_cases(ty)
        if cases is None or not is_enum_like(ty):
            raise _unsupported(f"function `{func}`: status `{tn.name}` is not an enum")
        if id(tn) in self._glue:
            return self._glue[id(tn)][0]
        names = [c.name for c in cases]
        # the backport's own status enums end with the glue statuses (renamed where E
        # has a case of the same name); hand-written ones (P1's errno) go by name
        positions = glue_status_positions(names)
        values = ["0"]
        for glue, options in GLUE_CASES:
            hit = (positions[glue] if positions is not None
                   else next((names.index(o) for o in options if o in names), None))
            if hit is None:
                raise _unsupported(
                    f"status enum `{tn.name}` has no `{glue}` case (the backport ABI's glue statuses "
                    "are `buffer_too_small`, `bad_handle`, `bad_pointer`, `bad_value`)")
            values.append(f"{hit}")
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

    # --- functions --------------------------------------------------------------------

    def function(self, func: Function) -> HFunc:
        sig = self.facts.core_signature(func)
        fname = func.name
        impl = self.impl_name(func)
        # core arguments `a_<param>`, and the implementation's parameters: distinct names
        # (sanitized WITX names can meet; the prototype's own names are kept)
        # (by position: a parameter named `retptr0` meets the witx ABI's out-pointer)
        core_names = [f"a_{n}" for n in cnames.unique(c_ident(p.name) for p in sig.params)]
        core_by_name: dict[str, str] = {}
        core_out: dict[int, str] = {}
        for p, n in zip(sig.params, core_names):
            if p.role is Role.OUT_PTR:
                core_out[id(p)] = n
            else:
                core_by_name.setdefault(p.name, n)
        own = _own_params(func, sig)
        impl_names = dict(zip((p.name for p in func.params), cnames.unique(
            (_impl_param(p.name, own) for p in func.params), taken=_IMPL_TAKEN)))
        core_params = [HParam(_WASM_C[p.wasm_type], n) for p, n in zip(sig.params, core_names)]
        status_res = next((r for r in sig.results if r.role is Role.STATUS), None)
        call_return = _WASM_C[sig.results[0].wasm_type] if sig.results else "void"
        glue = None
        ncases = 0
        if status_res is not None:
            exp = resolve(status_res.type)
            cases = canonical_variant_cases(exp)
            assert cases is not None
            err = cases[1].type if len(cases) > 1 else None
            if err is not None:
                glue = self.glue_table(err, fname)
                ncases = self._glue[id(err.target)][3]

        def fail(code: str) -> str:
            if glue is not None:
                return f"return {glue}[{code}];"
            return "return;" if call_return == "void" else "return 0;"

        decls: list[str] = []
        checks: list[str] = []
        post_ok: list[str] = []
        impl_params: list[HParam] = [HParam(f"{self.prefix}host_ctx_t *", "host")]
        impl_args: list[str] = ["host"]
        needs_rc = False
        has_buf = False
        take_lines: list[str] = []
        err_payload = None
        params = func.params
        i = 0
        is_drop = (fname.endswith("_drop") and len(params) == 1
                   and _handle_typename(params[0].type) is not None)
        while i < len(params):
            p = params[i]
            ty = resolve(p.type)
            name = impl_names[p.name]
            a = core_by_name.get(p.name, f"a_{name}")
            nxt = params[i + 1] if i + 1 < len(params) else None
            if (p.name == BUF_PARAMS[0] and isinstance(ty, Pointer) and i + 2 < len(params)
                    and (params[i + 1].name, params[i + 2].name) == BUF_PARAMS[1:]):
                has_buf = True
                a_len, a_used = core_by_name[BUF_PARAMS[1]], core_by_name[BUF_PARAMS[2]]
                decls += ["w2w_buf buf;", "uint8_t *p_buf_used;"]
                checks += [f"buf.data = w2w_mem_ptr(mem, (uint32_t){a}, (uint32_t){a_len}, 1u);",
                           "if (buf.data == NULL)", f"    {fail('W2W_E_BAD_POINTER')}",
                           f"buf.gaddr = (uint32_t){a};", f"buf.cap = (uint32_t){a_len};", "buf.used = 0;",
                           f"p_buf_used = w2w_mem_ptr(mem, (uint32_t){a_used}, 4u, 4u);",
                           "if (p_buf_used == NULL)", f"    {fail('W2W_E_BAD_POINTER')}"]
                impl_params.append(HParam("w2w_buf *", "buf"))
                impl_args.append("&buf")
                i += 3
                continue
            if (isinstance(ty, (Pointer, ConstPointer)) and nxt is not None
                    and nxt.name == f"{p.name}_len" and isinstance(resolve(nxt.type), Builtin)):
                self._list_param(name, ty.pointee,
                                 isinstance(ty, ConstPointer), a, core_by_name[nxt.name],
                                 decls, checks, impl_params, impl_args, fail, f"{fname}_{p.name}")
                i += 2
                continue
            if isinstance(ty, (String, List)):
                self._list_param(name, _elem(ty), True, a, core_by_name[f"{p.name}_len"],
                                 decls, checks, impl_params, impl_args, fail, f"{fname}_{p.name}")
                i += 1
                continue
            if (p.name == ERROR_PAYLOAD_PARAM and isinstance(ty, Pointer) and i == len(params) - 1):
                ptype = ty.pointee
                sa = self.sa(ptype)
                ct = self.ctype(ptype, f"{fname}_error_payload")
                decls += ["uint8_t *p_error_payload;", f"{self._decl(ct, 'error_payload')};"]
                checks += [f"p_error_payload = w2w_mem_ptr(mem, (uint32_t){a}, {sa.size}u, {sa.align}u);",
                           "if (p_error_payload == NULL)", f"    {fail('W2W_E_BAD_POINTER')}",
                           "memset(&error_payload, 0, sizeof error_payload);"]
                impl_params.append(HParam(f"{ct} *", "error_payload"))
                impl_args.append("&error_payload")
                err_payload = ptype
                i += 1
                continue
            htn = _handle_typename(p.type)
            if htn is not None:
                if is_drop:
                    self._note_drop(htn, fname, impl)
                    decls.append(f"void *v_{name};")
                    take_lines += [f"if (!w2w_handles_take(host->handles, (uint32_t){a}, &{self.descriptor(htn)}, &v_{name}))",
                                   f"    {fail('W2W_E_BAD_HANDLE')}"]
                else:
                    decls += [f"w2w_slot *s_{name};"]
                    checks += [f"s_{name} = w2w_handles_slot(host->handles, (uint32_t){a}, &{self.descriptor(htn)});",
                               f"if (s_{name} == NULL)", f"    {fail('W2W_E_BAD_HANDLE')}"]
                impl_params.append(HParam("void *", name))
                impl_args.append(f"v_{name}" if is_drop else f"s_{name}->obj")
                i += 1
                continue
            if isinstance(ty, Builtin):
                ct = _BUILTIN_C[ty.name]
                if ty.name in _RANGE:
                    checks += [f"if ({_RANGE[ty.name].format(a=a)})", f"    {fail('W2W_E_BAD_VALUE')}"]
                if ty.name == "char":
                    checks += [f"if (!w2w_valid_char((uint32_t){a}))", f"    {fail('W2W_E_BAD_VALUE')}"]
                impl_params.append(HParam(self.ctype(p.type, name), name))
                impl_args.append(f"({ct}){a}" if ct not in ("float", "double") else a)
                i += 1
                continue
            if isinstance(ty, Flags):
                cast = "(uint64_t)" if ty.repr is IntRepr.U64 else "(uint32_t)"
                checks += [f"if (({cast}{a} & ~{_flags_mask(len(ty.flags))}) != 0)", f"    {fail('W2W_E_BAD_VALUE')}"]
                ct = self.ctype(p.type, name)
                impl_params.append(HParam(ct, name))
                impl_args.append(f"({ct}){a}")
                i += 1
                continue
            if isinstance(ty, Bool):
                checks += [f"if ((uint32_t){a} > 1u)", f"    {fail('W2W_E_BAD_VALUE')}"]
                impl_params.append(HParam(self.ctype(p.type, name), name))
                impl_args.append(f"{a} != 0")
                i += 1
                continue
            if is_enum_like(ty):
                n = len(canonical_variant_cases(ty) or [])
                checks += [f"if ((uint32_t){a} >= {n}u)", f"    {fail('W2W_E_BAD_VALUE')}"]
                ct = self.ctype(p.type, name)
                impl_params.append(HParam(ct, name))
                impl_args.append(f"({ct}){a}")
                i += 1
                continue
            if isinstance(ty, (Pointer, ConstPointer)):
                impl_params.append(HParam("w2w_gaddr_t", name))
                impl_args.append(f"(w2w_gaddr_t){a}")
                i += 1
                continue
            # records and variants with payloads: by reference
            sa = self.sa(p.type)
            ct = self.ctype(p.type, f"{fname}_{p.name}")
            tn = self._named(p.type, ct, f"{fname}_{p.name}")
            needs_rc = True
            decls += [f"const uint8_t *p_{name};", f"{self._decl(ct, f'v_{name}')};"]
            checks += [f"p_{name} = w2w_mem_ptr(mem, (uint32_t){a}, {sa.size}u, {sa.align}u);",
                       f"if (p_{name} == NULL)", f"    {fail('W2W_E_BAD_POINTER')}",
                       f"if ((rc = {self.codec_inline(tn, 'decode')}(mem, host->handles, p_{name}, &v_{name})) != 0)",
                       f"    {fail('rc')}"]
            impl_params.append(HParam(f"const {ct} *", name))
            impl_args.append(f"&v_{name}")
            i += 1
        # results
        outs = sig.out_params
        w = "&buf" if has_buf else "NULL"
        handles_needed = 0
        issues = False  # the result can hold handles: the call journals the ones it issues
        out_info: list[tuple[int, int, TypeName, TypeRef]] = []
        for k, op in enumerate(outs):
            sa = self.sa(op.type)
            ct = self.ctype(op.type, f"{fname}_ret{k}")
            tn = self._named(op.type, ct, f"{fname}_ret{k}")
            handles_needed += _count_handles(op.type, self.facts)
            issues = issues or _holds_handles(op.type)
            out_info.append((k, sa.size, tn, op.type))
            decls += [f"uint8_t *r_{k};", f"{self._decl(ct, f'ret{k}')};"]
            a = core_out[id(op)]
            checks += [f"r_{k} = w2w_mem_ptr(mem, (uint32_t){a}, {sa.size}u, {sa.align}u);",
                       f"if (r_{k} == NULL)", f"    {fail('W2W_E_BAD_POINTER')}",
                       f"memset(&ret{k}, 0, sizeof ret{k});"]
            impl_params.append(HParam(f"{ct} *", f"ret{k}"))
            impl_args.append(f"&ret{k}")
            needs_rc = True
        if err_payload is not None:
            handles_needed = max(handles_needed, _count_handles(err_payload, self.facts))
            issues = issues or _holds_handles(err_payload)
        direct = None if status_res is not None or not sig.results else sig.results[0]
        direct_htn = _handle_typename(direct.type) if direct is not None else None
        if direct_htn is not None:
            handles_needed = max(handles_needed, 1)
        if handles_needed:
            checks += [f"if (w2w_handles_free(host->handles) < {handles_needed}u)",
                       f"    {fail('W2W_E_BAD_HANDLE')}"]
        checks += take_lines
        fixed = [(k, tn) for k, _, tn, t in out_info if _count_handles(t, self.facts)]
        ep_fixed = err_payload is not None and _count_handles(err_payload, self.facts) > 0
        if not issues:
            # staged as well: a value the implementation got wrong (`bad_value` from the
            # encode, found by tests/test_fuzz_c.py) must leave every out-pointer untouched
            decls += [f"uint8_t o_{k}[{max(size, 1)}];" for k, size, _, _t in out_info]
            for k, _, tn, _t in out_info:
                post_ok += [f"if ((rc = {self.codec_inline(tn, 'encode')}(host->handles, {w}, o_{k}, &ret{k})) != 0)",
                            f"    {fail('rc')}"]
            post_ok += [f"memcpy(r_{k}, o_{k}, {size}u);" for k, size, _, _t in out_info if size]
        elif out_info:
            # encoded into scratch space, copied to the guest when every result encoded;
            # on a failure the handles issued are removed and their objects released
            decls += [f"uint8_t o_{k}[{max(size, 1)}];" for k, size, _, _t in out_info]
            if fixed:
                post_ok.append("mark = w2w_handles_issued(host->handles);")
            for n, (k, _, tn, _t) in enumerate(out_info):
                enc = f"rc = {self.codec_inline(tn, 'encode')}(host->handles, {w}, o_{k}, &ret{k});"
                post_ok += [enc] if n == 0 else ["if (rc == 0)", "    " + enc]
            post_ok.append("if (rc != 0) {")
            if fixed:  # issued by the glue: removed, then every object of the results released
                post_ok.append("    (void)w2w_handles_unwind(host->handles, mark, rc);")
                post_ok += [f"    {self.codec_inline(tn, 'release')}(host->handles, &ret{k});" for k, tn in fixed]
            post_ok += ["    w2w_handles_rollback(host->handles);", f"    {fail('rc')}", "}"]
            post_ok += [f"memcpy(r_{k}, o_{k}, {size}u);" for k, size, _, _t in out_info if size]
        if err_payload is not None:  # staged too: written only once it encoded in full
            decls.append(f"uint8_t o_error_payload[{max(self.sa(err_payload).size, 1)}];")
        if issues and (fixed or ep_fixed):
            decls.append("uint32_t mark;")
        body: list[str] = []
        if status_res is not None:
            impl_return = call_return
            body += decls + ([("int rc;")] if needs_rc or err_payload is not None else []) + [f"{call_return} status;"]
            body += checks
            if issues:
                body.append("w2w_handles_begin(host->handles);")
            body += ["w2w_call_mem_set(&host->mem, mem);", f"status = {impl}({', '.join(impl_args)});"]
            undo = ["    w2w_handles_rollback(host->handles);"] if issues else []
            if glue is not None:
                # an error of the interface (not a glue status, `buffer_too_small` included:
                # an implementation may return it where there is no buffer; found by
                # tests/test_fuzz_c.py) is the only status that writes the error payload
                bad = (f"status != {glue}[W2W_E_BAD_HANDLE] && status != {glue}[W2W_E_BAD_POINTER]"
                       f" && status != {glue}[W2W_E_BAD_VALUE] && status != {glue}[W2W_E_BUFFER_TOO_SMALL]")
                if has_buf:
                    body += [f"if (buf.used > buf.cap || status == {glue}[W2W_E_BUFFER_TOO_SMALL]) {{",
                             *undo, "    w2w_st_u32(p_buf_used, buf.used);",
                             f"    return {glue}[W2W_E_BUFFER_TOO_SMALL];", "}"]
                body += ["if (status != 0) {"]
                if issues:
                    body += [f"    if (status < 0 || status >= {ncases}) {{",
                             "        w2w_handles_rollback(host->handles);",
                             f"        return {glue}[W2W_E_BAD_VALUE];", "    }"]
                    if err_payload is not None and _list_handles(err_payload):
                        # the implementation encoded the error's list elements, handles
                        # included: they go to the guest with an error of the interface
                        body += [f"    if (!({bad}))", "        w2w_handles_rollback(host->handles);"]
                    else:  # the ok results are not delivered: undo what they issued
                        body += ["    w2w_handles_rollback(host->handles);"]
                else:
                    body += [f"    if (status < 0 || status >= {ncases})",
                             f"        return {glue}[W2W_E_BAD_VALUE];"]
                if err_payload is not None:
                    ept = self.ctype(err_payload, f"{fname}_error_payload")
                    etn = self._named(err_payload, ept, f"{fname}_error_payload")
                    encode = self.codec_inline(etn, 'encode')
                    if not issues:
                        size = self.sa(err_payload).size
                        body += [f"    if ({bad}) {{",
                                 f"        if ((rc = {encode}(host->handles, {w}, o_error_payload, &error_payload)) != 0)",
                                 f"            return {glue}[rc];",
                                 *([f"        memcpy(p_error_payload, o_error_payload, {size}u);"] if size else []),
                                 "    }"]
                    else:
                        size = self.sa(err_payload).size
                        body += [f"    if ({bad}) {{"]
                        if ep_fixed:
                            body.append("        mark = w2w_handles_issued(host->handles);")
                        body += [f"        if ((rc = {encode}(host->handles, {w}, o_error_payload, &error_payload)) != 0) {{"]
                        if ep_fixed:
                            body += ["            (void)w2w_handles_unwind(host->handles, mark, rc);",
                                     f"            {self.codec_inline(etn, 'release')}(host->handles, &error_payload);"]
                        body += ["            w2w_handles_rollback(host->handles);",
                                 f"            return {glue}[rc];", "        }"]
                        if size:
                            body.append(f"        memcpy(p_error_payload, o_error_payload, {size}u);")
                        body.append("    }")
                    if has_buf:  # the payload's strings/lists went into buf (an error only)
                        body += [f"    if ({bad})", "        w2w_st_u32(p_buf_used, buf.used);"]
                body += ["    return status;", "}"]
            elif issues:
                body += ["if (status != 0) {", *undo, "    return status;", "}"]
            else:
                body += ["if (status != 0)", "    return status;"]
            body += post_ok
            if has_buf:
                body += ["w2w_st_u32(p_buf_used, buf.used);"]
            body += ["return 0;"]
        elif direct is not None:
            impl_return = self.ctype(direct.type, f"{fname}_result")
            if direct_htn is not None:
                decls += ["void *v_result;", "uint32_t h_result;"]
            body += decls + (["int rc;"] if needs_rc else []) + checks + ["w2w_call_mem_set(&host->mem, mem);"]
            if direct_htn is not None:
                desc = self.descriptor(direct_htn)
                body += [f"v_result = {impl}({', '.join(impl_args)});",
                         f"h_result = w2w_handles_insert(host->handles, &{desc}, v_result);",
                         "if (h_result == 0)  /* the table filled: release the object, as a drop does */",
                         f"    (void)w2w_handles_release(host->handles, &{desc}, v_result);",
                         "return (int32_t)h_result;"]
            else:
                body += [f"return ({call_return}){impl}({', '.join(impl_args)});"]
        else:
            impl_return = "void"
            body += decls + (["int rc;"] if needs_rc else []) + checks + [
                "w2w_call_mem_set(&host->mem, mem);", f"{impl}({', '.join(impl_args)});"]
        if not sig.params:
            body.insert(0, "(void)mem;")
        w3 = (_WASM3_SIG[sig.results[0].wasm_type] if sig.results else "v") + \
            "(" + "".join(_WASM3_SIG[p.wasm_type] for p in sig.params) + ")"
        wamr = "(" + "".join(_WAMR_SIG[p.wasm_type] for p in sig.params) + ")" + \
            (_WAMR_SIG[sig.results[0].wasm_type] if sig.results else "")
        frag = self.frag(func)
        return HFunc(fname, _doc_lines(func.docs), impl, impl_return,
                     impl_params, self.call_name(func), call_return, core_params, body,
                     w3, wamr, call_return if sig.results else "", self.module_name,
                     f"{self.prefix}w3_{frag}", f"{self.prefix}wamr_{frag}")

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

    def _list_param(self, name: str, elem: TypeRef, const: bool, a_ptr: str, a_len: str,
                    decls, checks, impl_params, impl_args, fail, hint: str) -> None:
        es = self.sa(elem)
        cname = name  # already a distinct C name
        ety = resolve(elem)
        if not isinstance(elem, Ref) and _is_composite(ety):  # a decoder for the elements
            self._synthesize(ety, f"{hint}_elem")
        q = "const " if const else ""
        if isinstance(ety, Builtin):
            ct = f"{q}{_BUILTIN_C[ety.name]} *"
        else:
            ct = f"{q}uint8_t *"
        decls.append(f"uint8_t *p_{cname};")
        checks += [f"p_{cname} = w2w_mem_ptr(mem, (uint32_t){a_ptr}, (uint64_t)(uint32_t){a_len} * {es.size}u, {es.align}u);",
                   f"if (p_{cname} == NULL)", f"    {fail('W2W_E_BAD_POINTER')}"]
        impl_params += [HParam(ct, cname), HParam("uint32_t", f"{cname}_len")]
        impl_args += [f"({ct})p_{cname}", f"(uint32_t){a_len}"]


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
        includes = [f"{names.get(n, n)}_host.h" for n in u.uses]
        out.append(HUnit(b.module_name, b.prefix, header_line, " ".join(_doc_lines(u.origin)), includes,
                         b.types, funcs, list(b._glue.values())))
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
    """`<module>_<runtime>.h` / `.c` for every unit that has imports."""
    files: dict[str, str] = {}
    for hu in build_units(program):
        if hu.functions:
            files[f"{hu.module}_{runtime}.h"] = _render(program, f"{runtime}.h.j2", hu)
            files[f"{hu.module}_{runtime}.c"] = _render(program, f"{runtime}.c.j2", hu)
    return files


__all__ = ["emit_files", "emit_wasm3_files", "emit_wamr_files", "build_units", "c_ident",
           "GLUE_CASES", "SUPPORT_HEADER"]
