"""Syntax of the component-model subset that encodes WIT packages.

Both readers, `binary.py` (a `.wasm` file) and `text.py` (a `.wat` file), produce this
tree; `types.py` then gives it meaning (index spaces, type identity). The subset is
what `wit-component` writes for a WIT package: type, import, export and alias
declarations, custom sections. Anything else (core modules, canonical functions,
instances of components) is kept only as an `Unsupported` item so the caller can say
"this is a component, not a WIT package" at the right place.

References are `int` (an index, as in the binary format) or `str` starting with `$`
(a text-format identifier, resolved by `types.py`). A value type is a primitive name
(`"u32"`, `"string"`) or such a reference. Every item carries `pos`: a (start, end)
pair of byte offsets (binary) or character offsets (text) for diagnostics.
"""

from __future__ import annotations

from typing import Union

from ..records import record

Ref = Union[int, str]
ValType = Union[str, int]  # primitive name, `$id` or index
Pos = tuple[int, int]

PRIMITIVES = frozenset((
    "bool", "s8", "u8", "s16", "u16", "s32", "u32", "s64", "u64",
    "f32", "f64", "char", "string", "error-context",
))


def is_primitive(vt: ValType) -> bool:
    return isinstance(vt, str) and not vt.startswith("$")


# --- type definitions ------------------------------------------------------------------------


@record(slots=True)
class Defined:
    """A defined value type. `kind` is the WIT name (`record`, `variant`, `list`,
    `fixed-list`, `tuple`, `flags`, `enum`, `option`, `result`, `own`, `borrow`,
    `stream`, `future`, `map`, `primitive`); `args` its kind-specific payload:
    record [(name, vt)], variant [(name, vt|None)], list vt, fixed-list (vt, n),
    tuple [vt], flags/enum [name], option vt, result (vt|None, vt|None), own/borrow
    ref, stream/future vt|None, map (vt, vt), primitive name."""

    kind: str
    args: object


@record(slots=True)
class FuncType:
    params: list[tuple[str, ValType]]
    result: ValType | None
    is_async: bool = False


@record(slots=True)
class ComponentTypeDef:
    decls: list["Decl"]


@record(slots=True)
class InstanceTypeDef:
    decls: list["Decl"]


@record(slots=True)
class ResourceDef:
    """`(resource (rep i32))`: only valid in a concrete component, never in a package."""


TypeDef = Union[Defined, FuncType, ComponentTypeDef, InstanceTypeDef, ResourceDef]


# --- declarations ------------------------------------------------------------------------------


@record(slots=True)
class ExternName:
    name: str
    implements: str | None = None
    version_suffix: str | None = None
    external_id: str | None = None


@record(slots=True)
class ExternDesc:
    """What an import or export is: `kind` is func | type | instance | component |
    module | value. `ref` is the type index for all but `type`, whose bound is
    `("eq", ref)` or `"sub-resource"`."""

    kind: str
    ref: object


@record(slots=True)
class TypeDecl:
    ty: TypeDef
    id: str | None
    pos: Pos


@record(slots=True)
class ImportDecl:
    name: ExternName
    desc: ExternDesc
    id: str | None
    pos: Pos


@record(slots=True)
class ExportDecl:
    """An export inside a component or instance *type*."""

    name: ExternName
    desc: ExternDesc
    id: str | None
    pos: Pos


@record(slots=True)
class AliasDecl:
    """`sort` is type | func | instance | component | module | value | core;
    `target` is ("outer", count, ref) or ("export", instance ref, name)."""

    sort: str
    target: tuple
    id: str | None
    pos: Pos


@record(slots=True)
class ExportItem:
    """An export of a concrete component: `(export "name" (type 3))`."""

    name: ExternName
    sort: str
    ref: Ref
    desc: ExternDesc | None
    id: str | None
    pos: Pos


@record(slots=True)
class Custom:
    name: str
    data: bytes
    pos: Pos


@record(slots=True)
class Unsupported:
    """A construct outside the WIT-package subset (a core module, a canonical function...)."""

    what: str
    pos: Pos


Decl = Union[TypeDecl, ImportDecl, ExportDecl, AliasDecl, ExportItem, Custom, Unsupported]


@record(slots=True)
class Component:
    items: list[Decl]
    pos: Pos
