"""WIT packages encoded as wasm (`deps/x.wasm`, `deps/x.wat`) -> a standalone `ir.Resolve`.

wit-component encodes a package as a component exporting one component *type* per
interface or world (the "v2" encoding): the type for interface `i` of `ns:pkg` imports
the interfaces `i` uses and exports `ns:pkg/i` as an instance type; a world's type
exports `ns:pkg/w` as a component type holding the world's imports and exports. Docs
and stability travel in a `package-docs` custom section (JSON).

The decoding follows wit-parser's `decoding.rs` so the result, once merged
(`merge.py`), is the one wasm-tools gives: foreign packages are built lazily from the
parts that are used, a type export that aliases an already decoded type becomes a
`use`, and anonymous types are shared by wasm type identity. The arenas are filled in
the same order as wit-parser's, and packages come out dependencies first.
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager

from .. import ir
from ..diagnostics import InputError, SourceFile, Span, error, read_source
from ..wasm import ast as wast
from ..wasm import types as wt
from ..wasm.errors import WasmError
from ..wasm.names import is_kebab, is_semver

_INTERFACE_NAME = re.compile(
    r"^(?P<ns>[a-z][a-z0-9-]*):(?P<pkg>[a-z][a-z0-9-]*)/(?P<iface>[a-z][a-z0-9-]*)"
    r"(?:@(?P<version>.+))?$")


class _Failure(Exception):
    """A decoding error with the item it is about (its position, when known)."""

    def __init__(self, message: str, pos=None) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


@contextmanager
def _located(pos):
    """Errors raised deep in type conversion point at the item being decoded."""
    try:
        yield
    except _Failure as exc:
        if exc.pos is None:
            exc.pos = pos
        raise


# --- public entry point -------------------------------------------------------------------------


def is_wasm(data: bytes) -> bool:
    """True for a component/module binary or for wasm text (`(component ...)`)."""
    if data[:4] == b"\x00asm":
        return True
    from ..wasm.text import looks_like_wat  # lazy: only for files that may be text

    return looks_like_wat(data)


def decode_file(path: str, data: bytes, *, as_dependency: bool = True,
                shown: str | None = None) -> ir.Resolve:
    """Decode one `.wasm`/`.wat` file holding an encoded WIT package.

    The returned resolve holds the package last (its foreign dependencies, as far as it
    uses them, before it); `resolve.main_packages` is `[that package]`. A file given as
    an input (not `as_dependency`) may also be a component whose interface has only
    type-level imports and exports: like wasm-tools, it becomes world `root` of
    package `root:component`.
    """
    shown = shown or path
    source = _Source(shown, data)
    try:
        component = source.parse()
        info = wt.analyze(component)
        if not as_dependency and not info.unsupported and not _is_package(info):
            return _decode_component(info)
        return _decode_info(info)
    except (WasmError, _Failure) as exc:
        # What concerns the whole file (no package in it...) points at its start.
        pos = exc.pos if exc.pos is not None else (0, min(1, len(data)))
        raise InputError(source.diagnostic(exc.message, pos)) from None
    except RecursionError:
        # Nesting is bounded by the readers; a chain of thousands of anonymous types
        # (`list` of `list` of ... by index) can still be deeper than Python recurses.
        raise InputError(source.diagnostic(
            "types nest too deeply for wit2witx to decode", (0, min(1, len(data))))) from None


class _Source:
    """A wasm input and how to point into it: text spans for `.wat`, a hex dump for
    binaries (so a diagnostic still shows a line, a column and a caret)."""

    def __init__(self, shown: str, data: bytes) -> None:
        self.shown = shown
        self.data = data
        self.text: SourceFile | None = None

    def parse(self) -> wast.Component:
        if self.data[:4] == b"\x00asm":
            from ..wasm.binary import read_component

            return read_component(self.data)
        from ..wasm.text import read_text

        try:
            text = self.data.decode("utf-8")
        except UnicodeDecodeError:
            read_source(self.shown)  # raises the usual diagnostic at the first bad byte
            raise
        self.text = SourceFile(self.shown, text)
        return read_text(text)

    def diagnostic(self, message: str, pos):
        if pos is None:
            return error(message, None, f"in `{self.shown}`")
        if self.text is not None:
            return error(message, self.text.span(*pos))
        return error(message, _hexdump_span(self.shown, self.data, pos),
                     f"at byte offset {pos[0]:#x} of `{self.shown}`")


def _hexdump_span(shown: str, data: bytes, pos) -> Span:
    """A span over the hex dump line holding byte `pos[0]` (16 bytes a line)."""
    start = min(pos[0], max(len(data) - 1, 0))
    row = start // 16
    lines = []
    for r in range(row + 1):
        chunk = data[r * 16:(r + 1) * 16]
        lines.append(f"{r * 16:08x}: " + " ".join(f"{b:02x}" for b in chunk))
    text = "\n".join(lines)
    line_start = text.rfind("\n") + 1
    col = 10 + (start - row * 16) * 3
    end_byte = min(max(pos[1], start + 1), (row + 1) * 16, max(len(data), start + 1))
    width = (end_byte - start) * 3 - 1
    return SourceFile(shown, text).span(line_start + col, line_start + col + max(width, 1))


# --- the package ----------------------------------------------------------------------------------


def _is_package(info: wt.ComponentInfo) -> bool:
    return bool(info.externs) and all(
        e.direction == "export" and e.item.kind == "type"
        and isinstance(e.item.referenced, wt.ComponentType) for e in info.externs)


def _decode_component(info: wt.ComponentInfo) -> ir.Resolve:
    """The world of a component (wit-parser's `decode_component`): its imports and
    exports, in world `root` of package `root:component` (names the binary lacks)."""
    _read_metadata(info)  # checked as wit-parser does, though a component keeps no docs
    decoder = _Decoder()
    wid = 0
    decoder.r.worlds.append(ir.World("root"))
    world = decoder.r.worlds[wid]
    fields = _PackageFields(ir.PackageName("root", "component"))
    fields.worlds["root"] = wid
    owner = ir.TypeOwner("world", wid)
    for ext in info.externs:
        item, name = ext.item, ext.item.name.name
        if item.kind == "instance":
            key, value = decoder.world_instance(name, item, fields)
        elif item.kind == "func":
            key, value = name, ir.WorldFunction(decoder.convert_function(name, item, owner))
        elif item.kind == "type" and ext.direction == "import":
            key, value = name, ir.WorldType(decoder.register_type_export(name, item, owner))
        elif ext.direction == "import":
            continue  # other imports are not part of a world
        else:
            raise _Failure(f"component export `{name}` was not a function or instance",
                           item.pos)
        (world.imports if ext.direction == "import" else world.exports)[key] = value
    resolve, pid = decoder.finish(fields)
    resolve.main_packages.append(pid)
    return resolve


def _decode_info(info: wt.ComponentInfo) -> ir.Resolve:
    if info.unsupported:
        item = info.unsupported[0]
        raise _Failure(f"found an actual component ({item.what}) instead of an encoded "
                       "WIT package", item.pos)
    exports = [e.item for e in info.externs]
    if not exports:
        raise _Failure("found an actual component instead of an encoded WIT package "
                       "(it exports nothing)")
    for ext in info.externs:
        it = ext.item
        if ext.direction != "export" or it.kind != "type" \
                or not isinstance(it.referenced, wt.ComponentType):
            raise _Failure("found an actual component instead of an encoded WIT package "
                           "(every export of a package is a component type)", it.pos)
    first = exports[0].name.name
    if _INTERFACE_NAME.match(first) and first.split("/", 1)[1].split("@")[0] == "wit":
        raise _Failure("this package uses the retired v1 encoding; re-encode it with a "
                       "current `wasm-tools component wit --wasm`", exports[0].pos)
    if not is_kebab(first):
        raise _Failure(f"`{first}` is not a valid package item name", exports[0].pos)
    meta = _read_metadata(info)
    decoder = _Decoder()
    pkg = decoder.decode_v2(exports)
    resolve, pid = decoder.finish(pkg)
    if meta is not None:
        data, pos = meta
        try:
            _Injector(resolve, pos).package(pid, data)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise _Failure(f"invalid package-docs section: {exc}", pos) from None
    resolve.main_packages.append(pid)
    return resolve


class _PackageFields:
    """A package being built: its name and its interfaces and worlds, by name."""

    def __init__(self, name: ir.PackageName | None = None) -> None:
        self.name = name
        self.interfaces: dict[str, int] = {}
        self.worlds: dict[str, int] = {}


def _parse_interface_name(name: str, item: wt.Item, pos) -> tuple[ir.PackageName, str]:
    m = _INTERFACE_NAME.match(name)
    if m is None:
        raise _Failure(f"`{name}` is not an interface name (`ns:pkg/name@version`)", pos)
    version = m["version"]
    if version is not None and item.name.version_suffix:
        version += item.name.version_suffix
    return ir.PackageName(m["ns"], m["pkg"], version), m["iface"]


class _Decoder:
    """wit-parser's `WitPackageDecoder`, over `wasm.types` nodes."""

    def __init__(self) -> None:
        self.r = ir.Resolve()
        self.foreign: dict[str, _PackageFields] = {}
        self.foreign_index: dict[str, int] = {}  # its position in `foreign`
        self.iface_package: dict[int, int] = {}  # foreign interface -> index in `foreign`
        self.named_interfaces: dict[str, int] = {}
        self.resources: dict[ir.TypeOwner, dict[str, int]] = {}
        self.type_map: dict[object, int] = {}  # wasm type node -> type id

    # -- top level -----------------------------------------------------------------------

    def decode_v2(self, exports: list[wt.Item]) -> _PackageFields:
        fields = _PackageFields()
        for item in exports:
            with _located(item.pos):
                self.decode_item(item, fields)
        return fields

    def decode_item(self, item: wt.Item, fields: _PackageFields) -> None:
        component = item.referenced
        if len(component.exports) != 1:
            raise _Failure(f"expected a single export, but found {len(component.exports)} "
                           "instead", item.pos)
        (name, inner), = component.exports.items()
        if inner.kind == "component":
            pkg_name = self.decode_world(name, inner, fields)
        elif inner.kind == "instance":
            pkg_name = self.decode_interface(name, component.imports, inner, fields)
        else:
            raise _Failure(f"export `{name}` is neither an interface nor a world", inner.pos)
        if fields.name is None:
            fields.name = pkg_name
        elif fields.name != pkg_name:
            raise _Failure("item defined with mismatched package name", inner.pos)

    def decode_interface(self, name: str, imports: dict, item: wt.Item,
                         fields: _PackageFields) -> ir.PackageName:
        pkg, _ = _parse_interface_name(name, item, item.pos)
        for import_name, imported in imports.items():
            with _located(imported.pos):
                self.register_import(import_name, imported)
        self.register_interface(name, item, fields)
        return pkg

    def decode_world(self, name: str, item: wt.Item, fields: _PackageFields) -> ir.PackageName:
        pkg, _ = _parse_interface_name(name, item, item.pos)
        self.register_world(name, item.ty, fields)
        return pkg

    # -- interfaces ----------------------------------------------------------------------

    def register_import(self, name: str, item: wt.Item) -> int:
        """An interface imported by an item of the package: a foreign one is created (or
        grown) from what is used; a local one must already define everything."""
        if item.kind != "instance":
            raise _Failure(f"import `{name}` is not an instance", item.pos)
        iid = self.named_interfaces.get(name)
        is_local = iid is not None
        if iid is None:
            iid = self.dep_interface(name, item)
        iface = self.r.interfaces[iid]
        owner = ir.TypeOwner("interface", iid)
        for export_name, export in item.ty.exports.items():
            with _located(export.pos):
                self.register_import_export(iface, is_local, owner, export_name, export)
        return iid

    def register_import_export(self, iface: ir.Interface, is_local: bool,
                               owner: ir.TypeOwner, export_name: str, export: wt.Item) -> None:
        if export.kind == "type":
            existing = iface.types.get(export_name)
            if existing is not None:
                if isinstance(export.referenced, wt.Defined):
                    self.register_defined(existing, export.referenced)
                self.type_map[export.created] = existing
                return
            if is_local:
                raise _Failure(f"instance type export `{export_name}` not defined in "
                               "interface", export.pos)
            iface.types[export_name] = self.register_type_export(export_name, export, owner)
        elif export.kind == "func":
            if export_name in iface.functions:
                return
            if is_local:
                raise _Failure(f"instance function export `{export_name}` not defined "
                               "in interface", export.pos)
            iface.functions[export_name] = self.convert_function(export_name, export, owner)
        else:
            raise _Failure(f"instance type export `{export_name}` is not a type", export.pos)

    def dep_interface(self, name: str, item: wt.Item) -> int:
        pkg_name, iface_name = _parse_interface_name(name, item, item.pos)
        key = str(pkg_name)
        pkg = self.foreign.get(key)
        if pkg is None:
            pkg = self.foreign[key] = _PackageFields(pkg_name)
            self.foreign_index[key] = len(self.foreign_index)
        iid = pkg.interfaces.get(iface_name)
        if iid is None:
            iid = len(self.r.interfaces)
            self.r.interfaces.append(ir.Interface(iface_name))
            pkg.interfaces[iface_name] = iid
        self.iface_package[iid] = self.foreign_index[key]
        return iid

    def register_interface(self, name: str, item: wt.Item,
                           fields: _PackageFields) -> tuple[ir.WorldKey, int]:
        if name in self.named_interfaces:
            iid = self.register_import(name, item)
            return iid, iid
        iface_name = self.interface_name_of(name, item)
        iface = ir.Interface(iface_name)
        owner = ir.TypeOwner("interface", len(self.r.interfaces))
        for export_name, export in item.ty.exports.items():
            if export.kind == "type":
                iface.types[export_name] = self.register_type_export(export_name, export, owner)
            elif export.kind == "func":
                iface.functions[export_name] = self.convert_function(export_name, export, owner)
            else:
                raise _Failure(f"instance type export `{export_name}` is not a type or "
                               "function", export.pos)
        iid = len(self.r.interfaces)
        self.r.interfaces.append(iface)
        if iface_name is None:
            return name, iid
        if iface_name in fields.interfaces:
            raise _Failure(f"duplicate interface `{iface_name}`", item.pos)
        fields.interfaces[iface_name] = iid
        self.named_interfaces[name] = iid
        return iid, iid

    @staticmethod
    def interface_name_of(name: str, item: wt.Item) -> str | None:
        m = _INTERFACE_NAME.match(name)
        if m is not None:
            return m["iface"]
        if is_kebab(name):
            return None
        raise _Failure(f"cannot extract item name from: {name}", item.pos)

    # -- worlds -------------------------------------------------------------------------

    def register_world(self, name: str, ty: wt.ComponentType, fields: _PackageFields) -> int:
        m = _INTERFACE_NAME.match(name)
        world = ir.World(m["iface"])  # `name` was checked by `_parse_interface_name`
        wid = len(self.r.worlds)
        owner = ir.TypeOwner("world", wid)
        for item_name, item in ty.imports.items():
            if item.kind == "instance":
                key, value = self.world_instance(item_name, item, fields)
            elif item.kind == "type":
                tid = self.register_type_export(item_name, item, owner)
                key, value = item_name, ir.WorldType(tid)
            elif item.kind == "func":
                key = item_name
                value = ir.WorldFunction(self.convert_function(item_name, item, owner))
            else:
                raise _Failure(f"component import `{item_name}` is not an instance, func, "
                               "or type", item.pos)
            world.imports[key] = value
        for item_name, item in ty.exports.items():
            if item.kind == "instance":
                key, value = self.world_instance(item_name, item, fields)
            elif item.kind == "func":
                key = item_name
                value = ir.WorldFunction(self.convert_function(item_name, item, owner))
            else:
                raise _Failure(f"component export `{item_name}` is not an instance or "
                               "function", item.pos)
            world.exports[key] = value
        self.r.worlds.append(world)
        if world.name in fields.worlds:
            raise _Failure(f"duplicate world `{world.name}`")
        fields.worlds[world.name] = wid
        return wid

    def world_instance(self, name: str, item: wt.Item, fields: _PackageFields):
        if item.name.implements is not None:
            iid = self.register_import(item.name.implements, item)
            key: ir.WorldKey = name
        elif _INTERFACE_NAME.match(name):
            iid = self.register_import(name, item)
            key = iid
        else:
            key, iid = self.register_interface(name, item, fields)
        return key, ir.WorldInterface(iid, external_id=item.name.external_id)

    # -- types ----------------------------------------------------------------------------

    def find_alias(self, node) -> int | None:
        """The decoded type `node` is an alias of (following alias chains), if any."""
        while node is not None:
            tid = self.type_map.get(node)
            if tid is not None:
                return tid
            node = wt.peel(node)
        return None

    def register_type_export(self, name: str, item: wt.Item, owner: ir.TypeOwner) -> int:
        prev = self.find_alias(item.referenced)
        if prev is not None:
            kind: ir.TypeDefKind = ir.Alias(prev)
        elif isinstance(item.referenced, wt.Resource):
            kind = ir.Resource()
        elif isinstance(item.referenced, wt.Defined):
            kind = self.convert_defined(item.referenced, item.pos)
        else:
            raise _Failure(f"type `{name}` refers to a type that was never defined", item.pos)
        tid = len(self.r.types)
        self.r.types.append(ir.TypeDef(name, kind, owner, external_id=item.name.external_id))
        if isinstance(kind, ir.Resource):
            scope = self.resources.setdefault(owner, {})
            scope[name] = tid
        if item.created in self.type_map:
            raise _Failure(f"cannot represent this component in WIT: the type `{name}` "
                           "appears more than once", item.pos)
        self.type_map[item.created] = tid
        return tid

    def convert_valtype(self, vt, pos) -> ir.TypeRef:
        if isinstance(vt, str):
            return vt
        tid = self.type_map.get(vt)
        if tid is not None:
            return tid
        if not isinstance(vt, wt.Defined):
            raise _Failure("reference to a type that was never decoded", pos)
        kind = self.convert_defined(vt, pos)
        if isinstance(kind, (ir.Record, ir.Enum, ir.Variant, ir.Flags, ir.Resource)):
            raise _Failure(f"unexpected unnamed type of kind '{type(kind).__name__.lower()}'",
                           pos)
        tid = len(self.r.types)
        self.r.types.append(ir.TypeDef(None, kind))
        self.type_map[vt] = tid
        return tid

    def convert_defined(self, d: wt.Defined, pos) -> ir.TypeDefKind:
        kind, args = d.kind, d.args
        vt = self.convert_valtype

        def opt(t):
            return None if t is None else vt(t, pos)

        if kind == "primitive":
            return ir.Alias(args)
        if kind == "list":
            return ir.List(vt(args, pos))
        if kind == "fixed-list":
            return ir.List(vt(args[0], pos), args[1])
        if kind == "map":
            return ir.Map(vt(args[0], pos), vt(args[1], pos))
        if kind == "tuple":
            return ir.Tuple([vt(t, pos) for t in args])
        if kind == "option":
            return ir.Option(vt(args, pos))
        if kind == "result":
            return ir.Result(opt(args[0]), opt(args[1]))
        if kind == "record":
            return ir.Record([ir.Field(n, vt(t, pos)) for n, t in args])
        if kind == "variant":
            return ir.Variant([ir.Case(n, opt(t)) for n, t in args])
        if kind == "flags":
            return ir.Flags([ir.Case(n) for n in args])
        if kind == "enum":
            return ir.Enum([ir.Case(n) for n in args])
        if kind in ("own", "borrow"):
            tid = self.type_map.get(args)
            if tid is None:
                raise _Failure(f"`{kind}` of a resource that was never decoded", pos)
            return ir.Handle(kind, tid)
        if kind in ("stream", "future"):
            return (ir.Stream if kind == "stream" else ir.Future)(opt(args))
        raise _Failure(f"unsupported type kind `{kind}`", pos)

    def register_defined(self, tid: int, d: wt.Defined) -> None:
        """Match a second view of an already decoded type against it (wit-parser's
        `Registrar`): the anonymous wasm types inside `d` are mapped to the decoded
        ones, so a foreign type seen twice does not duplicate `list<u8>` & co."""
        kind = self.r.types[tid].kind
        if d.kind == "primitive" or d.kind in ("flags", "enum", "own", "borrow"):
            return
        if isinstance(kind, ir.Alias) and isinstance(kind.target, int):
            return  # named elsewhere: nothing anonymous to connect
        expected = {"list": ir.List, "fixed-list": ir.List, "map": ir.Map, "tuple": ir.Tuple,
                    "option": ir.Option, "result": ir.Result, "record": ir.Record,
                    "variant": ir.Variant, "stream": ir.Stream, "future": ir.Future}[d.kind]
        if not isinstance(kind, expected) or (d.kind == "fixed-list") != (
                isinstance(kind, ir.List) and kind.size is not None):
            raise _Failure(f"expected a {d.kind.replace('-', ' ')}")
        for wasm, wit in self.structure_pairs(d, kind):
            if (wasm is None) != (wit is None):
                raise _Failure(f"disagreement on {d.kind} structure")
            if wasm is None or isinstance(wasm, str):
                continue
            if not isinstance(wit, int):
                raise _Failure("expected id-based type")
            # As wit-parser: the newest view wins, and only a first sighting recurses.
            seen = wasm in self.type_map
            self.type_map[wasm] = wit
            if not seen:
                while isinstance(wasm, wt.TypeAlias):
                    wasm = wasm.target
                if isinstance(wasm, wt.Defined):
                    self.register_defined(wit, wasm)

    @staticmethod
    def structure_pairs(d: wt.Defined, kind) -> list:
        """(wasm value type, decoded type ref) pairs of the two views of one type."""
        args = d.args
        if d.kind == "list":
            return [(args, kind.element)]
        if d.kind == "fixed-list":
            if args[1] != kind.size:
                raise _Failure(f"expected a fixed-length {args[1]} list")
            return [(args[0], kind.element)]
        if d.kind == "map":
            return [(args[0], kind.key), (args[1], kind.value)]
        if d.kind in ("option", "stream", "future"):
            return [(args, kind.inner)]
        if d.kind == "result":
            return [(args[0], kind.ok), (args[1], kind.err)]
        if d.kind == "tuple":
            if len(args) != len(kind.types):
                raise _Failure("mismatched number of tuple fields")
            return list(zip(args, kind.types))
        members = kind.fields if d.kind == "record" else kind.cases
        if len(args) != len(members):
            raise _Failure(f"mismatched number of {d.kind} "
                           + ("fields" if d.kind == "record" else "cases"))
        if [n for n, _ in args] != [m.name for m in members]:
            raise _Failure("mismatched " + ("field" if d.kind == "record" else "case")
                           + " order")
        return [(t, m.type) for (_, t), m in zip(args, members)]

    # -- functions --------------------------------------------------------------------------

    def convert_function(self, name: str, item: wt.Item, owner: ir.TypeOwner) -> ir.Function:
        func: wt.Func = item.ty
        params = [ir.Param(n, self.convert_valtype(t, item.pos)) for n, t in func.params]
        result = None if func.result is None else self.convert_valtype(func.result, item.pos)
        kind, resource = self.function_kind(name, func.is_async, owner, item.pos)
        return ir.Function(name, kind, params, result, resource,
                           external_id=item.name.external_id)

    def function_kind(self, name: str, is_async: bool, owner: ir.TypeOwner, pos):
        prefix = "async-" if is_async else ""
        if not name.startswith("["):
            return prefix + "freestanding", None
        tag, _, rest = name[1:].partition("]")
        if tag == "constructor":
            return "constructor", self.resource_named(owner, rest, pos)
        if tag in ("method", "static"):
            resource_name = rest.split(".", 1)[0]
            return prefix + tag, self.resource_named(owner, resource_name, pos)
        raise _Failure(f"unsupported function name `{name}`", pos)

    def resource_named(self, owner: ir.TypeOwner, name: str, pos) -> int:
        tid = self.resources.get(owner, {}).get(name)
        if tid is None:
            raise _Failure(f"resource `{name}` is not defined here", pos)
        return tid

    # -- packages ---------------------------------------------------------------------------

    def finish(self, main: _PackageFields) -> tuple[ir.Resolve, int]:
        """Insert the foreign packages, dependencies first, then the package itself."""
        order: list[int] = []
        names = list(self.foreign)
        for i in range(len(names)):
            self.visit_package(i, names, order)
        for i in order:
            self.insert_package(self.foreign[names[i]])
        return self.r, self.insert_package(main)

    def visit_package(self, idx: int, names: list[str], order: list[int]) -> None:
        if idx in order:
            return
        pkg = self.foreign[names[idx]]
        ifaces = list(pkg.interfaces.values())
        for wid in pkg.worlds.values():
            world = self.r.worlds[wid]
            for item in (*world.imports.values(), *world.exports.values()):
                if isinstance(item, ir.WorldInterface):
                    ifaces.append(item.id)
        for iid in ifaces:
            for dep in self.r.interface_direct_deps(iid):
                dep_idx = self.iface_package.get(dep)
                if dep_idx is not None and dep_idx != idx:
                    self.visit_package(dep_idx, names, order)
        order.append(idx)

    def insert_package(self, fields: _PackageFields) -> int:
        r = self.r
        key = str(fields.name)
        pid = r.package_names.get(key)
        if pid is None:
            pid = len(r.packages)
            r.packages.append(ir.Package(fields.name))
            r.package_names[key] = pid
        pkg = r.packages[pid]
        for name, iid in fields.interfaces.items():
            pkg.interfaces[name] = iid
            r.interfaces[iid].package = pid
        for name, wid in fields.worlds.items():
            pkg.worlds[name] = wid
            world = r.worlds[wid]
            world.package = pid
            for wkey, item in (*world.imports.items(), *world.exports.items()):
                if isinstance(wkey, str) and isinstance(item, ir.WorldInterface):
                    if r.interfaces[item.id].name is None:
                        r.interfaces[item.id].package = pid
        return pid


# --- docs and stability (the `package-docs` custom section) -----------------------------------------


# The fields each level of the section may have (serde's `deny_unknown_fields`).
_META_FIELDS = {
    "package": {"docs", "worlds", "interfaces"},
    "world": {"docs", "stability", "interfaces", "types", "funcs", "interface_exports",
              "func_exports", "interface_import_stability", "interface_export_stability",
              "interface_import_docs", "interface_export_docs"},
    "interface": {"docs", "stability", "funcs", "types"},
    "type": {"docs", "stability", "items"},
    "func": {"docs", "stability"},
}


def _read_metadata(info: wt.ComponentInfo) -> tuple[dict, object] | None:
    """The `package-docs` section's JSON, checked field by field, and its position."""
    sections = [c for c in info.customs if c.name == "package-docs"]
    if not sections:
        return None
    if len(sections) > 1:
        raise _Failure('multiple "package-docs" sections', sections[1].pos)
    section = sections[0]
    data = section.data
    if not data or data[0] not in (0, 1):
        raise _Failure(f"expected package-docs version 1, got {data[0] if data else None}",
                       section.pos)
    try:
        meta = json.loads(data[1:].decode("utf-8"))
        _check_fields(meta, "package")
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise _Failure(f"invalid package-docs section: {exc}", section.pos) from None
    return meta, section.pos


def _check_fields(value, level: str) -> None:
    if level == "func" and (value is None or isinstance(value, str)):
        return
    if not isinstance(value, dict):
        raise ValueError(f"expected an object for a {level}")
    unknown = set(value) - _META_FIELDS[level]
    if unknown:
        raise ValueError(f"unknown field `{sorted(unknown)[0]}` in a {level}")
    nested = {"worlds": "world", "interfaces": "interface", "interface_exports": "interface",
              "types": "type", "funcs": "func", "func_exports": "func"}
    for key, inner in value.items():
        if key in nested:
            if not isinstance(inner, dict):
                raise ValueError(f"expected an object for `{key}`")
            for item in inner.values():
                _check_fields(item, nested[key])
        elif key == "stability" or key.endswith("_stability") and isinstance(inner, dict):
            for st in ([inner] if key == "stability" else inner.values()):
                _stability(st)
        elif key in ("docs", "items") or key.endswith("_docs"):
            texts = [inner] if key == "docs" else list((inner or {}).values())
            if not all(isinstance(t, str) for t in texts if t is not None):
                raise ValueError(f"expected text for `{key}`")


def _stability(value) -> ir.Stability:
    if value is None or value == "unknown":
        return ir.UNKNOWN
    if not isinstance(value, dict) or len(value) != 1:
        raise ValueError("invalid stability")
    (kind, body), = value.items()
    for key in ("since", "deprecated"):
        version = body.get(key)
        if version is not None and not is_semver(version):
            raise ValueError(f"invalid version `{version}`")
    if kind == "stable":
        return ir.Stability("stable", since=body["since"], deprecated=body.get("deprecated"))
    if kind == "unstable":
        return ir.Stability("unstable", feature=body["feature"],
                            deprecated=body.get("deprecated"))
    raise ValueError(f"unknown stability `{kind}`")


class _Injector:
    """wit-parser's `PackageMetadata::inject`: docs and stability back onto items."""

    def __init__(self, r: ir.Resolve, pos) -> None:
        self.r = r
        self.pos = pos

    def missing(self, what: str, name: str) -> _Failure:
        return _Failure(f"invalid package-docs section: missing {what} {name!r}", self.pos)

    def package(self, pid: int, meta: dict) -> None:
        pkg = self.r.packages[pid]
        for name, data in meta.get("worlds", {}).items():
            if name not in pkg.worlds:
                raise self.missing("world", name)
            self.world(pkg.worlds[name], data)
        for name, data in meta.get("interfaces", {}).items():
            if name not in pkg.interfaces:
                raise self.missing("interface", name)
            self.interface(pkg.interfaces[name], data)
        if meta.get("docs") is not None:
            pkg.docs = meta["docs"]

    def interface(self, iid: int, data: dict) -> None:
        iface = self.r.interfaces[iid]
        for name, tdata in data.get("types", {}).items():
            if name not in iface.types:
                raise self.missing("type", name)
            self.typedef(iface.types[name], tdata)
        for name, fdata in data.get("funcs", {}).items():
            if name not in iface.functions:
                raise self.missing("func", name)
            self.function(iface.functions[name], fdata)
        if data.get("docs") is not None:
            iface.docs = data["docs"]
        iface.stability = _stability(data.get("stability"))

    def typedef(self, tid: int, data: dict) -> None:
        td = self.r.types[tid]
        items = data.get("items", {})
        if items:
            kind = td.kind
            members = (kind.fields if isinstance(kind, ir.Record) else
                       kind.flags if isinstance(kind, ir.Flags) else
                       kind.cases if isinstance(kind, (ir.Variant, ir.Enum)) else None)
            if members is None:
                raise _Failure(f"invalid package-docs section: 'items' for type `{td.name}`",
                               self.pos)
            used = 0
            for member in members:
                if member.name in items:
                    member.docs = items[member.name]
                    used += 1
            if used != len(items):
                raise _Failure("invalid package-docs section: not all 'items' match type "
                               f"items of `{td.name}`", self.pos)
        if data.get("docs") is not None:
            td.docs = data["docs"]
        td.stability = _stability(data.get("stability"))

    @staticmethod
    def function(fn: ir.Function, data) -> None:
        if data is None or isinstance(data, str):  # the v0 form: just the docs
            fn.docs = data
            return
        fn.docs = data.get("docs")
        fn.stability = _stability(data.get("stability"))

    def world(self, wid: int, data: dict) -> None:
        world = self.r.worlds[wid]
        named = [(n, d, False) for n, d in data.get("interfaces", {}).items()]
        named += [(n, d, True) for n, d in data.get("interface_exports", {}).items()]
        for name, idata, only_export in named:
            item = world.exports.get(name) if only_export else \
                world.imports.get(name, world.exports.get(name))
            if not isinstance(item, ir.WorldInterface):
                raise self.missing("interface", name)
            item.stability = _stability(idata.get("stability"))
            self.interface(item.id, idata)
        for name, tdata in data.get("types", {}).items():
            item = world.imports.get(name)
            if not isinstance(item, ir.WorldType):
                raise self.missing("type", name)
            self.typedef(item.id, tdata)
        by_name = {}
        for direction, table in (("import", world.imports), ("export", world.exports)):
            for key, item in table.items():
                if isinstance(item, ir.WorldInterface):
                    by_name[(self.r.world_key_name(key), direction)] = item
        for field, direction, attr, conv in (
                ("interface_import_stability", "import", "stability", _stability),
                ("interface_export_stability", "export", "stability", _stability),
                ("interface_import_docs", "import", "docs", str),
                ("interface_export_docs", "export", "docs", str)):
            for name, value in data.get(field, {}).items():
                item = by_name.get((name, direction))
                if item is None:
                    raise self.missing("interface", name)
                setattr(item, attr, conv(value))
        funcs = [(n, d, False) for n, d in data.get("funcs", {}).items()]
        funcs += [(n, d, True) for n, d in data.get("func_exports", {}).items()]
        for name, fdata, only_export in funcs:
            item = world.exports.get(name) if only_export else \
                world.imports.get(name, world.exports.get(name))
            if not isinstance(item, ir.WorldFunction):
                raise self.missing("func", name)
            self.function(item.function, fdata)
        if data.get("docs") is not None:
            world.docs = data["docs"]
        world.stability = _stability(data.get("stability"))
