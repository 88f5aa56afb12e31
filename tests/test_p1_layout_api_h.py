"""Layouts of wasi_snapshot_preview1.witx against wasi-libc's real `wasi/api.h`.

The header (inside the installed ziglang package) asserts the witx-calculated size,
alignment and field offsets of every type with `_Static_assert`; we parse those lines
at run time and compare each with `p1.layout`. A second test goes the other way: it
writes our numbers for every typename (including tagged-union payload offsets, which
api.h does not assert) as `_Static_assert`s after `#include <wasi/api.h>` and lets the
real compiler check them for wasm32-wasi.
"""

from __future__ import annotations

import re

import pytest

from conftest import corpus_path, zig_cc, ziglang_api_h
from wit2witx.p1 import layout
from wit2witx.p1.model import (
    Document, Ref, canonical_fields, canonical_variant_cases, resolve,
)
from wit2witx.witx.reader import read_witx

_SIZEOF = re.compile(r"_Static_assert\(sizeof\(__wasi_(\w+)_t\) == (\d+)")
_ALIGNOF = re.compile(r"_Static_assert\(_Alignof\(__wasi_(\w+)_t\) == (\d+)")
_OFFSETOF = re.compile(r"_Static_assert\(offsetof\(__wasi_(\w+)_t, ([\w.]+)\) == (\d+)")


@pytest.fixture(scope="module")
def preview1() -> Document:
    return read_witx(corpus_path("witx", "preview1", "wasi_snapshot_preview1.witx"))


@pytest.fixture(scope="module")
def api_h() -> str:
    return ziglang_api_h().read_text(encoding="utf-8")


def _member_offset(ref: Ref, member: str) -> int:
    """Offset of an api.h struct member: a record field, or a variant's `tag` / `u[.case]`."""
    ty = resolve(ref)
    if canonical_fields(ty) is not None:
        return layout.field_offsets(ref)[member]
    assert canonical_variant_cases(ty) is not None, f"{ref.name} has no member {member}"
    if member == "tag":
        return 0
    assert member == "u" or member.startswith("u."), member
    return layout.payload_offset(ref)


def test_sizes_aligns_offsets_match_api_h(preview1: Document, api_h: str) -> None:
    checks = {"size": 0, "align": 0, "offset": 0}
    mismatches = []
    for pattern, what in ((_SIZEOF, "size"), (_ALIGNOF, "align")):
        for name, value in pattern.findall(api_h):
            tn = preview1.typename(name)
            assert tn is not None, f"api.h asserts on __wasi_{name}_t, we have no `{name}`"
            ours = getattr(layout.size_align(tn.type), what)
            if ours != int(value):
                mismatches.append(f"{what}({name}): api.h {value}, ours {ours}")
            checks[what] += 1
    for name, member, value in _OFFSETOF.findall(api_h):
        tn = preview1.typename(name)
        assert tn is not None, f"api.h asserts on __wasi_{name}_t, we have no `{name}`"
        ours = _member_offset(Ref(name, tn), member)
        if ours != int(value):
            mismatches.append(f"offsetof({name}, {member}): api.h {value}, ours {ours}")
        checks["offset"] += 1
    print(f"api.h assertions checked: {checks}")
    assert not mismatches, "\n".join(mismatches)
    # Guard against a silently broken parse of the header.
    assert checks["size"] >= 30 and checks["align"] == checks["size"] and checks["offset"] >= 30


_DECLARED = re.compile(r"\b__wasi_(\w+)_t;")


def _declared_in_api_h(doc: Document, api_h: str) -> list:
    """Typenames api.h has a C type for. It has none for list typenames (they are
    spelled as pointer + length) nor for `signal` (wasi-libc dropped proc_raise)."""
    declared = set(_DECLARED.findall(api_h))
    missing = [tn for tn in doc.typenames if tn.name not in declared]
    assert all(tn.type.kind == "list" or tn.name == "signal" for tn in missing), missing
    return [tn for tn in doc.typenames if tn.name in declared]


def _our_asserts(typenames: list) -> list[str]:
    lines = []
    for tn in typenames:
        c = f"__wasi_{tn.name}_t"
        ref = Ref(tn.name, tn)
        sa = layout.size_align(ref)
        lines.append(f"_Static_assert(sizeof({c}) == {sa.size}, \"size {tn.name}\");")
        lines.append(f"_Static_assert(_Alignof({c}) == {sa.align}, \"align {tn.name}\");")
        ty = resolve(ref)
        if canonical_fields(ty) is not None:
            for name, offset in layout.field_offsets(ref).items():
                lines.append(f"_Static_assert(offsetof({c}, {name}) == {offset}, \"{tn.name}.{name}\");")
        cases = canonical_variant_cases(ty)
        if cases is not None and any(case.type is not None for case in cases):
            vl = layout.variant_layout(ref)
            lines.append(f"_Static_assert(offsetof({c}, tag) == 0, \"{tn.name}.tag\");")
            lines.append(f"_Static_assert(sizeof(((({c} *)0)->tag)) == {vl.tag_size}, \"{tn.name} tag\");")
            lines.append(f"_Static_assert(offsetof({c}, u) == {vl.payload_offset}, \"{tn.name}.u\");")
    return lines


@pytest.mark.slow
def test_our_layouts_compile_against_api_h(preview1: Document, api_h: str, tmp_path) -> None:
    typenames = _declared_in_api_h(preview1, api_h)
    assert len(typenames) >= 40
    asserts = _our_asserts(typenames)
    src = tmp_path / "layout_check.c"
    src.write_text("#include <stddef.h>\n#include <wasi/api.h>\n" + "\n".join(asserts) + "\n")
    res = zig_cc("--target=wasm32-wasi", "-c", str(src), "-o", str(tmp_path / "layout_check.o"))
    print(f"compiled {len(asserts)} static asserts of our layouts against wasi/api.h")
    assert res.returncode == 0, res.stderr
    text = "\n".join(asserts)
    assert "offsetof(__wasi_prestat_t, u)" in text and "offsetof(__wasi_subscription_u_t, u)" in text  # the union payload offsets were checked


def test_a_wrong_layout_is_caught_by_the_compiler(preview1: Document, tmp_path) -> None:
    """The compile check above can fail: a deliberately wrong number is rejected."""
    src = tmp_path / "wrong.c"
    src.write_text(
        "#include <stddef.h>\n#include <wasi/api.h>\n"
        "_Static_assert(offsetof(__wasi_prestat_t, u) == 1, \"wrong\");\n"
    )
    res = zig_cc("--target=wasm32-wasi", "-c", str(src), "-o", str(tmp_path / "wrong.o"))
    assert res.returncode != 0
    assert layout.payload_offset(Ref("prestat", preview1.typename("prestat"))) != 1
