"""The P1 model: what a WITX document says, in the shape back ends want to read.

Two front ends build it (the WITX reader, and the WIT→P1 lowering) and every back
end only reads it (WITX printer, C header, host glue, docs, JSON).

Shape
-----
`Document` holds an ordered list of `definitions` — `TypeName`s, `Constant`s and
`Module`s — in the order they were defined (a `(use "x.witx")` contributes its
definitions at the point of the `use`, once). `Document.typename(name)`,
`.module(name)`, `.typenames`, `.modules`, `.constants` look them up / iterate in
definition order.

A `Module` has `imports` (only `(import "memory" (memory))` exists in WITX),
`functions` (what the host implements: core imports of the guest) and `exports` (what
the guest implements: world exports, each a core export of the guest named
`names.guest_export_name(module, function)`, `<module>#<function>`); a `Function` has
`params` and `results` (each a `Param`), `noreturn` and docs, the same for both
directions (same core signature and call plan). Imports and exports share one namespace
per module.

Types keep their *surface* kind — what the author wrote — because back ends print
them differently: `Enum` (`@witx tag` repr), `Flags` (`@witx repr`), `Record`,
`Variant`, `Union`, `Tuple`, `Expected`, `OptionType`, `Bool`, `Handle`, `Builtin`
(u8…u64, s8…s64, f32, f64, char, usize, char8), `List`, `String`, `Pointer`,
`ConstPointer`. Each type class has a class-level `kind` string naming it.
`OptionType` has no WITX syntax: the lowering from WIT produces it and the printer
writes it as `(variant (@witx tag u8) (case $none) (case $some T))`.

A *type reference* (`TypeRef`) is either a `Ref` — a use of a typename by name,
resolved to its `TypeName` in `Ref.target` (build one with `Ref.of(typename)`) — or
an anonymous type value written in place (`(list u8)`, `(@witx pointer $fd)`, ...).
`resolve(tref)` follows `Ref`s (and aliases of aliases) to the underlying type value. WITX has no forward or
recursive references, so the model is a DAG.

Layout and the core wasm ABI are not stored: `p1.layout` and `p1.abi` compute them
from the model. They see every type through its *canonical* witx form (the witx
crate desugars enum/expected/bool/union into variants and tuple/flags into
records); `canonical_variant_cases` / `canonical_tag` below give that view.

`representable(a, b)` is witx's structural compatibility check ("eq", "superset",
"noteq"); `type_to_json(t)` is a type as plain JSON data (`emit.json` dumps whole
documents with it, adding sizes and core signatures).

Docs are the text of `;;;` comments with the marker and common indentation removed,
one line per comment line, each line ending in "\\n" (empty string: no docs).

Equality (`==`) is structural and ignores spans, so "read → print → read" can be
checked with `==`. Spans (`span` fields) point into the source for diagnostics and
are None for nodes built by the lowering.
"""

from __future__ import annotations

import enum
import typing
from dataclasses import field
from typing import Iterator

from ..diagnostics import Span
from ..records import record

# --- the dataclasses of p1 --------------------------------------------------------------


def node(cls=None, *, hashable: bool = False):
    """`@record(slots=True)` (`@dataclass(slots=True)`, made cheaply) for the classes of
    `p1`; `hashable` adds the `hash()` that `@dataclass(frozen=True)` would generate.

    A `hashable` class is a value that is never modified once made, as a frozen
    dataclass would be; that is not enforced, because a frozen dataclass takes four
    times as long to create (thousands are made per run: layouts and core signatures).
    """
    if cls is None:
        return lambda c: node(c, hashable=hashable)
    return record(cls, slots=True, unsafe_hash=hashable)


# --- integer representations -----------------------------------------------------


class IntRepr(str, enum.Enum):
    """The in-memory width of an enum/variant tag or a flags value (always unsigned)."""

    U8 = "u8"
    U16 = "u16"
    U32 = "u32"
    U64 = "u64"

    @property
    def size(self) -> int:
        return _REPR_SIZE[self]  # a str enum: the member finds its value's entry

    @classmethod
    def parse(cls, name: str) -> "IntRepr | None":
        """The repr a builtin type name stands for, or None if it cannot be one."""
        return _REPR_BY_BUILTIN.get(name)


_REPR_SIZE = {"u8": 1, "u16": 2, "u32": 4, "u64": 8}
# `(@witx char8)` is a u8 and `(@witx usize)` a u32 in witx, so both are accepted.
_REPR_BY_BUILTIN = {
    "u8": IntRepr.U8, "char8": IntRepr.U8, "u16": IntRepr.U16,
    "u32": IntRepr.U32, "usize": IntRepr.U32, "u64": IntRepr.U64,
}

#: Builtin names. `usize` is `(@witx usize)` (a u32 meant as size_t), `char8` is
#: `(@witx char8)` (a u8 meant as C char); `char` is a Unicode scalar value (4 bytes).
BUILTINS = (
    "u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64",
    "f32", "f64", "char", "usize", "char8",
)
INTEGER_BUILTINS = frozenset(("u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "usize", "char8"))
SIGNED_BUILTINS = frozenset(("s8", "s16", "s32", "s64"))


# --- type references ----------------------------------------------------------------


@record(slots=True, eq=False)
class Ref:
    """A reference to a typename (`$name` in WITX). `target` is set once resolved."""

    name: str
    target: "TypeName | None" = None
    span: Span | None = None
    kind = "ref"

    def __eq__(self, other: object) -> bool:
        # By name only: the definitions themselves are compared at document level.
        return isinstance(other, Ref) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("ref", self.name))

    def __repr__(self) -> str:
        return f"Ref({self.name!r})"

    @classmethod
    def of(cls, typename: "TypeName", span: Span | None = None) -> "Ref":
        """A resolved reference to `typename`."""
        return cls(typename.name, typename, span)


# --- type values --------------------------------------------------------------------


def _span() -> Span | None:
    return field(default=None, compare=False, repr=False)  # type: ignore[return-value]


@node
class Builtin:
    name: str  # one of BUILTINS
    span: Span | None = _span()
    kind = "builtin"

    @property
    def is_integer(self) -> bool:
        return self.name in INTEGER_BUILTINS

    @property
    def is_signed(self) -> bool:
        return self.name in SIGNED_BUILTINS


@node
class String:
    """`string`: witx treats it as `(list char)` for layout and ABI (pointer + length)."""

    span: Span | None = _span()
    kind = "string"


@node
class List:
    element: "TypeRef"
    span: Span | None = _span()
    kind = "list"


@node
class Pointer:
    """`(@witx pointer T)`: a mutable pointer into the guest's linear memory."""

    pointee: "TypeRef"
    span: Span | None = _span()
    kind = "pointer"


@node
class ConstPointer:
    """`(@witx const_pointer T)`: a read-only pointer into the guest's memory."""

    pointee: "TypeRef"
    span: Span | None = _span()
    kind = "const_pointer"


@node
class Handle:
    """`(handle)`: an unforgeable i32 the host hands out."""

    span: Span | None = _span()
    kind = "handle"


@node
class Bool:
    """`bool`: witx lays it out as a variant false/true with a u32 tag."""

    span: Span | None = _span()
    kind = "bool"


@node
class Field:
    name: str
    type: "TypeRef"
    docs: str = ""
    span: Span | None = _span()


@node
class Record:
    fields: list[Field]
    span: Span | None = _span()
    kind = "record"


@node
class Tuple:
    """`(tuple T...)`: a record whose members are named "0", "1", ..."""

    types: list["TypeRef"]
    span: Span | None = _span()
    kind = "tuple"

    @property
    def fields(self) -> list[Field]:
        return [Field(str(i), t) for i, t in enumerate(self.types)]


@node
class Flag:
    name: str
    docs: str = ""
    span: Span | None = _span()


@node
class Flags:
    """`(flags (@witx repr R) $a $b ...)`: bit i is flag i; stored as an R integer."""

    repr: IntRepr
    flags: list[Flag]
    span: Span | None = _span()
    kind = "flags"


@node
class EnumCase:
    name: str
    docs: str = ""
    span: Span | None = _span()


@node
class Enum:
    """`(enum (@witx tag R) $a $b ...)`: case i has value i."""

    tag: IntRepr
    cases: list[EnumCase]
    span: Span | None = _span()
    #: `canonical_variant_cases`' answer, kept (with what it was computed from): status
    #: enums are asked for their cases once per function by several back ends
    _canonical: tuple | None = field(default=None, init=False, compare=False, repr=False)
    kind = "enum"


@node
class Case:
    """A variant or union case; `type` is None for a case without payload."""

    name: str
    type: "TypeRef | None" = None
    docs: str = ""
    span: Span | None = _span()


@node
class Variant:
    """`(variant (@witx tag T)? (case $c T?)...)`.

    `tag` is the tag's integer repr. `tag_name` is set when the tag was written as a
    typename of an enum (`(@witx tag $eventtype)`): then the cases follow that enum's
    order (case i has tag value i). `tag_written` remembers a builtin tag written
    explicitly, so printing keeps it.
    """

    tag: IntRepr
    cases: list[Case]
    tag_name: Ref | None = None
    tag_written: bool = field(default=True, compare=False)
    span: Span | None = _span()
    kind = "variant"


@node
class Union:
    """`(union (@witx tag $e)? T...)`: a variant whose cases all carry a payload.

    Case names come from the tag enum's cases, or are "0", "1", ... without a tag
    (WITX cannot spell other names: build a `Variant` when cases need names).
    """

    tag: IntRepr
    cases: list[Case]
    tag_name: Ref | None = None
    tag_written: bool = field(default=True, compare=False)
    span: Span | None = _span()
    kind = "union"


@node
class Expected:
    """`(expected T? (error E?))`: a variant ok/err with a u32 tag."""

    ok: "TypeRef | None"
    err: "TypeRef | None"
    span: Span | None = _span()
    kind = "expected"


@node
class OptionType:
    """option<T> from WIT: a variant none/some with a u8 tag (no WITX shorthand)."""

    some: "TypeRef"
    tag: IntRepr = IntRepr.U8
    span: Span | None = _span()
    #: `canonical_variant_cases`' answer (its payload is what it was made from)
    _canonical: list | None = field(default=None, init=False, compare=False, repr=False)
    kind = "option"


Type = typing.Union[
    Builtin, String, List, Pointer, ConstPointer, Handle, Bool, Record, Tuple,
    Flags, Enum, Variant, Union, Expected, OptionType,
]
TypeRef = typing.Union[Ref, Type]

#: Structured types that witx only allows as the body of a typename.
NAMED_ONLY_KINDS = frozenset(("enum", "flags", "record", "union", "handle"))


# --- definitions ------------------------------------------------------------------------


@node
class TypeName:
    """`(typename $name T)`."""

    name: str
    type: TypeRef
    docs: str = ""
    span: Span | None = _span()
    kind = "typename"

    @property
    def resolved(self) -> Type:
        """The type value behind this name (following aliases)."""
        return resolve(self.type)


@node
class Constant:
    """`(@witx const $type $name value)`: a named value of an integer typename."""

    type_name: str
    name: str
    value: int
    docs: str = ""
    span: Span | None = _span()
    kind = "constant"


@node
class Param:
    """A function parameter or result: `(param $name T)` / `(result $name T)`."""

    name: str
    type: TypeRef
    docs: str = ""
    span: Span | None = _span()
    #: a handle parameter of a guest export that WIT declares `own<r>`: the guest
    #: owns the handle after the call and drops it (`(param $x (@w2w own) $r)`).
    #: False for every other parameter: an import's handle parameters are never
    #: consumed (only `<r>_drop` removes a handle), and `borrow<r>` is lent for a call.
    own: bool = False
    #: the pointer of a WIT `string` parameter (`(param $x (@w2w string) (@witx
    #: const_pointer u8))`, followed by `x_len`): its bytes must be well-formed UTF-8,
    #: and the glue checks them before the implementation runs, as it checks a WITX
    #: `string`. It is lowered to what a `list<u8>` is, so that C guests keep
    #: `const uint8_t *` + `size_t`; without this mark nothing would tell the glue that
    #: the bytes are text. False for every other parameter.
    utf8: bool = False


@node
class Function:
    """`(@interface func (export "name") (param ...)* (result ...)* (@witx noreturn)?)`."""

    name: str
    params: list[Param] = field(default_factory=list)
    results: list[Param] = field(default_factory=list)
    noreturn: bool = False
    docs: str = ""
    span: Span | None = _span()


@node
class Import:
    """`(import "memory" (memory))`: the only import WITX modules have."""

    name: str
    kind: str = "memory"
    docs: str = ""
    span: Span | None = _span()


@node
class Module:
    name: str
    imports: list[Import] = field(default_factory=list)
    functions: list[Function] = field(default_factory=list)
    docs: str = ""
    span: Span | None = _span()
    #: the functions the guest implements (world exports): back ends that iterate
    #: `functions` see imports only, so none makes host glue for an export by mistake
    exports: list[Function] = field(default_factory=list)
    kind = "module"

    @property
    def imports_memory(self) -> bool:
        return any(i.kind == "memory" for i in self.imports)

    def function(self, name: str) -> Function | None:
        """The imported function `name` (see `export` for the guest's exports)."""
        for func in self.functions:
            if func.name == name:
                return func
        return None

    def export(self, name: str) -> Function | None:
        """The exported function `name`, which the guest implements."""
        for func in self.exports:
            if func.name == name:
                return func
        return None


Definition = typing.Union[TypeName, Constant, Module]


@node
class Document:
    """A WITX document: one file plus everything it `use`s, in definition order."""

    definitions: list[Definition] = field(default_factory=list)
    path: str | None = field(default=None, compare=False)
    _index: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def typenames(self) -> list[TypeName]:
        return [d for d in self.definitions if isinstance(d, TypeName)]

    @property
    def modules(self) -> list[Module]:
        return [d for d in self.definitions if isinstance(d, Module)]

    @property
    def constants(self) -> list[Constant]:
        return [d for d in self.definitions if isinstance(d, Constant)]

    def __iter__(self) -> Iterator[Definition]:
        return iter(self.definitions)

    def _lookup(self, name: str) -> Definition | None:
        # Rebuild when definitions were appended after the last lookup.
        if self._index.get("#count") != len(self.definitions):
            self._index.clear()
            for d in self.definitions:
                if not isinstance(d, Constant):
                    self._index.setdefault(d.name, d)
            self._index["#count"] = len(self.definitions)
        return self._index.get(name)

    def typename(self, name: str) -> TypeName | None:
        d = self._lookup(name)
        return d if isinstance(d, TypeName) else None

    def module(self, name: str) -> Module | None:
        d = self._lookup(name)
        return d if isinstance(d, Module) else None

    def constants_of(self, type_name: str) -> list[Constant]:
        return [c for c in self.constants if c.type_name == type_name]


# --- helpers shared by layout, abi and back ends ------------------------------------------


def resolve(tref: TypeRef) -> Type:
    """Follow references (and aliases of aliases) to the underlying type value."""
    seen = 0
    while isinstance(tref, Ref):
        if tref.target is None:
            raise ValueError(f"unresolved type reference `{tref.name}`")
        tref = tref.target.type
        seen += 1
        if seen > 10_000:  # a cycle would be a front-end bug; never loop forever
            raise ValueError(f"reference cycle through `{tref}`")
    return tref


def is_named(tref: TypeRef | None) -> bool:
    return isinstance(tref, Ref)


def canonical_tag(ty: Type) -> IntRepr | None:
    """The tag repr of a type witx lays out as a variant, else None."""
    if isinstance(ty, (Enum, Variant, Union)):
        return ty.tag
    if isinstance(ty, (Expected, Bool)):
        return IntRepr.U32
    if isinstance(ty, OptionType):
        return ty.tag
    return None


def canonical_variant_cases(ty: Type) -> list[Case] | None:
    """The cases of a type witx lays out as a variant (payload types may be None).

    The list may be shared (a variant's own `cases`, the memoized cases of the other
    shapes, which every back end asks for again and again): read it, never modify it."""
    if isinstance(ty, (Variant, Union)):
        return ty.cases
    if isinstance(ty, Enum):
        hit = ty._canonical
        if hit is None or hit[0] is not ty.cases or hit[1] != len(ty.cases):
            hit = ty._canonical = (ty.cases, len(ty.cases), [Case(c.name, None, c.docs) for c in ty.cases])
        return hit[2]
    # Every function result is an `Expected`: its two cases are made anew at each call
    # (no slower, measured) rather than kept, which would be a sixth of the P1 model.
    if isinstance(ty, Expected):
        return [Case("ok", ty.ok), Case("err", ty.err)]
    if isinstance(ty, Bool):
        return _BOOL_CASES
    if isinstance(ty, OptionType):
        hit = ty._canonical
        if hit is None or hit[1].type is not ty.some:
            hit = ty._canonical = [Case("none"), Case("some", ty.some)]
        return hit
    return None


_BOOL_CASES = [Case("false"), Case("true")]


def canonical_fields(ty: Type) -> list[Field] | None:
    """The members of a type witx lays out as a struct (record or tuple), else None."""
    if isinstance(ty, Record):
        return ty.fields
    if isinstance(ty, Tuple):
        return ty.fields
    return None


def is_enum_like(ty: Type) -> bool:
    """A variant-shaped type none of whose cases has a payload."""
    # `canonical_variant_cases`, without building case lists for the shapes that need them
    if isinstance(ty, (Enum, Bool)):
        return True
    if isinstance(ty, (Variant, Union)):
        return all(c.type is None for c in ty.cases)
    if isinstance(ty, Expected):
        return ty.ok is None and ty.err is None
    if isinstance(ty, OptionType):
        return ty.some is None
    return False


# --- JSON dump ----------------------------------------------------------------------


def type_to_json(tref: TypeRef | None) -> object:
    """A deterministic JSON value for a type reference (a name for `Ref`s)."""
    if tref is None:
        return None
    if isinstance(tref, Ref):
        return {"ref": tref.name}
    ty = tref
    out: dict[str, object] = {"kind": ty.kind}
    if isinstance(ty, Builtin):
        out["name"] = ty.name
    elif isinstance(ty, (List,)):
        out["element"] = type_to_json(ty.element)
    elif isinstance(ty, (Pointer, ConstPointer)):
        out["pointee"] = type_to_json(ty.pointee)
    elif isinstance(ty, Record):
        out["fields"] = [{"name": f.name, "type": type_to_json(f.type), "docs": f.docs} for f in ty.fields]
    elif isinstance(ty, Tuple):
        out["types"] = [type_to_json(t) for t in ty.types]
    elif isinstance(ty, Flags):
        out["repr"] = ty.repr.value
        out["flags"] = [{"name": f.name, "docs": f.docs} for f in ty.flags]
    elif isinstance(ty, Enum):
        out["tag"] = ty.tag.value
        out["cases"] = [{"name": c.name, "docs": c.docs} for c in ty.cases]
    elif isinstance(ty, (Variant, Union)):
        out["tag"] = ty.tag.value
        if ty.tag_name is not None:
            out["tag_name"] = ty.tag_name.name
        out["cases"] = [
            {"name": c.name, "type": type_to_json(c.type), "docs": c.docs} for c in ty.cases
        ]
    elif isinstance(ty, Expected):
        out["ok"] = type_to_json(ty.ok)
        out["err"] = type_to_json(ty.err)
    elif isinstance(ty, OptionType):
        out["tag"] = ty.tag.value
        out["some"] = type_to_json(ty.some)
    return out


# --- representability (witx's compatibility check between two types) -------------------

EQ, SUPERSET, NOTEQ = "eq", "superset", "noteq"

# Unsigned widenings witx accepts: a value of the key type fits in each listed type.
_BUILTIN_WIDER = {
    "u8": ("u16", "u32", "usize", "u64"),
    "char8": ("u16", "u32", "usize", "u64"),
    "u16": ("u32", "usize", "u64"),
    "u32": ("u64",),
    "usize": ("u64",),
}
# Tags are stricter in witx: only u16 and u32 tags may widen.
_REPR_WIDER = {IntRepr.U16: (IntRepr.U32, IntRepr.U64), IntRepr.U32: (IntRepr.U64,)}


def representable(ty: TypeRef, by: TypeRef) -> str:
    """Can every value of `ty` be represented by `by`? `EQ`, `SUPERSET` or `NOTEQ`.

    This is witx's structural check (names of typenames do not matter, case and field
    names do): `SUPERSET` means `by` can hold more values than `ty` (more enum cases,
    a wider tag, an unsigned integer widened).
    """
    a, b = resolve(ty), resolve(by)
    if isinstance(a, Handle) and isinstance(b, Handle):
        return EQ  # handles are nominal in witx: any two are compatible
    if isinstance(a, Builtin) and isinstance(b, Builtin):
        if a.name == b.name:
            return EQ
        return SUPERSET if b.name in _BUILTIN_WIDER.get(a.name, ()) else NOTEQ
    a_elem, b_elem = _list_element(a), _list_element(b)
    if a_elem is not None and b_elem is not None:
        return representable(a_elem, b_elem)
    for cls in (Pointer, ConstPointer):
        if isinstance(a, cls) and isinstance(b, cls):
            return representable(a.pointee, b.pointee)
    a_fields, b_fields = _rep_fields(a), _rep_fields(b)
    if a_fields is not None and b_fields is not None:
        if len(a_fields) != len(b_fields):
            return NOTEQ
        for fa, fb in zip(a_fields, b_fields):
            if fa.name != fb.name or representable(fa.type, fb.type) != EQ:
                return NOTEQ
        return EQ
    a_cases, b_cases = canonical_variant_cases(a), canonical_variant_cases(b)
    if a_cases is not None and b_cases is not None:
        return _variant_representable(canonical_tag(a), a_cases, canonical_tag(b), b_cases)
    return NOTEQ


def _list_element(ty: Type) -> TypeRef | None:
    if isinstance(ty, String):
        return Builtin("char")
    if isinstance(ty, List):
        return ty.element
    return None


def _rep_fields(ty: Type) -> list[Field] | None:
    if isinstance(ty, Flags):
        return [Field(f.name, Bool()) for f in ty.flags]
    return canonical_fields(ty)


def _variant_representable(
    a_tag: IntRepr | None, a_cases: list[Case], b_tag: IntRepr | None, b_cases: list[Case],
) -> str:
    superset = False
    if a_tag != b_tag:
        if b_tag not in _REPR_WIDER.get(a_tag, ()):  # type: ignore[arg-type]
            return NOTEQ
        superset = True
    b_index = {c.name: (i, c) for i, c in enumerate(b_cases)}
    for i, case in enumerate(a_cases):
        hit = b_index.get(case.name)
        if hit is None or hit[0] != i:
            return NOTEQ
        other = hit[1]
        if case.type is not None and other.type is not None:
            rep = representable(case.type, other.type)
            if rep == NOTEQ:
                return NOTEQ
            superset = superset or rep == SUPERSET
        elif case.type is not None:
            return NOTEQ  # `by` dropped a payload
        elif other.type is not None:
            superset = True  # `by` added a payload
    return SUPERSET if superset or len(a_cases) < len(b_cases) else EQ
