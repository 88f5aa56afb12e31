"""The core wasm signature of a P1 function: the witx "interface → core" lowering.

Parameters (`role` says what each core value means to a back end):

- integers, `char`, floats → one value of their wasm type (i32 for ≤32-bit, i64, f32,
  f64) — role `value`;
- `(@witx pointer T)` / `(@witx const_pointer T)` → i32, roles `pointer` /
  `const_pointer`;
- `(handle)` → i32 `handle`;
- flags → their repr (i64 for u64, else i32) — `flags`;
- payload-free variants (enum, bool, ...) → i32 holding the case index — `enum`;
- `string` / `(list T)` → two i32s, `list_ptr` then `list_len` (named `x` and `x_len`);
- records, tuples and variants with payloads → i32 address of the value — `by_ref`.

Results: at most one. A scalar, pointer, handle or flags result is returned directly.
An `(expected T? (error E?))` result returns its tag (i32, or i64 for a u64 tag — in
practice the error enum, 0 meaning success) — role `status`; when `T` is present its
value is written through out-pointers appended to the params — role `out_ptr`, named
`retptr0`, ...: one per tuple member if `T` is a tuple, otherwise one. An enum-like
result is returned as its tag — role `enum`.

`result_error(params, results)` is the witx "Preview1 ABI" validity check the reader
applies (at most one result, named types in results, ...).
"""

from __future__ import annotations

import enum

from .model import (
    Builtin, ConstPointer, Flags, Function, Handle, IntRepr, List, Param, Pointer, Record,
    Ref, String, Tuple, TypeRef, canonical_tag, canonical_variant_cases, is_enum_like, node,
    resolve,
)


class WasmType(str, enum.Enum):
    I32 = "i32"
    I64 = "i64"
    F32 = "f32"
    F64 = "f64"


#: `.value` of each, without the enum property's cost (the back ends ask per parameter)
_TYPE_NAME = {t: t.value for t in WasmType}


class Role(str, enum.Enum):
    VALUE = "value"
    POINTER = "pointer"
    CONST_POINTER = "const_pointer"
    HANDLE = "handle"
    FLAGS = "flags"
    ENUM = "enum"
    LIST_PTR = "list_ptr"
    LIST_LEN = "list_len"
    BY_REF = "by_ref"
    OUT_PTR = "out_ptr"
    STATUS = "status"


@node(hashable=True)
class CoreParam:
    """One core wasm parameter.

    `source` is the interface param (or, for `out_ptr`, result) it comes from; `type`
    is that param's type — for `out_ptr` the type written through the pointer, for
    `list_ptr`/`list_len` the list/string type.
    """

    name: str
    wasm_type: WasmType
    role: Role
    source: str
    type: TypeRef


@node(hashable=True)
class CoreResult:
    name: str
    wasm_type: WasmType
    role: Role
    source: str
    type: TypeRef


@node(hashable=True)
class CoreSignature:
    params: tuple[CoreParam, ...]
    results: tuple[CoreResult, ...]

    @property
    def param_types(self) -> list[str]:
        return [_TYPE_NAME[p.wasm_type] for p in self.params]

    @property
    def result_types(self) -> list[str]:
        return [_TYPE_NAME[r.wasm_type] for r in self.results]

    @property
    def out_params(self) -> list[CoreParam]:
        return [p for p in self.params if p.role is Role.OUT_PTR]

    def to_wat(self) -> str:
        """`(param i32 i32) (result i32)`-style text (empty parts left out)."""
        parts = []
        if self.params:
            parts.append("(param " + " ".join(self.param_types) + ")")
        if self.results:
            parts.append("(result " + " ".join(self.result_types) + ")")
        return " ".join(parts)

    def to_json(self) -> dict:
        def one(v: CoreParam | CoreResult) -> dict:
            return {"name": v.name, "type": v.wasm_type.value, "role": v.role.value, "source": v.source}

        return {"params": [one(p) for p in self.params], "results": [one(r) for r in self.results]}


_SCALAR_WASM = {
    "u8": WasmType.I32, "s8": WasmType.I32, "char8": WasmType.I32,
    "u16": WasmType.I32, "s16": WasmType.I32,
    "u32": WasmType.I32, "s32": WasmType.I32, "usize": WasmType.I32, "char": WasmType.I32,
    "u64": WasmType.I64, "s64": WasmType.I64,
    "f32": WasmType.F32, "f64": WasmType.F64,
}


def repr_wasm_type(repr_: IntRepr) -> WasmType:
    return WasmType.I64 if repr_ is IntRepr.U64 else WasmType.I32


def _param_values(p: Param) -> list[CoreParam]:
    ty = resolve(p.type)
    if isinstance(ty, Builtin):
        return [CoreParam(p.name, _SCALAR_WASM[ty.name], Role.VALUE, p.name, p.type)]
    if isinstance(ty, Pointer):
        return [CoreParam(p.name, WasmType.I32, Role.POINTER, p.name, p.type)]
    if isinstance(ty, ConstPointer):
        return [CoreParam(p.name, WasmType.I32, Role.CONST_POINTER, p.name, p.type)]
    if isinstance(ty, Handle):
        return [CoreParam(p.name, WasmType.I32, Role.HANDLE, p.name, p.type)]
    if isinstance(ty, Flags):
        return [CoreParam(p.name, repr_wasm_type(ty.repr), Role.FLAGS, p.name, p.type)]
    if isinstance(ty, (String, List)):
        return [
            CoreParam(p.name, WasmType.I32, Role.LIST_PTR, p.name, p.type),
            CoreParam(f"{p.name}_len", WasmType.I32, Role.LIST_LEN, p.name, p.type),
        ]
    # witx passes every variant-shaped value in one i32 (even a u64-tagged enum):
    # the case index when no case has a payload, else the value's address.
    if is_enum_like(ty):
        return [CoreParam(p.name, WasmType.I32, Role.ENUM, p.name, p.type)]
    return [CoreParam(p.name, WasmType.I32, Role.BY_REF, p.name, p.type)]


def _result_values(r: Param, first_out: int) -> tuple[list[CoreResult], list[CoreParam]]:
    """Core results, and out-pointer params, for the single interface result `r`."""
    ty = resolve(r.type)
    if isinstance(ty, Builtin):
        return [CoreResult(r.name, _SCALAR_WASM[ty.name], Role.VALUE, r.name, r.type)], []
    if isinstance(ty, Pointer):
        return [CoreResult(r.name, WasmType.I32, Role.POINTER, r.name, r.type)], []
    if isinstance(ty, ConstPointer):
        return [CoreResult(r.name, WasmType.I32, Role.CONST_POINTER, r.name, r.type)], []
    if isinstance(ty, Handle):
        return [CoreResult(r.name, WasmType.I32, Role.HANDLE, r.name, r.type)], []
    if isinstance(ty, Flags):
        return [CoreResult(r.name, repr_wasm_type(ty.repr), Role.FLAGS, r.name, r.type)], []
    cases = canonical_variant_cases(ty)
    tag = canonical_tag(ty)
    if cases is None or tag is None:
        raise ValueError(f"a `{ty.kind}` cannot be a function result in the P1 ABI")
    if is_enum_like(ty):
        return [CoreResult(r.name, repr_wasm_type(tag), Role.ENUM, r.name, r.type)], []
    status = CoreResult(r.name, repr_wasm_type(tag), Role.STATUS, r.name, r.type)
    ok = cases[0].type
    if ok is None:
        return [status], []
    ok_ty = resolve(ok)
    members = ok_ty.types if isinstance(ok_ty, Tuple) else [ok]
    outs = [
        CoreParam(f"retptr{first_out + i}", WasmType.I32, Role.OUT_PTR, r.name, member)
        for i, member in enumerate(members)
    ]
    return [status], outs


def core_signature(func: Function, shared: dict | None = None) -> CoreSignature:
    """The core wasm params/results of a P1 function (see the module docstring).

    `shared` (one dict per run, `p1.facts.Facts`) makes equal core values one object:
    many are the same from function to function (`buf`, `buf_len`, a handle `self`,
    `retptr0` of a named type), and a large input has millions of them."""
    params: list[CoreParam] = []
    for p in func.params:
        params.extend(_param_values(p))
    results: list[CoreResult] = []
    for r in func.results:
        rs, outs = _result_values(r, len([p for p in params if p.role is Role.OUT_PTR]))
        results.extend(rs)
        params.extend(outs)
    if shared is None:
        return CoreSignature(tuple(params), tuple(results))
    return CoreSignature(tuple(_one_of(v, shared) for v in params),
                         tuple(_one_of(v, shared) for v in results))


def _one_of(value: CoreParam | CoreResult, shared: dict) -> CoreParam | CoreResult:
    """The object in `shared` equal to `value` if its type is named, a scalar or a
    pointer: the lowering shares those type objects between functions, so equal values
    have the very same type (an anonymous type is each use's own: a back end may name
    it after where it occurs). The entry holds the type, so its id is never reused
    while `shared` lives."""
    if not isinstance(value.type, (Ref, Builtin, Pointer)):
        return value
    key = (type(value), value.name, value.role, value.source, id(value.type))
    return shared.setdefault(key, value)


def result_error(params: list[Param], results: list[Param]) -> str | None:
    """Why these params/results are not valid in the Preview1 ABI, or None if they are."""
    del params  # every parameter type is representable
    if len(results) > 1:
        return "more than one result"
    if not results:
        return None
    tref = results[0].type
    ty = resolve(tref)
    if isinstance(ty, (Builtin, Handle, Pointer, ConstPointer, Flags)):
        return None
    if isinstance(ty, (Record, Tuple, String, List)):
        return "invalid return type"
    cases = canonical_variant_cases(ty)
    if cases is None or len(cases) != 2 or cases[0].name != "ok" or cases[1].name != "err":
        return "invalid return type"
    ok, err = cases[0].type, cases[1].type
    if ok is not None:
        ok_ty = resolve(ok)
        members = ok_ty.types if isinstance(ok_ty, Tuple) else [ok]
        if any(not isinstance(m, Ref) for m in members):
            return "only named types are allowed in results"
    if err is not None and not isinstance(err, Ref):
        return "only named types are allowed in results"
    return None


__all__ = [
    "WasmType", "Role", "CoreParam", "CoreResult", "CoreSignature", "core_signature",
    "result_error", "repr_wasm_type",
]

