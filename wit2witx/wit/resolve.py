"""Name resolution and world elaboration: AST packages -> `ir.Resolve`.

The semantics are wit-parser's (`ast/resolve.rs` + `Resolve::push`), compressed into
one pass per package, in dependency order (see `deps.py`):

1. foreign references (`ns:pkg/iface@v`) are looked up in the packages already resolved;
2. interfaces and worlds of the package are ordered by their local `use`/`include`
   edges (cycles are errors) and resolved in that order: types first (ordered by their
   own references, so cycles and unknown names are caught there), then functions;
3. worlds get their `include`s copied in and are *elaborated*: the interfaces their
   imports and exports use are added as imports, and exports that would need an
   interface both imported and exported are rejected.

Feature gates are applied while resolving: an item whose gate is off is built (so its
errors are still reported) but marked excluded, a reference to it from an item that
exists is an error, and excluded items are dropped from the arenas at the end.
"""

from __future__ import annotations

import heapq
import os
from typing import Iterable, Sequence

from .. import ir
from ..diagnostics import InputError, ResolveError, Span, error
from ..records import record
from . import ast
from .deps import PackageSource, discover, package_name, sort_packages
from .gates import Gates, drop_excluded, stability_of

_PRIMS = {
    "bool": "bool", "s8": "s8", "u8": "u8", "s16": "s16", "u16": "u16", "s32": "s32",
    "u32": "u32", "s64": "s64", "u64": "u64", "f32": "f32", "f64": "f64",
    "float32": "f32", "float64": "f64", "char": "char", "string": "string",
}
_MAP_KEYS = frozenset(("bool", "u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64",
                       "char", "string"))


def _fail(message: str, span: Span | None, *notes: str) -> ResolveError:
    return ResolveError(error(message, span, *notes))


def _not_found(kind: str, ident: ast.Id) -> ResolveError:
    return _fail(f"{kind} `{ident.name}` does not exist", ident.span)


# --- public entry point -------------------------------------------------------------------


def load(paths, *, features: Iterable[str] = (), all_features: bool = False,
         deps: Iterable = ()) -> ir.Resolve:
    """Parse and resolve the WIT packages at `paths` (folders, .wit files, or packages
    encoded as wasm: .wasm / .wat).

    `deps` are extra folders laid out like a `deps/` folder. Raises a `Wit2WitxError`
    subclass (with spans) for any bad input.
    """
    path_list = _as_paths(paths)
    if not path_list:
        raise InputError(error("no input paths given"))
    found = discover(path_list, _as_paths(deps))
    gates = Gates(frozenset(_split_features(features)), all_features)
    state = _State(gates, found.searched, sorted(str(src.name) for src in found.packages))
    if found.encoded:
        _add_encoded(state, found)
    ordered = sort_packages(found.packages)
    for src in ordered:
        pid = _PackageResolver(state, src).run()
        if src.is_main:
            state.resolve.main_packages.append(pid)
    return state.finish()


def _add_encoded(state: "_State", found) -> None:
    """Decode the wasm-encoded packages and merge them in first, as wit-parser does
    (before any text package is resolved); a text package may not redefine one."""
    from .decode import decode_file
    from .merge import merge_or_fail

    r = state.resolve
    for enc in found.encoded:
        decoded = decode_file(enc.path, enc.data, as_dependency=not enc.is_main)
        pids = merge_or_fail(r, decoded, enc.path)
        if enc.is_main:
            r.main_packages.extend(pids)
    for src in found.packages:
        if str(src.name) in r.package_names:
            raise _fail(f"package `{src.name}` is defined in two different locations",
                        src.name_span, "it is also in a wasm-encoded package: "
                        + ", ".join(f"`{e.path}`" for e in found.encoded))


def _as_paths(paths) -> list[str]:
    if isinstance(paths, (str, os.PathLike)):
        return [os.fspath(paths)]
    return [os.fspath(p) for p in paths]


def _split_features(features: Iterable[str]) -> list[str]:
    out = []
    for item in features:
        out.extend(f.strip() for f in str(item).replace(",", " ").split() if f.strip())
    return out


# --- state shared across packages -----------------------------------------------------------


class _State:
    def __init__(self, gates: Gates, searched: list[str], discovered: list[str]) -> None:
        self.resolve = ir.Resolve()
        self.gates = gates
        self.searched = searched
        self.discovered = discovered
        self.ex_types: set[int] = set()
        self.ex_ifaces: set[int] = set()
        self.ex_worlds: set[int] = set()

    def finish(self) -> ir.Resolve:
        if self.ex_types or self.ex_ifaces or self.ex_worlds:
            drop_excluded(self.resolve, self.ex_types, self.ex_ifaces, self.ex_worlds)
        return self.resolve


# --- one package -----------------------------------------------------------------------------


class _PackageResolver:
    def __init__(self, state: _State, src: PackageSource) -> None:
        self.state = state
        self.r = state.resolve
        self.gates = state.gates
        self.src = src
        self.name = src.name
        self.anon: dict[tuple, int] = {}
        self.own_handles: dict[int, int] = {}
        # name scopes: per interface id, the names defined inside it
        self.iface_scopes: dict[int, dict[str, int | str]] = {}
        self.foreign: dict[tuple[str, str], tuple[str, int, bool]] = {}
        self.file_scopes: list[dict[str, tuple[str, int, bool | None]]] = []
        self.package_items: dict[str, tuple[str, int, bool | None]] = {}
        self.cur_file = 0
        self.ctx_included = True
        self.ctx_span: Span | None = None
        self.has_borrow_cache: dict[int, bool] = {}
        # functions that exist, and where they belong (for `_finish_signatures`)
        self.signatures_of_interfaces: list[ir.Function] = []
        self.world_signatures: list[tuple[ir.Function, int, str]] = []
        # per world: its `include`s (resolved after all worlds of the package)
        self.includes: dict[int, list[tuple[ast.Include, int, bool, Span]]] = {}
        # names of gated-off world items: still taken, for the conflict check
        self.dropped_names: dict[tuple[int, str], dict[str, str]] = {}

    # -- driver ---------------------------------------------------------------------------

    def run(self) -> int:
        r = self.r
        self.pid = len(r.packages)
        r.packages.append(ir.Package(self.name, docs=self.src.docs, span=self.src.name_span))
        r.package_names[str(self.name)] = self.pid
        self._resolve_foreign()
        iface_order, world_order, asts = self._populate_items()
        for iid in iface_order:
            node, file_index = asts[("interface", iid)]
            self.cur_file = file_index
            self._resolve_interface(iid, node.items, node.docs, node.attributes)
        for wid in world_order:
            node, file_index = asts[("world", wid)]
            self.cur_file = file_index
            self._resolve_world(wid, node)
        self._finish_signatures(world_order)
        for wid in world_order:
            if wid in self.state.ex_worlds:
                continue
            self._process_includes(wid)
            self._elaborate_world(wid)
        pkg = r.packages[self.pid]
        for iid in iface_order:
            if iid not in self.state.ex_ifaces:
                pkg.interfaces[r.interfaces[iid].name] = iid
        for wid in world_order:
            if wid not in self.state.ex_worlds:
                pkg.worlds[r.worlds[wid].name] = wid
        return self.pid

    # -- foreign packages ---------------------------------------------------------------------

    def _paths(self) -> Iterable[tuple[ast.UsePath, list, str]]:
        """Every use/include/import path of the package: (path, attributes, kind)."""
        def iface_items(items):
            for it in items:
                if isinstance(it, ast.Use):
                    yield it.path, it.attributes, "interface"

        for decl in self.src.decls:
            for item in decl.items:
                if isinstance(item, ast.Interface):
                    yield from iface_items(item.items)
                elif isinstance(item, ast.TopLevelUse):
                    yield item.path, item.attributes, "interface"
                elif isinstance(item, ast.World):
                    imports, exports = [], []
                    for wi in item.items:
                        if isinstance(wi, ast.Use):
                            yield wi.path, wi.attributes, "interface"
                        elif isinstance(wi, ast.Include):
                            yield wi.path, wi.attributes, "world"
                        elif isinstance(wi, ast.Extern):
                            (imports if wi.direction == "import" else exports).append(wi)
                    for ext in imports + exports:
                        if isinstance(ext.kind, ast.InlineInterface):
                            yield from iface_items(ext.kind.items)
                        elif isinstance(ext.kind, (ast.LocalPath, ast.PackagePath)):
                            yield ext.kind, ext.attributes, "interface"
                        elif isinstance(ext.kind, ast.NamedPath):
                            yield ext.kind.path, ext.attributes, "interface"

    def _resolve_foreign(self) -> None:
        r = self.r
        stabilities: dict[tuple[str, str], list[tuple[ir.Stability, Span]]] = {}
        spans: dict[tuple[str, str], tuple[str, ast.PackagePath]] = {}
        for path, attrs, kind in self._paths():
            if not isinstance(path, ast.PackagePath):
                continue
            key = (str(package_name(path.package)), path.name.name)
            stability = stability_of(attrs)
            if key not in spans:
                spans[key] = (kind, path)
                stabilities[key] = []
            stabilities[key].append((stability, path.name.span))
        for key, (kind, path) in spans.items():
            pkg_key, item = key
            pid = r.package_names.get(pkg_key)
            if pid is None or pid == self.pid:
                raise self._package_not_found(pkg_key, path)
            pkg = r.packages[pid]
            table = pkg.interfaces if kind == "interface" else pkg.worlds
            enabled = any(self.gates.enabled(st, self.name, sp) for st, sp in stabilities[key])
            target = table.get(item)
            if target is None:
                if not enabled:
                    self.foreign[key] = (kind, -1, False)
                    continue
                raise _fail(f"{kind} '{item}' not found in package '{pkg.name}'", path.name.span)
            self.foreign[key] = (kind, target, enabled)
            if kind == "interface" and target not in self.iface_scopes:
                self.iface_scopes[target] = dict(r.interfaces[target].types)

    def _package_not_found(self, pkg_key: str, path: ast.PackagePath) -> ResolveError:
        known = [n for n in self.r.package_names if n != str(self.name)]
        message = f"package '{pkg_key}' not found"
        if known:
            message += ". known packages:" + "".join(f"\n    {k}" for k in known)
        searched = ", ".join(f"`{d}`" for d in self.state.searched) or "(none)"
        notes = [f"searched dependency folders: {searched}"]
        base = pkg_key.split("@", 1)[0]
        versions = [n for n in self.state.discovered if n.split("@", 1)[0] == base]
        if versions:
            notes.append(f"found other versions: {', '.join(versions)}")
        return _fail(message, path.package.span, *notes)

    # -- package-level items ------------------------------------------------------------------

    def _populate_items(self):
        r = self.r
        package_spans: dict[str, Span] = {}
        kinds: dict[str, tuple[str, object, int]] = {}
        for index, decl in enumerate(self.src.decls):
            for item in decl.items:
                if isinstance(item, (ast.Interface, ast.World)):
                    if item.name.name in package_spans:
                        raise _fail(f"duplicate item named `{item.name.name}`", item.name.span)
                    package_spans[item.name.name] = item.name.span
                    kind = "interface" if isinstance(item, ast.Interface) else "world"
                    kinds[item.name.name] = (kind, item, index)
        # Order interfaces and worlds by their local `use` / `include` edges.
        order_deps: dict[str, list[ast.Id]] = {name: [] for name in kinds}
        for decl in self.src.decls:
            file_ns: dict[str, bool] = {}  # name -> is foreign
            for item in decl.items:
                if isinstance(item, ast.TopLevelUse):
                    ident = item.alias or item.path.name
                    foreign = isinstance(item.path, ast.PackagePath)
                    target = item.path.name
                else:
                    ident, foreign, target = item.name, False, item.name
                if ident.name in file_ns:
                    raise _fail(f"duplicate name `{ident.name}` in this file", ident.span)
                file_ns[ident.name] = (foreign, target)
            for item in decl.items:
                if isinstance(item, ast.Interface):
                    edges = (u.path for u in item.items if isinstance(u, ast.Use))
                elif isinstance(item, ast.World):
                    edges = (u.path for u in item.items if isinstance(u, ast.Include))
                else:
                    continue
                for path in edges:
                    if not isinstance(path, ast.LocalPath):
                        continue
                    used = path.name
                    entry = file_ns.get(used.name)
                    if entry is not None:
                        if not entry[0]:
                            # As wit-parser: the edge carries the span of the name's
                            # definition in this file (where a cycle is reported).
                            order_deps[item.name.name].append(entry[1])
                    elif used.name in kinds:
                        order_deps[item.name.name].append(used)
                    else:
                        raise _not_found("interface or world", used)
        order = _toposort("interface or world", order_deps)
        iface_order: list[int] = []
        world_order: list[int] = []
        ids: dict[str, tuple[str, int]] = {}
        asts: dict[tuple[str, int], tuple[object, int]] = {}
        for name in order:
            kind, node, index = kinds[name]
            if kind == "interface":
                iid = len(r.interfaces)
                r.interfaces.append(ir.Interface(name, package=self.pid, span=node.name.span))
                iface_order.append(iid)
                ids[name] = ("interface", iid, None)
                asts[("interface", iid)] = (node, index)
            else:
                wid = len(r.worlds)
                r.worlds.append(ir.World(name, package=self.pid, span=node.name.span))
                world_order.append(wid)
                ids[name] = ("world", wid, None)
                asts[("world", wid)] = (node, index)
        for decl in self.src.decls:
            scope: dict[str, tuple[str, int]] = {}
            for item in decl.items:
                if isinstance(item, ast.TopLevelUse):
                    if item.attributes:
                        raise _fail("attributes not allowed on top-level use",
                                    item.keyword_span or item.span)
                    ident = item.alias or item.path.name
                    if isinstance(item.path, ast.LocalPath):
                        target = ids.get(item.path.name.name)
                        if target is None:
                            raise _not_found("interface or world", item.path.name)
                    else:
                        kind, tid, enabled = self.foreign[self._foreign_key(item.path)]
                        target = (kind, tid, enabled)
                    scope[ident.name] = target
                else:
                    scope[item.name.name] = ids[item.name.name]
            self.file_scopes.append(scope)
        self.package_items = ids
        return iface_order, world_order, asts

    def _foreign_key(self, path: ast.PackagePath) -> tuple[str, str]:
        return (str(package_name(path.package)), path.name.name)

    def _lookup_path(self, path: ast.UsePath) -> tuple[str, int, str, Span, bool]:
        """(kind, id, name, span, enabled) of what a use/import/include path names."""
        if isinstance(path, ast.LocalPath):
            ident = path.name
            found = self.file_scopes[self.cur_file].get(ident.name) \
                or self.package_items.get(ident.name)
            if found is None:
                raise _not_found("interface or world", ident)
            kind, target, enabled = found
            if enabled is None:  # an item of this package: gated by its own attributes
                enabled = target not in (
                    self.state.ex_ifaces if kind == "interface" else self.state.ex_worlds)
            return kind, target, ident.name, ident.span, enabled
        kind, target, enabled = self.foreign[self._foreign_key(path)]
        return kind, target, path.name.name, path.name.span, enabled

    def _iface_of(self, path: ast.UsePath) -> tuple[int, bool]:
        kind, target, name, span, enabled = self._lookup_path(path)
        if kind != "interface":
            raise _fail(f"name `{name}` is defined as a world, not an interface", span)
        return target, enabled

    def _world_of(self, path: ast.UsePath) -> tuple[int, bool, Span]:
        kind, target, name, span, enabled = self._lookup_path(path)
        if kind != "world":
            raise _fail(f"name `{name}` is defined as an interface, not a world", span)
        return target, enabled, span

    # -- gating helpers -----------------------------------------------------------------------

    def _enabled(self, stability: ir.Stability, span: Span | None) -> bool:
        return self.gates.enabled(stability, self.name, span)

    def _excluded_ref(self, desc: str) -> ResolveError:
        return _fail(f"found a reference to a {desc} which is excluded due to its feature "
                     "not being activated", self.ctx_span)

    def _check_ref(self, tid: int) -> int:
        if self.ctx_included and tid in self.state.ex_types:
            raise self._excluded_ref("type")
        return tid

    # -- types --------------------------------------------------------------------------------

    def _alloc_type(self, td: ir.TypeDef, included: bool) -> int:
        tid = len(self.r.types)
        self.r.types.append(td)
        if not included:
            self.state.ex_types.add(tid)
        return tid

    def _resolve_types(self, owner: ir.TypeOwner, items: list, owner_included: bool) -> dict:
        scope: dict[str, int | str] = {}
        uses = [it for it in items if isinstance(it, ast.Use)]
        defs = [it for it in items if isinstance(it, ast.TypeDef)]
        for use in uses:
            self._resolve_use(owner, use, scope, owner_included)
        type_deps: dict[str, list[ast.Id]] = {}
        type_defs: dict[str, ast.TypeDef | None] = {}
        for use in uses:
            for name in use.names:
                ident = name.alias or name.name
                type_deps[ident.name] = []
                type_defs[ident.name] = None
        for td in defs:
            if td.name.name in type_defs and type_defs[td.name.name] is not None:
                raise _fail(f"name `{td.name.name}` is defined more than once", td.name.span)
            deps: list[ast.Id] = []
            _collect_deps(td.kind, deps)
            type_deps[td.name.name] = deps
            type_defs[td.name.name] = td
        try:
            order = _toposort("type", type_deps)
        except ResolveError as exc:
            _float_hint(exc)
            raise
        for name in order:
            td = type_defs.get(name)
            if td is None:
                continue
            stability = stability_of(td.attributes)
            external_id = _external_id_of(td.attributes)
            included = self._enabled(stability, td.name.span)
            self.ctx_included, self.ctx_span = included, td.name.span
            kind = self._resolve_typedef_kind(td.kind, stability, scope, td.name)
            if included:
                self._materialize(kind)
            tid = self._alloc_type(ir.TypeDef(td.name.name, kind, owner, td.docs, stability,
                                              td.name.span, external_id), included)
            if included and not owner_included:
                desc = owner.kind
                raise _fail(f"found a reference to a {desc} which is excluded due to its "
                            f"feature not being activated; this type is not gated by a feature "
                            f"but its {desc} is", td.name.span)
            _define(scope, td.name, tid)
        return scope

    def _resolve_use(self, owner: ir.TypeOwner, use: ast.Use, scope: dict,
                     owner_included: bool) -> None:
        source, source_enabled = self._iface_of(use.path)
        stability = stability_of(use.attributes)
        # Every name the `use` brings in is a typedef of its own, and each carries the id.
        external_id = _external_id_of(use.attributes)
        lookup = self.iface_scopes.get(source, {}) if source >= 0 else {}
        foreign = source < 0 or self.r.interfaces[source].package != self.pid
        for name in use.names:
            found = lookup.get(name.name.name)
            if found is None:
                if foreign:
                    if self._enabled(stability, name.name.span):
                        raise _fail(f"type `{name.name.name}` not defined in interface",
                                    name.name.span)
                    # Only gated-off uses name it: a placeholder, as wit-parser keeps one.
                    ident = name.alias or name.name
                    tid = self._alloc_type(ir.TypeDef(ident.name, ir.Unknown(), owner, None,
                                                      stability, name.name.span, external_id),
                                           False)
                    _define(scope, ident, tid)
                    continue
                raise _not_found("name", name.name)
            if isinstance(found, str):
                raise _fail(f"cannot import {found} `{name.name.name}`", name.name.span)
            ident = name.alias or name.name
            included = self._enabled(stability, name.name.span)
            if included and (not source_enabled or found in self.state.ex_types):
                self.ctx_span = name.name.span
                raise self._excluded_ref("type")
            tid = self._alloc_type(ir.TypeDef(ident.name, ir.Alias(found), owner, None,
                                              stability, name.name.span, external_id), included)
            if included and not owner_included:
                desc = owner.kind
                raise _fail(f"found a reference to a {desc} which is excluded due to its "
                            f"feature not being activated; this type is not gated by a feature "
                            f"but its {desc} is", name.name.span)
            _define(scope, ident, tid)

    def _lookup_type(self, ident: ast.Id, scope: dict) -> int:
        found = scope.get(ident.name)
        if found is None:
            raise _not_found("name", ident)
        if isinstance(found, str):
            raise _fail(f"cannot use {found} `{ident.name}` as a type", ident.span)
        return found

    def _resource_of(self, ident: ast.Id, scope: dict) -> int:
        tid = self._lookup_type(ident, scope)
        cur = tid
        while True:
            kind = self.r.types[cur].kind
            if isinstance(kind, (ir.Resource, ir.Unknown)):
                return tid
            if isinstance(kind, ir.Alias) and isinstance(kind.target, int):
                cur = kind.target
                continue
            if self._is_foreign_type(cur):
                raise _fail("type used in a handle must be a resource", ident.span)
            raise _fail(f"type `{ident.name}` used in a handle must be a resource", ident.span)

    def _is_foreign_type(self, tid: int) -> bool:
        owner = self.r.types[tid].owner
        if owner is None:
            return False
        if owner.kind == "interface":
            return self.r.interfaces[owner.id].package != self.pid
        return self.r.worlds[owner.id].package != self.pid

    def _resolve_typedef_kind(self, node, stability: ir.Stability, scope: dict,
                              name: ast.Id | None):
        if isinstance(node, ast.Alias):
            return self._typedef_target(node.target, stability, scope)
        if isinstance(node, ast.Record):
            if not node.fields:
                raise _fail("empty record", name.span if name else node.span)
            _check_members("field", [f.name for f in node.fields])
            fields = []
            outer = self.ctx_span
            for f in node.fields:
                self.ctx_span = f.name.span
                fields.append(ir.Field(f.name.name, self._resolve_type(f.type, stability, scope),
                                       f.docs, f.name.span))
            self.ctx_span = outer
            return ir.Record(fields)
        if isinstance(node, ast.Variant):
            if not node.cases:
                raise _fail("empty variant", name.span if name else node.span)
            _check_members("case", [c.name for c in node.cases])
            return ir.Variant([
                ir.Case(c.name.name, None if c.type is None else
                        self._resolve_type(c.type, stability, scope), c.docs, c.name.span)
                for c in node.cases])
        if isinstance(node, ast.Enum):
            if not node.cases:
                raise _fail("empty enum", name.span if name else node.span)
            _check_members("case", [c.name for c in node.cases])
            return ir.Enum([ir.Case(c.name.name, None, c.docs, c.name.span) for c in node.cases])
        if isinstance(node, ast.Flags):
            if not node.flags:
                raise _fail("empty flags", name.span if name else node.span)
            _check_members("flag", [c.name for c in node.flags])
            return ir.Flags([ir.Case(c.name.name, None, c.docs, c.name.span) for c in node.flags])
        if isinstance(node, ast.Resource):
            self._check_resource_funcs(node)
            return ir.Resource()
        raise TypeError(f"unexpected type definition {node!r}")  # pragma: no cover

    def _check_resource_funcs(self, node: ast.Resource) -> None:
        ctors = 0
        names: set[str] = set()
        for rf in node.funcs:
            ident = rf.func.name
            if rf.kind == "constructor":
                ctors += 1
                if ctors > 1:
                    raise _fail("duplicate constructors", ident.span)
            elif ident.name in names:
                raise _fail(f"duplicate function name `{ident.name}`", ident.span)
            else:
                names.add(ident.name)

    def _typedef_target(self, node, stability, scope):
        """The kind of `type a = T`: a name or primitive is an alias, else T's own kind."""
        if isinstance(node, ast.NamedType):
            return ir.Alias(self._check_ref(self._lookup_type(node.name, scope)))
        if isinstance(node, ast.Primitive):
            return ir.Alias(_PRIMS[node.name])
        if isinstance(node, ast.ErrorContextType):
            return ir.Alias("error-context")
        return self._compound_kind(node, stability, scope)[0]

    def _resolve_type(self, node, stability: ir.Stability, scope: dict) -> ir.TypeRef:
        """A type in a value position: anonymous types are interned per package."""
        if isinstance(node, ast.Primitive):
            return _PRIMS[node.name]
        if isinstance(node, ast.NamedType):
            tid = self._check_ref(self._lookup_type(node.name, scope))
            return _OwnLater(tid) if self._is_resource(tid) else tid
        if isinstance(node, ast.ErrorContextType):
            return "error-context"
        if isinstance(node, ast.HandleType) and node.kind == "own":
            return _OwnLater(self._check_ref(self._resource_of(node.resource, scope)))
        kind, key, parts = self._compound_kind(node, stability, scope)
        return self._anon(key, kind, parts, stability)

    def _materialize(self, kind) -> None:
        """Turn the resources a type names directly into `own<r>` handles, in field order,
        just before the type itself is added: where wit-parser's merge step puts them."""
        def own(ref):
            return self._own_if_resource(ref.resource) if isinstance(ref, _OwnLater) else ref

        ir.map_compound_refs(kind, own)

    def _compound_kind(self, node, stability, scope):
        """(kind, interning key, referenced types) of a list/option/result/... type."""
        if isinstance(node, ast.HandleType):
            tid = self._check_ref(self._resource_of(node.resource, scope))
            return ir.Handle(node.kind, tid), (node.kind, tid), (tid,)
        if isinstance(node, ast.ListType):
            elem = self._resolve_type(node.element, stability, scope)
            if node.size is not None:
                return ir.List(elem, node.size), ("flist", elem, node.size), (elem,)
            return ir.List(elem), ("list", elem), (elem,)
        if isinstance(node, ast.OptionType):
            inner = self._resolve_type(node.inner, stability, scope)
            return ir.Option(inner), ("option", inner), (inner,)
        if isinstance(node, ast.ResultType):
            ok = None if node.ok is None else self._resolve_type(node.ok, stability, scope)
            err = None if node.err is None else self._resolve_type(node.err, stability, scope)
            return ir.Result(ok, err), ("result", ok, err), (ok, err)
        if isinstance(node, ast.TupleType):
            if not node.types:
                raise _fail("empty tuple", node.span)
            types = [self._resolve_type(t, stability, scope) for t in node.types]
            return ir.Tuple(types), ("tuple", *types), types
        if isinstance(node, ast.MapType):
            key = self._resolve_type(node.key, stability, scope)
            value = self._resolve_type(node.value, stability, scope)
            if not isinstance(key, str) or key not in _MAP_KEYS:
                raise _fail("invalid map key type: map keys must be bool, u8, u16, u32, u64, "
                            "s8, s16, s32, s64, char, or string", node.span)
            return ir.Map(key, value), ("map", key, value), (key, value)
        if isinstance(node, ast.FutureType):
            inner = None if node.inner is None else self._resolve_type(node.inner, stability, scope)
            return ir.Future(inner), ("future", inner), (inner,)
        if isinstance(node, ast.StreamType):
            inner = None if node.inner is None else self._resolve_type(node.inner, stability, scope)
            return ir.Stream(inner), ("stream", inner), (inner,)
        raise TypeError(f"unexpected type {node!r}")  # pragma: no cover

    def _own_if_resource(self, tid: int) -> ir.TypeRef:
        """A resource named in a value position means `own<resource>` (as wit-parser)."""
        cur = tid
        types = self.r.types
        while True:
            kind = types[cur].kind
            if isinstance(kind, ir.Alias) and isinstance(kind.target, int):
                cur = kind.target
            elif isinstance(kind, ir.Resource):
                break
            else:
                return tid
        handle = self.own_handles.get(tid)
        if handle is None:
            # Created the way wit-parser's merge step creates them: no stability.
            handle = self._alloc_type(ir.TypeDef(None, ir.Handle("own", tid)),
                                      self._anon_included((tid,)))
            self.own_handles[tid] = handle
        return handle

    def _inherited(self, parts) -> ir.Stability:
        """An anonymous type takes the first known stability of what it refers to."""
        for part in parts:
            if isinstance(part, _OwnLater):
                part = part.resource
            if isinstance(part, int):
                st = self.r.types[part].stability
                if not st.is_unknown:
                    return st
        return ir.UNKNOWN

    def _anon_included(self, parts) -> bool:
        ex = self.state.ex_types
        return not any((p.resource if isinstance(p, _OwnLater) else p) in ex
                       for p in parts if isinstance(p, (int, _OwnLater)))

    def _anon(self, key: tuple, kind, parts, stability: ir.Stability = ir.UNKNOWN) -> int:
        """Intern an anonymous type; the first one built fixes its stability (wit-parser)."""
        tid = self.anon.get(key)
        if tid is None:
            if stability.is_unknown:
                stability = self._inherited(parts)
            td = ir.TypeDef(None, kind, None, None, stability, self.ctx_span)
            included = self._anon_included(parts) and self._enabled(stability, self.ctx_span)
            if included:
                self._materialize(kind)
            tid = self._alloc_type(td, included)
            self.anon[key] = tid
        return self._check_ref(tid)

    # -- functions ------------------------------------------------------------------------------

    def _resolve_function(self, named: ast.NamedFunc | ast.ExternFunc, name: str, kind: str,
                          resource: int | None, scope: dict, owner_included: bool
                          ) -> tuple[ir.Function, bool]:
        docs = getattr(named, "docs", None)
        attrs = getattr(named, "attributes", [])
        stability = stability_of(attrs)
        external_id = _external_id_of(attrs)
        func = named.func
        included = owner_included and self._enabled(stability, named.name.span)
        self.ctx_included, self.ctx_span = included, named.name.span
        if resource is not None:
            self._check_ref(resource)
        params: list[ir.Param] = []
        if kind in ("method", "async-method"):
            borrow = self._anon(("borrow", resource), ir.Handle("borrow", resource), (resource,))
            params.append(ir.Param("self", borrow, func.span))
        taken = {q.name.lower() for q in params}  # parameter names are case-blind
        for p in func.params:
            low = p.name.name.lower()
            if low in taken:
                raise _fail(f"param `{p.name.name}` is defined more than once", p.name.span)
            taken.add(low)
            params.append(ir.Param(p.name.name, self._signature_type(p.type, scope),
                                   p.name.span))
        if kind == "constructor":
            result = self._constructor_result(func.result, resource, scope)
        else:
            result = None if func.result is None else self._signature_type(func.result, scope)
        fn = ir.Function(name, kind, params, result, resource, docs, stability, named.name.span,
                         external_id)
        if included and result is not None and self._has_borrow(result):
            raise _fail(f"function `{name}` returns a type which contains a `borrow<T>` which "
                        "is not supported", named.name.span)
        return fn, included

    def _signature_type(self, node, scope: dict):
        """A parameter or result type. A resource named directly there becomes `own<r>`
        only once the package's types are all built (see `_finish_signatures`), which is
        when wit-parser creates those handles: the arena order then matches it."""
        return self._resolve_type(node, ir.UNKNOWN, scope)

    def _is_resource(self, tid: int) -> bool:
        target = self.r.resolve_alias(tid)
        return isinstance(target, int) and isinstance(self.r.types[target].kind, ir.Resource)

    def _finish_signatures(self, world_order: list[int]) -> None:
        """Create the `own<r>` handles of signatures: interfaces' functions first, then
        each world's imports and then exports (the order of wit-parser's merge step)."""
        by_world: dict[int, tuple[list, list]] = {}
        for fn, wid, direction in self.world_signatures:
            by_world.setdefault(wid, ([], []))[direction != "import"].append(fn)
        ordered = list(self.signatures_of_interfaces)
        for wid in world_order:
            imports, exports = by_world.get(wid, ([], []))
            ordered.extend(imports + exports)
        for fn in ordered:
            for param in fn.params:
                if isinstance(param.type, _OwnLater):
                    param.type = self._own_if_resource(param.type.resource)
            if isinstance(fn.result, _OwnLater):
                fn.result = self._own_if_resource(fn.result.resource)

    def _constructor_result(self, node, resource: int, scope: dict) -> ir.TypeRef:
        if node is None:
            return _OwnLater(resource)
        result = self._resolve_type(node, ir.UNKNOWN, scope)
        kind = self.r.types[result].kind if isinstance(result, int) else None
        if not isinstance(kind, ir.Result):
            raise _fail("if a constructor return type is declared it must be a `result`",
                        node.span)
        ok = kind.ok
        if isinstance(ok, _OwnLater) and ok.resource == resource:
            return result
        ok_kind = self.r.types[ok].kind if isinstance(ok, int) else None
        if isinstance(ok_kind, ir.Handle) and ok_kind.kind == "own" and ok_kind.resource == resource:
            return result
        span = node.ok.span if isinstance(node, ast.ResultType) and node.ok is not None \
            else node.span
        raise _fail("the `ok` type must be the resource being constructed", span)

    def _has_borrow(self, ref: ir.TypeRef) -> bool:
        if not isinstance(ref, int):
            return False
        cached = self.has_borrow_cache.get(ref)
        if cached is not None:
            return cached
        kind = self.r.types[ref].kind
        if isinstance(kind, ir.Handle):
            found = kind.kind == "borrow"
        else:
            found = any(self._has_borrow(t) for t in ir.type_refs(kind))
        self.has_borrow_cache[ref] = found
        return found

    def _resource_functions(self, td: ast.TypeDef, scope: dict, owner_included: bool):
        resource = scope[td.name.name]
        assert isinstance(resource, int)
        out = []
        for rf in td.kind.funcs:
            named = rf.func
            is_async = named.func.is_async
            if rf.kind == "method":
                name, kind = f"[method]{td.name.name}.{named.name.name}", "method"
            elif rf.kind == "static":
                name, kind = f"[static]{td.name.name}.{named.name.name}", "static"
            else:
                name, kind = f"[constructor]{td.name.name}", "constructor"
            if is_async and kind != "constructor":
                kind = "async-" + kind
            out.append(self._resolve_function(named, name, kind, resource, scope, owner_included))
        return out

    # -- interfaces -------------------------------------------------------------------------------

    def _resolve_interface(self, iid: int, items: list, docs: str | None, attrs: list) -> None:
        iface = self.r.interfaces[iid]
        iface.docs = docs
        iface.stability = stability_of(attrs)
        included = self._enabled(iface.stability, iface.span)
        if not included:
            self.state.ex_ifaces.add(iid)
        scope = self._resolve_types(ir.TypeOwner("interface", iid), items, included)
        for name, tid in scope.items():
            if tid not in self.state.ex_types:
                iface.types[name] = tid
        funcs: list[tuple[ir.Function, bool]] = []
        for item in items:
            if isinstance(item, ast.NamedFunc):
                _define(scope, item.name, "function")
                kind = "async-freestanding" if item.func.is_async else "freestanding"
                funcs.append(self._resolve_function(item, item.name.name, kind, None, scope,
                                                    included))
            elif isinstance(item, ast.TypeDef) and isinstance(item.kind, ast.Resource):
                funcs.extend(self._resource_functions(item, scope, included))
        for fn, fn_included in funcs:
            if fn_included:
                iface.functions[fn.name] = fn
                if included:
                    self.signatures_of_interfaces.append(fn)
        _check_export_names(items)
        self.iface_scopes[iid] = scope

    # -- worlds -----------------------------------------------------------------------------------

    def _resolve_world(self, wid: int, node: ast.World) -> None:
        r = self.r
        world = r.worlds[wid]
        world.docs = node.docs
        world.stability = stability_of(node.attributes)
        included = self._enabled(world.stability, world.span)
        if not included:
            self.state.ex_worlds.add(wid)
        owner = ir.TypeOwner("world", wid)
        type_items = [it for it in node.items if isinstance(it, (ast.Use, ast.TypeDef))]
        scope = self._resolve_types(owner, type_items, included)
        includes = []
        for inc in node.items:
            if isinstance(inc, ast.Include):
                target, enabled, span = self._world_of(inc.path)
                includes.append((inc, target, enabled, span))
        self.includes[wid] = includes
        for name, tid in scope.items():
            if tid in self.state.ex_types:
                continue
            world.imports[name] = ir.WorldType(tid, r.types[tid].span)
        # Per direction, lowercase name -> the first item so named: the case-blind
        # conflict check of each new item then needs no scan of the world's items.
        spellings = {"import": _first_spellings(world.imports),
                     "export": _first_spellings(world.exports)}
        imported: set[int] = set()
        exported: set[int] = set()
        for item in node.items:
            if isinstance(item, ast.TypeDef) and isinstance(item.kind, ast.Resource):
                for fn, fn_included in self._resource_functions(item, scope, included):
                    if fn_included:
                        world.imports[fn.name] = ir.WorldFunction(fn)
                        spellings["import"].setdefault(fn.name.lower(), fn.name)
                        self.world_signatures.append((fn, wid, "import"))
                continue
            if not isinstance(item, ast.Extern):
                continue
            desc = item.direction
            value, key, item_included, span = self._world_item(item, scope, included)
            if isinstance(key, int):
                seen = imported if desc == "import" else exported
                if key in seen:
                    raise _fail(f"interface cannot be {desc}ed more than once", span)
                seen.add(key)
            dst = world.imports if desc == "import" else world.exports
            prev = dst.get(key)
            if prev is not None or (isinstance(key, str) and key in self._dropped(wid, desc)):
                prev_desc = ("interface" if isinstance(prev, ir.WorldInterface) else
                             "func" if isinstance(prev, ir.WorldFunction) else "type")
                if prev is None:
                    prev_desc = self._dropped(wid, desc)[key]
                raise _fail(f"{desc} `{key}` conflicts with prior {prev_desc} of same name", span)
            if isinstance(key, str):
                _check_case_blind(spellings[desc], key, span)
            if item_included:
                dst[key] = value
                if isinstance(key, str):
                    spellings[desc].setdefault(key.lower(), key)
                if isinstance(value, ir.WorldFunction):
                    self.world_signatures.append((value.function, wid, desc))
            elif isinstance(key, str):
                self._dropped(wid, desc)[key] = (
                    "interface" if isinstance(value, ir.WorldInterface) else "func")

    def _dropped(self, wid: int, desc: str) -> dict[str, str]:
        return self.dropped_names.setdefault((wid, desc), {})

    def _world_item(self, item: ast.Extern, scope: dict, world_included: bool):
        kind = item.kind
        if isinstance(kind, ast.InlineInterface):
            iid = len(self.r.interfaces)
            self.r.interfaces.append(ir.Interface(None, package=self.pid, span=kind.name.span))
            self._resolve_interface(iid, kind.items, item.docs, item.attributes)
            iface = self.r.interfaces[iid]
            included = world_included and iid not in self.state.ex_ifaces
            if not included:
                self.state.ex_ifaces.add(iid)
            # Read after the body, as wit-parser does: errors inside it come first. The
            # id belongs to the import/export, not to the (anonymous) interface.
            external_id = _external_id_of(item.attributes)
            value = ir.WorldInterface(iid, iface.stability, None, kind.name.span, external_id)
            return value, kind.name.name, included, kind.name.span
        if isinstance(kind, ast.ExternFunc):
            fkind = "async-freestanding" if kind.func.is_async else "freestanding"
            holder = ast.NamedFunc(kind.name, kind.func, item.docs, item.attributes, item.span)
            fn, included = self._resolve_function(holder, kind.name.name, fkind, None, scope,
                                                  world_included)
            return ir.WorldFunction(fn), fn.name, included, kind.name.span
        # `import iface;` is keyed by the interface; `import label: iface;` (wit-parser's
        # NamedPath, the component model's "implements") by the label, so one interface
        # may be imported or exported under several labels. Both are WorldInterface items.
        # Diagnostics about the item (gates, conflicts) point at the label if there is one.
        named = isinstance(kind, ast.NamedPath)
        path = kind.path if named else kind
        stability = stability_of(item.attributes)
        external_id = _external_id_of(item.attributes)
        iid, enabled = self._iface_of(path)
        span = kind.name.span if named else path.name.span
        included = world_included and self._enabled(stability, span)
        if included and not enabled:
            self.ctx_span = span
            raise self._excluded_ref("interface")
        value = ir.WorldInterface(iid, stability, item.docs, span, external_id)
        if named:
            return value, kind.name.name, included, span
        return value, iid, included, span

    # -- include and elaboration --------------------------------------------------------------

    def _process_includes(self, wid: int) -> None:
        r = self.r
        for inc, target, enabled, span in self.includes.get(wid, []):
            stability = stability_of(inc.attributes)
            if not self._enabled(stability, span):
                continue
            if not enabled or target in self.state.ex_worlds:
                self.ctx_span = span
                raise self._excluded_ref("world")
            self._include_world(wid, target, inc.names, span)
        _check_case_insensitive(r.worlds[wid])

    def _include_world(self, wid: int, src_id: int, names: list[ast.IncludeName],
                       span: Span) -> None:
        r = self.r
        world = r.worlds[wid]
        src = r.worlds[src_id]
        pending = [n for n in names]
        for key in list(src.imports) + list(src.exports):
            if isinstance(key, str):
                pending = [n for n in pending if _rename(key, n) is None]
        if pending:
            raise _fail(f"no import or export kebab-name `{pending[0].name.name}`. Note that an "
                        "ID does not support renaming", span)
        external = world.package != src.package
        cloner = _Cloner(r, ir.TypeOwner("world", src_id), ir.TypeOwner("world", wid),
                         self.pid, self.state.ex_types)
        for desc, items, dst in (("import", src.imports, world.imports),
                                 ("export", src.exports, world.exports)):
            for key, item in items.items():
                if isinstance(key, str):
                    new_name = next((n2 for n2 in (_rename(key, n) for n in names) if n2), key)
                    new_item = cloner.world_item(item)
                    if isinstance(new_item, ir.WorldFunction):
                        new_item.function.name = new_name
                    elif isinstance(new_item, ir.WorldType):
                        r.types[new_item.id].name = new_name
                    if new_name in dst:
                        raise _fail(f"{desc} of `{new_name}` shadows previously {desc}ed items",
                                    span)
                    dst[new_name] = new_item
                else:
                    prev = dst.get(key)
                    if prev is None:
                        prev = dst[key] = ir.WorldInterface(item.id, item.stability, item.docs,
                                                            item.span, item.external_id)
                    prev.stability = _merge_include_stability(
                        item.stability, prev.stability, external, item.span)

    def _elaborate_world(self, wid: int) -> None:
        _WorldElaboration(self.r, self.r.worlds[wid]).run()


# --- world elaboration ---------------------------------------------------------------------


class _WorldElaboration:
    """One world's elaboration (wit-parser's `elaborate_world`): the interfaces its
    imports and exports use are added as imports (dependencies first), and an export
    that would need an interface both imported and exported is rejected.

    An object with methods, not nested functions: `add_import`/`add_export` recurse,
    and a closure that calls itself is a reference cycle (function -> cell ->
    function) that would keep the whole `Resolve` alive until the cyclic collector
    found it, and make the collector scan all of it.
    """

    def __init__(self, r: ir.Resolve, world: ir.World) -> None:
        self.r = r
        self.world = world
        self.new_imports: dict[ir.WorldKey, ir.WorldItem] = {}
        self.new_exports: dict[ir.WorldKey, ir.WorldItem] = {}
        self.export_ifaces: dict[ir.WorldKey, ir.WorldInterface] = {}
        self.required: set[int] = set()  # interfaces exports need imported

    def run(self) -> None:
        r, world = self.r, self.world
        for key, item in self.sorted_items(world.imports):
            if isinstance(item, ir.WorldInterface):
                self.add_import(key, item.id, item.stability, item.docs, item.span,
                                item.external_id)
            elif isinstance(item, ir.WorldType):
                dep = r.type_interface_dep(item.id)
                if dep is not None:
                    self.add_import(dep, dep, r.types[item.id].stability, None, None, None)
                self.new_imports[key] = item
            else:
                self.new_imports[key] = item
        for key, item in world.exports.items():
            if isinstance(item, ir.WorldInterface):
                self.export_ifaces[key] = item
            else:
                self.new_exports[key] = item
        for key, item in self.export_ifaces.items():
            if not self.add_export(key, item, True):
                raise _fail(f"interface `{r.world_key_name(key)}` transitively depends on an "
                            "interface in incompatible ways", world.span)
        world.imports = dict(self.sorted_items(self.new_imports))
        world.exports = self.new_exports

    def sorted_items(self, items: dict) -> list:
        """Interfaces, then types used from other interfaces, other types, freestanding
        functions and resource functions; a stable sort keeps source order within each."""
        return sorted(items.items(), key=lambda kv: self.sort_key(kv[1]))

    def sort_key(self, item: ir.WorldItem) -> int:
        if isinstance(item, ir.WorldInterface):
            return 0
        if isinstance(item, ir.WorldType):
            types = self.r.types
            ty = types[item.id]
            kind = ty.kind
            if isinstance(kind, ir.Alias) and isinstance(kind.target, int) \
                    and types[kind.target].owner != ty.owner:
                return 1
            return 2
        return 3 if item.function.resource is None else 4

    def add_import(self, key, iid: int, stability: ir.Stability, docs, span,
                   external_id: str | None) -> None:
        # An import's dependencies are added with its stability but without its
        # docs or external id (wit-parser's `elaborate_world_import`).
        if key in self.new_imports:
            return
        for dep in self.r.interface_direct_deps(iid):
            self.add_import(dep, dep, stability, None, None, None)
        self.new_imports[key] = ir.WorldInterface(iid, stability, docs, span, external_id)

    def add_export(self, key, item: ir.WorldInterface, as_export: bool) -> bool:
        """Add an export (or, with `as_export` false, an interface an export uses, which
        is then imported); False if an interface would be both imported and exported."""
        if key in self.new_exports:
            return as_export
        iid = item.id
        if not as_export and iid in self.required:
            return True
        for dep in self.r.interface_direct_deps(iid):
            # Unlike an import's, an export's dependencies inherit its external id
            # (wit-parser's `add_world_export`), whether they end up imported or exported.
            dep_item = ir.WorldInterface(dep, item.stability, external_id=item.external_id)
            if not self.add_export(dep, dep_item, as_export and dep in self.export_ifaces):
                return False
        if as_export:
            if iid in self.required:
                return False
            self.new_exports[key] = item
        else:
            self.required.add(iid)
            if key not in self.new_imports:
                self.new_imports[key] = item
        return True


# --- helpers -----------------------------------------------------------------------------------


@record(frozen=True, slots=True)
class _OwnLater:
    """A resource named in a value position: an `own<r>` handle, created later."""

    resource: int


def _define(scope: dict, ident: ast.Id, value) -> None:
    if ident.name in scope:
        raise _fail(f"name `{ident.name}` is defined more than once", ident.span)
    scope[ident.name] = value


def _external_id_of(attributes: list[ast.Attribute]) -> str | None:
    """The `@external-id("...")` of an item that can have one (a type, a `use`, a
    function, an import or export; wit-parser ignores it on interfaces, worlds and
    includes, even twice). Two on one item are an error, at the second one's name."""
    found: str | None = None
    for attr in attributes:
        if isinstance(attr, ast.ExternalId):
            if found is not None:
                raise _fail("cannot specify @external-id twice", attr.name_span)
            found = attr.id
    return found


def _check_members(what: str, idents: list[ast.Id]) -> None:
    """Field/case/flag names are unique, ignoring ASCII case (as the component model)."""
    seen: dict[str, str] = {}
    for ident in idents:
        low = ident.name.lower()
        prev = seen.get(low)
        if prev is not None:
            if prev == ident.name:
                raise _fail(f"duplicate {what} `{ident.name}`", ident.span)
            raise _fail(f"{what} `{ident.name}` conflicts with previous {what} `{prev}`",
                        ident.span)
        seen[low] = ident.name


def _export_key(name: str) -> tuple:
    """How the component model compares instance export names (kebab, ASCII case-blind)."""
    low = name.lower()
    if low.startswith("[constructor]"):
        return ("constructor", low[len("[constructor]"):])
    for prefix in ("[method]", "[static]"):
        if low.startswith(prefix):
            resource, _, method = low[len(prefix):].partition(".")
            if resource == method:
                return ("label", resource)
            return ("resource-func", name[len(prefix):])
    return ("label", low)


def _check_export_names(items: list) -> None:
    """Types and functions of an interface become one instance's exports: no clashes."""
    names: list[tuple[str, Span]] = []
    for item in items:
        if isinstance(item, ast.Use):
            names.extend(((n.alias or n.name).name, (n.alias or n.name).span) for n in item.names)
        elif isinstance(item, ast.TypeDef):
            names.append((item.name.name, item.name.span))
            if isinstance(item.kind, ast.Resource):
                for rf in item.kind.funcs:
                    ident = rf.func.name
                    if rf.kind == "constructor":
                        names.append((f"[constructor]{item.name.name}", ident.span))
                    else:
                        names.append((f"[{rf.kind}]{item.name.name}.{ident.name}", ident.span))
        elif isinstance(item, ast.NamedFunc):
            names.append((item.name.name, item.name.span))
    seen: dict[tuple, str] = {}
    for name, span in names:
        key = _export_key(name)
        prev = seen.get(key)
        if prev is not None:
            if prev == name:
                raise _fail(f"duplicate name `{name}`", span)
            raise _fail(f"name `{name}` conflicts with previous name `{prev}`", span)
        seen[key] = name


def _float_hint(exc: ResolveError) -> None:
    diag = exc.diagnostic
    for old, new in (("float32", "f32"), ("float64", "f64")):
        if diag.message == f"type `{old}` does not exist":
            diag.notes.append(f"the `{old}` type has been renamed to `{new}`")


def _collect_deps(node, out: list[ast.Id]) -> None:
    """Names a type definition refers to (for ordering type definitions)."""
    if isinstance(node, ast.NamedType):
        out.append(node.name)
    elif isinstance(node, ast.HandleType):
        out.append(node.resource)
    elif isinstance(node, ast.Alias):
        _collect_deps(node.target, out)
    elif isinstance(node, ast.Record):
        for f in node.fields:
            _collect_deps(f.type, out)
    elif isinstance(node, ast.Variant):
        for c in node.cases:
            if c.type is not None:
                _collect_deps(c.type, out)
    elif isinstance(node, ast.TupleType):
        for t in node.types:
            _collect_deps(t, out)
    elif isinstance(node, (ast.ListType,)):
        _collect_deps(node.element, out)
    elif isinstance(node, ast.OptionType):
        _collect_deps(node.inner, out)
    elif isinstance(node, (ast.FutureType, ast.StreamType)):
        if node.inner is not None:
            _collect_deps(node.inner, out)
    elif isinstance(node, ast.MapType):
        _collect_deps(node.key, out)
        _collect_deps(node.value, out)
    elif isinstance(node, ast.ResultType):
        if node.ok is not None:
            _collect_deps(node.ok, out)
        if node.err is not None:
            _collect_deps(node.err, out)


def _toposort(kind: str, deps: dict[str, list[ast.Id]]) -> list[str]:
    """Dependencies first; among ready nodes, source order (as wit-parser's toposort)."""
    names = list(deps)
    index = {name: i for i, name in enumerate(names)}
    remaining = [0] * len(names)
    reverse: list[list[int]] = [[] for _ in names]
    for i, name in enumerate(names):
        edges = deps[name]
        remaining[i] = len(edges)
        for edge in edges:
            j = index.get(edge.name)
            if j is None:
                raise _not_found(kind, edge)
            reverse[j].append(i)
    heap = [i for i in range(len(names)) if remaining[i] == 0]
    heapq.heapify(heap)
    order: list[str] = []
    while heap:
        i = heapq.heappop(heap)
        order.append(names[i])
        for j in reverse[i]:
            remaining[j] -= 1
            if remaining[j] == 0:
                heapq.heappush(heap, j)
    if len(order) == len(names):
        return order
    for i, name in enumerate(names):
        if remaining[i] == 0:
            continue
        for edge in deps[name]:
            if remaining[index[edge.name]] != 0:
                raise _fail(f"{kind} `{edge.name}` depends on itself", edge.span)
    raise AssertionError("cycle not found")  # pragma: no cover


def _rename(original: str, inc: ast.IncludeName) -> str | None:
    """The new name of a world item under `include ... with { a as b }`, if it matches."""
    name, alias = inc.name.name, inc.alias.name
    if original == name:
        return alias
    if "]" not in original:
        return None
    prefix, rest = original.split("]", 1)
    if "." in rest:
        res, member = rest.split(".", 1)
        if res == name:
            return f"{prefix}]{alias}.{member}"
    if rest == name:
        return f"{prefix}]{alias}"
    return None


def _merge_include_stability(src: ir.Stability, into: ir.Stability, external: bool,
                             span: Span | None) -> ir.Stability:
    if external and src.kind == "stable":
        return ir.UNKNOWN
    if src == into or src.is_unknown:
        return into
    if into.is_unknown:
        return src
    raise _fail(f"mismatch in stability from '{src}' to '{into}'", span)


def _first_spellings(items: dict) -> dict[str, str]:
    """Lowercase name -> the first of `items`' names (keys) that lowercases to it."""
    out: dict[str, str] = {}
    for key in items:
        if isinstance(key, str):
            out.setdefault(key.lower(), key)
    return out


def _check_case_blind(spellings: dict[str, str], key: str, span: Span | None) -> None:
    """A new world item name (not yet in the world) may not differ from an earlier one
    only by ASCII case; `spellings` is `_first_spellings` of the earlier ones."""
    other = spellings.get(key.lower())
    if other is not None:
        raise _fail(f"name `{key}` conflicts with previous name `{other}`", span)


def _check_case_insensitive(world: ir.World) -> None:
    for desc, items in (("import", world.imports), ("export", world.exports)):
        seen: dict[str, str] = {}
        for key in items:
            if not isinstance(key, str):
                continue
            low = key.lower()
            prev = seen.get(low)
            if prev is not None and prev != key:
                raise _fail(f"{desc} `{key}` in world `{world.name}` conflicts with {desc} "
                            f"`{prev}` (kebab-case identifiers are case-insensitive)",
                            world.span)
            seen[low] = key


class _Cloner:
    """Copies a world's own types (and anonymous interfaces) into another world (`include`)."""

    def __init__(self, r: ir.Resolve, prev: ir.TypeOwner, new: ir.TypeOwner, pid: int,
                 excluded: set[int]) -> None:
        self.r, self.prev, self.new, self.pid = r, prev, new, pid
        self.types: dict[int, int] = {}
        self.excluded = excluded

    def world_item(self, item):
        if isinstance(item, ir.WorldType):
            return ir.WorldType(self.type_id(item.id), item.span)
        if isinstance(item, ir.WorldFunction):
            return ir.WorldFunction(self.function(item.function))
        iid = item.id if self.r.interfaces[item.id].name is not None else self.interface(item.id)
        return ir.WorldInterface(iid, item.stability, item.docs, item.span, item.external_id)

    def type_id(self, tid: int) -> int:
        new = self.types.get(tid)
        if new is None:
            old = self.r.types[tid]
            td = ir.TypeDef(old.name, self.kind(old.kind), old.owner, old.docs, old.stability,
                            old.span, old.external_id)
            if td.owner is not None and td.owner == self.prev:
                td.owner = self.new
            new = len(self.r.types)
            self.r.types.append(td)
            if tid in self.excluded:
                self.excluded.add(new)
            self.types[tid] = new
        return new

    def ty(self, ref):
        return self.type_id(ref) if isinstance(ref, int) else ref

    def kind(self, kind):
        r = self.r
        if isinstance(kind, ir.Alias):
            target = kind.target
            if isinstance(target, int):
                if r.types[target].owner == self.prev:
                    target = self.type_id(target)
                else:
                    target = self.types.get(target, target)
            return ir.Alias(target)
        if isinstance(kind, ir.Handle):
            return ir.Handle(kind.kind, self.type_id(kind.resource))
        if isinstance(kind, ir.Record):
            return ir.Record([ir.Field(f.name, self.ty(f.type), f.docs, f.span)
                              for f in kind.fields])
        if isinstance(kind, ir.Variant):
            return ir.Variant([ir.Case(c.name, self.ty(c.type) if c.type is not None else None,
                                       c.docs, c.span) for c in kind.cases])
        if isinstance(kind, ir.Tuple):
            return ir.Tuple([self.ty(t) for t in kind.types])
        if isinstance(kind, ir.Option):
            return ir.Option(self.ty(kind.inner))
        if isinstance(kind, ir.List):
            return ir.List(self.ty(kind.element), kind.size)
        if isinstance(kind, ir.Map):
            return ir.Map(self.ty(kind.key), self.ty(kind.value))
        if isinstance(kind, ir.Result):
            return ir.Result(None if kind.ok is None else self.ty(kind.ok),
                             None if kind.err is None else self.ty(kind.err))
        if isinstance(kind, ir.Future):
            return ir.Future(None if kind.inner is None else self.ty(kind.inner))
        if isinstance(kind, ir.Stream):
            return ir.Stream(None if kind.inner is None else self.ty(kind.inner))
        return kind  # record-free kinds (resource, enum, flags) are immutable here

    def function(self, fn: ir.Function) -> ir.Function:
        return ir.Function(
            fn.name, fn.kind, [ir.Param(p.name, self.ty(p.type), p.span) for p in fn.params],
            None if fn.result is None else self.ty(fn.result),
            None if fn.resource is None else self.type_id(fn.resource),
            fn.docs, fn.stability, fn.span, fn.external_id)

    def interface(self, iid: int) -> int:
        r = self.r
        old = r.interfaces[iid]
        new_id = len(r.interfaces)
        new = ir.Interface(old.name, package=self.pid, docs=old.docs, stability=old.stability,
                           span=old.span, clone_of=iid)
        r.interfaces.append(new)
        inner = _Cloner(r, ir.TypeOwner("interface", iid), ir.TypeOwner("interface", new_id),
                        self.pid, self.excluded)
        inner.types = self.types
        new.types = {name: inner.type_id(tid) for name, tid in old.types.items()}
        new.functions = {name: inner.function(fn) for name, fn in old.functions.items()}
        return new_id


__all__: Sequence[str] = ("load",)
