"""Python host glue back end: one `<module>_host.py` per unit, for wasmtime-py.

Each generated module has

* Python types for the unit's own typenames: `IntEnum` (enums, status enums and
  payload-free variants), `IntFlag` (flags), frozen dataclasses (records), a
  `<Name>Tag` `IntEnum` plus a dataclass `(tag, value)` with one constructor
  classmethod per case (variants with payloads), aliases for everything else
  (handles are plain objects: `TcpSocket = Any`);
* for every error type E of a status enum `$<e>_status` (and for a status enum used
  directly, such as the generic `$status`) an exception class `<E>Error(value)`, a
  subclass of `runtime.WitError`: the implementation raises it to return that error;
* `Impl`, a `typing.Protocol` with one method per P1 function, taking and returning
  Python values: the buffer parameters (`$buf`, `$buf_len`, `$buf_used`) and
  `$error_payload` are the glue's business; a function whose results go through the
  caller's buffer gets a keyword `result_capacity` (its size: produce no more, or the
  guest sees `buffer_too_small` after the side effect happened);
* `SPECS`, a description of every import (core signature, what each core parameter
  is, how statuses map) as data for `wit2witx.hosts.runtime`, and
  `add_to_linker(linker, store, impl, *, tables=None) -> HandleTables`, which defines
  every import with `linker.define_func(..., access_caller=True)`;
* for a module with guest exports (`Module.exports`), `call_<function>(instance, store,
  *args, tables=...)` per export: typed like the `Impl` methods, run by
  `wit2witx.hosts.exports.call` from an `ExportSpec` (what each parameter is, handles
  lent or handed over as the call plan says, how the result or status maps back).

Types owned by another unit are imported from that unit's `<unit>_host` module
(relative import inside a package, absolute otherwise), so resource handles, records
and exceptions are the same classes across modules. The run-time checks are described
in `wit2witx/hosts/runtime.py`.

Templates only format: every name and expression is computed here.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import field
from functools import lru_cache

from ..diagnostics import UnsupportedError, error
from ..p1.abi import Role
from ..p1.callplan import Ownership, ResultKind, SlotKind
from ..p1.facts import facts_of
from ..p1.names import guest_export_name, status_error_name
from ..p1.model import (
    Bool, Builtin, ConstPointer, Document, Enum, Expected, Flags, Function, Handle, List,
    OptionType, Pointer, Record, Ref, String, Tuple, TypeName, TypeRef, Union, Variant,
    canonical_variant_cases, is_enum_like, resolve,
)
from ..records import record

SUFFIX = "_host.py"
RESERVED = frozenset({
    "Impl", "SPECS", "add_to_linker", "HandleTables", "Any", "Protocol", "annotations",
    "dataclass", "enum", "typing", "_rt", "_ex", "_EXPORTS",
})

# Deepest annotation or codec expression written inline (see `_Builder._hoist`).
_MAX_INLINE_DEPTH = 4

_BUILTIN_CODEC = {
    "u8": "_rt.U8", "u16": "_rt.U16", "u32": "_rt.U32", "u64": "_rt.U64",
    "s8": "_rt.S8", "s16": "_rt.S16", "s32": "_rt.S32", "s64": "_rt.S64",
    "f32": "_rt.F32", "f64": "_rt.F64", "char": "_rt.CHAR", "usize": "_rt.USIZE",
    "char8": "_rt.CHAR8",
}


# --------------------------------------------------------------------------- names


def _unsupported(what: str, node: object = None) -> UnsupportedError:
    return UnsupportedError(error(f"the Python host glue back end cannot express {what}",
                                  getattr(node, "span", None)))


@lru_cache(maxsize=None)
def camel(name: str) -> str:
    """A class name: ASCII letters and digits only (WITX ids may hold `.`, `'`, ...)."""
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", name) if p]
    out = "".join(p[:1].upper() + p[1:] for p in parts) or "T"
    if out[0].isdigit():
        return f"T{out}"
    return out + "_" if keyword.iskeyword(out) else out  # `none` would be `None`


@lru_cache(maxsize=None)
def py_ident(name: str) -> str:
    name = re.sub(r"[^0-9A-Za-z_]", "_", name)
    if not name or name[0].isdigit():
        name = "_" + name
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name == "self":
        name += "_"
    return name


@lru_cache(maxsize=None)
def member_name(name: str) -> str:
    name = re.sub(r"[^0-9A-Za-z_]", "_", name).upper()
    if not name or name[0].isdigit():
        name = "_" + name
    if name.startswith("_") and name.endswith("_"):
        name += "X"  # `_x_` and `__x__` names are reserved by `enum`
    return name


def _fresh(taken: set[str], base: str) -> str:
    """`base`, or `base_`, `base__`, ...: the first spelling not taken yet (now taken)."""
    name = base
    while name in taken:
        name += "_"
    taken.add(name)
    return name


# --------------------------------------------------------------------------- escaping
# Docs are data. One rule makes a doc line safe both inside a `"""` docstring and
# after `#`: backslashes doubled (no escape sequence, no line continuation), a quote
# that could close the docstring escaped, and characters that would end a comment line
# or are not allowed in source (NUL, CR, the other controls, the line separators
# `str.splitlines` honours, bidirectional controls, BOM) written as `\xNN`/`\uNNNN`.
# In a docstring the value is then exactly the doc's text.

_PY_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
_PY_CLOSING_QUOTE = re.compile(r'"(?="|$)')


def _py_escape_char(m: re.Match) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def py_doc_line(line: str) -> str:
    """One line of text, safe in a docstring and in a `#` comment."""
    if "\\" in line:
        line = line.replace("\\", "\\\\")
    if '"' in line:
        line = _PY_CLOSING_QUOTE.sub('\\\\"', line)
    return _PY_UNSAFE.sub(_py_escape_char, line)


def py_doc_lines(text: str) -> list[str]:
    """A doc as lines for docstrings and comments (`py_doc_line` each), blank lines
    at both ends dropped."""
    if not text:
        return []
    lines = [py_doc_line(line.rstrip()) for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return lines


def module_stem(unit_name: str) -> str:
    return f"{unit_name}_host"


# --------------------------------------------------------------------------- view model
# View models are only read by templates, never compared or printed: `eq=False,
# repr=False` spares generating methods nobody calls (class creation is import time).


@record(slots=True, eq=False, repr=False)
class Member:
    name: str
    value: int
    docs: list[str]


@record(slots=True, eq=False, repr=False)
class PyField:
    name: str
    annotation: str
    docs: list[str]


@record(slots=True, eq=False, repr=False)
class PyCase:
    name: str  # the constructor name
    tag: str  # the tag member
    annotation: str | None  # payload annotation, None for no payload
    docs: list[str]


@record(slots=True, eq=False, repr=False)
class PyType:
    """One generated definition. `shape`: enum | flags | record | variant | alias."""

    shape: str
    name: str
    docs: list[str]
    members: list[Member] = field(default_factory=list)
    fields: list[PyField] = field(default_factory=list)
    cases: list[PyCase] = field(default_factory=list)
    tag_name: str = ""
    alias: str = ""
    witx_name: str = ""  # escaped for docstrings (`py_doc_line`)
    private: bool = False  # a hoisted annotation alias: not exported

    @property
    def doc_lines(self) -> list[str]:
        head = f"`${self.witx_name}`" + (f": {self.docs[0]}" if self.docs else "")
        return [head, *self.docs[1:]]


@record(slots=True, eq=False, repr=False)
class PyError:
    name: str
    value_annotation: str
    default: str  # default value expression ("None" if none)
    witx_name: str
    is_status: bool = False  # raised with a status case (+ an optional payload)


@record(slots=True, eq=False, repr=False)
class Codec:
    name: str
    expr: str


@record(frozen=True, slots=True)
class SpecParam:
    """One parameter of a `FuncSpec`: the runtime's kind, the name, the codec text, and
    the annotation of the `Impl` parameter it becomes (None: the glue's own, e.g. `buf`)."""

    runtime: str
    name: str
    codec: str
    annotation: str | None


@record(slots=True, eq=False, repr=False)
class Param:
    name: str
    annotation: str


@record(slots=True, eq=False, repr=False)
class ResultSpec:
    """A function's result as its FuncSpec and `Impl` method spell it (Python text):
    the status cases, the typed error raised for one, a codec of a value returned
    directly, each "None" when not there."""

    returns: str = "None"
    status_cases: str = "None"
    error_class: str = "None"
    error_cases: str = "None"
    direct: str = "None"
    #: the error type E a status stands for (the status enum itself for a generic one)
    error_typename: TypeName | None = None


@record(slots=True, eq=False, repr=False)
class PyFunc:
    witx_name: str
    method: str
    params: list[Param]
    returns: str
    docs: list[str]
    result_capacity: bool
    spec_lines: list[str]
    core_wat: str

    @property
    def doc_lines(self) -> list[str]:
        head = f"`{self.witx_name}` {self.core_wat}"
        return [head, "", *self.docs] if self.docs else [head]


@record(slots=True, eq=False, repr=False)
class PyExport:
    """A typed caller of one guest export: `call_<function>(instance, store, *params,
    tables=...)` and the `ExportSpec` it runs on (`wit2witx.hosts.exports`)."""

    witx_name: str
    function: str
    params: list[Param]
    returns: str
    tables_annotation: str  # `tables` is required when a handle crosses
    docs: list[str]
    spec_lines: list[str]
    core_wat: str
    export_name: str  # escaped like docs
    handle_lines: list[str]  # what happens to each handle that crosses (escaped)

    @property
    def doc_lines(self) -> list[str]:
        head = f"Call the guest's export `{self.export_name}` {self.core_wat}."
        lines = [head]
        for part in (self.docs, self.handle_lines):
            if part:
                lines += ["", *part]
        return lines


@record(slots=True, eq=False, repr=False)
class PyImport:
    alias: str
    module: str


@record(slots=True, eq=False, repr=False)
class PyModule:
    header: str  # escaped like docs, as are `title` and `origin`
    unit: str
    module: str | None
    title: str  # the module's name as the docstrings show it
    origin: str
    docs: list[str]
    imports: list[PyImport]
    types: list[PyType]
    errors: list[PyError]
    codecs: list[Codec]
    functions: list[PyFunc]
    exports: list[str]
    case_tuples: list[tuple[str, str]]  # (constant name, tuple text)
    guest_exports: list[PyExport] = field(default_factory=list)

    @property
    def needs_enum(self) -> bool:
        return any(t.shape in ("enum", "flags", "variant") for t in self.types)

    @property
    def needs_dataclass(self) -> bool:
        return any(t.shape in ("record", "variant") for t in self.types)


_docs = py_doc_lines


@record(slots=True, eq=False, repr=False)
class UnitNames:
    """Every module-level name one unit's glue gives its typenames, decided once, so
    that the unit's module and every module importing its types spell them alike.
    Keys are `id(TypeName)`; `taken` holds every name used (RESERVED included)."""

    classes: dict[int, str]
    tags: dict[int, str]  # the `<Name>Tag` enum of a variant with payloads
    errors: dict[int, str]  # the `<E>Error` exception of an enum-like typename
    codecs: dict[int, str]
    taken: set[str]


def _has_tag_class(tn: TypeName) -> bool:
    ty = tn.type
    return isinstance(ty, (Variant, Union)) and not _option_like(ty) and not is_enum_like(ty)


def unit_names(unit) -> UnitNames:
    """Class names first (in definition order, clashes get `_`), then variant tags,
    exceptions and codecs, each fresh: distinct spellings for distinct things."""
    taken = set(RESERVED)
    tns = unit.own_typenames
    classes = {id(tn): _fresh(taken, camel(tn.name)) for tn in tns}
    tags = {id(tn): _fresh(taken, classes[id(tn)] + "Tag") for tn in tns if _has_tag_class(tn)}
    errors = {id(tn): _fresh(taken, camel(tn.name) + "Error") for tn in tns
              if canonical_variant_cases(resolve(tn.type)) is not None}
    codecs = {id(tn): _fresh(taken, f"_C_{py_ident(tn.name)}") for tn in tns}
    return UnitNames(classes, tags, errors, codecs, taken)


class Naming:
    """The units of one run: who owns each typename, and each unit's `UnitNames`."""

    def __init__(self, units) -> None:
        self.owners = owners_of(units)
        self._units = {unit.name: unit for unit in units}
        self._names: dict[str, UnitNames] = {}

    def of(self, unit_name: str) -> UnitNames | None:
        names = self._names.get(unit_name)
        if names is None:
            unit = self._units.get(unit_name)
            if unit is None:
                return None
            names = self._names[unit_name] = unit_names(unit)
        return names


class _Builder:
    """Builds the view of one unit; knows which unit owns every typename."""

    def __init__(self, unit, naming: Naming, program) -> None:
        self.unit = unit
        self.doc: Document = unit.document
        self.naming = naming
        self.owners = naming.owners
        self.own_names = naming.of(unit.name) or unit_names(unit)
        self.program = program
        self.facts = facts_of(program)
        self.used_units: dict[str, str] = {}  # unit name -> alias
        self.taken: set[str] = set(self.own_names.taken)
        self.method_names: set[str] = set()
        # definitions hoisted out of deep expressions (see `_hoist`), not yet placed
        self.pending_aliases: list[PyType] = []
        self.pending_codecs: list[Codec] = []
        self._hoisted: dict[str, str] = {}  # expression -> its name
        self.errors: dict[str, PyError] = {}
        # case-name tuples shared by the FuncSpecs: tuple text -> module constant name
        self.case_tuples: dict[str, str] = {}
        self._case_texts: dict[int, tuple[object, str]] = {}  # id(case list) -> (it, text)
        self.module_name = unit.module.name if unit.module is not None else None

    # -- ownership and naming

    def owner(self, tn: TypeName) -> str:
        return self.owners.get(id(tn), self.unit.name)

    def is_own(self, tn: TypeName) -> bool:
        return self.owner(tn) == self.unit.name

    def _fresh(self, base: str) -> str:
        return _fresh(self.taken, base)

    def _qual(self, tn: TypeName, local: str) -> str:
        if self.is_own(tn):
            return local
        unit = self.owner(tn)
        alias = self.used_units.get(unit)
        if alias is None:
            alias = self.used_units[unit] = self._fresh(f"_u_{py_ident(unit)}")
        return f"{alias}.{local}"

    def _names_of(self, tn: TypeName) -> UnitNames:
        return self.own_names if self.is_own(tn) else (self.naming.of(self.owner(tn)) or self.own_names)

    def class_name(self, tn: TypeName) -> str:
        """The local spelling of the Python name of `tn` (foreign names are qualified)."""
        return self._qual(tn, self._names_of(tn).classes.get(id(tn)) or camel(tn.name))

    def codec_name(self, tn: TypeName) -> str:
        return self._qual(tn, self._names_of(tn).codecs.get(id(tn)) or f"_C_{py_ident(tn.name)}")

    def error_class(self, etn: TypeName) -> str:
        return self._qual(etn, self._error_name(etn))

    def _error_name(self, etn: TypeName) -> str:
        return self._names_of(etn).errors.get(id(etn)) or camel(etn.name) + "Error"

    def resource_key(self, tn: TypeName) -> str:
        return f"{self.owner(tn)}.{tn.name}"

    # -- types

    # Expressions for anonymous types nest as deep as the type: a tuple 67 deep would
    # exceed the parser's nesting limit (200 brackets). Every annotation and codec is
    # built with its bracket depth; a part that reaches _MAX_INLINE_DEPTH is hoisted
    # into a module-level name (`_T<n>` annotation alias, `_K<n>` codec), defined
    # just before the definition that needs it: generated code stays flat whatever the
    # depth of the input, and ordinary types are written inline as before.

    def _hoist(self, expr: str, kind: str) -> str:
        key = kind + expr
        name = self._hoisted.get(key)
        if name is None:
            name = self._hoisted[key] = self._fresh(f"_{kind}{len(self._hoisted)}")
            if kind == "T":
                self.pending_aliases.append(PyType("alias", name, [], alias=expr, private=True))
            else:
                self.pending_codecs.append(Codec(name, expr))
        return name

    def annotation(self, tref: TypeRef | None) -> str:
        text, _ = self._annotation(tref)
        return text

    def _ann_part(self, tref: TypeRef) -> tuple[str, int]:
        text, depth = self._annotation(tref)
        if depth >= _MAX_INLINE_DEPTH:
            return self._hoist(text, "T"), 0
        return text, depth

    def _annotation(self, tref: TypeRef | None) -> tuple[str, int]:  # noqa: PLR0911
        if tref is None:
            return "None", 0
        if isinstance(tref, Ref):
            return self.class_name(tref.target), 0
        ty = tref
        if isinstance(ty, Builtin):
            if ty.name in ("f32", "f64"):
                return "float", 0
            return ("str" if ty.name == "char" else "int"), 0
        if isinstance(ty, String):
            return "str", 0
        if isinstance(ty, List):
            el = resolve(ty.element)
            if isinstance(el, Builtin) and el.name in ("u8", "char8"):
                return "bytes", 0
            text, depth = self._ann_part(ty.element)
            return f"list[{text}]", depth + 1
        if isinstance(ty, (Pointer, ConstPointer)):
            return "_rt.GuestPointer", 0
        if isinstance(ty, Bool):
            return "bool", 0
        if isinstance(ty, Tuple):
            if not ty.types:
                return "tuple[()]", 1
            parts = [self._ann_part(t) for t in ty.types]
            return "tuple[" + ", ".join(t for t, _ in parts) + "]", 1 + max(d for _, d in parts)
        if isinstance(ty, OptionType):
            text, depth = self._ann_part(ty.some)
            return f"{text} | None", depth
        if _option_like(ty):
            text, depth = self._ann_part(ty.cases[1].type)
            return f"{text} | None", depth
        if isinstance(ty, Expected):
            return "_rt.Ok | _rt.Err", 0
        if isinstance(ty, Handle):
            return "Any", 0
        if isinstance(ty, (Enum, Flags)):
            return "int", 0
        return "_rt.VariantValue", 0

    def codec(self, tref: TypeRef) -> str:
        text, _ = self._codec(tref)
        return text

    def _codec_part(self, tref: TypeRef | None) -> tuple[str, int]:
        if tref is None:
            return "None", 0
        text, depth = self._codec(tref)
        if depth >= _MAX_INLINE_DEPTH:
            return self._hoist(text, "K"), 0
        return text, depth

    def _codec(self, tref: TypeRef) -> tuple[str, int]:  # noqa: PLR0911
        """A codec expression and its depth (nested codec constructors)."""
        if isinstance(tref, Ref):
            return self.codec_name(tref.target), 0
        ty = tref
        if isinstance(ty, Builtin):
            return _BUILTIN_CODEC[ty.name], 0
        if isinstance(ty, String):
            return "_rt.STRING", 0
        if isinstance(ty, List):
            text, depth = self._codec_part(ty.element)
            return f"_rt.ListOf({text})", depth + 1
        if isinstance(ty, (Pointer, ConstPointer)):
            text, depth = self._codec_part(ty.pointee)
            return f"_rt.Pointer({text})", depth + 1
        if isinstance(ty, Bool):
            return "_rt.BOOL", 0
        sa = self.facts.size_align(ty)
        if isinstance(ty, Tuple):
            parts = [(f, self._codec_part(f.type)) for f in self.facts.record_layout(ty)]
            members = ", ".join(f"({f.name!r}, {f.offset}, {c})" for f, (c, _) in parts)
            return (f"_rt.Record({sa.size}, {sa.align}, None, [{members}])",
                    1 + max((d for _, (_, d) in parts), default=0))
        if isinstance(ty, OptionType) or _option_like(ty):
            vl = self.facts.variant_layout(ty)
            some = ty.some if isinstance(ty, OptionType) else ty.cases[1].type
            text, depth = self._codec_part(some)
            return (f"_rt.Option({vl.tag_size}, {vl.payload_offset}, {sa.size}, {sa.align}, {text})",
                    depth + 1)
        if isinstance(ty, Expected):
            vl = self.facts.variant_layout(ty)
            ok, dok = self._codec_part(ty.ok)
            err, derr = self._codec_part(ty.err)
            return (f"_rt.Expected({vl.payload_offset}, {sa.size}, {sa.align}, {ok}, {err})",
                    1 + max(dok, derr))
        if isinstance(ty, Handle):
            raise _unsupported("an anonymous `(handle)` (it needs a typename)", ty)
        cases = canonical_variant_cases(ty)
        if cases is not None:  # an anonymous enum or variant: generic values
            vl = self.facts.variant_layout(ty)
            if is_enum_like(ty):
                return f"_rt.Enum({vl.tag_size}, int, {len(cases)}, {sa.size}, {sa.align})", 1
            parts = [self._codec_part(c.type) for c in cases]
            payloads = ", ".join(t for t, _ in parts)
            return (f"_rt.Variant({vl.tag_size}, {vl.payload_offset}, {sa.size}, {sa.align}, "
                    f"_rt.VariantValue, int, [{payloads}])", 1 + max((d for _, d in parts), default=0))
        if isinstance(ty, Flags):
            return f"_rt.Flags({ty.repr.size}, int, {len(ty.flags)})", 1
        raise _unsupported(f"a `{ty.kind}` here", ty)

    def typename(self, tn: TypeName) -> tuple[PyType, Codec]:
        name = self.own_names.classes[id(tn)]
        cname = self.own_names.codecs[id(tn)]
        docs = _docs(tn.docs)
        witx_name = py_doc_line(tn.name)
        ty = tn.type
        if isinstance(ty, Ref):
            return (PyType("alias", name, docs, alias=self.annotation(ty), witx_name=witx_name),
                    Codec(cname, self.codec(ty)))
        if isinstance(ty, Enum):
            members = _members(ty.cases, lambda i: i)
            return (PyType("enum", name, docs, members=members, witx_name=witx_name),
                    Codec(cname, f"_rt.Enum({ty.tag.size}, {name}, {len(ty.cases)})"))
        if isinstance(ty, Flags):
            members = _members(ty.flags, lambda i: 1 << i)
            return (PyType("flags", name, docs, members=members, witx_name=witx_name),
                    Codec(cname, f"_rt.Flags({ty.repr.size}, {name}, {len(ty.flags)})"))
        if isinstance(ty, Record):
            sa = self.facts.size_align(ty)
            fls = self.facts.record_layout(ty)
            taken: set[str] = set()
            idents = [_fresh(taken, py_ident(f.name)) for f in fls]
            fields = [PyField(ident, self.annotation(f.type), _docs(f.docs)) for ident, f in zip(idents, fls)]
            members = ", ".join(f"({ident!r}, {f.offset}, {self._codec_part(f.type)[0]})"
                                for ident, f in zip(idents, fls))
            return (PyType("record", name, docs, fields=fields, witx_name=witx_name),
                    Codec(cname, f"_rt.Record({sa.size}, {sa.align}, {name}, [{members}])"))
        if _option_like(ty):
            sa = self.facts.size_align(ty)
            vl = self.facts.variant_layout(ty)
            some = ty.cases[1].type
            return (PyType("alias", name, docs, alias=f"{self._ann_part(some)[0]} | None", witx_name=witx_name),
                    Codec(cname, f"_rt.Option({vl.tag_size}, {vl.payload_offset}, {sa.size}, "
                                 f"{sa.align}, {self._codec_part(some)[0]})"))
        if isinstance(ty, (Variant, Union)):
            sa = self.facts.size_align(ty)
            vl = self.facts.variant_layout(ty)
            if is_enum_like(ty):
                members = _members(ty.cases, lambda i: i)
                return (PyType("enum", name, docs, members=members, witx_name=witx_name),
                        Codec(cname, f"_rt.Enum({vl.tag_size}, {name}, {len(ty.cases)}, {sa.size}, {sa.align})"))
            tag = self.own_names.tags[id(tn)]
            tags = _members(ty.cases, lambda i: i)
            constructors: set[str] = {"tag", "value"}  # the dataclass's own fields
            cases = [
                PyCase(_fresh(constructors, py_ident(c.name)), t.name,
                       None if c.type is None else self.annotation(c.type), t.docs)
                for c, t in zip(ty.cases, tags)
            ]
            payloads = ", ".join(self._codec_part(c.type)[0] for c in ty.cases)
            return (PyType("variant", name, docs, cases=cases, tag_name=tag, witx_name=witx_name),
                    Codec(cname, f"_rt.Variant({vl.tag_size}, {vl.payload_offset}, {sa.size}, "
                                 f"{sa.align}, {name}, {tag}, [{payloads}])"))
        if isinstance(ty, Handle):
            return (PyType("alias", name, docs or [f"A `{witx_name}` resource: any Python object the implementation hands out."],
                           alias="Any", witx_name=witx_name),
                    Codec(cname, f"_rt.Handle({self.resource_key(tn)!r})"))
        return (PyType("alias", name, docs, alias=self._ann_part(ty)[0], witx_name=witx_name),
                Codec(cname, self._codec_part(ty)[0]))

    # -- errors

    def error_type_of(self, status: TypeName) -> TypeName:
        """E for a status enum `$<e>_status` (when `$<e>` exists), else the status itself."""
        ename = status_error_name(status.name)  # `$<e>_status`, `$<e>_status_` (a clash)
        if ename is not None:
            etn = self.doc.typename(ename)
            if etn is not None and canonical_variant_cases(resolve(etn.type)) is not None:
                return etn
        return status

    def own_error(self, etn: TypeName, status: TypeName) -> PyError:
        name = self._error_name(etn)
        default = "None"
        ety = resolve(etn.type)
        if etn is status and isinstance(ety, Enum):
            for member, case in zip(_members(ety.cases, lambda i: i), ety.cases):
                if case.name == "error":
                    default = f"{self.class_name(etn)}.{member.name}"
        return PyError(name, self.class_name(etn), default, py_doc_line(etn.name), etn is status)

    # -- functions

    def function(self, func: Function) -> PyFunc:
        sig = self.facts.core_signature(func)
        plan = self.facts.call_plan(func, self.unit.document)
        spec_params, py_params = self._params(plan, func)
        res = self._result(func, sig)
        method = _fresh(self.method_names, py_ident(func.name))
        spec = [
            f"module={self.module_name!r}",
            f"name={func.name!r}",
            f"method={method!r}",
            "params=(" + "".join(p + ", " for p in spec_params) + ")",
            "core_params=(" + "".join(f"{t!r}, " for t in sig.param_types) + ")",
            "core_results=(" + "".join(f"{t!r}, " for t in sig.result_types) + ")",
            f"status_cases={res.status_cases}",
            f"error_class={res.error_class}",
            f"error_cases={res.error_cases}",
            f"direct={res.direct}",
            f"drop_key={self._drop_key(func)}",
        ]
        status = plan.result.status
        if res.status_cases != "None" and status is not None:
            # the glue's own statuses as the call plan has them (the C glue's too)
            spec.append(f"glue_statuses=({''.join(f'{g.value}, ' for g in status.glue)})")
        return PyFunc(py_doc_line(func.name), method, py_params, res.returns, _docs(func.docs),
                      plan.result.buffer is not None, spec,
                      f"(func {sig.to_wat()})".replace(" )", ")"))

    def _params(self, plan, func: Function) -> tuple[list[str], list[Param]]:
        """The FuncSpec's parameter entries and the `Impl` method's parameters."""
        spec_params: list[str] = []
        py_params: list[Param] = []
        # parameter names: distinct, and never `self` or the glue's own keyword
        param_names: set[str] = {"self", "result_capacity"}
        for slot in plan.slots:
            for sp in self._slot_specs(slot, func):
                name = sp.name
                if sp.annotation is not None:  # an Impl parameter (else the glue's own)
                    name = _fresh(param_names, py_ident(sp.name))
                    py_params.append(Param(name, sp.annotation))
                spec_params.append(f"({sp.runtime}, {name!r}, {sp.codec})")
        return spec_params, py_params

    def _result(self, func: Function, sig) -> ResultSpec:
        """How the result reaches the guest: a status (and the typed error it stands
        for), a value returned directly, or nothing."""
        if not func.results:
            return ResultSpec()
        r = func.results[0]
        rty = resolve(r.type)
        status_res = [c for c in sig.results if c.role is Role.STATUS]
        rcases = canonical_variant_cases(rty) if status_res or isinstance(rty, Expected) else None
        if rcases is not None and len(rcases) == 2:
            # (expected T (error S)) or alike
            return self._status_result(rcases[0].type, rcases[1].type)
        if status_res:
            raise _unsupported(f"the result of `{func.name}` (not an expected)", func)
        returns = self.annotation(r.type)
        direct = self.codec(r.type) if not isinstance(rty, Handle) else "None"
        return ResultSpec(returns=returns, direct=direct)

    def _status_result(self, ok_t: TypeRef | None, err_t: TypeRef | None) -> ResultSpec:
        res = ResultSpec(returns=self._ok_annotation(ok_t))
        if err_t is None:
            res.status_cases = "('ok', 'err')"
            return res
        stn = _named(err_t)
        res.status_cases = self.case_tuple(canonical_variant_cases(resolve(err_t)) or [])
        if stn is None:
            return res
        etn = self.error_type_of(stn)
        res.error_class = self.error_class(etn)
        res.error_typename = etn
        if etn is not stn:
            res.error_cases = self.case_tuple(canonical_variant_cases(resolve(etn.type)) or [])
        if self.is_own(etn) and etn.name not in self.errors:
            self.errors[etn.name] = self.own_error(etn, stn)
        return res

    def _drop_key(self, func: Function) -> str:
        """The resource key of a `<r>_drop` (its FuncSpec's `drop_key`), else "None"."""
        if func.name.endswith("_drop") and len(func.params) == 1:
            tn = _named(func.params[0].type)
            if (tn is not None and func.name == f"{tn.name}_drop"
                    and isinstance(resolve(tn.type), Handle)):
                return repr(self.resource_key(tn))
        return "None"

    # -- guest exports: typed callers (`wit2witx.hosts.exports`)

    def export(self, func: Function) -> PyExport:
        sig = self.facts.core_signature(func)
        plan = self.facts.call_plan(func, self.unit.document)
        # parameter names: distinct, and never a name of the caller or its body
        names: set[str] = {"instance", "store", "tables", "_ex", "_EXPORTS"}
        params: list[Param] = []
        spec_params: list[str] = []
        handle_lines: list[str] = []
        for slot in plan.slots:
            kind, arg = self._export_param(slot, func)
            name = _fresh(names, py_ident(slot.name))
            params.append(Param(name, self.annotation(slot.core[0].type)))
            spec_params.append(f"({kind}, {name!r}, {arg})")
            if kind != "_ex.VALUE":
                how = "lent for the call" if kind == "_ex.BORROW" else "handed over"
                handle_lines.append(py_doc_line(f"`{name}`: a `{slot.resource.name}`, {how}."))
        result, returns = self._export_result(func, plan, sig)
        if plan.result.kind is ResultKind.HANDLE:
            handle_lines.append(f"Returns the `{returns}` the guest hands over.")
        export_name = guest_export_name(self.module_name or "", func.name)
        spec = [
            f"module={self.module_name!r}",
            f"name={func.name!r}",
            f"export={export_name!r}",
            "params=(" + "".join(p + ", " for p in spec_params) + ")",
            *result,
        ]
        return PyExport(
            py_doc_line(func.name), _fresh(self.taken, "call_" + py_ident(func.name)), params,
            returns, "HandleTables" if handle_lines else "HandleTables | None = None",
            _docs(func.docs), spec, f"(func {sig.to_wat()})".replace(" )", ")"),
            py_doc_line(export_name), handle_lines)

    def _export_param(self, slot, func: Function) -> tuple[str, str]:
        """The `ExportSpec` kind and argument of one parameter: only values and handles
        cross (the host has no memory in the guest to pass more)."""
        if slot.kind in (SlotKind.SCALAR, SlotKind.ENUM, SlotKind.FLAGS):
            return "_ex.VALUE", self.codec(slot.core[0].type)
        if slot.kind is SlotKind.HANDLE and slot.resource is not None:
            kind = "_ex.BORROW" if slot.ownership is Ownership.BORROW else "_ex.OWN"
            return kind, repr(self.resource_key(slot.resource))
        if slot.kind in (SlotKind.OUT, SlotKind.BUFFER, SlotKind.ERROR_PAYLOAD):
            raise _unsupported_export_result(func)
        raise _unsupported(f"the parameter `{slot.name}` of the guest export `{func.name}` "
                           "(only scalars, enums, flags and handles)", func)

    def _export_result(self, func: Function, plan, sig) -> tuple[list[str], str]:
        """The `ExportSpec` lines of the result, and the caller's return annotation."""
        kind = plan.result.kind
        if kind is ResultKind.NONE:
            return ["result=_ex.NONE"], "None"
        res = self._result(func, sig)
        if kind is ResultKind.STATUS and res.returns == "None":
            etn = res.error_typename
            return [
                "result=_ex.STATUS",
                f"status_cases={res.status_cases}",
                f"error_class={res.error_class}",
                f"error_type={self.class_name(etn) if etn is not None else 'None'}",
                f"error_cases={res.error_cases}",
            ], "None"
        if kind is ResultKind.HANDLE:
            tn = _named(func.results[0].type)
            if tn is not None:
                return ["result=_ex.HANDLE", f"direct={self.resource_key(tn)!r}"], res.returns
        elif kind is ResultKind.VALUE:
            return ["result=_ex.VALUE", f"direct={res.direct}"], res.returns
        raise _unsupported_export_result(func)

    # -- parameters, by the kind of their slot in the call plan

    def _slot_specs(self, slot, func: Function) -> list[SpecParam]:
        """What a slot passes to the runtime, one entry per spec parameter."""
        return _SLOT_SPECS[slot.kind](self, slot, func)

    def _value_spec(self, slot, func) -> list[SpecParam]:
        cp = slot.core[0]
        return [SpecParam("_rt.VALUE", slot.name, self.codec(cp.type), self.annotation(cp.type))]

    def _handle_spec(self, slot, func) -> list[SpecParam]:
        if slot.resource is None:
            raise _unsupported(f"the anonymous handle parameter `{slot.name}` of `{func.name}`", func)
        cp = slot.core[0]
        return [SpecParam("_rt.HANDLE", slot.name, repr(self.resource_key(slot.resource)),
                          self.annotation(cp.type))]

    def _span_spec(self, slot, func) -> list[SpecParam]:
        pointer, length = slot.core
        ty = resolve(pointer.type)
        if slot.utf8:  # text (`SpanSlot.utf8`): decoded strictly, so ill-formed is `bad_value`
            return [SpecParam("_rt.LIST", slot.name, "_rt.STRING", "str")]
        if isinstance(ty, ConstPointer):  # `x: const_pointer T` + `x_len`: read-only
            codec, ann = self._span_codec(ty.pointee)
            return [SpecParam("_rt.LIST", slot.name, codec, ann)]
        if isinstance(ty, Pointer):  # a span the host writes: the pointer and length as given
            return [SpecParam("_rt.POINTER", slot.name, self.codec(ty.pointee), self.annotation(pointer.type)),
                    SpecParam("_rt.VALUE", length.source, self.codec(length.type), self.annotation(length.type))]
        return [SpecParam("_rt.LIST", slot.name, self.codec(pointer.type), self.annotation(pointer.type))]

    def _by_ref_spec(self, slot, func) -> list[SpecParam]:
        cp = slot.core[0]
        return [SpecParam("_rt.BY_REF", slot.name, self.codec(cp.type), self.annotation(cp.type))]

    def _pointer_spec(self, slot, func) -> list[SpecParam]:
        cp = slot.core[0]
        return [SpecParam("_rt.POINTER", slot.name, self.codec(slot.pointee), self.annotation(cp.type))]

    def _buffer_spec(self, slot, func) -> list[SpecParam]:
        return [SpecParam("_rt.BUF", slot.name, "None", None)]

    def _error_payload_spec(self, slot, func) -> list[SpecParam]:
        return [SpecParam("_rt.ERROR_PAYLOAD", slot.name, self.codec(slot.value.type), None)]

    def _out_spec(self, slot, func) -> list[SpecParam]:
        cp = slot.core[0]
        return [SpecParam("_rt.OUT", cp.name, self.codec(cp.type), None)]

    def case_tuple(self, cases) -> str:
        """The module constant holding these case names: a status enum's cases are
        the same for every function returning it, so they are written once."""
        hit = self._case_texts.get(id(cases))
        if hit is None or hit[0] is not cases:
            text = "(" + "".join(f"{c.name!r}, " for c in cases) + ")"
            hit = self._case_texts[id(cases)] = (cases, text)
        text = hit[1]
        if text not in self.case_tuples:
            self.case_tuples[text] = f"_CASES_{len(self.case_tuples)}"
        return self.case_tuples[text]

    def _span_codec(self, pointee: TypeRef) -> tuple[str, str]:
        """Codec and annotation of a `const_pointer T` + `_len` list parameter that is
        no string (strings are `_span_spec`'s)."""
        el = resolve(pointee)
        if isinstance(el, Builtin) and el.name == "u8":
            return "_rt.ListOf(_rt.U8)", "bytes"
        return f"_rt.ListOf({self._codec_part(pointee)[0]})", f"list[{self._ann_part(pointee)[0]}]"

    def _ok_annotation(self, ok: TypeRef | None) -> str:
        if ok is None:
            return "None"
        return self.annotation(ok)


#: how each kind of slot reaches the runtime (`_Builder._slot_specs`)
_SLOT_SPECS = {
    SlotKind.SCALAR: _Builder._value_spec,
    SlotKind.ENUM: _Builder._value_spec,
    SlotKind.FLAGS: _Builder._value_spec,
    SlotKind.HANDLE: _Builder._handle_spec,
    SlotKind.DROP: _Builder._handle_spec,
    SlotKind.SPAN: _Builder._span_spec,
    SlotKind.BY_REF: _Builder._by_ref_spec,
    SlotKind.POINTER: _Builder._pointer_spec,
    SlotKind.BUFFER: _Builder._buffer_spec,
    SlotKind.ERROR_PAYLOAD: _Builder._error_payload_spec,
    SlotKind.OUT: _Builder._out_spec,
}


def _unsupported_export_result(func: Function) -> UnsupportedError:
    return _unsupported(f"the result of the guest export `{func.name}` (only none, a status, "
                        "a scalar, enum, flags or handle: the host has no memory in the guest)", func)


def _members(cases, value) -> list[Member]:
    """Enum/flags members (or variant tags): distinct upper-case names, in order."""
    taken: set[str] = set()
    return [Member(_fresh(taken, member_name(c.name)), value(i), _docs(c.docs))
            for i, c in enumerate(cases)]


def _named(tref: TypeRef | None) -> TypeName | None:
    while isinstance(tref, Ref):
        tn = tref.target
        if tn is None:
            return None
        if not isinstance(tn.type, Ref):
            return tn
        tref = tn.type
    return None


def _option_like(ty) -> bool:
    """A variant `none | some(T)`: WITX's spelling of option<T> (Python: None or T)."""
    return (isinstance(ty, Variant) and len(ty.cases) == 2 and ty.cases[0].name == "none"
            and ty.cases[0].type is None and ty.cases[1].name == "some"
            and ty.cases[1].type is not None)


def build_view(unit, naming: Naming, program) -> PyModule:
    b = _Builder(unit, naming, program)
    types: list[PyType] = []
    codecs: list[Codec] = []
    for tn in unit.own_typenames:
        t, c = b.typename(tn)
        types.extend(b.pending_aliases)  # what `t` and `c` refer to comes first
        codecs.extend(b.pending_codecs)
        b.pending_aliases.clear()
        b.pending_codecs.clear()
        types.append(t)
        codecs.append(c)
    functions = []
    guest_exports = []
    if unit.module is not None:
        functions = [b.function(f) for f in unit.module.functions]
        guest_exports = [b.export(f) for f in unit.module.exports]
    types.extend(b.pending_aliases)
    codecs.extend(b.pending_codecs)
    # exceptions of own error types used by no function of this unit (another unit's
    # functions raise them): every own status enum `$<e>_status` gets one
    for tn in unit.own_typenames:
        if status_error_name(tn.name) is not None and isinstance(resolve(tn.type), Enum):
            etn = b.error_type_of(tn)
            if b.is_own(etn) and etn.name not in b.errors:
                b.errors[etn.name] = b.own_error(etn, tn)
    order = {t.witx_name: i for i, t in enumerate(types) if not t.private}
    errors = sorted(b.errors.values(), key=lambda e: order.get(e.witx_name, -1))
    imports = [PyImport(alias, module_stem(u)) for u, alias in sorted(b.used_units.items())]
    public = [t for t in types if not t.private]
    exports = ([t.name for t in public] + [t.tag_name for t in public if t.tag_name]
               + [e.name for e in errors] + ["Impl", "SPECS", "add_to_linker"]
               + [e.function for e in guest_exports])
    header = program.header_line() if hasattr(program, "header_line") else "Generated by wit2witx."
    return PyModule(
        header=py_doc_line(header), unit=unit.name, module=unit.module.name if unit.module else None,
        title=py_doc_line(unit.module.name if unit.module else unit.name),
        origin=py_doc_line(unit.origin), docs=_docs(unit.module.docs) if unit.module else [],
        imports=imports, types=types, errors=errors, codecs=codecs, functions=functions,
        exports=exports, case_tuples=[(name, text) for text, name in b.case_tuples.items()],
        guest_exports=guest_exports,
    )


# --------------------------------------------------------------------------- rendering


def owners_of(units) -> dict[int, str]:
    owners: dict[int, str] = {}
    for unit in units:
        for d in unit.own:
            if isinstance(d, TypeName):
                owners.setdefault(id(d), unit.name)
    return owners


def render_unit(unit, naming: Naming, program) -> str:
    from .templating import render, template_dirs  # noqa: PLC0415

    return render("host_py/module.py.j2", build_view(unit, naming, program),
                  templates=template_dirs(program))


def emit_files(program) -> dict[str, str]:
    """`<unit>_host.py` for every unit of the program."""
    naming = Naming(program.units)
    return {unit.name + SUFFIX: render_unit(unit, naming, program) for unit in program.units}


__all__ = ["emit_files", "build_view", "render_unit", "camel", "py_ident"]
