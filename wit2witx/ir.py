"""The resolved WIT model: what the lowering stage (WIT -> P1) consumes.

Mirrors wit-parser's `Resolve`: id-indexed arenas of packages, interfaces, worlds and
type definitions. Ids are plain ints (indices into `Resolve.packages`, `.interfaces`,
`.worlds`, `.types`), so the model is cheap to build and trivially serialisable.

A *type reference* (`TypeRef`) is either a primitive name (`"u32"`, `"string"`,
`"error-context"`, ...) or an int: the id of a `TypeDef`. Anonymous types
(`list<u8>`, `option<t>`, `borrow<r>`) are `TypeDef`s with `name=None` and no owner,
exactly as in wit-parser, so a type is compared by id.

World keys are either a `str` (a named import/export: `"x"`, `"[method]r.m"`) or an
`int` (an interface imported/exported by id, printed as its qualified name).
"""

from __future__ import annotations

from dataclasses import field
from typing import Iterator, Union

from .diagnostics import Span
from .records import record

PRIMITIVE_TYPES = (
    "bool", "u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64",
    "f32", "f64", "char", "string", "error-context",
)

TypeRef = Union[str, int]
WorldKey = Union[str, int]


# --- stability and docs ----------------------------------------------------------------


@record(frozen=True, slots=True)
class Stability:
    """`@since(version)`, `@unstable(feature)`, each optionally `@deprecated(version)`."""

    kind: str = "unknown"  # "unknown" | "stable" | "unstable"
    since: str | None = None
    feature: str | None = None
    deprecated: str | None = None

    @property
    def is_unknown(self) -> bool:
        return self.kind == "unknown"


UNKNOWN = Stability()


# --- packages ------------------------------------------------------------------------------


@record(frozen=True, slots=True)
class PackageName:
    namespace: str
    name: str
    version: str | None = None

    def __str__(self) -> str:
        base = f"{self.namespace}:{self.name}"
        return f"{base}@{self.version}" if self.version else base

    def qualify(self, item: str) -> str:
        """`ns:pkg/item@ver`, the way WIT and the component model name an interface."""
        base = f"{self.namespace}:{self.name}/{item}"
        return f"{base}@{self.version}" if self.version else base


@record(slots=True)
class Package:
    name: PackageName
    interfaces: dict[str, int] = field(default_factory=dict)
    worlds: dict[str, int] = field(default_factory=dict)
    docs: str | None = None
    span: Span | None = None


# --- types -------------------------------------------------------------------------------


@record(slots=True)
class Field:
    name: str
    type: TypeRef
    docs: str | None = None
    span: Span | None = None


@record(slots=True)
class Case:
    """A variant case (type may be None), an enum case or a flag (type always None)."""

    name: str
    type: TypeRef | None = None
    docs: str | None = None
    span: Span | None = None


@record(slots=True)
class Record:
    fields: list[Field]


@record(slots=True)
class Resource:
    pass


@record(slots=True)
class Handle:
    kind: str  # "own" | "borrow"
    resource: int


@record(slots=True)
class Flags:
    flags: list[Case]


@record(slots=True)
class Tuple:
    types: list[TypeRef]


@record(slots=True)
class Variant:
    cases: list[Case]


@record(slots=True)
class Enum:
    cases: list[Case]


@record(slots=True)
class Option:
    inner: TypeRef


@record(slots=True)
class Result:
    ok: TypeRef | None
    err: TypeRef | None


@record(slots=True)
class List:
    element: TypeRef
    size: int | None = None  # list<T, N>: a fixed-length list


@record(slots=True)
class Map:
    key: TypeRef
    value: TypeRef


@record(slots=True)
class Future:
    inner: TypeRef | None


@record(slots=True)
class Stream:
    inner: TypeRef | None


@record(slots=True)
class Alias:
    """`type a = b;` and every `use`d name (an alias of the type in the other interface)."""

    target: TypeRef


@record(slots=True)
class Unknown:
    """A foreign type named only by gated-off `use`s; dropped before `load` returns."""


TypeDefKind = Union[
    Record, Resource, Handle, Flags, Tuple, Variant, Enum, Option, Result, List, Map,
    Future, Stream, Alias, Unknown,
]


@record(frozen=True, slots=True)
class TypeOwner:
    kind: str  # "interface" | "world"
    id: int


@record(slots=True)
class TypeDef:
    name: str | None
    kind: TypeDefKind
    owner: TypeOwner | None = None
    docs: str | None = None
    stability: Stability = UNKNOWN
    span: Span | None = None
    external_id: str | None = None  # `@external-id("...")`; no effect on P1 output

    @property
    def is_anonymous(self) -> bool:
        return self.name is None


def type_refs(kind: TypeDefKind) -> list[TypeRef]:
    """The type references directly inside a typedef kind."""
    if isinstance(kind, Record):
        return [f.type for f in kind.fields]
    if isinstance(kind, Variant):
        return [c.type for c in kind.cases if c.type is not None]
    if isinstance(kind, Tuple):
        return list(kind.types)
    if isinstance(kind, (Option, Future, Stream)):
        return [kind.inner] if kind.inner is not None else []
    if isinstance(kind, List):
        return [kind.element]
    if isinstance(kind, Map):
        return [kind.key, kind.value]
    if isinstance(kind, Result):
        return [t for t in (kind.ok, kind.err) if t is not None]
    if isinstance(kind, Alias):
        return [kind.target]
    if isinstance(kind, Handle):
        return [kind.resource]
    return []


def map_compound_refs(kind: TypeDefKind, fn) -> None:
    """Replace, in place, every type reference a compound kind holds by `fn(ref)`.

    Compound kinds are those built from other types (record, variant, tuple, option,
    future, stream, list, map, result); aliases and handles are left to the caller,
    which may want new objects for them.
    """
    if isinstance(kind, Record):
        for f in kind.fields:
            f.type = fn(f.type)
    elif isinstance(kind, Variant):
        for c in kind.cases:
            if c.type is not None:
                c.type = fn(c.type)
    elif isinstance(kind, Tuple):
        kind.types = [fn(t) for t in kind.types]
    elif isinstance(kind, (Option, Future, Stream)):
        if kind.inner is not None:
            kind.inner = fn(kind.inner)
    elif isinstance(kind, List):
        kind.element = fn(kind.element)
    elif isinstance(kind, Map):
        kind.key, kind.value = fn(kind.key), fn(kind.value)
    elif isinstance(kind, Result):
        kind.ok = None if kind.ok is None else fn(kind.ok)
        kind.err = None if kind.err is None else fn(kind.err)


# --- functions ---------------------------------------------------------------------------

FUNCTION_KINDS = (
    "freestanding", "async-freestanding", "method", "async-method",
    "static", "async-static", "constructor",
)


@record(slots=True)
class Param:
    name: str
    type: TypeRef
    span: Span | None = None


@record(slots=True)
class Function:
    name: str  # mangled as in the component model: "[method]r.m", "[constructor]r"
    kind: str  # one of FUNCTION_KINDS
    params: list[Param]
    result: TypeRef | None = None
    resource: int | None = None  # the resource of a method/static/constructor
    docs: str | None = None
    stability: Stability = UNKNOWN
    span: Span | None = None
    external_id: str | None = None  # `@external-id("...")`; no effect on P1 output

    @property
    def is_async(self) -> bool:
        return self.kind.startswith("async-")

    @property
    def item_name(self) -> str:
        """The name as written in WIT: `m` for `[method]r.m`, `r` for a constructor."""
        if not self.name.startswith("["):
            return self.name
        rest = self.name.split("]", 1)[1]
        return rest.split(".", 1)[1] if "." in rest else rest


# --- interfaces and worlds ---------------------------------------------------------------


@record(slots=True)
class Interface:
    name: str | None  # None for `import x: interface { ... }` inside a world
    types: dict[str, int] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)
    package: int | None = None
    docs: str | None = None
    stability: Stability = UNKNOWN
    span: Span | None = None
    clone_of: int | None = None


@record(slots=True)
class WorldInterface:
    id: int
    stability: Stability = UNKNOWN
    docs: str | None = None
    span: Span | None = None
    # `@external-id("...")` on the import/export; the interfaces elaboration adds for an
    # export's dependencies inherit it (as in wit-parser), an import's do not.
    external_id: str | None = None


@record(slots=True)
class WorldFunction:
    function: Function


@record(slots=True)
class WorldType:
    id: int
    span: Span | None = None


WorldItem = Union[WorldInterface, WorldFunction, WorldType]


@record(slots=True)
class World:
    name: str
    imports: dict[WorldKey, WorldItem] = field(default_factory=dict)
    exports: dict[WorldKey, WorldItem] = field(default_factory=dict)
    package: int | None = None
    docs: str | None = None
    stability: Stability = UNKNOWN
    span: Span | None = None


# --- the whole model ----------------------------------------------------------------------


@record(slots=True)
class Resolve:
    packages: list[Package] = field(default_factory=list)
    interfaces: list[Interface] = field(default_factory=list)
    worlds: list[World] = field(default_factory=list)
    types: list[TypeDef] = field(default_factory=list)
    # `str(PackageName)` -> package id
    package_names: dict[str, int] = field(default_factory=dict)
    # the packages named on the command line (not found in deps/), in input order
    main_packages: list[int] = field(default_factory=list)

    # -- lookups --------------------------------------------------------------------------

    def package_of(self, name: str) -> Package:
        """A package by its qualified name, `ns:pkg@1.0.0`."""
        return self.packages[self.package_names[name]]

    def interface_types(self, iface_id: int) -> Iterator[tuple[str, TypeDef]]:
        """(name, typedef) of an interface's named types, in definition order."""
        types = self.types
        for name, tid in self.interfaces[iface_id].types.items():
            yield name, types[tid]

    def resolve_alias(self, ref: TypeRef) -> TypeRef:
        """Follow `type a = b` / `use` aliases down to a primitive or a non-alias typedef."""
        while isinstance(ref, int):
            kind = self.types[ref].kind
            if not isinstance(kind, Alias):
                break
            ref = kind.target
        return ref

    def owner_interface(self, type_id: int) -> Interface | None:
        owner = self.types[type_id].owner
        if owner is None or owner.kind != "interface":
            return None
        return self.interfaces[owner.id]

    def interface_qualified_name(self, iface_id: int) -> str | None:
        """`ns:pkg/iface@ver`, or None for an anonymous (inline world) interface."""
        iface = self.interfaces[iface_id]
        if iface.name is None or iface.package is None:
            return None
        return self.packages[iface.package].name.qualify(iface.name)

    def world_key_name(self, key: WorldKey) -> str:
        if isinstance(key, int):
            return self.interface_qualified_name(key) or f"interface-{key}"
        return key

    def type_interface_dep(self, type_id: int) -> int | None:
        """The interface a `use`d type comes from, if it is another interface's type."""
        ty = self.types[type_id]
        if not isinstance(ty.kind, Alias) or not isinstance(ty.kind.target, int):
            return None
        other = self.types[ty.kind.target]
        if other.owner == ty.owner or other.owner is None or other.owner.kind != "interface":
            return None
        return other.owner.id

    def interface_direct_deps(self, iface_id: int) -> Iterator[int]:
        """Interfaces this one `use`s types from (may repeat), in definition order."""
        for tid in self.interfaces[iface_id].types.values():
            dep = self.type_interface_dep(tid)
            if dep is not None:
                yield dep
