"""The WITX printer: read → print → read gives an equal model, and printing is a fixed point."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import CORPUS, corpus_path
from wit2witx.emit.json import model_to_json
from wit2witx.emit.witx import format_type, print_witx
from wit2witx.p1 import layout
from wit2witx.p1.model import (
    Bool, Builtin, Case, ConstPointer, Document, Enum, EnumCase, Expected, Field, Flag, Flags,
    Function, Handle, Import, IntRepr, List, Module, OptionType, Param, Pointer, Record, Ref,
    String, Tuple, TypeName, Union, Variant,
)
from wit2witx.witx.reader import read_witx, read_witx_text

WITX_FILES = sorted(
    str(p.relative_to(CORPUS / "witx")) for p in (CORPUS / "witx").glob("*/*.witx")
) or ["preview1/wasi_snapshot_preview1.witx"]


def _count_docs(doc: Document) -> int:
    """Doc strings anywhere in the document (to check none is lost)."""
    n = 0
    for d in doc.definitions:
        n += bool(d.docs)
        if isinstance(d, Module):
            n += sum(bool(i.docs) for i in d.imports)
            for f in d.functions:
                n += bool(f.docs) + sum(bool(p.docs) for p in f.params + f.results)
        elif isinstance(d, TypeName):
            ty = d.type
            for attr in ("fields", "cases", "flags"):
                n += sum(bool(m.docs) for m in getattr(ty, attr, ()) or ())
    return n


@pytest.mark.parametrize("rel", WITX_FILES)
def test_corpus_witx_round_trips(rel: str, tmp_path: Path) -> None:
    path = corpus_path("witx", *rel.split("/"))
    doc = read_witx(path)
    assert doc.typenames, "every corpus file defines (or uses) typenames"
    text = print_witx(doc)
    out = tmp_path / "printed.witx"
    out.write_text(text, encoding="utf-8")
    again = read_witx(out)
    assert again == doc
    assert print_witx(again) == text  # fixed point
    assert _count_docs(again) == _count_docs(doc) > 0
    # Same layouts after the round trip (they are computed, so compare for real).
    for a, b in zip(doc.typenames, again.typenames):
        assert layout.size_align(a.type) == layout.size_align(b.type), a.name


def test_equality_sees_real_differences(tmp_path: Path) -> None:
    """The round-trip check is not vacuous: a changed doc or tag makes models differ."""
    base = read_witx_text("(typename $e (enum (@witx tag u8) $a $b))")
    assert base == read_witx_text("(typename $e\n  (enum (@witx tag u8)\n    $a\n    $b))")
    assert base != read_witx_text("(typename $e (enum (@witx tag u16) $a $b))")
    assert base != read_witx_text(";;; doc\n(typename $e (enum (@witx tag u8) $a $b))")
    assert base != read_witx_text("(typename $e (enum (@witx tag u8) $a $c))")


def _every_kind() -> Document:
    """A model built by hand (as the WIT lowering would), with every type kind."""
    u8, u32 = Builtin("u8"), Builtin("u32")
    errno = TypeName("errno", Enum(IntRepr.U16, [EnumCase("success", "No error.\n"), EnumCase("inval")]),
                     "Error codes.\n")
    fd = TypeName("fd", Handle(), "A file descriptor.\n")
    size = TypeName("size", Builtin("usize"))
    perms = TypeName("perms", Flags(IntRepr.U8, [Flag("read", "Readable.\n"), Flag("write")]))
    point = TypeName("point", Record([Field("x", Builtin("s32"), "The x.\n"), Field("y", Builtin("f64"))]))
    tag = TypeName("kind", Enum(IntRepr.U8, [EnumCase("a"), EnumCase("b")]))
    shape = TypeName("shape", Variant(IntRepr.U8, [Case("a", Ref("point", point), "Case a.\n"), Case("b")],
                                      tag_name=Ref("kind", tag)))
    either = TypeName("either", Union(IntRepr.U8, [Case("a", u8, "An u8.\n"), Case("b", Ref("point", point))],
                                      tag_name=Ref("kind", tag)))
    pair = TypeName("pair", Tuple([u32, Ref("size", size)]))
    maybe = TypeName("maybe", OptionType(Ref("point", point)))
    flag = TypeName("flag", Bool())
    text = TypeName("text", String(), "Multi\n\n  indented\nlines.\n")
    bytes_ = TypeName("bytes", List(u8))
    ptr = TypeName("ptr", Pointer(ConstPointer(Builtin("char8"))))
    res = TypeName("res", Expected(Ref("pair", pair), Ref("errno", errno)))
    read = Function(
        "read",
        [Param("fd", Ref("fd", fd), "The descriptor.\n"), Param("buf", Pointer(u8)),
         Param("buf_len", Ref("size", size))],
        [Param("error", Expected(Ref("size", size), Ref("errno", errno)), "Bytes read.\n")],
        docs="Read bytes.\n",
    )
    stop = Function("stop", [Param("code", u32)], [], noreturn=True)
    module = Module("demo", [Import("memory", docs="Memory.\n")], [read, stop], "A demo.\n")
    return Document([errno, fd, size, perms, point, tag, shape, either, pair, maybe, flag, text,
                     bytes_, ptr, res, module])


def _link(doc: Document) -> Document:
    """Resolve the hand-built refs by re-reading: a printed model must read back."""
    return read_witx_text(print_witx(doc), "built.witx")


def test_every_kind_prints_and_reads_back() -> None:
    built = _every_kind()
    text = print_witx(built, header="generated by a test\nsecond line")
    assert text.startswith(";; generated by a test\n;; second line\n\n")
    doc = read_witx_text(text, "built.witx")
    assert print_witx(doc, header="generated by a test\nsecond line") == text
    # Everything but the option (which has no WITX shorthand) keeps its kind.
    kinds = {tn.name: tn.type.kind for tn in doc.typenames}
    assert kinds == {tn.name: tn.type.kind for tn in built.typenames} | {"maybe": "variant"}
    # The option is written as the variant it is laid out as: same layout.
    for a, b in zip(built.typenames, doc.typenames):
        if a.name != "maybe":
            assert a == b, a.name
    maybe = doc.typename("maybe")
    assert [c.name for c in maybe.type.cases] == ["none", "some"]
    # Docs survive, including blank and indented lines.
    assert doc.typename("text").docs == "Multi\n\n  indented\nlines.\n"
    assert doc.module("demo") == built.module("demo")
    assert doc.module("demo").imports_memory


def test_layout_of_option_matches_its_printed_variant() -> None:
    built = _every_kind()
    doc = _link(built)
    point = Ref("point", built.typename("point"))
    assert layout.size_align(OptionType(point)) == layout.size_align(doc.typename("maybe").type)


def test_format_type_is_one_line() -> None:
    doc = _link(_every_kind())
    assert format_type(doc.typename("res").type) == "(expected $pair (error $errno))"
    assert format_type(doc.typename("ptr").type) == "(@witx pointer (@witx const_pointer (@witx char8)))"
    assert "\n" not in format_type(doc.typename("shape").type)


def test_print_module_alone_and_with_uses(tmp_path: Path) -> None:
    doc = _link(_every_kind())
    (tmp_path / "types.witx").write_text(print_witx(doc.typenames))
    module_text = print_witx(doc.module("demo"), uses=["types.witx"])
    assert module_text.startswith('(use "types.witx")\n\n')
    (tmp_path / "demo.witx").write_text(module_text)
    assert read_witx(tmp_path / "demo.witx") == doc


def test_model_json_is_deterministic_and_complete() -> None:
    doc = _link(_every_kind())
    a = model_to_json(doc)
    b = model_to_json(_link(_every_kind()))
    assert a == b
    names = [t["name"] for t in a["typenames"]]
    assert names == [tn.name for tn in doc.typenames]
    point = a["typenames"][names.index("point")]
    assert (point["size"], point["align"]) == (16, 8)
    read = a["modules"][0]["functions"][0]
    assert [p["role"] for p in read["core"]["params"]] == ["handle", "pointer", "value", "out_ptr"]


# --- property: any valid model prints to WITX that reads back equal ---------------------------


_NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
_DOC_LINE = st.from_regex(r"([!-~][ -~]{0,30}[!-~])?", fullmatch=True)  # printable, no edge spaces
_DOCS = st.one_of(st.just(""), st.lists(_DOC_LINE, min_size=1, max_size=3).map(
    lambda lines: "".join(f"{line}\n" for line in lines)))
_BUILTIN_NAMES = ("u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "f32", "f64",
                  "char", "usize", "char8")
_REPRS = st.sampled_from(list(IntRepr))


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for n in names:
        seen.setdefault(n, None)
    return list(seen)


@st.composite
def _anon_type(draw, refs: list, depth: int = 0):
    """A type allowed in any position (no anonymous enum/flags/record/union/handle)."""
    simple = [st.sampled_from(_BUILTIN_NAMES).map(Builtin), st.just(String()), st.just(Bool())]
    if refs:
        simple.append(st.sampled_from(refs).map(Ref.of))
    if depth >= 2:
        return draw(st.one_of(simple))
    inner = _anon_type(refs, depth + 1)
    opt_inner = st.one_of(st.none(), inner)
    return draw(st.one_of(
        *simple,
        inner.map(List), inner.map(Pointer), inner.map(ConstPointer),
        st.lists(inner, max_size=3).map(Tuple),
        st.tuples(opt_inner, opt_inner).map(lambda oe: Expected(*oe)),
    ))


@st.composite
def _named_type(draw, refs: list):
    kind = draw(st.sampled_from(["anon", "enum", "flags", "record", "variant", "union", "handle"]))
    if kind == "anon":
        return draw(_anon_type(refs))
    if kind == "handle":
        return Handle()
    names = _unique(draw(st.lists(_NAMES, min_size=1, max_size=4)))
    if kind == "enum":
        return Enum(draw(_REPRS), [EnumCase(n, draw(_DOCS)) for n in names])
    if kind == "flags":
        return Flags(draw(_REPRS), [Flag(n, draw(_DOCS)) for n in names])
    if kind == "record":
        return Record([Field(n, draw(_anon_type(refs)), draw(_DOCS)) for n in names])
    if kind == "variant":
        opt = st.one_of(st.none(), _anon_type(refs))
        return Variant(draw(_REPRS), [Case(n, draw(opt), draw(_DOCS)) for n in names])
    types = draw(st.lists(_anon_type(refs), max_size=3))
    return Union(IntRepr.U32, [Case(str(i), t, draw(_DOCS)) for i, t in enumerate(types)],
                 tag_written=False)


@st.composite
def _documents(draw) -> Document:
    names = _unique(draw(st.lists(_NAMES, min_size=1, max_size=6)))
    typenames: list[TypeName] = []
    for name in names:
        typenames.append(TypeName(name, draw(_named_type(list(typenames))), draw(_DOCS)))
    # Results must fit the P1 ABI: an expected of named types, or a named scalar.
    funcs = []
    for fname in _unique(draw(st.lists(_NAMES, max_size=3))):
        params = [Param(p, draw(_anon_type(typenames)), draw(_DOCS))
                  for p in _unique(draw(st.lists(_NAMES.map(lambda n: "p_" + n), max_size=3)))]
        results = []
        # A tuple ok type is split into one out-pointer per member, which must be
        # named; keep tuples out of `ok` rather than generate their members twice.
        ok_choices = [tn for tn in typenames if tn.resolved.kind != "tuple"]
        if draw(st.booleans()):
            ok = draw(st.one_of(st.none(), *([st.sampled_from(ok_choices).map(Ref.of)] if ok_choices else [])))
            err = draw(st.one_of(st.none(), st.sampled_from(typenames).map(Ref.of)))
            results.append(Param("r_error", Expected(ok, err)))
        funcs.append(Function(fname, params, results, draw(st.booleans()), draw(_DOCS)))
    module_name = "M" + draw(_NAMES)  # upper case: cannot clash with a typename
    imports = [Import("memory", docs=draw(_DOCS))] if draw(st.booleans()) else []
    return Document([*typenames, Module(module_name, imports, funcs, draw(_DOCS))])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=_documents())
def test_any_model_round_trips(doc: Document) -> None:
    text = print_witx(doc)
    again = read_witx_text(text, "generated.witx")
    assert again == doc
    assert print_witx(again) == text
    for a, b in zip(doc.typenames, again.typenames):
        assert layout.size_align(a.type) == layout.size_align(b.type)
