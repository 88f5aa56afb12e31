"""C header back end: guest headers in the style of wasi-libc's generated `wasi/api.h`.

For one P1 module the header has an include guard, an `#error` outside wasm32,
`<stddef.h>`/`<stdint.h>`, `extern "C"` for C++, a typedef for every typename,
`#define`s for enum cases, flag bits and witx constants, structs/unions for records
and variants, `_Static_assert`s on size, alignment and member offsets (the witx
layout from `p1.layout`), and one prototype per function that *is* the wasm import:
`__attribute__((__import_module__("m"), __import_name__("f")))`. Results come back
through out-pointers (`retptr0`, ...) as in api.h, and every function that returns a
status is `__warn_unused_result__`.

Naming scheme (one prefix per header; `prefix=` overrides it):

| thing | spelling | preview1 default (`__wasi_`) |
|---|---|---|
| typename `$t` | `<prefix>t_t` | `__wasi_errno_t` |
| union of variant `$v` | `<prefix>v_u_t` | `__wasi_subscription_u_u_t` |
| enum case / flag / const `$c` of `$t` | `<PREFIX>T_C` | `__WASI_ERRNO_BADF` |
| function `f` | `<prefix>f` | `__wasi_fd_read` |
| per-type guard | `<PREFIX>T_T_DEFINED` | `__WASI_ERRNO_T_DEFINED` |

The default prefix is `__wasi_` for `wasi_snapshot_preview1` (as in wasi-libc) and the
module name plus `_` otherwise (`wasi_sockets_tcp_`). A typename `$size` that is a u32
becomes `__SIZE_TYPE__`, as wasi-libc does, so that guests can pass `size_t *`; a
`(handle)` typename is an `int` (as `__wasi_fd_t`). An anonymous record, tuple or
variant gets a synthesized typedef named after where it occurs (`<prefix><type>_<field>_t`,
`<prefix><function>_<param>_t`); a list outside a parameter list becomes a
`{ T *ptr; size_t len; }` struct, and inside a record two members `x` and `x_len`.
Member and parameter names that are C or C++ keywords get a trailing `_`.

Names are injective (`emit.cnames`): `<t>` above is the typename's fragment, which is
its name unless a name the header (or the host glue, which shares the fragments) would
emit for it is already taken by something else -- a variant `v`'s union `<p>v_u_t` and a
type `v-u`, a synthesized `<type>_<field>` and a type of that spelling -- then it is the
first free of `<t>_2`, `<t>_3`, ...: user typenames and functions first (in definition
order, units in order), synthesized types after them. Case macros, members and
parameters are made distinct within their type or prototype the same way. Characters
a WITX name may hold and C may not become `_`. Docs and strings are escaped for C
(`cnames.doc_lines`, `cnames.c_string`).

Every header starts with wasi-libc's "non-wasi data layout" asserts (`_Alignof(int8_t)
== 1` ... `_Alignof(void*) == 4`), not only wasi_snapshot_preview1's: every header's
types and prototypes assume the witx layout, and the assert says so at the assumption.

Shared types: every type definition (typedef, its constants and asserts) is wrapped in
its own guard, `#ifndef <PREFIX>T_T_DEFINED`. Two headers that define the same type
under the same name (several modules of one document emitted with one prefix, or
units that share types) can therefore be included together. When given a `Unit`, the
header defines only the unit's own typenames and `#include`s the headers of the units
it uses (`<unit>.h`); a foreign typename is then spelled with the prefix of the unit
that owns it (pass the units as `units=` so that the owner can be found, and
`prefixes=` for units emitted with a non-default prefix).

Parameters follow the witx C ABI: `string` → `const char *x, size_t x_len`;
`(list T)` → `const T *x, size_t x_len`; records and variants are passed by
pointer (`const T *x`); an `(expected T (error E))` result returns `E` and writes
`T` (or each tuple member) through `T *retptrN`.

Each `_Static_assert` (and `_Noreturn`) is preceded by `__extension__` so that C++
guests compiling with `-pedantic -Werror` do not trip over these C11 keywords.

Templates only format; every name and string is computed here in view-model
dataclasses.
"""

from __future__ import annotations

from dataclasses import field
from typing import Mapping, Sequence

from ..diagnostics import UnsupportedError, error
from ..p1.facts import Facts, facts_of
from ..p1.model import (
    Bool, Builtin, Constant, ConstPointer, Document, Enum, Expected, Flags, Function, Handle,
    List, Module, OptionType, Pointer, Record, Ref, String, Tuple, Type,
    TypeName, TypeRef, Union, Variant, canonical_variant_cases, is_enum_like, resolve,
)
from ..p1.names import guest_export_name
from ..p1.unit import Unit
from ..records import record
from . import cnames
from .cnames import ProgramNames, Registry
from .templating import render, template_dirs

PREVIEW1 = "wasi_snapshot_preview1"
PREVIEW1_PREFIX = "__wasi_"

_BUILTIN_C = {
    "u8": "uint8_t", "u16": "uint16_t", "u32": "uint32_t", "u64": "uint64_t",
    "s8": "int8_t", "s16": "int16_t", "s32": "int32_t", "s64": "int64_t",
    "f32": "float", "f64": "double", "char8": "char", "usize": "size_t",
    "char": "uint32_t",  # a Unicode scalar value
}
#: The witx data layout, asserted at the top of every header as wasi-libc's api.h does.
#: Every header, not only wasi_snapshot_preview1's: each type's own size/offset asserts
#: and every prototype rely on these alignments, and a guest built for another layout
#: should fail at the assumption itself, not at the first struct that happens to differ.
LAYOUT_ASSERTS = (("int8_t", 1), ("uint8_t", 1), ("int16_t", 2), ("uint16_t", 2), ("int32_t", 4),
                  ("uint32_t", 4), ("int64_t", 8), ("uint64_t", 8), ("void*", 4))
_UINT_BY_SIZE = {1: "uint8_t", 2: "uint16_t", 4: "uint32_t", 8: "uint64_t"}
_LITERAL_MACRO = {
    "uint8_t": "UINT8_C", "uint16_t": "UINT16_C", "uint32_t": "UINT32_C",
    "uint64_t": "UINT64_C", "int8_t": "INT8_C", "int16_t": "INT16_C",
    "int32_t": "INT32_C", "int64_t": "INT64_C", "size_t": "UINT32_C",
}


def default_prefix(module_name: str | None) -> str:
    return cnames.default_guest_prefix(module_name)


# --------------------------------------------------------------------------- view model
# View models are only read by templates, never compared or printed: `eq=False,
# repr=False` spares generating methods nobody calls (class creation is import time).


@record(slots=True, eq=False, repr=False)
class CConstant:
    name: str
    value: str
    doc: list[str]


@record(slots=True, eq=False, repr=False)
class CMember:
    ctype: str
    name: str
    doc: list[str]

    @property
    def decl(self) -> str:
        return _declarator(self.ctype, self.name)


@record(slots=True, eq=False, repr=False)
class CType:
    """One typename: its typedef (alias, struct or tagged union), constants and asserts."""

    shape: str  # "alias" | "struct" | "variant"
    name: str
    guard: str
    doc: list[str]
    aliased: str = ""
    members: list[CMember] = field(default_factory=list)
    union_name: str = ""
    union_members: list[CMember] = field(default_factory=list)
    tag_ctype: str = ""
    constants: list[CConstant] = field(default_factory=list)
    size: int = 0
    align: int = 0
    offsets: list[tuple[str, int]] = field(default_factory=list)


@record(slots=True, eq=False, repr=False)
class CParam:
    ctype: str
    name: str
    doc: list[str]

    @property
    def decl(self) -> str:
        return _declarator(self.ctype, self.name)


@record(slots=True, eq=False, repr=False)
class CFunction:
    name: str
    return_type: str
    noreturn: bool
    warn_unused_result: bool
    params: list[CParam]
    doc: list[str]
    import_module: str
    import_name: str
    #: a function the guest defines (`Module.exports`): its core export's name
    export_name: str = ""

    @property
    def attributes(self) -> list[str]:
        if self.export_name:
            return [f"__export_name__({cnames.c_string(self.export_name)})"]
        attrs = [f"__import_module__({cnames.c_string(self.import_module)})",
                 f"__import_name__({cnames.c_string(self.import_name)})"]
        if self.warn_unused_result:
            attrs.append("__warn_unused_result__")
        return attrs


@record(slots=True, eq=False, repr=False)
class CHeader:
    guard: str
    comment: list[str]
    includes: list[str]
    module_name: str | None
    module_doc: list[str]
    types: list[CType]
    functions: list[CFunction]
    #: (C type, alignment) of the data layout every header assumes (wasi-libc's api.h
    #: starts with the same "non-wasi data layout" asserts)
    layout_asserts: tuple[tuple[str, int], ...] = ()


# --------------------------------------------------------------------------- helpers


def _declarator(ctype: str, name: str) -> str:
    return f"{ctype}{name}" if ctype.endswith("*") else f"{ctype} {name}"


_doc_lines = cnames.doc_lines  # docs are data: escaped for C comments in one place


def _c_ident(name: str) -> str:
    """A member or parameter name (`cnames.member`: `0` → `f0`, `this` → `this_`)."""
    return cnames.member(name)


def _members(names: list[str]) -> list[str]:
    """The distinct C names of one struct's or union's members, in order."""
    return cnames.unique(cnames.member(n) for n in names)


class _Namer:
    """Spells C names; knows which prefix owns each typename and the run's names
    (`cnames.ProgramNames`: the distinct fragment of every typename and function)."""

    def __init__(self, prefix: str, owners: Mapping[int, str], names: ProgramNames,
                 own: Mapping[int, str] | None = None) -> None:
        self.prefix = prefix
        self.owners = owners  # id(TypeName) -> prefix of the header that defines it
        self.own = own or {}  # the same for this header's own typenames (looked up first)
        self.names = names
        self.registry: Registry = names.registry

    def _prefix_of(self, tn: TypeName | None) -> str:
        if tn is None:
            return self.prefix
        prefix = self.own.get(id(tn))
        return prefix if prefix is not None else self.owners.get(id(tn), self.prefix)

    def _stem(self, tn: TypeName) -> str:
        return self._prefix_of(tn) + self.names.fragment(tn)

    def type_name(self, tn: TypeName) -> str:
        return f"{self._stem(tn)}_t"

    def union_name(self, tn: TypeName) -> str:
        return f"{self._stem(tn)}_u_t"

    def guard(self, tn: TypeName) -> str:
        return f"{self._stem(tn).upper()}_T_DEFINED"

    def constant_base(self, tn: TypeName) -> str:
        """`<PREFIX><T>_`: + a case suffix from `case_suffixes`."""
        return f"{self._stem(tn).upper()}_"

    def case_suffixes(self, tn: TypeName, names: list[str]) -> list[str]:
        known = self.names.case_suffixes.get(id(tn))
        return known if known is not None else cnames.case_suffixes(names)

    def function(self, func: Function) -> str:
        return f"{self.prefix}{self.names.fragment(func)}"

    def synthesized(self, key: int, hint: str, case_names: list[str], union: bool) -> str:
        """A fresh fragment for an anonymous type (named after where it occurs), distinct
        from every name of the run."""
        suffixes = cnames.case_suffixes(case_names)
        prefix = self.prefix
        frag = self.registry.claim(("synth", key), cnames.fragment(hint),
                                   lambda f: cnames.guest_type_names(prefix, f, suffixes, union))
        return frag


def _resolve(tref: TypeRef) -> Type:
    """`model.resolve`, with a dangling reference reported as a diagnostic."""
    try:
        return resolve(tref)
    except ValueError as exc:
        raise UnsupportedError(error(str(exc), getattr(tref, "span", None))) from None


def _unsupported(what: str, node: object) -> UnsupportedError:
    return UnsupportedError(error(f"the C header back end cannot express {what}",
                                  getattr(node, "span", None)))


# --------------------------------------------------------------------------- types


class _TypeBuilder:
    """Builds `CType`s; an anonymous aggregate gets a synthesized typedef named after
    where it occurs (`<typename>_<field>`, `<function>_<param>`), emitted before its user."""

    def __init__(self, namer: _Namer, doc: Document, facts: Facts) -> None:
        self.namer = namer
        self.doc = doc
        self.facts = facts
        self.emitted: list[CType] = []  # in dependency order
        self._synthesized: dict[int, str] = {}  # id(type value) -> C name
        self._constants: dict[str, list[Constant]] | None = None  # type name -> its constants

    def constants_of(self, type_name: str) -> list[Constant]:
        if self._constants is None:
            self._constants = {}
            for c in self.doc.constants:
                self._constants.setdefault(c.type_name, []).append(c)
        return self._constants.get(type_name, [])

    def ctype(self, tref: TypeRef, hint: str) -> str:
        """The C spelling of a type in a member, pointee or out-pointer position."""
        if isinstance(tref, Ref):
            target = tref.target
            if target is None:
                raise _unsupported(f"the unresolved type `{tref.name}`", tref)
            if isinstance(_resolve(target.type), (List, String)):
                # No typedef exists for a named list (as in api.h): its pair struct is
                # defined, under the list's own name, by the first header that needs it.
                return self._named_list(target)
            return self.namer.type_name(target)
        return self._anonymous(tref, hint)

    def pointee(self, tref: TypeRef, hint: str) -> str:
        text = self.ctype(tref, hint)
        return text[:-1] + "*" if text.endswith(" *") else text

    def _anonymous(self, ty: Type, hint: str) -> str:
        if isinstance(ty, Builtin):
            return _BUILTIN_C[ty.name]
        if isinstance(ty, Pointer):
            return f"{self.pointee(ty.pointee, hint)} *"
        if isinstance(ty, ConstPointer):
            return f"const {self.pointee(ty.pointee, hint)} *"
        if isinstance(ty, Handle):
            return "int32_t"
        if isinstance(ty, Flags):
            return _UINT_BY_SIZE[ty.repr.size]
        if is_enum_like(ty):
            return _UINT_BY_SIZE[self.facts.size_align(ty).size]
        return self._synthesize(hint, ty)

    def _synthesize(self, hint: str, ty: Type) -> str:
        known = self._synthesized.get(id(ty))
        if known is not None:
            return known
        pseudo = TypeName(hint, ty)
        case_names = cnames.type_cases(pseudo)
        frag = self.namer.synthesized(id(ty), hint, case_names, cnames.has_union(pseudo))
        pseudo.name = frag
        self.namer.names.fragment_of[id(pseudo)] = frag
        self.namer.names.case_suffixes[id(pseudo)] = cnames.case_suffixes(case_names)
        ct = self._build(pseudo)
        self._synthesized[id(ty)] = ct.name
        self.emitted.append(ct)
        return ct.name

    def _named_list(self, tn: TypeName) -> str:
        key = id(tn)
        known = self._synthesized.get(key)
        if known is None:
            ct = self._build(tn)
            known = self._synthesized[key] = ct.name
            self.emitted.append(ct)
        return known

    def add(self, tn: TypeName) -> None:
        """Emit the typedef of a typename (after whatever it needs synthesized)."""
        if isinstance(_resolve(tn.type), (List, String)) and not isinstance(tn.type, Ref):
            # A list is a (pointer, length) pair that api.h only spells as two
            # parameters; a pair struct is synthesized if a member ever needs one.
            return
        self.emitted.append(self._build(tn))

    def _build(self, tn: TypeName) -> CType:
        ty = _resolve(tn.type)
        namer = self.namer
        sa = self.facts.size_align(tn.type)
        out = CType("alias", namer.type_name(tn), namer.guard(tn), _doc_lines(tn.docs),
                    size=sa.size, align=sa.align)
        if isinstance(tn.type, Ref):
            out.aliased = self.ctype(tn.type, tn.name)
        elif isinstance(ty, Builtin) and tn.name == "size" and ty.name in ("u32", "usize"):
            out.aliased = "__SIZE_TYPE__"  # as wasi-libc: guests pass size_t
        elif isinstance(ty, Handle):
            out.aliased = "int"  # as wasi-libc's __wasi_fd_t
        elif isinstance(ty, Enum):
            out.aliased = _UINT_BY_SIZE[ty.tag.size]
            out.constants = self._case_constants(tn, [c.name for c in ty.cases],
                                                 [c.docs for c in ty.cases], out.aliased)
        elif isinstance(ty, Flags):
            out.aliased = _UINT_BY_SIZE[ty.repr.size]
            out.constants = self._flag_constants(tn, ty, out.name)
        elif isinstance(ty, (Record, Tuple)):
            self._struct(tn, out)
        elif isinstance(ty, (List, String)):
            self._list_pair(tn, ty, out)
        elif isinstance(ty, (Variant, Union, Expected, OptionType, Bool)):
            self._variant(tn, ty, out)
        else:
            out.aliased = self._anonymous(ty, tn.name)
        consts = self.constants_of(tn.name)
        if consts:
            # the `@witx const`s follow the cases in the type's macro suffixes
            suffixes = namer.case_suffixes(tn, cnames.type_cases(tn, consts))[-len(consts):]
            base = namer.constant_base(tn)
            out.constants += [
                CConstant(base + suffix, self._literal(out, c.value), _doc_lines(c.docs))
                for c, suffix in zip(consts, suffixes)
            ]
        return out

    def _literal(self, out: CType, value: int) -> str:
        base = out.aliased if out.shape == "alias" else _UINT_BY_SIZE.get(out.size, "uint64_t")
        macro = _LITERAL_MACRO.get(base, "UINT64_C" if out.size == 8 else "UINT32_C")
        return f"({macro}({value}))"

    def _case_constants(self, tn: TypeName, names: list[str], docs: list[str],
                        ctype: str) -> list[CConstant]:
        macro = _LITERAL_MACRO[ctype]
        base = self.namer.constant_base(tn)  # `<PREFIX>T_`
        suffixes = self.namer.case_suffixes(tn, names)
        return [CConstant(base + suffix, f"({macro}({i}))", _doc_lines(doc))
                for i, (suffix, doc) in enumerate(zip(suffixes, docs))]

    def _flag_constants(self, tn: TypeName, ty: Flags, cname: str) -> list[CConstant]:
        out = []
        base = self.namer.constant_base(tn)
        suffixes = self.namer.case_suffixes(tn, [f.name for f in ty.flags])
        for bit, (flag, suffix) in enumerate(zip(ty.flags, suffixes)):
            # `1 << 31` overflows int; wider bits need a wide literal.
            one = "1" if bit < 31 else _LITERAL_MACRO[_UINT_BY_SIZE[ty.repr.size]] + "(1)"
            out.append(CConstant(base + suffix, f"(({cname})({one} << {bit}))", _doc_lines(flag.docs)))
        return out

    def _struct(self, tn: TypeName, out: CType) -> None:
        out.shape = "struct"
        layout = self.facts.record_layout(tn.type)
        names = _members([f.name for f in layout])
        # the length members of list fields come after every field's own name
        lens = iter(cnames.unique((f"{n}_len" for n, f in zip(names, layout)
                                   if isinstance(_resolve(f.type), (List, String))), taken=names))
        for f, name in zip(layout, names):
            ty = _resolve(f.type)
            if isinstance(ty, (List, String)):
                # Same memory as the witx (pointer, length) pair, spelled as two members.
                length = next(lens)
                out.members.append(CMember(f"{self._element(ty, tn.name + '_' + name)} *", name,
                                           _doc_lines(f.docs)))
                out.members.append(CMember("size_t", length, []))
                out.offsets += [(name, f.offset), (length, f.offset + 4)]
                continue
            out.members.append(CMember(self.ctype(f.type, f"{tn.name}_{name}"), name,
                                       _doc_lines(f.docs)))
            out.offsets.append((name, f.offset))

    def _element(self, ty: List | String, hint: str) -> str:
        return "char" if isinstance(ty, String) else self.pointee(ty.element, hint)

    def _list_pair(self, tn: TypeName, ty: List | String, out: CType) -> None:
        """A list outside a parameter list: the (pointer, length) pair as a struct."""
        out.shape = "struct"
        out.members = [CMember(f"{self._element(ty, tn.name + '_elem')} *", "ptr", []),
                       CMember("size_t", "len", [])]
        out.offsets = [("ptr", 0), ("len", 4)]

    def _variant(self, tn: TypeName, ty: Type, out: CType) -> None:
        cases = canonical_variant_cases(ty) or []
        vl = self.facts.variant_layout(tn.type)
        tag_ctype = _UINT_BY_SIZE[vl.tag.size]
        constants = self._case_constants(tn, [c.name for c in cases], [c.docs for c in cases],
                                         tag_ctype)
        if all(c.type is None for c in cases):
            # Payload-free: an integer of the tag's width, one constant per case.
            out.aliased = tag_ctype
            out.constants = constants
            return
        out.shape = "variant"
        out.tag_ctype = tag_ctype
        out.union_name = self.namer.union_name(tn)
        payload = [c for c in cases if c.type is not None]
        out.union_members = [
            CMember(self.ctype(c.type, f"{tn.name}_{name}"), name, _doc_lines(c.docs))
            for c, name in zip(payload, _members([c.name for c in payload]))
        ]
        # Name the tag values so guests need no magic numbers -- unless the tag is an
        # enum typename, whose constants already name them (as in api.h).
        if getattr(ty, "tag_name", None) is None:
            out.constants = constants
        out.offsets = [("tag", 0), ("u", vl.payload_offset)]


# --------------------------------------------------------------------------- functions


class _FunctionBuilder:
    def __init__(self, types: _TypeBuilder, module: Module) -> None:
        self.types = types
        self.module = module

    def build(self, func: Function, export: bool = False) -> CFunction:
        """The prototype of an import, or (`export`) the declaration of a function the
        guest defines, which makes the compiler export its definition by that name."""
        params: list[CParam] = []
        owned: list[CParam] = []  # a guest export's `own<r>` handles (`Param.own`)
        for p in func.params:
            params += self._param(p.name, p.type, _doc_lines(p.docs), func.name)
            owned += params[-1:] if p.own else []
        ret, outs, result_doc = self._results(func)
        params += outs
        # parameter names of one prototype are distinct (`x_len` of a list `x` vs a
        # parameter `x-len`, names that only differ in characters C does not allow)
        for p, name in zip(params, cnames.unique(p.name for p in params)):
            p.name = name
        doc = _doc_lines(func.docs)
        export_name = guest_export_name(self.module.name, func.name) if export else ""
        if export:
            doc = [*doc, *([""] if doc else []), "Defined by the guest: the host calls it as the "
                   f"core export `{cnames.doc_lines(export_name)[0]}`."]
            if owned:
                doc.append("Owned by the guest after the call (it drops them): "
                           + ", ".join(f"`{p.name}`" for p in owned) + ".")
        if result_doc:
            doc += ["@return", *result_doc]
        cf = CFunction(self.types.namer.function(func), ret, func.noreturn,
                       ret != "void" and not func.noreturn and not export, params, doc,
                       self.module.name, func.name, export_name)
        self._check_core_arity(func, cf)
        return cf

    def _param(self, name: str, tref: TypeRef, doc: list[str], func: str) -> list[CParam]:
        ty = _resolve(tref)
        name = _c_ident(name)
        hint = f"{func}_{name}"
        if isinstance(ty, (String, List)):
            length_doc = ([f"The length of `{name}` in bytes."] if isinstance(ty, String)
                          else [f"The length of the array pointed to by `{name}`."])
            return [CParam(f"const {self.types._element(ty, hint)} *", name, doc),
                    CParam("size_t", f"{name}_len", length_doc)]
        if not _is_scalar_param(ty):
            # witx passes records, tuples and variants with payloads by address.
            return [CParam(f"const {self.types.pointee(tref, hint)} *", name, doc)]
        return [CParam(self.types.ctype(tref, hint), name, doc)]

    def _results(self, func: Function) -> tuple[str, list[CParam], list[str]]:
        if not func.results:
            return "void", [], []
        if len(func.results) > 1:
            raise _unsupported(f"more than one result in `{func.name}`", func)
        r = func.results[0]
        hint = f"{func.name}_{r.name}"
        ty = _resolve(r.type)
        doc = _doc_lines(r.docs)
        cases = canonical_variant_cases(ty)
        if cases is None or is_enum_like(ty):
            return self.types.ctype(r.type, hint), [], doc
        ok = cases[0].type
        err = cases[1].type if len(cases) > 1 else None
        if err is not None:
            status = self.types.ctype(err, hint + "_error")
        else:
            status = _UINT_BY_SIZE[self.types.facts.variant_layout(r.type).tag.size]
        if ok is None:
            return status, [], doc
        ok_ty = _resolve(ok)
        members = ok_ty.types if isinstance(ok_ty, Tuple) else [ok]
        outs = [CParam(f"{self.types.pointee(m, f'{hint}_{i}')} *", f"retptr{i}", [])
                for i, m in enumerate(members)]
        return status, outs, doc

    def _check_core_arity(self, func: Function, cf: CFunction) -> None:
        """Every C parameter must be exactly one core parameter of the witx ABI."""
        sig = self.types.facts.core_signature(func)
        if len(sig.params) != len(cf.params):
            raise _unsupported(
                f"`{func.name}`: {len(cf.params)} C parameters for {len(sig.params)} core ones", func)


def _is_scalar_param(ty: Type) -> bool:
    return isinstance(ty, (Builtin, Pointer, ConstPointer, Handle, Flags)) or is_enum_like(ty)


# --------------------------------------------------------------------------- entry point


def _owners(units: Sequence[Unit], prefixes: Mapping[str, str]) -> dict[int, str]:
    """id(TypeName) -> the prefix of the unit that defines it."""
    owners: dict[int, str] = {}
    for unit in units:
        prefix = prefixes.get(unit.name) or default_prefix(unit.name)
        for d in unit.own:
            if isinstance(d, TypeName):
                owners.setdefault(id(d), prefix)
    return owners


def _default_comment(stem: str, has_module: bool, origin: str, version: str | None) -> list[str]:
    what = f"declarations for the WASI module `{stem}`" if has_module else f"types of `{stem}`"
    lines = [f"<{stem}.h>: {what}."]
    if origin:
        lines.append(f"Source: `{origin}`" + (f", version {version}." if version else "."))
    lines.append("Generated by wit2witx; do not edit.")
    return lines


def _path_stem(path: str | None) -> str:
    """A C-identifier-safe stem of the document's file name, for the include guard."""
    stem = (path or "wit2witx").replace("\\", "/").rsplit("/", 1)[-1].split(".", 1)[0]
    return "".join(ch if ch.isalnum() else "_" for ch in stem) or "wit2witx"


def _select_module(doc: Document, module: Module | None) -> Module | None:
    if module is not None:
        return module
    modules = doc.modules
    return modules[0] if modules else None


def build_view(doc: Document | Unit, module: Module | None = None, *, prefix: str | None = None,
               header_comment: str | None = None, units: Sequence[Unit] = (),
               prefixes: Mapping[str, str] | None = None,
               owners: Mapping[int, str] | None = None, facts: Facts | None = None,
               names: ProgramNames | None = None) -> CHeader:
    """The header's view model (see `emit_c_header`); `owners` is `_owners(units,
    prefixes)` when the caller already has it (one map serves every header of a run),
    `facts` the run's shared layouts (`p1.facts`), `names` the run's C names (a fork of
    `cnames.names_of(program)`'s registry, to claim synthesized names in)."""
    unit = doc if isinstance(doc, Unit) else None
    document: Document = unit.document if unit is not None else doc
    if unit is not None and module is None:
        module = unit.module
    module = _select_module(document, module)
    mod_name = module.name if module is not None else (unit.name if unit is not None else None)
    prefix = prefix if prefix is not None else default_prefix(mod_name)
    if owners is None:
        owners = _owners(units, prefixes or {})
    own = None
    if unit is not None:
        # The unit's own typenames take this header's prefix (it may be overridden).
        own = {id(d): prefix for d in unit.own if isinstance(d, TypeName)}
    if names is None:
        names = _standalone_names(document, unit, units, prefix, prefixes or {})
    namer = _Namer(prefix, owners, names, own)
    types = _TypeBuilder(namer, document, facts if facts is not None else Facts())
    if unit is not None:
        typenames = [d for d in unit.own if isinstance(d, TypeName)]
        includes = [f"{u}.h" for u in unit.uses]
    else:
        typenames, includes = document.typenames, []
    for tn in typenames:
        types.add(tn)
    functions = []
    if module is not None:
        fb = _FunctionBuilder(types, module)
        functions = [fb.build(f) for f in module.functions]
        functions += [fb.build(f, export=True) for f in module.exports]
    ctypes = types.emitted  # includes what the functions needed synthesized
    stem = mod_name or _path_stem(document.path)
    comment = _doc_lines(header_comment) if header_comment else _default_comment(
        stem, module is not None, unit.origin if unit else "", unit.version if unit else None)
    return CHeader(
        guard=f"{stem.upper()}_H",
        comment=comment,
        includes=includes,
        module_name=module.name if module is not None else None,
        module_doc=_doc_lines(module.docs) if module is not None else [],
        types=ctypes,
        functions=functions,
        layout_asserts=LAYOUT_ASSERTS,
    )


def _standalone_names(document: Document, unit: Unit | None, units: Sequence[Unit], prefix: str,
                      prefixes: Mapping[str, str]) -> ProgramNames:
    """The names of a header emitted on its own (not by a run): those of its units, or of
    a document taken as one unit."""
    if unit is not None:
        pool = list(units) if any(u is unit for u in units) else [*units, unit]
    else:
        pool = [Unit(_path_stem(document.path), document, list(document.definitions))]
    guest = cnames.guest_prefixes(pool, None)
    guest.update(prefixes)
    guest[pool[-1].name if unit is None else unit.name] = prefix
    names = cnames.program_names(pool, guest)
    names.registry = names.registry.fork()
    return names


def emit_c_header(doc: Document | Unit, module: Module | None = None, *, prefix: str | None = None,
                  header_comment: str | None = None, units: Sequence[Unit] = (),
                  prefixes: Mapping[str, str] | None = None,
                  owners: Mapping[int, str] | None = None, facts: Facts | None = None,
                  names: ProgramNames | None = None, generated: str = "",
                  templates: Sequence[str] = ()) -> str:
    """The C header for `module` of `doc` (default: its first module).

    `doc` may also be a `p1.unit.Unit`: then only the unit's own typenames are defined
    and the headers of the units it uses are included. `units` lists all units so that
    a foreign typename is spelled with its owner's prefix (`prefixes` maps a unit name
    to a non-default prefix). `generated` is the run's "Generated by" line (escaped for a
    C comment), `templates` the run's override folders (`templates/c/header.h.j2`).
    """
    view = build_view(doc, module, prefix=prefix, header_comment=header_comment, units=units,
                      prefixes=prefixes, owners=owners, facts=facts, names=names)
    return render("c/header.h.j2", view, templates=templates, generated=generated)


def emit_files(program) -> dict[str, str]:
    """The driver's entry point (`compiler.BACKENDS["c"]`): `<unit>.h` for every unit.

    All headers of one run sit in one folder, so a unit's `#include "<used unit>.h"`
    finds its neighbour. `--prefix` applies to every unit of the run.
    """
    return dict(iter_files(program))


def iter_files(program):
    """`emit_files`, one (path, text) at a time: a run writing OUT stages each header
    and lets it go before the next is made (`compiler.compile_into`)."""
    units = list(program.units)
    prefix = program.options.prefix
    prefixes = {u.name: prefix for u in units} if prefix else {}
    generated = program.header_line()
    owners = _owners(units, prefixes)
    facts = facts_of(program)
    base = cnames.names_of(program)
    # this back end's synthesized names go into its own copy of the run's registry
    names = ProgramNames(base.registry.fork(), dict(base.fragment_of), dict(base.case_suffixes))
    generated = " ".join(_doc_lines(generated))  # file names in it are data too
    templates = template_dirs(program)
    for unit in units:
        stem = unit.name
        comment = _default_comment(stem, unit.module is not None, unit.origin, unit.version)[:-1]
        # Every generated file starts with the run's one-line "Generated by ..." header.
        yield f"{stem}.h", emit_c_header(
            unit, prefix=prefix, header_comment="\n".join(comment), units=units, prefixes=prefixes,
            owners=owners, facts=facts, names=names, generated=generated, templates=templates)


__all__ = ["emit_c_header", "emit_files", "iter_files", "build_view", "default_prefix", "CHeader"]
