"""Property: whatever WIT types go in, the lowered P1 layout is sound.

Hypothesis writes random WIT interfaces (named records, variants, enums, flags,
resources and aliases built from primitives and anonymous list/option/result/tuple/
fixed-length types), loads them with the real front end, lowers them, and checks the
layout invariants with `p1.layout`, the core signatures with `p1.abi`, and that the
printed WITX reads back to the same document.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

import wit2witx
from wit2witx.emit.witx import print_unit
from wit2witx.p1 import abi, layout, model
from wit2witx.p1.lower import lower
from wit2witx.witx.reader import read_witx

PRIMITIVES = ("bool", "u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64",
              "f32", "f64", "char", "string")
CORE = {"i32", "i64", "f32", "f64"}


@st.composite
def type_expr(draw, named: list[str], resources: list[str], depth: int) -> str:
    kinds = ["primitive", "primitive"]
    if named:
        kinds.append("named")
    if resources:
        kinds.append("own")
    if depth > 0:
        kinds += ["list", "option", "result", "tuple", "fixed"]
    kind = draw(st.sampled_from(kinds))
    inner = lambda: draw(type_expr(named, resources, depth - 1))  # noqa: E731
    if kind == "primitive":
        return draw(st.sampled_from(PRIMITIVES))
    if kind == "named":
        return draw(st.sampled_from(named))
    if kind == "own":
        return f"own<{draw(st.sampled_from(resources))}>"
    if kind == "list":
        return f"list<{inner()}>"
    if kind == "option":
        return f"option<{inner()}>"
    if kind == "fixed":
        return f"list<{inner()}, {draw(st.integers(1, 3))}>"
    if kind == "tuple":
        return "tuple<" + ", ".join(inner() for _ in range(draw(st.integers(1, 3)))) + ">"
    ok = inner() if draw(st.booleans()) else "_"
    err = inner() if draw(st.booleans()) else None
    if err is None:
        return "result" if ok == "_" else f"result<{ok}>"
    return f"result<{ok}, {err}>"


@st.composite
def wit_interface(draw) -> str:
    named: list[str] = []  # types a later definition may use (not resources: own<> them)
    resources: list[str] = []
    body: list[str] = []
    for i in range(draw(st.integers(1, 6))):
        name = f"t{i}"
        kind = draw(st.sampled_from(["record", "variant", "enum", "flags", "resource", "alias"]))
        expr = lambda: draw(type_expr(named, resources, 2))  # noqa: E731
        if kind == "record":
            fields = ", ".join(f"x{j}: {expr()}" for j in range(draw(st.integers(1, 4))))
            body.append(f"record {name} {{ {fields} }}")
        elif kind == "variant":
            cases = []
            for j in range(draw(st.integers(1, 4))):
                cases.append(f"c{j}({expr()})" if draw(st.booleans()) else f"c{j}")
            body.append(f"variant {name} {{ {', '.join(cases)} }}")
        elif kind == "enum":
            cases = ", ".join(f"c{j}" for j in range(draw(st.integers(1, 5))))
            body.append(f"enum {name} {{ {cases} }}")
        elif kind == "flags":
            flags = ", ".join(f"g{j}" for j in range(draw(st.integers(1, 40))))
            body.append(f"flags {name} {{ {flags} }}")
        elif kind == "resource":
            body.append(f"resource {name};")
            resources.append(name)
            continue
        else:
            body.append(f"type {name} = {expr()};")
        named.append(name)
    for i in range(draw(st.integers(0, 3))):
        param = draw(type_expr(named, resources, 2))
        res = draw(st.one_of(st.none(), type_expr(named, resources, 2)))
        arrow = "" if res is None else f" -> {res}"
        body.append(f"fn{i}: func(p: {param}){arrow};")
    lines = "\n".join(f"  {line}" for line in body)
    return f"package prop:test;\n\ninterface gen {{\n{lines}\n}}\n"


def nested_types(tref: model.TypeRef, out: list[model.Type]) -> None:
    """Every anonymous type value inside `tref` (Refs are checked at their typename)."""
    if isinstance(tref, model.Ref):
        return
    out.append(tref)
    for attr in ("element", "pointee", "ok", "err", "some"):
        inner = getattr(tref, attr, None)
        if inner is not None:
            nested_types(inner, out)
    fields = model.canonical_fields(tref)
    for f in fields or ():
        nested_types(f.type, out)
    for case in getattr(tref, "cases", None) or ():
        if getattr(case, "type", None) is not None:
            nested_types(case.type, out)


def check_layout(ty: model.Type) -> None:
    sa = layout.size_align(ty)
    assert sa.align in (1, 2, 4, 8)
    assert sa.size % sa.align == 0
    if isinstance(ty, model.Handle):
        assert (sa.size, sa.align) == (4, 4)
    if model.canonical_fields(ty) is not None:
        end = 0
        for f in layout.record_layout(ty):
            assert f.offset >= end, "members overlap or are out of order"
            assert f.offset % f.align == 0
            end = f.offset + f.size
        assert end <= sa.size
    if model.canonical_variant_cases(ty) is not None:
        vl = layout.variant_layout(ty)
        assert vl.payload_offset >= vl.tag_size
        assert vl.align == sa.align and vl.size == sa.size
        for case in vl.cases:
            if case.type is not None:
                # witx sizes each case as its tag, then its payload at the payload's
                # own alignment (see test_variant_payloads_fit_at_the_shared_offset)
                payload = layout.size_align(case.type)
                assert vl.payload_offset % payload.align == 0
                assert layout.align_to(vl.tag_size, payload.align) + payload.size <= vl.size


@settings(max_examples=60, derandomize=True, deadline=None)
@given(wit_interface())
def test_lowered_layouts_are_sound(wit_text):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gen.wit"
        path.write_text(wit_text, encoding="utf-8")
        lowered = lower(wit2witx.load([path]))
        (unit,) = lowered.units
        for tn in unit.document.typenames:
            values: list[model.Type] = []
            nested_types(tn.type, values)
            for ty in values or [tn.resolved]:
                check_layout(ty)
            check_layout(tn.resolved)
        for func in unit.module.functions:
            sig = abi.core_signature(func)
            assert set(sig.param_types + sig.result_types) <= CORE
            assert sig.result_types == ["i32"]
            for p in func.params:
                values = []
                nested_types(p.type, values)
                for ty in values:
                    check_layout(ty)
        witx = Path(tmp) / f"{unit.name}.witx"
        witx.write_text(print_unit(unit), encoding="utf-8")
        assert read_witx(witx) == unit.document


def test_variant_payloads_fit_at_the_shared_offset(tmp_path):
    """Every payload fits after the tag at `payload_offset`, where C puts the union.

    With payloads of different alignments (u64 and option<string>), the per-case witx
    sizing would give 16 bytes while the union puts `b` at 8 + 12 = 20: the layout
    must size the variant as the C struct the header declares (24).
    """
    path = tmp_path / "v.wit"
    path.write_text("package v:v;\ninterface i {\n"
                    "  variant t { a(u64), b(option<string>) }\n}\n", encoding="utf-8")
    (unit,) = lower(wit2witx.load([path])).units
    tn = unit.document.typename("t")
    vl = layout.variant_layout(tn.type)
    for case in vl.cases:
        if case.type is not None:
            assert vl.payload_offset + layout.size(case.type) <= vl.size, case.name


def test_mixed_alignment_variant_header_compiles(tmp_path):
    """The guest header's _Static_asserts hold for a variant with mixed payload alignments."""
    from conftest import zig_cc

    path = tmp_path / "v.wit"
    path.write_text("package v:v;\ninterface i {\n"
                    "  variant t { a(u64), b(option<string>), c(u8) }\n"
                    "  f: func(x: t) -> t;\n}\n", encoding="utf-8")
    files = wit2witx.compile([path], emit=["c"])
    (name,) = files
    (tmp_path / name).write_text(files[name])
    probe = tmp_path / "probe.c"
    probe.write_text(f'#include "{name}"\n')
    proc = zig_cc("--target=wasm32-wasi", "-std=c11", "-Wall", "-Wextra", "-Werror",
                  "-c", "-o", str(tmp_path / "probe.o"), str(probe))
    assert proc.returncode == 0, proc.stderr
