"""Reader for the component binary format, limited to what encodes a WIT package.

The layout follows the component model's Binary.md: a preamble (`\\0asm`, version
0x0d, layer 1), then sections. Only the sections a WIT package uses are decoded into
`ast` items (custom, alias, type, import, export); the others are recorded as
`Unsupported` with their position, and `types.py` reports them. Every error is a
`WasmError` carrying the byte range at fault.
"""

from __future__ import annotations

from . import ast
from .errors import WasmError

MAGIC = b"\x00asm"
COMPONENT_VERSION = b"\x0d\x00\x01\x00"

_PRIM_BY_BYTE = {
    0x7F: "bool", 0x7E: "s8", 0x7D: "u8", 0x7C: "s16", 0x7B: "u16", 0x7A: "s32",
    0x79: "u32", 0x78: "s64", 0x77: "u64", 0x76: "f32", 0x75: "f64", 0x74: "char",
    0x73: "string", 0x64: "error-context",
}
_SORTS = {0x01: "func", 0x02: "value", 0x03: "type", 0x04: "component", 0x05: "instance"}
_SECTION_NAMES = {
    1: "a core module", 2: "a core instance", 3: "a core type", 4: "a nested component",
    5: "a component instance", 8: "a canonical function", 9: "a start function",
    12: "a value",
}


def is_component(data: bytes) -> bool:
    return data[:4] == MAGIC and data[4:8] == COMPONENT_VERSION


def read_component(data: bytes) -> ast.Component:
    """Decode a whole `.wasm` file."""
    if data[:4] != MAGIC:
        raise WasmError("not a WebAssembly binary (bad magic number)", (0, min(4, len(data))))
    if data[4:8] != COMPONENT_VERSION:
        what = "a core wasm module" if data[4:8] == b"\x01\x00\x00\x00" else "an unknown version"
        raise WasmError(f"expected a component, found {what}", (4, min(8, len(data))))
    reader = _Reader(data, 8, len(data))
    items: list[ast.Decl] = []
    while not reader.at_end():
        items.extend(reader.section())
    return ast.Component(items, (0, len(data)))


# Component and instance types nest; deeper than this is refused (the text format's
# limit too), which keeps the recursive reading far from Python's recursion limit.
MAX_NESTING = 100


class _Reader:
    __slots__ = ("data", "pos", "end", "depth")

    def __init__(self, data: bytes, pos: int, end: int) -> None:
        self.data = data
        self.pos = pos
        self.end = end
        self.depth = 0

    # -- primitives -------------------------------------------------------------------------

    def at_end(self) -> bool:
        return self.pos >= self.end

    def fail(self, message: str, start: int | None = None) -> WasmError:
        start = self.pos if start is None else start
        return WasmError(message, (start, max(start + 1, self.pos)))

    def byte(self) -> int:
        if self.pos >= self.end:
            raise self.fail("unexpected end of data")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def peek(self) -> int:
        if self.pos >= self.end:
            raise self.fail("unexpected end of data")
        return self.data[self.pos]

    def u32(self) -> int:
        start = self.pos
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                break
            shift += 7
            if shift > 28:
                raise self.fail("integer representation too long", start)
        if result > 0xFFFFFFFF:
            raise self.fail("integer too large", start)
        return result

    def s33(self) -> int:
        start = self.pos
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
            if shift > 35:
                raise self.fail("integer representation too long", start)
        if b & 0x40:
            result -= 1 << shift
        return result

    def string(self) -> str:
        n = self.u32()
        start = self.pos
        if self.pos + n > self.end:
            raise self.fail("string extends past the end of its section")
        raw = self.data[start:start + n]
        self.pos += n
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise WasmError("string is not valid UTF-8", (start, start + n)) from None

    def vec(self, item) -> list:
        return [item() for _ in range(self.u32())]

    # -- sections ---------------------------------------------------------------------------

    def section(self) -> list[ast.Decl]:
        start = self.pos
        sid = self.byte()
        size = self.u32()
        body = self.pos
        if body + size > self.end:
            raise self.fail("section extends past the end of the file", start)
        self.pos = body + size
        inner = _Reader(self.data, body, body + size)
        if sid == 0:
            name = inner.string()
            return [ast.Custom(name, self.data[inner.pos:body + size], (start, body + size))]
        if sid in _SECTION_NAMES:
            return [ast.Unsupported(_SECTION_NAMES[sid], (start, body + size))]
        readers = {6: inner.alias, 7: inner.type_decl, 10: inner.import_item,
                   11: inner.export_item}
        read = readers.get(sid)
        if read is None:
            raise WasmError(f"unknown section id {sid}", (start, start + 1))
        items = inner.vec(read)
        if not inner.at_end():
            raise inner.fail("unexpected data at the end of the section")
        return items

    def import_item(self) -> ast.ImportDecl:
        start = self.pos
        name = self.extern_name()
        desc = self.extern_desc()
        return ast.ImportDecl(name, desc, None, (start, self.pos))

    def export_item(self) -> ast.ExportItem:
        start = self.pos
        name = self.extern_name()
        sort = self.sort()
        index = self.u32()
        desc = None
        flag = self.byte()
        if flag == 0x01:
            desc = self.extern_desc()
        elif flag != 0x00:
            raise self.fail(f"invalid leading byte 0x{flag:02x} for optional export type",
                            self.pos - 1)
        return ast.ExportItem(name, sort, index, desc, None, (start, self.pos))

    # -- names and descriptors ------------------------------------------------------------------

    def extern_name(self) -> ast.ExternName:
        start = self.pos
        tag = self.byte()
        if tag not in (0x00, 0x01, 0x02):
            raise self.fail(f"invalid leading byte 0x{tag:02x} for component name", start)
        name = ast.ExternName(self.string())
        if tag == 0x02:
            for _ in range(self.u32()):
                opt_start = self.pos
                opt = self.byte()
                value = self.string()
                field = {0x00: "implements", 0x01: "version_suffix", 0x02: "external_id"}.get(opt)
                if field is None:
                    raise self.fail(f"invalid leading byte 0x{opt:02x} for name option",
                                    opt_start)
                if getattr(name, field) is not None:
                    raise self.fail(f"duplicate name option `{field.replace('_', '-')}`",
                                    opt_start)
                setattr(name, field, value)
        return name

    def sort(self) -> str:
        b = self.byte()
        if b == 0x00:
            self.byte()  # the core sort; only core modules matter, and they are unsupported
            return "core"
        sort = _SORTS.get(b)
        if sort is None:
            raise self.fail(f"invalid leading byte 0x{b:02x} for sort", self.pos - 1)
        return sort

    def extern_desc(self) -> ast.ExternDesc:
        start = self.pos
        b = self.byte()
        if b == 0x00:
            if self.byte() != 0x11:
                raise self.fail("invalid core module type reference", start)
            return ast.ExternDesc("module", self.u32())
        if b == 0x01:
            return ast.ExternDesc("func", self.u32())
        if b == 0x02:
            bound = self.byte()
            return ast.ExternDesc("value", self.u32() if bound == 0x00 else self.valtype())
        if b == 0x03:
            bound = self.byte()
            if bound == 0x00:
                return ast.ExternDesc("type", ("eq", self.u32()))
            if bound == 0x01:
                return ast.ExternDesc("type", "sub-resource")
            raise self.fail(f"invalid leading byte 0x{bound:02x} for type bound", self.pos - 1)
        if b == 0x04:
            return ast.ExternDesc("component", self.u32())
        if b == 0x05:
            return ast.ExternDesc("instance", self.u32())
        raise self.fail(f"invalid leading byte 0x{b:02x} for external kind", start)

    def alias(self) -> ast.AliasDecl:
        start = self.pos
        sort = self.sort()
        kind = self.byte()
        if kind == 0x00:
            target: tuple = ("export", self.u32(), self.string())
        elif kind == 0x01:
            self.u32()
            self.string()
            return ast.AliasDecl("core", ("core-export",), None, (start, self.pos))
        elif kind == 0x02:
            target = ("outer", self.u32(), self.u32())
        else:
            raise self.fail(f"invalid leading byte 0x{kind:02x} for alias target", self.pos - 1)
        return ast.AliasDecl(sort, target, None, (start, self.pos))

    # -- types ----------------------------------------------------------------------------

    def type_decl(self) -> ast.TypeDecl:
        start = self.pos
        ty = self.type_def()
        return ast.TypeDecl(ty, None, (start, self.pos))

    def type_def(self) -> ast.TypeDef:
        start = self.pos
        b = self.byte()
        if b in (0x40, 0x43):
            params = self.vec(lambda: (self.string(), self.valtype()))
            return ast.FuncType(params, self.result_list(), is_async=b == 0x43)
        if b in (0x41, 0x42):
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise self.fail("type nesting too deep", start)
            decls = self.vec(self.component_decl if b == 0x41 else self.instance_decl)
            self.depth -= 1
            return (ast.ComponentTypeDef if b == 0x41 else ast.InstanceTypeDef)(decls)
        if b in (0x3F, 0x3E):
            raise self.fail("resource definitions belong to components, not WIT packages", start)
        self.pos = start
        return self.defined()

    def result_list(self) -> ast.ValType | None:
        b = self.byte()
        if b == 0x00:
            return self.valtype()
        if b == 0x01 and self.byte() == 0x00:
            return None
        raise self.fail("invalid function result list", self.pos - 1)

    def component_decl(self) -> ast.Decl:
        start = self.pos
        if self.peek() == 0x03:
            self.byte()
            name = self.extern_name()
            return ast.ImportDecl(name, self.extern_desc(), None, (start, self.pos))
        return self.instance_decl()

    def instance_decl(self) -> ast.Decl:
        start = self.pos
        b = self.byte()
        if b == 0x00:
            raise self.fail("core types inside component types are not supported", start)
        if b == 0x01:
            ty = self.type_def()
            return ast.TypeDecl(ty, None, (start, self.pos))
        if b == 0x02:
            return self.alias()
        if b == 0x04:
            name = self.extern_name()
            return ast.ExportDecl(name, self.extern_desc(), None, (start, self.pos))
        raise self.fail(f"invalid leading byte 0x{b:02x} for a type declaration", start)

    def valtype(self) -> ast.ValType:
        b = self.peek()
        prim = _PRIM_BY_BYTE.get(b)
        if prim is not None:
            self.pos += 1
            return prim
        start = self.pos
        index = self.s33()
        if index < 0:
            raise self.fail("invalid value type", start)
        return index

    def opt_valtype(self) -> ast.ValType | None:
        b = self.byte()
        if b == 0x00:
            return None
        if b == 0x01:
            return self.valtype()
        raise self.fail(f"invalid leading byte 0x{b:02x} for optional value type", self.pos - 1)

    def defined(self) -> ast.Defined:
        start = self.pos
        b = self.byte()
        prim = _PRIM_BY_BYTE.get(b)
        if prim is not None:
            return ast.Defined("primitive", prim)
        if b == 0x72:
            return ast.Defined("record", self.vec(lambda: (self.string(), self.valtype())))
        if b == 0x71:
            return ast.Defined("variant", self.vec(self.variant_case))
        if b == 0x70:
            return ast.Defined("list", self.valtype())
        if b == 0x67:
            element = self.valtype()
            return ast.Defined("fixed-list", (element, self.u32()))
        if b == 0x6F:
            return ast.Defined("tuple", self.vec(self.valtype))
        if b == 0x6E:
            return ast.Defined("flags", self.vec(self.string))
        if b == 0x6D:
            return ast.Defined("enum", self.vec(self.string))
        if b == 0x6B:
            return ast.Defined("option", self.valtype())
        if b == 0x6A:
            ok = self.opt_valtype()
            return ast.Defined("result", (ok, self.opt_valtype()))
        if b == 0x69:
            return ast.Defined("own", self.u32())
        if b == 0x68:
            return ast.Defined("borrow", self.u32())
        if b == 0x66:
            return ast.Defined("stream", self.opt_valtype())
        if b == 0x65:
            return ast.Defined("future", self.opt_valtype())
        if b == 0x63:
            key = self.valtype()
            return ast.Defined("map", (key, self.valtype()))
        raise self.fail(f"invalid leading byte 0x{b:02x} for a component type", start)

    def variant_case(self) -> tuple[str, ast.ValType | None]:
        name = self.string()
        ty = self.opt_valtype()
        if self.byte() != 0x00:  # the retired `refines` field must be absent
            raise self.fail("variant case `refines` is not supported", self.pos - 1)
        return name, ty
