"""The unresolved WIT syntax tree: what one .wit file says, with a span on every node.

Mirrors wit-parser's `ast` module: names are not looked up here (that is
`resolve.py`), so a `NamedType` is just an identifier. Identifiers written with the
`%` escape (`%record`) are stored without it.

Docs: as in wit-parser (whose `parse_docs` takes every comment token before an item),
*all* the comments between the previous token and the item's first token are its docs,
not only `///` and `/** */`: plain `//` and `/* ... */` comments count too. The text is
wit-parser's `docs()` (see `parser._docs_text`): a `/** ... */` comment loses `/**` and
`*/`; any other comment loses only its leading slashes (`//`, `///`, ...; a `/* ... */`
comment thus keeps `* ... */`); each piece loses trailing blanks, then the indentation
(in spaces) common to the non-empty pieces, and the pieces are joined one per line with
"\n" (trailing newlines dropped). An item with no comment before it has docs None; an
item with attributes takes the comments before its first `@`.
"""

from __future__ import annotations

from dataclasses import field
from typing import Union

from ..diagnostics import Span
from ..records import record


@record(slots=True)
class Id:
    name: str
    span: Span


# --- attributes: feature gates and external ids ---------------------------------------


@record(slots=True)
class Since:
    version: str  # semver text, e.g. "0.2.0"
    span: Span


@record(slots=True)
class Unstable:
    feature: Id
    span: Span


@record(slots=True)
class Deprecated:
    version: str
    span: Span


@record(slots=True)
class ExternalId:
    """`@external-id("...")`: an opaque string carried through to the resolved model
    (the component model's `external-id` of an import/export); not a feature gate."""

    id: str  # the decoded string literal
    span: Span  # the whole attribute, from `@`
    name_span: Span  # `external-id` alone: where wit-parser reports a second one


Attribute = Union[Since, Unstable, Deprecated, ExternalId]


# --- types ---------------------------------------------------------------------------

PRIMITIVES = (
    "bool", "s8", "u8", "s16", "u16", "s32", "u32", "s64", "u64",
    "f32", "f64", "char", "string",
)


@record(slots=True)
class Primitive:
    name: str  # one of PRIMITIVES ("float32"/"float64" are normalised to f32/f64)
    span: Span


@record(slots=True)
class NamedType:
    """A reference to a type by name, resolved later."""

    name: Id
    span: Span


@record(slots=True)
class ListType:
    element: "Type"
    span: Span
    size: int | None = None  # list<T, N>: fixed-size list
    size_span: Span | None = None


@record(slots=True)
class MapType:
    key: "Type"
    value: "Type"
    span: Span


@record(slots=True)
class OptionType:
    inner: "Type"
    span: Span


@record(slots=True)
class ResultType:
    ok: "Type | None"  # None for `_` or a bare `result`
    err: "Type | None"
    span: Span


@record(slots=True)
class TupleType:
    types: list["Type"]
    span: Span


@record(slots=True)
class HandleType:
    kind: str  # "own" | "borrow"
    resource: Id
    span: Span


@record(slots=True)
class FutureType:
    inner: "Type | None"
    span: Span


@record(slots=True)
class StreamType:
    inner: "Type | None"
    span: Span


@record(slots=True)
class ErrorContextType:
    span: Span


Type = Union[
    Primitive, NamedType, ListType, MapType, OptionType, ResultType, TupleType,
    HandleType, FutureType, StreamType, ErrorContextType,
]


# --- functions -----------------------------------------------------------------------


@record(slots=True)
class Param:
    name: Id
    type: Type


@record(slots=True)
class Func:
    params: list[Param]
    result: Type | None
    span: Span  # from `func` (or `async`) to the end of the signature
    is_async: bool = False


@record(slots=True)
class NamedFunc:
    """`name: func(...)` in an interface or world; methods/statics in a resource."""

    name: Id
    func: Func
    docs: str | None = None
    attributes: list[Attribute] = field(default_factory=list)
    span: Span | None = None  # the whole item


# --- type definitions ----------------------------------------------------------------


@record(slots=True)
class Field:
    name: Id
    type: Type
    docs: str | None = None
    attributes: list[Attribute] = field(default_factory=list)


@record(slots=True)
class Case:
    """A variant case (type may be None) or an enum case / flag (type always None)."""

    name: Id
    type: Type | None = None
    docs: str | None = None
    attributes: list[Attribute] = field(default_factory=list)


@record(slots=True)
class Record:
    fields: list[Field]
    span: Span


@record(slots=True)
class Variant:
    cases: list[Case]
    span: Span


@record(slots=True)
class Enum:
    cases: list[Case]
    span: Span


@record(slots=True)
class Flags:
    flags: list[Case]
    span: Span


@record(slots=True)
class ResourceFunc:
    kind: str  # "constructor" | "method" | "static"
    func: NamedFunc  # a constructor's name is the Id of the `constructor` keyword


@record(slots=True)
class Resource:
    funcs: list[ResourceFunc]
    span: Span


@record(slots=True)
class Alias:
    """`type name = T;`"""

    target: Type
    span: Span


TypeDefKind = Union[Alias, Record, Variant, Enum, Flags, Resource]


@record(slots=True)
class TypeDef:
    name: Id
    kind: TypeDefKind
    docs: str | None = None
    attributes: list[Attribute] = field(default_factory=list)
    span: Span | None = None  # the whole item


# --- use / include -------------------------------------------------------------------


@record(slots=True)
class PackageName:
    namespace: Id
    name: Id
    version: str | None
    span: Span  # `ns:name@1.2.3`
    version_span: Span | None = None
    # Nested namespaces/names (`ns:a/b` style package paths) are not WIT; kept simple.

    @property
    def text(self) -> str:
        base = f"{self.namespace.name}:{self.name.name}"
        return f"{base}@{self.version}" if self.version else base


@record(slots=True)
class LocalPath:
    """`use iface.{...}` / `import iface;` — an interface of the current package."""

    name: Id
    span: Span


@record(slots=True)
class PackagePath:
    """`ns:pkg/iface@1.0.0` — an interface or world of another package."""

    package: PackageName
    name: Id  # the interface (or world, for include) inside that package
    span: Span


UsePath = Union[LocalPath, PackagePath]


@record(slots=True)
class UseName:
    name: Id
    alias: Id | None = None  # `as x`


@record(slots=True)
class Use:
    """`use path.{a, b as c};` inside an interface or world."""

    path: UsePath
    names: list[UseName]
    attributes: list[Attribute] = field(default_factory=list)
    span: Span | None = None


@record(slots=True)
class TopLevelUse:
    """`use ns:pkg/iface@v as name;` at file level."""

    path: UsePath
    alias: Id | None
    attributes: list[Attribute] = field(default_factory=list)
    span: Span | None = None
    keyword_span: Span | None = None  # `use`: where wit-parser refuses attributes here


@record(slots=True)
class IncludeName:
    name: Id
    alias: Id


@record(slots=True)
class Include:
    """`include path with { a as b };` inside a world."""

    path: UsePath
    names: list[IncludeName]
    attributes: list[Attribute] = field(default_factory=list)
    span: Span | None = None


# --- interfaces and worlds -----------------------------------------------------------

InterfaceItem = Union[TypeDef, NamedFunc, Use]


@record(slots=True)
class Interface:
    name: Id
    items: list[InterfaceItem]
    docs: str | None = None
    attributes: list[Attribute] = field(default_factory=list)
    span: Span | None = None


@record(slots=True)
class InlineInterface:
    """`import name: interface { ... }` inside a world."""

    name: Id
    items: list[InterfaceItem]
    span: Span


@record(slots=True)
class ExternFunc:
    """`import name: func(...)` inside a world."""

    name: Id
    func: Func


@record(slots=True)
class NamedPath:
    """`import label: path;` inside a world: an interface (local or of another package)
    imported or exported under the plain name `label` (the component model's
    "implements"), so one interface may appear several times under different labels."""

    name: Id  # the label
    path: UsePath
    span: Span  # from the label to the end of the path


ExternKind = Union[LocalPath, PackagePath, InlineInterface, ExternFunc, NamedPath]


@record(slots=True)
class Extern:
    """`import ...;` or `export ...;` inside a world."""

    direction: str  # "import" | "export"
    kind: ExternKind
    docs: str | None = None
    attributes: list[Attribute] = field(default_factory=list)
    span: Span | None = None


WorldItem = Union[Extern, Use, TypeDef, Include]


@record(slots=True)
class World:
    name: Id
    items: list[WorldItem]
    docs: str | None = None
    attributes: list[Attribute] = field(default_factory=list)
    span: Span | None = None


# --- files and packages --------------------------------------------------------------

TopItem = Union[Interface, World, TopLevelUse, "NestedPackage"]


@record(slots=True)
class NestedPackage:
    """`package ns:name@v { ... }` inside a file."""

    package: PackageName
    items: list[TopItem]
    docs: str | None = None
    span: Span | None = None


@record(slots=True)
class File:
    """One parsed .wit file: an optional `package ...;` header and its items."""

    path: str
    package: PackageName | None
    items: list[TopItem]
    package_docs: str | None = None
    span: Span | None = None
