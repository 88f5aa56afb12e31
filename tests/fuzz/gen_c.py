"""Generate the libFuzzer harness's stubs and function table for the C host glue.

Everything comes from the calling contract as data (`Facts.call_plan`) and the host-c
view models (`emit.host_c.build_units`): which functions exist, their raw core
arguments, which of them are out-pointers, the caller buffer and the error payload,
which statuses each may return, which handles a call can issue. For every type a result
can hold, the generator writes two C functions:

- `fz_fill_<n>`: a plausible value in guest layout, drawn from the input (strings and
  lists reserved in the caller buffer, so that they overflow it when long; handles of
  new stub objects). A stub decodes it with the glue's own `<module>_decode_<t>` into
  the host value it returns, and sometimes corrupts it (an enum value past the last
  case, a variant tag, a list pointer outside the buffer), as a buggy implementation
  would.
- `fz_walk_<n>`: reads a result back from guest memory after a successful call: every
  handle in it is reported (`fz_told`), every list must lie in the caller buffer, every
  tag and flag must be valid, every string the glue encoded (outside lists, whose
  elements the implementation lays out) well-formed UTF-8. A stub's strings are mostly
  ASCII, rarely any bytes (a buggy implementation: the glue must refuse them).

A stub also checks what it was given: handles live objects of their type, spans
readable in full, and every element of a span valid (`Gen.valid`: a live handle of its
type, an enum value, tag, flag bits and char in range, the lists in it inside guest
memory, at any depth) and every string well-formed UTF-8 (`fz_utf8`, a decoder of the
harness's own) — the glue checks all of them before it calls the implementation.

`python tests/fuzz/gen_c.py OUT PATH...` writes the glue (host-c) of every PATH (a WIT
package folder, WASI packages with their deps/) and `fz_gen.c` to OUT.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from wit2witx.compiler import Options, build_program, compile as compile_files
from wit2witx.emit.host_c import build_units
from wit2witx.p1 import layout
from wit2witx.p1.callplan import (
    DropSlot, ErrorPayloadSlot, HandleSlot, OutSlot, ResultKind, SlotKind, SpanSlot,
    handle_typename, type_facts,
)
from wit2witx.p1.facts import facts_of
from wit2witx.p1.model import (
    Bool, Builtin, Enum, Flags, Handle, List, Pointer, ConstPointer, Ref, String,
    canonical_fields, canonical_variant_cases, is_enum_like, resolve,
)

_INT_STORE = {1: "fz_st8", 2: "w2w_st_u16", 4: "w2w_st_u32", 8: "w2w_st_u64"}
_INT_LOAD = {1: "(uint64_t)({})[0]", 2: "w2w_ld_u16({})", 4: "w2w_ld_u32({})", 8: "w2w_ld_u64({})"}
_BUILTIN_SIZE = {"u8": 1, "s8": 1, "char8": 1, "u16": 2, "s16": 2, "u32": 4, "s32": 4,
                 "usize": 4, "f32": 4, "char": 4, "u64": 8, "s64": 8, "f64": 8}
_ARG_KIND = {"int32_t": "FZ_ARG_I32", "int64_t": "FZ_ARG_I64", "float": "FZ_ARG_F32",
             "double": "FZ_ARG_F64"}
_ARG_CAST = {"int32_t": "(int32_t)a[{i}]", "int64_t": "(int64_t)a[{i}]",
             "float": "fz_as_f32(a[{i}])", "double": "fz_as_f64(a[{i}])"}
_BUILTIN_C = ("int8_t", "uint8_t", "int16_t", "uint16_t", "int32_t", "uint32_t", "int64_t",
              "uint64_t", "float", "double", "w2w_gaddr_t")


#: what a stub says when it gets a string that is not well-formed UTF-8
NOT_UTF8 = '    fz_fail("the implementation got a string that is not UTF-8", "");'


def _string_span(slot, func) -> bool:
    """A span the guest passes as a string: `string`, `const_pointer char8` + length (the
    Python glue's `str`), or a WIT `string` parameter's `const_pointer u8` (marked
    `Param.utf8`); a `pointer char8` is the host's to write, `list char8` bytes."""
    ty = resolve(slot.pointer.type)
    if isinstance(ty, String) or any(p.name == slot.name and p.utf8 for p in func.params):
        return True
    pointee = resolve(ty.pointee) if isinstance(ty, ConstPointer) else None
    return isinstance(pointee, Builtin) and pointee.name == "char8"


def _as_ref(tn):
    """The body of a typename, or a reference to it when it is a resource (`(handle)`):
    its handles are of that resource type."""
    return Ref(tn.name, tn) if isinstance(tn.type, Handle) else tn.type


@dataclass
class Unit:
    """One P1 module with its glue view model, from whichever program first had it."""

    program: object
    unit: object
    view: object


@dataclass
class Gen:
    descriptors: dict[int, str] = field(default_factory=dict)  # id(handle TypeName) -> C
    htypes: dict[str, object] = field(default_factory=dict)     # host cname -> HType
    facts: dict[str, object] = field(default_factory=dict)      # host cname -> Facts
    fills: dict[int, int] = field(default_factory=dict)         # id(TypeName) -> n
    walks: dict[int, int] = field(default_factory=dict)
    out: list[str] = field(default_factory=list)                # function definitions
    protos: list[str] = field(default_factory=list)
    makers: dict[str, str] = field(default_factory=dict)        # host cname -> maker name
    meta: list[dict] = field(default_factory=list)              # per function, for seeds

    # ---------------------------------------------------------------- descriptors

    def descriptor(self, tref) -> str | None:
        htn = handle_typename(tref)
        return self.descriptors.get(id(htn)) if htn is not None else None

    # ---------------------------------------------------------------- fill

    def fill_fn(self, tn) -> str:
        key = id(tn)
        if key not in self.fills:
            n = self.fills[key] = len(self.fills)
            name = f"fz_fill_{n}"
            self.protos.append(f"static void {name}(uint8_t *img, w2w_buf *buf, w2w_handles *tbl, w2w_handles *real);")
            body = self.fill(_as_ref(tn), "img", "tbl", 0)
            self.out.append("\n".join([f"static void {name}(uint8_t *img, w2w_buf *buf, w2w_handles *tbl, w2w_handles *real)",
                                       "{", "    (void)buf; (void)tbl; (void)real;",
                                       *("    " + s for s in body), "}", ""]))
        return f"fz_fill_{self.fills[key]}"

    def fill(self, tref, img: str, tbl: str, d: int) -> list[str]:
        desc = self.descriptor(tref)
        if desc is not None:
            return [f"w2w_st_u32({img}, fz_issue({tbl}, &{desc}));"]
        if isinstance(tref, Ref):
            return [f"{self.fill_fn(tref.target)}({img}, buf, {tbl}, real);"]
        ty = tref
        if isinstance(ty, Handle):
            return [f"w2w_st_u32({img}, fz_u32());"]
        if isinstance(ty, Builtin):
            size = _BUILTIN_SIZE[ty.name]
            value = "fz_char()" if ty.name == "char" else f"fz_u{size * 8}()"
            return [f"{_INT_STORE[size]}({img}, {value});"]
        if isinstance(ty, (Pointer, ConstPointer)):
            return [f"w2w_st_u32({img}, fz_u32());"]
        if isinstance(ty, Flags):
            mask = (1 << len(ty.flags)) - 1
            size = ty.repr.size
            return [f"{_INT_STORE[size]}({img}, fz_rare() ? fz_u{size * 8}() : (fz_u64() & 0x{mask:x}ull));"]
        if isinstance(ty, (String, List)):
            elem = Builtin("char8") if isinstance(ty, String) else ty.element
            sa = layout.size_align(elem)
            v = f"l{d}"
            inner = [f"{v}p[{v}i] = fz_text();"] if isinstance(ty, String) else \
                self.fill(elem, f"{v}p + {v}i * {sa.size}u", "real", d + 1)
            return ["{",
                    f"    uint32_t {v}n = fz_len(), {v}i, {v}g = 0;",
                    f"    uint8_t *{v}p = buf != NULL ? (uint8_t *)w2w_buf_alloc(buf, {v}n * {sa.size}u, {sa.align}u) : NULL;",
                    f"    if (buf == NULL) {v}n = 0;",
                    f"    if ({v}p != NULL) {{",
                    f"        {v}g = buf->gaddr + (uint32_t)({v}p - buf->data);",
                    f"        for ({v}i = 0; {v}i < {v}n; {v}i++) {{",
                    *("            " + s for s in inner),
                    "        }",
                    "    }",
                    f"    w2w_st_u32({img}, {v}g);",
                    f"    w2w_st_u32({img} + 4, {v}n);",
                    "}"]
        fields = canonical_fields(ty)
        if fields is not None:
            lines: list[str] = []
            for fl in layout.record_layout(ty):
                lines += self.fill(fl.type, f"{img} + {fl.offset}", tbl, d)
            return lines
        cases = canonical_variant_cases(ty)
        if cases is not None:
            vl = layout.variant_layout(ty)
            v = f"t{d}"
            lines = ["{", f"    uint32_t {v} = fz_tag({len(cases)}u);",
                     f"    {_INT_STORE[vl.tag_size]}({img}, {v});", f"    switch ({v}) {{"]
            for i, c in enumerate(cases):
                if c.type is not None:
                    lines += [f"    case {i}:",
                              *("        " + s for s in self.fill(c.type, f"{img} + {vl.payload_offset}", tbl, d + 1)),
                              "        break;"]
            lines += ["    default:", "        break;", "    }", "}"]
            return lines
        raise NotImplementedError(type(ty).__name__)

    # ---------------------------------------------------------------- walk

    def walk_fn(self, tn, in_list: bool = False) -> str:
        key = (id(tn), in_list)
        if key not in self.walks:
            n = self.walks[key] = len(self.walks)
            name = f"fz_walk_{n}"
            self.protos.append(f"static void {name}(const uint8_t *img);")
            body = self.walk(_as_ref(tn), "img", 0, in_list)
            self.out.append("\n".join([f"static void {name}(const uint8_t *img)", "{", "    (void)img;",
                                       *("    " + s for s in body), "}", ""]))
        return f"fz_walk_{self.walks[key]}"

    def walk(self, tref, img: str, d: int, in_list: bool = False) -> list[str]:
        """`in_list`: inside a list's elements, which the implementation laid out (the
        glue encodes the list, not its elements: their strings are not its to check)."""
        desc = self.descriptor(tref)
        if desc is not None:
            return [f"fz_told(w2w_ld_u32({img}), &{desc});"]
        if isinstance(tref, Ref):
            return [f"{self.walk_fn(tref.target, in_list)}({img});"]
        ty = tref
        if isinstance(ty, Flags):
            mask = (1 << len(ty.flags)) - 1
            load = _INT_LOAD[ty.repr.size].format(img)
            return [f"if (({load} & ~0x{mask:x}ull) != 0)",
                    '    fz_fail("a result holds an undefined flag", "");']
        if isinstance(ty, (String, List)):
            elem = Builtin("char8") if isinstance(ty, String) else ty.element
            sa = layout.size_align(elem)
            inner = self.walk(elem, f"{'q%d' % d} + {'i%d' % d} * {sa.size}u", d + 1, True)
            if isinstance(ty, String) and not in_list:
                return ["{", f"    uint32_t n{d} = w2w_ld_u32({img} + 4);",
                        f"    const uint8_t *q{d} = fz_result_span(w2w_ld_u32({img}), n{d}, 1u);",
                        f"    if (!fz_utf8(q{d}, n{d}))",
                        '        fz_fail("a result holds a string that is not UTF-8", "");', "}"]
            if not inner:
                return [f"(void)fz_result_span(w2w_ld_u32({img}), w2w_ld_u32({img} + 4), {sa.size}u);"]
            return ["{",
                    f"    uint32_t n{d} = w2w_ld_u32({img} + 4), i{d};",
                    f"    const uint8_t *q{d} = fz_result_span(w2w_ld_u32({img}), n{d}, {sa.size}u);",
                    f"    for (i{d} = 0; i{d} < n{d}; i{d}++) {{",
                    *("        " + s for s in inner),
                    "    }", "}"]
        fields = canonical_fields(ty)
        if fields is not None:
            lines: list[str] = []
            for fl in layout.record_layout(ty):
                lines += self.walk(fl.type, f"{img} + {fl.offset}", d, in_list)
            return lines
        cases = canonical_variant_cases(ty)
        if cases is not None:
            vl = layout.variant_layout(ty)
            load = _INT_LOAD[vl.tag_size].format(img)
            v = f"t{d}"
            lines = ["{", f"    uint64_t {v} = {load};",
                     f"    if ({v} >= {len(cases)}u)", '        fz_fail("a result holds an invalid tag", "");',
                     f"    switch ({v}) {{"]
            for i, c in enumerate(cases):
                if c.type is not None:
                    inner = self.walk(c.type, f"{img} + {vl.payload_offset}", d + 1, in_list)
                    if inner:
                        lines += [f"    case {i}:", *("        " + s for s in inner), "        break;"]
            lines += ["    default:", "        break;", "    }", "}"]
            return lines
        return []

    # ---------------------------------------------------------------- valid inputs

    def valid(self, tref, img: str, d: int) -> list[str]:
        """Statements failing the campaign when the element at `img` (guest layout, in
        a span the implementation got) is not valid; none when every value is."""
        bad = '    fz_fail("the implementation got an invalid list element", "");'
        desc = self.descriptor(tref)
        if desc is not None:
            return [f"if (w2w_handles_slot(host->handles, w2w_ld_u32({img}), &{desc}) == NULL)", bad]
        ty = resolve(tref)
        if isinstance(ty, Handle):  # of no resource type: the glue refuses those
            return []
        if isinstance(ty, Builtin):
            return [f"if (!w2w_valid_char(w2w_ld_u32({img})))", bad] if ty.name == "char" else []
        if isinstance(ty, Flags):
            mask = (1 << len(ty.flags)) - 1
            return [f"if (({_INT_LOAD[ty.repr.size].format(img)} & ~0x{mask:x}ull) != 0)", bad]
        if isinstance(ty, (String, List)):
            elem = Builtin("char8") if isinstance(ty, String) else ty.element
            sa = layout.size_align(elem)
            inner = self.valid(elem, f"v{d} + (size_t)j{d} * {sa.size}u", d + 1)
            text = [f"    if (!fz_utf8(v{d}, m{d}))", "    " + NOT_UTF8] if isinstance(ty, String) else []
            return ["{",
                    f"    uint32_t m{d} = w2w_ld_u32({img} + 4), j{d};",
                    f"    const uint8_t *v{d} = w2w_mem_ptr(&host->mem, w2w_ld_u32({img}), (uint64_t)m{d} * {sa.size}u, {sa.align}u);",
                    f"    if (v{d} == NULL)", "    " + bad, *text,
                    f"    for (j{d} = 0; j{d} < m{d}; j{d}++) {{", *("        " + x for x in inner), "    }",
                    f"    (void)j{d};", "}"]
        fields = canonical_fields(ty)
        if fields is not None:
            return [x for fl in layout.record_layout(ty) for x in self.valid(fl.type, f"{img} + {fl.offset}", d)]
        if not isinstance(ty, (Pointer, ConstPointer)):
            vl = layout.variant_layout(ty)
            lines = [f"switch ({_INT_LOAD[vl.tag_size].format(img)}) {{"]
            for i, c in enumerate(vl.cases):
                inner = self.valid(c.type, f"{img} + {vl.payload_offset}", d + 1) if c.type is not None else []
                lines += [f"case {i}:", *("    " + x for x in inner), "    break;"]
            return lines + ["default:", bad, "}"]
        return []

    # ---------------------------------------------------------------- makers

    def maker(self, cname: str) -> str:
        """`fz_make_<k>(real, buf, mem, ret)`: a host value of type `cname` for `*ret`."""
        if cname in self.makers:
            return self.makers[cname]
        name = self.makers[cname] = f"fz_make_{len(self.makers)}"
        ht = self.htypes.get(cname)
        lines = [f"static int {name}(w2w_handles *real, w2w_buf *buf, const w2w_mem *mem, {cname} *ret)", "{"]
        if ht is None:  # a C builtin: any value
            lines += ["    (void)real; (void)buf; (void)mem;",
                      "    { uint64_t v = fz_u64(); memcpy(ret, &v, sizeof *ret); }" if cname != "bool"
                      else "    *ret = (fz_u8() & 1u) != 0;",
                      "    return 0;", "}", ""]
            self.out.append("\n".join(lines))
            return name
        tn = ht.typename
        size = max(ht.guest_size, 1)
        lines += [f"    uint8_t img[{size}];",
                  "    memset(img, 0, sizeof img);",
                  f"    {self.fill_fn(tn)}(img, buf, &fz_scratch, real);",
                  "    if (fz_fill_failed)", "        return -1;",
                  f"    if ({ht.decode_name}(mem, &fz_scratch, img, ret) != 0)", "        return -1;"]
        val = resolve(tn.type)
        tf = type_facts(tn.type, self.facts[cname])
        # a buggy implementation's values (only where they hold no handles: the glue could
        # not know which objects a value with a corrupt tag holds)
        elem = Builtin("char8") if isinstance(val, String) else getattr(val, "element", None)
        if isinstance(val, (String, List)) and not self.walk(elem, "e", 0):
            # (only lists of plain elements: the elements are the implementation's to
            # encode, so a list moved onto other elements is junk, not a glue fault)
            lines += ["    if (fz_rare())", "        ret->ptr = (uint8_t *)ret->ptr + (int8_t)fz_u8();",
                      "    if (fz_rare())", "        ret->len += fz_u8();"]
        elif not tf.holds_handles and not isinstance(val, Bool):
            if isinstance(val, (Flags, Enum)) or is_enum_like(val) or isinstance(val, Builtin):
                lines += ["    if (fz_rare()) {", "        uint64_t v = fz_u64();",
                          "        memcpy(ret, &v, sizeof *ret);", "    }"]
            elif canonical_variant_cases(val) is not None:
                lines += ["    if (fz_rare())", "        ret->tag = (uint8_t)fz_u8();"]
        lines += ["    return 0;", "}", ""]
        self.protos.append(f"static int {name}(w2w_handles *real, w2w_buf *buf, const w2w_mem *mem, {cname} *ret);")
        self.out.append("\n".join(lines))
        return name


def collect(paths: list[Path]) -> list[Unit]:
    """The units of every program, each module once (dependencies recur)."""
    seen: dict[str, Unit] = {}
    for path in paths:
        program = build_program([str(path)], Options(emit=("host-c",)))
        for u, hu in zip(program.units, build_units(program)):
            if hu.module not in seen:
                seen[hu.module] = Unit(program, u, hu)
    return list(seen.values())


def _impl_params(view_fn) -> list:
    return view_fn.impl_params[1:]  # after `host`


def generate(units: list[Unit]) -> tuple[str, list[dict]]:
    g = Gen()
    programs = {id(u.program): u.program for u in units}
    for program in programs.values():
        facts = facts_of(program)
        for hu in build_units(program):
            for ht in hu.types:
                if ht.descriptor and ht.typename is not None:
                    g.descriptors[id(ht.typename)] = ht.descriptor
                g.htypes.setdefault(ht.cname, ht)
                g.facts.setdefault(ht.cname, facts)
    stubs: list[str] = []
    table: list[str] = []
    calls: list[str] = []
    index = 0
    for u in units:
        if u.unit.module is None:
            continue
        facts = facts_of(u.program)
        host = f"fz_host_{u.view.prefix}"
        for func, hf in zip(u.unit.module.functions, u.view.functions):
            plan = facts.call_plan(func)
            if plan.result.kind is not ResultKind.STATUS or not plan.result.status.complete:
                continue
            stubs.append(stub(g, index, u, func, hf, plan))
            table.append(entry(g, index, u, hf, plan, calls, host))
            index += 1
    hosts = [u for u in units if u.unit.module is not None]
    includes = [f'#include "{u.view.module}_host.h"' for u in units]
    init = ["void fz_hosts_init(w2w_handles *handles)", "{"]
    for u in hosts:
        init.append(f"    if (!{u.view.prefix}host_init(&fz_host_{u.view.prefix}, handles, NULL))")
        init.append(f'        fz_fail("host_init", "{u.view.module}");')
    init += ["}", ""]
    return "\n".join([
        "/* Generated by tests/fuzz/gen_c.py: stubs and function table of the fuzz harness. */",
        *includes, '#include "fz_runtime.h"', "",
        "static inline void fz_st8(uint8_t *p, uint64_t v) { p[0] = (uint8_t)v; }",
        "static inline float fz_as_f32(uint64_t v) { uint32_t u = (uint32_t)v; float f; memcpy(&f, &u, 4); return f; }",
        "static inline double fz_as_f64(uint64_t v) { double d; memcpy(&d, &v, 8); return d; }",
        "",
        *[f"static {u.view.host_t} fz_host_{u.view.prefix};" for u in hosts], "",
        *g.protos, "", *g.out, *stubs, *calls, *init,
        "const fz_fn fz_fns[] = {", *table, "};",
        f"const uint32_t fz_nfns = {index};", ""]), g.meta


def stub(g: Gen, index: int, u: Unit, func, hf, plan) -> str:
    params = _impl_params(hf)
    decls = ", ".join([f"{hf.impl_params[0].decl}"] + [p.decl for p in params])
    lines = [f"{hf.impl_return} {hf.impl_name}({decls})", "{", "    int32_t st = 0;", "    (void)host; (void)st;"]
    lines += [f"    (void){p.name};" for p in params]
    where = f'"{u.view.module}.{hf.name}"'
    # the implementation's inputs: handles must be live objects of their type, spans
    # must be readable in full
    pos = 0
    for slot in plan.inputs:
        if slot.kind in (SlotKind.HANDLE, SlotKind.DROP):
            desc = g.descriptor(Ref(slot.resource.name, slot.resource)) if slot.resource else None
            if slot.kind is SlotKind.DROP:
                lines += [f"    fz_obj_release({params[pos].name}, &{desc}, {where});",
                          f"    if (fz_current == NULL || fz_current->drop_type != &{desc})",
                          "        return 0; /* a rollback releasing what a failed call issued */",
                          f"    fz_stub_enter({index}u);",
                          "    return fz_stub_leave(fz_rare() ? fz_pick_status(fz_current) : 0);", "}", ""]
                return "\n".join(lines)
            lines.append(f"    fz_obj_check({params[pos].name}, {'&' + desc if desc else 'NULL'}, {where});")
            pos += 1
        elif slot.kind is SlotKind.SPAN:
            lines.append(f"    fz_touch({params[pos].name}, (uint64_t){params[pos + 1].name} * {slot.element.size}u);")
            if _string_span(slot, func):
                lines += [f"    if (!fz_utf8((const uint8_t *){params[pos].name}, {params[pos + 1].name}))",
                          NOT_UTF8]
            valid = g.valid(slot.element.type, f"(const uint8_t *){params[pos].name} + (size_t)i * {slot.element.size}u", 1)
            if valid:
                lines += ["    {", "        uint32_t i;", f"        for (i = 0; i < {params[pos + 1].name}; i++) {{",
                          *("            " + x for x in valid), "        }", "    }"]
            pos += 2
        else:
            pos += 1
    lines += [f"    fz_stub_enter({index}u);", "    st = fz_pick_status(fz_current);"]
    buf = next((p.name for p in params if p.ctype.startswith("w2w_buf")), "NULL")
    rets = [p for p in params[pos:] if p.name.startswith("ret")]
    errp = next((p for p in params[pos:] if p.name.startswith("error_payload")), None)
    if rets:
        lines += ["    fz_scratch_begin();", "    if (st == 0 || fz_rare()) {"]
        for p in rets:
            mk = g.maker(p.ctype.rstrip(" *"))
            lines += [f"        if ({mk}(host->handles, {buf}, &host->mem, {p.name}) != 0)",
                      f"            st = {_glue(plan, 'bad_value')};"]
        lines += ["    }", "    if (st != 0)", "        fz_scratch_discard();"]
    if errp is not None:
        errors = _iface_errors(plan)
        cond = " || ".join(f"st == {s}" for s in errors) or "0"
        mk = g.maker(errp.ctype.rstrip(" *"))
        lines += [f"    if ({cond}) {{", "        fz_scratch_begin();",
                  f"        if ({mk}(host->handles, {buf}, &host->mem, {errp.name}) != 0) {{",
                  "            fz_scratch_discard();", f"            st = {_glue(plan, 'bad_value')};",
                  "        }", "    }"]
    lines += ["    return fz_stub_leave(st);", "}", ""]
    return "\n".join(lines)


def _glue(plan, name: str) -> int:
    return plan.result.status.glue_value(name)


def _iface_errors(plan) -> list[int]:
    st = plan.result.status
    return [st.cases.index(c) for c in st.interface_errors]


def entry(g: Gen, index: int, u: Unit, hf, plan, calls: list[str], host: str) -> str:
    core = hf.core_params
    assert len(core) <= 16, hf.name
    args = ", ".join(_ARG_CAST[p.ctype.strip()].format(i=i) for i, p in enumerate(core))
    call = f"fz_call_{index}"
    ret = "return " if hf.call_return != "void" else ""
    calls.append("\n".join([f"static int32_t {call}(const w2w_mem *mem, const uint64_t *a)", "{",
                            "    (void)a;",
                            f"    {ret}{hf.call_name}(&{host}, mem{', ' + args if args else ''});",
                            *([] if ret else ["    return 0;"]), "}", ""]))
    positions: dict[int, int] = {}
    at = 0
    for slot in plan.slots:
        positions[id(slot)] = at
        at += len(slot.core)
    buf = plan.result.buffer
    errp = plan.result.error_payload
    outs = plan.result.outs
    assert len(outs) <= 4, hf.name
    st = plan.result.status
    mask = sum(1 << s for s in _iface_errors(plan))
    assert len(st.cases) <= 64
    drop = next((s for s in plan.slots if isinstance(s, DropSlot)), None)
    drop_desc = g.descriptor(Ref(drop.resource.name, drop.resource)) if drop else None
    kinds = ", ".join(_ARG_KIND[p.ctype.strip()] for p in core) or "0"
    out_args = ", ".join(str(positions[id(o)]) for o in outs) or "0"
    out_sizes = ", ".join(f"{o.value.size}u" for o in outs) or "0"
    out_walks = ", ".join(_walker(g, o.value.type) for o in outs) or "NULL"
    name = f"{u.view.module}.{hf.name}"
    g.meta.append(_meta(g, name, core, plan, positions))
    return (f'    {{ "{name}", {call}, {len(core)}, {{ {kinds} }}, {len(st.cases)}, 0x{mask:x}ull, '
            f"{_glue(plan, 'buffer_too_small')}, {_glue(plan, 'bad_handle')}, "
            f"{_glue(plan, 'bad_pointer')}, {_glue(plan, 'bad_value')}, "
            f"{positions[id(buf)] if buf else -1}, {positions[id(buf)] + 1 if buf else -1}, "
            f"{positions[id(buf)] + 2 if buf else -1}, {positions[id(errp)] if errp else -1}, "
            f"{errp.value.size if errp else 0}u, {_walker(g, errp.value.type) if errp else 'NULL'}, "
            f"{len(outs)}, {{ {out_args} }}, {{ {out_sizes} }}, {{ {out_walks} }}, "
            f"{'&' + drop_desc if drop_desc else 'NULL'} }},")


def _meta(g: Gen, name: str, core, plan, positions: dict[int, int]) -> dict:
    """What the seed corpus builder needs: each core argument's role, and the resource a
    function hands out through its first out-pointer (a constructor, for seeds)."""
    roles = ["value"] * len(core)
    kinds = [_ARG_KIND[p.ctype.strip()][len("FZ_ARG_"):].lower() for p in core]
    for slot in plan.slots:
        at = positions[id(slot)]
        if slot.kind in (SlotKind.HANDLE, SlotKind.DROP):
            roles[at] = "handle:" + (g.descriptor(Ref(slot.resource.name, slot.resource)) or "") \
                if slot.resource else "handle:"
        elif slot.kind is SlotKind.SPAN:
            roles[at:at + 2] = ["span", "length"]
        elif slot.kind is SlotKind.BUFFER:
            roles[at:at + 3] = ["span", "buffer_length", "pointer"]
        elif slot.kind in (SlotKind.OUT, SlotKind.ERROR_PAYLOAD, SlotKind.BY_REF, SlotKind.POINTER):
            roles[at] = "pointer"
    outs = plan.result.outs
    makes = g.descriptor(outs[0].value.type) if outs else None
    return {"name": name, "kinds": kinds, "roles": roles, "makes": makes}


def _walker(g: Gen, tref) -> str:
    if isinstance(tref, Ref) and g.descriptor(tref) is None:
        return g.walk_fn(tref.target)
    # an anonymous or handle type: a walker of its own
    from wit2witx.p1.model import TypeName
    tn = TypeName("fz_anon", tref)
    g._keep = getattr(g, "_keep", []) + [tn]  # ids stay unique while the generator runs
    return g.walk_fn(tn)


def write(out: Path, paths: list[Path]) -> list[str]:
    """The glue of every package and `fz_gen.c` into `out`; the glue's `.c` files."""
    out.mkdir(parents=True, exist_ok=True)
    units = collect(paths)
    sources = []
    for path in paths:
        for name, text in compile_files([str(path)], emit=("host-c",)).items():
            (out / name).write_text(text)
    for u in units:
        sources.append(f"{u.view.module}_host.c")
    g_text, meta = generate(units)
    (out / "fz_gen.c").write_text(g_text)
    (out / "fz_meta.json").write_text(json.dumps(meta, indent=1))
    return sources


if __name__ == "__main__":
    for s in write(Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]]):
        print(s)
