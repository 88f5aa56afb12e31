"""`--emit c-p2`: wit-bindgen's C API for a world's imports, implemented over P1.

A C program written for WASI 0.2 against the bindings `wit-bindgen c` (0.60) generates
— the API wasi-libc ships as `<wasi/wasip2.h>` — builds unchanged against these two
files (`<world>.h`, `<world>.c`) and runs on a P1 runtime through the backport:

- the header spells every type and function as wit-bindgen does: prefixes
  `<ns>_<pkg>_<iface>` (the version only when two versions of a package meet),
  `--rename IFACE=NAME` / `--rename-world NAME`, `<prefix>_own_<r>_t`/`_borrow_<r>_t`,
  anonymous list/option/result/tuple structs named from their members (in the world's
  namespace when built from primitives only), signature flattening (`T *maybe_x`,
  `bool f(..., T *ret, E *err)`), `_free` helpers that free memory and never drop
  handles, `string_set`/`string_dup`/`string_dup_n`;
- the source implements each function over the P1 import the lowering made for it,
  declared privately (`__w2w_p1_<module>_<function>`), by its call plan
  (`p1.callplan`): strings and lists of a result go through a stack buffer, retried with
  an allocation of the reported size on `buffer_too_small` (bounded), then are copied
  into one allocation each, as the caller owns them; a `list<u8>` read sized by a
  `len`/`length` parameter gets one allocation of `min(len, W2W_P2_READ_CAP)` that is
  handed over as it is; values whose witx layout differs from the C layout (witx `bool`
  and `expected` have 4-byte tags) go through temporaries; glue statuses trap; an
  `own` parameter is dropped after the call (P1 does not consume it).

Decisions are made here (names, which conversion, which status means what); the
templates in `templates/c_p2/` only lay the pieces out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .. import ir
from ..diagnostics import UnsupportedError, UsageError, error, warning
from ..p1 import model as m
from ..p1.callplan import SlotKind
from ..p1.facts import Facts, facts_of
from ..p1.names import drop_function_name, resource_function_name, snake
from .cnames import KEYWORDS, c_string, doc_lines
from .templating import render, template_dirs

#: Names wit-bindgen escapes with a trailing `_` besides the C/C++ keywords: the
#: out-parameters of flattened signatures.
_FLATTENING_NAMES = frozenset({"ret", "err"})
_PRIMS = {
    "bool": "bool", "char": "uint32_t", "u8": "uint8_t", "s8": "int8_t", "u16": "uint16_t",
    "s16": "int16_t", "u32": "uint32_t", "s32": "int32_t", "u64": "uint64_t",
    "s64": "int64_t", "f32": "float", "f64": "double",
}
#: how wit-bindgen spells a primitive inside an anonymous type's name
_PRIM_FRAGMENT = {"char": "char32"}
_WASM_C = {"i32": "int32_t", "i64": "int64_t", "f32": "float", "f64": "double"}
#: the C integer of an unsigned `n`-byte load/store helper
_UINT = {1: "uint8_t", 2: "uint16_t", 4: "uint32_t", 8: "uint64_t"}
#: WIT parameter names that size a `list<u8>` read (`read(len)`, `get-random-bytes(len)`,
#: `descriptor.read(length, offset)`): the shim allocates that much up front
_READ_LENGTH_PARAMS = ("len", "length")
_NOT_IDENT = re.compile(r"[^A-Za-z0-9]+")
_C_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def c_snake(name: str) -> str:
    """heck's `to_snake_case` for WIT names: `[method]input-stream.read` →
    `method_input_stream_read` (WIT words are all-lower or all-upper)."""
    return _NOT_IDENT.sub("_", name.lstrip("%")).strip("_").lower()


def c_ident(name: str) -> str:
    """A member or parameter name (wit-bindgen's `to_c_ident`)."""
    s = c_snake(name)
    return s + "_" if s in KEYWORDS or s in _FLATTENING_NAMES else s


# --------------------------------------------------------------------------- options


@dataclass(slots=True)
class P2Options:
    rename_world: str | None = None
    renames: dict[str, str] = field(default_factory=dict)  # interface name → prefix
    autodrop_borrows: bool = False


def options_of(program) -> P2Options:
    o = program.options
    opts = P2Options(getattr(o, "rename_world", None), dict(getattr(o, "renames", {}) or {}),
                     bool(getattr(o, "autodrop_borrows", False)))
    for given, option in [(v, "--rename") for v in opts.renames.values()] + [
            (opts.rename_world, "--rename-world")]:
        if given is not None and not _C_IDENTIFIER.match(given):
            raise UsageError(f"{option} `{given}` is not a C identifier ([A-Za-z_][A-Za-z0-9_]*)")
    return opts


# --------------------------------------------------------------------------- view model


@dataclass(slots=True)
class Member:
    ctype: str
    name: str
    doc: list[str] = field(default_factory=list)


@dataclass(slots=True)
class CType:
    """One typedef of the header (with its `#define`s)."""

    name: str
    shape: str  # "alias" | "struct" | "variant" | "handle"
    doc: list[str]
    tag: bool = True  # struct: `typedef struct NAME {` (named types) or `typedef struct {`
    aliased: str = ""
    members: list[Member] = field(default_factory=list)
    union: list[Member] = field(default_factory=list)  # variant/result payloads (`val`)
    tag_ctype: str = ""
    tag_member: str = "tag"
    defines: list[tuple[str, str, list[str]]] = field(default_factory=list)


@dataclass(slots=True)
class Function:
    decl: str  # the prototype, without `;`
    doc: list[str]
    body: list[str]  # C statements of the implementation


@dataclass(slots=True)
class Section:
    title: str
    functions: list[Function]
    exported: bool = False  # declared for the guest to define (no body here)


@dataclass(slots=True)
class Helper:
    decl: str
    doc: list[str]
    body: list[str]


@dataclass(slots=True)
class Import:
    """A P1 import the shim calls, declared privately in the source."""

    module: str  # C string literals (quoted)
    name: str
    symbol: str
    result: str
    params: list[str]


@dataclass(slots=True)
class P2View:
    generated: str
    world: str
    guard: str
    header: str
    types: list[CType]
    sections: list[Section]
    helpers: list[Helper]
    imports: list[Import]
    needs_string: bool
    #: the core exports calling the guest's `exports_...` functions
    trampolines: list[Helper] = field(default_factory=list)


# --------------------------------------------------------------------------- naming


class _Names:
    """wit-bindgen's names for the world's interfaces and types."""

    def __init__(self, r: ir.Resolve, world: ir.World, opts: P2Options) -> None:
        self.r = r
        self.world = c_snake(opts.rename_world or world.name)
        self.renames = opts.renames
        self.used_renames: set[str] = set()
        #: interfaces the world exports and does not import: their types are spelled
        #: `exports_<prefix>_...`, as wit-bindgen spells them
        imported = {i.id for i in world.imports.values() if isinstance(i, ir.WorldInterface)}
        self.exported = {i.id for i in world.exports.values()
                         if isinstance(i, ir.WorldInterface) and i.id not in imported}

    def interface(self, iid: int) -> str:
        iface = self.r.interfaces[iid]
        qualified = self.r.interface_qualified_name(iid)
        if qualified is not None:
            unversioned = qualified.split("@", 1)[0]
            for key in (qualified, unversioned):
                if key in self.renames:
                    self.used_renames.add(key)
                    return self.renames[key]
        if iface.name is None or iface.package is None:
            return c_snake(iface.name or f"interface-{iid}")
        pkg = self.r.packages[iface.package].name
        ns = f"{c_snake(pkg.namespace)}_{c_snake(pkg.name)}_"
        if pkg.version and any(p.name.namespace == pkg.namespace and p.name.name == pkg.name
                               and p.name.version != pkg.version for p in self.r.packages):
            ns += re.sub(r"[.+-]", "_", pkg.version) + "_"
        return ns + c_snake(iface.name)

    def owner(self, td: ir.TypeDef) -> str:
        if td.owner is not None and td.owner.kind == "interface":
            prefix = "exports_" if td.owner.id in self.exported else ""
            return prefix + self.interface(td.owner.id)
        return self.world


# --------------------------------------------------------------------------- the generator


def _unsupported(what: str, span) -> UnsupportedError:
    return UnsupportedError([error(f"{what} is not supported by `--emit c-p2` yet", span)])


class _Gen:
    """The view model of one world: types defined on first use (dependencies first, each
    once by its C name), the private P1 imports, the helpers and the trampolines."""

    def __init__(self, program, world_id: int, opts: P2Options) -> None:
        self.r: ir.Resolve = program.resolve
        self.world = self.r.worlds[world_id]
        self.opts = opts
        self.names = _Names(self.r, self.world, opts)
        self.facts: Facts = facts_of(program)
        self.units = {u.origin: u for u in program.units}
        self.types: list[CType] = []
        self.defined: set[str] = set()
        self.dtors: dict[str, str] = {}  # C type name → its `_free`
        self.helpers: list[Helper] = []
        self.imports: dict[str, Import] = {}
        self.needs_string = False
        self.counter = 0
        self.trampolines: list[Helper] = []

    # -- types ---------------------------------------------------------------------------

    def dealias(self, ref: ir.TypeRef) -> ir.TypeRef:
        return self.r.resolve_alias(ref)

    def kind(self, ref: ir.TypeRef):
        ref = self.dealias(ref)
        return self.r.types[ref].kind if isinstance(ref, int) else None

    def is_prim(self, ref: ir.TypeRef) -> bool:
        if not isinstance(ref, int):
            return True
        td = self.r.types[ref]
        if td.name is not None:
            return False
        k = td.kind
        if isinstance(k, ir.List):
            return self.is_prim(k.element)
        if isinstance(k, ir.Option):
            return self.is_prim(k.inner)
        if isinstance(k, ir.Tuple):
            return all(self.is_prim(t) for t in k.types)
        if isinstance(k, ir.Alias):
            return self.is_prim(k.target)
        return False

    def encode(self, ref: ir.TypeRef) -> str:
        if not isinstance(ref, int):
            return _PRIM_FRAGMENT.get(ref, ref)
        td = self.r.types[ref]
        if td.name is not None:
            return c_snake(td.name)
        k = td.kind
        if isinstance(k, ir.Alias):
            return self.encode(k.target)
        if isinstance(k, ir.Tuple):
            return f"tuple{len(k.types)}" + "".join("_" + self.encode(t) for t in k.types)
        if isinstance(k, ir.Option):
            return "option_" + self.encode(k.inner)
        if isinstance(k, ir.Result):
            ok = "void" if k.ok is None else self.encode(k.ok)
            err = "void" if k.err is None else self.encode(k.err)
            return f"result_{ok}_{err}"
        if isinstance(k, ir.List) and k.size is None:
            return "list_" + self.encode(k.element)
        if isinstance(k, ir.Handle):
            return f"{k.kind}_" + self.encode(k.resource)
        raise _unsupported(_kind_name(k), td.span)

    def ctype(self, ref: ir.TypeRef, ctx: str) -> str:
        """The C type of `ref` met in namespace `ctx`, defined (dependencies first)."""
        if not isinstance(ref, int):
            if ref == "string":
                self.needs_string = True
                return f"{self.names.world}_string_t"
            if ref not in _PRIMS:
                raise _unsupported(f"the type `{ref}`", None)
            return _PRIMS[ref]
        td = self.r.types[ref]
        if isinstance(td.kind, ir.Handle):
            return self._handle(td.kind, ctx)
        if td.name is not None:
            ns = self.names.owner(td)
            name = f"{ns}_{c_snake(td.name)}_t"
        else:
            ns = self.names.world if self.is_prim(ref) else ctx
            name = f"{ns}_{self.encode(ref)}_t"
        if name not in self.defined:
            self.defined.add(name)
            self._define(ref, td, name, ns)
        return name

    def _handle(self, h: ir.Handle, ctx: str) -> str:
        """`own<r>`/`borrow<r>`: the resource's own struct, or a typedef of it when `r`
        is a `use`d name (wit-bindgen names the handle after the alias)."""
        rtd = self.r.types[h.resource]
        original = self.dealias(h.resource)
        otd = self.r.types[original]
        self._resource(original)
        own_name = f"{self.names.owner(otd)}_{h.kind}_{c_snake(otd.name or '')}_t"
        if original == h.resource:
            return own_name
        alias = f"{self.names.owner(rtd)}_{h.kind}_{c_snake(rtd.name or '')}_t"
        if alias not in self.defined:
            self.defined.add(alias)
            self.types.append(CType(alias, "alias", [], aliased=own_name))
        return alias

    def _resource(self, rid: int) -> None:
        td = self.r.types[rid]
        ns = self.names.owner(td)
        rs = c_snake(td.name or "")
        own, borrow = f"{ns}_own_{rs}_t", f"{ns}_borrow_{rs}_t"
        if own in self.defined:
            return
        self.defined.update((own, borrow))
        self.types.append(CType(own, "handle", []))
        self.types.append(CType(borrow, "handle", []))
        call = self._drop_import(rid)
        self.helpers.append(Helper(f"void {ns}_{rs}_drop_own({own} handle)", [],
                                   [f"if ({call}(handle.__handle) != 0) __builtin_trap();"]))
        if not self.opts.autodrop_borrows:
            self.helpers.append(Helper(f"void {ns}_{rs}_drop_borrow({borrow} handle)", [],
                                       [f"if ({call}(handle.__handle) != 0) __builtin_trap();"]))
        self.helpers.append(Helper(f"{borrow} {ns}_borrow_{rs}({own} handle)", [],
                                   [f"{borrow} b = {{ handle.__handle }};", "return b;"]))

    def _define(self, ref: int, td: ir.TypeDef, name: str, ns: str) -> None:
        k = td.kind
        doc = doc_lines(td.docs or "")
        shouty = f"{ns}_{c_snake(td.name or '')}".upper()
        if isinstance(k, ir.Resource):
            self._resource(ref)
            return
        if isinstance(k, ir.Alias):
            target = self.dealias(k.target)
            if isinstance(target, int) and isinstance(self.r.types[target].kind, ir.Resource):
                return  # handles name the alias (`_handle`); the resource has no C type
            t = CType(name, "alias", doc, aliased=self.ctype(k.target, ns))
        elif isinstance(k, ir.Record):
            t = CType(name, "struct", doc, tag=True, members=[
                Member(self.ctype(f.type, ns), c_ident(f.name), doc_lines(f.docs or ""))
                for f in k.fields])
        elif isinstance(k, ir.Tuple):
            t = CType(name, "struct", doc, tag=False, members=[
                Member(self.ctype(ty, ns), f"f{i}") for i, ty in enumerate(k.types)])
        elif isinstance(k, ir.Option):
            t = CType(name, "struct", doc, tag=False, members=[
                Member("bool", "is_some"), Member(self.ctype(k.inner, ns), "val")])
        elif isinstance(k, ir.Result):
            union = [Member(self.ctype(ty, ns), n) for n, ty in (("ok", k.ok), ("err", k.err))
                     if ty is not None]
            t = CType(name, "variant", doc, tag=False, union=union, tag_ctype="bool",
                      tag_member="is_err")
        elif isinstance(k, ir.List) and k.size is None:
            t = CType(name, "struct", doc, tag=False, members=[
                Member(self.ctype(k.element, ns), "*ptr"), Member("size_t", "len")])
        elif isinstance(k, ir.Variant):
            union = [Member(self.ctype(c.type, ns), c_ident(c.name), doc_lines(c.docs or ""))
                     for c in k.cases if c.type is not None]
            t = CType(name, "variant", doc, tag=True, union=union,
                      tag_ctype=_UINT[_tag_size(len(k.cases))],
                      defines=[(f"{shouty}_{c_snake(c.name).upper()}", str(i), doc_lines(c.docs or ""))
                               for i, c in enumerate(k.cases)])
        elif isinstance(k, ir.Enum):
            t = CType(name, "alias", doc, aliased=_UINT[_tag_size(len(k.cases))], defines=[
                (f"{shouty}_{c_snake(c.name).upper()}", str(i), doc_lines(c.docs or ""))
                for i, c in enumerate(k.cases)])
        elif isinstance(k, ir.Flags):
            t = CType(name, "alias", doc, aliased=_UINT[_flags_size(len(k.flags), td.span)], defines=[
                (f"{shouty}_{c_snake(c.name).upper()}", f"(1 << {i})" if i < 31 else f"(1ULL << {i})",
                 doc_lines(c.docs or "")) for i, c in enumerate(k.flags)])
        else:
            raise _unsupported(_kind_name(k), td.span)
        self.types.append(t)
        self._define_dtor(ref, name, ns)

    # -- `_free` helpers -----------------------------------------------------------------

    def _free_stmts(self, ref: ir.TypeRef, expr: str, ns: str) -> list[str]:
        if ref == "string":
            return [f"{self.names.world}_string_free({expr});"]
        if isinstance(ref, int):
            dtor = self.dtors.get(self.ctype(ref, ns))  # defined already: only named here
            if dtor is not None:
                return [f"{dtor}({expr});"]
        return []

    def _define_dtor(self, ref: int, name: str, ns: str) -> None:
        k = self.r.types[ref].kind
        body: list[str] = []
        if isinstance(k, ir.Alias):
            body = self._free_stmts(k.target, "ptr", ns)
        elif isinstance(k, ir.Record):
            for f in k.fields:
                body += self._free_stmts(f.type, f"&ptr->{c_ident(f.name)}", ns)
        elif isinstance(k, ir.Tuple):
            for i, ty in enumerate(k.types):
                body += self._free_stmts(ty, f"&ptr->f{i}", ns)
        elif isinstance(k, ir.List):
            inner = self._free_stmts(k.element, "&list_ptr[i]", ns)
            elem = self.ctype(k.element, ns)
            body = ["size_t list_len = ptr->len;", "if (list_len > 0) {",
                    f"  {elem} *list_ptr = ptr->ptr;"]
            if inner:
                body += ["  for (size_t i = 0; i < list_len; i++) {"] + [f"    {s}" for s in inner] + ["  }"]
            body += ["  free(list_ptr);", "}"]
        # wit-bindgen gives every variant, option and result a `_free` (even one with
        # nothing to free), a record, tuple or alias one only when a member has one
        elif isinstance(k, ir.Variant):
            cases = []
            for i, c in enumerate(k.cases):
                inner = self._free_stmts(c.type, f"&ptr->val.{c_ident(c.name)}", ns) if c.type else []
                if inner:
                    cases += [f"  case {i}: {{"] + [f"    {s}" for s in inner] + ["    break;", "  }"]
            body = ["switch ((int32_t) ptr->tag) {"] + cases + ["  default: break;", "}"]
        elif isinstance(k, ir.Option):
            inner = self._free_stmts(k.inner, "&ptr->val", ns)
            body = ["if (ptr->is_some) {"] + [f"  {s}" for s in inner] + ["}"]
        elif isinstance(k, ir.Result):
            ok = self._free_stmts(k.ok, "&ptr->val.ok", ns) if k.ok is not None else []
            err = self._free_stmts(k.err, "&ptr->val.err", ns) if k.err is not None else []
            body = ["if (!ptr->is_err) {"] + [f"  {s}" for s in ok] + (
                ["} else {"] + [f"  {s}" for s in err] if err else []) + ["}"]
        if body:
            prefix = name[:-2]
            self.dtors[name] = f"{prefix}_free"
            self.helpers.append(Helper(f"void {prefix}_free({name} *ptr)", [], body))

    # -- P1 side -------------------------------------------------------------------------

    def _unit_of_interface(self, iid: int):
        qualified = self.r.interface_qualified_name(iid)
        unit = self.units.get(qualified) if qualified else None
        if unit is None or unit.module is None:
            raise UsageError(f"`--emit c-p2`: no P1 module for `{qualified}` in this run")
        return unit

    def _p1_function(self, unit, name: str) -> m.Function:
        for f in (*unit.module.functions, *unit.module.exports):  # a world export: the guest's
            if f.name == name:
                return f
        raise UsageError(f"`--emit c-p2`: no P1 function `{name}` in `{unit.name}`")

    def _import(self, unit, func: m.Function, declare: bool = True) -> tuple[str, object]:
        plan = self.facts.call_plan(func, unit.document)
        symbol = f"__w2w_p1_{unit.module.name}_{func.name}"
        if declare and symbol not in self.imports:
            result = _WASM_C[plan.signature.results[0].wasm_type.value] if plan.signature.results else "void"
            params = [_WASM_C[cp.wasm_type.value] for cp in plan.core_params]
            self.imports[symbol] = Import(c_string(unit.module.name), c_string(func.name), symbol,
                                          result, params)
        return symbol, plan

    def _drop_import(self, rid: int) -> str:
        td = self.r.types[rid]
        unit = self._unit_of_interface(td.owner.id)
        symbol, _ = self._import(unit, self._p1_function(unit, drop_function_name(td.name or "")))
        return symbol

    # -- functions -----------------------------------------------------------------------

    def interface_section(self, key: ir.WorldKey, iid: int) -> Section | None:
        iface = self.r.interfaces[iid]
        ns = self.names.interface(iid)
        for tid in iface.types.values():
            self.ctype(tid, ns)
        if not iface.functions:
            return None
        unit = self._unit_of_interface(iid)
        funcs = [self.function(ns, unit, f) for f in iface.functions.values()]
        return Section(f"Imported Functions from `{self.r.world_key_name(key)}`", funcs)

    def function(self, ns: str, unit, f: ir.Function) -> Function:
        if f.is_async:
            raise _unsupported(f"the async function `{f.name}`", f.span)
        if f.resource is None:
            p1_name = snake(f.name)
        else:
            p1_name = resource_function_name(self.r.types[f.resource].name or "", f.kind, f.item_name)
        p1_name = unit.function_names.get(f.name, p1_name)  # renamed on a clash
        symbol, plan = self._import(unit, self._p1_function(unit, p1_name))
        return _FunctionBuilder(self, ns, f, symbol, plan).build()

    # -- exports -------------------------------------------------------------------------

    def export_section(self, key: ir.WorldKey, item) -> Section | None:
        """World exports: `exports_<prefix>_<f>` declared for the guest to define, and a
        core export `<P1 module>#<P1 function>` that calls it with the flat signature."""
        if isinstance(item, ir.WorldInterface):
            iid = item.id
            ns = "exports_" + self.names.interface(iid)
            funcs = list(self.r.interfaces[iid].functions.values())
            unit = self._unit_of_interface(iid)
            title = f"Exported Functions from `{self.r.world_key_name(key)}`"
            type_ns = ns
            for tid in self.r.interfaces[iid].types.values():
                if isinstance(self.r.types[self.dealias(tid)].kind, ir.Resource) and \
                        self.r.types[self.dealias(tid)].owner.id in self.names.exported:
                    raise _unsupported(f"the exported resource `{self.r.types[tid].name}`",
                                       self.r.types[tid].span)
                self.ctype(tid, ns)
        else:
            ns = "exports_" + self.names.world
            funcs = [item.function]
            unit = self._unit_of_world()
            title = f"Exported Functions from `{self.world.name}`"
            type_ns = self.names.world
        out = []
        for f in funcs:
            if f.resource is not None or f.is_async:
                raise _unsupported(f"the exported function `{f.name}`", f.span)
            p1_name = unit.function_names.get(f.name, snake(f.name))
            _, plan = self._import(unit, self._p1_function(unit, p1_name), declare=False)
            builder = _ExportBuilder(self, ns, type_ns, f, plan, f"{unit.module.name}#{p1_name}")
            decl, trampoline = builder.build()
            out.append(decl)
            self.trampolines.append(trampoline)
        return Section(title, out, exported=True) if out else None

    def _unit_of_world(self):
        pkg = self.r.packages[self.world.package] if self.world.package is not None else None
        origin = pkg.name.qualify(self.world.name) if pkg else self.world.name
        unit = self.units.get(origin)
        if unit is None or unit.module is None:
            raise UsageError(f"`--emit c-p2`: no P1 module for world `{origin}` in this run")
        return unit

    def fresh(self, stem: str) -> str:
        self.counter += 1
        return f"w2w_{stem}{self.counter}"


def _kind_name(k) -> str:
    if isinstance(k, ir.List) and k.size is not None:
        return "a fixed-length list (`list<T, N>`)"
    return f"the type `{type(k).__name__.lower()}`"


def _members(k: ir.Record | ir.Tuple) -> list[tuple[str, ir.TypeRef]]:
    """(C member name, WIT type) of a record's fields or a tuple's `f0`, `f1`, ..."""
    if isinstance(k, ir.Record):
        return [(c_ident(f.name), f.type) for f in k.fields]
    return [(f"f{i}", t) for i, t in enumerate(k.types)]


def _tag_size(n: int) -> int:
    return 1 if n <= 256 else 2 if n <= 65536 else 4


def _flags_size(n: int, span) -> int:
    for size, bits in ((1, 8), (2, 16), (4, 32), (8, 64)):
        if n <= bits:
            return size
    raise _unsupported("flags with more than 64 members", span)


# --------------------------------------------------------------------------- conversions


class _Convert:
    """C statements that copy a value between its witx layout (P1 memory: `p`, a P1
    type) and its C layout (`w`, a WIT type) — the two trees have the same shape."""

    def __init__(self, gen: _Gen, ctx: str) -> None:
        self.g = gen
        self.ctx = ctx

    def _p(self, p: m.TypeRef):
        return m.resolve(p)

    def same_layout(self, w: ir.TypeRef, p: m.TypeRef) -> bool:
        """Whether the C value of `w` is byte for byte the witx value of `p`."""
        g = self.g
        w = g.dealias(w)
        pt = self._p(p)
        if not isinstance(w, int):
            return w not in ("bool",)
        k = g.r.types[w].kind
        if isinstance(k, (ir.Handle, ir.Enum, ir.Flags)):
            return True
        if isinstance(k, ir.List):
            return self.same_layout(k.element, pt.element)
        if isinstance(k, ir.Result):
            return False  # witx `expected` has a 4-byte tag
        if isinstance(k, (ir.Record, ir.Tuple)):
            return all(self.same_layout(a, f.type) for (_, a), f in zip(_members(k), m.canonical_fields(pt)))
        if isinstance(k, (ir.Variant, ir.Option)):
            wcases = [c.type for c in k.cases] if isinstance(k, ir.Variant) else [None, k.inner]
            pcases = m.canonical_variant_cases(pt)
            return all(a is None or self.same_layout(a, c.type) for a, c in zip(wcases, pcases))
        return False

    def holds_list(self, w: ir.TypeRef) -> bool:
        g = self.g
        w = g.dealias(w)
        if w == "string":
            return True
        if not isinstance(w, int):
            return False
        k = g.r.types[w].kind
        if isinstance(k, ir.List):
            return True
        return any(self.holds_list(t) for t in ir.type_refs(k) if not isinstance(k, ir.Handle))

    def holds_own(self, w: ir.TypeRef) -> bool:
        g = self.g
        w = g.dealias(w)
        if not isinstance(w, int):
            return False
        k = g.r.types[w].kind
        if isinstance(k, ir.Handle):
            return k.kind == "own"
        return any(self.holds_own(t) for t in ir.type_refs(k))

    # -- witx → C (results) --------------------------------------------------------------

    def lift(self, w: ir.TypeRef, p: m.TypeRef, src: str, dst: str, out: list[str],
             handover: str | None = None) -> None:
        """Read the witx value at `src` (a `const uint8_t *`) into the C lvalue `dst`;
        strings and lists are copied into allocations of their own (or, `handover`,
        the buffer variable whose block a `list<u8>` at its start is handed over in)."""
        g = self.g
        w = g.dealias(w)
        facts = g.facts
        if not isinstance(w, int):
            if w == "string":
                self._lift_list(None, m.Builtin("u8"), src, dst, out, handover, "uint8_t")
            elif w == "bool":
                size = facts.size_align(p).size
                out.append(f"{dst} = w2w_ld{size}({src}) != 0;")
            elif w in ("f32", "f64"):
                out.append(f"memcpy(&{dst}, {src}, {4 if w == 'f32' else 8});")
            else:
                size = facts.size_align(p).size
                out.append(f"{dst} = ({_PRIMS[w]}) w2w_ld{size}({src});")
            return
        k = g.r.types[w].kind
        pt = self._p(p)
        if isinstance(k, ir.Handle):
            out.append(f"{dst}.__handle = (int32_t) w2w_ld4({src});")
        elif isinstance(k, (ir.Enum, ir.Flags)):
            ctype = g.ctype(w, self.ctx)
            out.append(f"{dst} = ({ctype}) w2w_ld{facts.size_align(p).size}({src});")
        elif isinstance(k, ir.List):
            self._lift_list(k.element, pt.element, src, dst, out, handover, g.ctype(k.element, self.ctx))
        elif isinstance(k, (ir.Record, ir.Tuple)):
            for (name, wt), fl in zip(_members(k), facts.record_layout(p)):
                self.lift(wt, fl.type, f"{src} + {fl.offset}", f"{dst}.{name}", out)
        else:
            vl = facts.variant_layout(p)
            tag = g.fresh("tag")
            out.append(f"uint32_t {tag} = (uint32_t) w2w_ld{vl.tag_size}({src});")
            payload = f"{src} + {vl.payload_offset}"
            if isinstance(k, ir.Option):
                out.append(f"{dst}.is_some = {tag} != 0;")
                body: list[str] = []
                self.lift(k.inner, vl.cases[1].type, payload, f"{dst}.val", body)
                out += [f"if ({tag} != 0) {{"] + [f"  {s}" for s in body] + ["}"]
            elif isinstance(k, ir.Result):
                out.append(f"{dst}.is_err = {tag} != 0;")
                for i, (name, wt) in enumerate((("ok", k.ok), ("err", k.err))):
                    if wt is None:
                        continue
                    body = []
                    self.lift(wt, vl.cases[i].type, payload, f"{dst}.val.{name}", body)
                    out += [f"if ({tag} == {i}) {{"] + [f"  {s}" for s in body] + ["}"]
            elif isinstance(k, ir.Variant):
                out.append(f"{dst}.tag = ({_UINT[_tag_size(len(k.cases))]}) {tag};")
                for i, c in enumerate(k.cases):
                    if c.type is None:
                        continue
                    body = []
                    self.lift(c.type, vl.cases[i].type, payload, f"{dst}.val.{c_ident(c.name)}", body)
                    out += [f"if ({tag} == {i}) {{"] + [f"  {s}" for s in body] + ["}"]
            else:
                raise _unsupported(f"the type `{type(k).__name__.lower()}`", None)

    def _lift_list(self, we, pe, src: str, dst: str, out: list[str], handover: str | None,
                   elem_ctype: str) -> None:
        g = self.g
        ptr, n = g.fresh("ptr"), g.fresh("n")
        esize = g.facts.size_align(pe).size
        out += [f"const uint8_t *{ptr} = (const uint8_t *) (uintptr_t) w2w_ld4({src});",
                f"size_t {n} = (size_t) w2w_ld4({src} + 4);",
                f"{dst}.len = {n};", f"{dst}.ptr = NULL;"]
        copy: list[str] = []
        if we is None or (self.same_layout(we, pe) and not self.holds_list(we)):
            copy.append(f"memcpy({dst}.ptr, {ptr}, {n} * {esize});")
        else:
            i = g.fresh("i")
            body: list[str] = []
            self.lift(we, pe, f"{ptr} + {i} * {esize}", f"{dst}.ptr[{i}]", body)
            copy += [f"for (size_t {i} = 0; {i} < {n}; {i}++) {{"] + [f"  {s}" for s in body] + ["}"]
        alloc = [f"{dst}.ptr = ({elem_ctype} *) w2w_p2_alloc({n} * sizeof({elem_ctype}));"] + copy
        if handover is not None:
            out += [f"if ({n} > 0 && {ptr} == {handover}) {{",
                    f"  {dst}.ptr = ({elem_ctype} *) {handover};", f"  {handover} = NULL;",
                    f"}} else if ({n} > 0) {{"] + [f"  {s}" for s in alloc] + ["}"]
        else:
            out += [f"if ({n} > 0) {{"] + [f"  {s}" for s in alloc] + ["}"]

    # -- C → witx (parameters) -----------------------------------------------------------

    def lower(self, w: ir.TypeRef, p: m.TypeRef, src: str, dst: str, out: list[str]) -> None:
        """Write the C value `src` (an lvalue) in witx layout at `dst` (a `uint8_t *`);
        lists whose elements differ get a temporary copy (freed after the call)."""
        g = self.g
        w = g.dealias(w)
        facts = g.facts
        if not isinstance(w, int):
            if w == "string":
                out += [f"w2w_st4({dst}, (uint32_t) (uintptr_t) {src}.ptr);",
                        f"w2w_st4({dst} + 4, (uint32_t) {src}.len);"]
            elif w in ("f32", "f64"):
                out.append(f"memcpy({dst}, &{src}, {4 if w == 'f32' else 8});")
            else:
                size = facts.size_align(p).size
                out.append(f"w2w_st{size}({dst}, ({_UINT[size]}) {src});")
            return
        k = g.r.types[w].kind
        pt = self._p(p)
        if isinstance(k, ir.Handle):
            out.append(f"w2w_st4({dst}, (uint32_t) {src}.__handle);")
        elif isinstance(k, (ir.Enum, ir.Flags)):
            size = facts.size_align(p).size
            out.append(f"w2w_st{size}({dst}, ({_UINT[size]}) {src});")
        elif isinstance(k, ir.List):
            pe = pt.element
            if self.same_layout(k.element, pe):
                out += [f"w2w_st4({dst}, (uint32_t) (uintptr_t) {src}.ptr);",
                        f"w2w_st4({dst} + 4, (uint32_t) {src}.len);"]
                return
            esize = facts.size_align(pe).size
            tmp, i = g.fresh("tmp"), g.fresh("i")
            body: list[str] = []
            self.lower(k.element, pe, f"{src}.ptr[{i}]", f"{tmp} + {i} * {esize}", body)
            out += [f"uint8_t *{tmp} = w2w_p2_temp_alloc(&w2w_temps, {src}.len * {esize});",
                    f"for (size_t {i} = 0; {i} < {src}.len; {i}++) {{"] + [f"  {s}" for s in body] + [
                    "}", f"w2w_st4({dst}, (uint32_t) (uintptr_t) {tmp});",
                    f"w2w_st4({dst} + 4, (uint32_t) {src}.len);"]
        elif isinstance(k, (ir.Record, ir.Tuple)):
            for (name, wt), fl in zip(_members(k), facts.record_layout(p)):
                self.lower(wt, fl.type, f"{src}.{name}", f"{dst} + {fl.offset}", out)
        else:
            vl = facts.variant_layout(p)
            payload = f"{dst} + {vl.payload_offset}"
            out.append(f"memset({dst}, 0, {vl.size});")
            if isinstance(k, ir.Option):
                arms = [("!" + f"{src}.is_some", 0, None, None), (f"{src}.is_some", 1, k.inner, f"{src}.val")]
            elif isinstance(k, ir.Result):
                arms = [(f"!{src}.is_err", 0, k.ok, f"{src}.val.ok"), (f"{src}.is_err", 1, k.err, f"{src}.val.err")]
            elif isinstance(k, ir.Variant):
                arms = [(f"{src}.tag == {i}", i, c.type, f"{src}.val.{c_ident(c.name)}")
                        for i, c in enumerate(k.cases)]
            else:
                raise _unsupported(f"the type `{type(k).__name__.lower()}`", None)
            for cond, i, wt, expr in arms:
                body = [f"w2w_st{vl.tag_size}({dst}, {i});"]
                if wt is not None:
                    self.lower(wt, vl.cases[i].type, expr, payload, body)
                out += [f"if ({cond}) {{"] + [f"  {s}" for s in body] + ["}"]

    # -- own handles passed in: dropped after the call -----------------------------------

    def drop_owns(self, w: ir.TypeRef, src: str, out: list[str]) -> None:
        g = self.g
        if not self.holds_own(w):
            return
        w = g.dealias(w)
        k = g.r.types[w].kind
        if isinstance(k, ir.Handle):
            rid = g.dealias(k.resource)
            td = g.r.types[rid]
            out.append(f"{g.names.owner(td)}_{c_snake(td.name or '')}_drop_own({src});")
        elif isinstance(k, ir.List):
            i = g.fresh("i")
            body: list[str] = []
            self.drop_owns(k.element, f"{src}.ptr[{i}]", body)
            out += [f"for (size_t {i} = 0; {i} < {src}.len; {i}++) {{"] + [f"  {s}" for s in body] + ["}"]
        elif isinstance(k, ir.Record):
            for f in k.fields:
                self.drop_owns(f.type, f"{src}.{c_ident(f.name)}", out)
        elif isinstance(k, ir.Tuple):
            for i, t in enumerate(k.types):
                self.drop_owns(t, f"{src}.f{i}", out)
        elif isinstance(k, ir.Option):
            body = []
            self.drop_owns(k.inner, f"{src}.val", body)
            out += [f"if ({src}.is_some) {{"] + [f"  {s}" for s in body] + ["}"]
        elif isinstance(k, ir.Result):
            for cond, t, e in (("!", k.ok, "ok"), ("", k.err, "err")):
                if t is not None:
                    body = []
                    self.drop_owns(t, f"{src}.val.{e}", body)
                    out += [f"if ({cond}{src}.is_err) {{"] + [f"  {s}" for s in body] + ["}"]
        elif isinstance(k, ir.Variant):
            for i, c in enumerate(k.cases):
                if c.type is not None:
                    body = []
                    self.drop_owns(c.type, f"{src}.val.{c_ident(c.name)}", body)
                    out += [f"if ({src}.tag == {i}) {{"] + [f"  {s}" for s in body] + ["}"]


# --------------------------------------------------------------------------- one function


class _FunctionBuilder:
    """The prototype and the body of one imported function."""

    def __init__(self, gen: _Gen, ns: str, f: ir.Function, symbol: str, plan) -> None:
        self.g = gen
        self.ns = ns
        self.f = f
        self.symbol = symbol
        self.plan = plan
        self.conv = _Convert(gen, ns)

    # -- the C signature (wit-bindgen's flattening) --------------------------------------

    def _classify(self):
        """(return kind, C return type, [(out name, WIT type)])."""
        g, ns = self.g, self.ns
        res = self.f.result
        if res is None:
            return "void", "void", []
        d = g.dealias(res)
        k = g.r.types[d].kind if isinstance(d, int) else None
        if d == "string" or isinstance(k, (ir.Tuple, ir.Record, ir.List, ir.Variant)):
            return "ret", "void", [("ret", res)]
        if k is None or isinstance(k, (ir.Flags, ir.Enum, ir.Handle)):
            return "scalar", g.ctype(res, ns), []
        g.ctype(res, ns)  # wit-bindgen defines the result's type even when flattened
        if isinstance(k, ir.Option):
            return "option", "bool", [("ret", k.inner)]
        if isinstance(k, ir.Result):
            outs = ([("ret", k.ok)] if k.ok is not None else []) + (
                [("err", k.err)] if k.err is not None else [])
            return "result", "bool", outs
        raise _unsupported(f"the result type of `{self.f.name}`", self.f.span)

    def _params(self) -> list[tuple[str, str, str]]:
        """(C declaration, C name, how the value is reached) per WIT parameter."""
        g, ns = self.g, self.ns
        out = []
        for p in self.f.params:
            name = c_ident(p.name)
            td = g.r.types[p.type] if isinstance(p.type, int) else None
            if td is not None and isinstance(td.kind, ir.Option):
                out.append((f"{g.ctype(td.kind.inner, ns)} *maybe_{name}", name, "maybe"))
            elif _by_pointer(g, p.type):
                out.append((f"{g.ctype(p.type, ns)} *{name}", name, "pointer"))
            else:
                out.append((f"{g.ctype(p.type, ns)} {name}", name, "value"))
        return out

    def build(self) -> Function:
        g, f = self.g, self.f
        name = f"{self.ns}_{c_snake(f.name)}"
        kind, ret_type, outs = self._classify()
        params = self._params()
        decls = [d for d, _, _ in params] + [f"{g.ctype(t, self.ns)} *{n}" for n, t in outs]
        proto = f"{ret_type} {name}({', '.join(decls) or 'void'})"
        body = self._body(kind, ret_type, params, outs)
        return Function(proto, doc_lines(f.docs or ""), body)

    # -- the body --------------------------------------------------------------------------

    def _body(self, kind: str, ret_type: str, params, outs) -> list[str]:
        inputs = self.plan.inputs
        if len(inputs) != len(self.f.params):
            raise _unsupported(f"the parameters of `{self.f.name}`", self.f.span)
        low = _Lowered()
        for (_decl, name, how), wp, slot in zip(params, self.f.params, inputs):
            value = self._reach(name, how, wp, low)
            pass_argument = _ARGUMENT_BY_SLOT.get(slot.kind)
            if pass_argument is None:
                raise _unsupported(f"the parameter `{wp.name}` of `{self.f.name}`", self.f.span)
            pass_argument(self, slot, wp, name, value, low)
            self.conv.drop_owns(wp.type, value, low.after)
        return self._call(kind, ret_type, outs, low)

    def _reach(self, name: str, how: str, wp: ir.Param, low: "_Lowered") -> str:
        """The C expression of a parameter's value: `T *maybe_x` becomes an option value
        built on the stack; a value passed by pointer is dereferenced."""
        if how == "pointer":
            return f"(*{name})"
        if how != "maybe":
            return name
        value = f"w2w_opt_{name}"
        low.pre += [f"{self.g.ctype(wp.type, self.ns)} {value};",
                    f"memset(&{value}, 0, sizeof {value});",
                    f"{value}.is_some = maybe_{name} != NULL;",
                    f"if (maybe_{name}) {value}.val = *maybe_{name};"]
        return value

    # one per slot kind of the call plan (`_ARGUMENT_BY_SLOT`): the core arguments of
    # one WIT parameter

    def _scalar_argument(self, slot, wp: ir.Param, name: str, value: str, low: "_Lowered") -> None:
        low.args.append(f"({_WASM_C[slot.core[0].wasm_type.value]}) {value}")

    def _enum_argument(self, slot, wp: ir.Param, name: str, value: str, low: "_Lowered") -> None:
        # an enum, or a variant/result without payloads: its tag
        wk = self.g.kind(wp.type)
        tag = ".tag" if isinstance(wk, ir.Variant) else ".is_err" if isinstance(wk, ir.Result) else ""
        low.args.append(f"(int32_t) {value}{tag}")

    def _handle_argument(self, slot, wp: ir.Param, name: str, value: str, low: "_Lowered") -> None:
        low.args.append(f"{value}.__handle")

    def _span_argument(self, slot, wp: ir.Param, name: str, value: str, low: "_Lowered") -> None:
        """A string or list: pointer and length, of the caller's elements when their
        layout is the witx one, else of a lowered copy."""
        wd = self.g.dealias(wp.type)
        element = None if wd == "string" else self.g.r.types[wd].kind.element
        if element is None or self.conv.same_layout(element, slot.element.type):
            low.args += [f"(int32_t) (uintptr_t) {value}.ptr", f"(int32_t) {value}.len"]
            return
        tmp = f"w2w_p_{name}"
        low.pre.append(f"uint8_t {tmp}[8];")
        self.conv.lower(wp.type, m.List(slot.element.type), value, tmp, low.pre)
        low.uses_temps = True
        low.args += [f"(int32_t) w2w_ld4({tmp})", f"(int32_t) w2w_ld4({tmp} + 4)"]

    def _by_ref_argument(self, slot, wp: ir.Param, name: str, value: str, low: "_Lowered") -> None:
        """A compound value by address: the caller's own when its layout is the witx
        one, else a lowered copy."""
        p_type = slot.value.type
        if self.conv.same_layout(wp.type, p_type):
            low.args.append(f"(int32_t) (uintptr_t) &{value}")
            return
        tmp = f"w2w_p_{name}"
        low.pre.append(f"_Alignas({slot.value.align}) uint8_t {tmp}[{slot.value.size}];")
        self.conv.lower(wp.type, p_type, value, tmp, low.pre)
        low.uses_temps = low.uses_temps or self.conv.holds_list(wp.type)
        low.args.append(f"(int32_t) (uintptr_t) {tmp}")

    def _read_length(self) -> str | None:
        """The parameter that sizes a `list<u8>` read, if this is one."""
        for p in self.f.params:
            if p.name in _READ_LENGTH_PARAMS and self.g.dealias(p.type) in ("u64", "u32"):
                return c_ident(p.name)
        return None

    def _destinations(self, kind: str, outs) -> list[tuple[ir.TypeRef, str]]:
        """Where each P1 out-pointer's value goes: (WIT type, C lvalue)."""
        g = self.g
        if kind == "scalar":
            ok = self.f.result
            return [(ok, "w2w_ret")]
        if kind == "option":
            return [(self.f.result, "w2w_opt")]
        if kind in ("ret", "result") and outs and outs[0][0] == "ret":
            ok = outs[0][1]
            members = g.kind(ok)
            if isinstance(members, ir.Tuple):  # the witx ABI: an out-pointer per member
                return [(t, f"ret->f{i}") for i, t in enumerate(members.types)]
            return [(ok, "(*ret)")]
        return []

    def _call(self, kind: str, ret_type: str, outs, low: "_Lowered") -> list[str]:
        """The call of the P1 import and what follows: its arguments staged, the call
        (retried while the caller's buffer is too small), glue statuses trapped, the
        results lifted on success and the error on failure, the C return."""
        res = self.plan.result
        body = self._locals(kind, ret_type, low.uses_temps) + low.pre
        dests = self._destinations(kind, outs)
        if len(dests) != len(res.outs):
            raise _unsupported(f"the result of `{self.f.name}`", self.f.span)
        read_len = self._read_length() if res.buffer is not None else None
        ok, handover = self._out_pointers(dests, res.outs, read_len)
        error = self._error_value(res.error_payload, outs)
        buffer = self._caller_buffer(handover, read_len) if res.buffer is not None else _Staged()
        body += ok.decls + error.decls + buffer.decls
        call = f"{self.symbol}({', '.join(low.args + buffer.args + error.args + ok.args)})"
        if res.status is None:  # a value returned directly (not made by the lowering)
            raise _unsupported(f"the result of `{self.f.name}`", self.f.span)
        body += self._invoke(call, res.status, res.buffer is not None)
        body += self._glue_traps(res.status) + low.after
        if low.uses_temps:
            body.append("w2w_p2_temps_free(&w2w_temps);")
        success = ["if (w2w_status == 0) {"] + [f"  {s}" for s in ok.lifts]
        tail = ["if (w2w_buf != w2w_stack) free(w2w_buf);"] if res.buffer is not None else []
        if kind == "result":
            return body + self._result_return(success, tail, outs, error.lifts)
        body += success + ["}", "else __builtin_trap();"] + tail
        if kind == "scalar":
            body.append("return w2w_ret;")
        elif kind == "option":
            body += ["if (w2w_opt.is_some) *ret = w2w_opt.val;", "return w2w_opt.is_some;"]
        return body

    def _locals(self, kind: str, ret_type: str, uses_temps: bool) -> list[str]:
        """The body's first declarations: the returned value, the temporaries' list."""
        decls = []
        if kind == "scalar":
            decls.append(f"{ret_type} w2w_ret;")
        if kind == "option":
            decls.append(f"{self.g.ctype(self.f.result, self.ns)} w2w_opt;")
        if uses_temps:
            decls.append("w2w_p2_temps w2w_temps = { NULL };")
        return decls

    def _out_pointers(self, dests, slots, read_len: str | None) -> tuple["_Staged", bool]:
        """An out-pointer per P1 result slot: the destination itself when its layout is
        the witx one, else a staging area lifted into it after the call. True with them
        when a `list<u8>` read is lifted by handing over the read allocation."""
        conv, out = self.conv, _Staged()
        handover = False
        for (wt, lvalue), slot in zip(dests, slots):
            if conv.same_layout(wt, slot.value.type) and not conv.holds_list(wt):
                out.args.append(f"(int32_t) (uintptr_t) &{lvalue}")
                continue
            tmp = f"w2w_r{slot.index}"
            out.decls.append(f"_Alignas({slot.value.align}) uint8_t {tmp}[{slot.value.size}];")
            out.args.append(f"(int32_t) (uintptr_t) {tmp}")
            is_bytes = read_len is not None and self._is_list_u8(wt)
            conv.lift(wt, slot.value.type, tmp, lvalue, out.lifts, "w2w_buf" if is_bytes else None)
            handover = handover or is_bytes
        return out, handover

    def _error_value(self, slot, outs) -> "_Staged":
        """The staging area of the error value's slot, lifted into `*err` on failure."""
        staged = _Staged()
        if slot is None:
            return staged
        staged.decls.append(f"_Alignas({slot.value.align}) uint8_t w2w_e[{slot.value.size}];")
        staged.args.append("(int32_t) (uintptr_t) w2w_e")
        err_t = _error_type(outs)
        if err_t is not None:
            self.conv.lift(err_t, slot.value.type, "w2w_e", "(*err)", staged.lifts)
        return staged

    @staticmethod
    def _caller_buffer(handover: bool, read_len: str | None) -> "_Staged":
        """The buffer slot: a stack buffer, or for a `list<u8>` read an allocation of
        the size asked for (capped), which the result then takes over."""
        decls = ["_Alignas(8) uint8_t w2w_stack[W2W_P2_STACK_BUFFER];",
                 "uint8_t *w2w_buf = w2w_stack;", "uint32_t w2w_cap = sizeof w2w_stack;",
                 "uint32_t w2w_used = 0;"]
        if handover:
            decls += [f"size_t w2w_want = {read_len} < W2W_P2_READ_CAP ? (size_t) {read_len} : W2W_P2_READ_CAP;",
                      "if (w2w_want > 0) {", "  w2w_buf = (uint8_t *) w2w_p2_alloc(w2w_want);",
                      "  w2w_cap = (uint32_t) w2w_want;", "}"]
        args = ["(int32_t) (uintptr_t) w2w_buf", "(int32_t) w2w_cap", "(int32_t) (uintptr_t) &w2w_used"]
        return _Staged(decls, args)

    @staticmethod
    def _invoke(call: str, status, buffered: bool) -> list[str]:
        """The call; with a caller's buffer, retried (a bounded number of times) with an
        allocation of the size the host reports while it says the buffer is too small."""
        if not buffered:
            return [f"int32_t w2w_status = {call};"]
        return ["int32_t w2w_status;", "for (unsigned w2w_try = 0;; w2w_try++) {",
                f"  w2w_status = {call};",
                f"  if (w2w_status != {status.glue_value('buffer_too_small')}) break;",
                "  if (w2w_try >= W2W_P2_RETRIES || w2w_used <= w2w_cap) __builtin_trap();",
                "  if (w2w_buf != w2w_stack) free(w2w_buf);",
                "  w2w_buf = (uint8_t *) w2w_p2_alloc(w2w_used);", "  w2w_cap = w2w_used;", "}"]

    @staticmethod
    def _glue_traps(status) -> list[str]:
        """The glue's own statuses (a bad pointer, handle or value) are bugs: a trap."""
        glue = [g_.value for g_ in status.glue if g_.value is not None and g_.name != "buffer_too_small"]
        return [f"if ({' || '.join(f'w2w_status == {v}' for v in glue)}) __builtin_trap();"] if glue else []

    def _result_return(self, success: list[str], tail: list[str], outs, error_lifts: list[str]) -> list[str]:
        """`bool f(..., T *ret, E *err)`: the ok value lifted on success, the error on
        one of the interface's error statuses; any other status traps."""
        n_errors = len(self.plan.result.status.interface_errors)
        fail = self._error_statements(outs, error_lifts, n_errors)
        return (success + ["}", f"else if (w2w_status < 0 || w2w_status > {n_errors}) __builtin_trap();",
                           "else {"] + [f"  {s}" for s in fail] + ["}"] + tail
                + ["return w2w_status == 0;"])

    def _error_statements(self, outs, error_lifts: list[str], n_errors: int) -> list[str]:
        """How a failure status becomes `*err`: the error value's slot lifted, or (an
        enum or payload-free variant) the status itself, less one when the status enum
        begins with `success`."""
        err_t = _error_type(outs)
        if err_t is None:
            return []
        if self.plan.result.error_payload is not None:
            return error_lifts
        wcases = self.g.kind(err_t)
        count = len(wcases.cases) if isinstance(wcases, (ir.Enum, ir.Variant)) else 0
        offset = 1 if count == n_errors else 0
        if isinstance(wcases, ir.Variant):  # payload-free: a struct with a tag
            return [f"err->tag = ({_UINT[_tag_size(count)]}) (w2w_status - {offset});"]
        return [f"*err = ({self.g.ctype(err_t, self.ns)}) (w2w_status - {offset});"]

    def _is_list_u8(self, wt: ir.TypeRef) -> bool:
        k = self.g.kind(wt)
        return isinstance(k, ir.List) and k.size is None and self.g.dealias(k.element) == "u8"


#: how the core arguments of a WIT parameter are made, by the kind of its call plan slot
_ARGUMENT_BY_SLOT = {
    SlotKind.SCALAR: _FunctionBuilder._scalar_argument,
    SlotKind.FLAGS: _FunctionBuilder._scalar_argument,
    SlotKind.ENUM: _FunctionBuilder._enum_argument,
    SlotKind.HANDLE: _FunctionBuilder._handle_argument,
    SlotKind.SPAN: _FunctionBuilder._span_argument,
    SlotKind.BY_REF: _FunctionBuilder._by_ref_argument,
}


@dataclass
class _Lowered:
    """The parameters of one call, lowered: statements before the call, the core
    arguments, statements after it (dropping `own` parameters), and whether lowered
    copies hold allocations to free."""

    pre: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    uses_temps: bool = False


@dataclass
class _Staged:
    """Result slots of one call: their declarations, core arguments, and the statements
    that lift them into the caller's values."""

    decls: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    lifts: list[str] = field(default_factory=list)


def _error_type(outs) -> ir.TypeRef | None:
    """The WIT error type of a flattened `result` (its `err` out-parameter)."""
    return next((t for n, t in outs if n == "err"), None)


class _ExportBuilder(_FunctionBuilder):
    """An exported function: wit-bindgen's prototype (the guest defines it) and the
    core export that calls it.

    The core export takes the P1 function's parameters (only scalars, enums, flags and
    handles: the host has no memory in the guest to pass more) and returns the status
    the lowering gives the function (0 success; for `result<_, E>`, E's status), or, for
    a result that is one scalar, enum, flags or handle, that value itself.
    """

    def __init__(self, gen: _Gen, ns: str, type_ns: str, f: ir.Function, plan, export_name: str) -> None:
        super().__init__(gen, type_ns, f, "", plan)
        self.export_ns = ns
        self.export_name = export_name

    def build(self) -> tuple[Function, Helper]:
        g, f = self.g, self.f
        name = f"{self.export_ns}_{c_snake(f.name)}"
        kind, ret_type, outs = self._classify()
        params = self._params()
        if any(how != "value" for _, _, how in params) or len(self.plan.inputs) != len(f.params):
            raise _unsupported(f"the parameters of the exported function `{f.name}` "
                               "(strings, lists and compound values)", f.span)
        decls = [d for d, _, _ in params] + [f"{g.ctype(t, self.ns)} *{n}" for n, t in outs]
        proto = f"{ret_type} {name}({', '.join(decls) or 'void'})"
        core_params, args = [], []
        for i, ((decl, pname, _), wp, slot) in enumerate(zip(params, f.params, self.plan.inputs)):
            if slot.kind not in (SlotKind.SCALAR, SlotKind.ENUM, SlotKind.FLAGS, SlotKind.HANDLE):
                raise _unsupported(f"the parameter `{wp.name}` of the exported function `{f.name}`", f.span)
            core = _WASM_C[slot.core[0].wasm_type.value]
            core_params.append(f"{core} arg{i}")
            ctype = decl[: -len(pname)].strip()
            if slot.kind is SlotKind.HANDLE:
                args.append(f"({ctype}) {{ arg{i} }}")
            elif g.dealias(wp.type) == "bool":
                args.append(f"arg{i} != 0")
            elif slot.kind is SlotKind.SCALAR and g.dealias(wp.type) in ("f32", "f64"):
                args.append(f"arg{i}")
            else:
                args.append(f"({ctype}) arg{i}")
        body, result = self._export_body(kind, ret_type, outs, name, args)
        attr = f"__attribute__((__export_name__({c_string(self.export_name)})))\n"
        trampoline = Helper(f"{attr}{result} __w2w_export_{name[len('exports_'):]}"
                            f"({', '.join(core_params) or 'void'})", [], body)
        return Function(proto, doc_lines(f.docs or ""), []), trampoline

    def _export_body(self, kind, ret_type, outs, name, args) -> tuple[list[str], str]:
        g = self.g
        call_args = list(args)
        if kind == "void":
            return [f"{name}({', '.join(call_args)});", "return 0;"], "int32_t"
        if kind == "scalar":
            k = g.kind(self.f.result)
            d = g.dealias(self.f.result)
            core = _WASM_C[_scalar_wasm(d, k)]
            value = "r.__handle" if isinstance(k, ir.Handle) else f"({core}) r"
            return [f"{ret_type} r = {name}({', '.join(call_args)});", f"return {value};"], core
        if kind == "result" and all(n == "err" for n, _ in outs):
            status = self.plan.result.status
            if not outs:
                return [f"return {name}({', '.join(call_args)}) ? 0 : 1;"], "int32_t"
            err_t = outs[0][1]
            ek = g.kind(err_t)
            if isinstance(ek, ir.Enum) and status is not None:
                offset = 1 if len(ek.cases) == len(status.interface_errors) else 0
                ctype = g.ctype(err_t, self.ns)
                return [f"{ctype} e;", f"if ({name}({', '.join(call_args + ['&e'])})) return 0;",
                        f"return (int32_t) e + {offset};"], "int32_t"
        raise _unsupported(f"the result of the exported function `{self.f.name}` (only none, "
                           "a result without ok value and with an enum error, or a scalar, "
                           "enum, flags or handle)", self.f.span)


def _scalar_wasm(d, k) -> str:
    if d in ("u64", "s64"):
        return "i64"
    if d in ("f32", "f64"):
        return d
    if isinstance(k, ir.Flags) and len(k.flags) > 32:
        return "i64"
    return "i32"


def _by_pointer(g: _Gen, ref: ir.TypeRef) -> bool:
    d = g.dealias(ref)
    if d == "string":
        return True
    if not isinstance(d, int):
        return False
    return isinstance(g.r.types[d].kind, (ir.Variant, ir.Option, ir.Result, ir.Tuple, ir.Record, ir.List, ir.Map))


# --------------------------------------------------------------------------- entry point


def _find_world(program) -> int:
    from ..p1.lower import find_world  # noqa: PLC0415

    spec = program.options.world
    if spec is None:
        raise UsageError("`--emit c-p2` needs `--world` (e.g. `--world wasi:cli/imports`)")
    return find_world(program.resolve, spec)


def build_view(program) -> P2View:
    opts = options_of(program)
    gen = _Gen(program, _find_world(program), opts)
    sections: list[Section] = []
    for key, item in gen.world.imports.items():
        if isinstance(item, ir.WorldInterface):
            section = gen.interface_section(key, item.id)
            if section is not None:
                sections.append(section)
    for key, item in gen.world.imports.items():
        if isinstance(item, ir.WorldFunction):
            raise _unsupported(f"the world's own imported function `{item.function.name}`",
                               item.function.span)
    for key, item in gen.world.exports.items():
        if isinstance(item, (ir.WorldInterface, ir.WorldFunction)):
            section = gen.export_section(key, item)
            if section is not None:
                sections.append(section)
    unknown = sorted(set(opts.renames) - gen.names.used_renames)
    if unknown:
        raise UsageError(f"`--rename {unknown[0]}=...` matches no interface the world imports")
    world = gen.names.world
    if gen.needs_string:
        s = f"{world}_string"
        gen.helpers += [
            Helper(f"void {s}_set({s}_t *ret, const char *s)",
                   ["Sets the string `ret` to reference the input string `s` without copying it"],
                   ["ret->ptr = (uint8_t *) s;", "ret->len = strlen(s);"]),
            Helper(f"void {s}_dup({s}_t *ret, const char *s)",
                   ["Creates a copy of the input nul-terminated string `s` and",
                    "stores it into the component model string `ret`."],
                   ["ret->len = strlen(s);", "ret->ptr = (uint8_t *) w2w_p2_alloc(ret->len);",
                    "if (ret->len > 0) memcpy(ret->ptr, s, ret->len);"]),
            Helper(f"void {s}_dup_n({s}_t *ret, const char *s, size_t len)",
                   ["Creates a copy of the input string `s` with length `len` and",
                    "stores it into the component model string `ret`."],
                   ["ret->len = len;", "ret->ptr = (uint8_t *) w2w_p2_alloc(ret->len);",
                    "if (ret->len > 0) memcpy(ret->ptr, s, ret->len);"]),
            Helper(f"void {s}_free({s}_t *ret)",
                   ["Deallocates the string pointed to by `ret`, deallocating",
                    "the memory behind the string."],
                   ["if (ret->len > 0) free(ret->ptr);", "ret->ptr = NULL;", "ret->len = 0;"]),
        ]
    header = f"{world}.h"
    return P2View(
        generated=" ".join(doc_lines(program.header_line())),
        world=world, guard=f"__BINDINGS_{world.upper()}_H", header=c_string(header),
        types=gen.types, sections=sections, helpers=gen.helpers,
        imports=sorted(gen.imports.values(), key=lambda i: i.symbol), needs_string=gen.needs_string,
        trampolines=gen.trampolines)


def emit_files(program) -> dict[str, str]:
    """The driver's entry point (`compiler.BACKENDS["c-p2"]`): `<world>.h`, `<world>.c`.

    c-p2 is made for one world of WIT input. Asked for alone without one, that is a
    usage error; in a run of several back ends (`--emit` with every one of them), it is
    a warning and c-p2 writes nothing, so that the others still run."""
    problem = None
    if program.resolve is None:
        problem = "`--emit c-p2` reads WIT input (a world), not WITX"
    elif program.options.world is None:
        problem = "`--emit c-p2` needs `--world` (e.g. `--world wasi:cli/imports`)"
    if problem is not None:
        if tuple(program.options.emit) == ("c-p2",):
            raise UsageError(problem)
        program.warnings.append(warning(problem + ": nothing written for it"))
        return {}
    view = build_view(program)
    templates = template_dirs(program)
    return {f"{view.world}.h": render("c_p2/header.h.j2", view, templates=templates),
            f"{view.world}.c": render("c_p2/source.c.j2", view, templates=templates)}


__all__ = ["emit_files", "build_view", "P2View", "c_snake", "c_ident"]
