"""Meaning of a component's declarations: index spaces, scopes and type identity.

This is the part of a component validator that decoding WIT needs. Declarations are
processed in order into per-scope index spaces (types, instances, components,
functions); `alias outer` reaches enclosing scopes, `alias export` an instance's
export. The result is a graph of type nodes compared by *identity*, as wasmparser's
type ids are:

- every `(type ...)` definition is a new node;
- `(export "x" (type (sub resource)))` creates a fresh `Resource`;
- `(export "x" (type (eq T)))` creates a fresh `TypeAlias` of T: the export's own
  identity, whose `peel()` leads back to T. WIT decoding relies on this to tell a
  `use` (an alias of another interface's type) from a definition.

An import or export is an `Item`: for types, `created` is the identity the item adds to
the index space and `referenced` the type it is bound to.
"""

from __future__ import annotations

from . import ast
from .errors import WasmError
from .names import check_extern_name, check_kebab, check_unique, claim_name


# --- type nodes (compared by identity) ---------------------------------------------------------


class Resource:
    __slots__ = ()


class TypeAlias:
    __slots__ = ("target",)

    def __init__(self, target) -> None:
        self.target = target


class Defined:
    """A defined value type; `args` as in `ast.Defined`, with references resolved to
    nodes (a value type is then a primitive name or a node)."""

    __slots__ = ("kind", "args")

    def __init__(self, kind: str, args) -> None:
        self.kind = kind
        self.args = args


class Func:
    __slots__ = ("params", "result", "is_async")

    def __init__(self, params, result, is_async: bool) -> None:
        self.params = params
        self.result = result
        self.is_async = is_async


class InstanceType:
    __slots__ = ("exports",)

    def __init__(self) -> None:
        self.exports: dict[str, Item] = {}


class ComponentType:
    __slots__ = ("imports", "exports")

    def __init__(self) -> None:
        self.imports: dict[str, Item] = {}
        self.exports: dict[str, Item] = {}


class Item:
    """An import or export: `kind` is type | func | instance | component | module | value."""

    __slots__ = ("kind", "ty", "created", "referenced", "name", "pos")

    def __init__(self, kind: str, name: ast.ExternName, pos, ty=None, created=None,
                 referenced=None) -> None:
        self.kind = kind
        self.name = name
        self.pos = pos
        self.ty = ty
        self.created = created
        self.referenced = referenced


def peel(node):
    """The type an alias stands for, or None for an original definition."""
    return node.target if isinstance(node, TypeAlias) else None


def _peel_all(node):
    while isinstance(node, TypeAlias):
        node = node.target
    return node


def _defined(vt) -> "Defined | None":
    node = _peel_all(vt)
    return node if isinstance(node, Defined) else None


def resolves_to_resource(node) -> bool:
    return isinstance(_peel_all(node), Resource)


# --- the top level ----------------------------------------------------------------------------


class Extern:
    """A top-level import or export of a concrete component."""

    __slots__ = ("direction", "item")

    def __init__(self, direction: str, item: Item) -> None:
        self.direction = direction
        self.item = item


class ComponentInfo:
    """What WIT decoding needs of a component: its externs and custom sections."""

    def __init__(self) -> None:
        self.externs: list[Extern] = []
        self.customs: list[ast.Custom] = []
        self.unsupported: list[ast.Unsupported] = []


def analyze(component: ast.Component) -> ComponentInfo:
    info = ComponentInfo()
    scope = _Scope(None)
    taken: dict[str, dict[str, str]] = {"import": {}, "export": {}}  # names, per direction
    for item in component.items:
        if isinstance(item, ast.Custom):
            info.customs.append(item)
        elif isinstance(item, ast.Unsupported):
            info.unsupported.append(item)
        elif isinstance(item, ast.ExportItem):
            info.externs.append(Extern("export", scope.export_item(item)))
            claim_name(taken["export"], item.name.name, "export", item.pos)
        elif isinstance(item, ast.ImportDecl):
            info.externs.append(Extern("import", scope.extern(item, None)))
            claim_name(taken["import"], item.name.name, "import", item.pos)
        else:
            scope.decl(item, None)
    return info


# --- scopes -------------------------------------------------------------------------------------

_SPACES = ("type", "instance", "component", "func", "module", "value")


class _Scope:
    """One component or instance (type) body: its index spaces and `$id` names."""

    def __init__(self, parent: "_Scope | None") -> None:
        self.parent = parent
        self.spaces: dict[str, list] = {s: [] for s in _SPACES}
        self.names: dict[str, dict[str, int]] = {s: {} for s in _SPACES}
        # resources given a name by a type import/export here, for `[method]r.m` checks
        self.resource_names: dict[Resource, str] = {}
        # the names of each imports/exports table filled here: id(table) -> names
        self.taken: dict[int, dict[str, str]] = {}

    # -- index spaces ------------------------------------------------------------------------

    def push(self, sort: str, node, ident: str | None, pos) -> None:
        space = self.spaces[sort]
        if ident is not None:
            names = self.names[sort]
            if ident in names:
                raise WasmError(f"duplicate {sort} identifier `{ident}`", pos)
            names[ident] = len(space)
        space.append(node)

    def lookup(self, sort: str, ref: ast.Ref, pos):
        space = self.spaces[sort]
        if isinstance(ref, str):
            index = self.names[sort].get(ref)
            if index is None:
                raise WasmError(f"unknown {sort} `{ref}`", pos)
            return space[index]
        if not 0 <= ref < len(space):
            raise WasmError(f"unknown {sort} {ref}: {sort} index out of bounds", pos)
        return space[ref]

    def outer(self, count: int, pos) -> "_Scope":
        scope = self
        for _ in range(count):
            scope = scope.parent
            if scope is None:
                raise WasmError("invalid outer alias count", pos)
        return scope

    # -- declarations ------------------------------------------------------------------------

    def decl(self, decl, owner) -> None:
        """One declaration of a component or instance type body (`owner`), or of the
        top level (owner None)."""
        if isinstance(decl, ast.TypeDecl):
            self.push("type", self.type_def(decl.ty, decl.pos), decl.id, decl.pos)
        elif isinstance(decl, ast.AliasDecl):
            self.alias(decl)
        elif isinstance(decl, ast.ImportDecl):
            if not isinstance(owner, ComponentType):
                raise WasmError("imports are only allowed in component types", decl.pos)
            self.extern(decl, owner.imports)
        elif isinstance(decl, ast.ExportDecl):
            if owner is None:
                raise WasmError("unexpected export declaration", decl.pos)
            self.extern(decl, owner.exports)
        elif isinstance(decl, ast.Unsupported):
            raise WasmError(f"{decl.what} is not allowed in a component type", decl.pos)
        else:
            raise WasmError("unexpected declaration", getattr(decl, "pos", None))

    def alias(self, decl: ast.AliasDecl) -> None:
        if decl.sort == "core":
            raise WasmError("core aliases are not supported in WIT packages", decl.pos)
        if decl.target[0] == "outer":
            _, count, ref = decl.target
            if decl.sort not in ("type", "component", "module"):
                raise WasmError(f"outer aliases of a {decl.sort} are not allowed", decl.pos)
            node = self.outer(count, decl.pos).lookup(decl.sort, ref, decl.pos)
        else:
            _, inst_ref, name = decl.target
            inst = self.lookup("instance", inst_ref, decl.pos)
            item = inst.exports.get(name)
            if item is None:
                raise WasmError(f"instance has no export named `{name}`", decl.pos)
            if item.kind != decl.sort:
                raise WasmError(f"export `{name}` is a {item.kind}, not a {decl.sort}", decl.pos)
            node = item.created if item.kind == "type" else item.ty
        self.push(decl.sort, node, decl.id, decl.pos)

    def extern(self, decl, table: dict | None) -> Item:
        """An import or export declaration: build its item, add it to `table` (names are
        unique per table) and to the index space of its sort."""
        name = decl.name
        name_kind = check_extern_name(name.name, decl.pos)
        if table is not None:
            claim_name(self.taken.setdefault(id(table), {}), name.name, "import or export",
                       decl.pos)
        item = self.describe(decl.desc, name, decl.pos)
        if item.kind == "type":
            resource = _peel_all(item.referenced)
            if isinstance(resource, Resource):
                self.resource_names.setdefault(resource, name.name)
        elif name_kind in ("constructor", "method", "static"):
            self.check_resource_function(name.name, name_kind, item, decl.pos)
        if table is not None:
            table[name.name] = item
        node = item.created if item.kind == "type" else item.ty
        self.push(item.kind, node, decl.id, decl.pos)
        return item

    def check_resource_function(self, name: str, kind: str, item: Item, pos) -> None:
        """wasmparser's rules for `[constructor]r`, `[method]r.m`, `[static]r.m`."""
        if item.kind != "func":
            raise WasmError(f"`{name}` is not a function", pos)
        func: Func = item.ty
        resource_name = name.split("]", 1)[1].split(".", 1)[0]
        if kind == "static":
            if resource_name not in self.resource_names.values():
                raise WasmError("static resource name is not known in this context", pos)
            return
        if kind == "constructor":
            if func.is_async:
                raise WasmError("constructor function cannot be async", pos)
            if func.result is None:
                raise WasmError("function should return one value", pos)
            handle = _defined(func.result)
            if handle is not None and handle.kind == "result" and handle.args[0] is not None:
                handle = _defined(handle.args[0])
            if handle is None or handle.kind != "own":
                raise WasmError("function should return `(own $T)` or `(result (own $T))`",
                                pos)
        else:
            if not func.params:
                raise WasmError("function should have at least one argument", pos)
            pname, ptype = func.params[0]
            if pname != "self":
                raise WasmError("function should have a first argument called `self`", pos)
            handle = _defined(ptype)
            if handle is None or handle.kind != "borrow":
                raise WasmError("function should take a first argument of `(borrow $T)`", pos)
        expected = self.resource_names.get(_peel_all(handle.args))
        if expected is None:
            raise WasmError("resource used in function does not have a name in this context",
                            pos)
        if expected != resource_name:
            raise WasmError(f"function does not match expected resource name `{expected}`",
                            pos)

    def describe(self, desc: ast.ExternDesc, name: ast.ExternName, pos) -> Item:
        kind = desc.kind
        if kind == "type":
            if desc.ref == "sub-resource":
                res = Resource()
                return Item("type", name, pos, created=res, referenced=res)
            referenced = self.lookup("type", desc.ref[1], pos)
            if isinstance(referenced, (Func, InstanceType, ComponentType)):
                raise WasmError("only value and resource types can be exported by name", pos)
            return Item("type", name, pos, created=TypeAlias(referenced), referenced=referenced)
        if kind in ("module", "value"):
            raise WasmError(f"{kind} imports and exports are not part of WIT", pos)
        ty = self.lookup("type", desc.ref, pos)
        expected = {"func": Func, "instance": InstanceType, "component": ComponentType}[kind]
        if not isinstance(ty, expected):
            raise WasmError(f"type is not a {kind} type", pos)
        return Item(kind, name, pos, ty=ty)

    def export_item(self, item: ast.ExportItem) -> Item:
        """A top-level export: the item it names, under a new index of its sort."""
        check_extern_name(item.name.name, item.pos)
        if item.sort not in _SPACES:
            return Item(item.sort, item.name, item.pos)
        node = self.lookup(item.sort, item.ref, item.pos)
        self.push(item.sort, node, item.id, item.pos)
        if item.sort == "type":
            return Item("type", item.name, item.pos, created=node, referenced=node)
        return Item(item.sort, item.name, item.pos, ty=node)

    # -- type definitions ----------------------------------------------------------------------

    def type_def(self, ty: ast.TypeDef, pos):
        if isinstance(ty, ast.Defined):
            return self.defined(ty, pos)
        if isinstance(ty, ast.FuncType):
            names = [pname for pname, _ in ty.params]
            for pname in names:
                check_kebab(pname, "function parameter", pos)
            check_unique(names, "function parameter", pos)
            params = [(pname, self.valtype(vt, pos)) for pname, vt in ty.params]
            result = None if ty.result is None else self.valtype(ty.result, pos)
            return Func(params, result, ty.is_async)
        if isinstance(ty, (ast.InstanceTypeDef, ast.ComponentTypeDef)):
            node = InstanceType() if isinstance(ty, ast.InstanceTypeDef) else ComponentType()
            inner = _Scope(self)  # a type body has index spaces of its own
            for decl in ty.decls:
                inner.decl(decl, node)
            return node
        raise WasmError("resource definitions belong to components, not WIT packages", pos)

    def valtype(self, vt: ast.ValType, pos):
        if ast.is_primitive(vt):
            return vt
        node = self.lookup("type", vt, pos)
        if not isinstance(node, (Defined, TypeAlias)) or resolves_to_resource(node):
            raise WasmError("type index is not a value type", pos)
        return node

    def opt(self, vt, pos):
        return None if vt is None else self.valtype(vt, pos)

    def defined(self, d: ast.Defined, pos) -> Defined:
        kind, args = d.kind, d.args
        vt = self.valtype
        if kind == "primitive":
            return Defined(kind, args)
        if kind == "record":
            _names([n for n, _ in args], "record field", pos)
            return Defined(kind, [(n, vt(t, pos)) for n, t in args])
        if kind == "variant":
            _names([n for n, _ in args], "variant case", pos)
            return Defined(kind, [(n, self.opt(t, pos)) for n, t in args])
        if kind in ("list", "option"):
            return Defined(kind, vt(args, pos))
        if kind == "fixed-list":
            return Defined(kind, (vt(args[0], pos), args[1]))
        if kind == "tuple":
            return Defined(kind, [vt(t, pos) for t in args])
        if kind in ("flags", "enum"):
            _names(args, "flag" if kind == "flags" else "enum tag", pos)
            return Defined(kind, list(args))
        if kind == "result":
            return Defined(kind, (self.opt(args[0], pos), self.opt(args[1], pos)))
        if kind in ("own", "borrow"):
            node = self.lookup("type", args, pos)
            if not resolves_to_resource(node):
                raise WasmError(f"`{kind}` of a type that is not a resource", pos)
            return Defined(kind, node)
        if kind in ("stream", "future"):
            return Defined(kind, self.opt(args, pos))
        if kind == "map":
            return Defined(kind, (vt(args[0], pos), vt(args[1], pos)))
        raise WasmError(f"unknown type kind `{kind}`", pos)


def _names(names: list[str], what: str, pos) -> None:
    for name in names:
        check_kebab(name, what, pos)
    check_unique(names, what, pos)
