"""The WITX reader: every form, docs, `use`, and precise errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import check_witx_refused, corpus_path
from wit2witx.diagnostics import Wit2WitxError, WitxError
from wit2witx.p1 import layout
from wit2witx.p1.model import (
    Bool, Builtin, ConstPointer, Enum, Expected, Flags, Handle, IntRepr, List, Pointer,
    Record, Ref, String, Tuple, Union, Variant, resolve,
)
from wit2witx.witx.reader import read_witx, read_witx_files, read_witx_text


def _error(text: str, path: str = "bad.witx") -> WitxError:
    with pytest.raises(WitxError) as info:
        read_witx_text(text, path)
    return info.value


def _at(err: WitxError) -> tuple[int, int]:
    span = err.diagnostic.span
    assert span is not None
    return span.line, span.col


# --- every form reads into the right surface kind ---------------------------------------


ALL_FORMS = """
(typename $u8 u8)
(typename $sz (@witx usize))
(typename $c8 (@witx char8))
(typename $ch char)
(typename $s string)
(typename $b bool)
(typename $h (handle))
(typename $l (list $u8))
(typename $p (@witx pointer $c8))
(typename $cp (@witx const_pointer u8))
(typename $r (record (field $a u8) (field $b u64)))
(typename $t (tuple u8 $sz))
(typename $e (enum (@witx tag u8) $x $y))
(typename $f (flags (@witx repr u16) $x $y))
(typename $v (variant (@witx tag u16) (case $x u32) (case $y)))
(typename $un (union (@witx tag $e) u8 $r))
(typename $ex (expected $r (error $e)))
(typename $ex2 (expected (error)))
(@witx const $u8 $answer 0x2a)
(module $m
  (import "memory" (memory))
  (@interface func (export "f")
    (param $a $l)
    (result $r (expected (tuple $u8 $sz) (error $e)))
  )
  (@interface func (export "g") (@witx noreturn))
)
"""


def test_every_form_keeps_its_surface_kind() -> None:
    doc = read_witx_text(ALL_FORMS)
    kinds = {tn.name: type(tn.type) for tn in doc.typenames}
    assert kinds == {
        "u8": Builtin, "sz": Builtin, "c8": Builtin, "ch": Builtin, "s": String, "b": Bool,
        "h": Handle, "l": List, "p": Pointer, "cp": ConstPointer, "r": Record, "t": Tuple,
        "e": Enum, "f": Flags, "v": Variant, "un": Union, "ex": Expected, "ex2": Expected,
    }
    assert doc.typename("sz").type.name == "usize"
    assert doc.typename("f").type.repr is IntRepr.U16
    assert doc.typename("e").type.tag is IntRepr.U8
    un = doc.typename("un").type
    assert [c.name for c in un.cases] == ["x", "y"] and un.tag is IntRepr.U8
    assert isinstance(doc.typename("l").type.element, Ref)
    assert doc.typename("l").type.element.target is doc.typename("u8")
    (const,) = doc.constants
    assert (const.type_name, const.name, const.value) == ("u8", "answer", 42)
    m = doc.module("m")
    assert m.imports_memory and [f.name for f in m.functions] == ["f", "g"]
    assert m.function("g").noreturn and not m.function("f").noreturn
    assert doc.typename("m") is None and doc.module("u8") is None
    # Definition order is kept, constants and modules included.
    assert [d.name for d in doc][-2:] == ["answer", "m"]


def test_defaults_match_witx() -> None:
    doc = read_witx_text("(typename $e (enum $a)) (typename $f (flags $a)) (typename $v (variant (case $a u8)))")
    assert doc.typename("e").type.tag is IntRepr.U32
    assert doc.typename("f").type.repr is IntRepr.U32
    assert doc.typename("v").type.tag is IntRepr.U32
    # bool and expected are u32-tagged variants in witx.
    assert layout.size_align(Bool()).size == 4
    assert layout.size_align(Expected(None, None)).size == 4


def test_variant_cases_follow_their_tag_enum() -> None:
    doc = read_witx_text(
        "(typename $tag (enum (@witx tag u8) $a $b))\n"
        "(typename $v (variant (@witx tag $tag) (case $b u64) (case $a)))"
    )
    v = doc.typename("v").type
    assert [c.name for c in v.cases] == ["a", "b"]
    assert v.tag is IntRepr.U8 and v.tag_name.name == "tag"
    vl = layout.variant_layout(v)
    assert (vl.tag_size, vl.payload_offset, vl.size, vl.align) == (1, 8, 16, 8)


def test_docs_are_collected_like_witx() -> None:
    doc = read_witx_text(
        ";; a plain comment is not a doc\n"
        ";;;   Indented\n"
        ";;;     more\n"
        ";;;\n"
        "(typename $e\n"
        "  (enum\n"
        "    ;;; first case   \n"
        "    $a\n"
        "    (;; block doc ;)\n"
        "    $b))\n"
        "(module $m\n"
        "  ;;; the function\n"
        "  (@interface func (export \"f\")\n"
        "    ;;; the param\n"
        "    (param $p u8)))\n"
    )
    e = doc.typename("e")
    assert e.docs == "Indented\n  more\n\n"
    assert [c.docs for c in e.type.cases] == ["first case\n", "block doc\n"]
    f = doc.module("m").function("f")
    assert f.docs == "the function\n" and f.params[0].docs == "the param\n"


def test_spans_point_into_the_source() -> None:
    doc = read_witx_text("\n  (typename $x (list u8))", "s.witx")
    tn = doc.typename("x")
    assert (tn.span.path, tn.span.line, tn.span.col) == ("s.witx", 2, 3)
    assert (tn.type.span.line, tn.type.span.col) == (2, 16)


def test_use_is_relative_and_read_once(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "base.witx").write_text("(typename $a u32)\n")
    (tmp_path / "sub" / "left.witx").write_text('(use "base.witx")\n(typename $l $a)\n')
    (tmp_path / "sub" / "right.witx").write_text('(use "base.witx")\n(typename $r $a)\n')
    (tmp_path / "top.witx").write_text('(use "sub/left.witx")\n(use "sub/right.witx")\n(typename $t (tuple $l $r))\n')
    doc = read_witx(tmp_path / "top.witx")
    assert [tn.name for tn in doc.typenames] == ["a", "l", "r", "t"]
    both = read_witx_files([tmp_path / "sub" / "left.witx", tmp_path / "sub" / "right.witx"])
    assert [tn.name for tn in both.typenames] == ["a", "l", "r"]


def test_preview1_reads_with_uses() -> None:
    doc = read_witx(corpus_path("witx", "preview1", "wasi_snapshot_preview1.witx"))
    assert len(doc.typenames) >= 40 and len(doc.modules) == 1
    assert len(doc.modules[0].functions) >= 45
    iovec = doc.typename("iovec")
    assert layout.field_offsets(iovec.type) == {"buf": 0, "buf_len": 4}
    assert doc.typename("errno").type.cases[0].docs.startswith("No error occurred.")
    assert isinstance(resolve(Ref("fd", doc.typename("fd"))), Handle)


# --- errors: a WitxError with a precise location, never a traceback --------------------------


def test_unbalanced_parentheses() -> None:
    err = _error("(typename $a\n  (record (field $x u8))\n")
    assert "unclosed `(`" in err.diagnostic.message and _at(err) == (1, 1)
    err = _error("(typename $a u8))\n")
    assert "no matching `(`" in err.diagnostic.message and _at(err) == (1, 17)


def test_deep_nesting_is_refused_like_wast() -> None:
    """A diagnostic at the 101st `(`, never a RecursionError in the recursive readers."""
    text = "(typename $t " + "(list " * 3000 + "u8" + ")" * 3000 + ")"
    with pytest.raises(WitxError) as info:
        read_witx_text(text, "deep.witx")
    diag = info.value.diagnostic
    assert diag.message == "item nesting too deep"
    assert (diag.span.line, diag.span.col) == (1, 14 + 99 * 6)


def test_unknown_type() -> None:
    err = _error("(typename $a u8)\n(typename $r (record (field $x $nope)))\n")
    assert err.diagnostic.message == "Unknown name `nope`"
    assert _at(err) == (2, 32)
    text = err.render()
    assert "--> bad.witx:2:32" in text and "^----" in text


@pytest.mark.parametrize("source, line, col", [
    ("(typename $v (variant (case $a u8) (case $a)))", 1, 42),
    ("(typename $e (enum $a $b\n  $a))", 2, 3),
    ("(typename $f (flags $a $a))", 1, 24),
    ("(typename $r (record (field $a u8) (field $a u8)))", 1, 43),
    ("(typename $a u8)\n(typename $a u16)", 2, 11),
    ('(module $m (@interface func (export "f")) (@interface func (export "f")))', 1, 68),
])
def test_duplicates(source: str, line: int, col: int) -> None:
    err = _error(source)
    assert err.diagnostic.message.startswith("Redefinition of name")
    assert _at(err) == (line, col)
    assert err.diagnostic.notes and "originally defined at bad.witx:" in err.diagnostic.notes[0]


@pytest.mark.parametrize("source, message", [
    ("(typename $a (list $a))", "Recursive definition of name `a`"),
    ("(module $m)\n(typename $a $m)", "Wrong kind of name `m`: expected datatype, got module"),
    ("(typename $e (enum (@witx tag s8) $a))", "Invalid representation `s8`"),
    ("(typename $e (flags (@witx repr f32) $a))", "Invalid representation `f32`"),
    ("(typename $e (expected u8))", "expected `(error E?)`"),
    ("(typename $e (expected u8 (error u8) u8))", "unexpected `u8` in `expected`"),
    ("(typename $e (enum))", "at least one enum case"),
    ("(typename $r (record))", "at least one `(field ...)`"),
    ("(typename $a (@witx pointer (record (field $b u8))))", "Anonymous structured types"),
    ("(typename $a (@witx bogus u8))", "unknown `@witx` type `bogus`"),
    ("(typename $a float)", "expected a type, found `float`"),
    ("(typename a u8)", "expected a type name"),
    ("(typo $a u8)", "expected `typename`, `module`, `use`, `resource` or `@witx const`"),
    ('(module $m (import "memory" (table)))', "only import memory"),
    ('(module $m (@interface func (export "f") (param $x u8) (param $x u8)))', "Redefinition of name `x`"),
    ("(typename $s string) (typename $u (union (@witx tag $s) u8))",
     "Wrong kind of name `s`: expected enum or builtin, got list"),
    ("(typename $t (enum $a)) (typename $u (union (@witx tag $t) u8 u8))", "Union expected 1 variants, found 2"),
    ("(typename $a u8) (@witx const $a $big 256)", "does not fit"),
    ("(typename $a string) (@witx const $a $x 1)", "constants need an integer type"),
    ("(typename $a u8) ; lonely", "unexpected character `;`"),
    ('(module $m (@interface func (export "f\\q")))', "invalid string escape"),
    ("(; never closed", "unterminated block comment"),
])
def test_invalid_documents(source: str, message: str) -> None:
    err = _error(source)
    assert message in err.diagnostic.message
    assert err.diagnostic.span is not None and err.diagnostic.span.path == "bad.witx"


def test_non_utf8_file_is_a_witx_error(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.witx"
    bad.write_bytes(b"(typename $a u8)\n;;; caf\xe9\n(typename $b u8)\n")
    with pytest.raises(WitxError) as info:
        read_witx(bad)
    assert _at(info.value) == (2, 8)
    assert "not valid UTF-8" in info.value.diagnostic.message


def test_missing_use_points_at_the_use(tmp_path: Path) -> None:
    top = tmp_path / "top.witx"
    top.write_text('(typename $a u8)\n(use "nowhere.witx")\n')
    with pytest.raises(WitxError) as info:
        read_witx(top)
    assert _at(info.value) == (2, 6)
    assert "no such file" in info.value.diagnostic.message


def test_error_in_used_file_names_that_file(tmp_path: Path) -> None:
    (tmp_path / "types.witx").write_text("(typename $a u8)\n(typename $b $zz)\n")
    top = tmp_path / "top.witx"
    top.write_text('(use "types.witx")\n')
    with pytest.raises(WitxError) as info:
        read_witx(top)
    span = info.value.diagnostic.span
    assert span.path.endswith("types.witx") and (span.line, span.col) == (2, 14)


# --- robustness: mangled real input gives a diagnostic, never a traceback -------------------


@pytest.fixture(scope="module")
def typenames_text() -> str:
    return corpus_path("witx", "preview1", "typenames.witx").read_text(encoding="utf-8")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mangled_input_never_crashes(typenames_text: str, data: st.DataObject) -> None:
    text = typenames_text
    start = data.draw(st.integers(0, len(text) - 1))
    length = data.draw(st.integers(0, 40))
    insert = data.draw(st.sampled_from(["", "(", ")", "$", '"', "(@witx", "$zz", "u8", "(;", "\\"]))
    mangled = text[:start] + insert + text[start + length:]
    try:
        read_witx_text(mangled, "mangled.witx")
    except Wit2WitxError as exc:
        diag = exc.diagnostic
        assert diag.span is not None
        assert 1 <= diag.span.line <= mangled.count("\n") + 1
        assert exc.render()


# --- the WITX 0.10 dialect: declarations inside a module, `(use ... from $module)` ------

COMMON_010 = """;;; Types shared by the modules below.
(module $common
  (typename $errno (enum (@witx tag u16) $success $inval $overflow))
  (typename $size (@witx usize))
  (resource $key_res)
  (typename $key (handle $key_res))
  (typename $version u64)
  (@witx const $version $latest 0xff00000000000000)
  (typename $opt_key (variant (@witx tag u8) (case $none) (case $some $key)))
  (typename $unrelated u8)
  (@interface func (export "common_only") (result $error (expected (error $errno))))
)
"""


def _module_010(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / f"{name}.witx"
    path.write_text(f"(module ${name}\n{body}\n)\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("use", [
    "(use * from $common)",
    "(use $opt_key $errno $size $version $key_res from $common)",
    "(use $opt_key from $common) (use $errno $size from $common) (use $version $key_res from $common)",
])
def test_use_from_module_reads_like_the_same_types_written_inline(tmp_path, use):
    """Every `use` form: the document equals one whose used typenames are written at
    the top level (the 0.9 form our WITX printer writes), once each, the used
    module's own functions left out."""
    from wit2witx.emit.witx import print_unit
    from wit2witx.p1.unit import units_from_witx

    (tmp_path / "common.witx").write_text(COMMON_010, encoding="utf-8")
    path = _module_010(tmp_path, "user", f"""  {use}
  (typename $state (handle $key_res))
  (@interface func (export "open")
    (param $name string) (param $key $opt_key)
    (result $error (expected $state (error $errno))))
  (@interface func (export "id")
    (param $s $state) (param $buf (@witx pointer u8)) (param $buf_len $size)
    (result $error (expected (tuple $size $version) (error $errno))))""")
    doc = read_witx(path)
    assert [m.name for m in doc.modules] == ["user"]
    names = [d.name for d in doc.typenames]
    assert len(names) == len(set(names))
    # what the functions need is there, the used module's other typenames are not
    assert {"errno", "size", "key", "version", "opt_key", "state"} <= set(names)
    assert "unrelated" not in names or use.startswith("(use *")
    # read back from the printed 0.9 form: the same document
    (unit,) = units_from_witx(doc, "user.witx")
    printed = tmp_path / "printed" / "user.witx"
    printed.parent.mkdir()
    printed.write_text(print_unit(unit), encoding="utf-8")
    assert read_witx(printed) == doc


def test_use_list_brings_only_the_listed_names_into_scope(tmp_path):
    (tmp_path / "common.witx").write_text(COMMON_010, encoding="utf-8")
    # `key` is in the document (opt_key needs it) but was not `use`d: not a name here
    path = _module_010(tmp_path, "m", """  (use $opt_key from $common)
  (typename $k2 $key)""")
    with pytest.raises(WitxError) as info:
        read_witx(path)
    assert "`key`" in info.value.diagnostic.message and _at(info.value) == (3, 17)


@pytest.mark.parametrize("body, message, where", [
    ("(use $nope from $common)", "Unknown name `nope` in module `common`", (2, 8)),
    ("(use * from $absent)", "no such file", (2, 15)),
    ("(use $a $b)", "expected `from $module`", (2, 13)),
    ("(use from $common)", "expected `*` or the `$names`", (2, 8)),
    ("(use * $a from $common)", "expected `*` or a `$name`", (2, 8)),
    ("(use * from $common extra)", "unexpected `extra`", (2, 23)),
    ("(typename $h (handle $no_such_resource))", "Unknown resource `no_such_resource`", (2, 24)),
    ("(use * from $common) (typename $errno u8)", "Redefinition of name `errno`", (2, 34)),
    ("(use * from $wrong)", "defines module `common`, not `wrong`", (2, 15)),
])
def test_use_from_errors_point_at_the_token(tmp_path, body, message, where):
    (tmp_path / "common.witx").write_text(COMMON_010, encoding="utf-8")
    (tmp_path / "wrong.witx").write_text(COMMON_010, encoding="utf-8")
    path = _module_010(tmp_path, "m", f"  {body}")
    with pytest.raises(WitxError) as info:
        read_witx(path)
    assert message in info.value.diagnostic.message
    assert info.value.diagnostic.span.path == str(path) and _at(info.value) == where


def test_use_cycle_is_a_diagnostic(tmp_path):
    _module_010(tmp_path, "a", "  (use * from $b)")
    _module_010(tmp_path, "b", "  (use * from $a)")
    with pytest.raises(WitxError) as info:
        read_witx(tmp_path / "a.witx")
    assert "cycle" in info.value.diagnostic.message


def test_use_from_compiles_through_the_c_back_end(tmp_path):
    import wit2witx
    from conftest import zig_cc

    (tmp_path / "common.witx").write_text(COMMON_010, encoding="utf-8")
    path = _module_010(tmp_path, "user", """  (use * from $common)
  (@interface func (export "f") (param $k $opt_key) (result $error (expected $version (error $errno))))""")
    artifacts = wit2witx.compile(str(path), emit="c")
    out = tmp_path / "out"
    wit2witx.write(artifacts, out)
    (header,) = [n for n in artifacts if n.endswith(".h")]
    src = out / "use.c"
    src.write_text(f'#include "{header}"\n')
    proc = zig_cc("--target=wasm32-wasi", "-std=c11", "-Wall", "-Wextra", "-Werror", "-c",
                  str(src), "-o", str(out / "use.o"))
    assert proc.returncode == 0, proc.stderr


def test_using_one_module_twice_defines_each_typename_once(tmp_path):
    (tmp_path / "common.witx").write_text(COMMON_010, encoding="utf-8")
    path = _module_010(tmp_path, "m", """  (use $opt_key from $common)
  (use * from $common)
  (use $errno $key_res from $common)
  (typename $k2 $key)""")
    doc = read_witx(path)
    names = [d.name for d in doc.typenames]
    assert len(names) == len(set(names)) and "k2" in names and "key" in names


@st.composite
def _used_modules(draw):
    """A module of typenames, each maybe referring to earlier ones (records, variants,
    lists, handles of a resource), and a `use` of some of them in one of the forms."""
    count = draw(st.integers(1, 7))
    decls, kinds = [], []
    for i in range(count):
        earlier = [f"$t{j}" for j in range(i)]
        kind = draw(st.sampled_from(["u32", "record", "variant", "list", "handle"]
                                    if earlier else ["u32", "handle"]))
        pick = (lambda: draw(st.sampled_from(earlier))) if earlier else None
        body = {
            "u32": "u32",
            "handle": "(handle $res)",
            "record": f"(record (field $a {pick() if pick else 'u8'}) (field $b u8))",
            "variant": f"(variant (@witx tag u8) (case $x {pick() if pick else 'u8'}) (case $y))",
            "list": f"(list {pick() if pick else 'u8'})",
        }[kind]
        decls.append(f"  (typename $t{i} {body})")
        kinds.append(kind)
    chosen = draw(st.lists(st.integers(0, count - 1), min_size=1, unique=True))
    form = draw(st.sampled_from(["star", "list", "split"]))
    return decls, sorted(chosen), form


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=_used_modules())
def test_any_use_from_module_is_self_contained_and_reads_back(tmp_path, case):
    """Whatever is used and how: the document holds every typename the used ones need,
    once, in an order with no forward reference (it reads back from the printed WITX
    as the same document); exactly the used names can be referred to."""
    from wit2witx.emit.witx import print_unit
    from wit2witx.p1.unit import units_from_witx

    decls, chosen, form = case
    import tempfile  # noqa: PLC0415  (one folder per example: hypothesis repeats cases)

    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    (folder / "lib.witx").write_text("(module $lib\n  (resource $res)\n" + "\n".join(decls)
                                     + "\n)\n", encoding="utf-8")
    names = [f"$t{i}" for i in chosen]
    if form == "star":
        uses = "(use * from $lib)"
    elif form == "list":
        uses = f"(use {' '.join(names)} from $lib)"
    else:
        uses = " ".join(f"(use {n} from $lib)" for n in names)
    params = " ".join(f"(param $p{i} {n})" for i, n in enumerate(names))
    user = folder / "user.witx"
    user.write_text(f"""(module $user
  {uses}
  (typename $st (enum (@witx tag u8) $ok $bad))
  (@interface func (export "f") {params} (result $error (expected (error $st))))
)
""", encoding="utf-8")
    doc = read_witx(user)
    typenames = [d.name for d in doc.typenames]
    assert len(typenames) == len(set(typenames))
    assert {n[1:] for n in names} <= set(typenames)
    (unit,) = units_from_witx(doc, "user.witx")
    printed = folder / "printed" / "user.witx"
    printed.parent.mkdir()
    printed.write_text(print_unit(unit), encoding="utf-8")
    assert read_witx(printed) == doc
    # a typename of the module that was not used (by name or `*`) is not a name here
    unused = [i for i in range(len(decls)) if i not in chosen]
    if unused and form != "star":
        probe = folder / "probe.witx"
        probe.write_text(f"(module $probe {uses} "
                         f"(typename $z $t{unused[0]}))\n", encoding="utf-8")
        with pytest.raises(WitxError) as info:
            read_witx(probe)
        assert f"Unknown name `t{unused[0]}`" in info.value.diagnostic.message


# --- `(@w2w string)`: a WIT `string` parameter, UTF-8 text the glue checks ----------------

STRING_WIT = """package t:text;
interface api {
  type path = string;
  open: func(name: string, data: list<u8>, p: path, names: list<string>) -> result<u32>;
}
"""


def _lowered_text_unit(tmp_path: Path):
    import wit2witx
    from wit2witx.p1.lower import lower

    (tmp_path / "t.wit").write_text(STRING_WIT, encoding="utf-8")
    (unit,) = lower(wit2witx.load([tmp_path / "t.wit"])).units
    return unit


def test_a_wit_string_parameter_is_marked_and_read_back(tmp_path):
    """WIT `string` (or an alias of it) as a parameter: the `const_pointer u8` a
    `list<u8>` is too, marked `(@w2w string)` (`Param.utf8`); read back into the same
    model, and the call plan's span says UTF-8 either way. A `list<string>` is no
    string: its elements are (checked as list elements)."""
    from wit2witx.emit.witx import print_unit
    from wit2witx.p1.callplan import SlotKind, plan_call

    unit = _lowered_text_unit(tmp_path)
    text = print_unit(unit)
    assert ("    (param $name (@w2w string) (@witx const_pointer u8))\n"
            "    (param $name_len (@witx usize))\n"
            "    (param $data (@witx const_pointer u8))\n"
            "    (param $data_len (@witx usize))\n"
            "    (param $p (@w2w string) (@witx const_pointer u8))\n") in text
    assert text.count("(@w2w string)") == 2
    path = tmp_path / f"{unit.name}.witx"
    path.write_text(text, encoding="utf-8")
    again = read_witx(path)
    assert again == unit.document  # `utf8` is compared
    func = again.module(unit.module.name).function("open")
    assert [p.name for p in func.params if p.utf8] == ["name", "p"]
    spans = [s for s in plan_call(func).slots if s.kind is SlotKind.SPAN]
    assert [(s.name, s.utf8) for s in spans] == [
        ("name", True), ("data", False), ("p", True), ("names", False)]
    func.params[2].utf8 = True  # a param that differs only by the mark is another param
    assert again != unit.document


def test_the_json_of_a_witx_input_states_the_string_mark(tmp_path):
    import json

    import wit2witx.compiler
    from wit2witx.emit.witx import print_unit

    unit = _lowered_text_unit(tmp_path)
    path = tmp_path / f"{unit.name}.witx"
    path.write_text(print_unit(unit), encoding="utf-8")
    files = wit2witx.compiler.compile([path], emit=("json",))
    data = json.loads(files[f"{unit.name}.p1.json"])
    (module,) = data["modules"]
    (func,) = [f for f in module["functions"] if f["name"] == "open"]
    params = {p["name"]: p.get("utf8", False) for p in func["params"]}
    assert params["name"] is True and params["p"] is True
    assert params["data"] is False and params["name_len"] is False


def test_the_string_mark_takes_char8_an_alias_and_any_integer_length():
    doc = read_witx_text("""
(typename $bytes (@witx const_pointer u8))
(typename $st (enum (@witx tag u8) $success $no))
(module $m
  (@interface func (export "f")
    (param $a (@w2w string) (@witx const_pointer (@witx char8)))
    (param $a_len u32)
    (param $b (@w2w string) $bytes)
    (param $b_len (@witx usize))
    (result $error (expected (error $st)))))
""")
    assert [p.utf8 for p in doc.module("m").function("f").params] == [True, False, True, False]


STRING_PRELUDE = "(typename $st (enum (@witx tag u8) $success $no))\n"
_PTR = "(@witx const_pointer u8)"
_LEN = "(@witx usize)"


@pytest.mark.parametrize("body,message,at", [
    (f'(@interface func (export "f") (param $x (@w2w string) {_PTR}))',
     "`(@w2w string)` marks a pointer followed by its length", "(@w2w string)"),
    (f'(@interface func (export "f") (param $x (@w2w string) {_PTR}) (param $y {_LEN}))',
     "`(@w2w string)` marks a pointer followed by its length", "(@w2w string)"),
    (f'(@interface func (export "f") (param $x (@w2w string) {_PTR}) (param $x_len $st))',
     "`(@w2w string)` marks a pointer followed by its length", "(@w2w string)"),
    (f'(@interface func (export "f") (param $x (@w2w string) (@witx pointer u8)) (param $x_len {_LEN}))',
     "`(@w2w string)` marks a `(@witx const_pointer u8)` parameter", "(@w2w string)"),
    (f'(@interface func (export "f") (param $x (@w2w string) (@witx const_pointer u32)) (param $x_len {_LEN}))',
     "`(@w2w string)` marks a `(@witx const_pointer u8)` parameter", "(@w2w string)"),
    ('(@interface func (export "f") (param $x (@w2w string) string))',
     "`(@w2w string)` marks a `(@witx const_pointer u8)` parameter", "(@w2w string)"),
    ('(@interface func (export "f") (param $x (@w2w string) u32))',
     "`(@w2w string)` marks a `(@witx const_pointer u8)` parameter", "(@w2w string)"),
    (f'(@interface func (export "f") (result $x (@w2w string) {_PTR}))',
     "`(@w2w string)` marks a parameter, not a result", "(@w2w string)"),
    (f'(@interface func (export "f") (@w2w guest_export) (param $x (@w2w string) {_PTR}) (param $x_len {_LEN}))',
     "`(@w2w string)` marks a parameter of an import", "(@w2w string)"),
    (f'(@interface func (export "f") (param $x (@w2w string extra) {_PTR}) (param $x_len {_LEN}))',
     "unexpected `extra` in `@w2w string`", "extra"),
    (f'(@interface func (export "f") (param $x (@w2w string) (@w2w string) {_PTR}) (param $x_len {_LEN}))',
     "`(@w2w string)` comes once, between the parameter's name and its type", "(@w2w string)"),
    (f'(@interface func (export "f") (param $x {_PTR} (@w2w string)) (param $x_len {_LEN}))',
     "`(@w2w string)` comes once, between the parameter's name and its type", "(@w2w string)"),
    ('(@interface func (export "f") (param $x (@w2w string)))',
     "expected a type before `)`", "))"),
])
def test_the_reader_checks_the_string_mark(tmp_path, body, message, at):
    check_witx_refused(tmp_path, STRING_PRELUDE, body, message, at)
