"""Each rule of the backport ABI (docs/abi.md) on a small WIT input of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

import wit2witx
from wit2witx.diagnostics import ResolveError, UnsupportedError, UsageError
from wit2witx.emit.witx import print_unit, print_witx
from wit2witx.p1 import abi, model
from wit2witx.p1.lower import Lowered, lower
from wit2witx.p1.model import (
    Bool, Builtin, ConstPointer, Enum, Expected, Flags, Handle, IntRepr, List, Pointer, Record,
    Ref, String, Tuple, Variant,
)
from wit2witx.witx.reader import read_witx

GLUE = ["buffer_too_small", "bad_handle", "bad_pointer", "bad_value"]


def lower_wit(tmp_path: Path, text: str, **options) -> Lowered:
    path = tmp_path / "input.wit"
    path.write_text(text, encoding="utf-8")
    return lower(wit2witx.load([path]), **options)


def unit(lowered: Lowered, name: str):
    return next(u for u in lowered.units if u.name == name)


def func(lowered: Lowered, module: str, name: str) -> model.Function:
    f = unit(lowered, module).module.function(name)
    assert f is not None, f"{module}.{name} missing"
    return f


def typename(lowered: Lowered, module: str, name: str) -> model.TypeName:
    tn = unit(lowered, module).document.typename(name)
    assert tn is not None, f"{module}: typename {name} missing"
    return tn


def params(f: model.Function) -> list[tuple[str, object]]:
    return [(p.name, p.type) for p in f.params]


def result(f: model.Function) -> Expected:
    assert [r.name for r in f.results] == ["error"]
    assert isinstance(f.results[0].type, Expected)
    return f.results[0].type


def cases(tref) -> list[str]:
    ty = model.resolve(tref)
    return [c.name for c in ty.cases]


def roundtrip(lowered: Lowered, folder: Path) -> None:
    for u in lowered.units:
        (folder / f"{u.name}.witx").write_text(print_unit(u), encoding="utf-8")
    for u in lowered.units:
        assert read_witx(folder / f"{u.name}.witx") == u.document, u.name


# --- names -----------------------------------------------------------------------------------

NAMES = """
package my-ns:my-pkg@1.2.3;

/// Docs of the interface.
interface net-stuff {
  /// A record.
  record sock-addr { port-number: u16, is-v6: bool }
  enum addr-family { ip-v4, ip-v6 }
  flags open-mode { read-only, write-only }
  variant dns-answer { none-found, one-addr(sock-addr) }
  start-bind: func(local-address: sock-addr, family: addr-family) -> open-mode;
}
"""


def test_names_are_snake_case(tmp_path):
    lowered = lower_wit(tmp_path, NAMES)
    assert lowered.origin == "my-ns:my-pkg@1.2.3"
    (u,) = lowered.units
    assert u.name == "my_ns_my_pkg_net_stuff"
    assert u.origin == "my-ns:my-pkg/net-stuff@1.2.3" and u.version == "1.2.3"
    assert u.module.docs == "Docs of the interface.\n"
    rec = typename(lowered, u.name, "sock_addr")
    assert rec.docs == "A record.\n"
    assert [f.name for f in rec.type.fields] == ["port_number", "is_v6"]
    assert [c.name for c in typename(lowered, u.name, "addr_family").type.cases] == ["ip_v4", "ip_v6"]
    assert [f.name for f in typename(lowered, u.name, "open_mode").type.flags] == ["read_only", "write_only"]
    assert cases(typename(lowered, u.name, "dns_answer").type) == ["none_found", "one_addr"]
    f = func(lowered, u.name, "start_bind")
    assert [p.name for p in f.params] == ["local_address", "family"]
    roundtrip(lowered, tmp_path)


def test_module_names_override(tmp_path):
    text = NAMES.replace("interface net-stuff", "interface other {}\ninterface net-stuff")
    lowered = lower_wit(tmp_path, text, module_names={
        "my-ns:my-pkg/net-stuff": "net", "my-ns:my-pkg/other@1.2.3": "other_one"})
    assert sorted(u.name for u in lowered.units) == ["net", "other_one"]
    assert unit(lowered, "net").module.name == "net"
    assert lowered.warnings == []


def test_module_names_unknown_key_warns_and_bad_value_fails(tmp_path):
    lowered = lower_wit(tmp_path, NAMES, module_names={"my-ns:my-pkg/nope": "x"})
    assert [w.severity for w in lowered.warnings] == ["warning"]
    assert "my-ns:my-pkg/nope" in lowered.warnings[0].message
    with pytest.raises(UsageError) as info:
        lower_wit(tmp_path, NAMES, module_names={"my-ns:my-pkg/net-stuff": "not-an-id"})
    assert "not-an-id" in str(info.value)


def test_two_interfaces_one_module_name_is_a_diagnostic(tmp_path):
    text = "package a:b;\ninterface x {}\ninterface y {}\n"
    with pytest.raises(UnsupportedError) as info:
        lower_wit(tmp_path, text, module_names={"a:b/x": "same", "a:b/y": "same"})
    assert "same" in info.value.diagnostic.message
    assert info.value.diagnostic.span is not None


# --- types -------------------------------------------------------------------------------------

TYPES = """
package t:types;

interface shapes {
  resource res;
  type alias-of-u32 = u32;
  type bytes = list<u8>;
  type pair = tuple<u8, string>;
  type maybe = option<u64>;
  type outcome = result<u32, string>;
  type quad = list<u16, 4>;
  type dict = map<string, u32>;
  type owned = own<res>;
  type lent = borrow<res>;
  type yes = bool;
  type letter = char;
  variant big { %s }
  enum big-enum { %s }
  flags f8 { %s }
  flags f9 { %s }
  flags f33 { %s }
}
"""


def _many(prefix: str, n: int, sep: str = ", ") -> str:
    return sep.join(f"{prefix}{i}" for i in range(n))


def test_every_type_kind(tmp_path):
    text = TYPES % (_many("c", 257), _many("e", 3), _many("a", 8), _many("b", 9), _many("d", 33))
    lowered = lower_wit(tmp_path, text)
    name = "t_types_shapes"
    t = lambda n: typename(lowered, name, n).type  # noqa: E731
    assert t("res") == Handle()
    assert t("alias_of_u32") == Builtin("u32")
    assert t("bytes") == List(Builtin("u8"))
    assert t("pair") == Tuple([Builtin("u8"), String()])
    maybe = t("maybe")
    assert isinstance(maybe, Variant) and maybe.tag is IntRepr.U8
    assert cases(maybe) == ["none", "some"] and maybe.cases[1].type == Builtin("u64")
    assert t("outcome") == Expected(Builtin("u32"), String())
    assert t("quad") == Tuple([Builtin("u16")] * 4)
    assert t("dict") == List(Tuple([String(), Builtin("u32")]))
    assert t("owned") == Ref("res") and t("lent") == Ref("res")
    assert t("owned").target is typename(lowered, name, "res")
    assert t("yes") == Bool() and t("letter") == Builtin("char")
    assert t("big").tag is IntRepr.U16  # 257 cases do not fit a u8 tag
    assert t("big_enum") == Enum(IntRepr.U8, [model.EnumCase(f"e{i}") for i in range(3)])
    assert isinstance(t("f8"), Flags) and t("f8").repr is IntRepr.U8
    assert t("f9").repr is IntRepr.U16 and t("f33").repr is IntRepr.U64
    roundtrip(lowered, tmp_path)


def test_more_than_64_flags_is_unsupported(tmp_path):
    text = "package t:f;\ninterface i {\n  flags many { %s }\n}\n" % _many("g", 65)
    with pytest.raises(UnsupportedError) as info:
        lower_wit(tmp_path, text)
    d = info.value.diagnostic
    assert "many" in d.message and "64" in d.message
    assert (d.span.line, d.span.col) == (3, 9)
    lowered = lower_wit(tmp_path, text, skip_unsupported=True)
    assert unit(lowered, "t_f_i").document.typename("many") is None
    assert len(lowered.warnings) == 1


USES = """
package u:uses;

interface base {
  enum error-code { denied, busy }
  record point { x: s32, y: s32 }
}

interface user {
  use base.{error-code, point as pt};
  type local-point = pt;
  move: func(p: pt, q: local-point) -> result<pt, error-code>;
}
"""


def test_use_aliases_point_at_the_original(tmp_path):
    lowered = lower_wit(tmp_path, USES)
    assert [u.name for u in lowered.units] == ["u_uses_base", "u_uses_user"]
    user = unit(lowered, "u_uses_user")
    assert user.uses == ["u_uses_base"]
    assert [d.name for d in user.own] == ["local_point", "u_uses_user"]
    base_point = typename(lowered, "u_uses_base", "point")
    assert user.document.typename("pt") is None
    move = func(lowered, "u_uses_user", "move")
    assert move.params[0].type == Ref("point") and move.params[0].type.target is base_point
    assert move.params[1].type == Ref("local_point")
    assert typename(lowered, "u_uses_user", "local_point").type == Ref("point")
    assert result(move) == Expected(Ref("point"), Ref("error_code_status"))
    # the document is the used unit's definitions first, then the unit's own
    assert user.document.definitions == [*unit(lowered, "u_uses_base").own, *user.own]
    roundtrip(lowered, tmp_path)


def test_same_name_in_one_closure_is_qualified(tmp_path):
    text = """
package q:names;
interface a { record item { x: u8 } }
interface b { use a.{item as a-item}; record item { y: a-item } }
interface c { record item { z: u16 } }
"""
    lowered = lower_wit(tmp_path, text)
    assert typename(lowered, "q_names_a", "a_item").type.fields[0].name == "x"
    b_item = typename(lowered, "q_names_b", "b_item")
    assert b_item.type.fields[0].type == Ref("a_item")
    # c never meets the others: it keeps the plain name
    assert typename(lowered, "q_names_c", "item").type.fields[0].name == "z"
    roundtrip(lowered, tmp_path)


def test_still_colliding_names_are_qualified_by_module(tmp_path):
    text = """package top:main;

package a:x {
  interface types { record item { x: u8 } }
}

package b:y {
  interface types { record item { y: u8 } }
}

interface user {
  use a:x/types.{item as ai};
  use b:y/types.{item as bi};
  f: func(a: ai, b: bi);
}
"""
    lowered = lower_wit(tmp_path, text)
    assert lowered.origin == "top:main"
    assert [u.name for u in lowered.units] == ["a_x_types", "b_y_types", "top_main_user"]
    f = func(lowered, "top_main_user", "f")
    assert [p.type for p in f.params] == [Ref("a_x_types_item"), Ref("b_y_types_item")]
    roundtrip(lowered, tmp_path)


# --- resources -------------------------------------------------------------------------------

RESOURCES = """
package r:res;

interface files {
  resource file {
    constructor(path: string);
    read: func(n: u32) -> list<u8>;
    open: static func(path: string) -> file;
  }
  resource empty;
  touch: func(f: borrow<file>);
}
"""


def test_resource_functions(tmp_path):
    lowered = lower_wit(tmp_path, RESOURCES)
    name = "r_res_files"
    names = [f.name for f in unit(lowered, name).module.functions]
    assert names == ["file_new", "file_read", "file_open", "file_drop", "touch", "empty_drop"]
    new = func(lowered, name, "file_new")
    assert params(new) == [("path", ConstPointer(Builtin("u8"))), ("path_len", Builtin("usize"))]
    assert result(new).ok == Ref("file")
    read = func(lowered, name, "file_read")
    assert read.params[0].name == "self" and read.params[0].type == Ref("file")
    assert func(lowered, name, "file_open").params[0].name == "path"
    for drop in ("file_drop", "empty_drop"):
        f = func(lowered, name, drop)
        assert [p.name for p in f.params] == ["self"]
        assert result(f) == Expected(None, Ref("status"))
        assert cases(result(f).err) == ["success", "error", *GLUE]
    assert func(lowered, name, "touch").params[0].type == Ref("file")
    assert typename(lowered, name, "file").type == Handle()
    roundtrip(lowered, tmp_path)


# --- statuses and error payloads ----------------------------------------------------------------

STATUSES = """
package s:st;

interface errs {
  enum code { denied, busy }
  variant plain { gone, late }
  variant rich { failed(string), closed }
  type code-alias = code;
  a: func() -> result<u32, code>;
  b: func() -> result<_, plain>;
  c: func() -> result<u32, rich>;
  d: func() -> result<_, string>;
  e: func() -> result<u64>;
  f: func() -> u64;
  g: func();
  h: func() -> result<_, code-alias>;
}
"""


def test_status_types(tmp_path):
    lowered = lower_wit(tmp_path, STATUSES)
    name = "s_st_errs"
    u = unit(lowered, name)
    order = [d.name for d in u.own]
    # each `$<e>_status` right after its error type; `$status` after the WIT types
    assert order.index("code_status") == order.index("code") + 1
    assert order.index("plain_status") == order.index("plain") + 1
    assert order.index("rich_status") == order.index("rich") + 1
    assert order.index("status") > order.index("code_alias")
    assert cases(Ref("x", typename(lowered, name, "code_status"))) == ["success", "denied", "busy", *GLUE]
    assert cases(typename(lowered, name, "rich_status").type) == ["success", "failed", "closed", *GLUE]
    assert cases(typename(lowered, name, "status").type) == ["success", "error", *GLUE]
    status_of = {f.name: result(f).err.name for f in u.module.functions}
    assert status_of == {"a": "code_status", "b": "plain_status", "c": "rich_status",
                         "d": "status", "e": "status", "f": "status", "g": "status",
                         "h": "code_status"}


def test_error_payloads_and_buffers(tmp_path):
    lowered = lower_wit(tmp_path, STATUSES)
    name = "s_st_errs"
    assert params(func(lowered, name, "a")) == []
    assert params(func(lowered, name, "b")) == []  # payload-free variant: the status says it all
    c = func(lowered, name, "c")
    # the rich error holds a string: caller buffer, then the payload pointer last
    assert [p.name for p in c.params] == ["buf", "buf_len", "buf_used", "error_payload"]
    assert c.params[-1].type == Pointer(Ref("rich"))
    d = func(lowered, name, "d")
    assert [p.name for p in d.params] == ["buf", "buf_len", "buf_used", "error_payload"]
    assert d.params[-1].type == Pointer(String())
    assert result(func(lowered, name, "g")) == Expected(None, Ref("status"))
    roundtrip(lowered, tmp_path)


def test_results_get_named_ok_types(tmp_path):
    text = """
package n:ok;
interface i {
  record r { x: u8 }
  resource h;
  a: func() -> u64;
  b: func() -> r;
  c: func() -> tuple<r, string, h>;
  d: func() -> result<list<r>>;
  e: func() -> h;
}
"""
    lowered = lower_wit(tmp_path, text)
    name = "n_ok_i"
    assert result(func(lowered, name, "a")).ok == Ref("a_result")
    assert typename(lowered, name, "a_result").type == Builtin("u64")
    assert result(func(lowered, name, "b")).ok == Ref("r")
    assert result(func(lowered, name, "c")).ok == Tuple([Ref("r"), Ref("c_result_1"), Ref("h")])
    assert typename(lowered, name, "c_result_1").type == String()
    assert typename(lowered, name, "d_result").type == List(Ref("r"))
    assert result(func(lowered, name, "e")).ok == Ref("h")
    for f in unit(lowered, name).module.functions:
        assert abi.result_error(f.params, f.results) is None, f.name
    # buffers exactly where a string/list is returned
    with_buf = {f.name for f in unit(lowered, name).module.functions
                if any(p.name == "buf" for p in f.params)}
    assert with_buf == {"c", "d"}
    roundtrip(lowered, tmp_path)


def test_error_case_named_like_a_status_is_a_diagnostic(tmp_path):
    text = "package c:clash;\ninterface i {\n  enum e { ok, success }\n  f: func() -> result<_, e>;\n}\n"
    with pytest.raises(UnsupportedError) as info:
        lower_wit(tmp_path, text)
    d = info.value.diagnostic
    assert "success" in d.message and (d.span.line, d.span.col) == (4, 3)


def test_parameter_named_like_a_generated_one_gives_way(tmp_path):
    """The backport's own parameters keep their names; the WIT parameter takes a `_`
    (see docs/abi.md, "Name clashes"), and the WITX reads back the same."""
    text = "package c:clash;\ninterface i {\n  f: func(buf: u32) -> string;\n}\n"
    lowered = lower_wit(tmp_path, text)
    names = [p.name for p in func(lowered, "c_clash_i", "f").params]
    assert names == ["buf_", "buf", "buf_len", "buf_used"]
    roundtrip(lowered, tmp_path)
    text = "package c:clash;\ninterface i {\n  f: func(x: string, x-len: u32);\n}\n"
    names = [p.name for p in func(lower_wit(tmp_path, text), "c_clash_i", "f").params]
    assert names == ["x", "x_len", "x_len_"]


# --- parameters ----------------------------------------------------------------------------------


def test_list_and_string_params_are_const_pointers(tmp_path):
    text = """
package p:params;
interface i {
  record r { x: u8 }
  type names = list<string>;
  f: func(s: string, l: list<r>, n: names, fixed: list<u8, 2>, o: option<string>);
}
"""
    lowered = lower_wit(tmp_path, text)
    f = func(lowered, "p_params_i", "f")
    assert params(f) == [
        ("s", ConstPointer(Builtin("u8"))), ("s_len", Builtin("usize")),
        ("l", ConstPointer(Ref("r"))), ("l_len", Builtin("usize")),
        ("n", ConstPointer(String())), ("n_len", Builtin("usize")),
        ("fixed", Tuple([Builtin("u8"), Builtin("u8")])),
        ("o", Variant(IntRepr.U8, [model.Case("none"), model.Case("some", String())])),
    ]
    sig = abi.core_signature(f)
    assert sig.param_types == ["i32"] * 8 and sig.result_types == ["i32"]
    roundtrip(lowered, tmp_path)


# --- worlds -------------------------------------------------------------------------------------

WORLDS = """
package w:worlds;

interface used { record thing { x: u8 } }
interface unused { f: func(); }

world small {
  import used;
  use used.{thing};
  record local { t: thing }
  import greet: func(name: string) -> local;
}

world empty { import used; }
"""


def test_world_module_and_world_option(tmp_path):
    lowered = lower_wit(tmp_path, WORLDS)
    assert [u.name for u in lowered.units] == [
        "w_worlds_unused", "w_worlds_used", "w_worlds_small"]
    small = unit(lowered, "w_worlds_small")
    assert small.origin == "w:worlds/small" and small.uses == ["w_worlds_used"]
    greet = func(lowered, "w_worlds_small", "greet")
    assert result(greet).ok == Ref("local")
    only = lower_wit(tmp_path, WORLDS, world="small")
    assert [u.name for u in only.units] == ["w_worlds_used", "w_worlds_small"]
    assert [u.name for u in lower_wit(tmp_path, WORLDS, world="w:worlds/empty").units] == [
        "w_worlds_used"]
    roundtrip(lowered, tmp_path)


def test_inline_world_interface_and_exported_function(tmp_path):
    text = """package a:inl@0.1.0;

interface shared { record pt { x: u8 } }

world w {
  import anon: interface {
    use shared.{pt};
    get: func() -> pt;
  }
  export run: func() -> result;
}
"""
    lowered = lower_wit(tmp_path, text)
    assert [u.name for u in lowered.units] == ["a_inl_shared", "a_inl_w", "a_inl_w_anon"]
    anon = unit(lowered, "a_inl_w_anon")
    assert anon.origin == "a:inl/w@0.1.0#anon" and anon.uses == ["a_inl_shared"]
    assert result(func(lowered, "a_inl_w_anon", "get")).ok == Ref("pt")
    # the world's own export is the guest's: in `exports`, not among the imports
    world = unit(lowered, "a_inl_w").module
    assert world.function("run") is None and [f.name for f in world.exports] == ["run"]
    assert result(world.export("run")) == Expected(None, Ref("status"))
    roundtrip(lowered, tmp_path)


def test_unknown_world_is_a_diagnostic(tmp_path):
    with pytest.raises(ResolveError) as info:
        lower_wit(tmp_path, WORLDS, world="nope")
    d = info.value.diagnostic
    assert "nope" in d.message and d.span is not None
    assert any("w:worlds/small" in n for n in d.notes)


# --- WASI 0.3 constructs --------------------------------------------------------------------

P3 = """package p:three;

interface i {
  record has-stream { s: stream<u8> }
  record uses-it { h: has-stream }
  ok: func() -> u32;
  a: async func();
  b: func(x: future<u32>);
  c: func(e: error-context);
  d: func(h: uses-it);
}
"""


def test_wasi3_constructs_are_unsupported_with_spans(tmp_path):
    with pytest.raises(UnsupportedError) as info:
        lower_wit(tmp_path, P3)
    where = {d.message.split("`")[1]: (d.span.line, d.span.col) for d in info.value.diagnostics}
    # the root causes only: `uses-it` and `d` only depend on `has-stream`
    assert where == {"has-stream": (4, 10), "a": (7, 3), "b": (8, 3), "c": (9, 3)}
    messages = " ".join(d.message for d in info.value.diagnostics)
    assert "`stream`" in messages and "`async func`" in messages
    assert "`future`" in messages and "`error-context`" in messages
    assert "p:three/i" in messages
    rendered = info.value.render()
    assert "input.wit:7:3" in rendered and "^" in rendered


def test_wasi3_constructs_are_left_out_on_request(tmp_path):
    lowered = lower_wit(tmp_path, P3, skip_unsupported=True)
    u = unit(lowered, "p_three_i")
    assert [f.name for f in u.module.functions] == ["ok"]
    assert u.document.typename("has_stream") is None and u.document.typename("uses_it") is None
    left_out = sorted(w.message.split("`")[1] for w in lowered.warnings)
    assert left_out == ["a", "b", "c", "d", "has-stream", "uses-it"]
    assert all(w.severity == "warning" and w.span is not None for w in lowered.warnings)
    roundtrip(lowered, tmp_path)


# --- documents ------------------------------------------------------------------------------------


def test_documents_are_resolved_and_deterministic(tmp_path):
    first = lower_wit(tmp_path, USES + RESOURCES.replace("package r:res;", ""))
    second = lower_wit(tmp_path, USES + RESOURCES.replace("package r:res;", ""))
    assert [u.document for u in first.units] == [u.document for u in second.units]
    assert [print_witx(u.own) for u in first.units] == [print_witx(u.own) for u in second.units]
    for u in first.units:
        defined = {id(d) for d in u.document.definitions}
        for d in u.document.typenames:
            for ref in _refs(d.type):
                assert ref.target is not None and id(ref.target) in defined, (u.name, ref)
        for f in u.module.functions:
            for p in [*f.params, *f.results]:
                for ref in _refs(p.type):
                    assert id(ref.target) in defined, (u.name, f.name, ref)
    assert first.documents == [u.document for u in first.units]


def _refs(tref):
    if isinstance(tref, Ref):
        yield tref
        return
    for attr in ("element", "pointee", "some", "ok", "err"):
        inner = getattr(tref, attr, None)
        if inner is not None:
            yield from _refs(inner)
    if isinstance(tref, Tuple):
        for t in tref.types:
            yield from _refs(t)
    if isinstance(tref, Record):
        for f in tref.fields:
            yield from _refs(f.type)
    if isinstance(tref, Variant):
        for c in tref.cases:
            if c.type is not None:
                yield from _refs(c.type)
