"""Size, alignment and offsets of P1 types in linear memory (wasm32), by the witx rules.

These are the numbers wasi-libc's `wasi/api.h` checks with `_Static_assert`:

- integers, floats and `char` have their natural size and alignment (char: 4);
  `usize`, pointers and handles are 4 bytes;
- `string` / `(list T)` are a (pointer, length) pair: size 8, align 4;
- records and tuples are C structs: each member at the next offset aligned for it,
  the struct aligned to its most aligned member and its size rounded up to that;
- flags are their repr integer;
- enum, variant, union, expected, bool and option are tagged unions: the tag (its
  repr; u32 for expected and bool) then the payload. The payload of *every* case
  starts at one shared offset — the tag size rounded up to the largest payload
  alignment (`payload_offset`); the size is the largest (tag + payload) rounded up.
"""

from __future__ import annotations

from .model import (
    Builtin, Case, ConstPointer, Field, Flags, Handle, IntRepr, List, Pointer, Ref, String,
    Type, TypeRef, canonical_fields, canonical_tag, canonical_variant_cases, node, resolve,
)


@node(hashable=True)
class SizeAlign:
    size: int
    align: int


@node(hashable=True)
class FieldLayout:
    """One member of a record/tuple with its byte offset."""

    name: str
    type: TypeRef
    offset: int
    size: int
    align: int
    docs: str = ""


@node(hashable=True)
class VariantLayout:
    """How a tagged union sits in memory."""

    tag: IntRepr
    tag_size: int
    payload_offset: int
    size: int
    align: int
    cases: tuple[Case, ...]


_BUILTIN = {
    "u8": SizeAlign(1, 1), "s8": SizeAlign(1, 1), "char8": SizeAlign(1, 1),
    "u16": SizeAlign(2, 2), "s16": SizeAlign(2, 2),
    "u32": SizeAlign(4, 4), "s32": SizeAlign(4, 4), "usize": SizeAlign(4, 4),
    "f32": SizeAlign(4, 4), "char": SizeAlign(4, 4),
    "u64": SizeAlign(8, 8), "s64": SizeAlign(8, 8), "f64": SizeAlign(8, 8),
}
POINTER = SizeAlign(4, 4)  # wasm32
LIST = SizeAlign(8, 4)  # pointer + length

# Cache keyed by the identity of a TypeName: the same named type is laid out once even
# when many records embed it. An entry holds the TypeName too, so that a cache that
# outlives one call (`p1.facts.Facts`) can never mistake a new object for a freed one.
_Cache = dict


def align_to(offset: int, alignment: int) -> int:
    """The first offset >= `offset` that is a multiple of `alignment`."""
    if alignment <= 1:
        return offset
    return (offset + alignment - 1) // alignment * alignment


def repr_size_align(repr_: IntRepr) -> SizeAlign:
    return _REPR[repr_]


_REPR = {r: SizeAlign(r.size, r.size) for r in IntRepr}


def size_align(tref: TypeRef, _cache: _Cache | None = None) -> SizeAlign:
    """Size and alignment of a type reference."""
    cache = {} if _cache is None else _cache
    if isinstance(tref, Ref):
        target = tref.target
        if target is None:
            raise ValueError(f"unresolved type reference `{tref.name}`")
        hit = cache.get(id(target))
        if hit is None or hit[0] is not target:
            hit = cache[id(target)] = (target, size_align(target.type, cache))
        return hit[1]
    return _type_size_align(tref, cache)


def size(tref: TypeRef) -> int:
    return size_align(tref).size


def align(tref: TypeRef) -> int:
    return size_align(tref).align


def _type_size_align(ty: Type, cache: _Cache) -> SizeAlign:
    if isinstance(ty, Builtin):
        return _BUILTIN[ty.name]
    if isinstance(ty, (String, List)):
        return LIST
    if isinstance(ty, (Pointer, ConstPointer, Handle)):
        return POINTER
    if isinstance(ty, Flags):
        return repr_size_align(ty.repr)
    fields = canonical_fields(ty)
    if fields is not None:
        return _struct(fields, cache)[0]
    cases = canonical_variant_cases(ty)
    if cases is not None:
        tag = canonical_tag(ty)
        assert tag is not None
        return _variant(tag, cases, cache)[0]
    raise TypeError(f"not a P1 type: {ty!r}")


def _struct(fields: list[Field], cache: _Cache) -> tuple[SizeAlign, list[FieldLayout]]:
    offset = 0
    max_align = 0
    out = []
    for f in fields:
        sa = size_align(f.type, cache)
        offset = align_to(offset, sa.align)
        out.append(FieldLayout(f.name, f.type, offset, sa.size, sa.align, f.docs))
        offset += sa.size
        max_align = max(max_align, sa.align)
    # An empty tuple has no alignment requirement of its own; report 1 (C's minimum).
    max_align = max(max_align, 1)
    return SizeAlign(align_to(offset, max_align), max_align), out


def _variant(tag: IntRepr, cases: list[Case], cache: _Cache) -> tuple[SizeAlign, int]:
    """A variant is laid out as the C struct `{ tag; union { payloads } u; }`.

    witx sizes each case with its payload at that payload's own alignment, which a C
    union cannot express: `variant { a(u64), b(option<string>) }` would put `b` at 4
    while the union puts it at 8. Every payload here sits at one shared offset (the
    tag aligned to the largest payload alignment), so guest headers and host glue agree.
    Where all payloads share one alignment, as everywhere in WASI preview0/preview1,
    this is exactly the witx layout.
    """
    tag_sa = repr_size_align(tag)
    payload_align = 1
    payload_size = 0
    for case in cases:
        if case.type is not None:
            payload = size_align(case.type, cache)
            payload_align = max(payload_align, payload.align)
            payload_size = max(payload_size, payload.size)
    align = max(tag_sa.align, payload_align)
    payload_offset = align_to(tag_sa.size, payload_align)
    return SizeAlign(align_to(payload_offset + payload_size, align), align), payload_offset


def record_layout(tref: TypeRef, _cache: _Cache | None = None) -> list[FieldLayout]:
    """Members of a record or tuple with their offsets (tuple members are "0", "1", ...)."""
    ty = resolve(tref)
    fields = canonical_fields(ty)
    if fields is None:
        raise TypeError(f"not a record or tuple: {ty.kind}")
    return _struct(fields, {} if _cache is None else _cache)[1]


def field_offsets(tref: TypeRef) -> dict[str, int]:
    """Member name → byte offset, for a record or tuple."""
    return {f.name: f.offset for f in record_layout(tref)}


def variant_layout(tref: TypeRef, _cache: _Cache | None = None) -> VariantLayout:
    """Tag, payload offset, size and align of an enum/variant/union/expected/bool/option."""
    ty = resolve(tref)
    cases = canonical_variant_cases(ty)
    tag = canonical_tag(ty)
    if cases is None or tag is None:
        raise TypeError(f"not a variant-like type: {ty.kind}")
    sa, payload_offset = _variant(tag, cases, {} if _cache is None else _cache)
    return VariantLayout(tag, tag.size, payload_offset, sa.size, sa.align, tuple(cases))


def payload_offset(tref: TypeRef) -> int:
    return variant_layout(tref).payload_offset


__all__ = [
    "SizeAlign", "FieldLayout", "VariantLayout", "align_to", "size_align", "size", "align",
    "record_layout", "field_offsets", "variant_layout", "payload_offset", "repr_size_align",
    "POINTER", "LIST",
]

